//! What the host checks in a plugin's own declarations before accepting it, and the responses
//! it generates for the dry run. A plugin whose definitions would break forms or reports is
//! refused at upload, with every problem named.

use std::collections::HashSet;

use super::model::{Answer, Checklist, Manifest, Response, ResponseKind};

const MAX_ID: usize = 64;

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}

/// Problems with the manifest, one message each.
pub fn manifest_problems(m: &Manifest) -> Vec<String> {
    let mut p = Vec::new();
    if !valid_id(&m.id) {
        p.push(format!(
            "manifest id {:?} must be 1–64 lowercase letters, digits, '-', '_' or '.'",
            m.id
        ));
    }
    if m.name.default.trim().is_empty() {
        p.push("the manifest has no name".into());
    }
    let parts: Vec<_> = m.version.split('.').collect();
    if parts.len() != 3 || parts.iter().any(|n| n.parse::<u64>().is_err()) {
        p.push(format!(
            "plugin version {:?} must look like 1.2.3",
            m.version
        ));
    }
    if m.publisher.trim().is_empty() {
        p.push("the manifest names no publisher".into());
    }
    p
}

/// Problems with the checklist definitions, one message each.
pub fn checklist_problems(lists: &[Checklist]) -> Vec<String> {
    let mut p = Vec::new();
    if lists.is_empty() {
        p.push("the plugin declares no checklist".into());
    }
    let mut ids = HashSet::new();
    for c in lists {
        let at = format!("checklist {:?}", c.id);
        if !valid_id(&c.id) {
            p.push(format!(
                "{at}: id must be 1–64 lowercase letters, digits, '-', '_' or '.'"
            ));
        }
        if !ids.insert(c.id.as_str()) {
            p.push(format!("{at}: declared twice"));
        }
        if c.title.default.trim().is_empty() {
            p.push(format!("{at}: has no title"));
        }
        if c.sections.is_empty() {
            p.push(format!("{at}: has no sections"));
        }
        let mut section_ids = HashSet::new();
        let mut item_ids = HashSet::new();
        for s in &c.sections {
            if !section_ids.insert(s.id.as_str()) {
                p.push(format!("{at}: section {:?} declared twice", s.id));
            }
            let groups: HashSet<&str> = s.groups.iter().map(|g| g.id.as_str()).collect();
            for i in &s.items {
                let item = format!("{at}, item {:?}", i.id);
                if !valid_id(&i.id) {
                    p.push(format!(
                        "{item}: id must be 1–64 lowercase letters, digits, '-', '_' or '.'"
                    ));
                }
                if !item_ids.insert(i.id.as_str()) {
                    p.push(format!("{item}: declared twice"));
                }
                if i.prompt.default.trim().is_empty() {
                    p.push(format!("{item}: has no prompt"));
                }
                if !i.weight.is_finite() || i.weight < 0.0 {
                    p.push(format!(
                        "{item}: weight {} must be a finite number ≥ 0",
                        i.weight
                    ));
                }
                if let Some(g) = &i.group
                    && !groups.contains(g.as_str())
                {
                    p.push(format!(
                        "{item}: group {g:?} is not declared in its section"
                    ));
                }
                match &i.kind {
                    ResponseKind::IntegerScore { min, max } if min > max => {
                        p.push(format!("{item}: range {min}..{max} is empty"));
                    }
                    ResponseKind::Number {
                        min: Some(lo),
                        max: Some(hi),
                    } if lo.partial_cmp(hi) != Some(std::cmp::Ordering::Less) && lo != hi => {
                        p.push(format!("{item}: range {lo}..{hi} is empty"));
                    }
                    ResponseKind::Number { min, max }
                        if min.is_some_and(|v| !v.is_finite())
                            || max.is_some_and(|v| !v.is_finite()) =>
                    {
                        p.push(format!("{item}: range bounds must be finite"));
                    }
                    ResponseKind::SingleChoice { options }
                    | ResponseKind::MultipleChoice { options } => {
                        if options.is_empty() {
                            p.push(format!("{item}: offers no options"));
                        }
                        let mut values = HashSet::new();
                        for o in options {
                            if !values.insert(o.value.as_str()) {
                                p.push(format!("{item}: option {:?} offered twice", o.value));
                            }
                        }
                    }
                    ResponseKind::Text { max_length: 0 } => {
                        p.push(format!(
                            "{item}: a text answer of at most 0 characters cannot be given"
                        ));
                    }
                    _ => {}
                }
            }
        }
    }
    p
}

