//! Validation of responses against a checklist, and the validated view that
//! plugins score.

use std::collections::BTreeMap;

use crate::{Answer, Checklist, Item, ItemError, NumberRange, Response, ResponseKind, Section};

/// Responses that passed [`validate`]: at most one answer per item, each of a
/// kind the item accepts and within its range, and every required item answered.
#[derive(Debug, Clone)]
pub struct Answers<'a> {
    checklist: &'a Checklist,
    /// Each item by id, with its position in checklist order (the last, should
    /// an id repeat).
    index: BTreeMap<&'a str, (usize, &'a Item)>,
    /// The answer to each item, in checklist order; `None` when left unanswered.
    /// Tallies walk this beside the items instead of looking every item up.
    answers: Vec<Option<&'a Answer>>,
}

impl<'a> Answers<'a> {
    pub fn checklist(&self) -> &'a Checklist {
        self.checklist
    }

    /// The answer to `item_id`, or `None` if it was left unanswered.
    pub fn get(&self, item_id: &str) -> Option<&'a Answer> {
        let &(position, _) = self.index.get(item_id)?;
        self.answers.get(position).copied().flatten()
    }

    /// True when the answer is `yes` or `done`.
    pub fn is_positive(&self, item_id: &str) -> bool {
        matches!(self.get(item_id), Some(Answer::Yes | Answer::Done))
    }

    /// The numeric answer to a number or integer-score item.
    pub fn number(&self, item_id: &str) -> Option<f64> {
        match self.get(item_id)? {
            Answer::Number(n) => Some(*n),
            // Integers within any plausible checklist range convert exactly.
            Answer::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The chosen value of a single-choice item.
    pub fn choice(&self, item_id: &str) -> Option<&'a str> {
        match self.get(item_id)? {
            Answer::Choice(value) => Some(value.as_str()),
            _ => None,
        }
    }

    /// Every item with its section and answer, in display order.
    pub fn items(&self) -> impl Iterator<Item = (&'a Section, &'a Item, Option<&'a Answer>)> + '_ {
        self.checklist
            .sections
            .iter()
            .flat_map(|s| s.items.iter().map(move |i| (s, i)))
            .zip(self.answers.iter().copied())
            .map(|((s, i), answer)| (s, i, answer))
    }
}

/// Checks `responses` against `checklist` and returns the validated view, or
/// every problem found (not only the first, so the mentor can fix them all).
pub fn validate<'a>(
    checklist: &'a Checklist,
    responses: &'a [Response],
) -> Result<Answers<'a>, Vec<ItemError>> {
    let mut index: BTreeMap<&str, (usize, &Item)> = BTreeMap::new();
    let mut count = 0;
    let mut repeated_ids = false;
    for (position, item) in checklist.items().enumerate() {
        // A repeated id (a broken checklist, refused at upload) takes its last
        // item's kind, and every copy gets its answer: as a lookup by id would.
        repeated_ids |= index.insert(item.id.as_str(), (position, item)).is_some();
        count = position + 1;
    }
    let mut answers: Vec<Option<&Answer>> = vec![None; count];
    let mut errors = Vec::new();

    for response in responses {
        let id = response.item_id.as_str();
        // A known id's position comes from enumerating the items: always a slot.
        let known = index
            .get(id)
            .and_then(|&(position, item)| Some((item, answers.get_mut(position)?)));
        let Some((item, slot)) = known else {
            errors.push(error(id, "unknown item"));
            continue;
        };
        if slot.is_some() {
            errors.push(error(id, "answered more than once"));
            continue;
        }
        *slot = Some(&response.answer);
        if let Err(message) = check_answer(&item.kind, &response.answer) {
            errors.push(error(id, &message));
        }
    }

    if repeated_ids {
        for (position, item) in checklist.items().enumerate() {
            let last = index
                .get(item.id.as_str())
                .map_or(position, |&(last, _)| last);
            let answer = answers.get(last).copied().flatten();
            if let Some(slot) = answers.get_mut(position) {
                *slot = answer;
            }
        }
    }

    for (item, answer) in checklist.items().zip(&answers) {
        if item.required && answer.is_none() {
            errors.push(error(&item.id, "required item not answered"));
        }
    }

    if errors.is_empty() {
        Ok(Answers {
            checklist,
            index,
            answers,
        })
    } else {
        Err(errors)
    }
}

fn error(item_id: &str, message: &str) -> ItemError {
    ItemError {
        item_id: Some(quote_limited(item_id, 200)),
        message: message.to_owned(),
    }
}

