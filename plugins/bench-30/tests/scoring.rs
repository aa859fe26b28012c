// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use bench_30::{Bench30, CHECKLIST, ITEMS};
use mentortrack_plugin_sdk::prelude::*;
use mentortrack_plugin_sdk::testing::{assert_definitions_valid, item_errors};

fn runner() -> Runner<Bench30> {
    Runner::new(Bench30::new())
}

fn all_best(r: &Runner<Bench30>) -> ResponseSet {
    ResponseSet::all_best(r.checklist(CHECKLIST).expect("exists"))
}

fn score(r: &Runner<Bench30>, set: ResponseSet) -> ScoreCard {
    r.score(CHECKLIST, &set.build(), &ScoreContext::default())
        .expect("scores")
}

#[test]
fn definitions_are_valid() {
    assert_definitions_valid(&Bench30::new());
}

#[test]
fn thirty_items_six_critical() {
    let r = runner();
    let c = r.checklist(CHECKLIST).expect("exists");
    let critical = c
        .items()
        .filter(|i| i.importance == Importance::Critical)
        .count();
    assert_eq!((c.items().count(), critical), (ITEMS, 6));
}

#[test]
fn everything_done_is_competent() {
    let r = runner();
    let card = score(&r, all_best(&r));
    assert_eq!(card.outcome.code, "competent");
    assert_eq!(card.percentage, Some(100.0));
    assert_eq!(card.sections.len(), 5);
    assert!(card.feedback.is_empty());
}

#[test]
fn a_missed_critical_item_is_not_competent() {
    let r = runner();
    let card = score(&r, all_best(&r).no("b03"));
    assert_eq!(card.outcome.code, "not-competent");
    assert_eq!(card.feedback[0].item_id, "b03");
    assert_eq!(card.feedback[0].level, Signal::Red);
}

#[test]
fn non_critical_classes() {
    let r = runner();
    // 24 non-critical items: 2 missed → 91.7 % competent; 4 missed → 83.3 %
    // needs improvement; 5 missed → 79.2 % not competent.
    let missed = ["a02", "a03", "l02", "l03", "b01"];
    let outcome = |n: usize| {
        let set = all_best(&r).answer_all(&missed[..n], Answer::No);
        score(&r, set).outcome.code
    };
    assert_eq!(outcome(2), "competent");
    assert_eq!(outcome(4), "needs-improvement");
    assert_eq!(outcome(5), "not-competent");
}

#[test]
fn partly_done_is_half_credit_and_not_applicable_leaves_the_denominator() {
    let r = runner();
    let card = score(&r, all_best(&r).partly("a04").na("a06").na("l06"));
    // 27.5 of 28 applicable items.
    let expected = 27.5 / 28.0 * 100.0;
    assert!((card.percentage.expect("scored") - expected).abs() < 1e-9);
    assert_eq!(card.feedback[0].item_id, "a04");
    assert_eq!(card.feedback[0].level, Signal::Amber);
}

#[test]
fn unanswered_items_are_errors() {
    let r = runner();
    let responses = ResponseSet::new().yes("a01").build();
    let err = r
        .score(CHECKLIST, &responses, &ScoreContext::default())
        .unwrap_err();
    assert_eq!(item_errors(&err).len(), ITEMS - 1);
}
