//! Death reviews (MPDSR) through the API and the pages: notifying a death, recording its review
//! later under optimistic concurrency, recommendations and their status (done keeps the day),
//! every validation rule (a 422 naming the field and nothing stored), the follow-up filters
//! ("awaiting review", "recommendations overdue"), the audit trail, and who may read and
//! write: the reviewing organisation records, project management reads only, another partner
//! gets 404 and never sees the review listed. Also the demo loader's records and idempotence.

use mentortrack_tests::{Api, Fixture, TestApp, engine_tests, texts};
use reqwest::Method;
use serde_json::{Value, json};

/// Today plus `offset` days, `YYYY-MM-DD` (UTC).
fn day(offset: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

async fn send(api: &Api, method: Method, path: &str, body: &Value) -> (u16, Value) {
    let r = api.send(method, path, body).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(api: &Api, path: &str) -> (u16, Value) {
    let r = api.get(path).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The fields a 422 names.
fn fields(body: &Value) -> Vec<String> {
    body["error"]["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["field"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A notification (not reviewed yet) at `facility_id`.
fn notification(facility_id: i64) -> Value {
    json!({
        "facility_id": facility_id,
        "death_type": "maternal",
        "notified_on": day(-20),
        "died_on": day(-21),
    })
}

/// The same death with its review recorded.
fn reviewed(facility_id: i64, revision: i64) -> Value {
    json!({
        "facility_id": facility_id,
        "death_type": "maternal",
        "notified_on": day(-20),
        "died_on": day(-21),
        "reviewed_on": day(-10),
        "committee": "Kibuye hospital MPDSR committee",
        "cause_group": 3,
        "underlying_cause": "Postpartum haemorrhage from uterine atony",
        "contributing_conditions": "Anaemia; late arrival",
        "delay_seeking": true,
        "delay_reaching": true,
        "delay_receiving": false,
        "avoidable": "yes",
        "notes": "Family interviewed",
        "revision": revision,
    })
}

async fn create(api: &Api, body: &Value) -> i64 {
    let (status, created) = send(api, Method::POST, "/api/v1/death-reviews", body).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_i64().expect("an id")
}

/// A reviewed death of partner A, recorded by its org admin.
async fn reviewed_of_a(app: &TestApp, f: &Fixture) -> (Api, i64) {
    let api = app.api(&f.a.org_admin).await;
    let id = create(&api, &notification(f.a.facility.id)).await;
    let (status, body) = send(
        &api,
        Method::PUT,
        &format!("/api/v1/death-reviews/{id}"),
        &reviewed(f.a.facility.id, 1),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    (api, id)
}

async fn audit_rows(
    app: &TestApp,
    entity: &str,
    id: i64,
) -> Vec<(String, Option<String>, Option<String>)> {
    sqlx::query_as(
        "SELECT action, before_json, after_json FROM audit_log
         WHERE entity = $1 AND entity_id = $2 ORDER BY id",
    )
    .bind(entity)
    .bind(id.to_string())
    .fetch_all(app.db.pool())
    .await
    .expect("audit rows")
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["id"].as_i64())
        .collect()
}

// ---------------------------------------------------------------------------------------------

async fn api_notify_then_review_then_follow_up_recommendations(app: TestApp) {
    let f = app.seed().await;
    let api = app.api(&f.a.org_admin).await;
    let id = create(&api, &notification(f.a.facility.id)).await;

    let (status, r) = get(&api, &format!("/api/v1/death-reviews/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(r["awaiting_review"], true);
    assert_eq!(r["reviewed_on"], Value::Null);
    assert_eq!(r["revision"], 1);
    assert_eq!(r["organisation_id"], f.a.org.id);
    assert_eq!(r["facility_name"], "Kibuye Referral Hospital");

    let (_, awaiting) = get(&api, "/api/v1/death-reviews?status=awaiting_review").await;
    assert_eq!(ids(&awaiting), vec![id]);
    let (_, done) = get(&api, "/api/v1/death-reviews?status=reviewed").await;
    assert!(ids(&done).is_empty());

    // Recommendations wait for the review.
    let rec = json!({"description": "Stock oxytocin", "owner": "Pharmacist", "deadline": day(10)});
    let path = format!("/api/v1/death-reviews/{id}/recommendations");
    let (status, body) = send(&api, Method::POST, &path, &rec).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(fields(&body), vec!["reviewed_on"]);
    assert_eq!(app.count("death_review_recommendations").await, 0);

    // The review is recorded on the notification.
    let (status, r) = send(
        &api,
        Method::PUT,
        &format!("/api/v1/death-reviews/{id}"),
        &reviewed(f.a.facility.id, 1),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["revision"], 2);
    assert_eq!(r["awaiting_review"], false);
    assert_eq!(r["reviewed_on"], day(-10));
    assert_eq!(r["cause_group"], 3);
    assert_eq!(r["cause_group_name"], "Obstetric haemorrhage");
    assert_eq!(r["delay_seeking"], true);
    assert_eq!(r["delay_reaching"], true);
    assert_eq!(r["delay_receiving"], false);
    assert_eq!(r["avoidable"], "yes");
    assert_eq!(r["committee"], "Kibuye hospital MPDSR committee");
    assert_eq!(r["contributing_conditions"], "Anaemia; late arrival");
    assert_eq!(r["notes"], "Family interviewed");

    // A change based on the old revision is refused and changes nothing.
    let mut stale = reviewed(f.a.facility.id, 1);
    stale["avoidable"] = json!("no");
    let (status, body) = send(
        &api,
        Method::PUT,
        &format!("/api/v1/death-reviews/{id}"),
        &stale,
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (_, r) = get(&api, &format!("/api/v1/death-reviews/{id}")).await;
    assert_eq!(r["avoidable"], "yes");
    assert_eq!(r["revision"], 2);

    // One recommendation already overdue, one not yet due.
    let overdue = json!({"description": "Stock oxytocin at every health post", "owner": "District pharmacist", "deadline": day(-2)});
    let (status, r) = send(&api, Method::POST, &path, &overdue).await;
    assert_eq!(status, 201, "{r}");
    let later = json!({"description": "HBB refresher", "owner": "Head midwife", "deadline": day(30), "status": "in_progress"});
    let (status, r) = send(&api, Method::POST, &path, &later).await;
    assert_eq!(status, 201, "{r}");
    let recs = r["recommendation_list"].as_array().unwrap().clone();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["status"], "open");
    assert_eq!(recs[0]["overdue"], true);
    assert_eq!(recs[0]["position"], 1);
    assert_eq!(recs[1]["status"], "in_progress");
    assert_eq!(recs[1]["overdue"], false);
    assert_eq!(r["overdue_recommendations"], 1);
    assert_eq!(r["recommendations"], 2);
    let first = recs[0]["id"].as_i64().unwrap();

    // A second review without overdue recommendations is not in the overdue list.
    let other = create(&api, &notification(f.a.facility.id)).await;
    let (_, page) = get(&api, "/api/v1/death-reviews?overdue=true").await;
    assert_eq!(ids(&page), vec![id]);
    let (_, page) = get(&api, "/api/v1/death-reviews").await;
    assert_eq!(page["total"], 2);
    assert!(ids(&page).contains(&other));

    // Done keeps the day; another status clears it.
    let rec_path = format!("/api/v1/death-reviews/{id}/recommendations/{first}");
    let (status, r) = send(
        &api,
        Method::PUT,
        &rec_path,
        &json!({"status": "done", "done_on": day(-1)}),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    let rec = &r["recommendation_list"][0];
    assert_eq!(rec["status"], "done");
    assert_eq!(rec["done_on"], day(-1));
    assert_eq!(rec["overdue"], false);
    assert_eq!(rec["description"], "Stock oxytocin at every health post");
    assert_eq!(r["overdue_recommendations"], 0);
    let (_, page) = get(&api, "/api/v1/death-reviews?overdue=true").await;
    assert!(ids(&page).is_empty());

    let (status, r) = send(&api, Method::PUT, &rec_path, &json!({"status": "not_done"})).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["recommendation_list"][0]["done_on"], Value::Null);
    assert_eq!(r["recommendation_list"][0]["overdue"], true);

    // Done without a day: today.
    let (status, r) = send(&api, Method::PUT, &rec_path, &json!({"status": "done"})).await;
    assert_eq!(status, 200, "{r}");
    let today = chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(r["recommendation_list"][0]["done_on"], today);

    // A recommendation of another review is not found under this one.
    let (status, _) = send(
        &api,
        Method::PUT,
        &format!("/api/v1/death-reviews/{other}/recommendations/{first}"),
        &json!({"status": "open"}),
    )
    .await;
    assert_eq!(status, 404);

    // The audit trail: creation, the review, each recommendation change with before/after.
    let rows = audit_rows(&app, "death_review", id).await;
    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(actions, vec!["create", "update"]);
    assert!(rows[0].1.is_none() && rows[0].2.is_some());
    let before: Value = serde_json::from_str(rows[1].1.as_deref().unwrap()).unwrap();
    let after: Value = serde_json::from_str(rows[1].2.as_deref().unwrap()).unwrap();
    assert_eq!(before["reviewed_on"], Value::Null);
    assert_eq!(after["reviewed_on"], day(-10));
    assert_eq!(after["cause_group"], 3);
    let rows = audit_rows(&app, "death_review_recommendation", first).await;
    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(actions, vec!["create", "update", "update", "update"]);
    let before: Value = serde_json::from_str(rows[1].1.as_deref().unwrap()).unwrap();
    let after: Value = serde_json::from_str(rows[1].2.as_deref().unwrap()).unwrap();
    assert_eq!(before["status"], "open");
    assert_eq!(after["status"], "done");
    assert_eq!(after["done_on"], day(-1));
}

async fn every_validation_rule_names_its_field_and_stores_nothing(app: TestApp) {
    let f = app.seed().await;
    let admin = app.api(&f.a.org_admin).await;
    let mentor = app.api(&f.a.mentor).await;
    let fa = f.a.facility.id;

    let with = |changes: Value| {
        let mut body = reviewed(fa, 1);
        body.as_object_mut().unwrap().remove("revision");
        for (k, v) in changes.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "future notification",
            with(json!({"notified_on": day(3)})),
            "notified_on",
        ),
        (
            "future death",
            with(json!({"died_on": day(3), "notified_on": day(0)})),
            "died_on",
        ),
        (
            "future review",
            with(json!({"reviewed_on": day(3)})),
            "reviewed_on",
        ),
        (
            "death after notification",
            with(json!({"died_on": day(-5), "notified_on": day(-6), "reviewed_on": day(-1)})),
            "died_on",
        ),
        (
            "review before death",
            with(json!({"reviewed_on": day(-25)})),
            "reviewed_on",
        ),
        (
            "cause group 0",
            with(json!({"cause_group": 0})),
            "cause_group",
        ),
        (
            "cause group 9",
            with(json!({"cause_group": 9})),
            "cause_group",
        ),
        (
            "unknown type",
            with(json!({"death_type": "neonatal"})),
            "death_type",
        ),
        (
            "unknown avoidable",
            with(json!({"avoidable": "maybe"})),
            "avoidable",
        ),
        (
            "not a date",
            with(json!({"notified_on": "22/11/2026"})),
            "notified_on",
        ),
        (
            "no facility",
            with(json!({"facility_id": null})),
            "facility_id",
        ),
        (
            "a district",
            with(json!({"facility_id": f.district.id})),
            "facility_id",
        ),
        (
            "no such facility",
            with(json!({"facility_id": 999_999})),
            "facility_id",
        ),
        (
            "review without cause",
            with(json!({"cause_group": null})),
            "cause_group",
        ),
        (
            "review without committee",
            with(json!({"committee": ""})),
            "committee",
        ),
        (
            "findings without review date",
            with(json!({"reviewed_on": null})),
            "reviewed_on",
        ),
        ("no death date", with(json!({"died_on": null})), "died_on"),
    ];
    for (what, body, field) in cases {
        let (status, answer) = send(&admin, Method::POST, "/api/v1/death-reviews", &body).await;
        assert_eq!(status, 422, "{what}: {answer}");
        assert!(
            fields(&answer).contains(&field.to_string()),
            "{what}: {answer}"
        );
        assert_eq!(app.count("death_reviews").await, 0, "{what}");
    }

    // A mentor records only at a facility they are assigned to; the org admin anywhere.
    let (status, answer) = send(
        &mentor,
        Method::POST,
        "/api/v1/death-reviews",
        &notification(f.unassigned_facility.id),
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(fields(&answer), vec!["facility_id"]);
    assert_eq!(app.count("death_reviews").await, 0);
    create(&admin, &notification(f.unassigned_facility.id)).await;
    let id = create(&mentor, &notification(fa)).await;
    let audit_before = app.count("audit_log").await;

    // Edits: the same rules, plus the revision.
    let path = format!("/api/v1/death-reviews/{id}");
    let mut body = reviewed(fa, 1);
    body.as_object_mut().unwrap().remove("revision");
    let (status, answer) = send(&mentor, Method::PUT, &path, &body).await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(fields(&answer), vec!["revision"]);
    let mut body = reviewed(fa, 1);
    body["reviewed_on"] = json!(day(-30));
    let (status, answer) = send(&mentor, Method::PUT, &path, &body).await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(fields(&answer), vec!["reviewed_on"]);
    let mut body = reviewed(fa, 1);
    body["facility_id"] = json!(f.unassigned_facility.id);
    let (status, answer) = send(&mentor, Method::PUT, &path, &body).await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(fields(&answer), vec!["facility_id"]);
    let (_, r) = get(&mentor, &path).await;
    assert_eq!(r["revision"], 1);
    assert_eq!(r["reviewed_on"], Value::Null);

    // Recommendations.
    let (status, r) = send(&mentor, Method::PUT, &path, &reviewed(fa, 1)).await;
    assert_eq!(status, 200, "{r}");
    let recs = format!("{path}/recommendations");
    let rec_cases: Vec<(&str, Value, &str)> = vec![
        (
            "no description",
            json!({"owner": "X", "deadline": day(5)}),
            "description",
        ),
        (
            "no owner",
            json!({"description": "X", "deadline": day(5)}),
            "owner",
        ),
        (
            "no deadline",
            json!({"description": "X", "owner": "Y"}),
            "deadline",
        ),
        (
            "deadline before the review",
            json!({"description": "X", "owner": "Y", "deadline": day(-11)}),
            "deadline",
        ),
        (
            "unknown status",
            json!({"description": "X", "owner": "Y", "deadline": day(5), "status": "closed"}),
            "status",
        ),
        (
            "done in the future",
            json!({"description": "X", "owner": "Y", "deadline": day(5), "status": "done", "done_on": day(4)}),
            "done_on",
        ),
        (
            "done before the review",
            json!({"description": "X", "owner": "Y", "deadline": day(5), "status": "done", "done_on": day(-12)}),
            "done_on",
        ),
    ];
    for (what, body, field) in rec_cases {
        let (status, answer) = send(&mentor, Method::POST, &recs, &body).await;
        assert_eq!(status, 422, "{what}: {answer}");
        assert_eq!(fields(&answer), vec![field.to_string()], "{what}");
        assert_eq!(app.count("death_review_recommendations").await, 0, "{what}");
    }
    let (status, r) = send(
        &mentor,
        Method::POST,
        &recs,
        &json!({"description": "X", "owner": "Y", "deadline": day(5)}),
    )
    .await;
    assert_eq!(status, 201, "{r}");
    let rec_id = r["recommendation_list"][0]["id"].as_i64().unwrap();
    let (status, answer) = send(
        &mentor,
        Method::PUT,
        &format!("{recs}/{rec_id}"),
        &json!({"status": "finished"}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(fields(&answer), vec!["status"]);
    let (status, answer) = send(
        &mentor,
        Method::PUT,
        &format!("{recs}/{rec_id}"),
        &json!({"status": "done", "done_on": day(2)}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(fields(&answer), vec!["done_on"]);
    let (_, r) = get(&mentor, &path).await;
    assert_eq!(r["recommendation_list"][0]["status"], "open");
    // The review and the one recommendation added; no refused change left an entry.
    assert_eq!(app.count("audit_log").await, audit_before + 2);

    // Filters.
    let (status, answer) = get(&mentor, "/api/v1/death-reviews?quarter=2026Q5").await;
    assert_eq!(status, 422);
    assert_eq!(fields(&answer), vec!["quarter"]);
    let (status, answer) = get(&mentor, "/api/v1/death-reviews?status=closed&death_type=x").await;
    assert_eq!(status, 422);
    assert_eq!(fields(&answer), vec!["death_type", "status"]);
}

async fn only_the_reviewing_organisation_and_management_see_reviews(app: TestApp) {
    let f = app.seed().await;
    let (a_admin, id) = reviewed_of_a(&app, &f).await;
    let a_mentor = app.api(&f.a.mentor).await;
    let b_admin = app.api(&f.b.org_admin).await;
    let b_mentor = app.api(&f.b.mentor).await;
    let manager = app.api(&f.manager).await;
    let admin = app.api(&f.admin).await;
    let b_id = create(
        &b_mentor,
        &json!({
            "facility_id": f.b.facility.id, "death_type": "perinatal",
            "notified_on": day(-3), "died_on": day(-3),
        }),
    )
    .await;
    let path = format!("/api/v1/death-reviews/{id}");
    let recs = format!("{path}/recommendations");
    let (status, r) = send(
        &a_admin,
        Method::POST,
        &recs,
        &json!({"description": "X", "owner": "Y", "deadline": day(5)}),
    )
    .await;
    assert_eq!(status, 201);
    let rec_id = r["recommendation_list"][0]["id"].as_i64().unwrap();

    // Another partner: not found, never listed, whatever they try.
    for api in [&b_admin, &b_mentor] {
        assert_eq!(get(api, &path).await.0, 404);
        let (_, page) = get(api, "/api/v1/death-reviews").await;
        assert_eq!(ids(&page), vec![b_id]);
        let (_, page) = get(
            api,
            &format!("/api/v1/death-reviews?organisation_id={}", f.a.org.id),
        )
        .await;
        assert!(ids(&page).is_empty());
        assert_eq!(
            send(api, Method::PUT, &path, &reviewed(f.a.facility.id, 2))
                .await
                .0,
            404
        );
        let rec = json!({"description": "X", "owner": "Y", "deadline": day(5)});
        assert_eq!(send(api, Method::POST, &recs, &rec).await.0, 404);
        assert_eq!(
            send(
                api,
                Method::PUT,
                &format!("{recs}/{rec_id}"),
                &json!({"status": "done"})
            )
            .await
            .0,
            404
        );
    }
    assert_eq!(
        get(&a_admin, &format!("/api/v1/death-reviews/{b_id}"))
            .await
            .0,
        404
    );

    // The organisation's mentor reads and records.
    let (status, r) = get(&a_mentor, &path).await;
    assert_eq!(status, 200);
    assert_eq!(r["revision"], 2);
    let (status, r) = send(
        &a_mentor,
        Method::PUT,
        &format!("{recs}/{rec_id}"),
        &json!({"status": "in_progress"}),
    )
    .await;
    assert_eq!(status, 200, "{r}");

    // Project management reads every partner's reviews but edits none and records none.
    for api in [&manager, &admin] {
        let (status, r) = get(api, &path).await;
        assert_eq!(status, 200);
        assert_eq!(r["organisation_id"], f.a.org.id);
        let (_, page) = get(api, "/api/v1/death-reviews").await;
        let mut seen = ids(&page);
        seen.sort();
        assert_eq!(seen, vec![id, b_id]);
        let (_, page) = get(
            api,
            &format!("/api/v1/death-reviews?organisation_id={}", f.b.org.id),
        )
        .await;
        assert_eq!(ids(&page), vec![b_id]);
        assert_eq!(
            send(api, Method::PUT, &path, &reviewed(f.a.facility.id, 2))
                .await
                .0,
            403
        );
        let rec = json!({"description": "X", "owner": "Y", "deadline": day(5)});
        assert_eq!(send(api, Method::POST, &recs, &rec).await.0, 403);
        assert_eq!(
            send(
                api,
                Method::PUT,
                &format!("{recs}/{rec_id}"),
                &json!({"status": "done"})
            )
            .await
            .0,
            403
        );
        assert_eq!(
            send(
                api,
                Method::POST,
                "/api/v1/death-reviews",
                &notification(f.a.facility.id)
            )
            .await
            .0,
            403
        );
    }
    let (_, r) = get(&a_admin, &path).await;
    assert_eq!(r["revision"], 2);
    assert_eq!(r["recommendation_list"][0]["status"], "in_progress");
    assert_eq!(app.count("death_reviews").await, 2);

    // The same on the pages.
    let b_web = app.sign_in(&f.b.org_admin).await;
    assert_eq!(
        b_web.get(&format!("/death-reviews/{id}")).await.status(),
        404
    );
    assert_eq!(
        b_web
            .get(&format!("/death-reviews/{id}/edit"))
            .await
            .status(),
        404
    );
    let (status, doc) = b_web.html("/death-reviews").await;
    assert_eq!(status, 200);
    assert!(texts(&doc, &format!("[data-review-id=\"{id}\"]")).is_empty());
    assert_eq!(
        texts(&doc, &format!("[data-review-id=\"{b_id}\"]")).len(),
        1
    );
    let response = b_web
        .post(
            &format!("/death-reviews/{id}/recommendations/{rec_id}"),
            &[("status", "done")],
        )
        .await;
    assert_eq!(response.status(), 404);

    let m_web = app.sign_in(&f.manager).await;
    let (status, doc) = m_web.html(&format!("/death-reviews/{id}")).await;
    assert_eq!(status, 200);
    assert!(texts(&doc, "#edit-death-review").is_empty());
    assert!(texts(&doc, "#add-recommendation").is_empty());
    assert!(texts(&doc, ".rec-status-form").is_empty());
    assert_eq!(
        m_web
            .get(&format!("/death-reviews/{id}/edit"))
            .await
            .status(),
        403
    );
    assert_eq!(m_web.get("/death-reviews/new").await.status(), 403);
    let response = m_web
        .post(
            &format!("/death-reviews/{id}/recommendations/{rec_id}"),
            &[("status", "done")],
        )
        .await;
    assert_eq!(response.status(), 403);
    let (_, doc) = m_web.html("/death-reviews").await;
    assert_eq!(
        doc.select(&scraper::Selector::parse(".death-review-row").unwrap())
            .count(),
        2
    );
    assert!(texts(&doc, "#new-death-review").is_empty());
    let (_, r) = get(&a_admin, &path).await;
    assert_eq!(r["recommendation_list"][0]["status"], "in_progress");
}

async fn pages_notify_review_and_follow_up(app: TestApp) {
    let f = app.seed().await;
    let web = app.sign_in(&f.a.mentor).await;
    let fa = f.a.facility.id.to_string();

    let (status, doc) = web.html("/death-reviews/new").await;
    assert_eq!(status, 200);
    // The mentor is offered the facility they are assigned to, not others.
    assert_eq!(
        texts(&doc, &format!("#facility_id option[value=\"{fa}\"]")).len(),
        1
    );
    assert!(
        texts(
            &doc,
            &format!(
                "#facility_id option[value=\"{}\"]",
                f.unassigned_facility.id
            )
        )
        .is_empty()
    );
    // The eight ICD-MM groups with their names.
    let causes = texts(&doc, "#cause_group option");
    assert_eq!(causes.len(), 9);
    assert_eq!(causes[3], "3 · Obstetric haemorrhage");

    // A refused form keeps what was typed and names each problem.
    let typed_notes = "Referred from Gitesi at 02:00";
    let bad = [
        ("facility_id", fa.as_str()),
        ("death_type", "maternal"),
        ("notified_on", &day(-5)),
        ("died_on", &day(-4)),
        ("notes", typed_notes),
        ("cause_group", "2"),
    ];
    let response = web.post("/death-reviews", &bad).await;
    assert_eq!(response.status(), 422);
    let doc = scraper::Html::parse_document(&response.text().await.unwrap());
    assert_eq!(texts(&doc, "[data-field=died_on]").len(), 1);
    assert_eq!(texts(&doc, "[data-field=reviewed_on]").len(), 1);
    assert_eq!(texts(&doc, "#notes"), vec![typed_notes]);
    assert_eq!(
        texts(&doc, "#cause_group option[selected]"),
        vec!["2 · Hypertensive disorders"]
    );
    assert_eq!(app.count("death_reviews").await, 0);

    let good = [
        ("facility_id", fa.as_str()),
        ("death_type", "perinatal"),
        ("notified_on", &day(-5)),
        ("died_on", &day(-6)),
        ("notes", typed_notes),
    ];
    let response = web.post("/death-reviews", &good).await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let id: i64 = location.rsplit('/').next().unwrap().parse().unwrap();

    let (status, doc) = web.html(&location).await;
    assert_eq!(status, 200);
    assert_eq!(texts(&doc, "#awaiting-review").len(), 1);
    assert_eq!(texts(&doc, "#dr-type"), vec!["Perinatal"]);
    // Awaiting review in the follow-up filter.
    let (_, doc) = web.html("/death-reviews?status=awaiting_review").await;
    assert_eq!(
        texts(&doc, &format!("[data-review-id=\"{id}\"] .awaiting")).len(),
        1
    );
    let (_, doc) = web.html("/death-reviews?status=reviewed").await;
    assert!(texts(&doc, "[data-review-id]").is_empty());

    // Recording the review through the edit form.
    let (status, doc) = web.html(&format!("/death-reviews/{id}/edit")).await;
    assert_eq!(status, 200);
    let revision = doc
        .select(&scraper::Selector::parse("input[name=revision]").unwrap())
        .next()
        .and_then(|e| e.value().attr("value"))
        .unwrap()
        .to_string();
    assert_eq!(revision, "1");
    let review = |revision: &'static str| {
        vec![
            ("facility_id", fa.clone()),
            ("death_type", "perinatal".to_string()),
            ("notified_on", day(-5)),
            ("died_on", day(-6)),
            ("reviewed_on", day(-1)),
            ("committee", "Kibuye MPDSR committee".to_string()),
            ("cause_group", "5".to_string()),
            ("underlying_cause", "Intrapartum asphyxia".to_string()),
            ("delay_receiving", "1".to_string()),
            ("avoidable", "yes".to_string()),
            ("notes", typed_notes.to_string()),
            ("revision", revision.to_string()),
        ]
    };
    let pairs = review("1");
    let form: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = web.post(&format!("/death-reviews/{id}"), &form).await;
    assert_eq!(response.status(), 303);
    let (_, doc) = web.html(&format!("/death-reviews/{id}")).await;
    assert!(texts(&doc, "#awaiting-review").is_empty());
    assert_eq!(
        texts(&doc, "#dr-cause"),
        vec!["5 · Other obstetric complications"]
    );
    assert_eq!(
        texts(&doc, "#dr-delays"),
        vec!["Delay 3: receiving adequate care"]
    );
    assert_eq!(texts(&doc, "#dr-avoidable"), vec!["Yes"]);
    assert_eq!(texts(&doc, "#dr-revision"), vec!["2"]);

    // The same form sent again on the old revision: 409, kept as typed, nothing changed.
    let mut pairs = review("1");
    pairs[7] = ("underlying_cause", "Something else".to_string());
    let form: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = web.post(&format!("/death-reviews/{id}"), &form).await;
    assert_eq!(response.status(), 409);
    let doc = scraper::Html::parse_document(&response.text().await.unwrap());
    assert_eq!(texts(&doc, "#changed-meanwhile").len(), 1);
    let kept = doc
        .select(&scraper::Selector::parse("#underlying_cause").unwrap())
        .next()
        .and_then(|e| e.value().attr("value"))
        .unwrap()
        .to_string();
    assert_eq!(kept, "Something else");
    let (_, doc) = web.html(&format!("/death-reviews/{id}")).await;
    assert_eq!(texts(&doc, "#dr-underlying"), vec!["Intrapartum asphyxia"]);

    // A recommendation refused, then added, then done.
    let rec_path = format!("/death-reviews/{id}/recommendations");
    let response = web
        .post(
            &rec_path,
            &[
                ("description", "Bag and mask at every delivery bed"),
                ("owner", ""),
                ("deadline", &day(-3)),
                ("status", "open"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let doc = scraper::Html::parse_document(&response.text().await.unwrap());
    assert_eq!(
        texts(&doc, "#add-recommendation [data-field=owner]").len(),
        1
    );
    assert_eq!(
        texts(&doc, "#add-recommendation [data-field=deadline]").len(),
        1
    );
    assert_eq!(
        texts(&doc, "#rec-description"),
        vec!["Bag and mask at every delivery bed"]
    );
    assert_eq!(app.count("death_review_recommendations").await, 0);

    let response = web
        .post(
            &rec_path,
            &[
                ("description", "Bag and mask at every delivery bed"),
                ("owner", "Head midwife"),
                ("deadline", &day(0)),
                ("status", "open"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let rec_id: i64 =
        sqlx::query_scalar("SELECT id FROM death_review_recommendations WHERE review_id = $1")
            .bind(id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    let (_, doc) = web.html(&format!("/death-reviews/{id}")).await;
    assert_eq!(
        texts(&doc, &format!("#recommendation-{rec_id} .owner")),
        vec!["Head midwife"]
    );
    assert_eq!(
        texts(&doc, &format!("#recommendation-{rec_id} .rec-status")),
        vec!["Open"]
    );

    let response = web
        .post(
            &format!("{rec_path}/{rec_id}"),
            &[("status", "done"), ("done_on", &day(5))],
        )
        .await;
    assert_eq!(response.status(), 422);
    let doc = scraper::Html::parse_document(&response.text().await.unwrap());
    assert_eq!(
        texts(
            &doc,
            &format!("#recommendation-{rec_id} [data-field=done_on]")
        )
        .len(),
        1
    );

    let response = web
        .post(
            &format!("{rec_path}/{rec_id}"),
            &[("status", "done"), ("done_on", &day(0))],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, doc) = web.html(&format!("/death-reviews/{id}")).await;
    assert_eq!(
        texts(&doc, &format!("#recommendation-{rec_id} .rec-status")),
        vec!["Done"]
    );
    assert_eq!(
        texts(&doc, &format!("#recommendation-{rec_id} .done-on")),
        vec![format!("Done on {}", day(0))]
    );

    // A bad filter is a field error on the list, not a failure.
    let (status, doc) = web.html("/death-reviews?quarter=2026Q5").await;
    assert_eq!(status, 422);
    assert_eq!(texts(&doc, "[data-field=quarter]").len(), 1);
    let yesterday = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
    let quarter = mentortrack::domain::quarter::Quarter::of(yesterday);
    let (status, doc) = web.html(&format!("/death-reviews?quarter={quarter}")).await;
    assert_eq!(status, 200);
    assert_eq!(texts(&doc, "[data-review-id]").len(), 1);

    // A form without the CSRF token changes nothing.
    let response = web
        .client
        .post(format!("{}{rec_path}/{rec_id}", web.base))
        .form(&[("status", "open")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let status: String =
        sqlx::query_scalar("SELECT status FROM death_review_recommendations WHERE id = $1")
            .bind(rec_id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(status, "done");
}

async fn overdue_filter_on_the_list_page(app: TestApp) {
    let f = app.seed().await;
    let (api, id) = reviewed_of_a(&app, &f).await;
    let quiet = create(&api, &notification(f.a.facility.id)).await;
    let recs = format!("/api/v1/death-reviews/{id}/recommendations");
    let (status, _) = send(
        &api,
        Method::POST,
        &recs,
        &json!({"description": "X", "owner": "Y", "deadline": day(-1)}),
    )
    .await;
    assert_eq!(status, 201);
    let web = app.sign_in(&f.a.org_admin).await;
    let (_, doc) = web.html("/death-reviews?overdue=1").await;
    let rows = texts(&doc, "[data-review-id]");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        texts(&doc, &format!("[data-review-id=\"{id}\"] .overdue")).len(),
        1
    );
    let (_, doc) = web.html("/death-reviews").await;
    assert_eq!(texts(&doc, "[data-review-id]").len(), 2);
    assert!(texts(&doc, &format!("[data-review-id=\"{quiet}\"] .overdue")).is_empty());
    let (_, doc) = web.html("/death-reviews?death_type=perinatal").await;
    assert!(texts(&doc, "[data-review-id]").is_empty());
    let (_, doc) = web
        .html(&format!(
            "/death-reviews?facility_id={}",
            f.unassigned_facility.id
        ))
        .await;
    assert!(texts(&doc, "[data-review-id]").is_empty());
}

/// organisation, facility, notified, died, reviewed, cause group.
type DemoRow = (i64, i64, String, String, Option<String>, Option<i64>);

async fn demo_reviews_are_consistent_and_loaded_once(app: TestApp) {
    let f = app.seed().await;
    let added = mentortrack::demo::death_reviews::load(&app.db, &app.plugins)
        .await
        .unwrap();
    assert!(added > 0);
    let again = mentortrack::demo::death_reviews::load(&app.db, &app.plugins)
        .await
        .unwrap();
    assert_eq!(again, 0);
    let today = chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    let rows: Vec<DemoRow> = sqlx::query_as(
        "SELECT organisation_id, facility_id, notified_on, died_on, reviewed_on, cause_group FROM death_reviews",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    for (org, facility, notified, died, reviewed, cause) in &rows {
        let party = if *org == f.a.org.id { &f.a } else { &f.b };
        assert_eq!(*facility, party.facility.id, "at the mentor's facility");
        assert!(died <= notified && *notified <= today);
        if let Some(r) = reviewed {
            assert!(r >= died && *r <= today);
            assert!(cause.is_some());
        }
    }
    assert!(rows.iter().any(|r| r.4.is_none()), "some await review");
    assert!(rows.iter().any(|r| r.4.is_some()), "some are reviewed");
    // RPA (B) reports perinatal deaths.
    let perinatal: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM death_reviews WHERE organisation_id = $1 AND death_type = 'perinatal'",
    )
    .bind(f.b.org.id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert!(perinatal > 0);
    let recs: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT status, deadline, done_on FROM death_review_recommendations")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    for (status, _, done_on) in &recs {
        assert_eq!(status == "done", done_on.is_some());
        if let Some(d) = done_on {
            assert!(*d <= today);
        }
    }
    assert!(
        recs.iter().any(|(s, d, _)| s != "done" && *d < today),
        "some are overdue"
    );
    // What the demo wrote reads back through the domain.
    let api = app.api(&f.a.org_admin).await;
    let (status, page) = get(&api, "/api/v1/death-reviews?per_page=100").await;
    assert_eq!(status, 200);
    assert!(page["total"].as_i64().unwrap() > 0);
}

/// The reviewing organisation's home page tells its supervisors about deaths awaiting review;
/// another partner's home page says nothing about them.
async fn the_home_page_flags_deaths_awaiting_review(app: TestApp) {
    let f = app.seed().await;
    let api = app.api(&f.a.mentor).await;
    create(&api, &notification(f.a.facility.id)).await;
    let home = |email: String| {
        let app = &app;
        async move {
            let web = app.sign_in(&email).await;
            let page = web.get("/").await.text().await.unwrap();
            let doc = scraper::Html::parse_document(&page);
            texts(&doc, "#awaiting-review strong")
        }
    };
    assert_eq!(home(f.a.org_admin.clone()).await, vec!["1"]);
    assert_eq!(home(f.manager.clone()).await, vec!["1"]);
    assert!(home(f.b.org_admin.clone()).await.is_empty());
}

engine_tests! {
    async fn api_notify_review_recommendations(app) { api_notify_then_review_then_follow_up_recommendations(app).await }
    async fn validation(app) { every_validation_rule_names_its_field_and_stores_nothing(app).await }
    async fn access(app) { only_the_reviewing_organisation_and_management_see_reviews(app).await }
    async fn pages(app) { pages_notify_review_and_follow_up(app).await }
    async fn overdue_filter(app) { overdue_filter_on_the_list_page(app).await }
    async fn demo(app) { demo_reviews_are_consistent_and_loaded_once(app).await }
    async fn home_page(app) { the_home_page_flags_deaths_awaiting_review(app).await }
}
