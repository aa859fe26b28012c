//! Helping Babies Breathe, 2nd edition: the learner assessments, as published
//! by the paediatric association (RPA) for LDHF practice and refresher training.
//!
//! Every assessment passes on "at least N steps done and every key step done";
//! only N and the key steps differ.

use mentortrack_plugin_sdk::prelude::*;

mentortrack_plugin_sdk::register_plugin!(Hbb);

/// The manifest id: the prefix of every metric name.
pub const ID: &str = "hbb";

pub const KNOWLEDGE_CHECK: &str = "knowledge-check";
pub const BAG_MASK: &str = "bag-mask";
pub const OSCE_A: &str = "osce-a";
pub const OSCE_B: &str = "osce-b";

#[derive(Debug)]
pub struct Hbb;

/// What an assessment needs to pass.
struct PassRule {
    /// Steps (or correct answers) needed; `None` means every one.
    min_done: Option<u32>,
    /// The name of the count in metrics.
    count_metric: &'static str,
}

fn pass_rule(checklist_id: &str) -> Option<PassRule> {
    let (min_done, count_metric) = match checklist_id {
        KNOWLEDGE_CHECK => (Some(14), "correct"),
        BAG_MASK => (None, "steps_done"),
        OSCE_A => (Some(9), "steps_done"),
        OSCE_B => (Some(17), "steps_done"),
        _ => return None,
    };
    Some(PassRule {
        min_done,
        count_metric,
    })
}

impl Plugin for Hbb {
    fn new() -> Self {
        Hbb
    }

    fn manifest(&self) -> Manifest {
        Manifest::new(
            ID,
            Localized::new("Helping Babies Breathe").fr("Aider les bébés à respirer"),
            env!("CARGO_PKG_VERSION"),
            "RPA",
        )
        .description(
            Localized::new(
                "Helping Babies Breathe (2nd edition) learner assessments: knowledge check, \
                 bag-and-mask ventilation skills check, OSCE A and OSCE B.",
            )
            .fr(
                "Évaluations des apprenants d'Aider les bébés à respirer (2e édition) : \
                 évaluation des connaissances, évaluation pratique de la ventilation au \
                 ballon et au masque, ECOS A et ECOS B.",
            ),
        )
        .languages(&["en", "fr"])
    }

    fn checklists(&self) -> Vec<Checklist> {
        vec![knowledge_check(), bag_mask(), osce_a(), osce_b()]
    }

