//! Low-dose, high-frequency practice drills of the Rwanda Association of
//! Midwives (RAM) for bleeding after birth: active management of the third
//! stage of labour (AMTSL) and the response to postpartum haemorrhage (PPH).
//!
//! A drill passes when enough steps are fully done *and* every key step is:
//! a midwife who skips the uterotonic has not managed the third stage, however
//! tidy the rest was. "Partly" is shown to the mentor but never counts as done.

use mentortrack_plugin_sdk::prelude::*;

mentortrack_plugin_sdk::register_plugin!(MidwivesLdhf);

/// The manifest id: the prefix of every metric name.
pub const ID: &str = "ldhf";

pub const AMTSL: &str = "amtsl";
pub const PPH: &str = "pph";

/// The AMTSL key step that indicators track on its own.
pub const UTEROTONIC_WITHIN_1_MIN: &str = "t02";
/// The PPH drill's timing item, reported as a metric when recorded.
pub const MINUTES_TO_UTEROTONIC: &str = "minutes";

#[derive(Debug)]
pub struct MidwivesLdhf;

impl Plugin for MidwivesLdhf {
    fn new() -> Self {
        MidwivesLdhf
    }

    fn manifest(&self) -> Manifest {
        Manifest::new(
            ID,
            Localized::new("LDHF drills: bleeding after birth")
                .fr("Exercices à faible dose et haute fréquence : saignement après la naissance"),
            env!("CARGO_PKG_VERSION"),
            "RAM",
        )
        .description(
            "Low-dose, high-frequency practice drills for active management of the third \
             stage of labour and for the first response to postpartum haemorrhage.",
        )
        .languages(&["en", "fr"])
    }

    fn checklists(&self) -> Vec<Checklist> {
        vec![amtsl(), pph()]
    }

