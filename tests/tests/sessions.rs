//! Mentorship sessions through the API: scoring by partner plugins, the offline-safe
//! submission contract (identical re-send, conflicting re-send, concurrent duplicates, a
//! half-received request), item-level validation, grants between partners, corrections with
//! pinned or current plugin versions, withdrawal, and partner isolation.

use std::io::{Read, Write};

use mentortrack::plugins::Limits;
use mentortrack_tests::{Api, Fixture, TestApp, engine_tests, test_config};
use reqwest::Method;
use serde_json::{Value, json};

/// Responses for every item of a checklist: the best answer each kind allows.
fn best_answers(checklist: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for section in checklist["sections"].as_array().unwrap() {
        for item in section["items"].as_array().unwrap() {
            let kind = &item["kind"];
            let answer = match kind["type"].as_str().unwrap() {
                "yes_no" | "yes_no_na" => json!({"type": "yes"}),
                "done_partly_not_done" => json!({"type": "done"}),
                "integer_score" => json!({"type": "integer", "value": kind["max"]}),
                "number" => json!({"type": "number", "value": kind["min"].as_f64().unwrap_or(0.0)}),
                "single_choice" => json!({"type": "choice", "value": kind["options"][0]["value"]}),
                "multiple_choice" => {
                    json!({"type": "choices", "value": [kind["options"][0]["value"]]})
                }
                "text" => json!({"type": "text", "value": "ok"}),
                other => panic!("unknown kind {other}"),
            };
            out.push(json!({"item_id": item["id"], "answer": answer}));
        }
    }
    out
}

/// The first checklist of `plugin_key` the caller may use: (plugin_version_id, checklist).
async fn checklist(api: &Api, plugin_key: &str) -> (i64, Value) {
    let list: Value = api.get("/api/v1/checklists").await.json().await.unwrap();
    let c = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["plugin_key"] == plugin_key)
        .unwrap_or_else(|| panic!("no {plugin_key} checklist in {list}"));
    (
        c["plugin_version_id"].as_i64().unwrap(),
        c["checklist"].clone(),
    )
}

fn uuid() -> String {
    mentortrack::domain::scoring::new_uuid().unwrap()
}

