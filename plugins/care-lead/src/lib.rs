//! CARE Cambodia's LEAD project (Ratanak Kiri and Mondul Kiri): the quarterly assessment of a
//! village team (a midwife, Village Health Support Group members and traditional birth
//! attendants) against the targets it set, which decides the team's incentive.
//!
//! The rule, as CARE and the operational districts apply it each quarter:
//!
//! - A measure (households mapped, community education sessions, household visits, referrals,
//!   escorts) counts when its target is above 0. Its achievement is achieved / target, capped
//!   at 100 %: doing more of one thing does not make up for another. A measure is *met* when
//!   achieved ≥ target.
//! - The overall score is the mean achievement of the measures that count. With no target set
//!   the assessment is not scored and earns nothing.
//! - **Full award** ([`FULL_AWARD`] US dollars) when every measure that counts reaches 90 %,
//!   the bi-monthly team meetings with the midwife were held and the registers are complete.
//! - **Partial award** ([`PARTIAL_AWARD`]) otherwise when the overall score reaches 70 %.
//! - **No award** below that.
//!
//! Escorts are referrals the TBA accompanied, so more escorts than referrals is refused as a
//! counting mistake, naming the escorts item.

use mentortrack_plugin_sdk::prelude::*;

mentortrack_plugin_sdk::register_plugin!(CareLead);

/// The manifest id: metric names start with `care_lead.`.
pub const ID: &str = "care-lead";
pub const TEAM_QUARTERLY: &str = "team-quarterly";

/// The award amounts, in US dollars (the currency the programme pays incentives in).
pub const FULL_AWARD: f64 = 40.0;
pub const PARTIAL_AWARD: f64 = 20.0;
/// Every measure must reach this achievement (in percent) for the full award.
pub const FULL_THRESHOLD: f64 = 90.0;
/// The overall achievement (in percent) for the partial award.
pub const PARTIAL_THRESHOLD: f64 = 70.0;
/// The largest count a target or an achievement may be.
pub const MAX_COUNT: i64 = 10_000;

pub const MEETINGS: &str = "team-meetings";
pub const REGISTERS: &str = "registers-complete";

/// The measures (section ids). Items are `<id>-target` and `<id>-achieved`; the host
/// fills them from the team's quarterly targets (measure names with `_` for `-`).
pub const MEASURES: [&str; 5] = [
    "households-mapped",
    "education-sessions",
    "home-visits",
    "referrals",
    "escorts",
];

#[derive(Debug)]
pub struct CareLead;

impl Plugin for CareLead {
    fn new() -> Self {
        CareLead
    }

    fn manifest(&self) -> Manifest {
        Manifest::new(
            ID,
            Localized::new("CARE LEAD village team assessment")
                .fr("Évaluation des équipes villageoises CARE LEAD")
                .km("ការវាយតម្លៃក្រុមភូមិ CARE LEAD"),
            env!("CARGO_PKG_VERSION"),
            "CARE",
        )
        .description(
            "Quarterly assessment of village teams (midwife, Village Health Support Group, \
             traditional birth attendants) against their targets, with the incentive award.",
        )
        .languages(&["en", "fr", "km"])
    }

    fn checklists(&self) -> Vec<Checklist> {
        vec![team_quarterly()]
    }

    fn checklist(&self, id: &str) -> Option<Checklist> {
        (id == TEAM_QUARTERLY).then(team_quarterly)
    }

    fn id(&self) -> String {
        ID.to_owned()
    }

    fn validate(&self, _checklist: &Checklist, answers: &Answers<'_>) -> Vec<ItemError> {
        let referrals = answers.number("referrals-achieved").unwrap_or(0.0);
        let escorts = answers.number("escorts-achieved").unwrap_or(0.0);
        if escorts > referrals {
            vec![ItemError {
                item_id: Some("escorts-achieved".to_owned()),
                message: "more escorts than referrals: every escorted woman was referred"
                    .to_owned(),
            }]
        } else {
            Vec::new()
        }
    }

    fn score(
        &self,
        checklist: &Checklist,
        answers: &Answers<'_>,
        _context: &ScoreContext,
    ) -> Result<ScoreCard, ScoreError> {
        let mut card_sections = Vec::new();
        let mut feedback = Vec::new();
        let (mut set, mut met, mut sum, mut all_high) = (0u32, 0u32, 0.0, true);
        for measure in MEASURES {
            let target = answers.number(&format!("{measure}-target")).unwrap_or(0.0);
            let achieved = answers
                .number(&format!("{measure}-achieved"))
                .unwrap_or(0.0);
            if target <= 0.0 {
                continue;
            }
            let percent = (achieved / target * 100.0).min(100.0);
            set += 1;
            sum += percent;
            if achieved >= target {
                met += 1;
            }
            if !rules::meets(percent, FULL_THRESHOLD) {
                all_high = false;
                feedback.push(format!("{measure}-achieved"));
            }
            card_sections.push(SectionScore {
                section_id: measure.to_owned(),
                percentage: Some(percent),
                achieved: achieved.min(target),
                applicable: target,
                outcome: None,
            });
        }
        let overall = (set > 0).then(|| sum / f64::from(set));
        let meetings = answers.is_positive(MEETINGS);
        let registers = answers.is_positive(REGISTERS);
        let (outcome, award) = match overall {
            None => (Outcome::not_scored(), 0.0),
            Some(_) if all_high && meetings && registers => (full_award(), FULL_AWARD),
            Some(p) if rules::meets(p, PARTIAL_THRESHOLD) => (partial_award(), PARTIAL_AWARD),
            Some(_) => (no_award(), 0.0),
        };
        let metric = |name: &str| metric_name(&["care_lead", &checklist.id, name]);
        let mut card = ScoreCard::new(outcome)
            .percentage(overall)
            .metric(metric("targets_met"), met)
            .metric(metric("targets_set"), set)
            .metric(metric("award"), award);
        for section in card_sections {
            card = card.section(section);
        }
        for item in feedback {
            card = card.feedback(
                item,
                Signal::Amber,
                Localized::new("Below 90 % of the target.").fr("Moins de 90 % de la cible."),
            );
        }
        if !meetings {
            card = card.feedback(
                MEETINGS,
                Signal::Red,
                Localized::new("Hold the bi-monthly meeting with the midwife: needed for the full award.")
                    .fr("Tenir la réunion bimestrielle avec la sage-femme : nécessaire pour la prime complète."),
            );
        }
        if !registers {
            card = card.feedback(
                REGISTERS,
                Signal::Red,
                Localized::new("Complete the registers: needed for the full award.")
                    .fr("Compléter les registres : nécessaire pour la prime complète."),
            );
        }
        Ok(card)
    }
}

