//! Hostile test plugin: `score` never returns.
//!
//! It spins on a counter hidden from the optimiser behind `black_box`, so the
//! loop can be neither deleted nor proven finite, and it calls nothing the host
//! provides, so no host function ever gets a chance to stop it. Only the host's
//! CPU budget (fuel or an epoch deadline) ends the call.

use std::hint::black_box;

use hostile_common::{Hostile, Misbehaviour, plain_card};
use mentortrack_plugin_sdk::prelude::*;

mentortrack_plugin_sdk::register_plugin!(Hostile<Loop>);

#[derive(Debug)]
pub struct Loop;

impl Misbehaviour for Loop {
    const ID: &'static str = "hostile-loop";
    const DESCRIPTION: &'static str = "Scoring never returns; the host's CPU budget must stop it.";

    fn score(
        _checklist: &Checklist,
        answers: &Answers<'_>,
        _context: &ScoreContext,
    ) -> Result<ScoreCard, ScoreError> {
        let mut spins: u64 = 0;
        // 2^64 iterations before the counter wraps: forever, in practice. The
        // exit test keeps the function well-typed without `!`.
        loop {
            spins = black_box(spins).wrapping_add(1);
            if black_box(spins) == 0 {
                break;
            }
        }
        Ok(plain_card(answers))
    }
}
