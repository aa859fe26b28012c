//! Checks on a plugin's own definitions: what the contract's comments ask of a
//! manifest and its checklists but the types cannot enforce.
//!
//! Run it from a test with [`crate::testing::assert_definitions_valid`]. A
//! host may apply the same checks when a plugin is installed.

use std::collections::BTreeSet;

use crate::{Checklist, Item, Localized, Manifest, Plugin, ResponseKind};

/// Every problem found in `plugin`'s manifest and checklists, one line each,
/// and any disagreement between them and the shortcuts `score` takes
/// ([`Plugin::id`], [`Plugin::checklist`]).
pub fn lint<P: Plugin>(plugin: &P) -> Vec<String> {
    let manifest = plugin.manifest();
    let checklists = plugin.checklists();
    let mut problems = lint_definitions(&manifest, &checklists);
    let id = plugin.id();
    if id != manifest.id {
        problems.push(format!(
            "plugin: id() is {id:?} but the manifest's id is {:?}",
            manifest.id
        ));
    }
    // The host stores what `checklists` returns and scores against what
    // `checklist` returns: they must be the same definitions.
    let mut seen = BTreeSet::new();
    for c in &checklists {
        if !seen.insert(c.id.as_str()) {
            continue; // reported above as an id used twice
        }
        let at = format!("checklist {}", c.id);
        match plugin.checklist(&c.id) {
            Some(found) if found == *c => {}
            Some(_) => problems.push(format!(
                "{at}: checklist({:?}) differs from the one checklists() returns",
                c.id
            )),
            None => problems.push(format!("{at}: checklist({:?}) returns None", c.id)),
        }
    }
    let mut unknown = String::from("no-such-checklist");
    while seen.contains(unknown.as_str()) {
        unknown.push('x');
    }
    if let Some(found) = plugin.checklist(&unknown) {
        problems.push(format!(
            "plugin: checklist({unknown:?}) returns checklist {:?}; it must return None for an id checklists() does not have",
            found.id
        ));
    }
    problems
}

pub fn lint_definitions(manifest: &Manifest, checklists: &[Checklist]) -> Vec<String> {
    let mut l = Lint {
        problems: Vec::new(),
        languages: &manifest.languages,
    };
    l.manifest(manifest);
    if checklists.is_empty() {
        l.problem("plugin", "has no checklists");
    }
    let mut ids = BTreeSet::new();
    for checklist in checklists {
        if !ids.insert(checklist.id.as_str()) {
            l.problem(&format!("checklist {}", checklist.id), "id is used twice");
        }
        l.checklist(checklist);
    }
    l.problems
}

struct Lint<'a> {
    problems: Vec<String>,
    languages: &'a [String],
}