fn today() -> String {
    chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

/// A session by party A's mentor for A's provider, scored on A's own checklist.
async fn body_for_a(app: &TestApp, f: &Fixture, id: &str) -> Value {
    let api = app.api(&f.a.mentor).await;
    let (version, c) = checklist(&api, "ldhf").await;
    json!({
        "id": id,
        "facility_id": f.a.facility.id,
        "date": today(),
        "session_type": "skills_drill",
        "topic": "PPH drill",
        "duration_minutes": 45,
        "mentee_ids": [f.a.provider_id],
        "notes": "Good teamwork",
        "action_points": "Repeat the drill next month",
        "observations": [{
            "provider_id": f.a.provider_id,
            "plugin_version_id": version,
            "checklist_id": c["id"],
            "responses": best_answers(&c),
        }],
    })
}

async fn post(api: &Api, body: &Value) -> (u16, Value) {
    let r = api.send(Method::POST, "/api/v1/sessions", body).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn fields(body: &Value) -> Vec<String> {
    body["error"]["fields"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|e| e["field"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

async fn logs_a_scored_session_and_records_what_scored_it(app: TestApp) {
    let f = app.seed_with_plugins().await;
    let api = app.api(&f.a.mentor).await;
    let id = uuid();
    let (status, s) = post(&api, &body_for_a(&app, &f, &id).await).await;
    assert_eq!(status, 201, "{s}");
    assert_eq!(s["id"], id);
    assert_eq!(s["status"], "recorded");
    assert_eq!(s["revision"], 1);
    assert_eq!(s["mentees"], 1);
    let obs = &s["observation_list"][0];
    assert_eq!(obs["card"]["percentage"], 100.0, "{obs}");
    assert_eq!(obs["card"]["outcome"]["level"], "green");
    assert_eq!(obs["plugin_key"], "ldhf");
    assert_eq!(obs["plugin_version_id"], f.a.plugin_version_id);
    let sha: String = sqlx::query_scalar("SELECT sha256 FROM plugin_versions WHERE id = $1")
        .bind(f.a.plugin_version_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(obs["plugin_sha256"], sha);
    // The card's metrics are stored one row each, for indicators.
    let metrics = obs["card"]["metrics"].as_array().unwrap().len() as i64;
    assert!(metrics > 0);
    assert_eq!(app.count("observation_metrics").await, metrics);
    let audit: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE entity = 'session' AND entity_id = $1 AND action = 'create'",
    )
    .bind(&id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(audit, 1);
    // Read back, by id in any letter case.
    let r = api
        .get(&format!("/api/v1/sessions/{}", id.to_uppercase()))
        .await;
    assert_eq!(r.status(), 200);
    let again: Value = r.json().await.unwrap();
    assert_eq!(
        again, s,
        "the answer to a create is the session exactly as stored"
    );

    // The same with two observed mentees, listed in the opposite order to their names: the
    // answer (built from what was written) and the stored session agree on everything.
    let admin = app.api(&f.a.org_admin).await;
    let r = admin
        .send(
            Method::POST,
            "/api/v1/providers",
            &json!({"name": "Aaron First", "cadre": "nurse", "facility_id": f.a.facility.id, "sex": "male"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let second: i64 = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let mut body = body_for_a(&app, &f, &uuid()).await;
    let mut other = body["observations"][0].clone();
    other["provider_id"] = json!(second);
    body["observations"].as_array_mut().unwrap().push(other);
    let (status, s) = post(&api, &body).await;
    assert_eq!(status, 201, "{s}");
    assert_eq!(s["mentees"], 2);
    assert_eq!(s["mentee_list"][0]["name"], "Aaron First");
    let again: Value = api
        .get(&format!("/api/v1/sessions/{}", s["id"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again, s);
}

async fn identical_resend_returns_the_stored_session_and_a_different_body_conflicts(app: TestApp) {
    let f = app.seed_with_plugins().await;
    let api = app.api(&f.a.mentor).await;
    let id = uuid();
    let body = body_for_a(&app, &f, &id).await;
    let (status, first) = post(&api, &body).await;
    assert_eq!(status, 201, "{first}");

    // The same session, sent again with its keys in another order and other whitespace.
    let text = serde_json::to_string_pretty(&body).unwrap();
    let reordered: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
    let mut keys: Vec<_> = reordered.into_iter().collect();
    keys.reverse();
    let reordered = Value::Object(keys.into_iter().collect());
    let (status, again) = post(&api, &reordered).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], id);
    assert_eq!(again["created_at"], first["created_at"]);
    assert_eq!(app.count("sessions").await, 1);
    assert_eq!(app.count("observations").await, 1);

    // A different body under the same id: refused, nothing changed.
    let mut changed = body.clone();
    changed["topic"] = json!("Another topic");
    let (status, err) = post(&api, &changed).await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["error"]["code"], "conflict");
    let stored: Value = api
        .get(&format!("/api/v1/sessions/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored["topic"], "PPH drill");
    assert_eq!(stored["revision"], 1);
    assert_eq!(app.count("sessions").await, 1);

    // Another partner reusing the id is refused too, and learns nothing of the session.
    let b = app.api(&f.b.mentor).await;
    let (status, err) = post(&b, &body).await;
    assert_eq!(status, 409, "{err}");
    assert!(!err.to_string().contains("PPH drill"));
}

async fn concurrent_duplicates_store_one_session(app: TestApp) {
    let f = app.seed_with_plugins().await;
    let api = app.api(&f.a.mentor).await;
    let id = uuid();
    let body = body_for_a(&app, &f, &id).await;
    let sends = (0..8).map(|_| post(&api, &body));
    let results = futures_util::future::join_all(sends).await;
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    let replayed = results.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(
        (created, replayed),
        (1, 7),
        "{:?}",
        results.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    for (_, s) in &results {
        assert_eq!(s["id"], id);
    }
    assert_eq!(app.count("sessions").await, 1);
    assert_eq!(app.count("observations").await, 1);
    assert_eq!(app.count("session_mentees").await, 1);
}

async fn bad_input_names_the_field_and_stores_nothing(app: TestApp) {
    let f = app.seed_with_plugins().await;
    let api = app.api(&f.a.mentor).await;
    let good = body_for_a(&app, &f, &uuid()).await;
    let first_item = good["observations"][0]["responses"][0]["item_id"]
        .as_str()
        .unwrap()
        .to_string();
    let tomorrow_and_more = (chrono::Utc::now() + chrono::Duration::days(3))
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    type Edit = Box<dyn Fn(&mut Value)>;
    let item = first_item.clone();
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "malformed id",
            Box::new(|b| b["id"] = json!("not-a-uuid")),
            "id",
        ),
        ("missing id", Box::new(|b| b["id"] = Value::Null), "id"),
        (
            "future date",
            Box::new(move |b| b["date"] = json!(tomorrow_and_more)),
            "date",
        ),
        (
            "bad date",
            Box::new(|b| b["date"] = json!("2026-02-30")),
            "date",
        ),
        (
            "unknown type",
            Box::new(|b| b["session_type"] = json!("party")),
            "session_type",
        ),
        (
            "zero duration",
            Box::new(|b| b["duration_minutes"] = json!(0)),
            "duration_minutes",
        ),
        (
            "unknown checklist",
            Box::new(|b| b["observations"][0]["checklist_id"] = json!("no-such-checklist")),
            "observations[0].checklist_id",
        ),
        (
            "unknown plugin version",
            Box::new(|b| b["observations"][0]["plugin_version_id"] = json!(-1)),
            "observations[0].checklist_id",
        ),
        (
            "unknown item",
            Box::new(|b| {
                b["observations"][0]["responses"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"item_id": "ghost", "answer": {"type": "yes"}}))
            }),
            "observations[0].responses.ghost",
        ),
        (
            "missing required item",
            Box::new(|b| {
                b["observations"][0]["responses"]
                    .as_array_mut()
                    .unwrap()
                    .remove(0);
            }),
            "required item",
        ),
        (
            "wrong kind of answer",
            Box::new(move |b| {
                b["observations"][0]["responses"][0] =
                    json!({"item_id": item, "answer": {"type": "text", "value": "hm"}})
            }),
            "wrong item",
        ),
        (
            "unknown facility",
            Box::new(|b| b["facility_id"] = json!(-5)),
            "facility_id",
        ),
    ];
    for (what, edit, field) in cases {
        let mut body = good.clone();
        body["id"] = json!(uuid());
        edit(&mut body);
        let (status, err) = post(&api, &body).await;
        assert_eq!(status, 422, "{what}: {err}");
        let named = fields(&err);
        let expected = match field {
            "required item" | "wrong item" => format!("observations[0].responses.{first_item}"),
            f => f.to_string(),
        };
        assert!(
            named.contains(&expected),
            "{what}: {named:?} lacks {expected}"
        );
    }

    // A mentee registered at another facility, and a mentee of another partner.
    let other_facility_provider = app
        .api(&f.a.org_admin)
        .await
        .send(
            Method::POST,
            "/api/v1/providers",
            &json!({"facility_id": f.unassigned_facility.id, "name": "Elsewhere", "cadre": "nurse"}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    for (mentee, why) in [
        (other_facility_provider, "other_facility"),
        (f.b.provider_id, "unknown"),
    ] {
        let mut body = good.clone();
        body["id"] = json!(uuid());
        body["mentee_ids"] = json!([f.a.provider_id, mentee]);
        let (status, err) = post(&api, &body).await;
        assert_eq!(status, 422, "{err}");
        assert!(fields(&err).contains(&"mentee_ids[1]".to_string()), "{err}");
        assert!(err.to_string().contains(if why == "unknown" {
            "no such provider"
        } else {
            "another facility"
        }));
    }

    // Malformed JSON is a 400, a wrongly typed field a 422 naming it.
    let r = api
        .client
        .post(app.at("/api/v1/sessions"))
        .bearer_auth(&api.token)
        .header("content-type", "application/json")
        .body("{\"id\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let mut typed = good.clone();
    typed["duration_minutes"] = json!("forty");
    let (status, err) = post(&api, &typed).await;
    assert_eq!(status, 422, "{err}");
    assert!(err.to_string().contains("duration_minutes"), "{err}");

    assert_eq!(app.count("sessions").await, 0);
    assert_eq!(app.count("observations").await, 0);
    assert_eq!(app.count("session_mentees").await, 0);

    // An inactive (retired) checklist is refused the same way.
    let admin_a = app.api(&f.a.org_admin).await;
    let r = admin_a
        .send(
            Method::POST,
            &format!("/api/v1/plugins/{}/retire", f.a.plugin_version_id),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let (status, err) = post(&api, &good).await;
    assert_eq!(status, 422, "{err}");
    assert!(fields(&err).contains(&"observations[0].checklist_id".to_string()));
    assert_eq!(app.count("sessions").await, 0);
}

async fn another_partners_checklist_needs_its_grant(app: TestApp) {
    let f = app.seed_with_plugins().await;
    let mentor = app.api(&f.a.mentor).await;
    let list: Value = mentor.get("/api/v1/checklists").await.json().await.unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|c| c["plugin_key"] != "hbb"),
        "HBB is RPA's until it grants it"
    );
    // A's org admin cannot grant B's plugin; B's can.
    let grant = json!({"organisation_id": f.a.org.id});
    let path = format!("/api/v1/plugins/{}/grants", f.b.plugin_version_id);
    let r = app
        .api(&f.a.org_admin)
        .await
        .send(Method::POST, &path, &grant)
        .await;
    assert_eq!(r.status(), 404, "A cannot even see B's plugin");
    let b_admin = app.api(&f.b.org_admin).await;
    let r = b_admin.send(Method::POST, &path, &grant).await;
    assert_eq!(r.status(), 201);
    let r = b_admin.send(Method::POST, &path, &grant).await;
    assert_eq!(r.status(), 200, "granting twice changes nothing");
    let r = b_admin
        .send(Method::POST, &path, &json!({"organisation_id": f.b.org.id}))
        .await;
    assert_eq!(r.status(), 422);

    // One session, two partners' checklists.
    let (hbb_version, hbb) = checklist(&mentor, "hbb").await;
    assert_eq!(hbb_version, f.b.plugin_version_id);
    let mut body = body_for_a(&app, &f, &uuid()).await;
    body["observations"].as_array_mut().unwrap().push(json!({
        "provider_id": f.a.provider_id,
        "plugin_version_id": hbb_version,
        "checklist_id": hbb["id"],
        "responses": best_answers(&hbb),
    }));
    let (status, s) = post(&mentor, &body).await;
    assert_eq!(status, 201, "{s}");
    let keys: Vec<&str> = s["observation_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["plugin_key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["ldhf", "hbb"]);
    // The session stays A's: B's people do not see it.
    let r = app
        .api(&f.b.org_admin)
        .await
        .get(&format!("/api/v1/sessions/{}", s["id"].as_str().unwrap()))
        .await;
    assert_eq!(r.status(), 404);

    // Revoked: no longer usable for new sessions.
    let r = b_admin
        .client
        .delete(app.at(&format!("{path}/{}", f.a.org.id)))
        .bearer_auth(&b_admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    body["id"] = json!(uuid());
    let (status, err) = post(&mentor, &body).await;
    assert_eq!(status, 422, "{err}");
    assert!(fields(&err).contains(&"observations[1].checklist_id".to_string()));
}

/// Installs a copy of a stored version under another version number and activates it, so
/// the original steps back: what a partner's new release does.
async fn release_copy(app: &TestApp, version_id: i64, version: &str) -> i64 {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO plugin_versions (organisation_id, plugin_key, version, name, contract_version, sha256,
            size_bytes, component, manifest_json, checklists_json, status, uploaded_by, uploaded_at, status_changed_at)
         SELECT organisation_id, plugin_key, $1, name, contract_version, sha256, size_bytes, component,
            manifest_json, checklists_json, 'inactive', uploaded_by, uploaded_at, status_changed_at
         FROM plugin_versions WHERE id = $2 RETURNING id",
    )
    .bind(version)
    .bind(version_id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    mentortrack::plugins::lifecycle::change(
        &app.db,
        &app.plugins,
        None,
        id,
        mentortrack::plugins::lifecycle::Change::Activate,
    )
    .await
    .unwrap();
    id
}

async fn corrections_rescore_with_the_pinned_or_the_current_version(app: TestApp) {
    let f = app.seed_with_plugins().await;
    let api = app.api(&f.a.mentor).await;
    let id = uuid();
    let body = body_for_a(&app, &f, &id).await;
    let (status, first) = post(&api, &body).await;
    assert_eq!(status, 201, "{first}");
    let newer = release_copy(&app, f.a.plugin_version_id, "99.0.0").await;

    // The mentor answers one item worse: re-scored with the version pinned to the session,
    // which is no longer active.
    let mut corrected = body.clone();
    let responses = corrected["observations"][0]["responses"]
        .as_array_mut()
        .unwrap();
    let kind_worse = |a: &Value| match a["type"].as_str().unwrap() {
        "yes" => json!({"type": "no"}),
        "done" => json!({"type": "not_done"}),
        _ => a.clone(),
    };
    let idx = responses
        .iter()
        .position(|r| matches!(r["answer"]["type"].as_str(), Some("yes" | "done")))
        .unwrap();
    responses[idx]["answer"] = kind_worse(&responses[idx]["answer"]);
    corrected["reason"] = json!("ticked the wrong box");
    let path = format!("/api/v1/sessions/{id}");
    let r = api.send(Method::PUT, &path, &corrected).await;
    let status = r.status().as_u16();
    let s: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["revision"], 2);
    let obs = &s["observation_list"][0];
    assert_eq!(obs["plugin_version_id"], f.a.plugin_version_id);
    assert!(obs["card"]["percentage"].as_f64().unwrap() < 100.0, "{obs}");
    let (before, after): (String, String) = sqlx::query_as(
        "SELECT before_json, after_json FROM audit_log WHERE entity = 'session' AND entity_id = $1 AND action = 'correct'",
    )
    .bind(&id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert!(before.contains("\"percentage\":100.0"), "{before}");
    assert!(after.contains("ticked the wrong box"), "{after}");

    // The same correction again changes nothing.
    let again: Value = api
        .send(Method::PUT, &path, &corrected)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["revision"], 2);

    // Asked to, it re-scores with the plugin's current version.
    corrected["rescore"] = json!("current");
    let s: Value = api
        .send(Method::PUT, &path, &corrected)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s["revision"], 3, "{s}");
    assert_eq!(s["observation_list"][0]["plugin_version_id"], newer);
    assert_eq!(s["observation_list"][0]["plugin_version"], "99.0.0");

    // The original create re-sent from a phone's queue is still recognised, not a conflict.
    let (status, replay) = post(&api, &body).await;
    assert_eq!(status, 200, "{replay}");
    assert_eq!(replay["revision"], 3);
}

async fn the_correction_window_binds_mentors_not_org_admins(app: TestApp) {
    let f = app.seed_with_plugins().await;
    let id = uuid();
    let body = body_for_a(&app, &f, &id).await;
    let (status, _) = post(&app.api(&f.a.mentor).await, &body).await;
    assert_eq!(status, 201);
    // A server whose programme allows no correction time at all.
    let mut config = test_config();
    config.programme.correction_window_days = 0;
    let strict = app.another_process_with(config, Limits::default()).await;
    let mut corrected = body.clone();
    corrected["topic"] = json!("PPH drill (corrected)");
    let mentor = strict.api(&f.a.mentor).await;
    let r = mentor
        .send(Method::PUT, &format!("/api/v1/sessions/{id}"), &corrected)
        .await;
    assert_eq!(r.status(), 409);
    let r = mentor
        .send(
            Method::POST,
            &format!("/api/v1/sessions/{id}/withdraw"),
            &json!({"reason": "duplicate"}),
        )
        .await;
    assert_eq!(r.status(), 409);
    let admin = strict.api(&f.a.org_admin).await;
    let r = admin
        .send(Method::PUT, &format!("/api/v1/sessions/{id}"), &corrected)
        .await;
    assert_eq!(r.status(), 200);
    // Another mentor of the same organisation may not correct it at all.
    let other =
        mentortrack_tests::user(&app.db, &f.a.org, "mentor2@ram.example.org", "mentor").await;
    assert!(other > 0);
    let r = app
        .api("mentor2@ram.example.org")
        .await
        .send(Method::PUT, &format!("/api/v1/sessions/{id}"), &corrected)
        .await;
    assert_eq!(r.status(), 403);
}

async fn withdrawal_is_recorded_never_silent(app: TestApp) {
    let f = app.seed_with_plugins().await;
    let api = app.api(&f.a.mentor).await;
    let id = uuid();
    let (status, _) = post(&api, &body_for_a(&app, &f, &id).await).await;
    assert_eq!(status, 201);
    let path = format!("/api/v1/sessions/{id}/withdraw");
    let r = api.send(Method::POST, &path, &json!({})).await;
    assert_eq!(r.status(), 422, "a reason is required");
    let r = api
        .send(Method::POST, &path, &json!({"reason": "logged twice"}))
        .await;
    assert_eq!(r.status(), 200);
    let s: Value = r.json().await.unwrap();
    assert_eq!(s["status"], "withdrawn");
    assert_eq!(s["withdrawn_reason"], "logged twice");
    // Re-sent: harmless. A different reason: conflict.
    let r = api
        .send(Method::POST, &path, &json!({"reason": "logged twice"}))
        .await;
    assert_eq!(r.status(), 200);
    let r = api
        .send(Method::POST, &path, &json!({"reason": "other"}))
        .await;
    assert_eq!(r.status(), 409);
    // Still on record, out of the default list, in the full one; no longer correctable.
    let list: Value = api.get("/api/v1/sessions").await.json().await.unwrap();
    assert_eq!(list["total"], 0);
    let list: Value = api
        .get("/api/v1/sessions?status=all")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(app.count("observations").await, 1);
    let r = api
        .send(
            Method::PUT,
            &format!("/api/v1/sessions/{id}"),
            &body_for_a(&app, &f, &id).await,
        )
        .await;
    assert_eq!(r.status(), 409);
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE entity = 'session' AND entity_id = $1 AND action = 'withdraw'",
    )
    .bind(&id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(audited, 1);
}

async fn a_failing_plugin_stores_nothing_and_names_the_checklist(app: TestApp) {
    let f = app.seed_with_plugins().await;
    // A host whose plugin limits are too tight for any real scoring.
    let starved = app
        .another_process_with(
            test_config(),
            Limits {
                fuel: 1_000,
                ..Limits::default()
            },
        )
        .await;
    let body = body_for_a(&app, &f, &uuid()).await;
    let api = starved.api(&f.a.mentor).await;
    let (status, err) = post(&api, &body).await;
    assert_eq!(status, 503, "{err}");
    assert_eq!(err["error"]["code"], "scoring_failed");
    assert_eq!(fields(&err), ["observations[0].checklist_id"]);
    assert!(err.to_string().contains("fuel"), "{err}");
    assert_eq!(app.count("sessions").await, 0);
    assert_eq!(app.count("observations").await, 0);
    // The same submission succeeds later on a healthy host.
    let (status, _) = post(&app.api(&f.a.mentor).await, &body).await;
    assert_eq!(status, 201);
}

async fn a_half_received_request_stores_nothing(app: TestApp) {
    let f = app.seed_with_plugins().await;
    let api = app.api(&f.a.mentor).await;
    let body = serde_json::to_vec(&body_for_a(&app, &f, &uuid()).await).unwrap();
    let addr = app.url.trim_start_matches("http://").to_string();
    let head = format!(
        "POST /api/v1/sessions HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        api.token,
        body.len()
    );
    // Half the body, then the connection drops, as on a phone losing its signal.
    let sent = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(&body[..body.len() / 2]).unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer
    })
    .await
    .unwrap();
    assert!(
        sent.is_empty() || sent.starts_with("HTTP/1.1 4"),
        "unexpected answer: {sent}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.count("sessions").await, 0);
    assert_eq!(app.count("observations").await, 0);
}

async fn partners_see_only_their_own_sessions(app: TestApp) {
    let f = app.seed_with_plugins().await;
    let id = uuid();
    let (status, _) = post(
        &app.api(&f.a.mentor).await,
        &body_for_a(&app, &f, &id).await,
    )
    .await;
    assert_eq!(status, 201);
    let path = format!("/api/v1/sessions/{id}");
    for who in [&f.b.mentor, &f.b.org_admin] {
        let api = app.api(who).await;
        assert_eq!(api.get(&path).await.status(), 404);
        let list: Value = api.get("/api/v1/sessions").await.json().await.unwrap();
        assert_eq!(list["total"], 0);
        let r = api
            .send(
                Method::POST,
                &format!("{path}/withdraw"),
                &json!({"reason": "x"}),
            )
            .await;
        assert_eq!(r.status(), 404);
    }
    // Managers read every partner's sessions but log none.
    let manager = app.api(&f.manager).await;
    assert_eq!(manager.get(&path).await.status(), 200);
    let list: Value = manager
        .get(&format!("/api/v1/sessions?organisation_id={}", f.a.org.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    let (status, _) = post(&manager, &body_for_a(&app, &f, &uuid()).await).await;
    assert_eq!(status, 403);
    // A mentor logs only at assigned facilities.
    let mut elsewhere = body_for_a(&app, &f, &uuid()).await;
    elsewhere["facility_id"] = json!(f.unassigned_facility.id);
    let (status, err) = post(&app.api(&f.a.mentor).await, &elsewhere).await;
    assert_eq!(status, 422);
    assert!(fields(&err).contains(&"facility_id".to_string()));
}

async fn lists_filter_by_facility_provider_checklist_and_dates(app: TestApp) {
    let f = app.seed_with_plugins().await;
    let api = app.api(&f.a.mentor).await;
    let mut dates = Vec::new();
    for days_ago in [40, 10, 0] {
        let date = (chrono::Utc::now() - chrono::Duration::days(days_ago))
            .date_naive()
            .format("%Y-%m-%d")
            .to_string();
        let mut body = body_for_a(&app, &f, &uuid()).await;
        body["date"] = json!(date);
        let (status, s) = post(&api, &body).await;
        assert_eq!(status, 201, "{s}");
        dates.push(date);
    }
    let get = |q: String| {
        let api = &api;
        async move {
            let r = api.get(&format!("/api/v1/sessions?{q}")).await;
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let (_, all) = get(String::new()).await;
    assert_eq!(all["total"], 3);
    let got: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["date"].as_str().unwrap())
        .collect();
    assert_eq!(
        got,
        [dates[2].as_str(), &dates[1], &dates[0]],
        "newest first"
    );
    let (_, recent) = get(format!("from={}", dates[1])).await;
    assert_eq!(recent["total"], 2);
    let (_, old) = get(format!("to={}", dates[0])).await;
    assert_eq!(old["total"], 1);
    let (_, by_provider) = get(format!("provider_id={}", f.a.provider_id)).await;
    assert_eq!(by_provider["total"], 3);
    let (_, other_facility) = get(format!("facility_id={}", f.b.facility.id)).await;
    assert_eq!(other_facility["total"], 0);
    let (_, in_district) = get(format!("within={}", f.district.id)).await;
    assert_eq!(in_district["total"], 3);
    let (_, by_checklist) = get("plugin_key=hbb&checklist_id=osce-a".into()).await;
    assert_eq!(by_checklist["total"], 0);
    let (_, page) = get("per_page=2&page=2".into()).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let (status, err) = get("from=yesterday".into()).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(fields(&err), ["from"]);
}

/// The reports' copies of the sessions (`report_*`, `domain::reporting`) against what the
/// session tables say, as sorted rows: (organisation, date, session, provider) per mentee;
/// (organisation, date, observation, session, provider, facility, checklist, kind) per
/// observation; (organisation, date, observation, metric, value) per metric.
async fn reporting_rows(app: &TestApp, derived: bool) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    let sql: [&str; 3] = if derived {
        [
            "SELECT s.organisation_id, s.session_date, s.id, m.provider_id
             FROM sessions s JOIN session_mentees m ON m.session_id = s.id WHERE s.status = 'recorded'",
            "SELECT s.organisation_id, o.observed_on, o.id, s.id, o.provider_id, s.facility_id, o.checklist_id, o.checklist_kind
             FROM sessions s JOIN observations o ON o.session_id = s.id WHERE s.status = 'recorded'",
            "SELECT s.organisation_id, o.observed_on, o.id, m.name, m.value
             FROM sessions s JOIN observations o ON o.session_id = s.id
               JOIN observation_metrics m ON m.observation_id = o.id WHERE s.status = 'recorded'",
        ]
    } else {
        [
            "SELECT organisation_id, session_date, session_id, provider_id FROM report_mentees",
            "SELECT organisation_id, observed_on, observation_id, session_id, provider_id, facility_id, checklist_id, checklist_kind
             FROM report_observations",
            "SELECT organisation_id, observed_on, observation_id, name, value FROM report_metrics",
        ]
    };
    let pool = app.db.pool();
    let mut mentees: Vec<Value> = sqlx::query_as::<_, (i64, String, String, i64)>(sql[0])
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .map(|r| json!([r.0, r.1, r.2, r.3]))
        .collect();
    let mut observations: Vec<Value> =
        sqlx::query_as::<_, (i64, String, i64, String, i64, i64, String, String)>(sql[1])
            .fetch_all(pool)
            .await
            .unwrap()
            .into_iter()
            .map(|r| json!([r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7]))
            .collect();
    let mut metrics: Vec<Value> = sqlx::query_as::<_, (i64, String, i64, String, f64)>(sql[2])
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .map(|r| json!([r.0, r.1, r.2, r.3, r.4]))
        .collect();
    for rows in [&mut mentees, &mut observations, &mut metrics] {
        rows.sort_by_key(|r| r.to_string());
    }
    (mentees, observations, metrics)
}

async fn assert_reporting_follows(app: &TestApp, step: &str) -> (usize, usize, usize) {
    let copied = reporting_rows(app, false).await;
    let derived = reporting_rows(app, true).await;
    assert_eq!(copied.0, derived.0, "{step}: report_mentees");
    assert_eq!(copied.1, derived.1, "{step}: report_observations");
    assert_eq!(copied.2, derived.2, "{step}: report_metrics");
    (copied.0.len(), copied.1.len(), copied.2.len())
}

async fn reporting_copies_follow_every_change(app: TestApp) {
    let f = app.seed_with_plugins().await;
    let api = app.api(&f.a.mentor).await;
    let (first, second) = (uuid(), uuid());
    let body = body_for_a(&app, &f, &first).await;
    assert_eq!(post(&api, &body).await.0, 201);
    let (n_mentees, n_obs, n_metrics) = assert_reporting_follows(&app, "created").await;
    assert_eq!((n_mentees, n_obs), (1, 1));
    assert!(n_metrics > 0, "the AMTSL drill emits metrics");
    assert_eq!(
        post(&api, &body_for_a(&app, &f, &second).await).await.0,
        201
    );
    assert_eq!(
        assert_reporting_follows(&app, "second created").await,
        (2, 2, 2 * n_metrics)
    );

    // A correction moves the session to another day and scores it worse: the copies move and
    // carry the new values, and none of the old ones is left behind.
    let yesterday = (chrono::Utc::now().date_naive() - chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let mut corrected = body.clone();
    corrected["date"] = json!(yesterday);
    let responses = corrected["observations"][0]["responses"]
        .as_array_mut()
        .unwrap();
    let worse = responses
        .iter_mut()
        .find(|r| r["answer"]["type"] == "done")
        .expect("a done/partly/not-done item");
    worse["answer"] = json!({"type": "not_done"});
    corrected["reason"] = json!("wrong day");
    let r = api
        .send(
            Method::PUT,
            &format!("/api/v1/sessions/{first}"),
            &corrected,
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    assert_eq!(
        assert_reporting_follows(&app, "corrected").await,
        (2, 2, 2 * n_metrics)
    );
    let moved: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM report_observations WHERE session_id = $1 AND observed_on = $2",
    )
    .bind(&first)
    .bind(&yesterday)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(moved, 1, "the corrected observation is on its new day");

    // Corrected again with the same content: the same rows, derived anew.
    let r = api
        .send(
            Method::PUT,
            &format!("/api/v1/sessions/{first}"),
            &corrected,
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        assert_reporting_follows(&app, "corrected twice").await,
        (2, 2, 2 * n_metrics)
    );

    // A withdrawn session leaves the reports.
    let r = api
        .send(
            Method::POST,
            &format!("/api/v1/sessions/{second}/withdraw"),
            &json!({"reason": "logged twice"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        assert_reporting_follows(&app, "withdrawn").await,
        (1, 1, n_metrics)
    );
}

engine_tests! {
    async fn logs_scored_session(app) { logs_a_scored_session_and_records_what_scored_it(app).await }
    async fn idempotent_resend(app) { identical_resend_returns_the_stored_session_and_a_different_body_conflicts(app).await }
    async fn concurrent_duplicates(app) { concurrent_duplicates_store_one_session(app).await }
    async fn bad_input(app) { bad_input_names_the_field_and_stores_nothing(app).await }
    async fn grants(app) { another_partners_checklist_needs_its_grant(app).await }
    async fn corrections(app) { corrections_rescore_with_the_pinned_or_the_current_version(app).await }
    async fn correction_window(app) { the_correction_window_binds_mentors_not_org_admins(app).await }
    async fn withdrawal(app) { withdrawal_is_recorded_never_silent(app).await }
    async fn failing_plugin(app) { a_failing_plugin_stores_nothing_and_names_the_checklist(app).await }
    async fn half_received(app) { a_half_received_request_stores_nothing(app).await }
    async fn isolation(app) { partners_see_only_their_own_sessions(app).await }
    async fn list_filters(app) { lists_filter_by_facility_provider_checklist_and_dates(app).await }
    async fn reporting_copies(app) { reporting_copies_follow_every_change(app).await }
}
