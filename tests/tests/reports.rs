//! Quarterly reports through the API and the pages: the workflow draft → submitted → returned
//! with a comment → resubmitted → approved, the freeze of approved figures (and the notice when
//! the data change afterwards), optimistic concurrency on the narrative, bad input, who may do
//! what (another partner's report is 404, a mentor reads but cannot submit), the status grid
//! across partners, the programme view and the audit trail; in Chromium, the manager's review
//! down to downloading the approved report's CSV, XLSX and DHIS2 files.

use std::io::Cursor;

use anyhow::{Context, anyhow, ensure};
use calamine::{Reader, Xlsx, open_workbook_from_rs};
use mentortrack::domain::quarter::Quarter;
use mentortrack::domain::reports::{self, ReportFilter};
use mentortrack_tests::webdriver::Browser;
use mentortrack_tests::{Api, Engine, Fixture, PASSWORD, TestApp, engine_tests, texts};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

fn quarter() -> String {
    Quarter::current().to_string()
}

fn path(org: i64, q: &str) -> String {
    format!("/api/v1/reports/{org}/{q}")
}

async fn get(api: &Api, p: &str) -> (u16, Value) {
    let r = api.get(p).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn send(api: &Api, method: Method, p: &str, body: Value) -> (u16, Value) {
    let r = api.send(method, p, &body).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn narrative(api: &Api, org: i64, q: &str, revision: i64, text: &str) -> (u16, Value) {
    send(
        api,
        Method::PUT,
        &format!("{}/narrative", path(org, q)),
        json!({
            "revision": revision,
            "achievements": format!("{text}: 42 LDHF drills held in Karongi."),
            "challenges": "Two mentors left;\nfuel for outreach ran short.",
            "next_quarter_plan": "Recruit two mentors and extend to Rutsiro.",
        }),
    )
    .await
}

async fn action(api: &Api, org: i64, q: &str, what: &str, body: Value) -> (u16, Value) {
    send(api, Method::POST, &format!("{}/{what}", path(org, q)), body).await
}

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

async fn report_audit(app: &TestApp, report_id: i64) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE entity = 'report' AND entity_id = $1 ORDER BY id",
    )
    .bind(report_id.to_string())
    .fetch_all(app.db.pool())
    .await
    .expect("audit")
}

async fn stored_status(app: &TestApp, org: i64, q: &str) -> Option<(String, i64)> {
    sqlx::query_as(
        "SELECT status, revision FROM reports WHERE organisation_id = $1 AND quarter = $2",
    )
    .bind(org)
    .bind(q)
    .fetch_optional(app.db.pool())
    .await
    .expect("report row")
}

/// A small indicator catalogue over sessions: what the report computes and freezes.
async fn catalogue(app: &TestApp, f: &Fixture) {
    let admin = app.api(&f.admin).await;
    for (code, numerator, target) in [("SESSIONS", "sessions", 10.0), ("MENTEES", "mentees", 5.0)] {
        let (s, body) = send(
            &admin,
            Method::POST,
            "/api/v1/indicators",
            json!({
                "code": code,
                "name": format!("LDHF {numerator}"),
                "definition": format!("Number of {numerator} in the quarter."),
                "numerator": numerator,
                "unit": "count",
                "data_source": "Mentorship sessions",
                "frequency": "quarterly",
                "disaggregations": ["district", "facility"],
                "target": target,
            }),
        )
        .await;
        assert_eq!(s, 201, "{body}");
    }
}

fn total(figures: &Value, code: &str) -> Value {
    figures
        .as_array()
        .and_then(|a| a.iter().find(|i| i["code"] == code))
        .map(|i| i["total"]["value"].clone())
        .unwrap_or(Value::Null)
}

/// A's report for the quarter taken to `submitted` by A's org admin.
async fn submitted(app: &TestApp, f: &Fixture, q: &str) -> Api {
    let admin = app.api(&f.a.org_admin).await;
    let (s, _) = narrative(&admin, f.a.org.id, q, 0, "First").await;
    assert_eq!(s, 200);
    let (s, body) = action(&admin, f.a.org.id, q, "submit", json!({})).await;
    assert_eq!(s, 200, "{body}");
    admin
}

