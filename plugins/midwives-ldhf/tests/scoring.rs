// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use mentortrack_plugin_sdk::prelude::*;
use mentortrack_plugin_sdk::testing::{assert_definitions_valid, item_errors};
use midwives_ldhf::{AMTSL, MidwivesLdhf, PPH};

fn runner() -> Runner<MidwivesLdhf> {
    Runner::new(MidwivesLdhf::new())
}

fn all_done(r: &Runner<MidwivesLdhf>, checklist_id: &str) -> ResponseSet {
    ResponseSet::all_best(r.checklist(checklist_id).expect("exists"))
}

fn score(r: &Runner<MidwivesLdhf>, id: &str, set: ResponseSet) -> ScoreCard {
    r.score(id, &set.build(), &ScoreContext::default())
        .expect("scores")
}

fn metric(card: &ScoreCard, name: &str) -> Option<f64> {
    card.metrics
        .iter()
        .find(|m| m.name == name)
        .map(|m| m.value)
}

#[test]
fn definitions_are_valid() {
    assert_definitions_valid(&MidwivesLdhf::new());
}

#[test]
fn amtsl_has_15_steps_and_3_key_steps() {
    let r = runner();
    let c = r.checklist(AMTSL).expect("exists");
    assert_eq!(c.items().count(), 15);
    let key: Vec<_> = c
        .items()
        .filter(|i| i.importance == Importance::Key)
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(key, ["t02", "t07", "a01"]);
}

#[test]
fn amtsl_passes_at_12_with_every_key_step() {
    let r = runner();
    let twelve = all_done(&r, AMTSL).answer_all(&["p01", "t03", "a04"], Answer::NotDone);
    let card = score(&r, AMTSL, twelve);
    assert_eq!(card.outcome.code, "pass");
    assert_eq!(metric(&card, "ldhf.amtsl.steps_done"), Some(12.0));
    assert_eq!(card.percentage, Some(80.0));

    let eleven = all_done(&r, AMTSL).answer_all(&["p01", "p02", "t03", "a04"], Answer::NotDone);
    assert_eq!(score(&r, AMTSL, eleven).outcome.code, "fail");
}

#[test]
fn amtsl_fails_without_the_uterotonic_in_the_first_minute() {
    let r = runner();
    let card = score(&r, AMTSL, all_done(&r, AMTSL).not_done("t02"));
    assert_eq!(metric(&card, "ldhf.amtsl.steps_done"), Some(14.0));
    assert_eq!(card.outcome.code, "fail");
    assert_eq!(
        metric(&card, "ldhf.amtsl.uterotonic_within_1_min"),
        Some(0.0)
    );
    assert_eq!(metric(&card, "ldhf.amtsl.key_steps_done"), Some(2.0));
    assert_eq!(card.feedback[0].item_id, "t02");
    assert_eq!(card.feedback[0].level, Signal::Red);

    let ok = score(&r, AMTSL, all_done(&r, AMTSL));
    assert_eq!(metric(&ok, "ldhf.amtsl.uterotonic_within_1_min"), Some(1.0));
}

#[test]
fn partly_done_never_counts_as_done() {
    let r = runner();
    // Controlled cord traction half done: a key step missed.
    let card = score(&r, AMTSL, all_done(&r, AMTSL).partly("t07"));
    assert_eq!(card.outcome.code, "fail");
    assert_eq!(card.feedback[0].message, feedback::key_step_missed());

    // Three normal steps partly done: 12 fully done, still a pass, with amber remarks.
    let card = score(
        &r,
        AMTSL,
        all_done(&r, AMTSL).answer_all(&["p01", "p02", "p03"], Answer::Partly),
    );
    assert_eq!(card.outcome.code, "pass");
    assert_eq!(card.feedback.len(), 3);
    assert!(
        card.feedback
            .iter()
            .all(|f| f.level == Signal::Amber && f.message == feedback::partly_done())
    );

    let thirteen_partly =
        all_done(&r, AMTSL).answer_all(&["p01", "p02", "p03", "t01"], Answer::Partly);
    assert_eq!(score(&r, AMTSL, thirteen_partly).outcome.code, "fail");
}

#[test]
fn pph_scenario_is_required_but_not_scored() {
    let r = runner();
    let card = score(&r, PPH, all_done(&r, PPH).choice("scenario", "tears"));
    assert_eq!(card.outcome.code, "pass");
    assert_eq!(metric(&card, "ldhf.pph.steps_done"), Some(12.0));
    assert_eq!(card.percentage, Some(100.0));
    let sections: Vec<_> = card
        .sections
        .iter()
        .map(|s| s.section_id.as_str())
        .collect();
    assert_eq!(sections, ["first-response", "ongoing-care"]);

    let err = r
        .score(
            PPH,
            &all_done(&r, PPH).without("scenario").build(),
            &ScoreContext::default(),
        )
        .unwrap_err();
    assert_eq!(item_errors(&err)[0].item_id.as_deref(), Some("scenario"));

    let err = r
        .score(
            PPH,
            &all_done(&r, PPH).choice("scenario", "eclampsia").build(),
            &ScoreContext::default(),
        )
        .unwrap_err();
    assert_eq!(item_errors(&err)[0].message, "unknown choice eclampsia");
}

#[test]
fn pph_passes_at_10_of_12_with_every_key_step() {
    let r = runner();
    let ten = all_done(&r, PPH).answer_all(&["f05", "o05"], Answer::NotDone);
    assert_eq!(score(&r, PPH, ten).outcome.code, "pass");
    let nine = all_done(&r, PPH).answer_all(&["f05", "o04", "o05"], Answer::NotDone);
    assert_eq!(score(&r, PPH, nine).outcome.code, "fail");
    let no_help_called = all_done(&r, PPH).not_done("f01");
    assert_eq!(score(&r, PPH, no_help_called).outcome.code, "fail");
}

#[test]
fn pph_reports_time_to_uterotonic_only_when_recorded() {
    let r = runner();
    let without = score(&r, PPH, all_done(&r, PPH).without("minutes"));
    assert_eq!(metric(&without, "ldhf.pph.minutes_to_uterotonic"), None);
    let with = score(&r, PPH, all_done(&r, PPH).integer("minutes", 4));
    assert_eq!(metric(&with, "ldhf.pph.minutes_to_uterotonic"), Some(4.0));

    for bad in [-1.0, 121.0, f64::NAN] {
        let err = r
            .score(
                PPH,
                &all_done(&r, PPH).number("minutes", bad).build(),
                &ScoreContext::default(),
            )
            .unwrap_err();
        assert_eq!(item_errors(&err).len(), 1, "{bad}");
    }
}
