//! Trainings through the API and the pages: participants from the provider registry (community
//! cadres included), attendance per day, pre- and post-tests scored by the partner's
//! `training_test` checklist (Helping Babies Breathe's knowledge check: 18 questions, pass at
//! 14), each participant's gain and verdict and the event's summary checked against figures
//! computed here; the offline-safe contract, bad input, corrections, withdrawal, roles and
//! partner isolation.

use mentortrack::plugins::Limits;
use mentortrack_tests::checklists::{Fill, fill_checklist, find};
use mentortrack_tests::{Api, Fixture, TestApp, engine_tests, test_config, texts};
use reqwest::Method;
use serde_json::{Value, json};

const QUESTIONS: usize = 18;
const PASS_AT: usize = 14;

fn uuid() -> String {
    mentortrack::domain::scoring::new_uuid().unwrap()
}

/// Today plus `offset` days, `YYYY-MM-DD` (UTC).
fn day(offset: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

fn pct(correct: usize) -> f64 {
    correct as f64 * 100.0 / QUESTIONS as f64
}

fn close(value: &Value, expected: f64) -> bool {
    value.as_f64().is_some_and(|v| (v - expected).abs() < 1e-6)
}

async fn checklists(api: &Api) -> Value {
    api.get("/api/v1/checklists").await.json().await.unwrap()
}

/// A knowledge-check test with the first `correct` questions answered right.
fn knowledge_test(all: &Value, correct: usize) -> Value {
    let entry = find(all, "knowledge-check");
    json!({
        "plugin_version_id": entry["plugin_version_id"],
        "checklist_id": "knowledge-check",
        "responses": fill_checklist(entry, Fill::BestFirst(correct)),
    })
}

async fn post(api: &Api, body: &Value) -> (u16, Value) {
    let r = api.send(Method::POST, "/api/v1/trainings", body).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn put(api: &Api, id: &str, body: &Value) -> (u16, Value) {
    let r = api
        .send(Method::PUT, &format!("/api/v1/trainings/{id}"), body)
        .await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(api: &Api, path: &str) -> (u16, Value) {
    let r = api.get(path).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A change to a valid body that makes it invalid.
type Change<'a> = Box<dyn Fn(&mut Value) + 'a>;

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

/// Registers a provider of B through the API (B's org admin may register at any facility).
async fn provider_of_b(app: &TestApp, f: &Fixture, facility: i64, name: &str, cadre: &str) -> i64 {
    let api = app.api(&f.b.org_admin).await;
    let r = api
        .send(
            Method::POST,
            "/api/v1/providers",
            &json!({"facility_id": facility, "name": name, "cadre": cadre}),
        )
        .await;
    assert_eq!(r.status(), 201, "registering {name}");
    let body: Value = r.json().await.unwrap();
    body["id"].as_i64().unwrap()
}

/// A three-day training of B, finished yesterday, held at a district office, for B's own
/// provider with a pre- and a post-test.
async fn simple_body(api: &Api, f: &Fixture, id: &str, pre: usize, post: usize) -> Value {
    let all = checklists(api).await;
    json!({
        "id": id,
        "title": "HBB refresher",
        "start_date": day(-3),
        "end_date": day(-1),
        "venue": "Karongi district office",
        "facilitators": "Dr Uwase, Nurse Habimana",
        "participants": [{
            "provider_id": f.b.provider_id,
            "attendance": [day(-3), day(-2), day(-1)],
            "pre_test": knowledge_test(&all, pre),
            "post_test": knowledge_test(&all, post),
        }],
    })
}

fn participant(t: &Value, provider_id: i64) -> &Value {
    t["participant_list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider_id"] == provider_id)
        .unwrap_or_else(|| panic!("no participant {provider_id} in {t}"))
}

async fn scores_tests_gains_and_the_summary(app: TestApp) {
    let f = app.seed_with_plugins().await;
    let mentor = app.api(&f.b.mentor).await;
    let nurse = provider_of_b(
        &app,
        &f,
        f.unassigned_facility.id,
        "Nurse elsewhere",
        "nurse",
    )
    .await;
    let volunteer = provider_of_b(
        &app,
        &f,
        f.b.facility.id,
        "Village volunteer",
        "village_health_volunteer",
    )
    .await;
    let all = checklists(&mentor).await;
    // (provider, days attended, correct answers before, after)
    let plan = [
        (f.b.provider_id, vec![day(-3), day(-2), day(-1)], 9, 16),
        (nurse, vec![day(-3), day(-2)], 12, 13),
        (volunteer, vec![day(-1)], 0, 18),
    ];
    let id = uuid();
    let body = json!({
        "id": id,
        "title": "Helping Babies Breathe: initial course",
        "start_date": day(-3),
        "end_date": day(-1),
        "venue": "Karongi district office",
        "facilitators": "Dr Uwase, Nurse Habimana",
        "participants": plan.iter().map(|(p, days, pre, post)| json!({
            "provider_id": p,
            "attendance": days,
            "pre_test": knowledge_test(&all, *pre),
            "post_test": knowledge_test(&all, *post),
        })).collect::<Vec<_>>(),
    });
    let (status, t) = post(&mentor, &body).await;
    assert_eq!(status, 201, "{t}");
    assert_eq!(t["id"], id);
    assert_eq!(t["status"], "recorded");
    assert_eq!(t["revision"], 1);
    assert_eq!(t["participants"], 3);
    assert_eq!(t["days"], json!([day(-3), day(-2), day(-1)]));

    // Each participant, against figures computed here.
    for (p, days, pre, post) in &plan {
        let row = participant(&t, *p);
        assert_eq!(row["attendance"], json!(days), "{row}");
        assert_eq!(row["days_attended"], days.len());
        assert!(close(&row["pre_percentage"], pct(*pre)), "{row}");
        assert!(close(&row["post_percentage"], pct(*post)), "{row}");
        assert!(close(&row["gain_points"], pct(*post) - pct(*pre)), "{row}");
        if *pre == 0 {
            assert!(row["relative_gain"].is_null(), "{row}");
        } else {
            let expected = (pct(*post) - pct(*pre)) / pct(*pre);
            assert!(close(&row["relative_gain"], expected), "{row}");
        }
        assert_eq!(row["passed"], *post >= PASS_AT, "{row}");
        let outcome = if *post >= PASS_AT { "pass" } else { "fail" };
        assert_eq!(row["post_outcome"], outcome);
    }
    // A community cadre takes part like any provider.
    assert_eq!(
        participant(&t, volunteer)["cadre"],
        "village_health_volunteer"
    );

    // The event: means over the scores, the gain over those with both, pass rate over those
    // with a post-test, attendance over participant-days.
    let n = plan.len() as f64;
    let mean_pre = plan.iter().map(|p| pct(p.2)).sum::<f64>() / n;
    let mean_post = plan.iter().map(|p| pct(p.3)).sum::<f64>() / n;
    let mean_gain = plan.iter().map(|p| pct(p.3) - pct(p.2)).sum::<f64>() / n;
    let passed = plan.iter().filter(|p| p.3 >= PASS_AT).count();
    let attended: usize = plan.iter().map(|p| p.1.len()).sum();
    let r = &t["results"];
    assert_eq!(r["participants"], 3);
    assert_eq!(
        (r["pre_tested"].clone(), r["post_tested"].clone()),
        (json!(3), json!(3))
    );
    assert!(close(&r["mean_pre"], mean_pre), "{r}");
    assert!(close(&r["mean_post"], mean_post), "{r}");
    assert!(close(&r["mean_gain"], mean_gain), "{r}");
    assert_eq!(r["passed"], passed);
    assert!(close(&r["pass_rate"], passed as f64 * 100.0 / n), "{r}");
    assert_eq!(r["days_so_far"], 3);
    assert!(
        close(&r["attendance_rate"], attended as f64 * 100.0 / (n * 3.0)),
        "{r}"
    );

    // Every test records what scored it, on the first or the last day.
    let obs = t["observation_list"].as_array().unwrap();
    assert_eq!(obs.len(), 6);
    for o in obs {
        assert_eq!(o["plugin_key"], "hbb");
        assert_eq!(o["plugin_version_id"], f.b.plugin_version_id);
        assert_eq!(o["checklist_kind"], "training_test");
        assert_eq!(o["plugin_sha256"].as_str().unwrap().len(), 64);
        let expected_day = if o["phase"] == "pre" {
            day(-3)
        } else {
            day(-1)
        };
        assert_eq!(o["observed_on"], expected_day, "{o}");
    }
    let audits: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE entity = 'training' AND entity_id = $1 AND action = 'create'",
    )
    .bind(&id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(audits, 1);

    // Read back, the same figures.
    let (status, again) = get(&mentor, &format!("/api/v1/trainings/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(again["results"], t["results"]);
    assert_eq!(again["participant_list"], t["participant_list"]);
}

async fn identical_resend_returns_the_training_and_a_different_body_conflicts(app: TestApp) {
    let f = app.seed_with_plugins().await;
    let mentor = app.api(&f.b.mentor).await;
    let id = uuid();
    let body = simple_body(&mentor, &f, &id, 9, 16).await;
    let (status, first) = post(&mentor, &body).await;
    assert_eq!(status, 201, "{first}");
    let (status, again) = post(&mentor, &body).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], id);
    assert_eq!(again["revision"], 1);
    assert_eq!(again["observation_list"], first["observation_list"]);
    // The id is matched whatever its case.
    let mut upper = body.clone();
    upper["id"] = json!(id.to_uppercase());
    assert_eq!(post(&mentor, &upper).await.0, 200);

    let mut different = body.clone();
    different["title"] = json!("Another title");
    let (status, refused) = post(&mentor, &different).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "conflict");
    assert_eq!(app.count("trainings").await, 1);
    assert_eq!(app.count("observations").await, 2);
    let (_, stored) = get(&mentor, &format!("/api/v1/trainings/{id}")).await;
    assert_eq!(stored["title"], "HBB refresher");
    assert_eq!(stored["revision"], 1);

    // Concurrent duplicates store one training.
    let id = uuid();
    let body = simple_body(&mentor, &f, &id, 10, 15).await;
    let results = futures_util::future::join_all((0..6).map(|_| post(&mentor, &body))).await;
    let statuses: Vec<u16> = results.iter().map(|r| r.0).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(app.count("trainings").await, 2);
    assert_eq!(app.count("observations").await, 4);
    assert_eq!(app.count("training_participants").await, 2);
    assert_eq!(app.count("training_attendance").await, 6);
}

async fn bad_input_names_the_field_and_stores_nothing(app: TestApp) {
    let f = app.seed_with_plugins().await;
    let mentor = app.api(&f.b.mentor).await;
    let all = checklists(&mentor).await;
    let base = simple_body(&mentor, &f, &uuid(), 9, 16).await;
    let bag_mask = find(&all, "bag-mask");
    let a_checklists = checklists(&app.api(&f.a.mentor).await).await;
    let a_entry = &a_checklists[0];

    let cases: Vec<(&str, Change<'_>)> = vec![
        (
            "participants[0].pre_test.checklist_id",
            // A skills checklist is not a test.
            Box::new(|b: &mut Value| {
                b["participants"][0]["pre_test"] = json!({
                    "plugin_version_id": bag_mask["plugin_version_id"],
                    "checklist_id": "bag-mask",
                    "responses": fill_checklist(bag_mask, Fill::Best),
                })
            }),
        ),
        (
            "participants[0].post_test.checklist_id",
            // Another partner's checklist, not granted.
            Box::new(|b: &mut Value| {
                b["participants"][0]["post_test"] = json!({
                    "plugin_version_id": a_entry["plugin_version_id"],
                    "checklist_id": a_entry["checklist"]["id"],
                    "responses": fill_checklist(a_entry, Fill::Best),
                })
            }),
        ),
        (
            "participants[0].provider_id",
            Box::new(|b: &mut Value| b["participants"][0]["provider_id"] = json!(f.a.provider_id)),
        ),
        (
            "participants[0].attendance[1]",
            Box::new(|b: &mut Value| {
                b["participants"][0]["attendance"] = json!([day(-3), day(-10)])
            }),
        ),
        (
            "end_date",
            Box::new(|b: &mut Value| {
                b["end_date"] = json!(day(-4));
                b["participants"][0]["attendance"] = json!([]);
            }),
        ),
        (
            "participants[0].post_test.responses.q99",
            Box::new(|b: &mut Value| {
                b["participants"][0]["post_test"]["responses"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"item_id": "q99", "answer": {"type": "yes"}}))
            }),
        ),
        (
            "participants[0].pre_test.responses.q18",
            // A required question left out.
            Box::new(|b: &mut Value| {
                b["participants"][0]["pre_test"]["responses"]
                    .as_array_mut()
                    .unwrap()
                    .pop();
            }),
        ),
        ("venue", Box::new(|b: &mut Value| b["venue"] = Value::Null)),
        (
            "facility_id",
            // A venue and a facility: one or the other.
            Box::new(|b: &mut Value| b["facility_id"] = json!(f.b.facility.id)),
        ),
        (
            "start_date",
            Box::new(|b: &mut Value| {
                b["start_date"] = json!(day(400));
                b["end_date"] = json!(day(401));
                b["participants"] = json!([]);
            }),
        ),
        (
            "participants[0].pre_test",
            // A planned training: no test can have been taken yet.
            Box::new(|b: &mut Value| {
                b["start_date"] = json!(day(10));
                b["end_date"] = json!(day(11));
                b["participants"][0]["attendance"] = json!([]);
                b["participants"][0]["post_test"] = Value::Null;
            }),
        ),
        (
            "id",
            Box::new(|b: &mut Value| b["id"] = json!("not-a-uuid")),
        ),
    ];
    for (field, change) in &cases {
        let mut body = base.clone();
        change(&mut body);
        let (status, e) = post(&mentor, &body).await;
        assert_eq!(status, 422, "{field}: {e}");
        assert_eq!(e["error"]["code"], "validation_failed");
        assert!(
            fields(&e).iter().any(|f| f == field),
            "expected {field} among {:?}",
            fields(&e)
        );
    }
    assert_eq!(app.count("trainings").await, 0);
    assert_eq!(app.count("observations").await, 0);
    assert_eq!(app.count("training_participants").await, 0);

    // A planned training without tests is fine.
    let mut planned = base.clone();
    planned["start_date"] = json!(day(30));
    planned["end_date"] = json!(day(31));
    planned["participants"] = json!([{"provider_id": f.b.provider_id}]);
    let (status, t) = post(&mentor, &planned).await;
    assert_eq!(status, 201, "{t}");
    assert!(t["results"]["attendance_rate"].is_null());
    assert_eq!(t["results"]["days_so_far"], 0);
}

