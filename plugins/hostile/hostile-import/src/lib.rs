//! Hostile test plugin: `score` reads a file.
//!
//! Using `std::fs` makes the component import `wasi:filesystem/types` and
//! `wasi:filesystem/preopens`, which the contract does not grant. The host must
//! refuse the component when it is uploaded (an import outside the allowed
//! list) or, if it links it at all, give it no files so the read fails or traps.
//! If the read ever succeeds the card says how many bytes leaked.

use hostile_common::{Hostile, Misbehaviour, plain_card};
use mentortrack_plugin_sdk::prelude::*;

mentortrack_plugin_sdk::register_plugin!(Hostile<Import>);

/// The file the plugin tries to read.
pub const PATH: &str = "/etc/passwd";

#[derive(Debug)]
pub struct Import;

impl Misbehaviour for Import {
    const ID: &'static str = "hostile-import";
    const DESCRIPTION: &'static str =
        "Scoring reads a file, so the component imports wasi:filesystem; the host must refuse it.";

    fn score(
        _checklist: &Checklist,
        answers: &Answers<'_>,
        _context: &ScoreContext,
    ) -> Result<ScoreCard, ScoreError> {
        match std::fs::read(PATH) {
            Ok(bytes) => {
                Ok(plain_card(answers).metric("hostile_import.bytes_read", bytes.len() as f64))
            }
            Err(e) => Err(ScoreError::Internal(format!("could not read {PATH}: {e}"))),
        }
    }
}