engine_tests! {
    async fn workflow_through_the_api(app) {
        let f = app.seed_with_sessions().await;
        let q = quarter();
        let org = f.a.org.id;
        let admin = app.api(&f.a.org_admin).await;
        let manager = app.api(&f.manager).await;

        // A report exists for a begun quarter before anyone writes a word.
        let (s, r) = get(&admin, &path(org, &q)).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["status"], "not_started");
        assert_eq!(r["revision"], 0);
        assert_eq!(r["figures_source"], "live");
        assert_eq!(r["actions"]["edit"], true);
        assert_eq!(r["actions"]["submit"], false);
        assert!(r["id"].is_null());

        // First edit creates the draft.
        let (s, r) = narrative(&admin, org, &q, 0, "First").await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["status"], "draft");
        assert_eq!(r["revision"], 1);
        assert_eq!(r["narrative"]["challenges"], "Two mentors left;\nfuel for outreach ran short.");
        let id = r["id"].as_i64().expect("report id");

        // A stale revision is refused and changes nothing.
        let (s, body) = narrative(&admin, org, &q, 0, "Stale").await;
        assert_eq!(s, 409, "{body}");
        let (_, r) = get(&admin, &path(org, &q)).await;
        assert_eq!(r["revision"], 1);
        assert!(r["narrative"]["achievements"].as_str().unwrap().starts_with("First"));

        let (s, r) = narrative(&admin, org, &q, 1, "Second").await;
        assert_eq!(s, 200);
        assert_eq!(r["revision"], 2);

        // Approving a draft is a conflict.
        let (s, _) = action(&manager, org, &q, "approve", json!({})).await;
        assert_eq!(s, 409);

        let (s, r) = action(&admin, org, &q, "submit", json!({"revision": 2})).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["status"], "submitted");
        assert_eq!(r["actions"]["edit"], false);

        // Submitted: the partner cannot edit it while it is under review, nor submit it twice.
        let (s, _) = narrative(&admin, org, &q, 3, "Sneaky").await;
        assert_eq!(s, 409);
        let (s, _) = action(&admin, org, &q, "submit", json!({})).await;
        assert_eq!(s, 409);

        // The manager sees approve and return; returning needs a comment.
        let (_, r) = get(&manager, &path(org, &q)).await;
        assert_eq!(r["actions"]["approve"], true);
        assert_eq!(r["actions"]["return"], true);
        let (s, body) = action(&manager, org, &q, "return", json!({"comment": "  "})).await;
        assert_eq!(s, 422, "{body}");
        assert_eq!(fields(&body), ["comment"]);
        assert_eq!(stored_status(&app, org, &q).await, Some(("submitted".into(), 3)));

        let (s, r) = action(&manager, org, &q, "return",
            json!({"comment": "Please give the number of providers mentored per district."})).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["status"], "returned");
        assert_eq!(r["return_comment"], "Please give the number of providers mentored per district.");

        // The partner sees the comment, edits and resubmits.
        let (_, r) = get(&admin, &path(org, &q)).await;
        assert_eq!(r["return_comment"], "Please give the number of providers mentored per district.");
        assert_eq!(r["actions"]["edit"], true);
        let revision = r["revision"].as_i64().unwrap();
        let (s, _) = narrative(&admin, org, &q, revision, "Third, per district").await;
        assert_eq!(s, 200);
        let (s, r) = action(&admin, org, &q, "submit", json!({})).await;
        assert_eq!(s, 200);
        assert_eq!(r["status"], "submitted");

        // Approval with a stale revision is refused; with the right one it freezes.
        let (s, _) = action(&manager, org, &q, "approve", json!({"revision": 1})).await;
        assert_eq!(s, 409);
        let (s, r) = action(&manager, org, &q, "approve", json!({"comment": "Thank you."})).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["status"], "approved");
        assert_eq!(r["figures_source"], "approved");
        assert_eq!(r["changed_since_approval"], false);
        assert_eq!(r["approved_sha256"], r["live_sha256"]);
        assert_eq!(r["approved_sha256"].as_str().map(str::len), Some(64));
        let approved_revision = r["revision"].as_i64().unwrap();

        // Approved: nothing changes it any more.
        let (s, _) = narrative(&admin, org, &q, approved_revision, "After approval").await;
        assert_eq!(s, 409);
        let (s, _) = action(&manager, org, &q, "approve", json!({})).await;
        assert_eq!(s, 409);
        let (s, _) = action(&manager, org, &q, "return", json!({"comment": "Reopen"})).await;
        assert_eq!(s, 409);
        let (s, _) = action(&admin, org, &q, "submit", json!({})).await;
        assert_eq!(s, 409);
        let (_, r) = get(&admin, &path(org, &q)).await;
        assert_eq!(r["revision"], approved_revision);
        assert!(r["narrative"]["achievements"].as_str().unwrap().starts_with("Third"));

        // The history, with the return's comment, and an audit entry per transition.
        let actions: Vec<&str> = r["events"].as_array().unwrap().iter()
            .map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["created", "edited", "submitted", "returned", "edited", "submitted", "approved"]);
        assert_eq!(r["events"][3]["comment"], "Please give the number of providers mentored per district.");
        assert_eq!(r["events"][6]["comment"], "Thank you.");
        assert_eq!(
            report_audit(&app, id).await,
            ["create", "edit", "submit", "return", "edit", "submit", "approve"]
        );
        assert_eq!(app.count("report_events").await, 7);
    }

    async fn bad_input_is_refused_and_changes_nothing(app) {
        let f = app.seed().await;
        let org = f.a.org.id;
        let admin = app.api(&f.a.org_admin).await;
        let manager = app.api(&f.manager).await;
        let q = quarter();

        for bad in ["2026Q5", "2026-Q3", "Q3"] {
            let (s, body) = get(&admin, &path(org, bad)).await;
            assert_eq!(s, 422, "{bad}: {body}");
            assert_eq!(fields(&body), ["quarter"]);
            let (s, body) = narrative(&admin, org, bad, 0, "x").await;
            assert_eq!(s, 422, "{bad}: {body}");
            assert_eq!(fields(&body), ["quarter"]);
        }
        let future = Quarter::current().next().to_string();
        let (s, body) = get(&admin, &path(org, &future)).await;
        assert_eq!(s, 422, "{body}");
        assert_eq!(fields(&body), ["quarter"]);
        let (s, body) = get(&manager, &format!("/api/v1/reports/programme/{future}")).await;
        assert_eq!(s, 422, "{body}");
        let (s, body) = get(&manager, "/api/v1/reports?quarter=2026Q5").await;
        assert_eq!(s, 422);
        assert_eq!(fields(&body), ["quarter"]);
        let (s, body) = get(&manager, "/api/v1/reports?status=lost").await;
        assert_eq!(s, 422);
        assert_eq!(fields(&body), ["status"]);

        // A narrative without a revision, or with a control character.
        let (s, body) = send(&admin, Method::PUT, &format!("{}/narrative", path(org, &q)),
            json!({"achievements": "ok"})).await;
        assert_eq!(s, 422);
        assert_eq!(fields(&body), ["revision"]);
        let (s, body) = send(&admin, Method::PUT, &format!("{}/narrative", path(org, &q)),
            json!({"revision": 0, "challenges": "bad\u{0}byte", "achievements": "x".repeat(10_001)})).await;
        assert_eq!(s, 422);
        let mut named = fields(&body);
        named.sort();
        assert_eq!(named, ["achievements", "challenges"]);

        // Submitting with nothing written names every missing section.
        let (s, body) = action(&admin, org, &q, "submit", json!({})).await;
        assert_eq!(s, 422, "{body}");
        assert_eq!(fields(&body), ["achievements", "challenges", "next_quarter_plan"]);
        // Half a narrative: only the missing ones.
        let (s, _) = send(&admin, Method::PUT, &format!("{}/narrative", path(org, &q)),
            json!({"revision": 0, "achievements": "Drills held."})).await;
        assert_eq!(s, 200);
        let (s, body) = action(&admin, org, &q, "submit", json!({})).await;
        assert_eq!(s, 422);
        assert_eq!(fields(&body), ["challenges", "next_quarter_plan"]);
        assert_eq!(stored_status(&app, org, &q).await, Some(("draft".into(), 1)));

        // Reviewing what is not submitted.
        let (s, _) = action(&manager, org, &q, "approve", json!({})).await;
        assert_eq!(s, 409);
        let (s, _) = action(&manager, org, &q, "return", json!({"comment": "No"})).await;
        assert_eq!(s, 409);
        let (s, _) = action(&manager, f.b.org.id, &q, "approve", json!({})).await;
        assert_eq!(s, 409, "a report not started cannot be approved");
        assert_eq!(app.count("reports").await, 1);
        assert_eq!(stored_status(&app, org, &q).await, Some(("draft".into(), 1)));
    }

    async fn roles_and_organisations(app) {
        let f = app.seed().await;
        let q = quarter();
        let a = f.a.org.id;
        let b_admin = app.api(&f.b.org_admin).await;
        let a_mentor = app.api(&f.a.mentor).await;
        let a_admin = app.api(&f.a.org_admin).await;
        let manager = app.api(&f.manager).await;

        // Another partner's report does not exist for B, whatever B tries.
        let (s, _) = get(&b_admin, &path(a, &q)).await;
        assert_eq!(s, 404);
        let (s, _) = narrative(&b_admin, a, &q, 0, "Not mine").await;
        assert_eq!(s, 404);
        let (s, _) = action(&b_admin, a, &q, "submit", json!({})).await;
        assert_eq!(s, 404);
        // Project management sends no report; unknown organisations are not found either.
        let (s, _) = get(&manager, &path(f.pm.id, &q)).await;
        assert_eq!(s, 404);
        let (s, _) = get(&manager, &path(999_999, &q)).await;
        assert_eq!(s, 404);
        let (s, _) = get(&manager, &format!("/api/v1/reports/abc/{q}")).await;
        assert_eq!(s, 404);

        // A's mentor reads but neither writes nor submits.
        let (s, r) = get(&a_mentor, &path(a, &q)).await;
        assert_eq!(s, 200);
        assert_eq!(r["actions"]["edit"], false);
        let (s, _) = narrative(&a_mentor, a, &q, 0, "Mentor").await;
        assert_eq!(s, 403);
        let (s, _) = action(&a_mentor, a, &q, "submit", json!({})).await;
        assert_eq!(s, 403);

        // Managers review, they do not write the partner's narrative.
        let (s, _) = narrative(&manager, a, &q, 0, "Manager").await;
        assert_eq!(s, 403);
        assert_eq!(app.count("reports").await, 0);

        // Partners do not approve their own reports.
        submitted(&app, &f, &q).await;
        let (s, _) = action(&a_admin, a, &q, "approve", json!({})).await;
        assert_eq!(s, 403);
        let (s, _) = action(&a_mentor, a, &q, "return", json!({"comment": "x"})).await;
        assert_eq!(s, 403);
        let (s, _) = action(&b_admin, a, &q, "approve", json!({})).await;
        assert_eq!(s, 404);
        let (s, _) = get(&a_admin, &format!("/api/v1/reports/programme/{q}")).await;
        assert_eq!(s, 403);

        // Lists: each partner sees its own; reviewers see every partner with a row per quarter.
        let (s, list) = get(&b_admin, &format!("/api/v1/reports?quarter={q}")).await;
        assert_eq!(s, 200);
        let rows = list.as_array().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["organisation_id"], f.b.org.id);
        assert_eq!(rows[0]["status"], "not_started");
        let (_, list) = get(&b_admin, &format!("/api/v1/reports?organisation_id={a}")).await;
        assert_eq!(list, json!([]));
        let (_, list) = get(&manager, &format!("/api/v1/reports?quarter={q}")).await;
        let mut grid: Vec<(i64, String)> = list.as_array().unwrap().iter()
            .map(|r| (r["organisation_id"].as_i64().unwrap(), r["status"].as_str().unwrap().to_string()))
            .collect();
        grid.sort();
        let mut expected = vec![(a, "submitted".to_string()), (f.b.org.id, "not_started".to_string())];
        expected.sort();
        assert_eq!(grid, expected);
        let (_, list) = get(&manager, &format!("/api/v1/reports?quarter={q}&status=not_started")).await;
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(list[0]["organisation_id"], f.b.org.id);
        let (_, list) = get(&manager, "/api/v1/reports?status=submitted").await;
        assert_eq!(list.as_array().unwrap().len(), 1);
        let (_, list) = get(&a_mentor, "/api/v1/reports").await;
        assert_eq!(list.as_array().unwrap().len(), 1);
    }

    async fn approval_freezes_the_figures(app) {
        let f = app.seed_with_sessions().await;
        catalogue(&app, &f).await;
        let q = quarter();
        let org = f.a.org.id;
        submitted(&app, &f, &q).await;
        let manager = app.api(&f.manager).await;
        let (s, approved) = action(&manager, org, &q, "approve", json!({})).await;
        assert_eq!(s, 200, "{approved}");
        let frozen = approved["figures"].clone();
        // One session of A's in the quarter (seed_with_sessions), counted independently here.
        assert_eq!(total(&frozen, "SESSIONS"), json!(1.0), "{frozen}");
        assert_eq!(total(&frozen, "MENTEES"), json!(1.0));
        let stored: (String, String) = sqlx::query_as(
            "SELECT approved_figures, approved_sha256 FROM reports WHERE organisation_id = $1 AND quarter = $2",
        )
        .bind(org)
        .bind(&q)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
        assert_eq!(serde_json::from_str::<Value>(&stored.0).unwrap(), frozen);
        assert_eq!(approved["approved_sha256"], stored.1.as_str());

        // New data in the quarter after approval.
        app.log_session(&f.a).await;
        app.log_session(&f.a).await;

        let (_, r) = get(&manager, &path(org, &q)).await;
        assert_eq!(r["figures"], frozen, "approved figures must not follow the data");
        assert_eq!(r["figures_source"], "approved");
        assert_eq!(r["changed_since_approval"], true);
        assert_ne!(r["live_sha256"], r["approved_sha256"]);
        assert_eq!(total(&r["figures"], "SESSIONS"), json!(1.0));
        // The programme view also shows the frozen figures for an approved partner.
        let (s, view) = get(&manager, &format!("/api/v1/reports/programme/{q}")).await;
        assert_eq!(s, 200, "{view}");
        let column = view["columns"].as_array().unwrap().iter()
            .position(|c| c["organisation_id"] == org).unwrap();
        assert_eq!(view["columns"][column]["figures_source"], "approved");
        // The programme total is live: A's three sessions and B's one.
        let sessions = view["rows"].as_array().unwrap().iter().find(|r| r["code"] == "SESSIONS").unwrap();
        assert_eq!(sessions["total"]["value"], json!(4.0), "{view}");
        assert_eq!(sessions["values"][column]["value"], json!(1.0));
        for row in view["rows"].as_array().unwrap() {
            let frozen_row = frozen.as_array().unwrap().iter().find(|i| i["code"] == row["code"]);
            if let Some(i) = frozen_row {
                assert_eq!(row["values"][column], i["total"], "{}", row["code"]);
            }
        }

        // The page says so too.
        let web = app.sign_in(&f.manager).await;
        let (s, doc) = web.html(&format!("/reports/{org}/{q}")).await;
        assert_eq!(s, 200);
        assert_eq!(texts(&doc, "#changed-since-approval").len(), 1);
        assert_eq!(texts(&doc, "#frozen-notice").len(), 1);
    }

    async fn workflow_through_the_pages(app) {
        let f = app.seed_with_sessions().await;
        catalogue(&app, &f).await;
        let q = quarter();
        let org = f.a.org.id;
        let page = format!("/reports/{org}/{q}");
        let admin = app.sign_in(&f.a.org_admin).await;

        // The organisation's quarters, the current one not started.
        let (s, doc) = admin.html("/reports").await;
        assert_eq!(s, 200);
        let sel = format!("#quarters tr[data-quarter=\"{q}\"]");
        assert_eq!(texts(&doc, &sel).len(), 1);
        let status_sel = format!("{sel}[data-status=not_started]");
        assert_eq!(texts(&doc, &status_sel).len(), 1);

        let (s, doc) = admin.html(&page).await;
        assert_eq!(s, 200);
        assert_eq!(texts(&doc, "#edit-narrative").len(), 1);
        assert!(texts(&doc, "#submit-report").is_empty());
        assert_eq!(texts(&doc, "#report-status"), ["Not started"]);
        // Live figures with their target and charts (this/previous/target, then by district).
        assert_eq!(texts(&doc, "#figures tr[data-code=SESSIONS] td.current"), ["1"]);
        assert_eq!(texts(&doc, "#figures tr[data-code=SESSIONS] td.target"), ["10"]);
        assert_eq!(texts(&doc, "#ind-SESSIONS svg.bar-chart").len(), 2);
        assert_eq!(texts(&doc, "#ind-SESSIONS svg .bar-current").len(), 1);
        assert_eq!(texts(&doc, "#ind-SESSIONS table.districts tbody tr").len(), 1);

        // Without the CSRF token nothing is written.
        let r = admin.client.post(format!("{}{page}/edit", admin.base))
            .form(&[("revision", "0"), ("achievements", "x")]).send().await.unwrap();
        assert_eq!(r.status(), 403);
        assert_eq!(app.count("reports").await, 0);

        let (s, doc) = admin.html(&format!("{page}/edit")).await;
        assert_eq!(s, 200);
        assert_eq!(texts(&doc, "#narrative-form").len(), 1);
        let r = admin.post(&format!("{page}/edit"), &[
            ("revision", "0"),
            ("achievements", "Forty drills at Kibuye."),
            ("challenges", ""),
            ("next_quarter_plan", "Rutsiro next."),
        ]).await;
        assert_eq!(r.status(), 303);
        // Submitting with a section missing is refused and names it.
        let r = admin.post(&format!("{page}/submit"), &[("revision", "1")]).await;
        assert_eq!(r.status(), 422);
        let r = admin.post(&format!("{page}/edit"), &[
            ("revision", "1"),
            ("achievements", "Forty drills at Kibuye."),
            ("challenges", "Stock-outs of bag-and-mask devices."),
            ("next_quarter_plan", "Rutsiro next."),
        ]).await;
        assert_eq!(r.status(), 303);
        // A stale form is refused.
        let r = admin.post(&format!("{page}/edit"), &[("revision", "1"), ("achievements", "Old")]).await;
        assert_eq!(r.status(), 409);
        let (_, doc) = admin.html(&page).await;
        assert_eq!(texts(&doc, "#challenges"), ["Stock-outs of bag-and-mask devices."]);
        assert_eq!(texts(&doc, "#report-status"), ["Draft"]);
        let r = admin.post(&format!("{page}/submit"), &[("revision", "2")]).await;
        assert_eq!(r.status(), 303);

        // The manager's grid: A submitted, B not started.
        let manager = app.sign_in(&f.manager).await;
        let (s, doc) = manager.html(&format!("/reports?quarter={q}")).await;
        assert_eq!(s, 200);
        let a_row = format!("#status-grid tr[data-organisation-id=\"{org}\"][data-status=submitted]");
        assert_eq!(texts(&doc, &a_row).len(), 1);
        let b_row = format!("#status-grid tr[data-organisation-id=\"{}\"][data-status=not_started]", f.b.org.id);
        assert_eq!(texts(&doc, &b_row).len(), 1);
        assert_eq!(texts(&doc, "#status-counts li[data-status=submitted] .figure"), ["1"]);
        assert_eq!(texts(&doc, "#status-counts li[data-status=not_started] .figure"), ["1"]);
        let (s, _) = manager.html("/reports?quarter=2026Q5").await;
        assert_eq!(s, 422);

        // Return without a comment: the form again, naming it; then with one.
        let (s, doc) = manager.html(&page).await;
        assert_eq!(s, 200);
        assert_eq!(texts(&doc, "#approve-report").len(), 1);
        assert_eq!(texts(&doc, "#return-report").len(), 1);
        assert!(texts(&doc, "#edit-narrative").is_empty());
        let (s, _) = manager.html(&format!("{page}/return")).await;
        assert_eq!(s, 200);
        let r = manager.post(&format!("{page}/return"), &[("revision", "3"), ("comment", "")]).await;
        assert_eq!(r.status(), 422);
        let doc = scraper::Html::parse_document(&r.text().await.unwrap());
        assert_eq!(texts(&doc, ".field-error[data-field=comment]").len(), 1);
        let r = manager.post(&format!("{page}/return"), &[("revision", "3"), ("comment", "Add the district breakdown.")]).await;
        assert_eq!(r.status(), 303);

        // The partner sees the comment in the report and its history, fixes and resubmits.
        let (_, doc) = admin.html(&page).await;
        assert_eq!(texts(&doc, "#report-status"), ["Returned"]);
        assert!(texts(&doc, "#return-comment")[0].contains("Add the district breakdown."));
        assert_eq!(texts(&doc, "#events li[data-action=returned] .event-comment"), ["Add the district breakdown."]);
        let r = admin.post(&format!("{page}/edit"), &[
            ("revision", "4"),
            ("achievements", "Forty drills at Kibuye; Karongi 25, Rutsiro 15."),
            ("challenges", "Stock-outs of bag-and-mask devices."),
            ("next_quarter_plan", "Rutsiro next."),
        ]).await;
        assert_eq!(r.status(), 303);
        let r = admin.post(&format!("{page}/submit"), &[("revision", "5")]).await;
        assert_eq!(r.status(), 303);

        // A mentor of A reads it without buttons; B's admin does not find it.
        let mentor = app.sign_in(&f.a.mentor).await;
        let (s, doc) = mentor.html(&page).await;
        assert_eq!(s, 200);
        assert!(texts(&doc, "#report-actions").is_empty());
        let r = mentor.post(&format!("{page}/submit"), &[("revision", "6")]).await;
        assert_eq!(r.status(), 403);
        let b_admin = app.sign_in(&f.b.org_admin).await;
        let (s, _) = b_admin.html(&page).await;
        assert_eq!(s, 404);
        let (s, _) = b_admin.html(&format!("/reports/programme/{q}")).await;
        assert_eq!(s, 403);

        // Approval, after which the page shows the frozen figures and no edit.
        let r = manager.post(&format!("{page}/approve"), &[("revision", "6")]).await;
        assert_eq!(r.status(), 303);
        let (_, doc) = admin.html(&page).await;
        assert_eq!(texts(&doc, "#report-status"), ["Approved"]);
        assert_eq!(texts(&doc, "#frozen-notice").len(), 1);
        assert!(texts(&doc, "#edit-narrative").is_empty());
        let r = admin.post(&format!("{page}/edit"), &[
            ("revision", "7"), ("achievements", "Rewritten"),
            ("challenges", "x"), ("next_quarter_plan", "y"),
        ]).await;
        assert_eq!(r.status(), 409);
        let (s, _) = admin.html(&format!("{page}/edit")).await;
        assert_eq!(s, 409);
        assert_eq!(stored_status(&app, org, &q).await, Some(("approved".into(), 7)));

        // Printable: the page links its stylesheet (the CSP forbids inline styles), which
        // lays it out for A4.
        let (_, doc) = admin.html(&page).await;
        let links: Vec<String> = doc
            .select(&scraper::Selector::parse("link[rel=stylesheet]").unwrap())
            .filter_map(|e| e.value().attr("href").map(str::to_string))
            .collect();
        assert!(links.contains(&"/reports/report.css".to_string()), "{links:?}");
        assert!(texts(&doc, "style").is_empty(), "inline styles are blocked by the CSP");
        let css = admin.get("/reports/report.css").await;
        assert_eq!(css.status(), 200);
        assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
        let css = css.text().await.unwrap();
        assert!(css.contains("@media print") && css.contains("size: A4"));

        // The programme view: one column per partner.
        let (s, doc) = manager.html(&format!("/reports/programme/{q}")).await;
        assert_eq!(s, 200);
        assert_eq!(texts(&doc, "#programme th.org").len(), 2);
        let approved_col = format!("#programme th.org[data-organisation-id=\"{org}\"][data-status=approved]");
        assert_eq!(texts(&doc, &approved_col).len(), 1);

        let id: i64 = sqlx::query_scalar("SELECT id FROM reports WHERE organisation_id = $1")
            .bind(org).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(
            report_audit(&app, id).await,
            ["create", "edit", "submit", "return", "edit", "submit", "approve"]
        );
    }

    async fn two_reviewers_at_once_one_wins(app) {
        let f = app.seed().await;
        let q = quarter();
        let org = f.a.org.id;
        submitted(&app, &f, &q).await;
        let manager = app.api(&f.manager).await;
        let admin = app.api(&f.admin).await;
        let approve = action(&manager, org, &q, "approve", json!({"revision": 2}));
        let send_back = action(&admin, org, &q, "return", json!({"revision": 2, "comment": "Too late?"}));
        let ((a, _), (b, _)) = tokio::join!(approve, send_back);
        let mut statuses = [a, b];
        statuses.sort();
        assert_eq!(statuses, [200, 409]);
        let (status, revision) = stored_status(&app, org, &q).await.unwrap();
        assert_eq!(revision, 3);
        assert_eq!(status, if a == 200 { "approved" } else { "returned" });
        let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM report_events WHERE action IN ('approved', 'returned')")
            .fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(events, 1);
    }

    async fn the_demo_reports_mix_states_and_load_once(app) {
        mentortrack::demo::load(&app.db).await.expect("load the demo");
        let first = mentortrack::demo::reports::load(&app.db, &app.plugins).await.expect("reports");
        // Six partners, two quarters, CARE's last quarter not started.
        assert_eq!(first, 11);
        let again = mentortrack::demo::reports::load(&app.db, &app.plugins).await.expect("again");
        assert_eq!(again, 0);
        assert_eq!(app.count("reports").await, 11);

        let last = Quarter::current().previous().to_string();
        let earlier = Quarter::current().previous().previous().to_string();
        let (id, org): (i64, i64) = sqlx::query_as(
            "SELECT id, organisation_id FROM users WHERE email = 'manager@demo.mentortrack.org'",
        )
        .fetch_one(app.db.pool())
        .await
        .unwrap();
        let manager = mentortrack::authz::Actor {
            user_id: id,
            organisation_id: org,
            role: mentortrack::authz::Role::Manager,
            email: "manager@demo.mentortrack.org".into(),
            display_name: "Manager".into(),
            language: "en".into(),
        };
        let list = |quarter: String, status: Option<&str>| {
            let manager = manager.clone();
            let db = app.db.clone();
            let status = status.map(str::to_string);
            async move {
                let filter = ReportFilter { quarter: Some(quarter), organisation_id: None, status };
                reports::list(&db, &manager, &filter).await.expect("list")
            }
        };
        let mut statuses: Vec<(String, String)> = list(last.clone(), None).await.iter()
            .map(|r| (r.organisation_code.clone(), r.status.clone()))
            .collect();
        statuses.sort();
        let expected: Vec<(String, String)> = [
            ("CARE", "not_started"), ("JHPIEGO", "draft"), ("RAM", "approved"),
            ("RPA", "returned"), ("RSOG", "submitted"), ("SHARE", "submitted"),
        ].iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(statuses, expected);
        assert_eq!(list(earlier.clone(), Some("approved")).await.len(), 5);

        // A returned report carries the reviewer's comment; an approved one its frozen figures.
        let org_of = |code: &str, rows: &[reports::ReportSummary]| {
            rows.iter().find(|r| r.organisation_code == code).map(|r| r.organisation_id).expect("partner")
        };
        let rows = list(last.clone(), None).await;
        let r = reports::get(&app.db, &manager, org_of("RPA", &rows), &last).await.unwrap();
        assert!(r.return_comment.as_deref().unwrap().contains("OSCE B"));
        assert!(r.narrative.achievements.as_deref().unwrap().contains("Helping Babies Breathe"));
        let r = reports::get(&app.db, &manager, org_of("RAM", &rows), &last).await.unwrap();
        assert_eq!(r.figures_source, "approved");
        let actions: Vec<&str> = r.events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["created", "submitted", "returned", "edited", "submitted", "approved"]);
    }
}

