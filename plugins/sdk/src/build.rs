//! Builders for manifests and checklist definitions.
//!
//! Checklists are built in the SDK's own model (see [`Text`]): string literals
//! are kept as they are, so building the checklist `score` needs costs a few
//! vectors, not an allocation per string. The `checklists` export converts them
//! into the contract's types, field for field. Items default to the most common
//! case: a required yes/no step of normal importance and weight 1.

use crate::bindings::mentortrack::plugin::types as wit;
use crate::{
    Checklist, ChecklistKind, ChoiceOption, Importance, IntegerRange, Item, ItemGroup, Localized,
    Manifest, NumberRange, ResponseKind, Section, Text,
};

/// Converts the SDK's text into the contract's, for the manifest.
fn wit_text(text: impl Into<Localized>) -> wit::Localized {
    text.into().into()
}

impl Manifest {
    /// A manifest with English as the only language and an empty description.
    ///
    /// `version` is the plugin's own semver version; pass
    /// `env!("CARGO_PKG_VERSION")` to keep it in step with `Cargo.toml`.
    #[inline]
    pub fn new(
        id: impl Into<String>,
        name: impl Into<Localized>,
        version: impl Into<String>,
        publisher: impl Into<String>,
    ) -> Self {
        Manifest {
            id: id.into(),
            name: wit_text(name),
            version: version.into(),
            publisher: publisher.into(),
            description: wit_text(""),
            languages: vec!["en".to_owned()],
        }
    }

    #[inline]
    pub fn description(mut self, description: impl Into<Localized>) -> Self {
        self.description = wit_text(description);
        self
    }

    /// The languages the plugin's text is available in, default first.
    pub fn languages(mut self, languages: &[&str]) -> Self {
        self.languages = languages.iter().map(|l| (*l).to_owned()).collect();
        self
    }
}

impl Checklist {
    /// An empty version "1.0" mentorship-skills checklist.
    #[inline]
    pub fn new(id: impl Into<Text>, title: impl Into<Localized>) -> Self {
        Checklist {
            id: id.into(),
            title: title.into(),
            version: Text::new("1.0"),
            kind: ChecklistKind::MentorshipSkills,
            description: None,
            // Room for a typical checklist's sections and a section's items from the start:
            // the host builds the scored checklist again for every call (a fresh instance
            // each time), and growing a vector 4 → 8 reallocates and copies what it holds.
            sections: Vec::with_capacity(8),
        }
    }

    #[inline]
    pub fn version(mut self, version: impl Into<Text>) -> Self {
        self.version = version.into();
        self
    }

    #[inline]
    pub fn kind(mut self, kind: ChecklistKind) -> Self {
        self.kind = kind;
        self
    }

    #[inline]
    pub fn description(mut self, description: impl Into<Localized>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Appends a section built by `build`.
    #[inline]
    pub fn section(
        self,
        id: impl Into<Text>,
        title: impl Into<Localized>,
        build: impl FnOnce(Section) -> Section,
    ) -> Self {
        self.push_section(build(Section::new(id, title)))
    }

    #[inline]
    pub fn push_section(mut self, section: Section) -> Self {
        self.sections.push(section);
        self
    }

    /// Every item, in display order.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.sections.iter().flat_map(|s| s.items.iter())
    }

    #[inline]
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items().find(|i| i.id == id)
    }

    pub fn find_section(&self, id: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.id == id)
    }
}

impl Section {
    #[inline]
    pub fn new(id: impl Into<Text>, title: impl Into<Localized>) -> Self {
        Section {
            id: id.into(),
            title: title.into(),
            groups: Vec::new(),
            items: Vec::with_capacity(8), // see `Checklist::new`
        }
    }

    /// Appends a group (an SBM-R standard, say) whose items are built by
    /// `build`. The items are stored in the section, tagged with the group id.
    pub fn group(
        mut self,
        id: impl Into<Text>,
        title: impl Into<Localized>,
        build: impl FnOnce(Group) -> Group,
    ) -> Self {
        let group = build(Group {
            id: id.into(),
            items: Vec::new(),
        });
        for mut item in group.items {
            item.group = Some(group.id.clone());
            self.items.push(item);
        }
        self.groups.push(ItemGroup {
            id: group.id,
            title: title.into(),
        });
        self
    }

    /// The items of group `group_id`, in display order.
    pub fn group_items<'a>(&'a self, group_id: &'a str) -> impl Iterator<Item = &'a Item> + 'a {
        self.items
            .iter()
            .filter(move |i| i.group.as_deref() == Some(group_id))
    }
}

/// Items being added to one group of a section; see [`Section::group`].
#[derive(Debug)]
pub struct Group {
    id: Text,
    items: Vec<Item>,
}

/// Shorthands for adding items, shared by [`Section`] and [`Group`].
pub trait ItemSink: Sized {
    /// Appends a fully specified item.
    fn push(self, item: Item) -> Self;

    /// A required yes/no step of normal importance.
    #[inline]
    fn item(self, id: impl Into<Text>, prompt: impl Into<Localized>) -> Self {
        self.push(Item::new(id, prompt))
    }

    /// A required yes/no key step.
    #[inline]
    fn key_item(self, id: impl Into<Text>, prompt: impl Into<Localized>) -> Self {
        self.push(Item::new(id, prompt).key())
    }

    /// A required yes/no critical item.
    #[inline]
    fn critical_item(self, id: impl Into<Text>, prompt: impl Into<Localized>) -> Self {
        self.push(Item::new(id, prompt).critical())
    }
}