async fn corrections_rescore_with_the_pinned_version(app: TestApp) {
    let f = app.seed_with_plugins().await;
    let mentor = app.api(&f.b.mentor).await;
    let id = uuid();
    let body = simple_body(&mentor, &f, &id, 9, 16).await;
    let (status, first) = post(&mentor, &body).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(participant(&first, f.b.provider_id)["passed"], true);

    // The post-test was mistyped: 10 right, not 16.
    let all = checklists(&mentor).await;
    let mut corrected = body.clone();
    corrected["participants"][0]["post_test"] = knowledge_test(&all, 10);
    corrected["reason"] = json!("post-test typed from the wrong sheet");
    let (status, t) = put(&mentor, &id, &corrected).await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["revision"], 2);
    let row = participant(&t, f.b.provider_id);
    assert!(close(&row["post_percentage"], pct(10)), "{row}");
    assert!(close(&row["gain_points"], pct(10) - pct(9)), "{row}");
    assert_eq!(row["passed"], false);
    assert!(close(&t["results"]["pass_rate"], 0.0));
    for o in t["observation_list"].as_array().unwrap() {
        assert_eq!(o["plugin_version_id"], f.b.plugin_version_id);
    }
    let (before, after): (String, String) = sqlx::query_as(
        "SELECT before_json, after_json FROM audit_log WHERE entity = 'training' AND entity_id = $1 AND action = 'correct'",
    )
    .bind(&id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert!(before.contains("\"post_outcome\":\"pass\""), "{before}");
    assert!(after.contains("wrong sheet"), "{after}");

    // The same correction again changes nothing; the original create re-sent is recognised.
    let (_, again) = put(&mentor, &id, &corrected).await;
    assert_eq!(again["revision"], 2);
    let (status, replay) = post(&mentor, &body).await;
    assert_eq!(status, 200, "{replay}");
    assert_eq!(replay["revision"], 2);

    // A correction with a bad day stores nothing.
    let mut bad = corrected.clone();
    bad["participants"][0]["attendance"] = json!([day(5)]);
    let (status, e) = put(&mentor, &id, &bad).await;
    assert_eq!(status, 422);
    assert!(
        fields(&e).contains(&"participants[0].attendance[0]".to_string()),
        "{e}"
    );

    // The org admin may correct too; a manager may not.
    let admin = app.api(&f.b.org_admin).await;
    let mut by_admin = corrected.clone();
    by_admin["title"] = json!("HBB refresher (Karongi)");
    let (status, t) = put(&admin, &id, &by_admin).await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["revision"], 3);
    let manager = app.api(&f.manager).await;
    assert_eq!(put(&manager, &id, &by_admin).await.0, 403);
}

