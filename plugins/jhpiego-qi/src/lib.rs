//! Jhpiego's quality-improvement tools for maternal and newborn health:
//!
//! - an SBM-R (standards-based management and recognition) facility
//!   assessment: areas → standards → verification criteria;
//! - an intrapartum supportive-supervision observation scored into
//!   competency classes from critical and non-critical items.

use mentortrack_plugin_sdk::prelude::*;
use mentortrack_plugin_sdk::rules::{recognition, signal_for};

mentortrack_plugin_sdk::register_plugin!(JhpiegoQi);

/// The manifest id: the prefix of every metric name.
pub const ID: &str = "qi";

pub const SBMR: &str = "sbmr-mnh";
pub const SUPERVISION: &str = "supportive-supervision";

/// Share of applicable standards a facility needs for recognition, in percent.
pub const RECOGNITION_TARGET: f64 = 80.0;

/// Items phrased as a practice to avoid: "yes" loses the point.
pub const REVERSED_ITEMS: [&str; 2] = ["ss10", "ss13"];

#[derive(Debug)]
pub struct JhpiegoQi;

impl Plugin for JhpiegoQi {
    fn new() -> Self {
        JhpiegoQi
    }

    fn manifest(&self) -> Manifest {
        Manifest::new(
            ID,
            "Maternal and newborn quality improvement",
            env!("CARGO_PKG_VERSION"),
            "JHPIEGO",
        )
        .description(
            "SBM-R facility standards assessment for maternal and newborn care, and an \
             intrapartum supportive-supervision observation with critical items.",
        )
    }

    fn checklists(&self) -> Vec<Checklist> {
        vec![sbmr(), supervision()]
    }

    // The host scores each observation in a fresh instance, so `score` builds what it needs
    // on every call: only the checklist asked for, and the id without the manifest.
    fn checklist(&self, id: &str) -> Option<Checklist> {
        match id {
            SBMR => Some(sbmr()),
            SUPERVISION => Some(supervision()),
            _ => None,
        }
    }

    fn id(&self) -> String {
        ID.to_owned()
    }

    fn score(
        &self,
        checklist: &Checklist,
        answers: &Answers<'_>,
        _context: &ScoreContext,
    ) -> Result<ScoreCard, ScoreError> {
        match checklist.id.as_str() {
            SBMR => Ok(score_sbmr(checklist, answers)),
            SUPERVISION => Ok(score_supervision(checklist, answers)),
            other => Err(ScoreError::UnknownChecklist(other.to_owned())),
        }
    }
}

/// A standard is achieved only when every applicable criterion is yes; an
/// area scores achieved / applicable standards; the facility's overall score
/// pools the standards of all areas (it is not an average of area scores, so
/// an area with few applicable standards does not weigh as much as a full one).
fn score_sbmr(checklist: &Checklist, answers: &Answers<'_>) -> ScoreCard {
    let metric = |parts: &[&str]| {
        let mut all = vec!["qi", SBMR];
        all.extend_from_slice(parts);
        metric_name(&all)
    };
    let mut overall = Tally::default();
    let mut areas = Vec::new();
    let mut area_metrics = Vec::new();
    for section in &checklist.sections {
        let tally = answers.standards(section).tally();
        let percentage = tally.percentage();
        areas.push(
            tally
                .section_score(&section.id)
                .outcome(area_outcome(percentage)),
        );
        if let Some(p) = percentage {
            area_metrics.push((metric(&[&section.id, "percentage"]), p));
        }
        overall.absorb(tally);
    }

    let outcome = recognition(overall.percentage(), RECOGNITION_TARGET);
    let recognised = outcome.code == "recognised";
    let mut card = ScoreCard::new(outcome)
        .percentage(overall.percentage())
        .metric(metric(&["standards_achieved"]), overall.achieved_count())
        .metric(
            metric(&["standards_applicable"]),
            overall.applicable_count(),
        )
        .metric(metric(&["recognised"]), recognised);
    if let Some(p) = overall.percentage() {
        card = card.metric(metric(&["percentage"]), p);
    }
    for area in areas {
        card = card.section(area);
    }
    for (name, value) in area_metrics {
        card = card.metric(name, value);
    }
    for item in &overall.missed {
        card = card.feedback(
            item.id.clone(),
            Signal::Amber,
            feedback::criterion_not_met(),
        );
    }
    card
}

/// Areas are coloured like dashboards (80 green, 60 amber); the label says
/// what the colour means.
fn area_outcome(percentage: Option<f64>) -> Outcome {
    let level = signal_for(percentage);
    let (code, label) = match level {
        Signal::Green => ("on-target", Localized::new("On target (80 % or more)")),
        Signal::Amber => ("near-target", Localized::new("Near target (60–79 %)")),
        Signal::Red => ("below-target", Localized::new("Below target (under 60 %)")),
        Signal::Neutral => return Outcome::not_scored(),
    };
    Outcome::new(code, label, level)
}