fn check_answer(kind: &ResponseKind, answer: &Answer) -> Result<(), String> {
    use Answer as A;
    match (kind, answer) {
        (ResponseKind::YesNo, A::Yes | A::No) => Ok(()),
        (ResponseKind::YesNo, _) => Err("expected yes or no".into()),
        (ResponseKind::YesNoNa, A::Yes | A::No | A::NotApplicable) => Ok(()),
        (ResponseKind::YesNoNa, _) => Err("expected yes, no or not applicable".into()),
        (ResponseKind::DonePartlyNotDone, A::Done | A::Partly | A::NotDone) => Ok(()),
        (ResponseKind::DonePartlyNotDone, _) => Err("expected done, partly or not done".into()),
        (ResponseKind::IntegerScore(r), A::Integer(v)) => {
            if (r.min..=r.max).contains(v) {
                Ok(())
            } else {
                Err(format!("{v} is outside the range {} to {}", r.min, r.max))
            }
        }
        (ResponseKind::IntegerScore(r), _) => Err(format!(
            "expected a whole number from {} to {}",
            r.min, r.max
        )),
        (ResponseKind::Number(r), A::Number(v)) => check_number(r, *v),
        (ResponseKind::Number(r), A::Integer(v)) => check_number(r, *v as f64),
        (ResponseKind::Number(_), _) => Err("expected a number".into()),
        (ResponseKind::SingleChoice(options), A::Choice(value)) => {
            if options.iter().any(|o| &o.value == value) {
                Ok(())
            } else {
                Err(format!("unknown choice {}", quote_limited(value, 60)))
            }
        }
        (ResponseKind::SingleChoice(_), _) => Err("expected one choice".into()),
        (ResponseKind::MultipleChoice(options), A::Choices(values)) => {
            for (n, value) in values.iter().enumerate() {
                if !options.iter().any(|o| &o.value == value) {
                    return Err(format!("unknown choice {}", quote_limited(value, 60)));
                }
                if values[..n].contains(value) {
                    return Err(format!("choice {} given twice", quote_limited(value, 60)));
                }
            }
            Ok(())
        }
        (ResponseKind::MultipleChoice(_), _) => Err("expected a list of choices".into()),
        (ResponseKind::Text(max), A::Text(text)) => {
            let chars = text.chars().count();
            if chars > *max as usize {
                Err(format!(
                    "text is {chars} characters long; the limit is {max}"
                ))
            } else {
                Ok(())
            }
        }
        (ResponseKind::Text(_), _) => Err("expected text".into()),
    }
}

fn check_number(range: &NumberRange, v: f64) -> Result<(), String> {
    if !v.is_finite() {
        return Err("number must be finite".into());
    }
    let below = range.min.is_some_and(|min| v < min);
    let above = range.max.is_some_and(|max| v > max);
    if below || above {
        Err(format!(
            "{v} is outside the range {}",
            describe_range(range.min, range.max)
        ))
    } else {
        Ok(())
    }
}

fn describe_range(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!("{min} to {max}"),
        (Some(min), None) => format!("{min} or more"),
        (None, Some(max)) => format!("{max} or less"),
        (None, None) => "of all numbers".to_owned(),
    }
}

