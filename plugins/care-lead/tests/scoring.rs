// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use care_lead::{CareLead, FULL_AWARD, MEASURES, PARTIAL_AWARD, TEAM_QUARTERLY};
use mentortrack_plugin_sdk::prelude::*;
use mentortrack_plugin_sdk::testing::{assert_definitions_valid, item_errors};

/// Targets and achievements per measure, in `MEASURES` order, and the two yes/no items.
fn score(
    targets: [i64; 5],
    achieved: [i64; 5],
    meetings: bool,
    registers: bool,
) -> Result<ScoreCard, ScoreError> {
    let runner = Runner::new(CareLead::new());
    let mut set = ResponseSet::new();
    for (n, m) in MEASURES.iter().enumerate() {
        set = set
            .integer(&format!("{m}-target"), targets[n])
            .integer(&format!("{m}-achieved"), achieved[n]);
    }
    set = if meetings {
        set.yes("team-meetings")
    } else {
        set.no("team-meetings")
    };
    set = if registers {
        set.yes("registers-complete")
    } else {
        set.no("registers-complete")
    };
    runner.score(TEAM_QUARTERLY, &set.build(), &ScoreContext::default())
}

fn metric(card: &ScoreCard, name: &str) -> f64 {
    card.metrics
        .iter()
        .find(|m| m.name == format!("care_lead.team_quarterly.{name}"))
        .map(|m| m.value)
        .unwrap_or_else(|| panic!("no metric {name}"))
}

const TARGETS: [i64; 5] = [40, 6, 30, 10, 5];

#[test]
fn definitions_are_valid() {
    assert_definitions_valid(&CareLead::new());
}

#[test]
fn every_target_met_with_meetings_and_registers_earns_the_full_award() {
    let card = score(TARGETS, TARGETS, true, true).unwrap();
    assert_eq!(card.outcome.code, "full-award");
    assert_eq!(card.percentage, Some(100.0));
    assert_eq!(metric(&card, "targets_met"), 5.0);
    assert_eq!(metric(&card, "targets_set"), 5.0);
    assert_eq!(metric(&card, "award"), FULL_AWARD);
    assert_eq!(card.sections.len(), 5);
}

#[test]
fn achievement_is_capped_so_overachieving_one_measure_cannot_hide_another() {
    // Twice the households, but only 60 % of visits: 60 % < 90 %, and the mean of capped
    // achievements is (100 + 100 + 60 + 100 + 100) / 5 = 92 %.
    let card = score(TARGETS, [80, 6, 18, 10, 5], true, true).unwrap();
    assert_eq!(card.percentage, Some(92.0));
    assert_eq!(card.outcome.code, "partial-award");
    assert_eq!(metric(&card, "award"), PARTIAL_AWARD);
    assert_eq!(metric(&card, "targets_met"), 4.0);
    assert_eq!(card.sections[0].percentage, Some(100.0));
    assert_eq!(card.feedback.len(), 1);
    assert_eq!(card.feedback[0].item_id, "home-visits-achieved");
}

#[test]
fn ninety_percent_on_every_measure_is_enough_for_the_full_award_and_just_below_is_not() {
    let at = score([10; 5], [9; 5], true, true).unwrap();
    assert_eq!(at.outcome.code, "full-award");
    assert_eq!(metric(&at, "targets_met"), 0.0);
    // 89/100 on one measure.
    let below = score([100, 10, 10, 10, 10], [89, 10, 10, 10, 10], true, true).unwrap();
    assert_eq!(below.outcome.code, "partial-award");
}

#[test]
fn without_meetings_or_registers_the_best_is_a_partial_award() {
    assert_eq!(
        score(TARGETS, TARGETS, false, true).unwrap().outcome.code,
        "partial-award"
    );
    let card = score(TARGETS, TARGETS, true, false).unwrap();
    assert_eq!(card.outcome.code, "partial-award");
    assert_eq!(metric(&card, "award"), PARTIAL_AWARD);
    assert!(
        card.feedback
            .iter()
            .any(|f| f.item_id == "registers-complete")
    );
}

#[test]
fn the_partial_award_starts_at_seventy_percent_overall() {
    // 70 % on every measure.
    let at = score([10; 5], [7; 5], true, true).unwrap();
    assert_eq!(at.percentage, Some(70.0));
    assert_eq!(at.outcome.code, "partial-award");
    // 69 % overall: (69 + 69 + 69 + 69 + 69) / 5.
    let below = score([100, 100, 100, 100, 100], [69, 69, 69, 69, 69], true, true).unwrap();
    assert_eq!(below.outcome.code, "no-award");
    assert_eq!(metric(&below, "award"), 0.0);
}

#[test]
fn measures_without_a_target_leave_the_score() {
    let card = score([40, 0, 30, 0, 0], [40, 3, 27, 0, 0], true, true).unwrap();
    assert_eq!(metric(&card, "targets_set"), 2.0);
    assert_eq!(metric(&card, "targets_met"), 1.0);
    assert_eq!(card.percentage, Some(95.0));
    assert_eq!(card.outcome.code, "full-award");
    assert_eq!(card.sections.len(), 2);
}

#[test]
fn no_target_at_all_is_not_scored_and_earns_nothing() {
    let card = score([0; 5], [3; 5], true, true).unwrap();
    assert_eq!(card.outcome.code, "not-scored");
    assert_eq!(card.percentage, None);
    assert_eq!(metric(&card, "award"), 0.0);
    assert_eq!(metric(&card, "targets_set"), 0.0);
}

#[test]
fn more_escorts_than_referrals_is_refused_naming_the_escorts() {
    let err = score(TARGETS, [40, 6, 30, 4, 5], true, true).unwrap_err();
    let errors = item_errors(&err);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].item_id.as_deref(), Some("escorts-achieved"));
}

#[test]
fn counts_out_of_range_and_missing_items_are_refused() {
    let runner = Runner::new(CareLead::new());
    let checklist = runner.checklist(TEAM_QUARTERLY).unwrap();
    let responses = ResponseSet::all_best(checklist)
        .integer("home-visits-target", -1)
        .without("team-meetings")
        .build();
    let err = runner
        .score(TEAM_QUARTERLY, &responses, &ScoreContext::default())
        .unwrap_err();
    let ids: Vec<_> = item_errors(&err)
        .iter()
        .filter_map(|e| e.item_id.as_deref())
        .collect();
    assert!(ids.contains(&"home-visits-target"), "{ids:?}");
    assert!(ids.contains(&"team-meetings"), "{ids:?}");
}

#[test]
fn titles_and_prompts_have_khmer() {
    let runner = Runner::new(CareLead::new());
    let checklist = runner.checklist(TEAM_QUARTERLY).unwrap();
    assert_ne!(checklist.title.text("km"), checklist.title.text("en"));
    for item in checklist.items() {
        assert_ne!(
            item.prompt.text("km"),
            item.prompt.text("en"),
            "{}",
            item.id
        );
    }
}
