// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use jhpiego_qi::{JhpiegoQi, SUPERVISION};
use mentortrack_plugin_sdk::prelude::*;
use mentortrack_plugin_sdk::testing::item_errors;

fn runner() -> Runner<JhpiegoQi> {
    Runner::new(JhpiegoQi::new())
}

/// Everything done well: practices to avoid answered no.
fn perfect(r: &Runner<JhpiegoQi>) -> ResponseSet {
    ResponseSet::all_best(r.checklist(SUPERVISION).expect("exists"))
        .no("ss10")
        .no("ss13")
}

fn score(r: &Runner<JhpiegoQi>, set: ResponseSet) -> ScoreCard {
    r.score(SUPERVISION, &set.build(), &ScoreContext::default())
        .expect("scores")
}

fn metric(card: &ScoreCard, name: &str) -> Option<f64> {
    card.metrics
        .iter()
        .find(|m| m.name == name)
        .map(|m| m.value)
}

fn non_critical(card: &ScoreCard) -> f64 {
    metric(card, "qi.supportive_supervision.non_critical_percentage").expect("applicable")
}

#[test]
fn four_critical_and_eleven_scored_non_critical_items() {
    let r = runner();
    let c = r.checklist(SUPERVISION).expect("exists");
    let critical = c
        .items()
        .filter(|i| i.importance == Importance::Critical)
        .count();
    let scored = c.items().filter(|i| i.weight > 0.0).count();
    assert_eq!((critical, scored - critical), (4, 11));
}

#[test]
fn perfect_observation_is_competent() {
    let r = runner();
    let card = score(&r, perfect(&r));
    assert_eq!(card.outcome.code, "competent");
    assert_eq!(card.percentage, Some(100.0));
    assert_eq!(
        metric(&card, "qi.supportive_supervision.competent"),
        Some(1.0)
    );
    assert_eq!(
        metric(&card, "qi.supportive_supervision.not_competent"),
        Some(0.0)
    );
}

#[test]
fn one_critical_item_missed_is_not_competent_whatever_else() {
    let r = runner();
    let card = score(&r, perfect(&r).no("ss06"));
    assert_eq!(card.outcome.code, "not-competent");
    assert_eq!(non_critical(&card), 100.0);
    assert_eq!(
        metric(&card, "qi.supportive_supervision.critical_percentage"),
        Some(75.0)
    );
    assert_eq!(card.feedback[0].item_id, "ss06");
    assert_eq!(card.feedback[0].message, feedback::critical_missed());
}

#[test]
fn a_not_applicable_critical_item_is_not_a_miss() {
    let r = runner();
    let card = score(&r, perfect(&r).na("ss03"));
    assert_eq!(card.outcome.code, "competent");
    assert_eq!(
        metric(&card, "qi.supportive_supervision.critical_percentage"),
        Some(100.0)
    );
}

#[test]
fn non_critical_just_above_89_9_is_competent() {
    let r = runner();
    // 10 applicable non-critical items (ss04 not applicable), 9 done: 90.0 %.
    let card = score(&r, perfect(&r).na("ss04").no("ss15"));
    assert_eq!(non_critical(&card), 90.0);
    assert_eq!(card.outcome.code, "competent");
}

#[test]
fn non_critical_just_below_89_9_needs_improvement() {
    let r = runner();
    // 11 applicable, one missed and one partly: 9.5 / 11 = 86.4 %.
    let card = score(&r, perfect(&r).no("ss15").partly("ss02"));
    assert!((non_critical(&card) - 950.0 / 11.0).abs() < 1e-9);
    assert_eq!(card.outcome.code, "needs-improvement");
    assert_eq!(card.outcome.level, Signal::Amber);
}

#[test]
fn non_critical_just_above_79_9_needs_improvement_and_below_is_not_competent() {
    let r = runner();
    // 10 applicable, 8 done: 80.0 %.
    let card = score(&r, perfect(&r).na("ss04").no("ss15").no("ss07"));
    assert_eq!(non_critical(&card), 80.0);
    assert_eq!(card.outcome.code, "needs-improvement");
    assert_eq!(
        metric(&card, "qi.supportive_supervision.needs_improvement"),
        Some(1.0)
    );

    // 10 applicable, 7.5 earned: 75.0 %.
    let card = score(
        &r,
        perfect(&r).na("ss04").no("ss15").no("ss07").partly("ss14"),
    );
    assert_eq!(non_critical(&card), 75.0);
    assert_eq!(card.outcome.code, "not-competent");
}

#[test]
fn the_rule_the_plugin_applies_at_exactly_89_9_and_79_9() {
    // Whole-item counts cannot land on 89.9 or 79.9 exactly, so the
    // boundaries themselves are checked on the rule the plugin delegates to.
    use Competency::*;
    assert_eq!(
        Competency::from_percentages(Some(100.0), Some(89.9)),
        Competent
    );
    assert_eq!(
        Competency::from_percentages(Some(100.0), Some(89.899)),
        NeedsImprovement
    );
    assert_eq!(
        Competency::from_percentages(Some(100.0), Some(79.9)),
        NeedsImprovement
    );
    assert_eq!(
        Competency::from_percentages(Some(100.0), Some(79.899)),
        NotCompetent
    );
}

#[test]
fn practices_to_avoid_lose_the_point_when_seen() {
    let r = runner();
    let card = score(&r, perfect(&r).yes("ss13"));
    assert!((non_critical(&card) - 1000.0 / 11.0).abs() < 1e-9);
    assert_eq!(card.outcome.code, "competent"); // 90.9 %
    let remark = card
        .feedback
        .iter()
        .find(|f| f.item_id == "ss13")
        .expect("remark");
    assert_eq!(remark.message, feedback::practice_to_avoid());

    let card = score(&r, perfect(&r).yes("ss13").yes("ss10"));
    assert_eq!(card.outcome.code, "needs-improvement"); // 81.8 %
}

#[test]
fn half_a_critical_item_is_a_miss() {
    let r = runner();
    let card = score(&r, perfect(&r).partly("ss11"));
    assert_eq!(
        metric(&card, "qi.supportive_supervision.critical_percentage"),
        Some(87.5)
    );
    assert_eq!(card.outcome.code, "not-competent");
    assert_eq!(card.feedback[0].item_id, "ss11");
    assert_eq!(card.feedback[0].level, Signal::Red);
}

#[test]
fn half_a_non_critical_item_earns_half_a_point() {
    let r = runner();
    let card = score(&r, perfect(&r).partly("ss05"));
    assert!((non_critical(&card) - 1050.0 / 11.0).abs() < 1e-9);
    assert_eq!(card.outcome.code, "competent");
}

#[test]
fn setting_is_required_and_comments_are_optional_and_bounded() {
    let r = runner();
    let ctx = ScoreContext::default();
    let err = r
        .score(SUPERVISION, &perfect(&r).without("setting").build(), &ctx)
        .unwrap_err();
    assert_eq!(item_errors(&err)[0].item_id.as_deref(), Some("setting"));

    let long = "x".repeat(1001);
    let err = r
        .score(
            SUPERVISION,
            &perfect(&r).text("comments", &long).build(),
            &ctx,
        )
        .unwrap_err();
    assert_eq!(
        item_errors(&err)[0].message,
        "text is 1001 characters long; the limit is 1000"
    );

    let card = score(
        &r,
        perfect(&r).text("comments", "Discussed partograph use."),
    );
    let sections: Vec<_> = card
        .sections
        .iter()
        .map(|s| s.section_id.as_str())
        .collect();
    assert_eq!(sections, ["before-birth", "birth", "newborn"]);
}