/// Two complete sets of answers for the dry run: everything at its best, and at its worst.
pub fn dry_run_responses(c: &Checklist) -> [Vec<Response>; 2] {
    let answer = |kind: &ResponseKind, best: bool| -> Answer {
        match kind {
            ResponseKind::YesNo | ResponseKind::YesNoNa => {
                if best {
                    Answer::Yes
                } else {
                    Answer::No
                }
            }
            ResponseKind::DonePartlyNotDone => {
                if best {
                    Answer::Done
                } else {
                    Answer::NotDone
                }
            }
            ResponseKind::IntegerScore { min, max } => {
                Answer::Integer(if best { *max } else { *min })
            }
            ResponseKind::Number { min, max } => {
                let v = if best { max.or(*min) } else { min.or(*max) };
                Answer::Number(v.unwrap_or(0.0))
            }
            ResponseKind::SingleChoice { options } => {
                let o = if best {
                    options.first()
                } else {
                    options.last()
                };
                Answer::Choice(o.map(|o| o.value.clone()).unwrap_or_default())
            }
            ResponseKind::MultipleChoice { options } => Answer::Choices(if best {
                options.iter().map(|o| o.value.clone()).collect()
            } else {
                Vec::new()
            }),
            ResponseKind::Text { .. } => Answer::Text("dry run".into()),
        }
    };
    [true, false].map(|best| {
        c.items()
            .map(|i| Response {
                item_id: i.id.clone(),
                answer: answer(&i.kind, best),
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::model::*;

    fn text(s: &str) -> Localized {
        Localized {
            default: s.into(),
            translations: vec![],
        }
    }

    fn item(id: &str, kind: ResponseKind) -> Item {
        Item {
            id: id.into(),
            prompt: text("Do it"),
            help: None,
            kind,
            importance: Importance::Normal,
            weight: 1.0,
            required: true,
            group: None,
        }
    }

    fn checklist(items: Vec<Item>) -> Checklist {
        Checklist {
            id: "c".into(),
            title: text("C"),
            version: "1".into(),
            kind: ChecklistKind::MentorshipSkills,
            description: None,
            sections: vec![Section {
                id: "s".into(),
                title: text("S"),
                groups: vec![],
                items,
            }],
        }
    }

    #[test]
    fn finds_duplicate_items_and_empty_ranges() {
        let c = checklist(vec![
            item("a", ResponseKind::YesNo),
            item("a", ResponseKind::IntegerScore { min: 5, max: 1 }),
        ]);
        let p = checklist_problems(&[c]);
        assert!(
            p.iter().any(|m| m.contains("\"a\": declared twice")),
            "{p:?}"
        );
        assert!(p.iter().any(|m| m.contains("range 5..1 is empty")), "{p:?}");
    }

    #[test]
    fn a_sound_checklist_has_no_problems_and_gets_full_dry_runs() {
        let c = checklist(vec![
            item("a", ResponseKind::YesNo),
            item("b", ResponseKind::IntegerScore { min: 0, max: 3 }),
        ]);
        assert!(checklist_problems(std::slice::from_ref(&c)).is_empty());
        let [best, worst] = dry_run_responses(&c);
        assert_eq!(best[1].answer, Answer::Integer(3));
        assert_eq!(worst[1].answer, Answer::Integer(0));
        assert_eq!(best.len(), 2);
    }
}
