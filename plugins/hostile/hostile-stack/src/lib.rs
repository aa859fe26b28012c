//! Hostile test plugin: `score` recurses without bound.
//!
//! Each frame keeps several values alive across the recursive call and uses the
//! callee's result afterwards, so the recursion is not a tail call and cannot
//! be turned into a loop; `black_box` hides the depth and the exit test from
//! the optimiser. The wasm call stack grows until the host's stack limit
//! (`max_wasm_stack` in wasmtime) traps with "call stack exhausted".

use std::hint::black_box;

use hostile_common::{Hostile, Misbehaviour, plain_card};
use mentortrack_plugin_sdk::prelude::*;

mentortrack_plugin_sdk::register_plugin!(Hostile<Stack>);

#[derive(Debug)]
pub struct Stack;

impl Misbehaviour for Stack {
    const ID: &'static str = "hostile-stack";
    const DESCRIPTION: &'static str =
        "Scoring recurses without bound; the host's stack limit must stop it.";

    fn score(
        _checklist: &Checklist,
        answers: &Answers<'_>,
        _context: &ScoreContext,
    ) -> Result<ScoreCard, ScoreError> {
        let depth = dive(black_box(0));
        Ok(plain_card(answers).metric("hostile_stack.depth", depth as f64))
    }
}

/// Recurses until `depth` reaches `u64::MAX`, which it never does.
fn dive(depth: u64) -> u64 {
    if depth == black_box(u64::MAX) {
        return depth;
    }
    let a = depth.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let b = a.rotate_left(17) ^ depth;
    let c = b.wrapping_add(a >> 7);
    let d = c.wrapping_mul(b | 1);
    let below = black_box(dive(black_box(depth + 1)));
    // Non-associative use of the result after the call: not a tail call, and
    // not an accumulator LLVM could fold into a loop.
    below.wrapping_sub(a).rotate_right((b & 63) as u32) ^ c.wrapping_sub(d)
}