async fn the_correction_window_binds_the_recorder_not_org_admins(app: TestApp) {
    let f = app.seed_with_plugins().await;
    let id = uuid();
    let mentor = app.api(&f.b.mentor).await;
    let body = simple_body(&mentor, &f, &id, 9, 16).await;
    assert_eq!(post(&mentor, &body).await.0, 201);
    let mut corrected = body.clone();
    corrected["title"] = json!("HBB refresher (corrected)");

    // Another mentor of the same organisation reads it but may not change it.
    mentortrack_tests::user(&app.db, &f.b.org, "mentor2@rpa.example.org", "mentor").await;
    let colleague = app.api("mentor2@rpa.example.org").await;
    assert_eq!(
        get(&colleague, &format!("/api/v1/trainings/{id}")).await.0,
        200
    );
    assert_eq!(put(&colleague, &id, &corrected).await.0, 403);

    // A programme that allows no correction time: the recorder is refused, the org admin not.
    let mut config = test_config();
    config.programme.correction_window_days = 0;
    let strict = app.another_process_with(config, Limits::default()).await;
    let (status, e) = put(&strict.api(&f.b.mentor).await, &id, &corrected).await;
    assert_eq!(status, 409, "{e}");
    let r = strict
        .api(&f.b.mentor)
        .await
        .send(
            Method::POST,
            &format!("/api/v1/trainings/{id}/withdraw"),
            &json!({"reason": "duplicate"}),
        )
        .await;
    assert_eq!(r.status(), 409);
    let (status, t) = put(&strict.api(&f.b.org_admin).await, &id, &corrected).await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["title"], "HBB refresher (corrected)");

    // The window runs from the last day: a training planned ahead stays open to its recorder.
    let planned = uuid();
    let (status, e) = post(
        &mentor,
        &json!({"id": planned, "title": "Planned", "start_date": day(20), "end_date": day(21),
                "venue": "Hotel", "facilitators": "X",
                "participants": [{"provider_id": f.b.provider_id}]}),
    )
    .await;
    assert_eq!(status, 201, "{e}");
    let (status, t) = put(
        &strict.api(&f.b.mentor).await,
        &planned,
        &json!({"title": "Planned (moved)", "start_date": day(22), "end_date": day(23),
                "venue": "Hotel", "facilitators": "X",
                "participants": [{"provider_id": f.b.provider_id}]}),
    )
    .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["start_date"], day(22));
}

