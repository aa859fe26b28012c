// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use hbb::{BAG_MASK, Hbb, KNOWLEDGE_CHECK, OSCE_A, OSCE_B};
use mentortrack_plugin_sdk::prelude::*;
use mentortrack_plugin_sdk::testing::{assert_definitions_valid, item_errors};

fn runner() -> Runner<Hbb> {
    Runner::new(Hbb::new())
}

/// Every step done, then the listed steps answered no.
fn missing(runner: &Runner<Hbb>, checklist_id: &str, not_done: &[&str]) -> ScoreCard {
    let checklist = runner.checklist(checklist_id).expect("checklist exists");
    let responses = ResponseSet::all_best(checklist)
        .answer_all(not_done, Answer::No)
        .build();
    runner
        .score(checklist_id, &responses, &ScoreContext::default())
        .expect("valid responses score")
}

fn metric(card: &ScoreCard, name: &str) -> Option<f64> {
    card.metrics
        .iter()
        .find(|m| m.name == name)
        .map(|m| m.value)
}

#[test]
fn definitions_are_valid() {
    assert_definitions_valid(&Hbb::new());
}

#[test]
fn assessments_have_the_published_shape() {
    let r = runner();
    let shape = |id: &str| {
        let c = r.checklist(id).expect("exists");
        let key = c
            .items()
            .filter(|i| i.importance == Importance::Key)
            .count();
        (c.items().count(), key)
    };
    assert_eq!(shape(KNOWLEDGE_CHECK), (18, 0));
    assert_eq!(shape(BAG_MASK), (14, 0));
    assert_eq!(shape(OSCE_A), (12, 3));
    assert_eq!(shape(OSCE_B), (23, 6));
}

#[test]
fn knowledge_check_passes_at_14_of_18() {
    let r = runner();
    let fails = missing(&r, KNOWLEDGE_CHECK, &["q01", "q02", "q03", "q04", "q05"]);
    assert_eq!(fails.outcome.code, "fail");
    assert_eq!(metric(&fails, "hbb.knowledge_check.correct"), Some(13.0));

    let passes = missing(&r, KNOWLEDGE_CHECK, &["q01", "q02", "q03", "q04"]);
    assert_eq!(passes.outcome.code, "pass");
    assert_eq!(metric(&passes, "hbb.knowledge_check.correct"), Some(14.0));
    assert_eq!(metric(&passes, "hbb.knowledge_check.pass"), Some(1.0));
    assert_eq!(metric(&passes, "hbb.knowledge_check.key_steps_done"), None);
}

#[test]
fn bag_and_mask_needs_all_14() {
    let r = runner();
    assert_eq!(missing(&r, BAG_MASK, &[]).outcome.code, "pass");
    let one_missed = missing(&r, BAG_MASK, &["bm14"]);
    assert_eq!(one_missed.outcome.code, "fail");
    assert_eq!(metric(&one_missed, "hbb.bag_mask.steps_done"), Some(13.0));
}

#[test]
fn osce_a_9_of_12_with_a_key_step_missed_fails() {
    let r = runner();
    let card = missing(&r, OSCE_A, &["a02", "a06", "a12"]);
    assert_eq!(metric(&card, "hbb.osce_a.steps_done"), Some(9.0));
    assert_eq!(metric(&card, "hbb.osce_a.key_steps_done"), Some(2.0));
    assert_eq!(card.outcome.code, "fail");
    assert_eq!(card.outcome.level, Signal::Red);
}

#[test]
fn osce_a_9_of_12_with_every_key_step_passes_and_8_fails() {
    let r = runner();
    let nine = missing(&r, OSCE_A, &["a01", "a06", "a12"]);
    assert_eq!(nine.outcome.code, "pass");
    assert_eq!(metric(&nine, "hbb.osce_a.key_steps_done"), Some(3.0));
    let eight = missing(&r, OSCE_A, &["a01", "a03", "a06", "a12"]);
    assert_eq!(eight.outcome.code, "fail");
}