fn full_award() -> Outcome {
    Outcome::new(
        "full-award",
        Localized::new("Full award")
            .fr("Prime complète")
            .km("រង្វាន់ពេញលេញ"),
        Signal::Green,
    )
}

fn partial_award() -> Outcome {
    Outcome::new(
        "partial-award",
        Localized::new("Partial award")
            .fr("Prime partielle")
            .km("រង្វាន់មួយផ្នែក"),
        Signal::Amber,
    )
}

fn no_award() -> Outcome {
    Outcome::new(
        "no-award",
        Localized::new("No award").fr("Pas de prime").km("គ្មានរង្វាន់"),
        Signal::Red,
    )
}

/// A measure's title.
fn measure_title(measure: &str) -> Localized {
    match measure {
        "households-mapped" => Localized::new("Target households mapped")
            .fr("Ménages cibles cartographiés")
            .km("គ្រួសារគោលដៅដែលបានគូសផែនទី"),
        "education-sessions" => Localized::new("Community education sessions")
            .fr("Séances d'éducation communautaire")
            .km("វគ្គអប់រំសហគមន៍"),
        "home-visits" => Localized::new("Household visits")
            .fr("Visites à domicile")
            .km("ការចុះសួរសុខទុក្ខតាមផ្ទះ"),
        "referrals" => Localized::new("Referrals to the health centre")
            .fr("Références vers le centre de santé")
            .km("ការបញ្ជូនទៅមណ្ឌលសុខភាព"),
        _ => Localized::new("Pregnant women escorted")
            .fr("Femmes enceintes accompagnées")
            .km("ស្ត្រីមានផ្ទៃពោះដែលបានអមដំណើរ"),
    }
}

fn team_quarterly() -> Checklist {
    let mut checklist = Checklist::new(
        TEAM_QUARTERLY,
        Localized::new("Quarterly village team assessment")
            .fr("Évaluation trimestrielle de l'équipe villageoise")
            .km("ការវាយតម្លៃក្រុមភូមិប្រចាំត្រីមាស"),
    )
    .version("1.0")
    .kind(ChecklistKind::TeamAssessment)
    .description(
        "Targets and achievements per measure (capped at 100 %), team meetings and registers. \
         Full award: every measure at 90 % or more, meetings held and registers complete; \
         partial award: overall 70 % or more.",
    );
    for measure in MEASURES {
        checklist = checklist.section(measure, measure_title(measure), |s| {
            s.push(
                Item::score(
                    format!("{measure}-target"),
                    Localized::new("Target for the quarter")
                        .fr("Cible du trimestre")
                        .km("គោលដៅសម្រាប់ត្រីមាស"),
                    0,
                    MAX_COUNT,
                )
                .weight(0.0)
                .help("0 when the team set no target for this measure."),
            )
            .push(
                Item::score(
                    format!("{measure}-achieved"),
                    Localized::new("Achieved in the quarter")
                        .fr("Réalisé dans le trimestre")
                        .km("សម្រេចបានក្នុងត្រីមាស"),
                    0,
                    MAX_COUNT,
                )
                .weight(0.0),
            )
        });
    }
    checklist.section(
        "team-work",
        Localized::new("Team work")
            .fr("Travail d'équipe")
            .km("ការងារក្រុម"),
        |s| {
            s.push(Item::new(
                MEETINGS,
                Localized::new("Bi-monthly team meetings with the midwife were held")
                    .fr("Les réunions d'équipe bimestrielles avec la sage-femme ont eu lieu")
                    .km("បានធ្វើកិច្ចប្រជុំក្រុមជាមួយឆ្មបរៀងរាល់ពីរខែម្តង"),
            ))
            .push(Item::new(
                REGISTERS,
                Localized::new("Household and referral registers are complete")
                    .fr("Les registres des ménages et des références sont complets")
                    .km("បញ្ជីគ្រួសារ និងបញ្ជីបញ្ជូនបានបំពេញគ្រប់គ្រាន់"),
            ))
        },
    )
}