const WAIT: std::time::Duration = std::time::Duration::from_secs(15);

/// The DHIS2 UIDs the browser test maps A's facility and the SESSIONS indicator to.
const DHIS2_FACILITY: &str = "ouKibuye001";
const DHIS2_SESSIONS: &str = "deSESSION01";

/// The DHIS2 mapping an admin keeps: SESSIONS and A's facility mapped, MENTEES left unmapped,
/// so the DHIS2 download holds SESSIONS' value at A's facility and nothing else.
async fn dhis2_mapping(app: &TestApp, f: &Fixture) {
    let admin = app.api(&f.admin).await;
    let (s, listed) = get(&admin, "/api/v1/dhis2/data-elements").await;
    assert_eq!(s, 200, "{listed}");
    let sessions = listed
        .as_array()
        .and_then(|a| a.iter().find(|m| m["code"] == "SESSIONS"))
        .and_then(|m| m["indicator_id"].as_i64())
        .expect("the SESSIONS indicator");
    let (s, body) = send(
        &admin,
        Method::PUT,
        &format!("/api/v1/dhis2/data-elements/{sessions}"),
        json!({ "data_element": DHIS2_SESSIONS }),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = send(
        &admin,
        Method::PUT,
        &format!("/api/v1/dhis2/org-units/{}", f.a.facility.id),
        json!({ "dhis2_uid": DHIS2_FACILITY }),
    )
    .await;
    assert_eq!(s, 200, "{body}");
}

/// In headless Chromium on a phone-sized screen: the manager finds the submitted report in the
/// status grid, returns it with a comment, approves the resubmission, and downloads its CSV,
/// XLSX and DHIS2 files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_reviews_a_report_in_a_browser() -> anyhow::Result<()> {
    let Some(browser) = Browser::launch_or_skip("a_manager_reviews_a_report_in_a_browser").await?
    else {
        return Ok(());
    };
    let app = TestApp::spawn(Engine::Sqlite).await;
    let f = app.seed_with_sessions().await;
    catalogue(&app, &f).await;
    dhis2_mapping(&app, &f).await;
    let result = review(&browser, &app, &f).await;
    if let Ok(png) = browser.screenshot_png().await {
        let name = if result.is_err() {
            "report-failure.png"
        } else {
            "report.png"
        };
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        let _ = std::fs::write(&path, png);
        eprintln!("screenshot: {}", path.display());
    }
    browser.close().await?;
    result
}

