//! A plugin's checklist as plain HTML form fields, and the posted fields back as responses.
//! Session observations and training pre/post tests both render checklists through this
//! module and the `checklist_fields.html` partial, so a checklist looks and parses the same
//! everywhere.
//!
//! Usage, for one checklist on a page:
//!
//! ```text
//! let prefix = "o0";                        // form names: o0.r.<item_id>
//! let errors_at = "observations[0]";        // domain field errors: observations[0].responses.<item_id>
//! let typed = Typed::from_pairs(&posted_pairs, prefix);   // or Typed::from_responses(&stored)
//! let (responses, parse_errors) = parse(&checklist, &typed, errors_at);
//! // ... call the domain with `responses`; on a 422/503 turn errors into FormErrors ...
//! let view = ChecklistForm::build(&checklist, ctx.lang, prefix, errors_at, &typed, &form_errors);
//! ```
//!
//! and in the page template, with `ctx` and `cl` (a `ChecklistForm`) in scope:
//! `{% include "checklist_fields.html" %}`.
//!
//! An item nobody answered is left out of the responses, so the domain reports it as
//! `required` when it is. Every value typed is kept in [`Typed`] as text, so a page re-rendered
//! after an error shows exactly what was typed, even a number that did not parse.

use std::collections::HashMap;

use super::FormErrors;
use crate::error::FieldError;
use crate::i18n::{self, Lang};
use crate::plugins::model::{Answer, Checklist, Importance, Item, Response, ResponseKind};

/// The form name of an item's field: `<prefix>.r.<item_id>`.
pub fn field_name(prefix: &str, item_id: &str) -> String {
    format!("{prefix}.r.{item_id}")
}

/// The domain's error field for an item: `<errors_at>.responses.<item_id>`.
pub fn error_field(errors_at: &str, item_id: &str) -> String {
    format!("{errors_at}.responses.{item_id}")
}

/// What was typed into one checklist's fields, by item id, as text.
#[derive(Clone, Debug, Default)]
pub struct Typed {
    values: HashMap<String, Vec<String>>,
}

impl Typed {
    /// The values posted for the checklist under `prefix`, from all the form's pairs (a
    /// multiple-choice item posts one pair per ticked box).
    pub fn from_pairs(pairs: &[(String, String)], prefix: &str) -> Typed {
        let start = format!("{prefix}.r.");
        let mut values: HashMap<String, Vec<String>> = HashMap::new();
        for (name, value) in pairs {
            if let Some(item) = name.strip_prefix(&start) {
                values
                    .entry(item.to_string())
                    .or_default()
                    .push(value.clone());
            }
        }
        Typed { values }
    }

    /// Stored responses as the form would have posted them, to pre-fill a correction.
    pub fn from_responses(responses: &[Response]) -> Typed {
        let mut values = HashMap::new();
        for r in responses {
            let texts = match &r.answer {
                Answer::Choices(cs) => std::iter::once(String::new())
                    .chain(cs.iter().cloned())
                    .collect(),
                other => vec![answer_text(other)],
            };
            values.insert(r.item_id.clone(), texts);
        }
        Typed { values }
    }

    /// `(name, value)` pairs re-posting these values under `prefix` (for hidden fields).
    pub fn to_pairs(&self, prefix: &str) -> Vec<(String, String)> {
        let mut ids: Vec<&String> = self.values.keys().collect();
        ids.sort();
        ids.into_iter()
            .flat_map(|id| {
                let name = field_name(prefix, id);
                self.values[id]
                    .iter()
                    .map(move |v| (name.clone(), v.clone()))
            })
            .collect()
    }

    /// Nothing was posted for this checklist.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn all(&self, item_id: &str) -> &[String] {
        self.values.get(item_id).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The first non-empty value typed for an item.
    fn first(&self, item_id: &str) -> &str {
        self.all(item_id)
            .iter()
            .map(|s| s.trim())
            .find(|s| !s.is_empty())
            .unwrap_or("")
    }
}

/// The form value of a fixed answer (`yes`, `partly`…) or the text of a typed one.
fn answer_text(a: &Answer) -> String {
    match a {
        Answer::Yes => "yes".into(),
        Answer::No => "no".into(),
        Answer::NotApplicable => "not_applicable".into(),
        Answer::Done => "done".into(),
        Answer::Partly => "partly".into(),
        Answer::NotDone => "not_done".into(),
        Answer::Integer(n) => n.to_string(),
        Answer::Number(x) => x.to_string(),
        Answer::Choice(c) => c.clone(),
        Answer::Choices(cs) => cs.join(","),
        Answer::Text(t) => t.clone(),
    }
}

