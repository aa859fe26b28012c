//! Hostile test plugin: `score` panics.
//!
//! In a wasm32 component a panic prints its message to stderr (through the
//! `wasi:cli/stderr` import every Rust component carries) and then aborts,
//! which is a trap: the host must turn it into an error for this one call and
//! keep serving other calls and plugins.

use hostile_common::{Hostile, Misbehaviour};
use mentortrack_plugin_sdk::prelude::*;

mentortrack_plugin_sdk::register_plugin!(Hostile<Panic>);

#[derive(Debug)]
pub struct Panic;

impl Misbehaviour for Panic {
    const ID: &'static str = "hostile-panic";
    const DESCRIPTION: &'static str =
        "Scoring panics, which traps; the host must report a crashed plugin.";

    // Panicking is what this plugin is for; the workspace denies it elsewhere.
    #[allow(clippy::panic)]
    fn score(
        _checklist: &Checklist,
        _answers: &Answers<'_>,
        _context: &ScoreContext,
    ) -> Result<ScoreCard, ScoreError> {
        panic!("hostile-panic: scoring panicked on purpose");
    }
}