impl Lint<'_> {
    fn problem(&mut self, at: &str, what: &str) {
        self.problems.push(format!("{at}: {what}"));
    }

    fn manifest(&mut self, m: &Manifest) {
        if !is_slug(&m.id, 64) {
            self.problem(
                "manifest",
                "id must be 1-64 lower-case letters, digits and hyphens, starting with a letter",
            );
        }
        if !is_semver(&m.version) {
            self.problem("manifest", "version must be semver, e.g. 1.2.0");
        }
        let publisher_ok = !m.publisher.is_empty()
            && m.publisher.len() <= 32
            && m.publisher
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !publisher_ok {
            self.problem(
                "manifest",
                "publisher must be an organisation code: 1-32 of A-Z, 0-9, - and _",
            );
        }
        if m.languages.is_empty() {
            self.problem(
                "manifest",
                "languages must list at least the default language",
            );
        }
        let mut seen = BTreeSet::new();
        for lang in &m.languages {
            if !is_language_tag(lang) {
                self.problem(
                    "manifest",
                    &format!("language {lang:?} is not a lower-case BCP 47 tag"),
                );
            }
            if !seen.insert(lang.as_str()) {
                self.problem("manifest", &format!("language {lang:?} is listed twice"));
            }
        }
        self.text("manifest name", &Localized::from(m.name.clone()));
        self.text(
            "manifest description",
            &Localized::from(m.description.clone()),
        );
    }

    fn text(&mut self, at: &str, text: &Localized) {
        if text.default.trim().is_empty() {
            self.problem(at, "text is empty");
        }
        let mut seen = BTreeSet::new();
        for t in &text.translations {
            if !seen.insert(t.lang.as_str()) {
                self.problem(at, &format!("two translations into {:?}", t.lang));
            }
            if self.languages.first().is_some_and(|l| *l == t.lang) {
                self.problem(
                    at,
                    &format!("translation into the default language {:?}", t.lang),
                );
            } else if !self.languages.iter().any(|l| *l == t.lang) {
                self.problem(
                    at,
                    &format!(
                        "translation into {:?}, which the manifest does not list",
                        t.lang
                    ),
                );
            }
            if t.text.trim().is_empty() {
                self.problem(at, &format!("empty {:?} translation", t.lang));
            }
        }
    }

    fn checklist(&mut self, c: &Checklist) {
        let at = format!("checklist {}", c.id);
        if !is_slug(&c.id, 64) {
            self.problem(
                &at,
                "id must be 1-64 lower-case letters, digits and hyphens, starting with a letter",
            );
        }
        if c.version.trim().is_empty() {
            self.problem(&at, "version is empty");
        }
        self.text(&format!("{at} title"), &c.title);
        if let Some(d) = &c.description {
            self.text(&format!("{at} description"), d);
        }
        if c.items().next().is_none() {
            self.problem(&at, "has no items");
        }
        let mut section_ids = BTreeSet::new();
        let mut group_ids = BTreeSet::new();
        let mut item_ids = BTreeSet::new();
        for s in &c.sections {
            let sat = format!("{at}, section {}", s.id);
            if !is_id(&s.id) {
                self.problem(&sat, "id must be 1-64 of a-z, A-Z, 0-9, -, _ and .");
            }
            if !section_ids.insert(s.id.as_str()) {
                self.problem(&sat, "id is used twice");
            }
            self.text(&format!("{sat} title"), &s.title);
            if s.items.is_empty() {
                self.problem(&sat, "has no items");
            }
            for g in &s.groups {
                let gat = format!("{sat}, group {}", g.id);
                if !is_id(&g.id) {
                    self.problem(&gat, "id must be 1-64 of a-z, A-Z, 0-9, -, _ and .");
                }
                if !group_ids.insert(g.id.as_str()) {
                    self.problem(&gat, "id is used twice in the checklist");
                }
                self.text(&format!("{gat} title"), &g.title);
                if s.group_items(&g.id).next().is_none() {
                    self.problem(&gat, "has no items");
                }
            }
            for item in &s.items {
                let iat = format!("{at}, item {}", item.id);
                if !item_ids.insert(item.id.as_str()) {
                    self.problem(&iat, "id is used twice");
                }
                if let Some(group) = &item.group
                    && !s.groups.iter().any(|g| &g.id == group)
                {
                    self.problem(
                        &iat,
                        &format!("group {group:?} is not a group of its section"),
                    );
                }
                self.item(&iat, item);
            }
        }
    }

    fn item(&mut self, at: &str, item: &Item) {
        if !is_id(&item.id) {
            self.problem(at, "id must be 1-64 of a-z, A-Z, 0-9, -, _ and .");
        }
        self.text(&format!("{at} prompt"), &item.prompt);
        if let Some(help) = &item.help {
            self.text(&format!("{at} help"), help);
        }
        if !(item.weight.is_finite() && item.weight >= 0.0) {
            self.problem(at, "weight must be a finite number, 0 or more");
        }
        match &item.kind {
            ResponseKind::IntegerScore(r) if r.min >= r.max => {
                self.problem(at, "integer range needs min below max");
            }
            ResponseKind::Number(r) => {
                let finite = r.min.is_none_or(f64::is_finite) && r.max.is_none_or(f64::is_finite);
                let ordered = match (r.min, r.max) {
                    (Some(min), Some(max)) => min <= max,
                    _ => true,
                };
                if !finite || !ordered {
                    self.problem(
                        at,
                        "number range needs finite bounds with min not above max",
                    );
                }
            }
            ResponseKind::SingleChoice(options) | ResponseKind::MultipleChoice(options) => {
                if options.is_empty() {
                    self.problem(at, "choice item has no options");
                }
                let mut seen = BTreeSet::new();
                for o in options {
                    if !is_id(&o.value) {
                        self.problem(
                            at,
                            &format!(
                                "option value {:?} must be 1-64 of a-z, A-Z, 0-9, -, _ and .",
                                o.value
                            ),
                        );
                    }
                    if !seen.insert(o.value.as_str()) {
                        self.problem(at, &format!("option value {:?} is used twice", o.value));
                    }
                    self.text(&format!("{at} option {}", o.value), &o.label);
                }
            }
            ResponseKind::Text(0) => self.problem(at, "text limit must be above 0"),
            _ => {}
        }
    }
}