/// The fixed answers of a kind, with their form values and translation keys.
fn fixed_answers(kind: &ResponseKind) -> &'static [(&'static str, Answer, &'static str)] {
    const YES_NO: [(&str, Answer, &str); 2] = [
        ("yes", Answer::Yes, "answer.yes"),
        ("no", Answer::No, "answer.no"),
    ];
    const YES_NO_NA: [(&str, Answer, &str); 3] = [
        ("yes", Answer::Yes, "answer.yes"),
        ("no", Answer::No, "answer.no"),
        (
            "not_applicable",
            Answer::NotApplicable,
            "answer.not_applicable",
        ),
    ];
    const DONE: [(&str, Answer, &str); 3] = [
        ("done", Answer::Done, "answer.done"),
        ("partly", Answer::Partly, "answer.partly"),
        ("not_done", Answer::NotDone, "answer.not_done"),
    ];
    match kind {
        ResponseKind::YesNo => &YES_NO,
        ResponseKind::YesNoNa => &YES_NO_NA,
        ResponseKind::DonePartlyNotDone => &DONE,
        _ => &[],
    }
}

/// Turns typed values into responses. Items left empty are left out (the domain reports the
/// required ones); values that cannot be an answer of the item's kind (a word in a number
/// field) are errors under [`error_field`], in English like every domain message, with codes
/// `FormErrors` translates.
pub fn parse(
    checklist: &Checklist,
    typed: &Typed,
    errors_at: &str,
) -> (Vec<Response>, Vec<FieldError>) {
    let mut responses = Vec::new();
    let mut errors = Vec::new();
    for item in checklist.items() {
        let raw = typed.first(&item.id);
        let answer = match &item.kind {
            ResponseKind::YesNo | ResponseKind::YesNoNa | ResponseKind::DonePartlyNotDone => {
                if raw.is_empty() {
                    continue;
                }
                match fixed_answers(&item.kind).iter().find(|(v, _, _)| *v == raw) {
                    Some((_, a, _)) => a.clone(),
                    None => {
                        errors.push(FieldError::new(
                            error_field(errors_at, &item.id),
                            "invalid_choice",
                            "is not one of the item's choices",
                        ));
                        continue;
                    }
                }
            }
            ResponseKind::IntegerScore { .. } => {
                if raw.is_empty() {
                    continue;
                }
                match raw.parse::<i64>() {
                    Ok(n) => Answer::Integer(n),
                    Err(_) => {
                        errors.push(FieldError::new(
                            error_field(errors_at, &item.id),
                            "not_a_whole_number",
                            "must be a whole number",
                        ));
                        continue;
                    }
                }
            }
            ResponseKind::Number { .. } => {
                if raw.is_empty() {
                    continue;
                }
                // Phones in French-speaking settings offer a decimal comma.
                match raw.replace(',', ".").parse::<f64>() {
                    Ok(x) if x.is_finite() => Answer::Number(x),
                    _ => {
                        errors.push(FieldError::new(
                            error_field(errors_at, &item.id),
                            "not_a_number",
                            "must be a number",
                        ));
                        continue;
                    }
                }
            }
            ResponseKind::SingleChoice { .. } => {
                if raw.is_empty() {
                    continue;
                }
                Answer::Choice(raw.to_string())
            }
            ResponseKind::MultipleChoice { .. } => {
                // The partial posts an empty marker before the boxes, so "rendered, nothing
                // ticked" (an answer: none of these) differs from "not on the form".
                let all = typed.all(&item.id);
                if all.is_empty() {
                    continue;
                }
                Answer::Choices(
                    all.iter()
                        .map(|s| s.trim())
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect(),
                )
            }
            ResponseKind::Text { .. } => {
                // Text keeps its inner layout; only surrounding blanks are dropped.
                let text = typed.all(&item.id).first().map(|s| s.trim()).unwrap_or("");
                if text.is_empty() {
                    continue;
                }
                Answer::Text(text.to_string())
            }
        };
        responses.push(Response {
            item_id: item.id.clone(),
            answer,
        });
    }
    (responses, errors)
}