async fn review(browser: &Browser, app: &TestApp, f: &Fixture) -> anyhow::Result<()> {
    let q = quarter();
    let org = f.a.org.id;
    let admin = submitted(app, f, &q).await;

    browser
        .goto(&app.at(&format!("/reports?quarter={q}")))
        .await?;
    browser.wait_for("#login-form", WAIT).await?;
    browser
        .find("input[name=email]")
        .await?
        .send_keys(&f.manager)
        .await?;
    browser
        .find("input[name=password]")
        .await?
        .send_keys(PASSWORD)
        .await?;
    browser
        .find("#login-form button[type=submit]")
        .await?
        .click()
        .await?;
    browser.wait_for("#status-grid", WAIT).await?;
    let row = format!("#status-grid tr[data-organisation-id=\"{org}\"][data-status=submitted] a");
    browser.find(&row).await?.click().await?;
    browser.wait_for("#report", WAIT).await?;
    let overflow = browser
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await?;
    assert!(
        overflow.as_i64().unwrap_or(1) <= 0,
        "the report is wider than the phone screen by {overflow}px"
    );

    // The report's stylesheet applies (inline styles would be refused by the CSP).
    let radius = browser
        .execute(
            "return getComputedStyle(document.querySelector('#report-status')).borderTopLeftRadius;",
            vec![],
        )
        .await?;
    assert_ne!(radius, json!("0px"), "the report stylesheet is not applied");
    // Not approved yet: the figures download, the DHIS2 document does not.
    browser.find("#downloads a#export-csv").await?;
    browser.find("#downloads #dhis2-not-approved").await?;
    assert!(browser.find_all("a#export-dhis2").await?.is_empty());

    browser.find("#return-report").await?.click().await?;
    browser.wait_for("#return-form", WAIT).await?;
    browser
        .find("#comment")
        .await?
        .send_keys("Add the number of providers mentored per district.")
        .await?;
    browser.find("#confirm-return").await?.click().await?;
    let status = browser
        .wait_for("#report-status[data-status=returned]", WAIT)
        .await?;
    assert_eq!(status.text().await?, "Returned");

    // The partner corrects and resubmits; the manager reloads and approves.
    let (_, r) = get(&admin, &path(org, &q)).await;
    let revision = r["revision"].as_i64().unwrap_or(0);
    let (s, _) = narrative(&admin, org, &q, revision, "Per district: Karongi 1").await;
    assert_eq!(s, 200);
    let (s, _) = action(&admin, org, &q, "submit", json!({})).await;
    assert_eq!(s, 200);
    browser.refresh().await?;
    browser
        .wait_for("#approve-report", WAIT)
        .await?
        .click()
        .await?;
    let status = browser
        .wait_for("#report-status[data-status=approved]", WAIT)
        .await?;
    assert_eq!(status.text().await?, "Approved");
    browser.wait_for("#frozen-notice", WAIT).await?;
    let png = browser
        .find("#ind-SESSIONS")
        .await?
        .screenshot_png()
        .await?;
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-chart.png"),
        png,
    )?;
    let comment = browser
        .find("#events li[data-action=returned] .event-comment")
        .await?;
    assert_eq!(
        comment.text().await?,
        "Add the number of providers mentored per district."
    );
    download_exports(browser, f, &q).await
}

