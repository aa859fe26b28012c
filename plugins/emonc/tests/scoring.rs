// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use emonc::{CORD_PROLAPSE, Emonc, NEWBORN_RESUSCITATION, PPH, SHOULDER_DYSTOCIA};
use mentortrack_plugin_sdk::prelude::*;
use mentortrack_plugin_sdk::testing::{assert_definitions_valid, item_errors};

fn runner() -> Runner<Emonc> {
    Runner::new(Emonc::new())
}

/// Scores `checklist_id` with exactly `done` items answered yes, the rest no.
fn with_done(r: &Runner<Emonc>, checklist_id: &str, done: usize) -> ScoreCard {
    let c = r.checklist(checklist_id).expect("exists");
    let responses = c
        .items()
        .enumerate()
        .fold(ResponseSet::new(), |set, (n, item)| {
            if n < done {
                set.yes(&item.id)
            } else {
                set.no(&item.id)
            }
        })
        .build();
    r.score(checklist_id, &responses, &ScoreContext::default())
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
    assert_definitions_valid(&Emonc::new());
}

#[test]
fn rubrics_have_the_published_item_counts() {
    let r = runner();
    let count = |id: &str| r.checklist(id).expect("exists").items().count();
    assert_eq!(count(SHOULDER_DYSTOCIA), 20);
    assert_eq!(count(CORD_PROLAPSE), 18);
    assert_eq!(count(NEWBORN_RESUSCITATION), 22);
    assert_eq!(count(PPH), 21);
}

/// (rubric, items, pass mark): the pass mark passes, one below fails.
const BOUNDARIES: [(&str, usize, usize); 4] = [
    (SHOULDER_DYSTOCIA, 20, 17),
    (CORD_PROLAPSE, 18, 15),
    (NEWBORN_RESUSCITATION, 22, 19),
    (PPH, 21, 18),
];

#[test]
fn each_rubric_passes_exactly_at_its_rounded_pass_mark() {
    let r = runner();
    for (id, items, mark) in BOUNDARIES {
        let at = with_done(&r, id, mark);
        assert_eq!(at.outcome.code, "pass", "{id} {mark}/{items}");
        let name = metric_name(&["emonc", id, "pass_mark"]);
        assert_eq!(metric(&at, &name), Some(mark as f64), "{id}");

        let below = with_done(&r, id, mark - 1);
        assert_eq!(below.outcome.code, "fail", "{id} {}/{items}", mark - 1);
        assert_eq!(
            metric(&below, &metric_name(&["emonc", id, "pass"])),
            Some(0.0)
        );

        assert_eq!(with_done(&r, id, items).outcome.code, "pass", "{id} all");
        assert_eq!(with_done(&r, id, 0).outcome.code, "fail", "{id} none");
    }
}

#[test]
fn cord_prolapse_passes_below_85_percent() {
    let r = runner();
    let card = with_done(&r, CORD_PROLAPSE, 15);
    assert_eq!(card.outcome.code, "pass");
    let p = card.percentage.expect("percentage");
    assert!((p - 83.333_333).abs() < 1e-4, "{p}");
    assert_eq!(metric(&card, "emonc.cord_prolapse.items_done"), Some(15.0));
    assert_eq!(with_done(&r, CORD_PROLAPSE, 14).outcome.code, "fail");
}

#[test]
fn missed_items_are_fed_back_in_order() {
    let r = runner();
    let card = with_done(&r, SHOULDER_DYSTOCIA, 18);
    let ids: Vec<_> = card.feedback.iter().map(|f| f.item_id.as_str()).collect();
    assert_eq!(ids, ["sd19", "sd20"]);
    let sections: Vec<_> = card
        .sections
        .iter()
        .map(|s| (s.achieved, s.applicable))
        .collect();
    assert_eq!(sections, [(5.0, 5.0), (11.0, 11.0), (2.0, 4.0)]);
}

#[test]
fn rubric_items_accept_only_yes_or_no() {
    let r = runner();
    let c = r.checklist(PPH).expect("exists");
    let responses = ResponseSet::all_best(c).na("ph13").build();
    let err = r
        .score(PPH, &responses, &ScoreContext::default())
        .unwrap_err();
    assert_eq!(item_errors(&err)[0].message, "expected yes or no");
}