fn supervision_coding(item: &Item) -> Coding {
    if REVERSED_ITEMS.contains(&item.id.as_str()) {
        Coding::Reversed
    } else {
        // yes = 1, partly = 0.5, no = 0
        Coding::Partial
    }
}

/// Critical score = % of critical items done; non-critical likewise. Competent:
/// critical 100 % and non-critical ≥ 89.9 %; needs improvement: critical 100 %
/// and non-critical ≥ 79.9 %; otherwise not competent.
fn score_supervision(checklist: &Checklist, answers: &Answers<'_>) -> ScoreCard {
    let critical = answers.tally(select::critical, supervision_coding);
    let non_critical = answers.tally(select::non_critical, supervision_coding);
    let all = answers.tally(select::all, supervision_coding);
    let competency = Competency::from_tallies(&critical, &non_critical);

    let metric = |name: &str| metric_name(&["qi", SUPERVISION, name]);
    let mut card = ScoreCard::new(competency.outcome())
        .percentage(all.percentage())
        .feedback_for_missed(answers, &critical.missed)
        .feedback_for_missed(answers, &all.missed)
        .metric(metric("competent"), competency == Competency::Competent)
        .metric(
            metric("needs_improvement"),
            competency == Competency::NeedsImprovement,
        )
        .metric(
            metric("not_competent"),
            competency == Competency::NotCompetent,
        );
    if let Some(p) = critical.percentage() {
        card = card.metric(metric("critical_percentage"), p);
    }
    if let Some(p) = non_critical.percentage() {
        card = card.metric(metric("non_critical_percentage"), p);
    }
    for section in &checklist.sections {
        let tally = answers.section_tally(&section.id, select::all, supervision_coding);
        if tally.applicable > 0.0 {
            card = card.section(tally.section_score(&section.id));
        }
    }
    card
}

fn criterion(id: &'static str, prompt: &'static str) -> Item {
    Item::yes_no_na(id, prompt)
}

fn sbmr() -> Checklist {
    Checklist::new(SBMR, "SBM-R: maternal and newborn care standards")
        .version("1.0")
        .kind(ChecklistKind::FacilityAssessment)
        .description(
            "Answer each verification criterion yes, no or not applicable. A standard is \
             achieved when all its applicable criteria are yes; the facility is recognised at \
             80 % of applicable standards achieved. Use the same tool for self, peer, internal \
             and external assessments so that scores compare over time.",
        )
        .section("anc", "Antenatal care", |s| {
            s.group(
                "anc1",
                "The provider takes a complete history at the first visit",
                |g| {
                    g.push(criterion(
                        "anc1-1",
                        "Asks the date of the last menstrual period and calculates the due date",
                    ))
                    .push(criterion(
                        "anc1-2",
                        "Asks about previous pregnancies and their complications",
                    ))
                    .push(criterion(
                        "anc1-3",
                        "Asks about danger signs in this pregnancy",
                    ))
                },
            )
            .group(
                "anc2",
                "The provider screens for high blood pressure, anaemia, syphilis and HIV",
                |g| {
                    g.push(criterion("anc2-1", "Measures blood pressure"))
                        .push(criterion(
                            "anc2-2",
                            "Measures haemoglobin or checks for pallor",
                        ))
                        .push(criterion("anc2-3", "Offers syphilis and HIV testing"))
                },
            )
            .group(
                "anc3",
                "The provider gives iron and folic acid and helps the woman prepare for birth",
                |g| {
                    g.push(criterion(
                        "anc3-1",
                        "Gives iron and folic acid and explains how to take them",
                    ))
                    .push(criterion(
                        "anc3-2",
                        "Helps the woman plan where she will give birth, transport and a companion",
                    ))
                },
            )
        })
        .section("labour", "Labour and birth", |s| {
            s.group(
                "lb1",
                "The provider monitors labour with a partograph",
                |g| {
                    g.push(criterion("lb1-1", "Starts the partograph in active labour"))
                        .push(criterion(
                            "lb1-2",
                            "Records the fetal heart rate every 30 minutes",
                        ))
                        .push(criterion(
                            "lb1-3",
                            "Records cervical dilatation at least every 4 hours",
                        ))
                },
            )
            .group(
                "lb2",
                "The provider actively manages the third stage of labour",
                |g| {
                    g.push(criterion(
                        "lb2-1",
                        "Gives oxytocin 10 IU IM within 1 minute of birth",
                    ))
                    .push(criterion(
                        "lb2-2",
                        "Applies controlled cord traction with counter-traction",
                    ))
                    .push(criterion(
                        "lb2-3",
                        "Massages the uterus after the placenta is delivered",
                    ))
                },
            )
            .group("lb3", "The provider gives immediate newborn care", |g| {
                g.push(criterion(
                    "lb3-1",
                    "Dries the baby and places it skin-to-skin with the mother",
                ))
                .push(criterion(
                    "lb3-2",
                    "Clamps the cord 1–3 minutes after birth",
                ))
                .push(criterion(
                    "lb3-3",
                    "Helps the mother start breastfeeding within the first hour",
                ))
                .push(criterion(
                    "lb3-4",
                    "Ventilates with bag and mask when the baby does not breathe",
                ))
            })
            .group(
                "lb4",
                "The provider manages severe pre-eclampsia and eclampsia",
                |g| {
                    g.push(criterion(
                        "lb4-1",
                        "Checks blood pressure and urine protein on admission in labour",
                    ))
                    .push(criterion(
                        "lb4-2",
                        "Gives magnesium sulphate for severe pre-eclampsia or eclampsia",
                    ))
                },
            )
        })
        .section("ip", "Infection prevention", |s| {
            s.group(
                "ip1",
                "Hand hygiene is practised at every point of care",
                |g| {
                    g.push(criterion(
                        "ip1-1",
                        "Soap and water or alcohol hand rub is available where care is given",
                    ))
                    .push(criterion(
                        "ip1-2",
                        "Providers clean their hands before and after each examination",
                    ))
                },
            )
            .group("ip2", "Instruments are processed correctly", |g| {
                g.push(criterion(
                    "ip2-1",
                    "Instruments are decontaminated in 0.5 % chlorine for 10 minutes after use",
                ))
                .push(criterion(
                    "ip2-2",
                    "Instruments are sterilised or high-level disinfected before reuse",
                ))
            })
            .group("ip3", "Waste is segregated and disposed of safely", |g| {
                g.push(criterion(
                    "ip3-1",
                    "Sharps go into a puncture-resistant container",
                ))
                .push(criterion(
                    "ip3-2",
                    "Colour-coded bins separate infectious from general waste",
                ))
            })
        })
}

