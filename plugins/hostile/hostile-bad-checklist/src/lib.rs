//! Hostile test plugin: `checklists` returns an invalid definition.
//!
//! The one checklist has two items with the same id and an integer-score item
//! whose range has `min > max`. The host's upload validation must refuse the
//! plugin (the SDK's `lint` reports both problems, see the test).
//!
//! The SDK does not catch it first: `register_plugin!` and `Runner` never lint
//! definitions at run time (only `testing::assert_definitions_valid` does, and
//! only in a plugin's own tests), so the component serves the bad checklist
//! as is. `tests/definitions.rs` checks that this stays true.

use hostile_common::{CHECKLIST_ID, Hostile, ITEM_ID, Misbehaviour, plain_card};
use mentortrack_plugin_sdk::prelude::*;

mentortrack_plugin_sdk::register_plugin!(Hostile<BadChecklist>);

#[derive(Debug)]
pub struct BadChecklist;

impl Misbehaviour for BadChecklist {
    const ID: &'static str = "hostile-bad-checklist";
    const DESCRIPTION: &'static str = "Its checklist repeats an item id and has a score range with min above max; the host must refuse it.";

    fn checklists() -> Vec<Checklist> {
        vec![
            Checklist::new(CHECKLIST_ID, "Hand hygiene probe").section("steps", "Steps", |s| {
                s.push(Item::new(ITEM_ID, "Washes hands before touching the patient").optional())
                    .push(Item::new(ITEM_ID, "Washes hands after touching the patient").optional())
                    .push(Item::score("technique", "Rates the hand-rub technique", 5, 1).optional())
            }),
        ]
    }

    fn score(
        _checklist: &Checklist,
        answers: &Answers<'_>,
        _context: &ScoreContext,
    ) -> Result<ScoreCard, ScoreError> {
        Ok(plain_card(answers))
    }
}