    // The host scores each observation in a fresh instance, so `score` builds what it needs
    // on every call: only the checklist asked for, and the id without the manifest.
    fn checklist(&self, id: &str) -> Option<Checklist> {
        match id {
            AMTSL => Some(amtsl()),
            PPH => Some(pph()),
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
        let min_done = match checklist.id.as_str() {
            AMTSL => 12,
            PPH => 10,
            other => return Err(ScoreError::UnknownChecklist(other.to_owned())),
        };
        let steps = answers.tally(select::all, Coding::Binary);
        let key = answers.tally(select::key, Coding::Binary);
        let passed = steps.at_least(min_done) && key.all_achieved();

        let metric = |name: &str| metric_name(&["ldhf", &checklist.id, name]);
        let mut card = ScoreCard::new(Outcome::pass_fail(passed))
            .percentage(steps.percentage())
            .feedback_for_missed(answers, &key.missed)
            .feedback_for_missed(answers, &steps.missed)
            .metric(metric("pass"), passed)
            .metric(metric("steps_done"), steps.achieved_count())
            .metric(metric("key_steps_done"), key.achieved_count());
        for section in &checklist.sections {
            let tally = answers.section_tally(&section.id, select::all, Coding::Binary);
            // The PPH scenario section only describes the drill.
            if tally.applicable > 0.0 {
                card = card.section(tally.section_score(&section.id));
            }
        }
        match checklist.id.as_str() {
            AMTSL => {
                let on_time = answers.get(UTEROTONIC_WITHIN_1_MIN) == Some(&Answer::Done);
                card = card.metric(metric("uterotonic_within_1_min"), on_time);
            }
            _ => {
                if let Some(minutes) = answers.number(MINUTES_TO_UTEROTONIC) {
                    card = card.metric(metric("minutes_to_uterotonic"), minutes);
                }
            }
        }
        Ok(card)
    }
}

fn step(id: &'static str, prompt: &'static str) -> Item {
    Item::done_partly(id, prompt)
}

/// 15 steps; pass at 12 fully done with all 3 key steps.
fn amtsl() -> Checklist {
    Checklist::new(
        AMTSL,
        Localized::new("Drill: active management of the third stage of labour (AMTSL)")
            .fr("Exercice : gestion active de la troisième période de l'accouchement (GATPA)"),
    )
    .version("1.0")
    .kind(ChecklistKind::MentorshipSkills)
    .description(
        "15 steps; passes with 12 or more fully done, including the uterotonic within one \
         minute, controlled cord traction and uterine massage.",
    )
    .section("preparation", Localized::new("Preparation").fr("Préparation"), |s| {
        s.push(step("p01", "Explains to the woman and her companion what will be done"))
            .push(step("p02", "Washes hands and puts on sterile gloves"))
            .push(step("p03", "Prepares oxytocin 10 IU in a syringe before the birth"))
    })
    .section(
        "third-stage",
        Localized::new("Third stage").fr("Troisième période"),
        |s| {
            s.push(step("t01", "Palpates the abdomen to rule out another baby"))
                .push(
                    step(UTEROTONIC_WITHIN_1_MIN, "Gives oxytocin 10 IU IM within 1 minute of birth")
                        .key()
                        .help("Done only if the injection is given within the first minute."),
                )
                .push(step("t03", "Keeps the baby dry, covered and skin-to-skin with the mother"))
                .push(step("t04", "Clamps and cuts the cord 1–3 minutes after birth"))
                .push(step("t05", "Holds the clamped cord close to the perineum"))
                .push(step("t06", "Places the other hand above the pubic bone to support the uterus"))
                .push(
                    step("t07", "Applies controlled cord traction during a contraction, with counter-traction")
                        .key()
                        .help("Never pulls the cord without a contraction and counter-traction."),
                )
                .push(step("t08", "Delivers the placenta with both hands, easing the membranes out"))
        },
    )
    .section(
        "after-placenta",
        Localized::new("After the placenta").fr("Après la délivrance"),
        |s| {
            s.push(step("a01", "Massages the uterus through the abdomen until it is firm").key())
                .push(step("a02", "Checks that the placenta and membranes are complete"))
                .push(step("a03", "Examines the perineum and vagina for tears"))
                .push(step("a04", "Checks uterine tone and bleeding every 15 minutes"))
        },
    )
}

/// 12 scored steps; pass at 10 fully done with all 3 key steps.
fn pph() -> Checklist {
    Checklist::new(
        PPH,
        Localized::new("Drill: first response to postpartum haemorrhage")
            .fr("Exercice : première réponse à l'hémorragie du post-partum"),
    )
    .version("1.0")
    .kind(ChecklistKind::MentorshipSkills)
    .description(
        "12 steps; passes with 10 or more fully done, including calling for help, uterine \
         massage and a uterotonic.",
    )
    .section(
        "scenario",
        Localized::new("Scenario").fr("Scénario"),
        |s| {
            s.push(Item::single_choice(
                "scenario",
                "Cause of bleeding played in the drill",
                [
                    ("atony", "Uterine atony"),
                    ("retained-placenta", "Retained placenta"),
                    ("tears", "Tears of the genital tract"),
                ],
            ))
        },
    )
    .section(
        "first-response",
        Localized::new("First response").fr("Première réponse"),
        |s| {
            s.push(step("f01", "Recognises excessive bleeding and calls for help").key())
                .push(step("f02", "Massages the uterus until it is firm").key())
                .push(step("f03", "Gives oxytocin 10 IU IM or IV").key())
                .push(
                    Item::number(
                        MINUTES_TO_UTEROTONIC,
                        "Minutes from recognising the bleeding to giving the uterotonic",
                        Some(0.0),
                        Some(120.0),
                    )
                    .optional(),
                )
                .push(step("f04", "Starts an IV line and gives IV fluids"))
                .push(step("f05", "Empties the bladder"))
                .push(step(
                    "f06",
                    "Checks that the placenta and membranes are complete",
                ))
                .push(step(
                    "f07",
                    "Examines the perineum, vagina and cervix for tears",
                ))
        },
    )
    .section(
        "ongoing-care",
        Localized::new("Ongoing care").fr("Soins continus"),
        |s| {
            s.push(step(
                "o01",
                "Monitors pulse, blood pressure and bleeding every 15 minutes",
            ))
            .push(step(
                "o02",
                "Performs bimanual compression of the uterus if bleeding continues",
            ))
            .push(step(
                "o03",
                "Arranges referral when bleeding is not controlled",
            ))
            .push(step(
                "o04",
                "Keeps the woman and her companion informed throughout",
            ))
            .push(step("o05", "Records findings, drugs and times"))
        },
    )
}
