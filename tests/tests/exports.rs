//! Downloads: a report's CSV and XLSX read back and checked against the report's JSON and an
//! independent count of what the test logged; user text never becomes a formula; who sees
//! which records (another partner's report is 404, a mentor's raw export holds only their
//! organisation's records); and the DHIS2 export: mapping with UID checks and audit, gaps
//! listed, refused before approval, values from the frozen figures after the data change.

use std::collections::{BTreeSet, HashMap};
use std::io::Cursor;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use mentortrack::domain::quarter::Quarter;
use mentortrack_tests::{Api, Fixture, TestApp, engine_tests, texts};
use reqwest::Method;
use serde_json::{Value, json};

fn quarter() -> String {
    Quarter::current().to_string()
}

fn today() -> String {
    chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

fn report_path(org: i64, q: &str) -> String {
    format!("/api/v1/reports/{org}/{q}")
}

struct File {
    status: u16,
    content_type: String,
    disposition: String,
    bytes: Vec<u8>,
}

async fn file(response: reqwest::Response) -> File {
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let content_type = header("content-type");
    let disposition = header("content-disposition");
    let bytes = response.bytes().await.expect("body").to_vec();
    File {
        status,
        content_type,
        disposition,
        bytes,
    }
}

async fn api_file(api: &Api, path: &str) -> File {
    file(api.get(path).await).await
}

fn json_of(f: &File) -> Value {
    serde_json::from_slice(&f.bytes).unwrap_or(Value::Null)
}

/// A CSV export as its header and rows of named fields.
fn csv_rows(bytes: &[u8]) -> (Vec<String>, Vec<HashMap<String, String>>) {
    assert!(
        bytes.starts_with("\u{feff}".as_bytes()),
        "CSV starts with a BOM"
    );
    let mut reader = csv::Reader::from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .expect("CSV header")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.expect("CSV record");
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect();
    (header, rows)
}

fn workbook(bytes: &[u8]) -> Xlsx<Cursor<Vec<u8>>> {
    open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("a readable XLSX")
}

/// A sheet as its header and rows of named cells.
fn sheet(bytes: &[u8], name: &str) -> (Vec<String>, Vec<HashMap<String, Data>>) {
    let mut wb = workbook(bytes);
    let range = wb.worksheet_range(name).expect("the sheet");
    let mut rows = range.rows();
    let header: Vec<String> = rows
        .next()
        .expect("a header row")
        .iter()
        .map(|c| c.to_string())
        .collect();
    let body = rows
        .map(|r| header.iter().cloned().zip(r.iter().cloned()).collect())
        .collect();
    (header, body)
}

fn number(cell: &str) -> Option<f64> {
    if cell.is_empty() {
        None
    } else {
        Some(cell.parse().expect("a number"))
    }
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => (a - b).abs() < 1e-9,
        _ => false,
    }
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

async fn send(api: &Api, method: Method, path: &str, body: Value) -> (u16, Value) {
    let r = api.send(method, path, &body).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn indicator(app: &TestApp, f: &Fixture, body: Value) -> i64 {
    let admin = app.api(&f.admin).await;
    let (s, created) = send(&admin, Method::POST, "/api/v1/indicators", body).await;
    assert_eq!(s, 201, "{created}");
    created["id"].as_i64().expect("indicator id")
}

/// Sessions counted per facility, and a ratio whose denominator (case reviews) is zero at
/// facilities that only held drills.
async fn catalogue(app: &TestApp, f: &Fixture) -> (i64, i64) {
    let sessions = indicator(
        app,
        f,
        json!({
            "code": "X-SESSIONS", "name": "+Sessions held", "definition": "Sessions in the quarter.",
            "numerator": "sessions", "unit": "count", "data_source": "Mentorship sessions",
            "frequency": "quarterly", "disaggregations": ["district", "facility"], "target": 5.0,
        }),
    )
    .await;
    let ratio = indicator(
        app,
        f,
        json!({
            "code": "X-RATIO", "name": "Sessions per case review", "definition": "Sessions over case reviews.",
            "numerator": "sessions", "denominator": "sessions where type = case_review", "unit": "ratio",
            "data_source": "Mentorship sessions", "frequency": "quarterly", "disaggregations": ["facility"],
        }),
    )
    .await;
    (sessions, ratio)
}

/// A session of the party's mentor without observations, with the given texts.
async fn plain_session(
    api: &Api,
    f: &mentortrack_tests::Party,
    topic: &str,
    notes: &str,
) -> String {
    let id = mentortrack::domain::scoring::new_uuid().expect("uuid");
    let (s, body) = send(
        api,
        Method::POST,
        "/api/v1/sessions",
        json!({
            "id": id, "facility_id": f.facility.id, "date": today(), "session_type": "case_review",
            "topic": topic, "duration_minutes": 20, "mentee_ids": [f.provider_id], "notes": notes,
        }),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    id
}

/// A's report for the current quarter written and submitted by A's org admin.
async fn submit(app: &TestApp, f: &Fixture, achievements: &str) {
    let admin = app.api(&f.a.org_admin).await;
    let base = report_path(f.a.org.id, &quarter());
    let (s, body) = send(
        &admin,
        Method::PUT,
        &format!("{base}/narrative"),
        json!({"revision": 0, "achievements": achievements, "challenges": "Fuel ran short.",
               "next_quarter_plan": "Extend to Rutsiro."}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = send(&admin, Method::POST, &format!("{base}/submit"), json!({})).await;
    assert_eq!(s, 200, "{body}");
}

async fn approve(app: &TestApp, f: &Fixture) -> Value {
    let manager = app.api(&f.manager).await;
    let base = report_path(f.a.org.id, &quarter());
    let (s, body) = send(
        &manager,
        Method::POST,
        &format!("{base}/approve"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    body
}

/// Checks the figure rows of an export against the report's JSON: one row per indicator and
/// breakdown, with the same numbers.
fn check_figure_rows(report: &Value, rows: &[HashMap<String, String>]) {
    let mut expected = 0;
    for fig in report["figures"].as_array().expect("figures") {
        let code = fig["code"].as_str().unwrap();
        let mine: Vec<&HashMap<String, String>> = rows
            .iter()
            .filter(|r| r["indicator_code"] == code)
            .collect();
        let total: Vec<_> = mine
            .iter()
            .filter(|r| r["disaggregation"] == "total")
            .collect();
        assert_eq!(total.len(), 1, "{code}: one total row");
        let t = total[0];
        assert!(
            close(number(&t["numerator"]), fig["total"]["numerator"].as_f64()),
            "{code}"
        );
        assert!(
            close(
                number(&t["denominator"]),
                fig["total"]["denominator"].as_f64()
            ),
            "{code}"
        );
        assert!(
            close(number(&t["value"]), fig["total"]["value"].as_f64()),
            "{code}"
        );
        assert!(
            close(
                number(&t["previous_quarter_value"]),
                fig["previous"]["value"].as_f64()
            ),
            "{code}"
        );
        assert!(
            close(number(&t["target"]), fig["target"].as_f64()),
            "{code}"
        );
        assert_eq!(t["unit"], fig["unit"].as_str().unwrap());
        expected += 1;
        let mut parts = vec![
            ("district", &fig["by_district"]),
            ("facility", &fig["by_facility"]),
        ];
        for (d, p) in fig["other"].as_object().unwrap() {
            parts.push((d.as_str(), p));
        }
        for (dimension, list) in parts {
            for b in list.as_array().unwrap() {
                let key = b["key"].as_str().unwrap();
                let row = mine
                    .iter()
                    .find(|r| r["disaggregation"] == dimension && r["breakdown_key"] == key)
                    .unwrap_or_else(|| panic!("{code}: no {dimension} row for {key}"));
                assert_eq!(row["breakdown"], b["label"].as_str().unwrap());
                assert!(close(
                    number(&row["numerator"]),
                    b["figure"]["numerator"].as_f64()
                ));
                assert!(close(number(&row["value"]), b["figure"]["value"].as_f64()));
                assert_eq!(row["previous_quarter_value"], "", "previous only on totals");
                expected += 1;
            }
        }
    }
    assert_eq!(rows.len(), expected, "no row more than the figures");
}

async fn dhis2_audit(app: &TestApp, entity: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT action FROM audit_log WHERE entity = $1 ORDER BY id")
        .bind(entity)
        .fetch_all(app.db.pool())
        .await
        .expect("audit")
}

engine_tests! {
    async fn report_csv_and_xlsx_hold_the_reports_figures(app) {
        let f = app.seed_with_sessions().await;
        catalogue(&app, &f).await;
        // A second drill at A's facility: the independent count is 2.
        app.log_session(&f.a).await;
        let q = quarter();
        let manager = app.api(&f.manager).await;
        let report: Value = manager.get(&report_path(f.a.org.id, &q)).await.json().await.unwrap();

        let csv = api_file(&manager, &format!("{}/export.csv", report_path(f.a.org.id, &q))).await;
        assert_eq!(csv.status, 200);
        assert_eq!(csv.content_type, "text/csv; charset=utf-8");
        assert_eq!(csv.disposition, format!("attachment; filename=\"RAM-{q}-report.csv\""));
        let (header, rows) = csv_rows(&csv.bytes);
        assert_eq!(&header[..5], ["quarter", "organisation_code", "organisation", "indicator_code", "indicator"]);
        check_figure_rows(&report, &rows);
        // The independent count, at the total and at A's facility; the target on the total.
        let total = rows.iter().find(|r| r["indicator_code"] == "X-SESSIONS" && r["disaggregation"] == "total").unwrap();
        assert_eq!(total["numerator"], "2");
        assert_eq!(total["value"], "2");
        assert_eq!(total["target"], "5");
        assert_eq!(total["report_status"], "not_started");
        assert_eq!(total["figures_source"], "live");
        assert_eq!(total["organisation"], "Rwanda Association of Midwives");
        let at_a = rows.iter().find(|r| r["indicator_code"] == "X-SESSIONS" && r["disaggregation"] == "facility").unwrap();
        assert_eq!(at_a["breakdown_key"], f.a.facility.id.to_string());
        assert_eq!(at_a["value"], "2");
        // A user-written name starting with `+` is text, not a formula.
        assert_eq!(total["indicator"], "'+Sessions held");
        // Zero case reviews: no value, numerator kept.
        let ratio = rows.iter().find(|r| r["indicator_code"] == "X-RATIO" && r["disaggregation"] == "total").unwrap();
        assert_eq!((ratio["numerator"].as_str(), ratio["denominator"].as_str(), ratio["value"].as_str()), ("2", "0", ""));

        let xlsx = api_file(&manager, &format!("{}/export.xlsx", report_path(f.a.org.id, &q))).await;
        assert_eq!(xlsx.status, 200);
        assert_eq!(xlsx.content_type, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
        assert_eq!(xlsx.disposition, format!("attachment; filename=\"RAM-{q}-report.xlsx\""));
        assert_eq!(workbook(&xlsx.bytes).sheet_names(), ["Figures", "Narrative"]);
        let (xheader, xrows) = sheet(&xlsx.bytes, "Figures");
        assert_eq!(xheader, header, "the sheet has the CSV's columns");
        assert_eq!(xrows.len(), rows.len(), "and its rows");
        let xtotal = xrows.iter().find(|r| r["indicator_code"] == Data::String("X-SESSIONS".into())
            && r["disaggregation"] == Data::String("total".into())).unwrap();
        assert_eq!(xtotal["numerator"], Data::Float(2.0), "numbers are numbers");
        assert_eq!(xtotal["target"], Data::Float(5.0));
        assert_eq!(xtotal["indicator"], Data::String("+Sessions held".into()), "text stays text, unprefixed");
        // Every number of the sheet is the CSV's.
        for (x, c) in xrows.iter().zip(&rows) {
            for column in ["numerator", "denominator", "value", "previous_quarter_value", "target"] {
                let xv = match &x[column] { Data::Float(v) => Some(*v), Data::Int(v) => Some(*v as f64), _ => None };
                assert!(close(xv, number(&c[column])), "{column}: {:?} vs {}", x[column], c[column]);
            }
        }
        let (_, narrative) = sheet(&xlsx.bytes, "Narrative");
        let field = |name: &str| narrative.iter().find(|r| r["field"] == Data::String(name.into())).map(|r| r["value"].clone());
        assert_eq!(field("status"), Some(Data::String("not_started".into())));
        assert_eq!(field("organisation_code"), Some(Data::String("RAM".into())));

        // After approval, the exports say so and keep the frozen figures when data change.
        submit(&app, &f, "Drills at every facility").await;
        approve(&app, &f).await;
        app.log_session(&f.a).await;
        let csv = api_file(&manager, &format!("{}/export.csv", report_path(f.a.org.id, &q))).await;
        let (_, rows) = csv_rows(&csv.bytes);
        let total = rows.iter().find(|r| r["indicator_code"] == "X-SESSIONS" && r["disaggregation"] == "total").unwrap();
        assert_eq!(total["value"], "2", "frozen at approval");
        assert_eq!(total["report_status"], "approved");
        assert_eq!(total["figures_source"], "approved");
        assert_eq!(total["changed_since_approval"], "true");
        assert_eq!(total["approved_by"], "manager");
        assert!(!total["approved_at"].is_empty());
        let xlsx = api_file(&manager, &format!("{}/export.xlsx", report_path(f.a.org.id, &q))).await;
        let (_, narrative) = sheet(&xlsx.bytes, "Narrative");
        let field = |name: &str| narrative.iter().find(|r| r["field"] == Data::String(name.into())).map(|r| r["value"].clone());
        assert_eq!(field("achievements"), Some(Data::String("Drills at every facility".into())));
        assert_eq!(field("changed_since_approval"), Some(Data::Bool(true)));

        // The same files under the browser session, linked from the report page.
        let web = app.sign_in(&f.manager).await;
        let (s, page) = web.html(&format!("/reports/{}/{q}", f.a.org.id)).await;
        assert_eq!(s, 200);
        let link = |id: &str| {
            let sel = scraper::Selector::parse(&format!("a#{id}")).unwrap();
            page.select(&sel).next().and_then(|a| a.value().attr("href")).map(str::to_string)
        };
        assert_eq!(link("export-csv"), Some(format!("/reports/{}/{q}/export.csv", f.a.org.id)));
        assert_eq!(link("export-xlsx"), Some(format!("/reports/{}/{q}/export.xlsx", f.a.org.id)));
        assert_eq!(link("export-dhis2"), Some(format!("/reports/{}/{q}/dhis2", f.a.org.id)));
        let from_page = file(web.get(&link("export-csv").unwrap()).await).await;
        assert_eq!(from_page.status, 200);
        assert_eq!(from_page.bytes, csv.bytes, "the page's download is the API's");
        let from_page = file(web.get(&link("export-xlsx").unwrap()).await).await;
        assert_eq!(from_page.status, 200);
        assert_eq!(sheet(&from_page.bytes, "Figures").1.len(), rows.len());
    }

    async fn user_text_never_becomes_a_formula(app) {
        let f = app.seed_with_sessions().await;
        let mentor = app.api(&f.a.mentor).await;
        let id = plain_session(&mentor, &f.a, "=HYPERLINK(\"http://evil.example\",\"x\")", "@SUM(A1:A9)").await;
        let other = plain_session(&mentor, &f.a, "-2+3", "+250 788 000 000").await;
        submit(&app, &f, "=1+1 drills").await;

        let csv = api_file(&mentor, "/api/v1/sessions/export.csv").await;
        assert_eq!(csv.status, 200);
        let (_, rows) = csv_rows(&csv.bytes);
        let row = rows.iter().find(|r| r["session_id"] == id).expect("the session's row");
        assert_eq!(row["topic"], "'=HYPERLINK(\"http://evil.example\",\"x\")");
        assert_eq!(row["notes"], "'@SUM(A1:A9)");
        let row = rows.iter().find(|r| r["session_id"] == other).expect("the other's row");
        assert_eq!(row["topic"], "'-2+3");
        assert_eq!(row["notes"], "'+250 788 000 000");
        // Numbers are not prefixed, negative or not.
        assert_eq!(row["duration_minutes"], "20");

        let xlsx = api_file(&mentor, "/api/v1/sessions/export.xlsx").await;
        let mut wb = workbook(&xlsx.bytes);
        let formulas = wb.worksheet_formula("Sessions").expect("formulas");
        assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()), "no cell holds a formula");
        let (_, xrows) = sheet(&xlsx.bytes, "Sessions");
        let row = xrows.iter().find(|r| r["session_id"] == Data::String(id.clone())).unwrap();
        assert_eq!(row["topic"], Data::String("=HYPERLINK(\"http://evil.example\",\"x\")".into()));

        let report = api_file(&mentor, &format!("{}/export.xlsx", report_path(f.a.org.id, &quarter()))).await;
        assert_eq!(report.status, 200);
        let mut wb = workbook(&report.bytes);
        for name in ["Figures", "Narrative"] {
            let formulas = wb.worksheet_formula(name).expect("formulas");
            assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()), "{name} holds a formula");
        }
        let (_, narrative) = sheet(&report.bytes, "Narrative");
        assert!(narrative.iter().any(|r| r["value"] == Data::String("=1+1 drills".into())));
    }

    async fn raw_exports_hold_what_the_reader_may_see(app) {
        let f = app.seed_with_sessions().await;
        let mentor_b = app.api(&f.b.mentor).await;
        plain_session(&mentor_b, &f.b, "B's case review", "").await;
        let q = quarter();

        // Another partner's report is not found, whatever the format.
        let a_admin = app.api(&f.a.org_admin).await;
        for tail in ["export.csv", "export.xlsx", "dhis2", "dhis2/gaps"] {
            let r = api_file(&a_admin, &format!("{}/{tail}", report_path(f.b.org.id, &q))).await;
            assert_eq!(r.status, 404, "{tail}");
        }
        let r = api_file(&a_admin, &format!("{}/export.csv", report_path(f.a.org.id, "2026Q9"))).await;
        assert_eq!(r.status, 422, "a malformed quarter names the field");
        assert_eq!(fields(&json_of(&r)), ["quarter"]);

        // A's mentor: exactly A's sessions, counted independently in the database.
        let mentor = app.api(&f.a.mentor).await;
        let expected: BTreeSet<String> = sqlx::query_scalar(
            "SELECT id FROM sessions WHERE organisation_id = $1 AND status = 'recorded'")
            .bind(f.a.org.id).fetch_all(app.db.pool()).await.unwrap().into_iter().collect();
        let all: BTreeSet<String> = sqlx::query_scalar("SELECT id FROM sessions WHERE status = 'recorded'")
            .fetch_all(app.db.pool()).await.unwrap().into_iter().collect();
        assert!(all.len() > expected.len());
        let csv = api_file(&mentor, "/api/v1/sessions/export.csv").await;
        assert_eq!(csv.status, 200);
        assert!(csv.disposition.starts_with("attachment; filename=\"RAM-sessions-"), "{}", csv.disposition);
        let (_, rows) = csv_rows(&csv.bytes);
        let ids: BTreeSet<String> = rows.iter().map(|r| r["session_id"].clone()).collect();
        assert_eq!(ids, expected);
        assert!(rows.iter().all(|r| r["organisation_code"] == "RAM"));
        // Asking for B's is an empty export, not B's records.
        let csv = api_file(&mentor, &format!("/api/v1/sessions/export.csv?organisation_id={}", f.b.org.id)).await;
        assert_eq!(csv_rows(&csv.bytes).1.len(), 0);
        // The manager sees both partners'.
        let manager = app.api(&f.manager).await;
        let csv = api_file(&manager, "/api/v1/sessions/export.csv").await;
        let ids: BTreeSet<String> = csv_rows(&csv.bytes).1.iter().map(|r| r["session_id"].clone()).collect();
        assert_eq!(ids, all);
        // Filters are the list's: a bad date is 422 naming it, a facility narrows.
        let r = api_file(&manager, "/api/v1/sessions/export.csv?from=yesterday").await;
        assert_eq!(r.status, 422);
        assert_eq!(fields(&json_of(&r)), ["from"]);
        let csv = api_file(&manager, &format!("/api/v1/sessions/export.xlsx?facility_id={}", f.b.facility.id)).await;
        let (_, xrows) = sheet(&csv.bytes, "Sessions");
        assert!(!xrows.is_empty());
        assert!(xrows.iter().all(|r| r["facility_id"] == Data::Float(f.b.facility.id as f64)));

        // One row per mentee and observation: the seeded session's scored observation.
        let session: Value = mentor.get(&format!("/api/v1/sessions/{}", f.a.session_id)).await.json().await.unwrap();
        let csv = api_file(&mentor, "/api/v1/sessions/export.csv").await;
        let (_, rows) = csv_rows(&csv.bytes);
        let mine: Vec<_> = rows.iter().filter(|r| r["session_id"] == f.a.session_id).collect();
        let observations = session["observation_list"].as_array().unwrap();
        assert_eq!(mine.len(), observations.len());
        let ob = &observations[0];
        let row = mine[0];
        assert_eq!(row["mentee_id"], f.a.provider_id.to_string());
        assert_eq!(row["observed"], "true");
        assert_eq!(row["checklist_id"], ob["checklist_id"].as_str().unwrap());
        assert_eq!(row["plugin_version_id"], f.a.plugin_version_id.to_string());
        assert_eq!(row["plugin_version"], ob["plugin_version"].as_str().unwrap());
        assert!(close(number(&row["score_percent"]), ob["card"]["percentage"].as_f64()));
        assert_eq!(row["outcome"], ob["card"]["outcome"]["code"].as_str().unwrap());
        assert_eq!(row["mentor"], session["mentor_name"].as_str().unwrap());
        // A session without observations: its mentee's row, unobserved.
        let plain = plain_session(&mentor, &f.a, "Case review", "").await;
        let csv = api_file(&mentor, "/api/v1/sessions/export.csv").await;
        let (_, rows) = csv_rows(&csv.bytes);
        let row = rows.iter().find(|r| r["session_id"] == plain).unwrap();
        assert_eq!((row["observed"].as_str(), row["checklist_id"].as_str(), row["mentee"].as_str()),
            ("false", "", "Provider of RAM"));

        // Trainings: one row per participant, as the training's own results say.
        let csv = api_file(&mentor, "/api/v1/trainings/export.csv").await;
        assert_eq!(csv.status, 200);
        let (_, rows) = csv_rows(&csv.bytes);
        let training: Value = mentor.get(&format!("/api/v1/trainings/{}", f.a.training_id)).await.json().await.unwrap();
        let ids: BTreeSet<&str> = rows.iter().map(|r| r["training_id"].as_str()).collect();
        assert_eq!(ids, BTreeSet::from([f.a.training_id.as_str()]));
        let participants = training["participant_list"].as_array().unwrap();
        assert_eq!(rows.len(), participants.len());
        let p = &participants[0];
        assert_eq!(rows[0]["participant_id"], p["provider_id"].to_string());
        assert_eq!(rows[0]["days_attended"], p["days_attended"].to_string());
        assert_eq!(rows[0]["pre_tested"], p["pre_tested"].to_string());
        assert_eq!(rows[0]["passed"], "", "no post-test, no verdict");
        let xlsx = api_file(&manager, "/api/v1/trainings/export.xlsx").await;
        assert_eq!(xlsx.status, 200);
        let (_, xrows) = sheet(&xlsx.bytes, "Trainings");
        let ids: BTreeSet<String> = xrows.iter().map(|r| r["training_id"].to_string()).collect();
        assert_eq!(ids, BTreeSet::from([f.a.training_id.clone(), f.b.training_id.clone()]));

        // The list pages link to the same downloads with their filters.
        let web = app.sign_in(&f.a.mentor).await;
        let (_, page) = web.html("/sessions?status=all").await;
        let sel = scraper::Selector::parse("#list-downloads a#export-csv").unwrap();
        let href = page.select(&sel).next().and_then(|a| a.value().attr("href")).unwrap().to_string();
        assert!(href.starts_with("/sessions/export.csv?") && href.contains("status=all"), "{href}");
        let from_page = file(web.get(&href).await).await;
        assert_eq!(from_page.status, 200);
        let ids: BTreeSet<String> = csv_rows(&from_page.bytes).1.iter().map(|r| r["session_id"].clone()).collect();
        assert!(ids.contains(&plain) && ids.iter().all(|i| expected.contains(i) || *i == plain));
        let (_, page) = web.html("/trainings").await;
        assert_eq!(texts(&page, "#list-downloads a").len(), 2);
        let r = file(web.get("/trainings/export.xlsx").await).await;
        assert_eq!(r.status, 200);
        assert_eq!(sheet(&r.bytes, "Trainings").1.len(), participants.len());
    }

    async fn dhis2_mapping_gaps_and_the_approved_figures(app) {
        let f = app.seed_with_sessions().await;
        let (sessions_id, ratio_id) = catalogue(&app, &f).await;
        app.log_session(&f.a).await;
        let q = quarter();
        let base = report_path(f.a.org.id, &q);
        let admin = app.api(&f.admin).await;
        let manager = app.api(&f.manager).await;
        let org_admin = app.api(&f.a.org_admin).await;

        // Not approved: no document, but the gaps, on the live figures.
        let r = api_file(&manager, &format!("{base}/dhis2")).await;
        assert_eq!(r.status, 409);
        assert!(json_of(&r)["error"]["message"].as_str().unwrap().contains("approved"));
        let gaps: Value = org_admin.get(&format!("{base}/dhis2/gaps")).await.json().await.unwrap();
        assert_eq!(gaps["exportable"], false);
        assert_eq!(gaps["complete"], false);
        assert_eq!(gaps["data_values"], 0);
        let unmapped: BTreeSet<&str> = gaps["unmapped_indicators"].as_array().unwrap().iter()
            .map(|g| g["code"].as_str().unwrap()).collect();
        assert!(unmapped.contains("X-SESSIONS") && unmapped.contains("X-RATIO"));
        assert_eq!(gaps["unmapped_facilities"][0]["org_unit_id"], f.a.facility.id);
        assert_eq!(gaps["unmapped_facilities"][0]["code"], "RW-KAR-H1");

        // The mapping: admins write, managers read, partners neither; UIDs are checked.
        let de = format!("/api/v1/dhis2/data-elements/{sessions_id}");
        let (s, body) = send(&admin, Method::PUT, &de, json!({"data_element": "12345678901"})).await;
        assert_eq!((s, fields(&body)), (422, vec!["data_element".to_string()]), "{body}");
        let (s, body) = send(&admin, Method::PUT, &de, json!({"data_element": "deSESSION01", "category_option_combo": "short"})).await;
        assert_eq!((s, fields(&body)), (422, vec!["category_option_combo".to_string()]), "{body}");
        let (s, body) = send(&admin, Method::PUT, &de, json!({})).await;
        assert_eq!((s, fields(&body)), (422, vec!["data_element".to_string()]), "{body}");
        let (s, _) = send(&manager, Method::PUT, &de, json!({"data_element": "deSESSION01"})).await;
        assert_eq!(s, 403);
        let (s, _) = send(&org_admin, Method::PUT, &de, json!({"data_element": "deSESSION01"})).await;
        assert_eq!(s, 403);
        assert_eq!(org_admin.get("/api/v1/dhis2/data-elements").await.status(), 403);
        let (s, body) = send(&admin, Method::PUT, "/api/v1/dhis2/data-elements/999999", json!({"data_element": "deSESSION01"})).await;
        assert_eq!(s, 404, "{body}");
        assert_eq!(app.count("dhis2_data_elements").await, 0, "nothing refused was written");
        let (s, body) = send(&admin, Method::PUT, &de, json!({"data_element": " deSESSION01 "})).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["data_element"], "deSESSION01");
        assert!(body["category_option_combo"].is_null());
        // The same data element and combo cannot feed a second indicator.
        let (s, body) = send(&admin, Method::PUT, &format!("/api/v1/dhis2/data-elements/{ratio_id}"),
            json!({"data_element": "deSESSION01"})).await;
        assert_eq!((s, fields(&body)), (422, vec!["data_element".to_string()]), "{body}");
        let (s, body) = send(&admin, Method::PUT, &format!("/api/v1/dhis2/data-elements/{ratio_id}"),
            json!({"data_element": "deSESSION01", "category_option_combo": "cocRatio001"})).await;
        assert_eq!(s, 200, "{body}");
        let listed: Value = manager.get("/api/v1/dhis2/data-elements").await.json().await.unwrap();
        let row = listed.as_array().unwrap().iter().find(|m| m["indicator_id"] == sessions_id).unwrap();
        assert_eq!(row["data_element"], "deSESSION01");

        let ou = format!("/api/v1/dhis2/org-units/{}", f.a.facility.id);
        let (s, body) = send(&admin, Method::PUT, &ou, json!({"dhis2_uid": "ou-Kibuye01"})).await;
        assert_eq!((s, fields(&body)), (422, vec!["dhis2_uid".to_string()]), "{body}");
        let (s, body) = send(&admin, Method::PUT, &ou, json!({"dhis2_uid": "ouKibuye001"})).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["dhis2_uid"], "ouKibuye001");
        let (s, body) = send(&admin, Method::PUT, &format!("/api/v1/dhis2/org-units/{}", f.b.facility.id),
            json!({"dhis2_uid": "ouKibuye001"})).await;
        assert_eq!((s, fields(&body)), (422, vec!["dhis2_uid".to_string()]), "one UID, one org unit: {body}");
        let page: Value = manager.get("/api/v1/dhis2/org-units?mapped=true").await.json().await.unwrap();
        assert_eq!(page["total"], 1);
        assert_eq!(page["items"][0]["org_unit_id"], f.a.facility.id);
        let page: Value = manager.get("/api/v1/dhis2/org-units?level=facility&mapped=false").await.json().await.unwrap();
        assert_eq!(page["total"], 2);
        let r = manager.get("/api/v1/dhis2/org-units?level=ward").await;
        assert_eq!(r.status(), 422);
        assert_eq!(dhis2_audit(&app, "dhis2_data_element").await, ["create", "create"]);
        assert_eq!(dhis2_audit(&app, "dhis2_org_unit").await, ["create"]);

        // Approved: the document holds the frozen value at A's facility; the ratio, without a
        // value there, is listed instead of sent.
        submit(&app, &f, "Drills").await;
        let approved = approve(&app, &f).await;
        let key_a = f.a.facility.id.to_string();
        let frozen_at_a = approved["figures"].as_array().unwrap().iter()
            .find(|i| i["code"] == "X-SESSIONS").unwrap()["by_facility"].as_array().unwrap().iter()
            .find(|b| b["key"].as_str() == Some(key_a.as_str())).unwrap()["figure"]["value"].as_f64().unwrap();
        assert_eq!(frozen_at_a, 2.0, "two sessions were logged at A's facility");
        app.log_session(&f.a).await;
        let r = api_file(&manager, &format!("{base}/dhis2")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.content_type, "application/json");
        assert_eq!(r.disposition, format!("attachment; filename=\"RAM-{q}-dhis2.json\""));
        let doc = json_of(&r);
        assert_eq!(doc, json!({
            "period": q,
            "dataValues": [{"dataElement": "deSESSION01", "period": q, "orgUnit": "ouKibuye001", "value": "2"}],
        }), "the value frozen at approval, not today's 3");
        let live: Value = manager.get(&base).await.json().await.unwrap();
        assert_eq!(live["changed_since_approval"], true);
        let gaps: Value = manager.get(&format!("{base}/dhis2/gaps")).await.json().await.unwrap();
        assert_eq!(gaps["exportable"], true);
        assert_eq!(gaps["data_values"], 1);
        assert_eq!(gaps["missing_values"], json!([{"indicator_code": "X-RATIO", "org_unit_id": f.a.facility.id,
            "facility": "Kibuye Referral Hospital"}]));
        let unmapped: BTreeSet<&str> = gaps["unmapped_indicators"].as_array().unwrap().iter()
            .map(|g| g["code"].as_str().unwrap()).collect();
        assert!(!unmapped.contains("X-SESSIONS") && !unmapped.contains("X-RATIO"));
        assert_eq!(gaps["unmapped_facilities"], json!([]));
        // A data set named by the caller, checked like any UID.
        let r = api_file(&manager, &format!("{base}/dhis2?data_set=bad")).await;
        assert_eq!(r.status, 422);
        assert_eq!(fields(&json_of(&r)), ["data_set"]);
        let doc = json_of(&api_file(&manager, &format!("{base}/dhis2?data_set=dsQuarter01")).await);
        assert_eq!(doc["dataSet"], "dsQuarter01");

        // Unmapping is audited and shows up in the gaps at once.
        let r = admin.send(Method::DELETE, &ou, &json!({})).await;
        assert_eq!(r.status(), 204);
        let r = admin.send(Method::DELETE, &ou, &json!({})).await;
        assert_eq!(r.status(), 204, "unmapping what is not mapped changes nothing");
        assert_eq!(dhis2_audit(&app, "dhis2_org_unit").await, ["create", "delete"]);
        let doc = json_of(&api_file(&manager, &format!("{base}/dhis2")).await);
        assert_eq!(doc["dataValues"], json!([]));
        let gaps: Value = manager.get(&format!("{base}/dhis2/gaps")).await.json().await.unwrap();
        let listed: Vec<&str> = gaps["unmapped_facilities"][0]["indicators"].as_array().unwrap().iter()
            .map(|c| c.as_str().unwrap()).collect();
        assert!(listed.ends_with(&["X-SESSIONS", "X-RATIO"]), "{listed:?}");

        // The report page shows the gaps before the download.
        let web = app.sign_in(&f.manager).await;
        let (_, page) = web.html(&format!("/reports/{}/{q}", f.a.org.id)).await;
        assert_eq!(texts(&page, "#dhis2-value-count"), ["0"]);
        assert_eq!(texts(&page, "#dhis2-unmapped-facilities li").len(), 1);
        assert!(texts(&page, "#dhis2-unmapped-facilities li")[0].contains("Kibuye Referral Hospital"));
        assert_eq!(texts(&page, "#dhis2-missing-values li").len(), 0, "no value is missing where nothing is mapped");
        let r = file(web.get(&format!("/reports/{}/{q}/dhis2", f.a.org.id)).await).await;
        assert_eq!(r.status, 200);
        assert_eq!(json_of(&r)["period"], q);
    }

    async fn dhis2_mapping_page(app) {
        let f = app.seed().await;
        let admin = app.sign_in(&f.admin).await;
        let (s, page) = admin.html("/dhis2").await;
        assert_eq!(s, 200);
        assert!(!texts(&page, "#dhis2-data-elements .data-element-row").is_empty(), "the catalogue is listed");
        assert_eq!(texts(&page, "#dhis2-org-units .org-unit-row").len(), 3, "the facilities");
        let (_, home) = admin.html("/").await;
        assert_eq!(texts(&home, "#nav-dhis2").len(), 1);

        let form = format!("/dhis2/org-units/{}", f.a.facility.id);
        let r = admin.post(&form, &[("dhis2_uid", "1bad"), ("back_level", "facility")]).await;
        assert_eq!(r.status(), 422);
        let page = scraper::Html::parse_document(&r.text().await.unwrap());
        assert_eq!(texts(&page, &format!("#ou-{} .field-error[data-field=dhis2_uid]", f.a.facility.id)).len(), 1);
        assert_eq!(app.count("dhis2_org_units").await, 0);
        let r = admin.post(&form, &[("dhis2_uid", "ouKibuye001"), ("back_level", "facility")]).await;
        assert_eq!(r.status(), 303);
        let to = r.headers()["location"].to_str().unwrap().to_string();
        assert!(to.starts_with("/dhis2?") && to.ends_with(&format!("#ou-{}", f.a.facility.id)), "{to}");
        let (_, page) = admin.html(&to).await;
        assert_eq!(texts(&page, "#dhis2-saved").len(), 1);
        let sel = scraper::Selector::parse(&format!("#ou-{} input[name=dhis2_uid]", f.a.facility.id)).unwrap();
        assert_eq!(page.select(&sel).next().and_then(|i| i.value().attr("value")), Some("ouKibuye001"));

        // Managers read it without forms; partners do not see it.
        let manager = app.sign_in(&f.manager).await;
        let (s, page) = manager.html("/dhis2?mapped=yes").await;
        assert_eq!(s, 200);
        assert_eq!(texts(&page, ".org-unit-row .uid"), ["ouKibuye001"]);
        assert_eq!(texts(&page, "form.dhis2-form").len(), 0);
        assert_eq!(manager.post(&form, &[("dhis2_uid", "ouOther0001")]).await.status(), 403);
        let partner = app.sign_in(&f.a.org_admin).await;
        assert_eq!(partner.get("/dhis2").await.status(), 403);
        let (_, home) = partner.html("/").await;
        assert_eq!(texts(&home, "#nav-dhis2").len(), 0);
    }
}