fn supervision() -> Checklist {
    Checklist::new(
        SUPERVISION,
        "Supportive supervision: care during labour and birth",
    )
    .version("1.0")
    .kind(ChecklistKind::ClinicalObservation)
    .description(
        "Critical items must all be done to be competent. Non-critical items: 89.9 % or more \
             is competent, 79.9 % or more competent but needs improvement. Partly done earns half \
             a point; items phrased as practices to avoid earn the point when answered no.",
    )
    .section("setting", "Setting", |s| {
        s.push(Item::single_choice(
            "setting",
            "What was observed",
            [
                ("real", "Care of a woman in labour"),
                ("simulation", "A simulated birth"),
            ],
        ))
    })
    .section("before-birth", "Before the birth", |s| {
        s.critical_item("ss01", "Cleans hands before examining the woman")
            .push(Item::done_partly(
                "ss02",
                "Greets the woman respectfully and explains each examination",
            ))
            .push(
                Item::yes_no_na("ss03", "Monitors labour on a partograph")
                    .critical()
                    .help("Not applicable only if the woman arrived in the second stage."),
            )
            .push(Item::yes_no_na(
                "ss04",
                "Checks the fetal heart rate every 30 minutes in active labour",
            ))
            .push(Item::done_partly(
                "ss05",
                "Encourages the woman to move, eat and drink, and to have a companion",
            ))
    })
    .section("birth", "Birth and third stage", |s| {
        s.critical_item("ss06", "Gives oxytocin 10 IU IM within 1 minute of birth")
            .item(
                "ss07",
                "Applies controlled cord traction with counter-traction",
            )
            .item(
                "ss08",
                "Massages the uterus after the placenta is delivered",
            )
            .item(
                "ss09",
                "Checks that the placenta and membranes are complete",
            )
            .push(
                Item::new("ss10", "Performs an episiotomy without a clear indication")
                    .help("A practice to avoid: answer yes if it happened."),
            )
    })
    .section("newborn", "Newborn care", |s| {
        s.push(
            Item::done_partly("ss11", "Dries the baby at once and assesses breathing").critical(),
        )
        .item(
            "ss12",
            "Places the baby skin-to-skin and delays cord clamping",
        )
        .push(
            Item::new(
                "ss13",
                "Separates the baby from the mother in the first hour without a medical reason",
            )
            .help("A practice to avoid: answer yes if it happened."),
        )
        .push(Item::done_partly(
            "ss14",
            "Helps the mother start breastfeeding within the first hour",
        ))
        .item(
            "ss15",
            "Records the birth and the care given in the register",
        )
    })
    .section("notes", "Notes", |s| {
        s.push(Item::text(
            "comments",
            "Points discussed with the provider",
            1000,
        ))
    })
}