/// One checklist, ready for `checklist_fields.html`.
#[derive(Clone, Debug)]
pub struct ChecklistForm {
    /// Form-name prefix of this checklist's fields, e.g. `o0`.
    pub prefix: String,
    pub title: String,
    pub description: Option<String>,
    /// A problem with the checklist as a whole: an unknown checklist, a plugin that failed.
    pub error: Option<String>,
    pub sections: Vec<SectionView>,
}

#[derive(Clone, Debug)]
pub struct SectionView {
    pub id: String,
    pub title: String,
    pub items: Vec<ItemView>,
}

/// One item. `control` says how it is rendered: `radio` (fixed answers and single choice),
/// `checkboxes` (multiple choice), `integer`, `number` or `text`.
#[derive(Clone, Debug)]
pub struct ItemView {
    pub id: String,
    /// The field's form name.
    pub name: String,
    /// A DOM id unique on the page, for labels and anchors.
    pub dom_id: String,
    /// The heading of the item's group, when the group starts at this item.
    pub group_title: Option<String>,
    pub prompt: String,
    pub help: Option<String>,
    /// `normal`, `key` or `critical`.
    pub importance: &'static str,
    pub required: bool,
    pub control: &'static str,
    pub options: Vec<OptionView>,
    /// What was typed, for `integer`, `number` and `text`.
    pub value: String,
    pub min: Option<String>,
    pub max: Option<String>,
    /// `1` for whole numbers, `any` otherwise.
    pub step: &'static str,
    pub max_length: Option<u32>,
    pub error: Option<String>,
}

#[derive(Clone, Debug)]
pub struct OptionView {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

impl ItemView {
    pub fn is_key(&self) -> bool {
        self.importance == "key"
    }

    pub fn is_critical(&self) -> bool {
        self.importance == "critical"
    }
}

impl ChecklistForm {
    /// The view of `checklist` in `lang`, showing `typed` and the errors reported under
    /// `errors_at` (`<errors_at>.responses.<item>` next to the item; `<errors_at>.checklist_id`,
    /// `.plugin_version_id` and `.responses` for the whole checklist).
    pub fn build(
        checklist: &Checklist,
        lang: Lang,
        prefix: &str,
        errors_at: &str,
        typed: &Typed,
        errors: &FormErrors,
    ) -> ChecklistForm {
        let messages: Vec<&str> = ["checklist_id", "plugin_version_id", "responses"]
            .iter()
            .filter_map(|f| errors.get(&format!("{errors_at}.{f}")))
            .collect();
        let error = (!messages.is_empty()).then(|| messages.join(" "));
        let sections = checklist
            .sections
            .iter()
            .map(|s| {
                let mut group: Option<&str> = None;
                let items = s
                    .items
                    .iter()
                    .map(|item| {
                        let group_title = match item.group.as_deref() {
                            Some(g) if group != Some(g) => s
                                .groups
                                .iter()
                                .find(|x| x.id == g)
                                .map(|x| x.title.get(lang).to_string()),
                            _ => None,
                        };
                        group = item.group.as_deref();
                        item_view(item, lang, prefix, errors_at, typed, errors, group_title)
                    })
                    .collect();
                SectionView {
                    id: s.id.clone(),
                    title: s.title.get(lang).to_string(),
                    items,
                }
            })
            .collect();
        ChecklistForm {
            prefix: prefix.to_string(),
            title: checklist.title.get(lang).to_string(),
            description: checklist
                .description
                .as_ref()
                .map(|d| d.get(lang).to_string()),
            error,
            sections,
        }
    }