/// A figure as the report page shows it (`3`, `2.5`, `40%`; `–` for none), as a number. A
/// fraction under it (`12 / 20`) is left aside.
fn shown_number(text: &str) -> anyhow::Result<Option<f64>> {
    let shown = text.lines().next().unwrap_or_default().trim();
    if shown == "–" {
        return Ok(None);
    }
    let number = shown
        .trim_end_matches('%')
        .parse()
        .with_context(|| format!("the page shows {text:?}, not a number"))?;
    Ok(Some(number))
}

/// A value in a file is the one the page shows, which rounds to a decimal (two for ratios).
fn as_shown(file: Option<f64>, page: Option<f64>) -> bool {
    match (file, page) {
        (Some(f), Some(p)) => (f - p).abs() <= 0.05 + 1e-9,
        (None, None) => true,
        _ => false,
    }
}

/// Each indicator's total this quarter as the report page shows it, in the page's order.
async fn shown_totals(browser: &Browser) -> anyhow::Result<Vec<(String, Option<f64>)>> {
    let mut totals = Vec::new();
    for row in browser.find_all("#figures tbody tr[data-code]").await? {
        let code = row
            .attr("data-code")
            .await?
            .ok_or_else(|| anyhow!("a figure row without its code"))?;
        let current = row.find("td.current").await?.text().await?;
        totals.push((code, shown_number(&current)?));
    }
    ensure!(!totals.is_empty(), "the page shows no figures");
    Ok(totals)
}

