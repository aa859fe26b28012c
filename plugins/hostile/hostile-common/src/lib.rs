//! What the hostile test plugins share: a plausible manifest and one tiny
//! checklist, so that each plugin's `describe` and `checklists` behave and only
//! the misbehaviour it is named for differs.
//!
//! A hostile plugin is a [`Misbehaviour`] exported as [`Hostile<M>`]:
//!
//! ```ignore
//! pub struct Loop;
//! impl Misbehaviour for Loop { /* ID, DESCRIPTION, score */ }
//! mentortrack_plugin_sdk::register_plugin!(hostile_common::Hostile<Loop>);
//! ```
//!
//! The checklist's only item is optional, so `score("probe", [], context)`
//! passes the SDK's response validation and reaches the misbehaviour.

use std::marker::PhantomData;

use mentortrack_plugin_sdk::prelude::*;

/// The id of the one checklist every hostile plugin serves (unless it
/// overrides [`Misbehaviour::checklists`]).
pub const CHECKLIST_ID: &str = "probe";

/// The id of the checklist's only item.
pub const ITEM_ID: &str = "hands";

/// One hostile plugin: its identity and its misbehaving `score`.
pub trait Misbehaviour: Send + Sync + 'static {
    /// The manifest id, the crate name ("hostile-loop").
    const ID: &'static str;
    /// What the plugin does wrong and which host check it exercises.
    const DESCRIPTION: &'static str;
    const PUBLISHER: &'static str = "HOSTILE";

    fn checklists() -> Vec<Checklist> {
        vec![probe_checklist()]
    }

    fn score(
        checklist: &Checklist,
        answers: &Answers<'_>,
        context: &ScoreContext,
    ) -> Result<ScoreCard, ScoreError>;
}

/// The [`Plugin`] that exports a [`Misbehaviour`].
#[derive(Debug)]
pub struct Hostile<M>(PhantomData<M>);

impl<M: Misbehaviour> Plugin for Hostile<M> {
    fn new() -> Self {
        Hostile(PhantomData)
    }

    fn manifest(&self) -> Manifest {
        Manifest::new(
            M::ID,
            format!("Hostile test plugin {}", M::ID),
            env!("CARGO_PKG_VERSION"),
            M::PUBLISHER,
        )
        .description(M::DESCRIPTION)
    }

    fn checklists(&self) -> Vec<Checklist> {
        M::checklists()
    }

    fn score(
        &self,
        checklist: &Checklist,
        answers: &Answers<'_>,
        context: &ScoreContext,
    ) -> Result<ScoreCard, ScoreError> {
        M::score(checklist, answers, context)
    }
}

/// A one-item hand-hygiene checklist. The item is optional so that an empty
/// response list is valid.
pub fn probe_checklist() -> Checklist {
    Checklist::new(CHECKLIST_ID, "Hand hygiene probe").section("steps", "Steps", |s| {
        s.push(Item::new(ITEM_ID, "Washes hands before touching the patient").optional())
    })
}

/// The card a well-behaved version of the plugin would return.
pub fn plain_card(answers: &Answers<'_>) -> ScoreCard {
    let tally = answers.tally(select::all, Coding::Binary);
    ScoreCard::new(match tally.percentage() {
        Some(p) => Outcome::pass_fail(rules::meets(p, 100.0)),
        None => Outcome::not_scored(),
    })
    .percentage(tally.percentage())
}

/// A size knob read from the score context: `session-type` set to a plain
/// number overrides the plugin's built-in default, so host tests can pick a
/// size without rebuilding; any ordinary session type keeps the default.
pub fn knob(context: &ScoreContext, default: u64) -> u64 {
    context.session_type.trim().parse().unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mentortrack_plugin_sdk::testing::assert_definitions_valid;

    struct Calm;

    impl Misbehaviour for Calm {
        const ID: &'static str = "hostile-calm";
        const DESCRIPTION: &'static str = "Behaves.";

        fn score(
            _checklist: &Checklist,
            answers: &Answers<'_>,
            _context: &ScoreContext,
        ) -> Result<ScoreCard, ScoreError> {
            Ok(plain_card(answers))
        }
    }

    #[test]
    fn the_shared_definitions_are_valid_and_empty_responses_score() {
        assert_definitions_valid(&Hostile::<Calm>::new());
        let runner = Runner::new(Hostile::<Calm>::new());
        let card = runner
            .score(CHECKLIST_ID, &[], &ScoreContext::default())
            .unwrap();
        assert_eq!(card.outcome.code, "not-scored");
    }

    #[test]
    fn knob_reads_a_number_from_the_session_type() {
        let mut context = ScoreContext::default();
        assert_eq!(knob(&context, 7), 7);
        context.session_type = "skills-drill".into();
        assert_eq!(knob(&context, 7), 7);
        context.session_type = "3".into();
        assert_eq!(knob(&context, 7), 3);
    }
}
