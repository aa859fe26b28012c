//! The host-facing side of a plugin, in plain Rust: what the component's
//! exports call, and what native tests call to exercise a plugin end to end.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::{
    Checklist, Manifest, Plugin, Response, ScoreCard, ScoreContext, ScoreError, log, validate,
};

/// Wraps a [`Plugin`] the way the component exports it: looks the checklist
/// up, validates the responses, scores, and checks the card before it leaves.
///
/// Nothing is built up front. The host scores every observation in a fresh
/// instance of the component, so whatever `score` builds it builds on every
/// call: it builds only the checklist asked for ([`Plugin::checklist`]) and the
/// plugin id ([`Plugin::id`]), never the manifest or the other checklists.
/// Each is kept for later calls on the same `Runner` (a native test, or an
/// instance that serves several calls).
#[derive(Debug)]
pub struct Runner<P> {
    plugin: P,
    /// For [`Runner::manifest`] and [`Runner::checklists`] only.
    manifest: OnceLock<Manifest>,
    checklists: OnceLock<Vec<Checklist>>,
    /// The plugin id as a metric-name prefix ("midwives-x" → "midwives_x.").
    metric_prefix: OnceLock<String>,
    /// The checklists scored so far, each built once by [`Plugin::checklist`].
    /// Shared handles, so that scoring does not hold the lock.
    scored: Mutex<Vec<Arc<Checklist>>>,
}

impl<P: Plugin> Runner<P> {
    pub fn new(plugin: P) -> Self {
        Runner {
            plugin,
            manifest: OnceLock::new(),
            checklists: OnceLock::new(),
            metric_prefix: OnceLock::new(),
            scored: Mutex::new(Vec::new()),
        }
    }

    pub fn plugin(&self) -> &P {
        &self.plugin
    }

    /// The plugin's manifest, built on first use.
    pub fn manifest(&self) -> &Manifest {
        self.manifest.get_or_init(|| self.plugin.manifest())
    }

    /// Every checklist, built on first use.
    pub fn checklists(&self) -> &[Checklist] {
        self.checklists.get_or_init(|| self.plugin.checklists())
    }

    /// A checklist of [`Runner::checklists`] by id.
    pub fn checklist(&self, id: &str) -> Option<&Checklist> {
        self.checklists().iter().find(|c| c.id == id)
    }

    /// Scores one observation, as the host's call to `score` does.
    pub fn score(
        &self,
        checklist_id: &str,
        responses: &[Response],
        context: &ScoreContext,
    ) -> Result<ScoreCard, ScoreError> {
        let checklist = self.scored_checklist(checklist_id)?;
        let checklist = checklist.as_ref();
        let answers = validate(checklist, responses).map_err(ScoreError::InvalidResponses)?;
        let extra = self.plugin.validate(checklist, &answers);
        if !extra.is_empty() {
            return Err(ScoreError::InvalidResponses(extra));
        }
        let card = self.plugin.score(checklist, &answers, context)?;
        if let Err(problem) = self.check_card(checklist, &card) {
            return Err(internal(format!(
                "score card for {checklist_id} is malformed: {problem}"
            )));
        }
        Ok(card)
    }

    /// The checklist to score against, from [`Plugin::checklist`] the first
    /// time it is asked for.
    fn scored_checklist(&self, id: &str) -> Result<Arc<Checklist>, ScoreError> {
        // A poisoned lock means a panic while building a checklist; the list
        // itself is only ever pushed to, so it is still sound.
        let mut scored = self.scored.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = scored.iter().find(|c| c.id == id) {
            return Ok(Arc::clone(found));
        }
        let Some(checklist) = self.plugin.checklist(id) else {
            return Err(ScoreError::UnknownChecklist(id.to_owned()));
        };
        // Scoring against another definition than the one asked for would
        // validate and score the responses wrongly: a plugin bug.
        if checklist.id != id {
            return Err(internal(format!(
                "checklist({id:?}) returned checklist {:?}",
                checklist.id
            )));
        }
        let checklist = Arc::new(checklist);
        scored.push(Arc::clone(&checklist));
        Ok(checklist)
    }

    fn metric_prefix(&self) -> &str {
        self.metric_prefix.get_or_init(|| {
            let mut prefix = crate::metric_name(&[&self.plugin.id()]);
            prefix.push('.');
            prefix
        })
    }

