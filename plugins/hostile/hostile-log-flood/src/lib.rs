//! Hostile test plugin: `score` floods the log, then behaves.
//!
//! It calls the `log` import [`DEFAULT_CALLS`] times with messages of
//! [`MESSAGE_BYTES`] bytes (about 2 GiB in all, cycling through the four
//! levels), then returns a valid card. The host must truncate and drop log
//! messages within its budget, keep its own memory bounded, and still return
//! the card (or stop the call with its CPU budget, not by running out of memory).
//!
//! Size knob: a score context whose `session-type` is a plain number sets the
//! number of calls instead, e.g. "1000" for a quick test.

use std::fmt::Write as _;

use hostile_common::{Hostile, Misbehaviour, knob, plain_card};
use mentortrack_plugin_sdk::log::{self, Level};
use mentortrack_plugin_sdk::prelude::*;

mentortrack_plugin_sdk::register_plugin!(Hostile<LogFlood>);

/// How many times `score` calls `log`, unless the context says otherwise.
pub const DEFAULT_CALLS: u64 = 1_000_000;

/// Length of each message, in bytes: longer than any sensible host truncation.
pub const MESSAGE_BYTES: usize = 2048;

#[derive(Debug)]
pub struct LogFlood;

impl Misbehaviour for LogFlood {
    const ID: &'static str = "hostile-log-flood";
    const DESCRIPTION: &'static str = "Scoring logs a million long messages, then returns a valid card; the host must bound its log.";

    fn score(
        _checklist: &Checklist,
        answers: &Answers<'_>,
        context: &ScoreContext,
    ) -> Result<ScoreCard, ScoreError> {
        let calls = knob(context, DEFAULT_CALLS);
        let levels = [Level::Debug, Level::Info, Level::Warn, Level::Error];
        let filler = "~".repeat(MESSAGE_BYTES);
        let mut message = String::with_capacity(MESSAGE_BYTES);
        for i in 0..calls {
            // A numbered prefix, so the messages are not all identical, padded
            // with one copy (not a byte-by-byte loop: the flood should cost the
            // host, not the guest).
            message.clear();
            // Writing to a String cannot fail.
            let _ = write!(message, "log flood message {i} of {calls}: ");
            let pad = MESSAGE_BYTES.saturating_sub(message.len());
            message.push_str(&filler[..pad]);
            log::log(levels[(i % 4) as usize], &message);
        }
        Ok(plain_card(answers).metric("hostile_log_flood.calls", calls as f64))
    }
}
