//! The host's own model of what plugins describe and return: plain serde types, stored as JSON
//! in the database and served by the API. Conversions from the WIT types live here, so a minor
//! contract version that adds fields changes this file and nothing downstream.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::bindings::mentortrack::plugin::types as wit;
use crate::i18n::Lang;

/// Text with translations; `get` picks the user's language or falls back to the default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Localized {
    pub default: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub translations: Vec<Translation>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Translation {
    /// Language code: `en`, `fr`, `rw`, `km`…
    pub lang: String,
    pub text: String,
}

impl Localized {
    pub fn get(&self, lang: impl std::borrow::Borrow<Lang>) -> &str {
        let lang = *lang.borrow();
        self.translations
            .iter()
            .find(|t| Lang::parse(&t.lang) == Some(lang))
            .map(|t| t.text.as_str())
            .unwrap_or(&self.default)
    }

    /// Every text, for size and sanity checks.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.default.as_str())
            .chain(self.translations.iter().map(|t| t.text.as_str()))
    }
}

impl From<wit::Localized> for Localized {
    fn from(l: wit::Localized) -> Self {
        Localized {
            default: l.default,
            translations: l
                .translations
                .into_iter()
                .map(|t| Translation {
                    lang: t.lang,
                    text: t.text,
                })
                .collect(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Manifest {
    /// Unique per publisher, e.g. `hbb`.
    pub id: String,
    pub name: Localized,
    /// The plugin's own version, e.g. `1.2.0`.
    pub version: String,
    /// Code of the publishing organisation, e.g. `RPA`.
    pub publisher: String,
    pub description: Localized,
    pub languages: Vec<String>,
}

impl From<wit::Manifest> for Manifest {
    fn from(m: wit::Manifest) -> Self {
        Manifest {
            id: m.id,
            name: m.name.into(),
            version: m.version,
            publisher: m.publisher,
            description: m.description.into(),
            languages: m.languages,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChecklistKind {
    MentorshipSkills,
    ClinicalObservation,
    TrainingTest,
    FacilityAssessment,
    TeamAssessment,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Importance {
    Normal,
    Key,
    Critical,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChoiceOption {
    pub value: String,
    pub label: Localized,
}

/// How an item is answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseKind {
    YesNo,
    YesNoNa,
    DonePartlyNotDone,
    IntegerScore { min: i64, max: i64 },
    Number { min: Option<f64>, max: Option<f64> },
    SingleChoice { options: Vec<ChoiceOption> },
    MultipleChoice { options: Vec<ChoiceOption> },
    Text { max_length: u32 },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Item {
    pub id: String,
    pub prompt: Localized,
    pub help: Option<Localized>,
    pub kind: ResponseKind,
    pub importance: Importance,
    pub weight: f64,
    pub required: bool,
    /// The group (e.g. an SBM-R standard) this item belongs to.
    pub group: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ItemGroup {
    pub id: String,
    pub title: Localized,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Section {
    pub id: String,
    pub title: Localized,
    pub groups: Vec<ItemGroup>,
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Checklist {
    pub id: String,
    pub title: Localized,
    pub version: String,
    pub kind: ChecklistKind,
    pub description: Option<Localized>,
    pub sections: Vec<Section>,
}

impl Checklist {
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.sections.iter().flat_map(|s| s.items.iter())
    }
}

impl From<wit::Checklist> for Checklist {
    fn from(c: wit::Checklist) -> Self {
        Checklist {
            id: c.id,
            title: c.title.into(),
            version: c.version,
            kind: match c.kind {
                wit::ChecklistKind::MentorshipSkills => ChecklistKind::MentorshipSkills,
                wit::ChecklistKind::ClinicalObservation => ChecklistKind::ClinicalObservation,
                wit::ChecklistKind::TrainingTest => ChecklistKind::TrainingTest,
                wit::ChecklistKind::FacilityAssessment => ChecklistKind::FacilityAssessment,
                wit::ChecklistKind::TeamAssessment => ChecklistKind::TeamAssessment,
            },
            description: c.description.map(Into::into),
            sections: c
                .sections
                .into_iter()
                .map(|s| Section {
                    id: s.id,
                    title: s.title.into(),
                    groups: s
                        .groups
                        .into_iter()
                        .map(|g| ItemGroup {
                            id: g.id,
                            title: g.title.into(),
                        })
                        .collect(),
                    items: s.items.into_iter().map(item_from).collect(),
                })
                .collect(),
        }
    }
}

fn options_from(options: Vec<wit::ChoiceOption>) -> Vec<ChoiceOption> {
    options
        .into_iter()
        .map(|o| ChoiceOption {
            value: o.value,
            label: o.label.into(),
        })
        .collect()
}

fn item_from(i: wit::Item) -> Item {
    Item {
        id: i.id,
        prompt: i.prompt.into(),
        help: i.help.map(Into::into),
        kind: match i.kind {
            wit::ResponseKind::YesNo => ResponseKind::YesNo,
            wit::ResponseKind::YesNoNa => ResponseKind::YesNoNa,
            wit::ResponseKind::DonePartlyNotDone => ResponseKind::DonePartlyNotDone,
            wit::ResponseKind::IntegerScore(r) => ResponseKind::IntegerScore {
                min: r.min,
                max: r.max,
            },
            wit::ResponseKind::Number(r) => ResponseKind::Number {
                min: r.min,
                max: r.max,
            },
            wit::ResponseKind::SingleChoice(o) => ResponseKind::SingleChoice {
                options: options_from(o),
            },
            wit::ResponseKind::MultipleChoice(o) => ResponseKind::MultipleChoice {
                options: options_from(o),
            },
            wit::ResponseKind::Text(n) => ResponseKind::Text { max_length: n },
        },
        importance: match i.importance {
            wit::Importance::Normal => Importance::Normal,
            wit::Importance::Key => Importance::Key,
            wit::Importance::Critical => Importance::Critical,
        },
        weight: i.weight,
        required: i.required,
        group: i.group,
    }
}

/// One answer, as forms and the API send it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Answer {
    Yes,
    No,
    NotApplicable,
    Done,
    Partly,
    NotDone,
    Integer(i64),
    Number(f64),
    Choice(String),
    Choices(Vec<String>),
    Text(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Response {
    pub item_id: String,
    pub answer: Answer,
}

impl From<&Response> for wit::Response {
    fn from(r: &Response) -> Self {
        wit::Response {
            item_id: r.item_id.clone(),
            answer: match &r.answer {
                Answer::Yes => wit::Answer::Yes,
                Answer::No => wit::Answer::No,
                Answer::NotApplicable => wit::Answer::NotApplicable,
                Answer::Done => wit::Answer::Done,
                Answer::Partly => wit::Answer::Partly,
                Answer::NotDone => wit::Answer::NotDone,
                Answer::Integer(i) => wit::Answer::Integer(*i),
                Answer::Number(n) => wit::Answer::Number(*n),
                Answer::Choice(c) => wit::Answer::Choice(c.clone()),
                Answer::Choices(c) => wit::Answer::Choices(c.clone()),
                Answer::Text(t) => wit::Answer::Text(t.clone()),
            },
        }
    }
}

/// What the host tells the plugin about the observation being scored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScoreContext {
    pub session_type: String,
    pub mentee_cadre: String,
    /// `YYYY-MM-DD`
    pub date: String,
    pub language: String,
}

impl From<&ScoreContext> for wit::ScoreContext {
    fn from(c: &ScoreContext) -> Self {
        wit::ScoreContext {
            session_type: c.session_type.clone(),
            mentee_cadre: c.mentee_cadre.clone(),
            date: c.date.clone(),
            language: c.language.clone(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    Green,
    Amber,
    Red,
    Neutral,
}

impl Signal {
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Green => "green",
            Signal::Amber => "amber",
            Signal::Red => "red",
            Signal::Neutral => "neutral",
        }
    }
}

fn signal_from(s: wit::Signal) -> Signal {
    match s {
        wit::Signal::Green => Signal::Green,
        wit::Signal::Amber => Signal::Amber,
        wit::Signal::Red => Signal::Red,
        wit::Signal::Neutral => Signal::Neutral,
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Outcome {
    /// e.g. `pass`, `fail`, `competent`, `needs-improvement`, `not-competent`.
    pub code: String,
    pub label: Localized,
    pub level: Signal,
}

fn outcome_from(o: wit::Outcome) -> Outcome {
    Outcome {
        code: o.code,
        label: o.label.into(),
        level: signal_from(o.level),
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SectionScore {
    pub section_id: String,
    pub percentage: Option<f64>,
    pub achieved: f64,
    pub applicable: f64,
    pub outcome: Option<Outcome>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ItemFeedback {
    pub item_id: String,
    pub level: Signal,
    pub message: Localized,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Metric {
    pub name: String,
    pub value: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScoreCard {
    pub percentage: Option<f64>,
    pub outcome: Outcome,
    pub sections: Vec<SectionScore>,
    pub feedback: Vec<ItemFeedback>,
    pub metrics: Vec<Metric>,
}

impl From<wit::ScoreCard> for ScoreCard {
    fn from(c: wit::ScoreCard) -> Self {
        ScoreCard {
            percentage: c.percentage,
            outcome: outcome_from(c.outcome),
            sections: c
                .sections
                .into_iter()
                .map(|s| SectionScore {
                    section_id: s.section_id,
                    percentage: s.percentage,
                    achieved: s.achieved,
                    applicable: s.applicable,
                    outcome: s.outcome.map(outcome_from),
                })
                .collect(),
            feedback: c
                .feedback
                .into_iter()
                .map(|f| ItemFeedback {
                    item_id: f.item_id,
                    level: signal_from(f.level),
                    message: f.message.into(),
                })
                .collect(),
            metrics: c
                .metrics
                .into_iter()
                .map(|m| Metric {
                    name: m.name,
                    value: m.value,
                })
                .collect(),
        }
    }
}

/// A plugin's refusal to score: item-level problems with the responses, or its own fault.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ScoreRefusal {
    UnknownChecklist { checklist_id: String },
    InvalidResponses { errors: Vec<ItemError> },
    Internal { message: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ItemError {
    pub item_id: Option<String>,
    pub message: String,
}

impl From<wit::ScoreError> for ScoreRefusal {
    fn from(e: wit::ScoreError) -> Self {
        match e {
            wit::ScoreError::UnknownChecklist(id) => {
                ScoreRefusal::UnknownChecklist { checklist_id: id }
            }
            wit::ScoreError::InvalidResponses(errors) => ScoreRefusal::InvalidResponses {
                errors: errors
                    .into_iter()
                    .map(|e| ItemError {
                        item_id: e.item_id,
                        message: e.message,
                    })
                    .collect(),
            },
            wit::ScoreError::Internal(message) => ScoreRefusal::Internal { message },
        }
    }
}
