//! The one translation layer. Catalogues are plain `key = value` files in `host/locales/`,
//! compiled into the binary. English and French are complete; Kinyarwanda and Khmer cover
//! everything a mentor sees (keys starting `admin.` are for administrators' pages and may be
//! missing there). A missing key falls back to English, so a page never shows a raw key
//! for a language that is partly translated.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Fr,
    Rw,
    Km,
}

impl Lang {
    pub const ALL: [Lang; 4] = [Lang::En, Lang::Fr, Lang::Rw, Lang::Km];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::Rw => "rw",
            Lang::Km => "km",
        }
    }

    /// The language's name in itself, for the language picker.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
            Lang::Rw => "Ikinyarwanda",
            Lang::Km => "ភាសាខ្មែរ",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        let code = code.trim().to_ascii_lowercase();
        let primary = code.split(['-', '_']).next().unwrap_or("");
        Lang::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// Picks the first supported language of an `Accept-Language` header.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        header
            .split(',')
            .filter_map(|part| part.split(';').next())
            .find_map(Lang::parse)
    }
}

fn parse_catalogue(name: &str, text: &str) -> HashMap<&'static str, &'static str> {
    let text: &'static str = Box::leak(text.to_string().into_boxed_str());
    let mut map = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once(" = ") {
            Some((k, v)) => {
                map.insert(k.trim(), v.trim());
            }
            // Caught by the catalogue tests; at run time the line is skipped, not fatal.
            None => tracing::warn!("{name}.txt line {}: not `key = value`", n + 1),
        }
    }
    map
}

static CATALOGUES: LazyLock<[HashMap<&'static str, &'static str>; 4]> = LazyLock::new(|| {
    [
        parse_catalogue("en", include_str!("../locales/en.txt")),
        parse_catalogue("fr", include_str!("../locales/fr.txt")),
        parse_catalogue("rw", include_str!("../locales/rw.txt")),
        parse_catalogue("km", include_str!("../locales/km.txt")),
    ]
});

fn catalogue(lang: Lang) -> &'static HashMap<&'static str, &'static str> {
    &CATALOGUES[lang as usize]
}

/// Translates `key` into `lang`, falling back to English, then to the key itself.
pub fn t(lang: Lang, key: &str) -> &'static str {
    catalogue(lang)
        .get(key)
        .or_else(|| catalogue(Lang::En).get(key))
        .copied()
        .unwrap_or_else(|| Box::leak(key.to_string().into_boxed_str()))
}

/// True when `lang` has its own text for `key` (no fallback).
pub fn has(lang: Lang, key: &str) -> bool {
    catalogue(lang).contains_key(key)
}

pub fn keys(lang: Lang) -> Vec<&'static str> {
    let mut k: Vec<_> = catalogue(lang).keys().copied().collect();
    k.sort_unstable();
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_line_parses() {
        for (lang, text) in [
            (Lang::En, include_str!("../locales/en.txt")),
            (Lang::Fr, include_str!("../locales/fr.txt")),
            (Lang::Rw, include_str!("../locales/rw.txt")),
            (Lang::Km, include_str!("../locales/km.txt")),
        ] {
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                assert!(
                    line.is_empty() || line.starts_with('#') || line.contains(" = "),
                    "{}.txt line {} is not `key = value`: {line}",
                    lang.code(),
                    n + 1
                );
            }
        }
    }

    #[test]
    fn french_is_complete() {
        let missing: Vec<_> = keys(Lang::En)
            .into_iter()
            .filter(|k| !has(Lang::Fr, k))
            .collect();
        assert!(missing.is_empty(), "fr.txt lacks {missing:?}");
    }

    #[test]
    fn mentor_facing_text_exists_in_kinyarwanda_and_khmer() {
        for lang in [Lang::Rw, Lang::Km] {
            let missing: Vec<_> = keys(Lang::En)
                .into_iter()
                .filter(|k| !k.starts_with("admin.") && !has(lang, k))
                .collect();
            assert!(missing.is_empty(), "{}.txt lacks {missing:?}", lang.code());
        }
    }

    #[test]
    fn no_catalogue_has_keys_english_lacks() {
        for lang in [Lang::Fr, Lang::Rw, Lang::Km] {
            let extra: Vec<_> = keys(lang)
                .into_iter()
                .filter(|k| !has(Lang::En, k))
                .collect();
            assert!(
                extra.is_empty(),
                "{}.txt has unknown keys {extra:?}",
                lang.code()
            );
        }
    }

    /// Every `t("…")` used in a template names a key English defines.
    #[test]
    fn templates_use_only_known_keys() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let mut unknown = Vec::new();
        let mut stack = vec![std::path::PathBuf::from(dir)];
        while let Some(p) = stack.pop() {
            for entry in std::fs::read_dir(&p).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for piece in text.split("ctx.t(\"").skip(1) {
                    if let Some(key) = piece.split('"').next()
                        && !has(Lang::En, key)
                    {
                        unknown.push(format!("{}: {key}", path.display()));
                    }
                }
            }
        }
        assert!(unknown.is_empty(), "unknown translation keys: {unknown:#?}");
    }

    #[test]
    fn language_negotiation() {
        assert_eq!(
            Lang::from_accept_language("km-KH,km;q=0.9,en;q=0.8"),
            Some(Lang::Km)
        );
        assert_eq!(Lang::from_accept_language("de-DE,fr;q=0.5"), Some(Lang::Fr));
        assert_eq!(Lang::from_accept_language("de"), None);
        assert_eq!(t(Lang::Km, "no.such.key"), "no.such.key");
    }
}