async fn withdrawal_is_recorded_never_silent(app: TestApp) {
    let f = app.seed_with_plugins().await;
    let mentor = app.api(&f.b.mentor).await;
    let id = uuid();
    let body = simple_body(&mentor, &f, &id, 9, 16).await;
    assert_eq!(post(&mentor, &body).await.0, 201);
    let path = format!("/api/v1/trainings/{id}/withdraw");
    let r = mentor.send(Method::POST, &path, &json!({})).await;
    assert_eq!(r.status(), 422);
    let e: Value = r.json().await.unwrap();
    assert_eq!(fields(&e), ["reason"]);

    let r = mentor
        .send(Method::POST, &path, &json!({"reason": "recorded twice"}))
        .await;
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["status"], "withdrawn");
    assert_eq!(t["withdrawn_reason"], "recorded twice");
    // The same withdrawal again is harmless; another reason is a conflict.
    let r = mentor
        .send(Method::POST, &path, &json!({"reason": "recorded twice"}))
        .await;
    assert_eq!(r.status(), 200);
    let r = mentor
        .send(Method::POST, &path, &json!({"reason": "something else"}))
        .await;
    assert_eq!(r.status(), 409);
    // Still on record, out of the default list, no longer correctable.
    assert_eq!(app.count("trainings").await, 1);
    assert_eq!(app.count("observations").await, 2);
    let (_, list) = get(&mentor, "/api/v1/trainings").await;
    assert_eq!(list["total"], 0);
    let (_, list) = get(&mentor, "/api/v1/trainings?status=withdrawn").await;
    assert_eq!(list["total"], 1);
    let mut corrected = body.clone();
    corrected["title"] = json!("Changed");
    assert_eq!(put(&mentor, &id, &corrected).await.0, 409);
    let withdrawals: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE entity = 'training' AND entity_id = $1 AND action = 'withdraw'",
    )
    .bind(&id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(withdrawals, 1);
}

