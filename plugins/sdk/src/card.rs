//! Building score cards: outcomes, section scores, feedback and metrics.
//!
//! The SDK's own labels and messages come in English and French; a plugin that
//! needs other wording or languages builds its own with [`Outcome::new`] and
//! [`Localized`].

use crate::{
    Answer, Answers, Importance, Item, ItemFeedback, Localized, Metric, Outcome, ScoreCard,
    SectionScore, Signal,
};

impl Outcome {
    pub fn new(code: impl Into<String>, label: impl Into<Localized>, level: Signal) -> Self {
        Outcome {
            code: code.into(),
            label: label.into().into(),
            level,
        }
    }

    pub fn pass() -> Self {
        Outcome::new("pass", Localized::new("Pass").fr("Réussite"), Signal::Green)
    }

    pub fn fail() -> Self {
        Outcome::new("fail", Localized::new("Fail").fr("Échec"), Signal::Red)
    }

    pub fn pass_fail(passed: bool) -> Self {
        if passed {
            Outcome::pass()
        } else {
            Outcome::fail()
        }
    }

    pub fn competent() -> Self {
        Outcome::new(
            "competent",
            Localized::new("Competent").fr("Compétent"),
            Signal::Green,
        )
    }

    pub fn needs_improvement() -> Self {
        Outcome::new(
            "needs-improvement",
            Localized::new("Competent but needs improvement")
                .fr("Compétent, mais doit s'améliorer"),
            Signal::Amber,
        )
    }

    pub fn not_competent() -> Self {
        Outcome::new(
            "not-competent",
            Localized::new("Not competent").fr("Non compétent"),
            Signal::Red,
        )
    }

    pub fn recognised() -> Self {
        Outcome::new(
            "recognised",
            Localized::new("Recognised").fr("Reconnu"),
            Signal::Green,
        )
    }

    pub fn not_recognised() -> Self {
        Outcome::new(
            "not-recognised",
            Localized::new("Not yet recognised").fr("Pas encore reconnu"),
            Signal::Red,
        )
    }

    /// Nothing applicable to score.
    pub fn not_scored() -> Self {
        Outcome::new(
            "not-scored",
            Localized::new("Not scored").fr("Non évalué"),
            Signal::Neutral,
        )
    }
}

impl SectionScore {
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = Some(outcome);
        self
    }
}

/// A metric value: numbers as they are, `true`/`false` as 1/0 so that a sum is
/// a count and a mean is a rate.
pub trait MetricValue {
    fn to_metric(self) -> f64;
}

impl MetricValue for f64 {
    fn to_metric(self) -> f64 {
        self
    }
}

impl MetricValue for bool {
    fn to_metric(self) -> f64 {
        if self { 1.0 } else { 0.0 }
    }
}

impl MetricValue for u32 {
    fn to_metric(self) -> f64 {
        f64::from(self)
    }
}

impl MetricValue for i64 {
    fn to_metric(self) -> f64 {
        self as f64
    }
}

impl MetricValue for usize {
    fn to_metric(self) -> f64 {
        self as f64
    }
}

/// Joins parts into a metric name, turning anything outside `[a-z0-9_]`
/// within a part into `_`: `metric_name(&["hbb", "osce-b", "pass"])` is
/// `"hbb.osce_b.pass"`.
pub fn metric_name(parts: &[&str]) -> String {
    // Written into one string sized up front: scoring names several metrics on every call,
    // and the output has at most one byte per input byte (one ASCII character per char).
    let mut name = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (n, part) in parts.iter().enumerate() {
        if n > 0 {
            name.push('.');
        }
        name.extend(part.chars().map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '_') => c,
            _ => '_',
        }));
    }
    name
}

impl ScoreCard {
    /// A card with this outcome and nothing else yet.
    pub fn new(outcome: Outcome) -> Self {
        ScoreCard {
            percentage: None,
            outcome,
            sections: Vec::new(),
            feedback: Vec::new(),
            metrics: Vec::new(),
        }
    }

    pub fn percentage(mut self, percentage: Option<f64>) -> Self {
        self.percentage = percentage;
        self
    }

    pub fn section(mut self, section: SectionScore) -> Self {
        self.sections.push(section);
        self
    }

    pub fn feedback(
        mut self,
        item_id: impl Into<String>,
        level: Signal,
        message: impl Into<Localized>,
    ) -> Self {
        self.feedback.push(ItemFeedback {
            item_id: item_id.into(),
            level,
            message: message.into().into(),
        });
        self
    }