    /// What the contract promises about a score card, checked here so that a
    /// plugin bug shows up as an error in its own tests rather than as odd
    /// figures in a partner's quarterly report.
    fn check_card(&self, checklist: &Checklist, card: &ScoreCard) -> Result<(), String> {
        let prefix = self.metric_prefix();
        check_percentage("overall percentage", card.percentage)?;
        if card.outcome.code.is_empty() || card.outcome.label.default.is_empty() {
            return Err("outcome needs a code and a label".into());
        }
        for s in &card.sections {
            if checklist.find_section(&s.section_id).is_none() {
                return Err(format!("unknown section {:?}", s.section_id));
            }
            check_percentage("section percentage", s.percentage)?;
            let points_ok = |v: f64| v.is_finite() && v >= 0.0;
            if !points_ok(s.achieved) || !points_ok(s.applicable) {
                return Err(format!("section {:?} has invalid points", s.section_id));
            }
        }
        for f in &card.feedback {
            if checklist.item(&f.item_id).is_none() {
                return Err(format!("feedback for unknown item {:?}", f.item_id));
            }
        }
        for m in &card.metrics {
            let well_formed = m.name.starts_with(prefix)
                && m.name.len() > prefix.len()
                && m.name.len() <= 128
                && m.name
                    .bytes()
                    .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.'));
            if !well_formed {
                return Err(format!(
                    "metric name {:?} must be [a-z0-9_.], at most 128 bytes, and start with {:?}",
                    m.name, prefix
                ));
            }
            if !m.value.is_finite() {
                return Err(format!("metric {:?} is not a finite number", m.name));
            }
        }
        Ok(())
    }
}

/// A fault in the plugin, not in the responses: said loudly, in the host's
/// log as well as in the error.
fn internal(message: String) -> ScoreError {
    log::error(&message);
    ScoreError::Internal(message)
}

