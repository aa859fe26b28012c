//! A test-only plugin for the host's benchmark (`host/benches/plugins.rs`): one
//! HNQIS-style intrapartum observation of exactly 30 items, 6 of them critical,
//! scored into competency classes from critical and non-critical items.
//!
//! Not published. The same code is scored natively (through the SDK's
//! [`Runner`], which is what the component's `score` export calls) and in the
//! host's sandbox, so the two figures compare the same work.

use mentortrack_plugin_sdk::prelude::*;

mentortrack_plugin_sdk::register_plugin!(Bench30);

/// The one checklist.
pub const CHECKLIST: &str = "observation-30";
/// Items in [`CHECKLIST`].
pub const ITEMS: usize = 30;
/// The manifest id: the prefix of every metric name.
pub const ID: &str = "bench-30";

#[derive(Debug)]
pub struct Bench30;

impl Plugin for Bench30 {
    fn new() -> Self {
        Bench30
    }

    fn manifest(&self) -> Manifest {
        Manifest::new(
            ID,
            "Benchmark: 30-item observation",
            env!("CARGO_PKG_VERSION"),
            "BENCH",
        )
        .description("Test-only plugin for the host's benchmark. Not for use in programmes.")
    }

    fn checklists(&self) -> Vec<Checklist> {
        vec![observation()]
    }

    // What every production plugin should do (see the SDK's `Plugin::checklist`): the host
    // scores in a fresh instance per call, so these run on every call.
    fn checklist(&self, id: &str) -> Option<Checklist> {
        (id == CHECKLIST).then(observation)
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
        if checklist.id != CHECKLIST {
            return Err(ScoreError::UnknownChecklist(checklist.id.to_string()));
        }
        Ok(score_observation(checklist, answers))
    }
}

/// HNQIS-style classes: critical score = % of critical items done, non-critical
/// likewise (done = 1, partly = 0.5). Competent: every critical item done and
/// non-critical ≥ 89.9 %; needs improvement: every critical item done and
/// non-critical ≥ 79.9 %; otherwise not competent.
fn score_observation(checklist: &Checklist, answers: &Answers<'_>) -> ScoreCard {
    let critical = answers.tally(select::critical, Coding::Partial);
    let non_critical = answers.tally(select::non_critical, Coding::Partial);
    let all = answers.tally(select::all, Coding::Partial);
    let competency = Competency::from_tallies(&critical, &non_critical);

    let metric = |name: &str| metric_name(&[ID, CHECKLIST, name]);
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
        )
        .metric(metric("items_done"), all.achieved_count())
        .metric(metric("items_applicable"), all.applicable_count());
    if let Some(p) = critical.percentage() {
        card = card.metric(metric("critical_percentage"), p);
    }
    if let Some(p) = non_critical.percentage() {
        card = card.metric(metric("non_critical_percentage"), p);
    }
    for section in &checklist.sections {
        let tally = answers.section_tally(&section.id, select::all, Coding::Partial);
        if tally.applicable > 0.0 {
            card = card.section(tally.section_score(&section.id));
        }
    }
    card
}

fn observation() -> Checklist {
    Checklist::new(CHECKLIST, "Intrapartum care observation (30 items)")
        .version("1.0")
        .kind(ChecklistKind::ClinicalObservation)
        .description(
            "Observe one birth from admission to the first hour. Critical items must all be \
             done to be competent.",
        )
        .section("admission", "Admission and first examination", |s| {
            s.critical_item("a01", "Checks the mother's vital signs on admission")
                .item("a02", "Greets the woman and her companion respectfully")
                .item("a03", "Reviews the antenatal card or asks the history")
                .push(Item::done_partly(
                    "a04",
                    "Explains the examination before starting it",
                ))
                .item("a05", "Checks the fetal heart rate between contractions")
                .push(Item::yes_no_na(
                    "a06",
                    "Gives antibiotics to a woman with signs of infection",
                ))
        })
        .section("labour", "Monitoring labour", |s| {
            s.critical_item("l01", "Starts a partograph when the cervix is 4 cm or more")
                .item("l02", "Records the fetal heart rate every 30 minutes")
                .item("l03", "Records contractions every 30 minutes")
                .push(Item::done_partly(
                    "l04",
                    "Encourages the woman to move and to drink",
                ))
                .item("l05", "Encourages a birth companion to be present")
                .push(Item::yes_no_na(
                    "l06",
                    "Refers or acts when the partograph crosses the alert line",
                ))
        })
        .section("birth", "Second stage and birth", |s| {
            s.item(
                "b01",
                "Prepares the supplies for mother and baby at the bedside",
            )
            .item("b02", "Washes hands and wears sterile gloves")
            .critical_item("b03", "Checks for a second baby before giving oxytocin")
            .item("b04", "Lets the woman choose her position for the birth")
            .push(Item::done_partly(
                "b05",
                "Supports the perineum at crowning",
            ))
            .critical_item("b06", "Gives oxytocin 10 IU within one minute of birth")
        })
        .section("newborn", "Care of the newborn", |s| {
            s.item("n01", "Dries the baby thoroughly at once")
                .critical_item("n02", "Assesses breathing and starts ventilation if needed")
                .item("n03", "Puts the baby skin to skin with the mother")
                .item("n04", "Clamps and cuts the cord after one to three minutes")
                .push(Item::done_partly(
                    "n05",
                    "Helps the mother start breastfeeding within the hour",
                ))
                .item("n06", "Gives vitamin K and eye care")
        })
        .section("postpartum", "The first hour after birth", |s| {
            s.item("p01", "Checks that the placenta is complete")
                .critical_item("p02", "Massages the uterus and checks that it is firm")
                .item("p03", "Checks for tears and bleeding")
                .push(Item::done_partly(
                    "p04",
                    "Checks the mother's vital signs every 15 minutes",
                ))
                .item("p05", "Explains the danger signs to the mother")
                .item("p06", "Records the birth in the register")
        })
}
