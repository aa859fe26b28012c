//! Filling plugin checklists from their definitions, as `GET /api/v1/checklists` serves them,
//! so tests can log sessions and training tests without hard-coding any plugin's items.

use serde_json::{Value, json};

/// How to answer every item of a checklist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fill {
    /// The best answer to every item: yes, done, the top score, the first choice, every choice.
    Best,
    /// The worst answer to every item: no, not done, the lowest score, the last choice, none.
    Worst,
    /// The best answer to the first `n` items (in checklist order), the worst to the rest: a
    /// score between the two extremes.
    BestFirst(usize),
}

/// The checklist definition inside an entry of `GET /api/v1/checklists`, or the value itself
/// when it already is a definition.
fn definition(checklist: &Value) -> &Value {
    if checklist.get("sections").is_some() {
        checklist
    } else {
        &checklist["checklist"]
    }
}

/// The ids of every item, in checklist order.
pub fn item_ids(checklist: &Value) -> Vec<String> {
    items(checklist)
        .iter()
        .filter_map(|i| i["id"].as_str().map(str::to_string))
        .collect()
}

fn items(checklist: &Value) -> Vec<&Value> {
    definition(checklist)["sections"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["items"].as_array().into_iter().flatten())
        .collect()
}

/// The entry for `checklist_id` in a `GET /api/v1/checklists` answer (with its
/// `plugin_version_id`); panics naming what is there when it is missing.
pub fn find<'a>(checklists: &'a Value, checklist_id: &str) -> &'a Value {
    let all = checklists
        .as_array()
        .expect("GET /api/v1/checklists answers a list");
    all.iter()
        .find(|c| c["checklist"]["id"] == checklist_id)
        .unwrap_or_else(|| {
            let ids: Vec<&Value> = all.iter().map(|c| &c["checklist"]["id"]).collect();
            panic!("no checklist {checklist_id:?} among {ids:?}")
        })
}

/// Responses for every item of `checklist` (a definition, or an entry of
/// `GET /api/v1/checklists`), ready for an observation's `responses`.
pub fn fill_checklist(checklist: &Value, mode: Fill) -> Vec<Value> {
    items(checklist)
        .into_iter()
        .enumerate()
        .map(|(n, item)| {
            let best = match mode {
                Fill::Best => true,
                Fill::Worst => false,
                Fill::BestFirst(k) => n < k,
            };
            json!({"item_id": item["id"], "answer": answer(&item["kind"], best)})
        })
        .collect()
}

fn answer(kind: &Value, best: bool) -> Value {
    let pick = |good: Value, bad: Value| if best { good } else { bad };
    match kind["type"].as_str().unwrap_or("") {
        "yes_no" | "yes_no_na" => pick(json!({"type": "yes"}), json!({"type": "no"})),
        "done_partly_not_done" => pick(json!({"type": "done"}), json!({"type": "not_done"})),
        "integer_score" => {
            let n = if best { &kind["max"] } else { &kind["min"] };
            json!({"type": "integer", "value": n.as_i64().unwrap_or(0)})
        }
        // Measurements (minutes to a uterotonic…): the best is the smallest allowed value.
        "number" => {
            let (first, second) = if best {
                (&kind["min"], &kind["max"])
            } else {
                (&kind["max"], &kind["min"])
            };
            let x = first.as_f64().or(second.as_f64()).unwrap_or(0.0);
            json!({"type": "number", "value": x})
        }
        "single_choice" => {
            let options = kind["options"].as_array().cloned().unwrap_or_default();
            let chosen = if best {
                options.first()
            } else {
                options.last()
            };
            json!({"type": "choice", "value": chosen.map(|o| o["value"].clone()).unwrap_or(Value::Null)})
        }
        "multiple_choice" => {
            let values: Vec<Value> = if best {
                kind["options"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|o| o["value"].clone())
                    .collect()
            } else {
                Vec::new()
            };
            json!({"type": "choices", "value": values})
        }
        "text" => {
            let max = kind["max_length"].as_u64().unwrap_or(20) as usize;
            let text = if best { "Observed." } else { "Not observed." };
            json!({"type": "text", "value": text.chars().take(max).collect::<String>()})
        }
        other => panic!("unknown item kind {other:?} in {kind}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checklist() -> Value {
        json!({"checklist": {"id": "c", "sections": [
            {"id": "s1", "items": [
                {"id": "a", "kind": {"type": "yes_no"}},
                {"id": "b", "kind": {"type": "done_partly_not_done"}},
            ]},
            {"id": "s2", "items": [
                {"id": "c", "kind": {"type": "integer_score", "min": 0, "max": 3}},
                {"id": "d", "kind": {"type": "single_choice", "options": [{"value": "x"}, {"value": "y"}]}},
                {"id": "e", "kind": {"type": "number", "min": 0.0, "max": 120.0}},
            ]},
        ]}})
    }

    #[test]
    fn every_item_is_answered_in_order() {
        let c = checklist();
        assert_eq!(item_ids(&c), ["a", "b", "c", "d", "e"]);
        let best = fill_checklist(&c, Fill::Best);
        assert_eq!(best[0]["answer"], json!({"type": "yes"}));
        assert_eq!(best[1]["answer"], json!({"type": "done"}));
        assert_eq!(best[2]["answer"], json!({"type": "integer", "value": 3}));
        assert_eq!(best[3]["answer"], json!({"type": "choice", "value": "x"}));
        assert_eq!(best[4]["answer"], json!({"type": "number", "value": 0.0}));
        let worst = fill_checklist(&c["checklist"], Fill::Worst);
        assert_eq!(worst[0]["answer"], json!({"type": "no"}));
        assert_eq!(worst[2]["answer"], json!({"type": "integer", "value": 0}));
        let mixed = fill_checklist(&c, Fill::BestFirst(1));
        assert_eq!(mixed[0]["answer"], json!({"type": "yes"}));
        assert_eq!(mixed[1]["answer"], json!({"type": "not_done"}));
    }
}