fn check_percentage(what: &str, percentage: Option<f64>) -> Result<(), String> {
    match percentage {
        Some(p) if !(p.is_finite() && (0.0..=100.0 + crate::rules::EPSILON).contains(&p)) => {
            Err(format!("{what} {p} is not between 0 and 100"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::prelude::*;
    use crate::testing::item_errors;

    struct Toy;

    impl Plugin for Toy {
        fn new() -> Self {
            Toy
        }

        fn manifest(&self) -> Manifest {
            Manifest::new("toy-box", "Toy", "0.1.0", "TOY")
        }

        fn checklists(&self) -> Vec<Checklist> {
            vec![Checklist::new("c", "C").section("s", "S", |s| s.item("a", "A").item("b", "B"))]
        }

        fn score(
            &self,
            _checklist: &Checklist,
            answers: &Answers<'_>,
            context: &ScoreContext,
        ) -> Result<ScoreCard, ScoreError> {
            let card = ScoreCard::new(Outcome::pass());
            // The session type stands in for a plugin bug, to exercise the checks.
            Ok(match context.session_type.as_str() {
                "bad-metric" => card.metric("other.pass", 1.0),
                "nan" => card.metric("toy_box.x", f64::NAN),
                "bad-section" => card.section(SectionScore {
                    section_id: "zz".into(),
                    percentage: None,
                    achieved: 0.0,
                    applicable: 0.0,
                    outcome: None,
                }),
                "bad-percentage" => card.percentage(Some(100.5)),
                "bad-feedback" => card.feedback("zz", Signal::Red, "x"),
                _ => card
                    .metric("toy_box.a", answers.is_positive("a"))
                    .percentage(Some(100.0)),
            })
        }

        fn validate(&self, _checklist: &Checklist, answers: &Answers<'_>) -> Vec<ItemError> {
            if answers.is_positive("b") && !answers.is_positive("a") {
                vec![ItemError {
                    item_id: Some("b".into()),
                    message: "b needs a".into(),
                }]
            } else {
                Vec::new()
            }
        }
    }

    fn context(session_type: &str) -> ScoreContext {
        ScoreContext {
            session_type: session_type.into(),
            ..ScoreContext::default()
        }
    }

    #[test]
    fn scores_valid_responses() {
        let runner = Runner::new(Toy::new());
        let r = ResponseSet::new().yes("a").no("b").build();
        let card = runner.score("c", &r, &context("")).expect("scored");
        assert_eq!(card.metrics[0].name, "toy_box.a");
        assert_eq!(card.metrics[0].value, 1.0);
    }

    #[test]
    fn unknown_checklist() {
        let runner = Runner::new(Toy::new());
        assert_eq!(
            runner.score("nope", &[], &context("")),
            Err(ScoreError::UnknownChecklist("nope".into()))
        );
    }

    #[test]
    fn generic_then_plugin_validation() {
        let runner = Runner::new(Toy::new());
        let err = runner
            .score("c", &ResponseSet::new().yes("a").build(), &context(""))
            .unwrap_err();
        assert_eq!(item_errors(&err)[0].message, "required item not answered");
        let r = ResponseSet::new().no("a").yes("b").build();
        let err = runner.score("c", &r, &context("")).unwrap_err();
        assert_eq!(item_errors(&err)[0].message, "b needs a");
    }

    #[test]
    fn malformed_cards_become_internal_errors() {
        let runner = Runner::new(Toy::new());
        let r = ResponseSet::new().yes("a").no("b").build();
        for bug in [
            "bad-metric",
            "nan",
            "bad-section",
            "bad-percentage",
            "bad-feedback",
        ] {
            match runner.score("c", &r, &context(bug)) {
                Err(ScoreError::Internal(_)) => {}
                other => panic!("{bug}: {other:?}"),
            }
        }
    }

    /// Counts what `score` builds, and can return a wrong checklist.
    #[derive(Default)]
    struct Counting {
        manifests: AtomicUsize,
        all_checklists: AtomicUsize,
        one_checklist: AtomicUsize,
    }

    impl Plugin for Counting {
        fn new() -> Self {
            Counting::default()
        }

        fn manifest(&self) -> Manifest {
            self.manifests.fetch_add(1, Ordering::Relaxed);
            Toy.manifest()
        }

        fn checklists(&self) -> Vec<Checklist> {
            self.all_checklists.fetch_add(1, Ordering::Relaxed);
            Toy.checklists()
        }

        fn checklist(&self, id: &str) -> Option<Checklist> {
            self.one_checklist.fetch_add(1, Ordering::Relaxed);
            match id {
                "c" => Toy.checklists().pop(),
                "wrong" => Some(Checklist::new("c", "C")),
                _ => None,
            }
        }

        fn id(&self) -> String {
            "toy-box".into()
        }

        fn score(
            &self,
            checklist: &Checklist,
            answers: &Answers<'_>,
            context: &ScoreContext,
        ) -> Result<ScoreCard, ScoreError> {
            Toy.score(checklist, answers, context)
        }
    }

    #[test]
    fn score_builds_only_the_checklist_asked_for_and_only_once() {
        let runner = Runner::new(Counting::new());
        let r = ResponseSet::new().yes("a").no("b").build();
        for _ in 0..3 {
            assert!(runner.score("c", &r, &context("")).is_ok());
        }
        let p = runner.plugin();
        assert_eq!(p.one_checklist.load(Ordering::Relaxed), 1);
        assert_eq!(p.manifests.load(Ordering::Relaxed), 0);
        assert_eq!(p.all_checklists.load(Ordering::Relaxed), 0);
        // The accessors build the rest on demand, once.
        assert_eq!(runner.checklists().len(), 1);
        assert_eq!(runner.manifest().id, "toy-box");
        assert_eq!(runner.checklists().len(), 1);
        assert_eq!(p.all_checklists.load(Ordering::Relaxed), 1);
        assert_eq!(p.manifests.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn the_default_shortcuts_fall_back_to_the_full_definitions() {
        let toy = Toy::new();
        assert_eq!(toy.id(), "toy-box");
        assert_eq!(toy.checklist("c"), toy.checklists().pop());
        assert_eq!(toy.checklist("nope"), None);
    }

    #[test]
    fn a_lookup_that_returns_another_checklist_is_a_plugin_bug() {
        let runner = Runner::new(Counting::new());
        match runner.score("wrong", &[], &context("")) {
            Err(ScoreError::Internal(m)) => assert!(m.contains("\"wrong\""), "{m}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            runner.score("nope", &[], &context("")),
            Err(ScoreError::UnknownChecklist("nope".into()))
        );
    }
}