async fn partners_and_managers_see_only_what_they_may(app: TestApp) {
    let f = app.seed_with_plugins().await;
    let mentor = app.api(&f.b.mentor).await;
    let id = uuid();
    let body = simple_body(&mentor, &f, &id, 9, 16).await;
    assert_eq!(post(&mentor, &body).await.0, 201);

    // Another partner: not found, whatever it tries.
    let other = app.api(&f.a.mentor).await;
    assert_eq!(get(&other, &format!("/api/v1/trainings/{id}")).await.0, 404);
    assert_eq!(put(&other, &id, &body).await.0, 404);
    let r = other
        .send(
            Method::POST,
            &format!("/api/v1/trainings/{id}/withdraw"),
            &json!({"reason": "x"}),
        )
        .await;
    assert_eq!(r.status(), 404);
    let (_, list) = get(&other, "/api/v1/trainings").await;
    assert_eq!(list["total"], 0);
    let (_, list) = get(
        &other,
        &format!("/api/v1/trainings?organisation_id={}", f.b.org.id),
    )
    .await;
    assert_eq!(list["total"], 0);
    // Re-sending B's id from A is a conflict, never a read of B's training.
    let (status, e) = post(&other, &body).await;
    assert_eq!(status, 409, "{e}");
    assert!(e.get("participant_list").is_none());

    // A manager reads every partner's trainings but records none.
    let manager = app.api(&f.manager).await;
    assert_eq!(
        get(&manager, &format!("/api/v1/trainings/{id}")).await.0,
        200
    );
    let (_, list) = get(&manager, "/api/v1/trainings").await;
    assert_eq!(list["total"], 1);
    let fresh = simple_body(&mentor, &f, &uuid(), 9, 16).await;
    assert_eq!(post(&manager, &fresh).await.0, 403);
    let r = manager
        .send(
            Method::POST,
            &format!("/api/v1/trainings/{id}/withdraw"),
            &json!({"reason": "x"}),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(app.count("trainings").await, 1);
}

async fn lists_filter_by_place_provider_and_dates(app: TestApp) {
    let f = app.seed_with_plugins().await;
    let mentor = app.api(&f.b.mentor).await;
    let nurse = provider_of_b(
        &app,
        &f,
        f.unassigned_facility.id,
        "Nurse elsewhere",
        "nurse",
    )
    .await;
    // An older training at a hotel for B's provider, a recent one at B's facility for the nurse.
    let old = uuid();
    let (status, e) = post(
        &mentor,
        &json!({"id": old, "title": "Old", "start_date": day(-20), "end_date": day(-19),
                "venue": "Hotel", "facilitators": "X",
                "participants": [{"provider_id": f.b.provider_id}]}),
    )
    .await;
    assert_eq!(status, 201, "{e}");
    let recent = uuid();
    let (status, e) = post(
        &mentor,
        &json!({"id": recent, "title": "Recent", "start_date": day(-3), "end_date": day(-1),
                "facility_id": f.b.facility.id, "facilitators": "Y",
                "participants": [{"provider_id": nurse}]}),
    )
    .await;
    assert_eq!(status, 201, "{e}");
    let ids = |list: &Value| -> Vec<String> {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    };
    let cases = [
        (String::new(), vec![recent.clone(), old.clone()]),
        (
            format!("facility_id={}", f.b.facility.id),
            vec![recent.clone()],
        ),
        (format!("within={}", f.district.id), vec![recent.clone()]),
        (
            format!("provider_id={}", f.b.provider_id),
            vec![old.clone()],
        ),
        (format!("provider_id={nurse}"), vec![recent.clone()]),
        (format!("from={}", day(-5)), vec![recent.clone()]),
        (format!("to={}", day(-10)), vec![old.clone()]),
        (
            format!("from={}&to={}", day(-19), day(-19)),
            vec![old.clone()],
        ),
    ];
    for (query, expected) in cases {
        let (status, list) = get(&mentor, &format!("/api/v1/trainings?{query}")).await;
        assert_eq!(status, 200, "{query}: {list}");
        assert_eq!(ids(&list), expected, "{query}");
    }
    let (status, e) = get(&mentor, "/api/v1/trainings?from=yesterday").await;
    assert_eq!(status, 422);
    assert_eq!(fields(&e), ["from"]);
    let (_, list) = get(&mentor, "/api/v1/trainings?per_page=1&page=2").await;
    assert_eq!(ids(&list), vec![old.clone()]);
    assert_eq!(list["total"], 2);
}

// ---------------------------------------------------------------------------------------------
// Pages

fn first_attr(doc: &scraper::Html, css: &str, attr: &str) -> Option<String> {
    let sel = scraper::Selector::parse(css).unwrap();
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr(attr))
        .map(str::to_string)
}

