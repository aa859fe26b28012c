//! The host-facing side of a plugin, in plain Rust: what the component's
//! exports call, and what native tests call to exercise a plugin end to end.

use crate::{
    Checklist, Manifest, Plugin, Response, ScoreCard, ScoreContext, ScoreError, log, validate,
};

/// Wraps a [`Plugin`] the way the component exports it: looks the checklist
/// up, validates the responses, scores, and checks the card before it leaves.
#[derive(Debug)]
pub struct Runner<P> {
    plugin: P,
    manifest: Manifest,
    checklists: Vec<Checklist>,
    /// `manifest.id` as a metric-name prefix ("midwives-x" → "midwives_x.").
    metric_prefix: String,
}

impl<P: Plugin> Runner<P> {
    pub fn new(plugin: P) -> Self {
        let manifest = plugin.manifest();
        let checklists = plugin.checklists();
        let metric_prefix = format!("{}.", crate::metric_name(&[&manifest.id]));
        Runner {
            plugin,
            manifest,
            checklists,
            metric_prefix,
        }
    }

    pub fn plugin(&self) -> &P {
        &self.plugin
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn checklists(&self) -> &[Checklist] {
        &self.checklists
    }

    pub fn checklist(&self, id: &str) -> Option<&Checklist> {
        self.checklists.iter().find(|c| c.id == id)
    }

    /// Scores one observation, as the host's call to `score` does.
    pub fn score(
        &self,
        checklist_id: &str,
        responses: &[Response],
        context: &ScoreContext,
    ) -> Result<ScoreCard, ScoreError> {
        let Some(checklist) = self.checklist(checklist_id) else {
            return Err(ScoreError::UnknownChecklist(checklist_id.to_owned()));
        };
        let answers = validate(checklist, responses).map_err(ScoreError::InvalidResponses)?;
        let extra = self.plugin.validate(checklist, &answers);
        if !extra.is_empty() {
            return Err(ScoreError::InvalidResponses(extra));
        }
        let card = self.plugin.score(checklist, &answers, context)?;
        if let Err(problem) = self.check_card(checklist, &card) {
            // A fault in the plugin, not in the responses: say so loudly.
            let message = format!("score card for {checklist_id} is malformed: {problem}");
            log::error(&message);
            return Err(ScoreError::Internal(message));
        }
        Ok(card)
    }

    /// What the contract promises about a score card, checked here so that a
    /// plugin bug shows up as an error in its own tests rather than as odd
    /// figures in a partner's quarterly report.
    fn check_card(&self, checklist: &Checklist, card: &ScoreCard) -> Result<(), String> {
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
            let well_formed = m.name.starts_with(&self.metric_prefix)
                && m.name.len() > self.metric_prefix.len()
                && m.name.len() <= 128
                && m.name
                    .bytes()
                    .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.'));
            if !well_formed {
                return Err(format!(
                    "metric name {:?} must be [a-z0-9_.], at most 128 bytes, and start with {:?}",
                    m.name, self.metric_prefix
                ));
            }
            if !m.value.is_finite() {
                return Err(format!("metric {:?} is not a finite number", m.name));
            }
        }
        Ok(())
    }
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
}