/// An indicator's value at a facility as the report page shows it.
async fn shown_at(browser: &Browser, code: &str, facility: &str) -> anyhow::Result<Option<f64>> {
    for row in browser
        .find_all(&format!("#ind-{code} table.facilities tbody tr"))
        .await?
    {
        let cells = row.find_all("td").await?;
        if let [name, value, ..] = cells.as_slice()
            && name.text().await? == facility
        {
            return shown_number(&value.text().await?);
        }
    }
    Err(anyhow!("{code}: the page has no row for {facility}"))
}

/// A figure row of a downloaded export, in either format: the columns checked against the
/// page (the others are the exports tests' business).
#[derive(Debug, Deserialize)]
struct FigureRow {
    indicator_code: String,
    disaggregation: String,
    breakdown_key: Option<String>,
    value: Option<f64>,
    report_status: String,
}

/// The row of an indicator's total (no facility) or of its value at a facility.
fn figure<'a>(rows: &'a [FigureRow], code: &str, facility: Option<i64>) -> Option<&'a FigureRow> {
    let key = facility.map(|id| id.to_string());
    let dimension = if key.is_some() { "facility" } else { "total" };
    rows.iter().find(|r| {
        r.indicator_code == code && r.disaggregation == dimension && r.breakdown_key == key
    })
}