fn count(doc: &scraper::Html, css: &str) -> usize {
    let sel = scraper::Selector::parse(css).unwrap();
    doc.select(&sel).count()
}

/// The test form's fields for the knowledge check with the first `correct` answered right
/// (and, with `skip_last`, the last question left out).
fn test_fields(
    provider_id: i64,
    phase: &str,
    checklist: &str,
    correct: usize,
    skip_last: bool,
) -> Vec<(String, String)> {
    let mut fields = vec![
        ("provider_id".to_string(), provider_id.to_string()),
        ("phase".to_string(), phase.to_string()),
        ("checklist".to_string(), checklist.to_string()),
    ];
    let last = if skip_last { QUESTIONS - 1 } else { QUESTIONS };
    for n in 1..=last {
        let answer = if n <= correct { "yes" } else { "no" };
        fields.push((format!("t.r.q{n:02}"), answer.to_string()));
    }
    fields
}

async fn pages_record_a_training_its_tests_and_show_the_summary(app: TestApp) {
    let f = app.seed_with_plugins().await;
    let web = app.sign_in(&f.b.mentor).await;
    let pid = f.b.provider_id.to_string();

    let (status, doc) = web.html("/trainings/new").await;
    assert_eq!(status, 200);
    let id = first_attr(&doc, "#training-form input[name=id]", "value").expect("a hidden id");
    assert_eq!(id.len(), 36);
    assert_eq!(
        count(&doc, &format!("input[name=participant][value=\"{pid}\"]")),
        1,
        "B's provider is offered"
    );
    assert_eq!(
        count(
            &doc,
            &format!("input[name=participant][value=\"{}\"]", f.a.provider_id)
        ),
        0
    );

    // Searching keeps what was typed and what was ticked.
    let form = |action: &'static str| {
        vec![
            ("id", id.clone()),
            ("title", "HBB refresher".to_string()),
            ("start_date", day(-2)),
            ("end_date", day(-1)),
            ("venue", "Hotel Golf Eden Rock".to_string()),
            ("facility_id", String::new()),
            ("facilitators", "Dr Uwase".to_string()),
            ("participant", pid.clone()),
            ("q", "nobody matches this".to_string()),
            ("action", action.to_string()),
        ]
    };
    let as_pairs = |v: &Vec<(&str, String)>| -> Vec<(String, String)> {
        v.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    };
    let post = |path: String, fields: Vec<(String, String)>| {
        let web = &web;
        async move {
            let refs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            web.post(&path, &refs).await
        }
    };
    let r = post("/trainings".into(), as_pairs(&form("search"))).await;
    assert_eq!(r.status(), 200);
    let doc = scraper::Html::parse_document(&r.text().await.unwrap());
    assert_eq!(
        first_attr(&doc, "#title", "value").as_deref(),
        Some("HBB refresher")
    );
    assert!(
        doc.select(
            &scraper::Selector::parse(&format!("input[name=participant][value=\"{pid}\"]"))
                .unwrap()
        )
        .next()
        .is_some_and(|e| e.value().attr("checked").is_some()),
        "the ticked participant stays ticked"
    );
    assert_eq!(app.count("trainings").await, 0);

    // Saving twice (a double submit) stores one training.
    let r = post("/trainings".into(), as_pairs(&form("save"))).await;
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, format!("/trainings/{id}"));
    let r = post("/trainings".into(), as_pairs(&form("save"))).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"].to_str().unwrap(), location);
    assert_eq!(app.count("trainings").await, 1);

    // The pre-test form renders the knowledge check from its definition.
    let (status, doc) = web
        .html(&format!("/trainings/{id}/test?provider_id={pid}&phase=pre"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(count(&doc, "#test-form .cl-item"), QUESTIONS);
    assert_eq!(
        count(&doc, "#test-form input[type=radio][name=\"t.r.q01\"]"),
        2
    );
    assert_eq!(
        count(&doc, "#test-form input[type=radio][name^=\"t.r.\"]"),
        QUESTIONS * 2
    );
    assert_eq!(
        count(&doc, "#test-form .cl-item .hint"),
        QUESTIONS,
        "help text per question"
    );
    let chosen = first_attr(&doc, "#test-form input[name=checklist]", "value").unwrap();
    assert!(chosen.ends_with(":knowledge-check"), "{chosen}");

    // A question left out: 422 naming it, what was typed kept, nothing stored.
    let r = post(
        format!("/trainings/{id}/test"),
        test_fields(f.b.provider_id, "pre", &chosen, 9, true),
    )
    .await;
    assert_eq!(r.status(), 422);
    let doc = scraper::Html::parse_document(&r.text().await.unwrap());
    assert_eq!(count(&doc, ".field-error[data-item=q18]"), 1);
    assert_eq!(
        count(&doc, "input[name=\"t.r.q01\"][value=yes][checked]"),
        1
    );
    assert_eq!(app.count("observations").await, 0);

    for (phase, correct) in [("pre", 9), ("post", 16)] {
        let r = post(
            format!("/trainings/{id}/test"),
            test_fields(f.b.provider_id, phase, &chosen, correct, false),
        )
        .await;
        assert_eq!(r.status(), 303, "{phase}");
    }
    assert_eq!(app.count("observations").await, 2);

    // Attendance: one of the two days.
    let r = web
        .post(
            &format!("/trainings/{id}/attendance"),
            &[("a", format!("{pid}:{}", day(-2)).as_str())],
        )
        .await;
    assert_eq!(r.status(), 303);

    let (status, doc) = web.html(&format!("/trainings/{id}")).await;
    assert_eq!(status, 200);
    let row = format!("#participant-{pid}");
    assert!(texts(&doc, &format!("{row} .pre"))[0].starts_with("50%"));
    assert!(texts(&doc, &format!("{row} .post"))[0].starts_with("88.9%"));
    assert_eq!(texts(&doc, &format!("{row} .gain")), ["+38.9"]);
    assert_eq!(texts(&doc, &format!("{row} .relative")), ["+77.8%"]);
    assert_eq!(count(&doc, &format!("{row} .result[data-result=pass]")), 1);
    assert_eq!(texts(&doc, &format!("{row} .days")), ["1"]);
    assert_eq!(texts(&doc, "#summary-participants"), ["1"]);
    assert_eq!(texts(&doc, "#summary-mean-pre"), ["50%"]);
    assert_eq!(texts(&doc, "#summary-mean-post"), ["88.9%"]);
    assert_eq!(texts(&doc, "#summary-mean-gain"), ["+38.9"]);
    assert_eq!(texts(&doc, "#summary-pass-rate"), ["100%"]);
    assert_eq!(texts(&doc, "#summary-attendance-rate"), ["50%"]);
    assert_eq!(count(&doc, "#attendance th[data-day]"), 2);
    assert_eq!(texts(&doc, "#attendance td.mark"), ["✓", ""]);

    // Submitting the same test or attendance again (a double submit) changes nothing.
    let revision = |app: &TestApp| {
        let id = id.clone();
        let pool = app.db.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT revision FROM trainings WHERE id = $1")
                .bind(&id)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(revision(&app).await, 4);
    let r = post(
        format!("/trainings/{id}/test"),
        test_fields(f.b.provider_id, "post", &chosen, 16, false),
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = web
        .post(
            &format!("/trainings/{id}/attendance"),
            &[("a", format!("{pid}:{}", day(-2)).as_str())],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(revision(&app).await, 4);
    assert_eq!(app.count("observations").await, 2);

    // Re-opening the post-test shows the stored answers for correction.
    let (_, doc) = web
        .html(&format!(
            "/trainings/{id}/test?provider_id={pid}&phase=post"
        ))
        .await;
    assert_eq!(count(&doc, "#replacing"), 1);
    assert_eq!(count(&doc, "input[name^=\"t.r.\"][value=yes][checked]"), 16);

    // The list shows it; another partner cannot see it; a manager cannot record one.
    let (_, doc) = web.html("/trainings").await;
    assert_eq!(count(&doc, &format!("li[data-training-id=\"{id}\"]")), 1);
    let other = app.sign_in(&f.a.mentor).await;
    assert_eq!(other.html(&format!("/trainings/{id}")).await.0, 404);
    assert_eq!(
        other
            .html(&format!("/trainings/{id}/test?provider_id={pid}&phase=pre"))
            .await
            .0,
        404
    );
    let manager = app.sign_in(&f.manager).await;
    assert_eq!(manager.html("/trainings/new").await.0, 403);
    assert_eq!(manager.html(&format!("/trainings/{id}")).await.0, 200);

    // Withdrawal needs a reason.
    let r = web
        .post(&format!("/trainings/{id}/withdraw"), &[("reason", "")])
        .await;
    assert_eq!(r.status(), 422);
    let r = web
        .post(
            &format!("/trainings/{id}/withdraw"),
            &[("reason", "entered twice")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, doc) = web.html(&format!("/trainings/{id}")).await;
    assert_eq!(texts(&doc, ".withdrawn-reason"), ["entered twice"]);
}

async fn pages_correct_a_training_and_show_errors_by_field(app: TestApp) {
    let f = app.seed_with_plugins().await;
    let web = app.sign_in(&f.b.org_admin).await;
    let mentor = app.api(&f.b.mentor).await;
    let id = uuid();
    let body = simple_body(&mentor, &f, &id, 9, 16).await;
    assert_eq!(post(&mentor, &body).await.0, 201);

    let (status, doc) = web.html(&format!("/trainings/{id}/edit")).await;
    assert_eq!(status, 200);
    assert_eq!(
        first_attr(&doc, "#title", "value").as_deref(),
        Some("HBB refresher")
    );
    // End before start: the field says so, nothing changes.
    let r = web
        .post(
            &format!("/trainings/{id}"),
            &[
                ("title", "HBB refresher"),
                ("start_date", day(-3).as_str()),
                ("end_date", day(-5).as_str()),
                ("venue", "Karongi district office"),
                ("facilitators", "Dr Uwase"),
                ("participant", f.b.provider_id.to_string().as_str()),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let doc = scraper::Html::parse_document(&r.text().await.unwrap());
    assert_eq!(count(&doc, ".field-error[data-field=end_date]"), 1);

    // Shortened to its last day: the tests are kept, the days outside are dropped.
    let r = web
        .post(
            &format!("/trainings/{id}"),
            &[
                ("title", "HBB refresher, one day"),
                ("start_date", day(-1).as_str()),
                ("end_date", day(-1).as_str()),
                ("venue", "Karongi district office"),
                ("facilitators", "Dr Uwase"),
                ("participant", f.b.provider_id.to_string().as_str()),
                ("reason", "it lasted one day"),
                ("rescore", "pinned"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, t) = get(&mentor, &format!("/api/v1/trainings/{id}")).await;
    assert_eq!(t["title"], "HBB refresher, one day");
    assert_eq!(t["revision"], 2);
    let row = participant(&t, f.b.provider_id);
    assert_eq!(row["attendance"], json!([day(-1)]));
    assert!(close(&row["pre_percentage"], pct(9)));
    assert!(close(&row["post_percentage"], pct(16)));
}

engine_tests! {
    async fn scores_and_summary(app) { scores_tests_gains_and_the_summary(app).await }
    async fn idempotent_resend(app) { identical_resend_returns_the_training_and_a_different_body_conflicts(app).await }
    async fn bad_input(app) { bad_input_names_the_field_and_stores_nothing(app).await }
    async fn corrections(app) { corrections_rescore_with_the_pinned_version(app).await }
    async fn correction_window(app) { the_correction_window_binds_the_recorder_not_org_admins(app).await }
    async fn withdrawal(app) { withdrawal_is_recorded_never_silent(app).await }
    async fn isolation_and_roles(app) { partners_and_managers_see_only_what_they_may(app).await }
    async fn list_filters(app) { lists_filter_by_place_provider_and_dates(app).await }
    async fn pages(app) { pages_record_a_training_its_tests_and_show_the_summary(app).await }
    async fn page_corrections(app) { pages_correct_a_training_and_show_errors_by_field(app).await }
}