/// Caller-supplied text echoed back in an error, cut short so that a huge
/// value cannot blow up the error list.
fn quote_limited(value: &str, max_chars: usize) -> String {
    if value.chars().count() <= max_chars {
        value.to_owned()
    } else {
        let cut: String = value.chars().take(max_chars).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ItemSink, ResponseSet};

    fn checklist() -> Checklist {
        Checklist::new("c", "C").section("s", "S", |s| {
            s.item("yn", "Yes/no")
                .push(Item::yes_no_na("na", "Yes/no/na"))
                .push(Item::done_partly("dp", "Done/partly"))
                .push(Item::score("sc", "Score", 0, 2))
                .push(Item::number("num", "Blood loss (ml)", Some(0.0), Some(5000.0)).optional())
                .push(
                    Item::single_choice(
                        "one",
                        "Setting",
                        [("real", "Real"), ("sim", "Simulation")],
                    )
                    .optional(),
                )
                .push(
                    Item::multiple_choice(
                        "many",
                        "Drugs",
                        [("oxy", "Oxytocin"), ("miso", "Misoprostol")],
                    )
                    .optional(),
                )
                .push(Item::text("note", "Notes", 5))
        })
    }

    fn valid() -> ResponseSet {
        ResponseSet::new()
            .yes("yn")
            .na("na")
            .partly("dp")
            .integer("sc", 2)
    }

    fn messages(r: Result<Answers<'_>, Vec<ItemError>>) -> Vec<(Option<String>, String)> {
        match r {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| (e.item_id, e.message)).collect(),
        }
    }

    fn one_error(set: ResponseSet) -> (String, String) {
        let c = checklist();
        let responses = set.build();
        let errors = messages(validate(&c, &responses));
        assert_eq!(errors.len(), 1, "{errors:?}");
        let (id, message) = errors.into_iter().next().expect("one error");
        (id.unwrap_or_default(), message)
    }

    #[test]
    fn accepts_a_complete_valid_set() {
        let c = checklist();
        let responses = valid()
            .number("num", 350.0)
            .choice("one", "sim")
            .choices("many", &["oxy", "miso"])
            .text("note", "héllo")
            .build();
        let answers = validate(&c, &responses).expect("valid");
        assert!(answers.is_positive("yn"));
        assert_eq!(answers.number("num"), Some(350.0));
        assert_eq!(answers.number("sc"), Some(2.0));
        assert_eq!(answers.choice("one"), Some("sim"));
        assert_eq!(answers.get("note"), Some(&Answer::Text("héllo".into())));
    }

    #[test]
    fn optional_items_may_be_left_out() {
        let c = checklist();
        let responses = valid().build();
        assert!(validate(&c, &responses).is_ok());
    }

    #[test]
    fn reports_every_missing_required_item() {
        let c = checklist();
        let responses = ResponseSet::new().yes("yn").build();
        let errors = messages(validate(&c, &responses));
        let ids: Vec<_> = errors.iter().filter_map(|(id, _)| id.as_deref()).collect();
        assert_eq!(ids, ["na", "dp", "sc"]);
        assert!(
            errors
                .iter()
                .all(|(_, m)| m == "required item not answered")
        );
    }

    #[test]
    fn rejects_unknown_items_and_duplicates() {
        assert_eq!(
            one_error(valid().yes("nope")),
            ("nope".into(), "unknown item".into())
        );
        let c = checklist();
        let mut responses = valid().build();
        responses.push(Response {
            item_id: "yn".into(),
            answer: Answer::No,
        });
        assert_eq!(
            messages(validate(&c, &responses)),
            [(Some("yn".into()), "answered more than once".into())]
        );
    }

    #[test]
    fn rejects_answers_of_the_wrong_kind() {
        assert_eq!(one_error(valid().na("yn")).1, "expected yes or no");
        assert_eq!(
            one_error(valid().done("na")).1,
            "expected yes, no or not applicable"
        );
        assert_eq!(
            one_error(valid().yes("dp")).1,
            "expected done, partly or not done"
        );
        assert_eq!(
            one_error(valid().number("sc", 1.0)).1,
            "expected a whole number from 0 to 2"
        );
        assert_eq!(one_error(valid().yes("num")).1, "expected a number");
        assert_eq!(
            one_error(valid().choices("one", &["sim"])).1,
            "expected one choice"
        );
        assert_eq!(
            one_error(valid().choice("many", "oxy")).1,
            "expected a list of choices"
        );
        assert_eq!(one_error(valid().integer("note", 3)).1, "expected text");
    }

    #[test]
    fn rejects_values_out_of_range() {
        assert_eq!(
            one_error(valid().integer("sc", 3)).1,
            "3 is outside the range 0 to 2"
        );
        assert_eq!(
            one_error(valid().integer("sc", -1)).1,
            "-1 is outside the range 0 to 2"
        );
        assert_eq!(
            one_error(valid().number("num", 5000.5)).1,
            "5000.5 is outside the range 0 to 5000"
        );
        assert_eq!(
            one_error(valid().number("num", f64::NAN)).1,
            "number must be finite"
        );
        assert_eq!(
            one_error(valid().number("num", f64::INFINITY)).1,
            "number must be finite"
        );
        assert_eq!(
            one_error(valid().text("note", "ééééé!")).1,
            "text is 6 characters long; the limit is 5"
        );
    }

    #[test]
    fn accepts_whole_numbers_for_number_items() {
        let c = checklist();
        let responses = valid().integer("num", 400).build();
        let answers = validate(&c, &responses).expect("valid");
        assert_eq!(answers.number("num"), Some(400.0));
    }

    #[test]
    fn rejects_unknown_and_repeated_choices() {
        assert_eq!(
            one_error(valid().choice("one", "home")).1,
            "unknown choice home"
        );
        assert_eq!(
            one_error(valid().choices("many", &["oxy", "x"])).1,
            "unknown choice x"
        );
        assert_eq!(
            one_error(valid().choices("many", &["oxy", "oxy"])).1,
            "choice oxy given twice"
        );
        let c = checklist();
        let responses = valid().choices("many", &[]).build();
        assert!(validate(&c, &responses).is_ok());
    }

    #[test]
    fn every_copy_of_a_repeated_id_gets_its_answer() {
        let c = Checklist::new("c", "C").section("s", "S", |s| {
            s.item("a", "A").item("b", "B").item("a", "A again")
        });
        let responses = ResponseSet::new().yes("a").no("b").build();
        let answers = validate(&c, &responses).expect("valid");
        let got: Vec<_> = answers
            .items()
            .map(|(_, i, a)| (i.id.as_str(), a))
            .collect();
        assert_eq!(
            got,
            [
                ("a", Some(&Answer::Yes)),
                ("b", Some(&Answer::No)),
                ("a", Some(&Answer::Yes))
            ]
        );
        let errors = messages(validate(&c, &ResponseSet::new().no("b").build()));
        assert_eq!(errors.len(), 2, "both copies are unanswered: {errors:?}");
    }

    #[test]
    fn cuts_echoed_values_short() {
        let long = "x".repeat(10_000);
        let (id, _) = one_error(valid().yes(&long));
        assert_eq!(id.chars().count(), 201);
    }
}
