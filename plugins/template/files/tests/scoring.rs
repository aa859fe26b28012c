use mentortrack_plugin_sdk::prelude::*;
use mentortrack_plugin_sdk::testing::{assert_definitions_valid, item_errors};

use {{crate_name}}::{ID, PartnerPlugin};

fn score(responses: &[Response]) -> Result<ScoreCard, ScoreError> {
    Runner::new(PartnerPlugin::new()).score("hand-hygiene", responses, &ScoreContext::default())
}

fn all_best() -> ResponseSet {
    ResponseSet::all_best(&PartnerPlugin::new().checklists()[0])
}

#[test]
fn definitions_are_valid() {
    assert_definitions_valid(&PartnerPlugin::new());
}

#[test]
fn not_applicable_leaves_the_denominator_and_partly_earns_half() {
    let responses = all_best()
        .na("after-fluids")
        .na("after-surroundings")
        .partly("rub")
        .build();
    let card = score(&responses).unwrap();
    assert_eq!(card.percentage, Some(87.5)); // 3.5 of 4 applicable
    assert_eq!(card.outcome.code, "pass");
    assert_eq!(card.feedback[0].item_id, "rub");
    // The plugin id with `_` for `-`, then the checklist: "{{crate_name}}.hand_hygiene.pass"
    let pass_metric = format!("{}.hand_hygiene.pass", ID.replace('-', "_"));
    assert_eq!(card.metrics[0].name, pass_metric);
    assert_eq!(card.metrics[0].value, 1.0);
}

#[test]
fn a_missed_key_moment_fails_above_the_pass_mark() {
    let card = score(&all_best().no("before-patient").build()).unwrap();
    assert_eq!(card.percentage.map(f64::round), Some(83.0)); // 5 of 6
    assert_eq!(card.outcome.code, "fail");
    assert_eq!(card.feedback[0].level, Signal::Red);
}

#[test]
fn unanswered_moments_are_errors_not_scores() {
    let err = score(&ResponseSet::new().yes("before-patient").build()).unwrap_err();
    assert_eq!(item_errors(&err).len(), 5);
}