    /// Whether any item or the checklist itself carries an error.
    pub fn has_errors(&self) -> bool {
        self.error.is_some()
            || self
                .sections
                .iter()
                .any(|s| s.items.iter().any(|i| i.error.is_some()))
    }
}

fn item_view(
    item: &Item,
    lang: Lang,
    prefix: &str,
    errors_at: &str,
    typed: &Typed,
    errors: &FormErrors,
    group_title: Option<String>,
) -> ItemView {
    let name = field_name(prefix, &item.id);
    let dom_id: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let current = typed.first(&item.id);
    let option = |value: &str, label: String, checked: bool| OptionView {
        value: value.to_string(),
        label,
        checked,
    };
    let mut view = ItemView {
        id: item.id.clone(),
        name,
        dom_id,
        group_title,
        prompt: item.prompt.get(lang).to_string(),
        help: item.help.as_ref().map(|h| h.get(lang).to_string()),
        importance: match item.importance {
            Importance::Normal => "normal",
            Importance::Key => "key",
            Importance::Critical => "critical",
        },
        required: item.required,
        control: "radio",
        options: Vec::new(),
        value: String::new(),
        min: None,
        max: None,
        step: "1",
        max_length: None,
        error: errors
            .get(&error_field(errors_at, &item.id))
            .map(str::to_string),
    };
    match &item.kind {
        ResponseKind::YesNo | ResponseKind::YesNoNa | ResponseKind::DonePartlyNotDone => {
            view.options = fixed_answers(&item.kind)
                .iter()
                .map(|(v, _, key)| option(v, i18n::t(lang, key).to_string(), *v == current))
                .collect();
        }
        ResponseKind::SingleChoice { options } => {
            view.options = options
                .iter()
                .map(|o| option(&o.value, o.label.get(lang).to_string(), o.value == current))
                .collect();
        }
        ResponseKind::MultipleChoice { options } => {
            view.control = "checkboxes";
            let ticked = typed.all(&item.id);
            view.options = options
                .iter()
                .map(|o| {
                    let checked = ticked.iter().any(|t| t.trim() == o.value);
                    option(&o.value, o.label.get(lang).to_string(), checked)
                })
                .collect();
        }
        ResponseKind::IntegerScore { min, max } => {
            view.control = "integer";
            view.value = typed.all(&item.id).first().cloned().unwrap_or_default();
            view.min = Some(min.to_string());
            view.max = Some(max.to_string());
        }
        ResponseKind::Number { min, max } => {
            view.control = "number";
            view.value = typed.all(&item.id).first().cloned().unwrap_or_default();
            view.min = min.map(|m| m.to_string());
            view.max = max.map(|m| m.to_string());
            view.step = "any";
        }
        ResponseKind::Text { max_length } => {
            view.control = "text";
            view.value = typed.all(&item.id).first().cloned().unwrap_or_default();
            view.max_length = Some(*max_length);
        }
    }
    view
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FieldError;
    use crate::plugins::model::{ChecklistKind, ChoiceOption, Localized, Section, Translation};

    fn loc(s: &str) -> Localized {
        Localized {
            default: s.into(),
            translations: vec![Translation {
                lang: "fr".into(),
                text: format!("{s} (fr)"),
            }],
        }
    }

    fn item(id: &str, kind: ResponseKind) -> Item {
        Item {
            id: id.into(),
            prompt: loc(id),
            help: None,
            kind,
            importance: Importance::Normal,
            weight: 1.0,
            required: true,
            group: None,
        }
    }

    fn options() -> Vec<ChoiceOption> {
        ["a", "b", "c"]
            .iter()
            .map(|v| ChoiceOption {
                value: v.to_string(),
                label: loc(&v.to_uppercase()),
            })
            .collect()
    }

    fn checklist() -> Checklist {
        let mut key = item("done", ResponseKind::DonePartlyNotDone);
        key.importance = Importance::Key;
        Checklist {
            id: "c".into(),
            title: loc("C"),
            version: "1".into(),
            kind: ChecklistKind::MentorshipSkills,
            description: None,
            sections: vec![Section {
                id: "s".into(),
                title: loc("S"),
                groups: vec![],
                items: vec![
                    item("yn", ResponseKind::YesNo),
                    key,
                    item("score", ResponseKind::IntegerScore { min: 0, max: 5 }),
                    item(
                        "minutes",
                        ResponseKind::Number {
                            min: Some(0.0),
                            max: None,
                        },
                    ),
                    item("one", ResponseKind::SingleChoice { options: options() }),
                    item("many", ResponseKind::MultipleChoice { options: options() }),
                    item("note", ResponseKind::Text { max_length: 20 }),
                ],
            }],
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn posted_fields_become_responses() {
        let posted = pairs(&[
            ("o1.r.yn", "yes"),
            ("o1.r.done", "partly"),
            ("o1.r.score", " 4 "),
            ("o1.r.minutes", "2,5"),
            ("o1.r.one", "b"),
            ("o1.r.many", ""),
            ("o1.r.many", "a"),
            ("o1.r.many", "c"),
            ("o1.r.note", "  good  "),
            ("o0.r.yn", "no"),
        ]);
        let (responses, errors) = parse(&checklist(), &Typed::from_pairs(&posted, "o1"), "x");
        assert!(errors.is_empty(), "{errors:?}");
        let answers: Vec<_> = responses
            .iter()
            .map(|r| (r.item_id.as_str(), &r.answer))
            .collect();
        assert_eq!(
            answers,
            vec![
                ("yn", &Answer::Yes),
                ("done", &Answer::Partly),
                ("score", &Answer::Integer(4)),
                ("minutes", &Answer::Number(2.5)),
                ("one", &Answer::Choice("b".into())),
                ("many", &Answer::Choices(vec!["a".into(), "c".into()])),
                ("note", &Answer::Text("good".into())),
            ]
        );
    }

    #[test]
    fn empty_items_are_left_out_and_garbage_is_named() {
        let posted = pairs(&[
            ("o0.r.yn", ""),
            ("o0.r.done", "maybe"),
            ("o0.r.score", "four"),
            ("o0.r.minutes", "soon"),
            ("o0.r.many", ""),
        ]);
        let (responses, errors) = parse(
            &checklist(),
            &Typed::from_pairs(&posted, "o0"),
            "observations[0]",
        );
        // A rendered multiple choice with nothing ticked answers "none of these".
        assert_eq!(responses.len(), 1);
        assert_eq!(responses[0].answer, Answer::Choices(vec![]));
        let named: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            named,
            vec![
                ("observations[0].responses.done", "invalid_choice"),
                ("observations[0].responses.score", "not_a_whole_number"),
                ("observations[0].responses.minutes", "not_a_number"),
            ]
        );
    }

    #[test]
    fn the_view_keeps_what_was_typed_and_shows_errors_by_item() {
        let posted = pairs(&[
            ("o0.r.done", "not_done"),
            ("o0.r.score", "four"),
            ("o0.r.many", ""),
            ("o0.r.many", "b"),
        ]);
        let typed = Typed::from_pairs(&posted, "o0");
        let errors = FormErrors::from_fields(
            Lang::Fr,
            &[
                FieldError::new("observations[0].responses.yn", "required", "x"),
                FieldError::new(
                    "observations[0].checklist_id",
                    "scoring_failed",
                    "C: trapped",
                ),
            ],
        );
        let view = ChecklistForm::build(
            &checklist(),
            Lang::Fr,
            "o0",
            "observations[0]",
            &typed,
            &errors,
        );
        assert_eq!(view.title, "C (fr)");
        assert_eq!(view.error.as_deref(), Some("C: trapped"));
        let items = &view.sections[0].items;
        assert!(items[0].error.is_some());
        assert_eq!(items[0].name, "o0.r.yn");
        assert!(items[1].is_key());
        let checked: Vec<_> = items[1]
            .options
            .iter()
            .filter(|o| o.checked)
            .map(|o| o.value.as_str())
            .collect();
        assert_eq!(checked, vec!["not_done"]);
        assert_eq!(items[2].control, "integer");
        assert_eq!(items[2].value, "four");
        assert_eq!(items[2].max.as_deref(), Some("5"));
        let ticked: Vec<_> = items[5]
            .options
            .iter()
            .filter(|o| o.checked)
            .map(|o| o.value.as_str())
            .collect();
        assert_eq!(ticked, vec!["b"]);
        assert!(view.has_errors());
    }

    #[test]
    fn stored_responses_round_trip_through_the_form() {
        let posted = pairs(&[
            ("o0.r.yn", "no"),
            ("o0.r.done", "done"),
            ("o0.r.score", "3"),
            ("o0.r.minutes", "1.5"),
            ("o0.r.one", "a"),
            ("o0.r.many", ""),
            ("o0.r.many", "b"),
            ("o0.r.note", "ok"),
        ]);
        let (first, _) = parse(&checklist(), &Typed::from_pairs(&posted, "o0"), "x");
        let again = Typed::from_responses(&first).to_pairs("o3");
        let (second, errors) = parse(&checklist(), &Typed::from_pairs(&again, "o3"), "x");
        assert!(errors.is_empty());
        assert_eq!(first, second);
    }
}
