//! Helpers for [`Localized`] text.

use crate::{Localized, Translation};

impl Localized {
    /// Text in the plugin's default language, with no translations yet.
    pub fn new(default: impl Into<String>) -> Self {
        Localized {
            default: default.into(),
            translations: Vec::new(),
        }
    }

    /// Adds (or replaces) the translation for `lang`.
    pub fn translation(mut self, lang: &str, text: impl Into<String>) -> Self {
        let text = text.into();
        match self.translations.iter_mut().find(|t| t.lang == lang) {
            Some(existing) => existing.text = text,
            None => self.translations.push(Translation {
                lang: lang.to_owned(),
                text,
            }),
        }
        self
    }

    /// Adds the French translation.
    pub fn fr(self, text: impl Into<String>) -> Self {
        self.translation("fr", text)
    }

    /// Adds the Kinyarwanda translation.
    pub fn rw(self, text: impl Into<String>) -> Self {
        self.translation("rw", text)
    }

    /// Adds the Khmer translation.
    pub fn km(self, text: impl Into<String>) -> Self {
        self.translation("km", text)
    }

    /// The text for `lang`, falling back to the default, as the host shows it.
    /// A regional tag ("fr-RW") falls back to its language ("fr").
    pub fn text(&self, lang: &str) -> &str {
        let base = lang.split(['-', '_']).next().unwrap_or(lang);
        self.translations
            .iter()
            .find(|t| t.lang.eq_ignore_ascii_case(lang))
            .or_else(|| {
                self.translations
                    .iter()
                    .find(|t| t.lang.eq_ignore_ascii_case(base))
            })
            .map_or(self.default.as_str(), |t| t.text.as_str())
    }
}

impl From<&str> for Localized {
    fn from(text: &str) -> Self {
        Localized::new(text)
    }
}

impl From<String> for Localized {
    fn from(text: String) -> Self {
        Localized::new(text)
    }
}

impl From<&Localized> for Localized {
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
