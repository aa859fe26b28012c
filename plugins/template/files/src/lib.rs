//! {{name}}: mentortrack checklists and scoring for {{publisher}}.
//!
//! A starting point: one hand-hygiene observation scored as adherence, with a
//! pass mark and key steps. Replace it with your own checklists and rule; the
//! SDK guide is `vendor/README.md`.

use mentortrack_plugin_sdk::prelude::*;

mentortrack_plugin_sdk::register_plugin!(PartnerPlugin);

/// The plugin id: unique per publisher, never changed, and the prefix of every
/// metric name.
pub const ID: &str = "{{name}}";

/// The code of the organisation that publishes the plugin.
pub const PUBLISHER: &str = "{{publisher}}";

#[derive(Debug)]
pub struct PartnerPlugin;

impl Plugin for PartnerPlugin {
    fn new() -> Self {
        PartnerPlugin
    }

    fn manifest(&self) -> Manifest {
        Manifest::new(ID, "Hand hygiene", env!("CARGO_PKG_VERSION"), PUBLISHER)
            .description("Hand hygiene at the WHO five moments, observed at the bedside.")
    }

    fn checklists(&self) -> Vec<Checklist> {
        vec![hand_hygiene()]
    }

    // The server scores each observation in a fresh instance of the plugin,
    // so what `score` needs is built on every call: build only the checklist
    // scored, and give the id without building the manifest. Add a `match` arm
    // for each checklist you add. The definitions test checks that these agree
    // with `checklists` and `manifest` (see "Scoring fast" in vendor/README.md).
    fn checklist(&self, id: &str) -> Option<Checklist> {
        match id {
            "hand-hygiene" => Some(hand_hygiene()),
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
        // Adherence: credit over the moments that applied; partly done earns half.
        let all = answers.tally(select::all, Coding::Partial);
        let key = answers.tally(select::key, Coding::Binary);
        let passed = all.percentage().is_some_and(|p| rules::meets(p, 80.0)) && key.all_achieved();
        let mut card = ScoreCard::new(Outcome::pass_fail(passed))
            .percentage(all.percentage())
            .feedback_for_missed(answers, &all.missed)
            .metric(metric_name(&[ID, &checklist.id, "pass"]), passed);
        for section in &checklist.sections {
            let tally = answers.section_tally(&section.id, select::all, Coding::Partial);
            if tally.applicable > 0.0 {
                card = card.section(tally.section_score(&section.id));
            }
        }
        Ok(card)
    }
}

/// The one checklist: a hand-hygiene observation.
fn hand_hygiene() -> Checklist {
    Checklist::new("hand-hygiene", "Hand hygiene observation")
        .kind(ChecklistKind::ClinicalObservation)
        .description("Pass at 80 % adherence with both key moments.")
        .section("moments", "The five moments", |s| {
            s.key_item("before-patient", "Cleans hands before touching a patient")
                .key_item("before-aseptic", "Cleans hands before an aseptic procedure")
                .push(Item::yes_no_na(
                    "after-fluids",
                    "Cleans hands after body fluid exposure risk",
                ))
                .item("after-patient", "Cleans hands after touching a patient")
                .push(Item::yes_no_na(
                    "after-surroundings",
                    "Cleans hands after touching the patient's surroundings",
                ))
        })
        .section("technique", "Technique", |s| {
            s.push(Item::done_partly(
                "rub",
                "Rubs all surfaces of the hands for 20 to 30 seconds",
            ))
            .push(Item::text("comments", "Comments", 500))
        })
}
