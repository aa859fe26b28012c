//! Emergency obstetric and newborn care (EmONC) skills rubrics of the
//! Rwanda Society of Obstetricians and Gynaecologists (RSOG).
//!
//! Each rubric passes at 85 % *rounded to whole items*: the pass mark is
//! round(0.85 × items), so an 18-item rubric passes at 15 (83.3 %), below 85 %.
//! The rule is deliberately a count, computed exactly in integers.

use mentortrack_plugin_sdk::prelude::*;
use mentortrack_plugin_sdk::rules::pass_mark;

mentortrack_plugin_sdk::register_plugin!(Emonc);

/// The manifest id: the prefix of every metric name.
pub const ID: &str = "emonc";

pub const SHOULDER_DYSTOCIA: &str = "shoulder-dystocia";
pub const CORD_PROLAPSE: &str = "cord-prolapse";
pub const NEWBORN_RESUSCITATION: &str = "newborn-resuscitation";
pub const PPH: &str = "pph";

/// The share of items needed to pass, in percent.
pub const PASS_PERCENT: u32 = 85;

#[derive(Debug)]
pub struct Emonc;

impl Plugin for Emonc {
    fn new() -> Self {
        Emonc
    }

    fn manifest(&self) -> Manifest {
        Manifest::new(
            ID,
            Localized::new("EmONC skills rubrics").fr("Grilles de compétences SONU"),
            env!("CARGO_PKG_VERSION"),
            "RSOG",
        )
        .description(
            "Emergency obstetric and newborn care skills rubrics: shoulder dystocia, cord \
             prolapse, newborn resuscitation and postpartum haemorrhage. Pass mark: 85 % of \
             the items, rounded to whole items.",
        )
        .languages(&["en", "fr"])
    }

    fn checklists(&self) -> Vec<Checklist> {
        vec![
            shoulder_dystocia(),
            cord_prolapse(),
            newborn_resuscitation(),
            pph(),
        ]
    }

