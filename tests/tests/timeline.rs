//! Following providers over time: the timeline API, the provider page with its scores chart
//! and current competency, the facility page with who is overdue, and the mentor's home.
//! Sessions are logged through the API on past dates, as a phone catching up would.

use chrono::{Duration, NaiveDate, Utc};
use mentortrack_tests::checklists::{Fill, fill_checklist, find};
use mentortrack_tests::{Api, Fixture, TestApp, engine_tests, texts};
use reqwest::Method;
use scraper::{Html, Selector};
use serde_json::{Value, json};

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn days_ago(n: i64) -> String {
    (today() - Duration::days(n)).format("%Y-%m-%d").to_string()
}

fn days_from_now(n: i64) -> String {
    (today() + Duration::days(n)).format("%Y-%m-%d").to_string()
}

/// What the scenario logged: session ids and the percentages the plugin returned for them.
struct Scenario {
    f: Fixture,
    /// Mentored 90, 60 and 10 days ago (newest first); a session 5 days ago was withdrawn.
    provider: i64,
    /// Last seen 40 days ago: overdue.
    overdue: i64,
    /// Never mentored.
    newcomer: i64,
    /// The provider's sessions, newest first: 10, 60 and 90 days ago.
    sessions: Vec<String>,
    withdrawn: String,
    overdue_session: String,
    /// AMTSL percentages as stored, oldest first (90, 60, 10 days ago).
    amtsl: Vec<f64>,
    /// The outcome code of the latest AMTSL drill.
    amtsl_latest_outcome: String,
    pph: f64,
    plugin_key: String,
}

