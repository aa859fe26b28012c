//! Field-level errors on forms, in the user's language; choices of selects; links carrying a
//! list's search.

use crate::error::{AppError, FieldError};
use crate::i18n::{self, Lang};

#[derive(Clone, Debug, Default)]
pub struct FormErrors {
    items: Vec<(String, String)>,
}

impl FormErrors {
    pub fn from_fields(lang: Lang, errors: &[FieldError]) -> FormErrors {
        let items = errors
            .iter()
            .map(|e| {
                let key = format!("error.{}", e.code);
                let message = if i18n::has(Lang::En, &key) {
                    i18n::t(lang, &key).to_string()
                } else {
                    e.message.clone()
                };
                (e.field.clone(), message)
            })
            .collect();
        FormErrors { items }
    }

    /// Splits a validation error into form errors; anything else is passed on.
    pub fn from_error(lang: Lang, e: AppError) -> Result<FormErrors, AppError> {
        match e {
            AppError::Validation(errs) | AppError::ScoringFailed(errs) => {
                Ok(FormErrors::from_fields(lang, &errs))
            }
            other => Err(other),
        }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn add(&mut self, field: &str, message: &str) {
        self.items.push((field.to_string(), message.to_string()));
    }
}

/// Parses an optional id from a form field; a non-number is a field error, not a 400.
pub fn parse_id(value: &str, field: &str, errors: &mut Vec<FieldError>) -> Option<i64> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    match v.parse::<i64>() {
        Ok(id) => Some(id),
        Err(_) => {
            errors.push(FieldError::new(
                field,
                "invalid_choice",
                "is not a valid choice",
            ));
            None
        }
    }
}

/// One `<option>` of a `<select>`.
#[derive(Clone, Debug)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// Options from `(value, label)` pairs, marking the current value.
pub fn choices<V: ToString, L: ToString>(
    items: impl IntoIterator<Item = (V, L)>,
    current: &str,
) -> Vec<Choice> {
    items
        .into_iter()
        .map(|(v, l)| {
            let value = v.to_string();
            Choice {
                selected: value == current,
                value,
                label: l.to_string(),
            }
        })
        .collect()
}

/// Options for a fixed list of codes whose labels are translated as `<prefix>.<code>`.
pub fn coded_choices(lang: Lang, prefix: &str, codes: &[&str], current: &str) -> Vec<Choice> {
    choices(
        codes
            .iter()
            .map(|c| (c.to_string(), i18n::t(lang, &format!("{prefix}.{c}")))),
        current,
    )
}

/// A link to `path` with a list's search (its filter form's fields) in the query string, and
/// the page for one page of the list; without a page, the link is to all of it (a download).
pub fn search_link(path: &str, search: &[(&str, &str)], page: Option<i64>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(search);
    if let Some(page) = page {
        query.append_pair("page", &page.to_string());
    }
    format!("{path}?{}", query.finish())
}