fn csv_figures(bytes: &[u8]) -> anyhow::Result<Vec<FigureRow>> {
    let rows = csv::Reader::from_reader(bytes)
        .deserialize()
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

fn xlsx_figures(bytes: &[u8]) -> anyhow::Result<Vec<FigureRow>> {
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes.to_vec()))?;
    let sheet = book.worksheet_range("Figures")?;
    let rows = sheet.deserialize()?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// What the approved report's page shows, to check the downloads against.
struct Page {
    /// Each indicator's total, in the page's order.
    totals: Vec<(String, Option<f64>)>,
    /// SESSIONS' and MENTEES' values at A's facility.
    at_facility: Vec<(&'static str, Option<f64>)>,
    facility: i64,
}

/// A downloaded file's figures are the ones the page shows: the same indicators in the same
/// order, the same totals, the same values at A's facility, all of the approved report.
fn check_figures(what: &str, rows: &[FigureRow], page: &Page) -> anyhow::Result<()> {
    let totals: Vec<&FigureRow> = rows
        .iter()
        .filter(|r| r.disaggregation == "total")
        .collect();
    let codes: Vec<&str> = totals.iter().map(|r| r.indicator_code.as_str()).collect();
    let shown: Vec<&str> = page.totals.iter().map(|(c, _)| c.as_str()).collect();
    ensure!(
        codes == shown,
        "{what} holds the indicators {codes:?}, the page shows {shown:?}"
    );
    for (row, (code, value)) in totals.iter().zip(&page.totals) {
        ensure!(
            as_shown(row.value, *value),
            "{what}: {code}'s total is {:?}, the page shows {value:?}",
            row.value
        );
    }
    for (code, value) in &page.at_facility {
        let row = figure(rows, code, Some(page.facility))
            .ok_or_else(|| anyhow!("{what}: no row of {code} at A's facility"))?;
        ensure!(
            as_shown(row.value, *value),
            "{what}: {code} at A's facility is {:?}, the page shows {value:?}",
            row.value
        );
    }
    ensure!(
        rows.iter().all(|r| r.report_status == "approved"),
        "{what}: rows of a report that is not approved"
    );
    Ok(())
}

/// Downloads the approved report's three files by clicking their links, as the manager would,
/// and checks what Chromium saved against what the page shows.
async fn download_exports(browser: &Browser, f: &Fixture, q: &str) -> anyhow::Result<()> {
    let facility = &f.a.facility;
    let mut at_facility = Vec::new();
    for code in ["SESSIONS", "MENTEES"] {
        at_facility.push((code, shown_at(browser, code, &facility.name).await?));
    }
    let page = Page {
        totals: shown_totals(browser).await?,
        at_facility,
        facility: facility.id,
    };
    // Named after A's code and the quarter, as the server names them.
    let stem = format!("RAM-{q}");

    browser.find("a#export-csv").await?.click().await?;
    let csv = browser
        .wait_for_download(&format!("{stem}-report.csv"), WAIT)
        .await?;
    check_figures("CSV", &csv_figures(&csv)?, &page)?;

    browser.find("a#export-xlsx").await?.click().await?;
    let xlsx = browser
        .wait_for_download(&format!("{stem}-report.xlsx"), WAIT)
        .await?;
    check_figures("XLSX", &xlsx_figures(&xlsx)?, &page)?;

    browser.find("a#export-dhis2").await?.click().await?;
    let doc = browser
        .wait_for_download(&format!("{stem}-dhis2.json"), WAIT)
        .await?;
    let doc: Value = serde_json::from_slice(&doc).context("the DHIS2 file is not JSON")?;
    assert_eq!(doc["period"], q);
    // SESSIONS is mapped, and A's facility; MENTEES is not, so it is left out.
    let values = doc["dataValues"]
        .as_array()
        .ok_or_else(|| anyhow!("no dataValues in {doc}"))?;
    assert_eq!(values.len(), 1, "{doc}");
    let value = &values[0];
    assert_eq!(value["dataElement"], DHIS2_SESSIONS);
    assert_eq!(value["orgUnit"], DHIS2_FACILITY);
    assert_eq!(value["period"], q);
    let sent = value["value"]
        .as_str()
        .ok_or_else(|| anyhow!("a value that is not text: {value}"))?
        .parse()?;
    let (_, sessions_at_a) = page.at_facility[0];
    ensure!(
        as_shown(Some(sent), sessions_at_a),
        "DHIS2 gets {sent} for SESSIONS at A's facility, the page shows {sessions_at_a:?}"
    );

    // The page still shows the report, and nothing else was saved.
    browser
        .wait_for("#report-status[data-status=approved]", WAIT)
        .await?;
    let mut saved: Vec<String> = std::fs::read_dir(browser.download_dir())?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    saved.sort();
    assert_eq!(
        saved,
        [
            format!("{stem}-dhis2.json"),
            format!("{stem}-report.csv"),
            format!("{stem}-report.xlsx"),
        ]
    );
    Ok(())
}
