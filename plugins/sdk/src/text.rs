//! Helpers for [`Localized`] text.

use std::borrow::Cow;

use crate::bindings::mentortrack::plugin::types as wit;
use crate::{Localized, Text, Translation};

impl Localized {
    /// Text in the plugin's default language, with no translations yet.
    ///
    /// A string literal is kept as it is, not copied (see [`Text`]).
    #[inline]
    pub fn new(default: impl Into<Text>) -> Self {
        Localized {
            default: default.into(),
            translations: Vec::new(),
        }
    }

    /// Adds (or replaces) the translation for `lang`.
    pub fn translation(self, lang: &str, text: impl Into<Text>) -> Self {
        self.translate(Cow::Owned(lang.to_owned()), text.into())
    }

    #[inline]
    fn translate(mut self, lang: Cow<'static, str>, text: Text) -> Self {
        match self.translations.iter_mut().find(|t| t.lang == *lang) {
            Some(existing) => existing.text = text,
            None => self.translations.push(Translation {
                lang: lang.into(),
                text,
            }),
        }
        self
    }

    /// Adds the French translation.
    #[inline]
    pub fn fr(self, text: impl Into<Text>) -> Self {
        self.translate(Cow::Borrowed("fr"), text.into())
    }

    /// Adds the Kinyarwanda translation.
    #[inline]
    pub fn rw(self, text: impl Into<Text>) -> Self {
        self.translate(Cow::Borrowed("rw"), text.into())
    }

    /// Adds the Khmer translation.
    #[inline]
    pub fn km(self, text: impl Into<Text>) -> Self {
        self.translate(Cow::Borrowed("km"), text.into())
    }

    /// The text for `lang`, falling back to the default, as the host shows it.
    /// A regional tag ("fr-RW") falls back to its language ("fr").
    pub fn text(&self, lang: &str) -> &str {
        pick(
            &self.default,
            self.translations
                .iter()
                .map(|t| (t.lang.as_str(), t.text.as_str())),
            lang,
        )
    }
}

impl wit::Localized {
    /// The text for `lang`, as [`Localized::text`]: for the labels and
    /// messages of a score card.
    pub fn text(&self, lang: &str) -> &str {
        pick(
            &self.default,
            self.translations
                .iter()
                .map(|t| (t.lang.as_str(), t.text.as_str())),
            lang,
        )
    }
}

fn pick<'a, I>(default: &'a str, translations: I, lang: &str) -> &'a str
where
    I: Iterator<Item = (&'a str, &'a str)> + Clone,
{
    let base = lang.split(['-', '_']).next().unwrap_or(lang);
    let find = |want: &str| {
        translations
            .clone()
            .find(|(l, _)| l.eq_ignore_ascii_case(want))
    };
    find(lang)
        .or_else(|| find(base))
        .map_or(default, |(_, t)| t)
}

impl From<&'static str> for Localized {
    #[inline]
    fn from(text: &'static str) -> Self {
        Localized::new(text)
    }
}

impl From<String> for Localized {
    #[inline]
    fn from(text: String) -> Self {
        Localized::new(text)
    }
}

impl From<Cow<'static, str>> for Localized {
    #[inline]
    fn from(text: Cow<'static, str>) -> Self {
        Localized::new(text)
    }
}

impl From<Text> for Localized {
    #[inline]
    fn from(text: Text) -> Self {
        Localized::new(text)
    }
}

impl From<&Localized> for Localized {
    #[inline]
    fn from(text: &Localized) -> Self {
        text.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falls_back_to_language_then_default() {
        let t = Localized::new("Ventilation").fr("Ventilation (fr)");
        assert_eq!(t.text("fr"), "Ventilation (fr)");
        assert_eq!(t.text("fr-RW"), "Ventilation (fr)");
        assert_eq!(t.text("FR"), "Ventilation (fr)");
        assert_eq!(t.text("rw"), "Ventilation");
        assert_eq!(t.text(""), "Ventilation");
    }

    #[test]
    fn replaces_a_translation_rather_than_duplicating_it() {
        let t = Localized::new("Yes").fr("Oui?").fr("Oui");
        assert_eq!(t.translations.len(), 1);
        assert_eq!(t.text("fr"), "Oui");
    }
}
