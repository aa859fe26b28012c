use hostile_bad_checklist::BadChecklist;
use hostile_common::{CHECKLIST_ID, Hostile, ITEM_ID};
use mentortrack_plugin_sdk::lint::lint;
use mentortrack_plugin_sdk::prelude::*;

#[test]
fn lint_reports_both_problems() {
    let problems = lint(&Hostile::<BadChecklist>::new());
    assert!(
        problems
            .iter()
            .any(|p| p.ends_with("item hands: id is used twice")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.ends_with("item technique: integer range needs min below max")),
        "{problems:?}"
    );
}

/// What the component exports goes through `Runner`; if the SDK ever started
/// refusing bad definitions there, this plugin would no longer reach the host's
/// upload validation and would need raw wit-bindgen bindings instead.
#[test]
fn the_sdk_runner_serves_the_bad_checklist_unchanged() {
    let runner = Runner::new(Hostile::<BadChecklist>::new());
    let checklist = runner.checklist(CHECKLIST_ID).unwrap();
    let ids: Vec<_> = checklist.items().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, [ITEM_ID, ITEM_ID, "technique"]);
    assert!(
        runner
            .score(CHECKLIST_ID, &[], &ScoreContext::default())
            .is_ok()
    );
}