    /// Standard feedback for items that missed credit (a tally's `missed`):
    /// red for critical and key items, amber for the rest. Items that already
    /// have feedback are skipped, so overlapping tallies can be passed in turn.
    pub fn feedback_for_missed(mut self, answers: &Answers<'_>, missed: &[&Item]) -> Self {
        for item in missed {
            if self.feedback.iter().any(|f| f.item_id == item.id) {
                continue;
            }
            let answer = answers.get(&item.id);
            let (level, message) = match (item.importance, answer) {
                // A missed item answered yes is phrased the wrong way round.
                (_, Some(Answer::Yes | Answer::Done)) => {
                    (Signal::Red, feedback::practice_to_avoid())
                }
                (Importance::Critical, _) => (Signal::Red, feedback::critical_missed()),
                (Importance::Key, _) => (Signal::Red, feedback::key_step_missed()),
                (Importance::Normal, Some(Answer::Partly)) => {
                    (Signal::Amber, feedback::partly_done())
                }
                (Importance::Normal, _) => (Signal::Amber, feedback::not_done()),
            };
            self = self.feedback(item.id.clone(), level, message);
        }
        self
    }

    /// Adds a metric; see [`metric_name`] for building the name.
    pub fn metric(mut self, name: impl Into<String>, value: impl MetricValue) -> Self {
        self.metrics.push(Metric {
            name: name.into(),
            value: value.to_metric(),
        });
        self
    }
}

/// Standard feedback messages. The host shows each next to the item's prompt,
/// so they say what is wrong, not which item.
pub mod feedback {
    use crate::Localized;

    pub fn key_step_missed() -> Localized {
        Localized::new("Key step not done: it is required to pass.")
            .fr("Étape clé non réalisée : elle est obligatoire pour réussir.")
    }

    pub fn critical_missed() -> Localized {
        Localized::new("Critical item not done: any critical item missed means not competent.")
            .fr("Élément critique non réalisé : un seul élément critique manqué signifie « non compétent ».")
    }

    pub fn not_done() -> Localized {
        Localized::new("Not done.").fr("Non réalisé.")
    }

    pub fn partly_done() -> Localized {
        Localized::new("Only partly done.").fr("Réalisé seulement en partie.")
    }

    pub fn practice_to_avoid() -> Localized {
        Localized::new("A practice to avoid was observed.")
            .fr("Une pratique à éviter a été observée.")
    }

    pub fn criterion_not_met() -> Localized {
        Localized::new("Criterion not met, so its standard is not achieved.")
            .fr("Critère non satisfait : la norme n'est donc pas atteinte.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Checklist, Coding, ItemSink, ResponseSet, rules::select, validate};

    #[test]
    fn metric_names_are_normalised() {
        assert_eq!(metric_name(&["hbb", "osce-b", "pass"]), "hbb.osce_b.pass");
        assert_eq!(metric_name(&["Qi", "SBM R", "%"]), "qi.sbm_r._");
        // One `_` per character, not per byte; an empty part stays empty.
        assert_eq!(metric_name(&["é", "", "x"]), "_..x");
        assert_eq!(metric_name(&[]), "");
    }

    #[test]
    fn flags_become_ones_and_zeros() {
        let card = ScoreCard::new(Outcome::pass())
            .metric("x.a", true)
            .metric("x.b", false)
            .metric("x.c", 17u32);
        let values: Vec<_> = card.metrics.iter().map(|m| m.value).collect();
        assert_eq!(values, [1.0, 0.0, 17.0]);
    }

    #[test]
    fn feedback_for_missed_items_grades_by_importance_once_per_item() {
        let c = Checklist::new("c", "C").section("s", "S", |s| {
            s.key_item("k", "K")
                .critical_item("c", "C")
                .push(Item::done_partly("p", "P"))
                .item("n", "N")
                .item("rev", "Separated baby from mother")
        });
        let r = ResponseSet::new()
            .no("k")
            .no("c")
            .partly("p")
            .no("n")
            .yes("rev")
            .build();
        let a = validate(&c, &r).expect("valid");
        let coding = |i: &Item| {
            if i.id == "rev" {
                Coding::Reversed
            } else {
                Coding::Binary
            }
        };
        let all = a.tally(select::all, coding);
        let key = a.tally(select::key, coding);
        let card = ScoreCard::new(Outcome::fail())
            .feedback_for_missed(&a, &key.missed)
            .feedback_for_missed(&a, &all.missed);
        let got: Vec<_> = card
            .feedback
            .iter()
            .map(|f| (f.item_id.as_str(), f.level, f.message.default.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "k",
                    Signal::Red,
                    feedback::key_step_missed().default.as_str()
                ),
                (
                    "c",
                    Signal::Red,
                    feedback::critical_missed().default.as_str()
                ),
                ("p", Signal::Amber, feedback::partly_done().default.as_str()),
                ("n", Signal::Amber, feedback::not_done().default.as_str()),
                (
                    "rev",
                    Signal::Red,
                    feedback::practice_to_avoid().default.as_str()
                ),
            ]
        );
    }
}
