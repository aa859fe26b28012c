// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use jhpiego_qi::{JhpiegoQi, SBMR};
use mentortrack_plugin_sdk::prelude::*;
use mentortrack_plugin_sdk::testing::assert_definitions_valid;

fn runner() -> Runner<JhpiegoQi> {
    Runner::new(JhpiegoQi::new())
}

fn all_yes(r: &Runner<JhpiegoQi>) -> ResponseSet {
    ResponseSet::all_best(r.checklist(SBMR).expect("exists"))
}

fn score(r: &Runner<JhpiegoQi>, set: ResponseSet) -> ScoreCard {
    r.score(SBMR, &set.build(), &ScoreContext::default())
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
    assert_definitions_valid(&JhpiegoQi::new());
}

#[test]
fn ten_standards_in_three_areas() {
    let r = runner();
    let c = r.checklist(SBMR).expect("exists");
    let per_area: Vec<_> = c
        .sections
        .iter()
        .map(|s| (s.id.as_str(), s.groups.len()))
        .collect();
    assert_eq!(per_area, [("anc", 3), ("labour", 4), ("ip", 3)]);
    assert!(
        c.items()
            .all(|i| i.kind == ResponseKind::YesNoNa && i.group.is_some())
    );
}

#[test]
fn all_criteria_met_is_recognised() {
    let r = runner();
    let card = score(&r, all_yes(&r));
    assert_eq!(card.outcome.code, "recognised");
    assert_eq!(card.percentage, Some(100.0));
    assert_eq!(metric(&card, "qi.sbmr_mnh.standards_achieved"), Some(10.0));
    assert_eq!(metric(&card, "qi.sbmr_mnh.recognised"), Some(1.0));
    assert!(card.feedback.is_empty());
}

#[test]
fn one_criterion_missed_fails_its_whole_standard() {
    let r = runner();
    let card = score(&r, all_yes(&r).no("lb1-2"));
    assert_eq!(metric(&card, "qi.sbmr_mnh.standards_achieved"), Some(9.0));
    let labour = card
        .sections
        .iter()
        .find(|s| s.section_id == "labour")
        .expect("scored");
    assert_eq!((labour.achieved, labour.applicable), (3.0, 4.0));
    assert_eq!(labour.percentage, Some(75.0));
    assert_eq!(
        labour.outcome.as_ref().map(|o| o.level),
        Some(Signal::Amber)
    );
    let ids: Vec<_> = card.feedback.iter().map(|f| f.item_id.as_str()).collect();
    assert_eq!(ids, ["lb1-2"]);
}

#[test]
fn recognised_at_exactly_80_percent_of_standards() {
    let r = runner();
    let eight = score(&r, all_yes(&r).no("anc1-1").no("ip3-2"));
    assert_eq!(eight.percentage, Some(80.0));
    assert_eq!(eight.outcome.code, "recognised");

    let seven = score(&r, all_yes(&r).no("anc1-1").no("ip3-2").no("lb2-1"));
    assert_eq!(seven.percentage, Some(70.0));
    assert_eq!(seven.outcome.code, "not-recognised");
    assert_eq!(metric(&seven, "qi.sbmr_mnh.recognised"), Some(0.0));
}

#[test]
fn not_applicable_criteria_and_standards_leave_the_denominator() {
    let r = runner();
    // No baby needed resuscitation: lb3 is judged on its other criteria.
    let card = score(&r, all_yes(&r).na("lb3-4"));
    assert_eq!(card.percentage, Some(100.0));

    // No pre-eclampsia seen: the whole standard drops out, leaving 9.
    let none = all_yes(&r).na("lb4-1").na("lb4-2");
    let card = score(&r, none.clone().no("anc1-1"));
    assert_eq!(metric(&card, "qi.sbmr_mnh.standards_applicable"), Some(9.0));
    assert_eq!(card.outcome.code, "recognised"); // 8/9 = 88.9 %
    let card = score(&r, none.no("anc1-1").no("anc2-1"));
    assert_eq!(card.outcome.code, "not-recognised"); // 7/9 = 77.8 %
}

#[test]
fn area_scores_are_pooled_not_averaged() {
    let r = runner();
    // anc 0/3, labour 4/4, ip 3/3: pooled 7/10 = 70 %, where the mean of the
    // area scores would be 66.7 %.
    let card = score(&r, all_yes(&r).no("anc1-1").no("anc2-1").no("anc3-1"));
    assert_eq!(card.percentage, Some(70.0));
    assert_eq!(metric(&card, "qi.sbmr_mnh.anc.percentage"), Some(0.0));
    assert_eq!(metric(&card, "qi.sbmr_mnh.labour.percentage"), Some(100.0));
    let anc = &card.sections[0];
    assert_eq!(
        anc.outcome.as_ref().map(|o| o.code.as_str()),
        Some("below-target")
    );
}

#[test]
fn nothing_applicable_is_not_scored() {
    let r = runner();
    let c = r.checklist(SBMR).expect("exists");
    let ids: Vec<&str> = c.items().map(|i| i.id.as_str()).collect();
    let card = score(
        &r,
        ResponseSet::new().answer_all(&ids, Answer::NotApplicable),
    );
    assert_eq!(card.outcome.code, "not-scored");
    assert_eq!(card.percentage, None);
    assert_eq!(metric(&card, "qi.sbmr_mnh.percentage"), None);
    assert!(card.sections.iter().all(|s| s.percentage.is_none()));
}
