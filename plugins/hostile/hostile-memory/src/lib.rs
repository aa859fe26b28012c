//! Hostile test plugin: `score` grows memory without bound.
//!
//! It hoards 4 MiB chunks and writes to every page of each one, so the memory
//! is really used (not just reserved) and the optimiser cannot drop the
//! allocations. Linear memory grows until the host's memory limit refuses
//! `memory.grow`; the allocation then fails and the guest aborts (a trap).
//! Without a host limit it would grow to the 4 GiB wasm32 address space.

use std::hint::black_box;

use hostile_common::{Hostile, Misbehaviour, plain_card};
use mentortrack_plugin_sdk::prelude::*;

mentortrack_plugin_sdk::register_plugin!(Hostile<Memory>);

/// Size of each hoarded chunk.
pub const CHUNK_BYTES: usize = 4 << 20;

#[derive(Debug)]
pub struct Memory;

impl Misbehaviour for Memory {
    const ID: &'static str = "hostile-memory";
    const DESCRIPTION: &'static str =
        "Scoring allocates memory without bound; the host's memory limit must stop it.";

    fn score(
        _checklist: &Checklist,
        answers: &Answers<'_>,
        _context: &ScoreContext,
    ) -> Result<ScoreCard, ScoreError> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut chunk = vec![0u8; CHUNK_BYTES];
            for page in (0..CHUNK_BYTES).step_by(4096) {
                chunk[page] = (hoard.len() ^ page) as u8;
            }
            hoard.push(black_box(chunk));
            // Never true (the address space runs out long before); keeps the
            // function well-typed and the hoard alive.
            if black_box(hoard.len()) == usize::MAX {
                break;
            }
        }
        Ok(plain_card(answers))
    }
}