async fn register(api: &Api, f: &Fixture, name: &str) -> i64 {
    let r = api
        .send(
            Method::POST,
            "/api/v1/providers",
            &json!({"facility_id": f.a.facility.id, "name": name, "cadre": "midwife"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

/// Logs a session; `observations` are (provider, checklist entry, fill).
async fn log(
    api: &Api,
    facility: i64,
    date: &str,
    topic: &str,
    mentees: &[i64],
    observations: &[(i64, &Value, Fill)],
) -> Value {
    let body = json!({
        "id": mentortrack::domain::scoring::new_uuid().unwrap(),
        "facility_id": facility,
        "date": date,
        "session_type": "skills_drill",
        "topic": topic,
        "duration_minutes": 60,
        "mentee_ids": mentees,
        "observations": observations.iter().map(|(provider, c, fill)| json!({
            "provider_id": provider,
            "plugin_version_id": c["plugin_version_id"],
            "checklist_id": c["checklist"]["id"],
            "responses": fill_checklist(c, *fill),
        })).collect::<Vec<_>>(),
    });
    let r = api.send(Method::POST, "/api/v1/sessions", &body).await;
    let status = r.status();
    let session: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{session}");
    session
}

fn percentage(session: &Value, n: usize) -> f64 {
    session["observation_list"][n]["card"]["percentage"]
        .as_f64()
        .unwrap_or_else(|| panic!("no percentage in {session}"))
}

fn id(session: &Value) -> String {
    session["id"].as_str().unwrap().to_string()
}

async fn scenario(app: &TestApp) -> Scenario {
    let f = app.seed_with_plugins().await;
    let api = app.api(&f.a.mentor).await;
    let list: Value = api.get("/api/v1/checklists").await.json().await.unwrap();
    let amtsl = find(&list, "amtsl").clone();
    let pph = find(&list, "pph").clone();
    let provider = f.a.provider_id;
    let overdue = register(&api, &f, "Uwase Overdue").await;
    let newcomer = register(&api, &f, "Ineza Newcomer").await;

    let s90 = log(
        &api,
        f.a.facility.id,
        &days_ago(90),
        "AMTSL and PPH",
        &[provider],
        &[
            (provider, &amtsl, Fill::Worst),
            (provider, &pph, Fill::Best),
        ],
    )
    .await;
    let s60 = log(
        &api,
        f.a.facility.id,
        &days_ago(60),
        "AMTSL again",
        &[provider],
        &[(provider, &amtsl, Fill::BestFirst(9))],
    )
    .await;
    let s10 = log(
        &api,
        f.a.facility.id,
        &days_ago(10),
        "AMTSL mastered",
        &[provider],
        &[(provider, &amtsl, Fill::Best)],
    )
    .await;
    let s5 = log(
        &api,
        f.a.facility.id,
        &days_ago(5),
        "Logged by mistake",
        &[provider],
        &[(provider, &amtsl, Fill::BestFirst(3))],
    )
    .await;
    let r = api
        .send(
            Method::POST,
            &format!("/api/v1/sessions/{}/withdraw", id(&s5)),
            &json!({"reason": "logged for the wrong provider"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let s40 = log(
        &api,
        f.a.facility.id,
        &days_ago(40),
        "Team drill",
        &[overdue],
        &[],
    )
    .await;

    let amtsl_percentages = vec![
        percentage(&s90, 0),
        percentage(&s60, 0),
        percentage(&s10, 0),
    ];
    // The fills give three distinct scores, so an order mistake cannot go unnoticed.
    assert_eq!(amtsl_percentages, [0.0, 60.0, 100.0]);
    Scenario {
        plugin_key: amtsl["plugin_key"].as_str().unwrap().to_string(),
        amtsl_latest_outcome: s10["observation_list"][0]["card"]["outcome"]["code"]
            .as_str()
            .unwrap()
            .to_string(),
        pph: percentage(&s90, 1),
        amtsl: amtsl_percentages,
        sessions: vec![id(&s10), id(&s60), id(&s90)],
        withdrawn: id(&s5),
        overdue_session: id(&s40),
        provider,
        overdue,
        newcomer,
        f,
    }
}

async fn timeline(api: &Api, provider: i64) -> (u16, Value) {
    let r = api
        .get(&format!("/api/v1/providers/{provider}/timeline"))
        .await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn attr(doc: &Html, css: &str, name: &str) -> Vec<String> {
    let sel = Selector::parse(css).unwrap();
    doc.select(&sel)
        .filter_map(|e| e.value().attr(name).map(str::to_string))
        .collect()
}

engine_tests! {
    async fn the_timeline_api_follows_a_provider(app) {
        let s = scenario(&app).await;
        let api = app.api(&s.f.a.mentor).await;
        let (status, t) = timeline(&api, s.provider).await;
        assert_eq!(status, 200, "{t}");
        assert_eq!(t["provider"]["id"], s.provider);

        // Newest first, the withdrawn session left out.
        let entries = t["entries"].as_array().unwrap();
        let ids: Vec<&str> = entries.iter().map(|e| e["session_id"].as_str().unwrap()).collect();
        assert_eq!(ids, s.sessions.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(!ids.contains(&s.withdrawn.as_str()));
        let dates: Vec<&str> = entries.iter().map(|e| e["date"].as_str().unwrap()).collect();
        assert_eq!(dates, [days_ago(10), days_ago(60), days_ago(90)]);
        assert_eq!(entries[0]["kind"], "session");
        assert_eq!(entries[0]["topic"], "AMTSL mastered");
        assert_eq!(entries[0]["session_type"], "skills_drill");
        assert_eq!(entries[0]["facility_id"], s.f.a.facility.id);
        assert_eq!(entries[0]["mentor_id"], s.f.a.mentor_id);
        // The oldest session scored two checklists for this provider.
        let oldest: Vec<&str> = entries[2]["observations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["checklist_id"].as_str().unwrap())
            .collect();
        assert_eq!(oldest, ["amtsl", "pph"]);
        assert_eq!(entries[2]["observations"][0]["percentage"], 0.0);
        assert!(entries[2]["observations"][0]["outcome_label"]["default"].is_string());

        // One series per checklist, oldest first, with the stored percentages.
        let series = t["checklists"].as_array().unwrap();
        let keys: Vec<(&str, &str)> = series
            .iter()
            .map(|c| (c["plugin_key"].as_str().unwrap(), c["checklist_id"].as_str().unwrap()))
            .collect();
        assert_eq!(keys, [(s.plugin_key.as_str(), "amtsl"), (s.plugin_key.as_str(), "pph")]);
        let amtsl = &series[0];
        let points: Vec<(String, f64)> = amtsl["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["date"].as_str().unwrap().to_string(), p["percentage"].as_f64().unwrap()))
            .collect();
        assert_eq!(
            points,
            [
                (days_ago(90), s.amtsl[0]),
                (days_ago(60), s.amtsl[1]),
                (days_ago(10), s.amtsl[2]),
            ]
        );
        let stored: Vec<f64> = sqlx::query_scalar(
            "SELECT ob.percentage FROM observations ob JOIN sessions s ON s.id = ob.session_id
             WHERE ob.provider_id = $1 AND ob.checklist_id = 'amtsl' AND s.status = 'recorded'
             ORDER BY ob.observed_on",
        )
        .bind(s.provider)
        .fetch_all(app.db.pool())
        .await
        .unwrap();
        assert_eq!(stored, s.amtsl);
        // Current competency is the latest result.
        assert_eq!(amtsl["current"]["date"], days_ago(10));
        assert_eq!(amtsl["current"]["percentage"], 100.0);
        assert_eq!(amtsl["current"]["outcome_code"], s.amtsl_latest_outcome.as_str());
        assert_eq!(series[1]["current"]["percentage"], s.pph);
        assert_eq!(series[1]["points"].as_array().unwrap().len(), 1);

        // Next due: the last recorded session (10 days ago, not the withdrawn one) + 30 days.
        assert_eq!(t["interval_days"], 30);
        assert_eq!(t["due"]["last_session_date"], days_ago(10));
        assert_eq!(t["due"]["next_due"], days_from_now(20));
        assert_eq!(t["due"]["overdue"], false);
        assert_eq!(t["due"]["status"], "upcoming");

        // Seen 40 days ago: ten days overdue.
        let (_, late) = timeline(&api, s.overdue).await;
        assert_eq!(late["entries"][0]["session_id"], s.overdue_session.as_str());
        assert_eq!(late["entries"][0]["observations"], json!([]));
        assert_eq!(late["checklists"], json!([]));
        assert_eq!(late["due"]["last_session_date"], days_ago(40));
        assert_eq!(late["due"]["next_due"], days_ago(10));
        assert_eq!(late["due"]["overdue"], true);
        assert_eq!(late["due"]["days_overdue"], 10);

        let (_, new) = timeline(&api, s.newcomer).await;
        assert_eq!(new["entries"], json!([]));
        assert_eq!(new["due"]["never_mentored"], true);
        assert_eq!(new["due"]["next_due"], Value::Null);
        assert_eq!(new["due"]["status"], "never");
    }

    async fn timelines_stay_within_the_organisation(app) {
        let s = scenario(&app).await;
        // Another partner's provider, and a provider that does not exist, are both 404.
        let a = app.api(&s.f.a.mentor).await;
        let (status, body) = timeline(&a, s.f.b.provider_id).await;
        assert_eq!(status, 404);
        assert_eq!(body["error"]["code"], "not_found");
        assert_eq!(timeline(&a, 999_999).await.0, 404);
        let b = app.api(&s.f.b.mentor).await;
        assert_eq!(timeline(&b, s.provider).await.0, 404);
        let b_admin = app.api(&s.f.b.org_admin).await;
        assert_eq!(timeline(&b_admin, s.provider).await.0, 404);
        // Project management reads every partner's.
        let manager = app.api(&s.f.manager).await;
        let (status, t) = timeline(&manager, s.provider).await;
        assert_eq!(status, 200);
        assert_eq!(t["entries"].as_array().unwrap().len(), 3);
        // Anonymous callers get nothing.
        let anonymous = app
            .client()
            .get(app.at(&format!("/api/v1/providers/{}/timeline", s.provider)))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 401);
        // And so does the page.
        let web = app.sign_in(&s.f.b.mentor).await;
        assert_eq!(web.get(&format!("/providers/{}", s.provider)).await.status(), 404);
        // The timeline is in the OpenAPI document.
        let doc: Value = app
            .client()
            .get(app.at("/api/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(doc["paths"]["/api/v1/providers/{id}/timeline"]["get"].is_object());
        assert!(doc["components"]["schemas"]["ProviderTimeline"].is_object());
    }

    async fn the_provider_page_shows_timeline_chart_and_competency(app) {
        let s = scenario(&app).await;
        let web = app.sign_in(&s.f.a.mentor).await;
        let (status, page) = web.html(&format!("/providers/{}", s.provider)).await;
        assert_eq!(status, 200);
        assert_eq!(
            attr(&page, "#timeline .timeline-entry[data-session-id]", "data-session-id"),
            s.sessions
        );
        let links = attr(&page, "#timeline .timeline-entry a", "href");
        assert_eq!(links[0], format!("/sessions/{}", s.sessions[0]));
        // One point per scored checklist: three AMTSL drills and one PPH drill.
        assert_eq!(page.select(&Selector::parse("svg.score-chart").unwrap()).count(), 1);
        assert_eq!(
            attr(&page, "svg.score-chart circle.point", "data-percent"),
            ["0", "60", "100", &chart_percent(s.pph)]
        );
        assert_eq!(
            attr(&page, "svg.score-chart circle.point", "data-date"),
            [days_ago(90), days_ago(60), days_ago(10), days_ago(90)]
        );
        assert_eq!(attr(&page, "svg.score-chart", "role"), ["img"]);
        assert_eq!(
            attr(&page, "#competency tr[data-checklist]", "data-checklist"),
            [format!("{}/amtsl", s.plugin_key), format!("{}/pph", s.plugin_key)]
        );
        assert_eq!(
            attr(&page, "#competency tr[data-checklist]", "data-date"),
            [days_ago(10), days_ago(90)]
        );
        assert_eq!(texts(&page, "#competency tr[data-checklist] .percent")[0], "100 %");
        assert_eq!(attr(&page, "#next-due", "data-status"), ["upcoming"]);
        assert_eq!(attr(&page, "#next-due", "data-next-due"), [days_from_now(20)]);
        assert_eq!(texts(&page, "#next-due .last-session"), [days_ago(10)]);
        assert_eq!(
            attr(&page, "#log-session", "href"),
            [format!("/sessions/new?facility_id={}", s.f.a.facility.id)]
        );

        // The overdue provider's page says so; a newcomer's says never mentored and draws no chart.
        let (_, late) = web.html(&format!("/providers/{}", s.overdue)).await;
        assert_eq!(attr(&late, "#next-due", "data-status"), ["overdue"]);
        assert!(texts(&late, "#next-due .next-due")[0].contains("Overdue (10 days)"));
        let (_, new) = web.html(&format!("/providers/{}", s.newcomer)).await;
        assert_eq!(attr(&new, "#next-due", "data-status"), ["never"]);
        assert_eq!(texts(&new, "#next-due .last-session"), ["Never mentored"]);
        assert_eq!(new.select(&Selector::parse("svg.score-chart").unwrap()).count(), 0);
        assert_eq!(new.select(&Selector::parse(".timeline-entry").unwrap()).count(), 0);
        assert_eq!(new.select(&Selector::parse("#competency").unwrap()).count(), 0);

        // A manager reads the page but may not log a session there.
        let manager = app.sign_in(&s.f.manager).await;
        let (status, page) = manager.html(&format!("/providers/{}", s.provider)).await;
        assert_eq!(status, 200);
        assert_eq!(page.select(&Selector::parse("#log-session").unwrap()).count(), 0);
        assert_eq!(
            attr(&page, "#timeline .timeline-entry[data-session-id]", "data-session-id").len(),
            3
        );
    }

    async fn the_facility_page_and_mentor_home_list_who_is_overdue(app) {
        let s = scenario(&app).await;
        let web = app.sign_in(&s.f.a.mentor).await;
        let (status, page) = web.html(&format!("/facilities/{}", s.f.a.facility.id)).await;
        assert_eq!(status, 200);
        // Overdue first, then never mentored; the provider seen 10 days ago is not listed.
        assert_eq!(
            attr(&page, "#overdue li[data-provider-id]", "data-provider-id"),
            [s.overdue.to_string(), s.newcomer.to_string()]
        );
        assert_eq!(
            attr(&page, "#overdue li[data-provider-id]", "data-status"),
            ["overdue", "never"]
        );
        let mut listed = attr(&page, "#facility-providers li[data-provider-id]", "data-provider-id");
        listed.sort();
        let mut expected = vec![s.provider.to_string(), s.overdue.to_string(), s.newcomer.to_string()];
        expected.sort();
        assert_eq!(listed, expected);
        assert_eq!(
            attr(&page, "#log-session", "href"),
            [format!("/sessions/new?facility_id={}", s.f.a.facility.id)]
        );

        // Sessions this quarter, and in the quarter of the oldest session: the recorded ones
        // whose date falls in it, newest first.
        let recorded = [
            (days_ago(10), s.sessions[0].clone()),
            (days_ago(40), s.overdue_session.clone()),
            (days_ago(60), s.sessions[1].clone()),
            (days_ago(90), s.sessions[2].clone()),
        ];
        let in_quarter = |quarter: &str| -> Vec<String> {
            let (first, last) = quarter_bounds(quarter);
            recorded
                .iter()
                .filter(|(d, _)| *d >= first && *d <= last)
                .map(|(_, id)| id.clone())
                .collect()
        };
        let current = quarter_of(&days_ago(0));
        let expected = in_quarter(&current);
        assert_eq!(attr(&page, "#quarter-sessions", "data-quarter"), [current]);
        assert_eq!(texts(&page, "#sessions-count"), [expected.len().to_string()]);
        assert_eq!(
            attr(&page, "#sessions-this-quarter li[data-session-id]", "data-session-id"),
            expected
        );
        let oldest = quarter_of(&days_ago(90));
        let (_, earlier) = web
            .html(&format!("/facilities/{}?quarter={oldest}", s.f.a.facility.id))
            .await;
        let expected = in_quarter(&oldest);
        assert!(expected.contains(&s.sessions[2]));
        assert_eq!(
            attr(&earlier, "#sessions-this-quarter li[data-session-id]", "data-session-id"),
            expected
        );
        assert_eq!(texts(&earlier, "#sessions-count"), [expected.len().to_string()]);

        // A manager narrowed to partner B sees none of A's providers there.
        let manager = app.sign_in(&s.f.manager).await;
        let (_, all) = manager.html(&format!("/facilities/{}", s.f.a.facility.id)).await;
        assert_eq!(attr(&all, "#facility-providers li[data-provider-id]", "data-provider-id").len(), 3);
        assert_eq!(all.select(&Selector::parse("#log-session").unwrap()).count(), 0);
        let (_, only_b) = manager
            .html(&format!("/facilities/{}?organisation_id={}", s.f.a.facility.id, s.f.b.org.id))
            .await;
        assert!(attr(&only_b, "#facility-providers li[data-provider-id]", "data-provider-id").is_empty());
        assert!(attr(&only_b, "#sessions-this-quarter li[data-session-id]", "data-session-id").is_empty());
        // Partner B's mentor sees none of A's providers or sessions at A's facility.
        let b = app.sign_in(&s.f.b.mentor).await;
        let (_, at_a) = b.html(&format!("/facilities/{}", s.f.a.facility.id)).await;
        assert!(attr(&at_a, "#facility-providers li[data-provider-id]", "data-provider-id").is_empty());
        assert!(attr(&at_a, "#overdue li[data-provider-id]", "data-provider-id").is_empty());
        assert!(attr(&at_a, "#sessions-this-quarter li[data-session-id]", "data-session-id").is_empty());

        // The mentor's home: follow-ups (overdue, then never mentored) and recent sessions.
        let (_, home) = web.html("/").await;
        assert_eq!(
            attr(&home, "#overdue li[data-provider-id]", "data-provider-id"),
            [s.overdue.to_string(), s.newcomer.to_string()]
        );
        assert_eq!(
            attr(&home, "#overdue li[data-provider-id]", "data-status"),
            ["overdue", "never"]
        );
        assert!(
            attr(&home, "#overdue a.log-session", "href")
                .iter()
                .all(|h| *h == format!("/sessions/new?facility_id={}", s.f.a.facility.id))
        );
        assert_eq!(
            attr(&home, "#recent-sessions li[data-session-id]", "data-session-id"),
            [
                s.sessions[0].clone(),
                s.overdue_session.clone(),
                s.sessions[1].clone(),
                s.sessions[2].clone(),
            ]
        );
        assert_eq!(
            attr(&home, "#recent-sessions a", "href")[0],
            format!("/sessions/{}", s.sessions[0])
        );
        // B's mentor is told about B's own never-mentored provider only.
        let (_, b_home) = b.html("/").await;
        assert_eq!(
            attr(&b_home, "#overdue li[data-provider-id]", "data-provider-id"),
            [s.f.b.provider_id.to_string()]
        );
        assert!(attr(&b_home, "#recent-sessions li[data-session-id]", "data-session-id").is_empty());
    }

    async fn trainings_join_the_timeline_but_not_the_due_date(app) {
        let f = app.seed_with_plugins().await;
        let mentor = app.api(&f.b.mentor).await;
        let list: Value = mentor.get("/api/v1/checklists").await.json().await.unwrap();
        let knowledge = find(&list, "knowledge-check").clone();
        let test = |correct: usize| {
            json!({
                "plugin_version_id": knowledge["plugin_version_id"],
                "checklist_id": "knowledge-check",
                "responses": fill_checklist(&knowledge, Fill::BestFirst(correct)),
            })
        };
        let training_id = mentortrack::domain::scoring::new_uuid().unwrap();
        let r = mentor
            .send(
                Method::POST,
                "/api/v1/trainings",
                &json!({
                    "id": training_id,
                    "title": "HBB refresher",
                    "start_date": days_ago(20),
                    "end_date": days_ago(18),
                    "venue": "Karongi district office",
                    "facilitators": "Dr Uwase",
                    "participants": [{
                        "provider_id": f.b.provider_id,
                        "attendance": [days_ago(20), days_ago(19), days_ago(18)],
                        "pre_test": test(9),
                        "post_test": test(16),
                    }],
                }),
            )
            .await;
        let status = r.status();
        let training: Value = r.json().await.unwrap();
        assert_eq!(status, 201, "{training}");
        let stored: Vec<(String, String, f64)> = training["observation_list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["phase"].as_str().unwrap().to_string(),
                    o["observed_on"].as_str().unwrap().to_string(),
                    o["card"]["percentage"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(stored.len(), 2);
        // A session 30 days ago: the next one is due today, whatever the training.
        let session = log(&mentor, f.b.facility.id, &days_ago(30), "HBB practice", &[f.b.provider_id], &[]).await;

        let (status, t) = timeline(&mentor, f.b.provider_id).await;
        assert_eq!(status, 200, "{t}");
        let entries = t["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0]["kind"], "training");
        assert_eq!(entries[0]["training_id"], training_id.as_str());
        assert_eq!(entries[0]["session_id"], Value::Null);
        assert_eq!(entries[0]["date"], days_ago(20));
        assert_eq!(entries[0]["end_date"], days_ago(18));
        assert_eq!(entries[0]["title"], "HBB refresher");
        assert_eq!(entries[0]["venue"], "Karongi district office");
        let phases: Vec<&str> = entries[0]["observations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["phase"].as_str().unwrap())
            .collect();
        assert_eq!(phases, ["pre", "post"]);
        assert_eq!(entries[1]["session_id"], session["id"]);
        // The pre-test then the post-test, as stored; the current result is the post-test.
        let series = t["checklists"].as_array().unwrap();
        assert_eq!(series.len(), 1);
        assert_eq!(series[0]["plugin_key"], knowledge["plugin_key"]);
        assert_eq!(series[0]["checklist_id"], "knowledge-check");
        let points: Vec<(String, f64)> = series[0]["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["date"].as_str().unwrap().to_string(), p["percentage"].as_f64().unwrap()))
            .collect();
        let pre = stored.iter().find(|o| o.0 == "pre").unwrap();
        let post = stored.iter().find(|o| o.0 == "post").unwrap();
        assert_eq!(points, [(pre.1.clone(), pre.2), (post.1.clone(), post.2)]);
        assert!(pre.2 < post.2);
        assert_eq!(series[0]["current"]["percentage"], post.2);
        assert_eq!(series[0]["current"]["outcome_code"], "pass");
        // Trainings are not LDHF sessions: the due date follows the session alone.
        assert_eq!(t["due"]["last_session_date"], days_ago(30));
        assert_eq!(t["due"]["next_due"], days_ago(0));
        assert_eq!(t["due"]["status"], "due_today");
        assert_eq!(t["due"]["overdue"], false);

        let web = app.sign_in(&f.b.mentor).await;
        let (_, page) = web.html(&format!("/providers/{}", f.b.provider_id)).await;
        assert_eq!(
            attr(&page, "#timeline .timeline-entry[data-training-id]", "data-training-id"),
            [training_id.as_str()]
        );
        assert_eq!(
            attr(&page, "#timeline .timeline-entry[data-session-id]", "data-session-id"),
            [session["id"].as_str().unwrap().to_string()]
        );
        assert_eq!(attr(&page, "svg.score-chart circle.point", "data-percent").len(), 2);
        assert_eq!(attr(&page, "#next-due", "data-status"), ["due_today"]);
        let (_, home) = web.html("/").await;
        assert_eq!(
            attr(&home, "#overdue li[data-provider-id]", "data-status"),
            ["due_today"]
        );

        // A withdrawn training leaves the timeline and the scores.
        let r = mentor
            .send(
                Method::POST,
                &format!("/api/v1/trainings/{training_id}/withdraw"),
                &json!({"reason": "recorded twice"}),
            )
            .await;
        assert_eq!(r.status(), 200);
        let (_, t) = timeline(&mentor, f.b.provider_id).await;
        assert_eq!(t["entries"].as_array().unwrap().len(), 1);
        assert_eq!(t["checklists"], json!([]));
    }
}

/// A percentage as the chart writes it: `80`, `83.3`.
fn chart_percent(p: f64) -> String {
    let rounded = (p * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

fn quarter_of(date: &str) -> String {
    let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
    let month: u32 = d.format("%m").to_string().parse().unwrap();
    format!("{}Q{}", d.format("%Y"), (month - 1) / 3 + 1)
}

/// First and last day of a quarter written `2026Q3`.
fn quarter_bounds(quarter: &str) -> (String, String) {
    let q = mentortrack::domain::timeline::Quarter::parse(quarter).unwrap();
    (
        q.first_day().format("%Y-%m-%d").to_string(),
        q.last_day().format("%Y-%m-%d").to_string(),
    )
}