impl ItemSink for Section {
    #[inline]
    fn push(mut self, item: Item) -> Self {
        self.items.push(item);
        self
    }
}

impl ItemSink for Group {
    #[inline]
    fn push(mut self, item: Item) -> Self {
        self.items.push(item);
        self
    }
}

impl Item {
    /// A required yes/no item of normal importance and weight 1.
    #[inline]
    pub fn new(id: impl Into<Text>, prompt: impl Into<Localized>) -> Self {
        Item {
            id: id.into(),
            prompt: prompt.into(),
            help: None,
            kind: ResponseKind::YesNo,
            importance: Importance::Normal,
            weight: 1.0,
            required: true,
            group: None,
        }
    }

    /// Answered yes, no or not applicable.
    #[inline]
    pub fn yes_no_na(id: impl Into<Text>, prompt: impl Into<Localized>) -> Self {
        Item::new(id, prompt).kind(ResponseKind::YesNoNa)
    }

    /// Answered done, partly or not done.
    #[inline]
    pub fn done_partly(id: impl Into<Text>, prompt: impl Into<Localized>) -> Self {
        Item::new(id, prompt).kind(ResponseKind::DonePartlyNotDone)
    }

    /// An integer score from `min` to `max` inclusive.
    #[inline]
    pub fn score(id: impl Into<Text>, prompt: impl Into<Localized>, min: i64, max: i64) -> Self {
        Item::new(id, prompt).kind(ResponseKind::IntegerScore(IntegerRange { min, max }))
    }

    /// A number; pass `None` for an open bound. Not scored unless you say so.
    pub fn number(
        id: impl Into<Text>,
        prompt: impl Into<Localized>,
        min: Option<f64>,
        max: Option<f64>,
    ) -> Self {
        Item::new(id, prompt)
            .kind(ResponseKind::Number(NumberRange { min, max }))
            .weight(0.0)
    }

    /// One of `options`, given as `(value, label)`. Not scored unless you say so.
    pub fn single_choice<L: Into<Localized>>(
        id: impl Into<Text>,
        prompt: impl Into<Localized>,
        options: impl IntoIterator<Item = (&'static str, L)>,
    ) -> Self {
        Item::new(id, prompt)
            .kind(ResponseKind::SingleChoice(choice_options(options)))
            .weight(0.0)
    }

    /// Any of `options`, given as `(value, label)`. Not scored unless you say so.
    pub fn multiple_choice<L: Into<Localized>>(
        id: impl Into<Text>,
        prompt: impl Into<Localized>,
        options: impl IntoIterator<Item = (&'static str, L)>,
    ) -> Self {
        Item::new(id, prompt)
            .kind(ResponseKind::MultipleChoice(choice_options(options)))
            .weight(0.0)
    }

    /// Free text of at most `max_chars` characters; optional and never scored.
    pub fn text(id: impl Into<Text>, prompt: impl Into<Localized>, max_chars: u32) -> Self {
        Item::new(id, prompt)
            .kind(ResponseKind::Text(max_chars))
            .weight(0.0)
            .optional()
    }

    #[inline]
    pub fn kind(mut self, kind: ResponseKind) -> Self {
        self.kind = kind;
        self
    }

    #[inline]
    pub fn help(mut self, help: impl Into<Localized>) -> Self {
        self.help = Some(help.into());
        self
    }

    #[inline]
    pub fn key(mut self) -> Self {
        self.importance = Importance::Key;
        self
    }

    #[inline]
    pub fn critical(mut self) -> Self {
        self.importance = Importance::Critical;
        self
    }

    /// Relative weight for weighted rules; 0 makes the item unscored.
    #[inline]
    pub fn weight(mut self, weight: f64) -> Self {
        self.weight = weight;
        self
    }

    /// May be left unanswered; an unanswered item is left out of every tally.
    #[inline]
    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }
}

fn choice_options<L: Into<Localized>>(
    options: impl IntoIterator<Item = (&'static str, L)>,
) -> Vec<ChoiceOption> {
    options
        .into_iter()
        .map(|(value, label)| ChoiceOption {
            value: Text::new(value),
            label: label.into(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_sections_groups_and_items_in_order() {
        let c = Checklist::new("c", "C")
            .kind(ChecklistKind::FacilityAssessment)
            .section("a1", "Area 1", |s| {
                s.group("std1", "Standard 1", |g| {
                    g.push(Item::yes_no_na("c1", "Criterion 1"))
                        .push(Item::yes_no_na("c2", "Criterion 2"))
                })
                .item("loose", "Ungrouped")
            });
        let s = &c.sections[0];
        assert_eq!(s.groups[0].id, "std1");
        let ids: Vec<_> = c.items().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["c1", "c2", "loose"]);
        assert_eq!(s.group_items("std1").count(), 2);
        assert_eq!(c.item("loose").map(|i| i.group.clone()), Some(None));
        assert_eq!(
            c.item("c1").map(|i| i.kind.clone()),
            Some(ResponseKind::YesNoNa)
        );
    }

    #[test]
    fn descriptive_items_are_unscored_by_default() {
        assert_eq!(Item::number("n", "N", None, None).weight, 0.0);
        assert_eq!(Item::single_choice("s", "S", [("a", "A")]).weight, 0.0);
        let t = Item::text("t", "T", 200);
        assert_eq!((t.weight, t.required), (0.0, false));
    }
}
