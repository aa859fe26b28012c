//! Hostile test plugin: `score` returns a giant score card.
//!
//! The card is valid (it passes the SDK's own card checks): [`FEEDBACK_ENTRIES`]
//! feedback remarks on the checklist's item whose messages add up to
//! [`DEFAULT_MIB`] MiB, so it serialises (JSON or canonical ABI) to about that
//! size, far over a few-MiB output cap. The guest needs about that much linear
//! memory plus ~1 MiB, so with the default it fits under a 64 MiB memory cap:
//! it is the host's output limit that must refuse it, not its memory limit.
//!
//! Size knob: a score context whose `session-type` is a plain number sets the
//! size in MiB instead (1 to 1024), e.g. "2" for a card just under a 4 MiB cap.

use hostile_common::{Hostile, ITEM_ID, Misbehaviour, knob, plain_card};
use mentortrack_plugin_sdk::prelude::*;

mentortrack_plugin_sdk::register_plugin!(Hostile<Output>);

/// Total size of the feedback messages, in MiB, unless the context says otherwise.
pub const DEFAULT_MIB: u64 = 24;

/// How many feedback remarks the card carries; each message is
/// `size / FEEDBACK_ENTRIES` bytes (6 KiB by default).
pub const FEEDBACK_ENTRIES: usize = 4096;

const MAX_MIB: u64 = 1024;

#[derive(Debug)]
pub struct Output;

impl Misbehaviour for Output {
    const ID: &'static str = "hostile-output";
    const DESCRIPTION: &'static str =
        "Scoring returns a score card of tens of MiB; the host's output limit must refuse it.";

    fn score(
        _checklist: &Checklist,
        answers: &Answers<'_>,
        context: &ScoreContext,
    ) -> Result<ScoreCard, ScoreError> {
        let mib = knob(context, DEFAULT_MIB).clamp(1, MAX_MIB);
        let per_entry = (mib as usize) * (1 << 20) / FEEDBACK_ENTRIES;
        let sentence = "Review hand hygiene with the mentee before the next drill. ";
        let message: String = sentence
            .chars()
            .cycle()
            .take(per_entry) // ASCII, so chars are bytes
            .collect();
        let mut card = plain_card(answers).metric("hostile_output.mib", mib as f64);
        card.feedback = (0..FEEDBACK_ENTRIES)
            .map(|_| ItemFeedback {
                item_id: ITEM_ID.to_owned(),
                level: Signal::Amber,
                message: Localized::new(message.clone()).into(),
            })
            .collect();
        Ok(card)
    }
}