    // The host scores each observation in a fresh instance, so `score` builds what it needs
    // on every call: only the checklist asked for, and the id without the manifest.
    fn checklist(&self, id: &str) -> Option<Checklist> {
        match id {
            KNOWLEDGE_CHECK => Some(knowledge_check()),
            BAG_MASK => Some(bag_mask()),
            OSCE_A => Some(osce_a()),
            OSCE_B => Some(osce_b()),
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
        let Some(rule) = pass_rule(&checklist.id) else {
            return Err(ScoreError::UnknownChecklist(checklist.id.to_string()));
        };
        // "Done" means done: these assessments give no credit for half a step.
        let steps = answers.tally(select::all, Coding::Binary);
        let key = answers.tally(select::key, Coding::Binary);
        let enough = match rule.min_done {
            Some(n) => steps.at_least(n),
            None => steps.all_achieved(),
        };
        let passed = enough && key.all_achieved();

        let metric = |name: &str| metric_name(&["hbb", &checklist.id, name]);
        let mut card = ScoreCard::new(Outcome::pass_fail(passed))
            .percentage(steps.percentage())
            .feedback_for_missed(answers, &key.missed)
            .feedback_for_missed(answers, &steps.missed)
            .metric(metric("pass"), passed)
            .metric(metric(rule.count_metric), steps.achieved_count());
        if key.applicable > 0.0 {
            card = card.metric(metric("key_steps_done"), key.achieved_count());
        }
        for section in &checklist.sections {
            let tally = answers.section_tally(&section.id, select::all, Coding::Binary);
            card = card.section(tally.section_score(&section.id));
        }
        Ok(card)
    }
}

fn preparing_for_birth() -> Localized {
    Localized::new("Preparing for birth").fr("Préparation à la naissance")
}

fn golden_minute() -> Localized {
    Localized::new("The Golden Minute").fr("La Minute d'Or")
}

fn ventilation() -> Localized {
    Localized::new("Ventilation").fr("Ventilation")
}

fn correct_if_answered_right() -> Localized {
    Localized::new("Yes if the learner answered this question correctly.")
        .fr("Oui si l'apprenant a répondu correctement à cette question.")
}

fn question(id: &'static str, prompt: &'static str) -> Item {
    Item::new(id, prompt).help(correct_if_answered_right())
}

/// 18 questions; pass at 14 correct.
fn knowledge_check() -> Checklist {
    Checklist::new(
        KNOWLEDGE_CHECK,
        Localized::new("Knowledge check").fr("Évaluation des connaissances"),
    )
    .version("2.0")
    .kind(ChecklistKind::TrainingTest)
    .description("18 questions; the learner passes with 14 or more correct.")
    .section("preparation", preparing_for_birth(), |s| {
        s.push(question(
            "q01",
            "Identifying a helper and reviewing the emergency plan before birth",
        ))
        .push(question(
            "q02",
            "Preparing the area for delivery and the supplies needed",
        ))
        .push(question(
            "q03",
            "Checking that the bag and mask work before birth",
        ))
    })
    .section(
        "routine-care",
        Localized::new("Routine care").fr("Soins de routine"),
        |s| {
            s.push(question(
                "q04",
                "Drying thoroughly as the first step after birth",
            ))
            .push(question(
                "q05",
                "Recognising a baby who is crying and breathing well",
            ))
            .push(question(
                "q06",
                "Routine care: skin-to-skin, cord clamping after 1–3 minutes, breastfeeding",
            ))
        },
    )
    .section("golden-minute", golden_minute(), |s| {
        s.push(question(
            "q07",
            "Keeping the baby warm while assessing breathing",
        ))
        .push(question(
            "q08",
            "Clearing the airway: positioning the head and clearing secretions",
        ))
        .push(question("q09", "Stimulating breathing by rubbing the back"))
        .push(question(
            "q10",
            "Recognising a baby who is not breathing after stimulation",
        ))
        .push(question(
            "q11",
            "Starting ventilation within The Golden Minute",
        ))
        .push(question("q12", "Position of the head for ventilation"))
    })
    .section("ventilation", ventilation(), |s| {
        s.push(question(
            "q13",
            "Fitting the mask over the chin, mouth and nose with a firm seal",
        ))
        .push(question("q14", "Ventilation rate of 40 breaths a minute"))
        .push(question(
            "q15",
            "Chest rise as the sign of effective ventilation",
        ))
        .push(question(
            "q16",
            "Improving ventilation when the chest does not rise",
        ))
        .push(question(
            "q17",
            "Calling for help and checking the heart rate during ventilation",
        ))
        .push(question(
            "q18",
            "Deciding on care by heart rate: normal or slow",
        ))
    })
}

/// 14 steps, all required.
fn bag_mask() -> Checklist {
    Checklist::new(
        BAG_MASK,
        Localized::new("Bag-and-mask ventilation skills check")
            .fr("Évaluation pratique : ventilation au ballon et au masque"),
    )
    .version("2.0")
    .kind(ChecklistKind::MentorshipSkills)
    .description("14 steps; the learner passes only with all 14 done.")
    .section("ventilation", ventilation(), |s| {
        s.item(
            "bm01",
            "Checks the bag and mask: squeezes the bag against the palm and sees the valve move",
        )
        .item(
            "bm02",
            "Chooses a mask that covers the chin, mouth and nose but not the eyes",
        )
        .item("bm03", "Positions the head slightly extended")
        .item(
            "bm04",
            "Places the mask on the chin first, then over the mouth and nose",
        )
        .item(
            "bm05",
            "Holds the mask for a firm seal between mask and face",
        )
        .item(
            "bm06",
            "Squeezes the bag with enough force to move the chest",
        )
        .item("bm07", "Looks for the chest to rise with each breath")
        .item("bm08", "Ventilates at 40 breaths a minute")
        .item("bm09", "Recognises when the chest is not rising")
        .item("bm10", "Reapplies the mask to improve the seal")
        .item("bm11", "Repositions the head")
        .item("bm12", "Clears secretions from the mouth and nose")
        .item("bm13", "Opens the mouth slightly")
        .item("bm14", "Squeezes the bag harder")
    })
}

/// 12 steps; pass at 9 with all 3 key steps.
fn osce_a() -> Checklist {
    Checklist::new(
        OSCE_A,
        Localized::new("OSCE A: baby responds to drying, clearing the airway and stimulation")
            .fr("ECOS A : le bébé réagit au séchage, à la libération des voies aériennes et à la stimulation"),
    )
    .version("2.0")
    .kind(ChecklistKind::MentorshipSkills)
    .description("12 steps; the learner passes with 9 or more done, including all 3 key steps.")
    .section("preparation", preparing_for_birth(), |s| {
        s.item("a01", "Identifies a helper and reviews the emergency plan")
            .push(
                Item::new("a02", "Prepares the area for delivery and checks the bag and mask")
                    .key()
                    .help("Checks that the valve moves and that squeezing the bag against the palm builds pressure."),
            )
            .item("a03", "Washes hands")
    })
    .section("golden-minute", golden_minute(), |s| {
        s.key_item("a04", "Dries the baby thoroughly")
            .item("a05", "Removes the wet cloth and keeps the baby skin-to-skin")
            .item("a06", "Recognises that the baby is not crying")
            .item("a07", "Keeps the baby warm: covers the head and body")
            .item("a08", "Clears the airway: positions the head and clears secretions if needed")
            .key_item("a09", "Stimulates breathing by rubbing the back")
            .item("a10", "Recognises that the baby is breathing well")
    })
    .section("continued-care", Localized::new("Continued care").fr("Soins continus"), |s| {
        s.item("a11", "Clamps and cuts the cord after 1–3 minutes")
            .item("a12", "Continues routine care and monitors the baby with the mother")
    })
}

/// 23 steps; pass at 17 with all 6 key steps.
fn osce_b() -> Checklist {
    Checklist::new(
        OSCE_B,
        Localized::new("OSCE B: baby needs ventilation with bag and mask")
            .fr("ECOS B : le bébé a besoin d'une ventilation au ballon et au masque"),
    )
    .version("2.0")
    .kind(ChecklistKind::MentorshipSkills)
    .description("23 steps; the learner passes with 17 or more done, including all 6 key steps.")
    .section("preparation", preparing_for_birth(), |s| {
        s.item("b01", "Identifies a helper and reviews the emergency plan")
            .item("b02", "Prepares the area for delivery")
            .item("b03", "Prepares an area for ventilation and checks the bag and mask")
            .item("b04", "Washes hands")
    })
    .section("golden-minute", golden_minute(), |s| {
        s.item("b05", "Dries the baby thoroughly")
            .item("b06", "Removes the wet cloth and keeps the baby skin-to-skin")
            .item("b07", "Recognises that the baby is not crying")
            .item("b08", "Keeps the baby warm: covers the head and body")
            .item("b09", "Clears the airway: positions the head and clears secretions if needed")
            .key_item("b10", "Stimulates breathing by rubbing the back")
            .item("b11", "Recognises that the baby is not breathing")
            .item("b12", "Clamps and cuts the cord")
            .item("b13", "Moves the baby to the area for ventilation")
            .item("b14", "Starts ventilation within The Golden Minute")
    })
    .section("ventilation", ventilation(), |s| {
        s.item("b15", "Positions the head slightly extended and applies the mask for a firm seal")
            .key_item("b16", "Reapplies the mask when the chest does not rise")
            .key_item("b17", "Repositions the head when the chest does not rise")
            .item("b18", "If the chest still does not rise: clears the mouth and nose, opens the mouth, squeezes harder")
            .key_item("b19", "Achieves chest rise")
            .key_item("b20", "Ventilates at 30–50 breaths a minute")
            .key_item("b21", "Evaluates breathing and chest movement")
            .item("b22", "Calls for help")
            .item("b23", "Stops ventilation when the baby breathes well and monitors the baby with the mother")
    })
}