#[test]
fn osce_b_16_of_23_with_every_key_step_fails() {
    let r = runner();
    let card = missing(
        &r,
        OSCE_B,
        &["b01", "b02", "b03", "b04", "b07", "b13", "b22"],
    );
    assert_eq!(metric(&card, "hbb.osce_b.steps_done"), Some(16.0));
    assert_eq!(metric(&card, "hbb.osce_b.key_steps_done"), Some(6.0));
    assert_eq!(card.outcome.code, "fail");
    assert_eq!(metric(&card, "hbb.osce_b.pass"), Some(0.0));
}

#[test]
fn osce_b_17_of_23_with_every_key_step_passes() {
    let r = runner();
    let card = missing(&r, OSCE_B, &["b01", "b02", "b03", "b04", "b07", "b13"]);
    assert_eq!(metric(&card, "hbb.osce_b.steps_done"), Some(17.0));
    assert_eq!(card.outcome.code, "pass");
    assert_eq!(card.outcome.level, Signal::Green);
    assert_eq!(metric(&card, "hbb.osce_b.pass"), Some(1.0));
    let p = card.percentage.expect("percentage");
    assert!((p - 17.0 * 100.0 / 23.0).abs() < 1e-9);
}

#[test]
fn osce_b_fails_on_any_single_key_step() {
    let r = runner();
    for key in ["b10", "b16", "b17", "b19", "b20", "b21"] {
        let card = missing(&r, OSCE_B, &[key]);
        assert_eq!(card.outcome.code, "fail", "{key}");
        assert_eq!(metric(&card, "hbb.osce_b.key_steps_done"), Some(5.0));
    }
}

#[test]
fn feedback_puts_key_steps_first_and_in_red() {
    let r = runner();
    let card = missing(&r, OSCE_B, &["b01", "b19"]);
    let got: Vec<_> = card
        .feedback
        .iter()
        .map(|f| (f.item_id.as_str(), f.level))
        .collect();
    assert_eq!(got, [("b19", Signal::Red), ("b01", Signal::Amber)]);
    assert!(card.feedback[0].message.text("fr").starts_with("Étape clé"));
}

#[test]
fn section_scores_follow_the_checklist() {
    let r = runner();
    let card = missing(&r, OSCE_B, &["b01", "b02"]);
    let sections: Vec<_> = card
        .sections
        .iter()
        .map(|s| (s.section_id.as_str(), s.achieved, s.applicable))
        .collect();
    assert_eq!(
        sections,
        [
            ("preparation", 2.0, 4.0),
            ("golden-minute", 10.0, 10.0),
            ("ventilation", 9.0, 9.0)
        ]
    );
}

#[test]
fn bad_responses_are_errors_not_panics() {
    let r = runner();
    let c = r.checklist(OSCE_A).expect("exists");
    let ctx = ScoreContext::default();

    let unanswered = ResponseSet::all_best(c).without("a04").build();
    let err = r.score(OSCE_A, &unanswered, &ctx).unwrap_err();
    assert_eq!(item_errors(&err).len(), 1);
    assert_eq!(item_errors(&err)[0].item_id.as_deref(), Some("a04"));

    let wrong_kind = ResponseSet::all_best(c).na("a04").integer("a05", 1).build();
    let err = r.score(OSCE_A, &wrong_kind, &ctx).unwrap_err();
    assert_eq!(item_errors(&err).len(), 2);

    let foreign = ResponseSet::all_best(c).yes("b19").build();
    let err = r.score(OSCE_A, &foreign, &ctx).unwrap_err();
    assert_eq!(item_errors(&err)[0].message, "unknown item");

    assert_eq!(
        r.score("osce-c", &[], &ctx),
        Err(ScoreError::UnknownChecklist("osce-c".into()))
    );
    assert!(matches!(
        r.score(OSCE_A, &[], &ctx),
        Err(ScoreError::InvalidResponses(_))
    ));
}

#[test]
fn titles_are_translated_into_french() {
    let r = runner();
    assert_eq!(r.manifest().name.text("fr"), "Aider les bébés à respirer");
    for c in r.checklists() {
        assert_ne!(c.title.text("fr"), c.title.default, "{}", c.id);
        for s in &c.sections {
            assert!(
                s.title.translations.iter().any(|t| t.lang == "fr"),
                "{}/{}",
                c.id,
                s.id
            );
        }
    }
}