    // The host scores each observation in a fresh instance, so `score` builds what it needs
    // on every call: only the checklist asked for, and the id without the manifest.
    fn checklist(&self, id: &str) -> Option<Checklist> {
        match id {
            SHOULDER_DYSTOCIA => Some(shoulder_dystocia()),
            CORD_PROLAPSE => Some(cord_prolapse()),
            NEWBORN_RESUSCITATION => Some(newborn_resuscitation()),
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
        let done = answers.tally(select::all, Coding::Binary);
        let needed = pass_mark(done.applicable_count(), PASS_PERCENT);
        let passed = done.at_least(needed);

        let metric = |name: &str| metric_name(&["emonc", &checklist.id, name]);
        let mut card = ScoreCard::new(Outcome::pass_fail(passed))
            .percentage(done.percentage())
            .feedback_for_missed(answers, &done.missed)
            .metric(metric("pass"), passed)
            .metric(metric("items_done"), done.achieved_count())
            .metric(metric("pass_mark"), needed);
        for section in &checklist.sections {
            let tally = answers.section_tally(&section.id, select::all, Coding::Binary);
            card = card.section(tally.section_score(&section.id));
        }
        Ok(card)
    }
}

fn rubric(id: &'static str, title: Localized, items: usize) -> Checklist {
    Checklist::new(id, title)
        .version("1.0")
        .kind(ChecklistKind::MentorshipSkills)
        .description(format!(
            "{items} items; passes with {} or more done correctly.",
            pass_mark(u32::try_from(items).unwrap_or(u32::MAX), PASS_PERCENT)
        ))
}

fn steps(section: Section, steps: &[(&'static str, &'static str)]) -> Section {
    steps
        .iter()
        .fold(section, |s, (id, prompt)| s.item(*id, *prompt))
}

fn recognition() -> Localized {
    Localized::new("Recognition and first actions").fr("Reconnaissance et premiers gestes")
}

fn after_the_birth() -> Localized {
    Localized::new("After the birth").fr("Après la naissance")
}

const SHOULDER_DYSTOCIA_STEPS: [&[(&str, &str)]; 3] = [
    &[
        (
            "sd01",
            "Recognises shoulder dystocia: the head is born but retracts against the perineum",
        ),
        (
            "sd02",
            "Calls for help: a second midwife or doctor and the newborn resuscitation team",
        ),
        ("sd03", "Notes the time the head was born"),
        ("sd04", "Asks the woman to stop pushing"),
        (
            "sd05",
            "Explains to the woman and her companion what is happening",
        ),
    ],
    &[
        ("sd06", "Brings the woman's buttocks to the edge of the bed"),
        ("sd07", "Does not apply fundal pressure"),
        ("sd08", "Does not pull hard on the baby's head"),
        (
            "sd09",
            "Considers whether an episiotomy would give room for internal manoeuvres",
        ),
        (
            "sd10",
            "Performs McRoberts: thighs flexed sharply against the abdomen",
        ),
        (
            "sd11",
            "Applies suprapubic pressure together with McRoberts",
        ),
        (
            "sd12",
            "Applies only gentle, axial traction during the manoeuvres",
        ),
        (
            "sd13",
            "Delivers the posterior arm if the shoulders remain stuck",
        ),
        ("sd14", "Attempts internal rotation of the shoulders"),
        (
            "sd15",
            "Moves the woman onto all fours if the baby is still not born",
        ),
        (
            "sd16",
            "Delivers the baby and hands over to the resuscitation team",
        ),
    ],
    &[
        (
            "sd17",
            "Actively manages the third stage, anticipating postpartum haemorrhage",
        ),
        ("sd18", "Examines the perineum and vagina for tears"),
        (
            "sd19",
            "Examines the newborn for injury to the arm nerves and the collar bone",
        ),
        (
            "sd20",
            "Records the manoeuvres used, their times and who was present",
        ),
    ],
];

fn shoulder_dystocia() -> Checklist {
    let [first, manoeuvres, after] = SHOULDER_DYSTOCIA_STEPS;
    rubric(
        SHOULDER_DYSTOCIA,
        Localized::new("Shoulder dystocia").fr("Dystocie des épaules"),
        first.len() + manoeuvres.len() + after.len(),
    )
    .section("recognition", recognition(), |s| steps(s, first))
    .section(
        "manoeuvres",
        Localized::new("Manoeuvres").fr("Manœuvres"),
        |s| steps(s, manoeuvres),
    )
    .section("after-birth", after_the_birth(), |s| steps(s, after))
}

const CORD_PROLAPSE_STEPS: [&[(&str, &str)]; 3] = [
    &[
        (
            "cp01",
            "Recognises cord prolapse: cord seen or felt beside or below the presenting part",
        ),
        ("cp02", "Calls for help"),
        ("cp03", "Notes the time"),
        ("cp04", "Explains to the woman what is happening and why"),
        ("cp05", "Checks the fetal heart rate"),
    ],
    &[
        (
            "cp06",
            "Handles the cord as little as possible and does not try to push it back",
        ),
        (
            "cp07",
            "Relieves pressure on the cord by lifting the presenting part with a gloved hand",
        ),
        (
            "cp08",
            "Positions the woman knee-chest, or on her left side with the hips raised",
        ),
        (
            "cp09",
            "Considers filling the bladder through a catheter when transfer will take time",
        ),
        (
            "cp10",
            "Keeps a cord that is outside the vagina warm and moist",
        ),
        ("cp11", "Stops any oxytocin infusion"),
        ("cp12", "Checks cervical dilatation"),
    ],
    &[
        (
            "cp13",
            "Decides on caesarean birth at once if the cervix is not fully dilated",
        ),
        (
            "cp14",
            "Assists vaginal birth if the cervix is fully dilated and birth is imminent",
        ),
        (
            "cp15",
            "Arranges urgent transfer to theatre or to a hospital",
        ),
        ("cp16", "Prepares for newborn resuscitation"),
        (
            "cp17",
            "Keeps the woman and her companion informed throughout",
        ),
        ("cp18", "Records times, findings and actions"),
    ],
];

fn cord_prolapse() -> Checklist {
    let [first, relief, birth] = CORD_PROLAPSE_STEPS;
    rubric(
        CORD_PROLAPSE,
        Localized::new("Cord prolapse").fr("Procidence du cordon"),
        first.len() + relief.len() + birth.len(),
    )
    .section("recognition", recognition(), |s| steps(s, first))
    .section(
        "relieve-compression",
        Localized::new("Relieving cord compression").fr("Soulager la compression du cordon"),
        |s| steps(s, relief),
    )
    .section(
        "birth",
        Localized::new("Planning the birth").fr("Organiser la naissance"),
        |s| steps(s, birth),
    )
}

const NEWBORN_RESUSCITATION_STEPS: [&[(&str, &str)]; 3] = [
    &[
        ("nr01", "Identifies a helper and reviews the emergency plan"),
        (
            "nr02",
            "Checks the bag and mask, and that masks of both sizes are ready",
        ),
        ("nr03", "Prepares a warm area with clean, dry cloths"),
        ("nr04", "Receives the baby and notes the time of birth"),
        ("nr05", "Dries the baby thoroughly"),
        ("nr06", "Removes the wet cloth and keeps the baby warm"),
        ("nr07", "Assesses crying and breathing"),
        ("nr08", "Positions the head slightly extended"),
        ("nr09", "Clears the airway only if secretions block it"),
        ("nr10", "Stimulates breathing by rubbing the back"),
        (
            "nr11",
            "Clamps and cuts the cord if the baby is not breathing",
        ),
    ],
    &[
        ("nr12", "Starts ventilation within one minute of birth"),
        ("nr13", "Uses a mask of the right size with a firm seal"),
        ("nr14", "Ventilates at 40 breaths a minute"),
        ("nr15", "Looks for chest rise with each breath"),
        (
            "nr16",
            "Takes corrective steps when the chest does not rise",
        ),
        (
            "nr17",
            "Calls for help and checks the heart rate after a minute of good ventilation",
        ),
        (
            "nr18",
            "Continues ventilation while the heart rate is below 100",
        ),
        (
            "nr19",
            "Starts chest compressions if the heart rate stays below 60 despite good ventilation",
        ),
    ],
    &[
        (
            "nr20",
            "Stops ventilation when the baby breathes well and keeps the baby with the mother",
        ),
        (
            "nr21",
            "Explains to the family what happened and what comes next",
        ),
        (
            "nr22",
            "Records the resuscitation, its times and the baby's condition",
        ),
    ],
];

fn newborn_resuscitation() -> Checklist {
    let [first, ventilation, after] = NEWBORN_RESUSCITATION_STEPS;
    rubric(
        NEWBORN_RESUSCITATION,
        Localized::new("Newborn resuscitation").fr("Réanimation du nouveau-né"),
        first.len() + ventilation.len() + after.len(),
    )
    .section(
        "first-minute",
        Localized::new("Preparation and the first minute").fr("Préparation et première minute"),
        |s| steps(s, first),
    )
    .section(
        "ventilation",
        Localized::new("Ventilation").fr("Ventilation"),
        |s| steps(s, ventilation),
    )
    .section("after-resuscitation", after_the_birth(), |s| {
        steps(s, after)
    })
}

const PPH_STEPS: [&[(&str, &str)]; 3] = [
    &[
        (
            "ph01",
            "Recognises postpartum haemorrhage: 500 ml or more, or any bleeding with signs of shock",
        ),
        ("ph02", "Calls for help"),
        ("ph03", "Explains to the woman what is happening"),
        ("ph04", "Massages the uterus until it is firm"),
        ("ph05", "Gives oxytocin 10 IU IM or IV"),
        ("ph06", "Inserts two large-bore IV cannulas"),
        (
            "ph07",
            "Takes blood for haemoglobin, grouping and cross-match",
        ),
        ("ph08", "Starts IV crystalloid fluids"),
        ("ph09", "Empties the bladder with a catheter"),
        (
            "ph10",
            "Checks pulse, blood pressure and breathing, and keeps the woman warm",
        ),
    ],
    &[
        (
            "ph11",
            "Checks that the placenta and membranes are complete",
        ),
        (
            "ph12",
            "Examines for tears of the genital tract and repairs them",
        ),
        (
            "ph13",
            "Gives tranexamic acid 1 g IV within 3 hours of birth",
        ),
        (
            "ph14",
            "Gives a further uterotonic if bleeding continues, checking contraindications",
        ),
        (
            "ph15",
            "Performs bimanual compression of the uterus if bleeding continues",
        ),
        (
            "ph16",
            "Applies aortic compression or a non-pneumatic anti-shock garment if needed",
        ),
    ],
    &[
        (
            "ph17",
            "Monitors blood loss and vital signs every 15 minutes",
        ),
        (
            "ph18",
            "Decides on surgery or referral when bleeding persists",
        ),
        ("ph19", "Arranges blood transfusion when indicated"),
        ("ph20", "Keeps the woman and her family informed"),
        ("ph21", "Records findings, drugs, doses and times"),
    ],
];

fn pph() -> Checklist {
    let [first, cause, ongoing] = PPH_STEPS;
    rubric(
        PPH,
        Localized::new("Postpartum haemorrhage").fr("Hémorragie du post-partum"),
        first.len() + cause.len() + ongoing.len(),
    )
    .section("recognition", recognition(), |s| steps(s, first))
    .section(
        "cause",
        Localized::new("Treating the cause").fr("Traiter la cause"),
        |s| steps(s, cause),
    )
    .section(
        "ongoing-care",
        Localized::new("Ongoing care").fr("Soins continus"),
        |s| steps(s, ongoing),
    )
}
