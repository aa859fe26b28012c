//! Helpers for a plugin's native tests.

use crate::{
    Answer, Checklist, ItemError, Plugin, Response, ResponseKind, ScoreContext, ScoreError, lint,
};

impl Default for ScoreContext {
    /// Nothing known about the session, English reader, a fixed date.
    fn default() -> Self {
        ScoreContext {
            session_type: String::new(),
            mentee_cadre: String::new(),
            date: "2026-01-15".to_owned(),
            language: "en".to_owned(),
        }
    }
}

/// Builds a list of responses; answering an item again replaces its answer.
///
/// ```
/// # use mentortrack_plugin_sdk::ResponseSet;
/// let responses = ResponseSet::new().yes("dry").no("rub").build();
/// assert_eq!(responses.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponseSet {
    responses: Vec<Response>,
}

impl ResponseSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// The best answer to every item: yes, done, the top score, the first
    /// choice, the lowest allowed number. Optional text is left out. Start
    /// from here and spoil what the test is about.
    pub fn all_best(checklist: &Checklist) -> Self {
        let mut set = Self::new();
        for item in checklist.items() {
            let answer = match &item.kind {
                ResponseKind::YesNo | ResponseKind::YesNoNa => Answer::Yes,
                ResponseKind::DonePartlyNotDone => Answer::Done,
                ResponseKind::IntegerScore(r) => Answer::Integer(r.max),
                ResponseKind::Number(r) => Answer::Number(r.min.unwrap_or(0.0)),
                ResponseKind::SingleChoice(options) => match options.first() {
                    Some(option) => Answer::Choice(option.value.to_string()),
                    None => continue,
                },
                ResponseKind::MultipleChoice(_) => Answer::Choices(Vec::new()),
                ResponseKind::Text(_) if !item.required => continue,
                ResponseKind::Text(_) => Answer::Text(String::new()),
            };
            set = set.answer(&item.id, answer);
        }
        set
    }

    /// Sets `item_id`'s answer, replacing any earlier one.
    pub fn answer(mut self, item_id: &str, answer: Answer) -> Self {
        match self.responses.iter_mut().find(|r| r.item_id == item_id) {
            Some(existing) => existing.answer = answer,
            None => self.responses.push(Response {
                item_id: item_id.to_owned(),
                answer,
            }),
        }
        self
    }

    /// Answers each of `item_ids` with `answer`.
    pub fn answer_all(self, item_ids: &[&str], answer: Answer) -> Self {
        item_ids
            .iter()
            .fold(self, |set, id| set.answer(id, answer.clone()))
    }

    /// Leaves `item_id` unanswered.
    pub fn without(mut self, item_id: &str) -> Self {
        self.responses.retain(|r| r.item_id != item_id);
        self
    }

    pub fn yes(self, item_id: &str) -> Self {
        self.answer(item_id, Answer::Yes)
    }

    pub fn no(self, item_id: &str) -> Self {
        self.answer(item_id, Answer::No)
    }

    pub fn na(self, item_id: &str) -> Self {
        self.answer(item_id, Answer::NotApplicable)
    }

    pub fn done(self, item_id: &str) -> Self {
        self.answer(item_id, Answer::Done)
    }

    pub fn partly(self, item_id: &str) -> Self {
        self.answer(item_id, Answer::Partly)
    }

    pub fn not_done(self, item_id: &str) -> Self {
        self.answer(item_id, Answer::NotDone)
    }

    pub fn integer(self, item_id: &str, value: i64) -> Self {
        self.answer(item_id, Answer::Integer(value))
    }

    pub fn number(self, item_id: &str, value: f64) -> Self {
        self.answer(item_id, Answer::Number(value))
    }

    pub fn choice(self, item_id: &str, value: &str) -> Self {
        self.answer(item_id, Answer::Choice(value.to_owned()))
    }

    pub fn choices(self, item_id: &str, values: &[&str]) -> Self {
        let values = values.iter().map(|v| (*v).to_owned()).collect();
        self.answer(item_id, Answer::Choices(values))
    }

    pub fn text(self, item_id: &str, text: &str) -> Self {
        self.answer(item_id, Answer::Text(text.to_owned()))
    }

    pub fn build(self) -> Vec<Response> {
        self.responses
    }
}

/// The item-level errors of an `invalid-responses` error; empty otherwise.
pub fn item_errors(error: &ScoreError) -> &[ItemError] {
    match error {
        ScoreError::InvalidResponses(errors) => errors,
        _ => &[],
    }
}

/// Fails the test with every problem [`lint::lint`] finds in the plugin's
/// manifest and checklists. Every plugin should have a test calling this.
#[allow(clippy::panic)] // a test assertion: panicking is how it reports
pub fn assert_definitions_valid<P: Plugin>(plugin: &P) {
    let problems = lint::lint(plugin);
    if !problems.is_empty() {
        panic!(
            "plugin definitions have problems:\n  {}",
            problems.join("\n  ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Item, ItemSink};

    #[test]
    fn all_best_answers_every_kind() {
        let c = Checklist::new("c", "C").section("s", "S", |s| {
            s.item("a", "A")
                .push(Item::done_partly("b", "B"))
                .push(Item::score("c", "C", 1, 3))
                .push(Item::number("d", "D", Some(5.0), None))
                .push(Item::single_choice("e", "E", [("x", "X")]))
                .push(Item::text("f", "F", 10))
        });
        let got = ResponseSet::all_best(&c).no("a").without("e").build();
        let answers: Vec<_> = got
            .iter()
            .map(|r| (r.item_id.as_str(), r.answer.clone()))
            .collect();
        assert_eq!(
            answers,
            [
                ("a", Answer::No),
                ("b", Answer::Done),
                ("c", Answer::Integer(3)),
                ("d", Answer::Number(5.0)),
            ]
        );
    }
}
