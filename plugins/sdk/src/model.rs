//! The SDK's own model of checklist definitions and their text.
//!
//! Field for field the contract's `checklist`, `section`, `item-group`, `item`,
//! `choice-option`, `response-kind` and `localized`, except that text is a
//! [`Text`]: a string literal is kept as a borrowed `&'static str` and costs
//! nothing to build, where the generated types would copy every id, prompt, help
//! text and translation into a `String` of its own. The host runs every call in
//! a fresh instance of the component, so `score` builds the checklist it scores
//! on every call; with this model that is a few vectors, not one allocation per
//! string. Definitions become the generated types only where they leave the
//! component (the `checklists` export), with `From`.

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::ops::Deref;

use crate::bindings::mentortrack::plugin::types as wit;
use crate::{ChecklistKind, Importance, IntegerRange, NumberRange};

/// Text in a definition: a `&'static str` borrowed as it is, or an owned
/// `String`. Reads as a `str` (`as_str`, `==` with strings, `Deref`); builders
/// take `impl Into<Text>`, which a string literal, a `String` and a
/// `Cow<'static, str>` all are.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Cow<'static, str>);

impl Text {
    /// Borrows a literal; usable in constants.
    pub const fn new(text: &'static str) -> Text {
        Text(Cow::Borrowed(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text as an owned `String` (a copy only when it is borrowed).
    pub fn into_string(self) -> String {
        self.0.into_owned()
    }
}

impl<T: Into<Cow<'static, str>>> From<T> for Text {
    fn from(text: T) -> Self {
        Text(text.into())
    }
}

impl From<Text> for String {
    fn from(text: Text) -> Self {
        text.into_string()
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

macro_rules! text_eq {
    ($($other:ty),*) => {$(
        impl PartialEq<$other> for Text {
            fn eq(&self, other: &$other) -> bool {
                *self.0 == **other
            }
        }

        impl PartialEq<Text> for $other {
            fn eq(&self, other: &Text) -> bool {
                **self == *other.0
            }
        }
    )*};
}

text_eq!(&str, String);

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        *self == *other.0
    }
}

/// Text in the plugin's default language and its translations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Localized {
    pub default: Text,
    pub translations: Vec<Translation>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Translation {
    pub lang: Text,
    pub text: Text,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChoiceOption {
    /// Stored with the response; never changes once published.
    pub value: Text,
    pub label: Localized,
}

/// What kind of answer an item takes.
#[derive(Clone, Debug, PartialEq)]
pub enum ResponseKind {
    YesNo,
    YesNoNa,
    DonePartlyNotDone,
    IntegerScore(IntegerRange),
    Number(NumberRange),
    SingleChoice(Vec<ChoiceOption>),
    MultipleChoice(Vec<ChoiceOption>),
    /// Free text of at most this many characters.
    Text(u32),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub id: Text,
    pub prompt: Localized,
    pub help: Option<Localized>,
    pub kind: ResponseKind,
    pub importance: Importance,
    pub weight: f64,
    pub required: bool,
    /// The id of the section's group this item belongs to, if any.
    pub group: Option<Text>,
}

/// A group of items within a section (an SBM-R standard, say).
#[derive(Clone, Debug, PartialEq)]
pub struct ItemGroup {
    pub id: Text,
    pub title: Localized,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    pub id: Text,
    pub title: Localized,
    pub groups: Vec<ItemGroup>,
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Checklist {
    pub id: Text,
    pub title: Localized,
    pub version: Text,
    pub kind: ChecklistKind,
    pub description: Option<Localized>,
    pub sections: Vec<Section>,
}

// To the contract's types, where definitions leave the component.

impl From<Localized> for wit::Localized {
    fn from(l: Localized) -> Self {
        wit::Localized {
            default: l.default.into(),
            translations: l
                .translations
                .into_iter()
                .map(|t| wit::Translation {
                    lang: t.lang.into(),
                    text: t.text.into(),
                })
                .collect(),
        }
    }
}

impl From<ChoiceOption> for wit::ChoiceOption {
    fn from(o: ChoiceOption) -> Self {
        wit::ChoiceOption {
            value: o.value.into(),
            label: o.label.into(),
        }
    }
}

impl From<ResponseKind> for wit::ResponseKind {
    fn from(k: ResponseKind) -> Self {
        let options = |o: Vec<ChoiceOption>| o.into_iter().map(Into::into).collect();
        match k {
            ResponseKind::YesNo => wit::ResponseKind::YesNo,
            ResponseKind::YesNoNa => wit::ResponseKind::YesNoNa,
            ResponseKind::DonePartlyNotDone => wit::ResponseKind::DonePartlyNotDone,
            ResponseKind::IntegerScore(r) => wit::ResponseKind::IntegerScore(r),
            ResponseKind::Number(r) => wit::ResponseKind::Number(r),
            ResponseKind::SingleChoice(o) => wit::ResponseKind::SingleChoice(options(o)),
            ResponseKind::MultipleChoice(o) => wit::ResponseKind::MultipleChoice(options(o)),
            ResponseKind::Text(max) => wit::ResponseKind::Text(max),
        }
    }
}

impl From<Item> for wit::Item {
    fn from(i: Item) -> Self {
        wit::Item {
            id: i.id.into(),
            prompt: i.prompt.into(),
            help: i.help.map(Into::into),
            kind: i.kind.into(),
            importance: i.importance,
            weight: i.weight,
            required: i.required,
            group: i.group.map(Into::into),
        }
    }
}

impl From<ItemGroup> for wit::ItemGroup {
    fn from(g: ItemGroup) -> Self {
        wit::ItemGroup {
            id: g.id.into(),
            title: g.title.into(),
        }
    }
}

impl From<Section> for wit::Section {
    fn from(s: Section) -> Self {
        wit::Section {
            id: s.id.into(),
            title: s.title.into(),
            groups: s.groups.into_iter().map(Into::into).collect(),
            items: s.items.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<Checklist> for wit::Checklist {
    fn from(c: Checklist) -> Self {
        wit::Checklist {
            id: c.id.into(),
            title: c.title.into(),
            version: c.version.into(),
            kind: c.kind,
            description: c.description.map(Into::into),
            sections: c.sections.into_iter().map(Into::into).collect(),
        }
    }
}

// Score cards hold the contract's text; a test compares it with the SDK's.

impl PartialEq<Localized> for wit::Localized {
    fn eq(&self, other: &Localized) -> bool {
        self.default == other.default
            && self.translations.len() == other.translations.len()
            && self
                .translations
                .iter()
                .zip(&other.translations)
                .all(|(a, b)| a.lang == b.lang && a.text == b.text)
    }
}

impl PartialEq<wit::Localized> for Localized {
    fn eq(&self, other: &wit::Localized) -> bool {
        other == self
    }
}

// From the contract's text, for text a plugin got from a score card.

impl From<wit::Localized> for Localized {
    fn from(l: wit::Localized) -> Self {
        Localized {
            default: l.default.into(),
            translations: l
                .translations
                .into_iter()
                .map(|t| Translation {
                    lang: t.lang.into(),
                    text: t.text.into(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_borrowed_and_compare_as_strings() {
        let t = Text::from("abc");
        assert!(matches!(t.0, Cow::Borrowed(_)));
        assert_eq!(t, "abc");
        assert_eq!("abc", t);
        assert_eq!(t, String::from("abc"));
        assert_eq!(t.as_str(), "abc");
        assert_eq!(format!("{t} {t:?}"), "abc \"abc\"");
        let owned = Text::from(format!("a{}", 1));
        assert!(matches!(owned.0, Cow::Owned(_)));
        assert_eq!(String::from(owned), "a1");
    }

    #[test]
    fn converts_to_the_contract_field_for_field() {
        let l = Localized {
            default: "Yes".into(),
            translations: vec![Translation {
                lang: "fr".into(),
                text: "Oui".into(),
            }],
        };
        let w = wit::Localized::from(l.clone());
        assert_eq!(w.default, "Yes");
        assert_eq!(w, l);
        assert_eq!(l, w);
        assert_eq!(Localized::from(w), l);
    }
}
