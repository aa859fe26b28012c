//! Hostile test plugin: a well-behaved plugin for the wrong contract.
//!
//! It is built with raw wit-bindgen against `wit/plugin.wit`, a copy of the
//! contract whose package version is `mentortrack:plugin@2.0.0`, so it exports
//! `mentortrack:plugin/plugin@2.0.0` and imports `mentortrack:plugin/log@2.0.0`.
//! A 1.x host must refuse it with a clear message ("this server supports
//! contract 1.x") instead of an obscure link error. (No SDK: the SDK is bound
//! to 1.0.0.)

/// Bindings for the 2.0.0 copy of the contract.
#[allow(unsafe_code, missing_debug_implementations)]
mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "partner-plugin",
    });
}

use bindings::exports::mentortrack::plugin::plugin::Guest;
use bindings::mentortrack::plugin::log::{Level, log};
use bindings::mentortrack::plugin::types::{
    Checklist, ChecklistKind, Importance, Item, Localized, Manifest, Outcome, Response,
    ResponseKind, ScoreCard, ScoreContext, ScoreError, Section, Signal,
};

const CHECKLIST_ID: &str = "probe";
const ITEM_ID: &str = "hands";

/// The component's implementation of the 2.0.0 `plugin` interface.
#[derive(Debug)]
pub struct Version2;

fn text(default: &str) -> Localized {
    Localized {
        default: default.to_owned(),
        translations: Vec::new(),
    }
}

impl Guest for Version2 {
    fn describe() -> Manifest {
        Manifest {
            id: "hostile-version2".to_owned(),
            name: text("Hostile test plugin hostile-version2"),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            publisher: "HOSTILE".to_owned(),
            description: text("Built against contract 2.0.0; a 1.x host must refuse it."),
            languages: vec!["en".to_owned()],
        }
    }

    fn checklists() -> Vec<Checklist> {
        vec![Checklist {
            id: CHECKLIST_ID.to_owned(),
            title: text("Hand hygiene probe"),
            version: "1.0".to_owned(),
            kind: ChecklistKind::MentorshipSkills,
            description: None,
            sections: vec![Section {
                id: "steps".to_owned(),
                title: text("Steps"),
                groups: Vec::new(),
                items: vec![Item {
                    id: ITEM_ID.to_owned(),
                    prompt: text("Washes hands before touching the patient"),
                    help: None,
                    kind: ResponseKind::YesNo,
                    importance: Importance::Normal,
                    weight: 1.0,
                    required: false,
                    group: None,
                }],
            }],
        }]
    }

    fn score(
        checklist_id: String,
        responses: Vec<Response>,
        _context: ScoreContext,
    ) -> Result<ScoreCard, ScoreError> {
        if checklist_id != CHECKLIST_ID {
            return Err(ScoreError::UnknownChecklist(checklist_id));
        }
        log(Level::Info, "hostile-version2 scoring");
        let passed = responses.iter().any(|r| r.item_id == ITEM_ID);
        let (code, label, level) = if passed {
            ("pass", "Pass", Signal::Green)
        } else {
            ("not-scored", "Not scored", Signal::Neutral)
        };
        Ok(ScoreCard {
            percentage: None,
            outcome: Outcome {
                code: code.to_owned(),
                label: text(label),
                level,
            },
            sections: Vec::new(),
            feedback: Vec::new(),
            metrics: Vec::new(),
        })
    }
}

/// The component's exports. The glue wit-bindgen expands here is unsafe code,
/// allowed in this module only. Natively there is nothing to export (the
/// export names are not valid native symbols); the impl above is still checked.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod export {
    use super::{Version2, bindings};
    bindings::export!(Version2 with_types_in bindings);
}