/// Plugin and checklist ids: they appear in URLs and metric names.
fn is_slug(s: &str, max: usize) -> bool {
    s.len() <= max
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Section, group, item and option ids: stored with every response.
fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn is_semver(s: &str) -> bool {
    let (core, suffix) = match s.find(['-', '+']) {
        Some(at) => {
            let (core, rest) = s.split_at(at);
            (core, Some(rest.get(1..).unwrap_or("")))
        }
        None => (s, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    let core_ok = parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        });
    let suffix_ok = suffix.is_none_or(|x| {
        !x.is_empty()
            && x.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'))
    });
    core_ok && suffix_ok
}

fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_lowercase()));
    primary_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChoiceOption, ItemSink};

    fn manifest() -> Manifest {
        Manifest::new("hbb", "Helping Babies Breathe", "1.0.0", "RPA")
            .description("HBB assessments")
            .languages(&["en", "fr"])
    }

    fn good() -> Checklist {
        Checklist::new("osce-a", Localized::new("OSCE A").fr("ECOS A")).section("s1", "S1", |s| {
            s.group("g", "G", |g| g.item("a", "A")).item("b", "B")
        })
    }

    #[test]
    fn accepts_good_definitions() {
        assert_eq!(
            lint_definitions(&manifest(), &[good()]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn semver_and_language_tags() {
        for ok in ["1.0.0", "0.10.2", "1.0.0-rc.1", "1.0.0+build"] {
            assert!(is_semver(ok), "{ok}");
        }
        for bad in ["1.0", "01.0.0", "1.0.x", "", "1.0.0-", "v1.0.0"] {
            assert!(!is_semver(bad), "{bad}");
        }
        for ok in ["en", "fr", "rw", "km", "fr-rw", "en-001"] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in ["", "EN", "english", "e", "fr_"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }

    #[test]
    fn finds_the_usual_mistakes() {
        let bad_manifest = Manifest::new("HBB", "", "1.0", "rpa").languages(&["en", "en"]);
        let dup = Checklist::new("osce-a", Localized::new("Dup").translation("de", "Dup")).section(
            "s1",
            "S1",
            |s| {
                let mut broken = Item::single_choice("x", "X", [("a", "A")]).weight(f64::NAN);
                if let ResponseKind::SingleChoice(options) = &mut broken.kind {
                    options.push(ChoiceOption {
                        value: "a".into(),
                        label: "".into(),
                    });
                }
                s.item("a", "A")
                    .item("a", "Again")
                    .push(Item::score("sc", "Score", 2, 2))
                    .push(Item::text("t", "T", 0))
                    .push(broken)
                    .push(Item::new("orphan", "O").kind(ResponseKind::YesNo))
            },
        );
        let mut orphan = dup.clone();
        orphan.sections[0].items[5].group = Some("nowhere".into());
        let problems = lint_definitions(&bad_manifest, &[good(), orphan]);
        let expect = [
            "manifest: id must be",
            "manifest: version must be semver",
            "manifest: publisher must be",
            "manifest: language \"en\" is listed twice",
            "manifest name: text is empty",
            "manifest description: text is empty",
            "checklist osce-a: id is used twice",
            "translation into \"de\", which the manifest does not list",
            "item a: id is used twice",
            "item sc: integer range needs min below max",
            "item t: text limit must be above 0",
            "item x: weight must be",
            "item x: option value \"a\" is used twice",
            "item x option a: text is empty",
            "item orphan: group \"nowhere\" is not a group of its section",
        ];
        for e in expect {
            assert!(
                problems.iter().any(|p| p.contains(e)),
                "missing {e:?} in {problems:#?}"
            );
        }
    }

    /// A plugin whose `score` shortcuts disagree with its definitions.
    struct Drifted;

    impl Plugin for Drifted {
        fn new() -> Self {
            Drifted
        }

        fn manifest(&self) -> Manifest {
            manifest()
        }

        fn checklists(&self) -> Vec<Checklist> {
            vec![good(), good_b()]
        }

        fn checklist(&self, id: &str) -> Option<Checklist> {
            match id {
                "osce-a" => Some(good().description("not the same")),
                "osce-b" => None,
                _ => Some(good()),
            }
        }

        fn id(&self) -> String {
            "hbb-old".into()
        }

        fn score(
            &self,
            _: &Checklist,
            _: &crate::Answers<'_>,
            _: &crate::ScoreContext,
        ) -> Result<crate::ScoreCard, crate::ScoreError> {
            Err(crate::ScoreError::Internal("unused".into()))
        }
    }

    fn good_b() -> Checklist {
        Checklist::new("osce-b", "OSCE B").section("s1", "S1", |s| s.item("a", "A"))
    }

    #[test]
    fn finds_shortcuts_that_disagree_with_the_definitions() {
        let problems = lint(&Drifted);
        let expected = [
            "plugin: id() is \"hbb-old\" but the manifest's id is \"hbb\"",
            "checklist osce-a: checklist(\"osce-a\") differs from the one checklists() returns",
            "checklist osce-b: checklist(\"osce-b\") returns None",
            "plugin: checklist(\"no-such-checklist\") returns checklist \"osce-a\"; it must return None for an id checklists() does not have",
        ];
        assert_eq!(problems, expected);
    }
}
