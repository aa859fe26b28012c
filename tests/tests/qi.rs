//! QI projects with PDSA cycles and action items, through the API and the pages: creating and
//! editing under optimistic concurrency, cycles in order, action items agreed in sessions and
//! followed to done (overdue ones found by the filter), bad input refused field by field with
//! nothing stored, partner isolation (another partner's records are 404 and never listed),
//! managers reading but not writing, and the audit trail with before and after.

use mentortrack_tests::{Api, Fixture, TestApp, engine_tests, texts};
use reqwest::Method;
use serde_json::{Value, json};

/// Today plus `offset` days, `YYYY-MM-DD` (UTC).
fn day(offset: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

async fn call(api: &Api, method: Method, path: &str, body: &Value) -> (u16, Value) {
    let r = api.send(method, path, body).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(api: &Api, path: &str) -> (u16, Value) {
    let r = api.get(path).await;
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

fn project(facility_id: i64) -> Value {
    json!({
        "facility_id": facility_id,
        "title": "Partograph use in labour",
        "problem": "Partograph started for 14 of 40 deliveries.\nTwo late referrals.",
        "aim": "80 % of women in active labour monitored with a completed partograph within 6 months.",
        "change_ideas": "Partograph stapled to every admission file\nShift partograph lead",
        "status": "active",
        "started_on": day(-60),
    })
}

fn cycle(started: i64) -> Value {
    json!({
        "change_idea": "Partograph stapled to every admission file",
        "plan": "Records clerk staples a partograph to each file for two weeks.",
        "started_on": day(started),
    })
}

fn ids(list: &Value) -> Vec<i64> {
    list["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p["id"].as_i64()).collect())
        .unwrap_or_default()
}

async fn audit(
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
    .expect("audit")
}

/// Mentor A's project, created through the API; returns its id.
async fn a_project(app: &TestApp, f: &Fixture) -> i64 {
    let api = app.api(&f.a.mentor).await;
    let (status, body) = call(
        &api,
        Method::POST,
        "/api/v1/qi-projects",
        &project(f.a.facility.id),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().expect("id")
}

engine_tests! {
    async fn the_demo_adds_projects_and_action_items_once(app) {
        use mentortrack::demo;
        demo::load(&app.db).await.expect("load the demo");
        for file in ["midwives_ldhf.wasm", "hbb.wasm", "emonc.wasm", "jhpiego_qi.wasm"] {
            mentortrack_tests::install_active(&app, file).await;
        }
        demo::activity::load(&app.db, &app.plugins).await.expect("history");
        let added = demo::qi::load(&app.db, &app.plugins).await.expect("QI demo");
        let projects = app.count("qi_projects").await;
        let cycles = app.count("pdsa_cycles").await;
        let items = app.count("action_items").await;
        assert!(projects >= 6, "{projects} projects");
        assert!(cycles >= projects, "{cycles} cycles");
        assert!(items >= 10, "{items} action items");
        assert_eq!(added as i64, projects + cycles + items);
        let statuses: Vec<String> = sqlx::query_scalar("SELECT DISTINCT status FROM qi_projects ORDER BY status")
            .fetch_all(app.db.pool()).await.unwrap();
        assert_eq!(statuses, vec!["active", "completed", "planned"]);
        let titles: Vec<String> = sqlx::query_scalar("SELECT DISTINCT title FROM qi_projects")
            .fetch_all(app.db.pool()).await.unwrap();
        assert!(titles.iter().any(|t| t == "Partograph use in labour"), "{titles:?}");
        // Dates that mean something: closed projects end after they start, none in the future.
        let today = day(0);
        let bad: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM qi_projects WHERE started_on > $1 OR ended_on > $1
               OR (ended_on IS NOT NULL AND ended_on < started_on)
               OR ((status IN ('completed', 'stopped')) <> (ended_on IS NOT NULL))",
        ).bind(&today).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(bad, 0);
        // Projects run at facilities their creator is assigned to.
        let elsewhere: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM qi_projects p WHERE NOT EXISTS (SELECT 1 FROM mentor_assignments m
               WHERE m.mentor_id = p.created_by AND m.facility_id = p.facility_id)",
        ).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(elsewhere, 0);
        // Action items on recorded sessions of their own organisation, at the session's
        // facility, in every state, some overdue; done ones carry their day.
        let mismatched: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM action_items a JOIN sessions s ON s.id = a.session_id
             WHERE s.organisation_id <> a.organisation_id OR s.facility_id <> a.facility_id
                OR s.status <> 'recorded'",
        ).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(mismatched, 0);
        let linked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM action_items WHERE session_id IS NOT NULL")
            .fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(linked, items);
        let item_statuses: Vec<String> = sqlx::query_scalar("SELECT DISTINCT status FROM action_items ORDER BY status")
            .fetch_all(app.db.pool()).await.unwrap();
        assert_eq!(item_statuses, vec!["done", "dropped", "open"]);
        let overdue: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM action_items WHERE status = 'open' AND due_on < $1")
            .bind(&today).fetch_one(app.db.pool()).await.unwrap();
        assert!(overdue > 0);
        let bad_done: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM action_items WHERE (status = 'done') <> (done_on IS NOT NULL) OR done_on > $1",
        ).bind(&today).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(bad_done, 0);
        // Every record is audited.
        assert_eq!(app.count("audit_log WHERE entity = 'qi_project'").await, projects);
        assert_eq!(app.count("audit_log WHERE entity = 'action_item'").await, items);

        let again = demo::qi::load(&app.db, &app.plugins).await.expect("QI demo again");
        assert_eq!(again, 0);
        assert_eq!(
            (app.count("qi_projects").await, app.count("pdsa_cycles").await, app.count("action_items").await),
            (projects, cycles, items)
        );
    }

    async fn projects_and_cycles_through_the_api(app) {
        let f = app.seed().await;
        let api = app.api(&f.a.mentor).await;
        let (status, created) =
            call(&api, Method::POST, "/api/v1/qi-projects", &project(f.a.facility.id)).await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_i64().unwrap();
        assert_eq!(created["organisation_id"], f.a.org.id);
        assert_eq!(created["facility_name"], "Kibuye Referral Hospital");
        assert_eq!(created["status"], "active");
        assert_eq!(created["revision"], 1);
        assert_eq!(created["ended_on"], Value::Null);
        // Line breaks in long texts are kept.
        assert!(created["problem"].as_str().unwrap().contains('\n'));

        // Completing it needs an end date; with one, the edit is stored and bumps the revision.
        let mut edit = project(f.a.facility.id);
        edit["status"] = json!("completed");
        edit["revision"] = json!(1);
        let (status, body) = call(&api, Method::PUT, &format!("/api/v1/qi-projects/{id}"), &edit).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["ended_on"]);
        edit["ended_on"] = json!(day(-1));
        edit["title"] = json!("Partograph use in labour (maternity)");
        let (status, body) = call(&api, Method::PUT, &format!("/api/v1/qi-projects/{id}"), &edit).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["revision"], 2);
        assert_eq!(body["status"], "completed");
        assert_eq!(body["ended_on"], day(-1));

        // An edit based on revision 1 is refused and changes nothing.
        edit["title"] = json!("Stale title");
        let (status, body) = call(&api, Method::PUT, &format!("/api/v1/qi-projects/{id}"), &edit).await;
        assert_eq!(status, 409, "{body}");
        let (_, now) = get(&api, &format!("/api/v1/qi-projects/{id}")).await;
        assert_eq!(now["title"], "Partograph use in labour (maternity)");
        assert_eq!(now["revision"], 2);
        // Without a revision at all: a 422 naming it.
        let mut no_rev = edit.clone();
        no_rev.as_object_mut().unwrap().remove("revision");
        let (status, body) = call(&api, Method::PUT, &format!("/api/v1/qi-projects/{id}"), &no_rev).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["revision"]);

        // Cycles are numbered in order; each counts as a change of the project.
        let (status, c1) = call(&api, Method::POST, &format!("/api/v1/qi-projects/{id}/cycles"), &cycle(-50)).await;
        assert_eq!(status, 201, "{c1}");
        assert_eq!(c1["position"], 1);
        let mut second = cycle(-30);
        second["change_idea"] = json!("Shift partograph lead");
        second["revision"] = json!(3);
        let (status, c2) = call(&api, Method::POST, &format!("/api/v1/qi-projects/{id}/cycles"), &second).await;
        assert_eq!(status, 201, "{c2}");
        assert_eq!(c2["position"], 2);
        // A stale revision on a new cycle is a conflict, and nothing is added.
        let (status, _) = call(&api, Method::POST, &format!("/api/v1/qi-projects/{id}/cycles"), &second).await;
        assert_eq!(status, 409);
        assert_eq!(app.count("pdsa_cycles").await, 2);

        // Studying the first cycle: result and decision, with the current revision.
        let c1_id = c1["id"].as_i64().unwrap();
        let mut studied = cycle(-50);
        studied["ended_on"] = json!(day(-36));
        studied["result"] = json!("Started partographs rose from 35 % to 62 %.");
        studied["decision"] = json!("adopt");
        studied["revision"] = json!(3);
        let path = format!("/api/v1/qi-projects/{id}/cycles/{c1_id}");
        let (status, _) = call(&api, Method::PUT, &path, &studied).await;
        assert_eq!(status, 409, "revision 3 is stale after the second cycle");
        studied["revision"] = json!(4);
        let (status, body) = call(&api, Method::PUT, &path, &studied).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["decision"], "adopt");
        assert_eq!(body["position"], 1);
        // A cycle of another project under this one's path is not found.
        let other = a_project(&app, &f).await;
        let (status, _) = call(&api, Method::PUT, &format!("/api/v1/qi-projects/{other}/cycles/{c1_id}"), &studied).await;
        assert_eq!(status, 404);

        let (status, detail) = get(&api, &format!("/api/v1/qi-projects/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(detail["revision"], 5);
        assert_eq!(detail["cycles"], 2);
        let positions: Vec<i64> = detail["cycle_list"].as_array().unwrap().iter().map(|c| c["position"].as_i64().unwrap()).collect();
        assert_eq!(positions, vec![1, 2]);
        assert_eq!(detail["cycle_list"][0]["result"], "Started partographs rose from 35 % to 62 %.");

        // Filters.
        let (_, completed) = get(&api, "/api/v1/qi-projects?status=completed").await;
        assert_eq!(ids(&completed), vec![id]);
        let (_, active) = get(&api, "/api/v1/qi-projects?status=active").await;
        assert_eq!(ids(&active), vec![other]);
        let (status, body) = get(&api, "/api/v1/qi-projects?status=finished").await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["status"]);

        // Every route is documented.
        let doc: Value = app.client().get(app.at("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
        for (path, methods) in [
            ("/api/v1/qi-projects", &["get", "post"][..]),
            ("/api/v1/qi-projects/{id}", &["get", "put"]),
            ("/api/v1/qi-projects/{id}/cycles", &["post"]),
            ("/api/v1/qi-projects/{id}/cycles/{cycle_id}", &["put"]),
            ("/api/v1/action-items", &["get", "post"]),
            ("/api/v1/action-items/{id}", &["put"]),
        ] {
            for m in methods {
                assert!(doc["paths"][path][m].is_object(), "{m} {path} is not documented");
            }
        }

        // The audit trail: creation, the refused edits left nothing, the edit with before/after.
        let entries = audit(&app, "qi_project", id).await;
        let actions: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(actions, vec!["create", "update"]);
        let before: Value = serde_json::from_str(entries[1].1.as_deref().unwrap()).unwrap();
        let after: Value = serde_json::from_str(entries[1].2.as_deref().unwrap()).unwrap();
        assert_eq!(before["status"], "active");
        assert_eq!(after["status"], "completed");
        let cycle_entries = audit(&app, "pdsa_cycle", c1_id).await;
        assert_eq!(cycle_entries.len(), 2);
        let before: Value = serde_json::from_str(cycle_entries[1].1.as_deref().unwrap()).unwrap();
        assert_eq!(before["decision"], Value::Null);
    }

    async fn bad_projects_and_cycles_are_refused_field_by_field(app) {
        let f = app.seed().await;
        let api = app.api(&f.a.mentor).await;
        let base = project(f.a.facility.id);
        let cases: Vec<(&str, Value)> = vec![
            ("title", json!({"title": ""})),
            ("aim", json!({"aim": null})),
            ("status", json!({"status": "paused"})),
            ("started_on", json!({"started_on": day(3)})),
            ("started_on", json!({"started_on": "2026-02-30"})),
            ("ended_on", json!({"status": "stopped"})),
            ("ended_on", json!({"status": "completed", "ended_on": day(-90)})),
            ("ended_on", json!({"status": "active", "ended_on": day(-1)})),
            ("ended_on", json!({"status": "completed", "ended_on": day(5)})),
            ("facility_id", json!({"facility_id": f.unassigned_facility.id})),
            ("facility_id", json!({"facility_id": f.district.id})),
            ("facility_id", json!({"facility_id": 999999})),
            ("facility_id", json!({"facility_id": null})),
            ("indicator_id", json!({"indicator_id": 999999})),
            ("change_ideas", json!({"change_ideas": "a\u{7}b"})),
        ];
        for (field, change) in cases {
            let mut body = base.clone();
            for (k, v) in change.as_object().unwrap() {
                body[k] = v.clone();
            }
            let (status, answer) = call(&api, Method::POST, "/api/v1/qi-projects", &body).await;
            assert_eq!(status, 422, "{change}: {answer}");
            assert_eq!(fields(&answer), vec![field.to_string()], "{change}");
        }
        assert_eq!(app.count("qi_projects").await, 0);
        assert_eq!(app.count("audit_log WHERE entity = 'qi_project'").await, 0);
        // Malformed JSON is a 400 and stores nothing.
        let r = api.client.post(format!("{}/api/v1/qi-projects", api.base)).bearer_auth(&api.token)
            .header("content-type", "application/json").body("{").send().await.unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(app.count("qi_projects").await, 0);

        // The org admin may run a project at any facility; the mentor only where assigned.
        let admin = app.api(&f.a.org_admin).await;
        let mut anywhere = base.clone();
        anywhere["facility_id"] = json!(f.unassigned_facility.id);
        let (status, body) = call(&admin, Method::POST, "/api/v1/qi-projects", &anywhere).await;
        assert_eq!(status, 201, "{body}");

        let id = a_project(&app, &f).await;
        let path = format!("/api/v1/qi-projects/{id}/cycles");
        let cycle_cases: Vec<(&str, Value)> = vec![
            ("change_idea", json!({"change_idea": " "})),
            ("plan", json!({"plan": null})),
            ("started_on", json!({"started_on": day(-61)})),
            ("started_on", json!({"started_on": day(2)})),
            ("ended_on", json!({"ended_on": day(-59)})),
            ("decision", json!({"decision": "adopt"})),
            ("decision", json!({"result": "Better", "decision": "keep"})),
        ];
        for (field, change) in cycle_cases {
            let mut body = cycle(-50);
            for (k, v) in change.as_object().unwrap() {
                body[k] = v.clone();
            }
            let (status, answer) = call(&api, Method::POST, &path, &body).await;
            assert_eq!(status, 422, "{change}: {answer}");
            assert_eq!(fields(&answer), vec![field.to_string()], "{change}");
        }
        assert_eq!(app.count("pdsa_cycles").await, 0);
        let (_, detail) = get(&api, &format!("/api/v1/qi-projects/{id}")).await;
        assert_eq!(detail["revision"], 1, "refused cycles changed nothing");

        // A project cannot be moved to start after its first cycle.
        let (status, _) = call(&api, Method::POST, &path, &cycle(-50)).await;
        assert_eq!(status, 201);
        let mut later = project(f.a.facility.id);
        later["started_on"] = json!(day(-40));
        later["revision"] = json!(2);
        let (status, body) = call(&api, Method::PUT, &format!("/api/v1/qi-projects/{id}"), &later).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["started_on"]);
    }

    async fn other_partners_get_not_found_and_managers_only_read(app) {
        let f = app.seed_with_sessions().await;
        let id = a_project(&app, &f).await;
        let a = app.api(&f.a.mentor).await;
        let (status, item) = call(&a, Method::POST, "/api/v1/action-items", &json!({
            "session_id": f.a.session_id, "description": "Restock oxytocin", "owner": "In-charge", "due_on": day(7),
        })).await;
        assert_eq!(status, 201, "{item}");
        let item_id = item["id"].as_i64().unwrap();

        for who in [&f.b.mentor, &f.b.org_admin] {
            let b = app.api(who).await;
            let (status, _) = get(&b, &format!("/api/v1/qi-projects/{id}")).await;
            assert_eq!(status, 404, "{who}");
            let mut edit = project(f.b.facility.id);
            edit["revision"] = json!(1);
            let (status, _) = call(&b, Method::PUT, &format!("/api/v1/qi-projects/{id}"), &edit).await;
            assert_eq!(status, 404, "{who}");
            let (status, _) = call(&b, Method::POST, &format!("/api/v1/qi-projects/{id}/cycles"), &cycle(-10)).await;
            assert_eq!(status, 404, "{who}");
            let (status, _) = call(&b, Method::PUT, &format!("/api/v1/action-items/{item_id}"), &json!({"status": "done"})).await;
            assert_eq!(status, 404, "{who}");
            let (_, list) = get(&b, "/api/v1/qi-projects").await;
            assert!(!ids(&list).contains(&id), "{who} must not list A's project");
            let (_, list) = get(&b, &format!("/api/v1/qi-projects?organisation_id={}", f.a.org.id)).await;
            assert_eq!(list["total"], 0);
            let (_, list) = get(&b, "/api/v1/action-items").await;
            assert!(!ids(&list).contains(&item_id));
            let (_, list) = get(&b, &format!("/api/v1/action-items?session_id={}", f.a.session_id)).await;
            assert_eq!(list["total"], 0);
            // B cannot hang an item on A's session either: it is an unknown session to B.
            let (status, body) = call(&b, Method::POST, "/api/v1/action-items", &json!({
                "session_id": f.a.session_id, "description": "x", "owner": "y", "due_on": day(3),
            })).await;
            assert_eq!(status, 422, "{body}");
            assert_eq!(fields(&body), vec!["session_id"]);
        }
        assert_eq!(app.count("action_items").await, 1);
        let (_, p) = get(&a, &format!("/api/v1/qi-projects/{id}")).await;
        assert_eq!(p["revision"], 1);

        // Managers read everything and change nothing.
        let m = app.api(&f.manager).await;
        let (status, _) = get(&m, &format!("/api/v1/qi-projects/{id}")).await;
        assert_eq!(status, 200);
        let (_, list) = get(&m, "/api/v1/qi-projects").await;
        assert!(ids(&list).contains(&id));
        let (_, list) = get(&m, "/api/v1/action-items").await;
        assert!(ids(&list).contains(&item_id));
        let mut edit = project(f.a.facility.id);
        edit["revision"] = json!(1);
        let (status, _) = call(&m, Method::PUT, &format!("/api/v1/qi-projects/{id}"), &edit).await;
        assert_eq!(status, 403);
        let (status, _) = call(&m, Method::POST, "/api/v1/qi-projects", &project(f.a.facility.id)).await;
        assert_eq!(status, 403);
        let (status, _) = call(&m, Method::POST, &format!("/api/v1/qi-projects/{id}/cycles"), &cycle(-10)).await;
        assert_eq!(status, 403);
        let (status, _) = call(&m, Method::PUT, &format!("/api/v1/action-items/{item_id}"), &json!({"status": "done"})).await;
        assert_eq!(status, 403);
        let (status, _) = call(&m, Method::POST, "/api/v1/action-items", &json!({
            "session_id": f.a.session_id, "description": "x", "owner": "y", "due_on": day(3),
        })).await;
        assert_eq!(status, 403);
        assert_eq!(app.count("qi_projects").await, 1);
        assert_eq!(app.count("action_items").await, 1);

        // The pages agree.
        let web = app.sign_in(&f.b.mentor).await;
        assert_eq!(web.get(&format!("/qi/{id}")).await.status(), 404);
        assert_eq!(web.get(&format!("/qi/{id}/edit")).await.status(), 404);
        assert_eq!(web.get(&format!("/sessions/{}/actions", f.a.session_id)).await.status(), 404);
        let (_, doc) = web.html("/qi").await;
        assert!(texts(&doc, "#projects .project-row .title").is_empty());
        let (_, doc) = web.html("/qi/actions").await;
        assert!(texts(&doc, "#action-items .action-row").is_empty());
        let r = web.post(&format!("/qi/actions/{item_id}"), &[("status", "done")]).await;
        assert_eq!(r.status(), 404);

        let web = app.sign_in(&f.manager).await;
        let (status, doc) = web.html(&format!("/qi/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(texts(&doc, "#project-title"), vec!["Partograph use in labour"]);
        assert!(texts(&doc, "#edit-project").is_empty());
        assert!(texts(&doc, "#cycle-form").is_empty());
        assert_eq!(web.get(&format!("/qi/{id}/edit")).await.status(), 403);
        let (status, doc) = web.html(&format!("/sessions/{}/actions", f.a.session_id)).await;
        assert_eq!(status, 200);
        assert_eq!(texts(&doc, "#action-items .description"), vec!["Restock oxytocin"]);
        assert!(texts(&doc, "#action-form").is_empty());
        assert!(texts(&doc, ".mark-done").is_empty());
        let r = web.post(&format!("/sessions/{}/actions", f.a.session_id), &[
            ("description", "x"), ("owner", "y"), ("due_on", &day(3)),
        ]).await;
        assert_eq!(r.status(), 403);
        assert_eq!(app.count("action_items").await, 1);
    }

    async fn action_items_are_followed_to_done(app) {
        let f = app.seed_with_sessions().await;
        let api = app.api(&f.a.mentor).await;
        let (status, from_session) = call(&api, Method::POST, "/api/v1/action-items", &json!({
            "session_id": f.a.session_id.to_uppercase(),
            "description": "Run a bag-and-mask drill with the night shift",
            "owner": "Senior midwife",
            "due_on": day(14),
        })).await;
        assert_eq!(status, 201, "{from_session}");
        assert_eq!(from_session["facility_id"], f.a.facility.id);
        assert_eq!(from_session["organisation_id"], f.a.org.id);
        assert_eq!(from_session["session_id"], f.a.session_id);
        assert_eq!(from_session["status"], "open");
        assert_eq!(from_session["overdue"], false);
        let (status, late) = call(&api, Method::POST, "/api/v1/action-items", &json!({
            "facility_id": f.a.facility.id,
            "description": "Post the PPH algorithm on the delivery room wall",
            "owner": "Head nurse",
            "due_on": day(-2),
        })).await;
        assert_eq!(status, 201, "{late}");
        assert_eq!(late["session_id"], Value::Null);
        assert_eq!(late["overdue"], true);
        let late_id = late["id"].as_i64().unwrap();
        let soon_id = from_session["id"].as_i64().unwrap();

        // Bad input: 422 naming the field, nothing stored.
        let bad: Vec<(&str, Value)> = vec![
            ("owner", json!({"facility_id": f.a.facility.id, "description": "x", "due_on": day(1)})),
            ("description", json!({"facility_id": f.a.facility.id, "description": "", "owner": "y", "due_on": day(1)})),
            ("due_on", json!({"facility_id": f.a.facility.id, "description": "x", "owner": "y", "due_on": "next week"})),
            ("due_on", json!({"facility_id": f.a.facility.id, "description": "x", "owner": "y", "due_on": day(2000)})),
            ("facility_id", json!({"facility_id": f.unassigned_facility.id, "description": "x", "owner": "y", "due_on": day(1)})),
            ("facility_id", json!({"session_id": f.a.session_id, "facility_id": f.unassigned_facility.id, "description": "x", "owner": "y", "due_on": day(1)})),
            ("status", json!({"facility_id": f.a.facility.id, "description": "x", "owner": "y", "due_on": day(1), "status": "closed"})),
            ("done_on", json!({"facility_id": f.a.facility.id, "description": "x", "owner": "y", "due_on": day(1), "done_on": day(0)})),
            ("session_id", json!({"session_id": "00000000-0000-4000-8000-000000000000", "description": "x", "owner": "y", "due_on": day(1)})),
        ];
        for (field, body) in bad {
            let (status, answer) = call(&api, Method::POST, "/api/v1/action-items", &body).await;
            assert_eq!(status, 422, "{body}: {answer}");
            assert_eq!(fields(&answer), vec![field.to_string()], "{body}");
        }
        assert_eq!(app.count("action_items").await, 2);

        // The overdue filter finds the open item due before today, and only it.
        let (_, overdue) = get(&api, "/api/v1/action-items?overdue=true").await;
        assert_eq!(ids(&overdue), vec![late_id]);
        let (_, by_session) = get(&api, &format!("/api/v1/action-items?session_id={}", f.a.session_id)).await;
        assert_eq!(ids(&by_session), vec![soon_id]);

        // Marking it done records today; it is no longer overdue.
        let path = format!("/api/v1/action-items/{late_id}");
        let (status, done) = call(&api, Method::PUT, &path, &json!({"status": "done"})).await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(done["status"], "done");
        assert_eq!(done["done_on"], day(0));
        assert_eq!(done["overdue"], false);
        assert_eq!(done["description"], "Post the PPH algorithm on the delivery room wall");
        let (_, overdue) = get(&api, "/api/v1/action-items?overdue=true").await;
        assert_eq!(overdue["total"], 0);
        let (_, finished) = get(&api, "/api/v1/action-items?status=done").await;
        assert_eq!(ids(&finished), vec![late_id]);
        // A done date in the future is refused; reopening clears it; dropping keeps none.
        let (status, body) = call(&api, Method::PUT, &path, &json!({"status": "done", "done_on": day(3)})).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["done_on"]);
        let (status, reopened) = call(&api, Method::PUT, &path, &json!({"status": "open", "due_on": day(10)})).await;
        assert_eq!(status, 200);
        assert_eq!(reopened["done_on"], Value::Null);
        assert_eq!(reopened["due_on"], day(10));
        let (status, dropped) = call(&api, Method::PUT, &path, &json!({"status": "dropped"})).await;
        assert_eq!(status, 200);
        assert_eq!(dropped["status"], "dropped");
        // An item stays with its session and facility.
        let (status, body) = call(&api, Method::PUT, &path, &json!({"facility_id": f.unassigned_facility.id})).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["facility_id"]);

        let entries = audit(&app, "action_item", late_id).await;
        let actions: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(actions, vec!["create", "update", "update", "update"]);
        let before: Value = serde_json::from_str(entries[1].1.as_deref().unwrap()).unwrap();
        let after: Value = serde_json::from_str(entries[1].2.as_deref().unwrap()).unwrap();
        assert_eq!((before["status"].as_str(), after["status"].as_str()), (Some("open"), Some("done")));
        assert_eq!(after["done_on"], day(0));

        // The org admin of A follows the mentor's items up too.
        let admin = app.api(&f.a.org_admin).await;
        let (status, _) = call(&admin, Method::PUT, &format!("/api/v1/action-items/{soon_id}"), &json!({"status": "done", "done_on": day(-1)})).await;
        assert_eq!(status, 200);
    }

    async fn pages_create_edit_and_follow_up(app) {
        let f = app.seed_with_sessions().await;
        let web = app.sign_in(&f.a.mentor).await;
        let (status, doc) = web.html("/qi/new").await;
        assert_eq!(status, 200);
        let facility = f.a.facility.id.to_string();
        assert_eq!(
            texts(&doc, "#facility_id option").len(),
            2,
            "a blank choice and the mentor's one facility"
        );

        // A refused form keeps everything typed and names the fields.
        let future = day(5);
        let r = web.post("/qi", &[
            ("facility_id", &facility), ("title", ""), ("problem", "Late referrals\nof prolonged labour"),
            ("aim", "80 % by June"), ("status", "active"), ("started_on", &future),
        ]).await;
        assert_eq!(r.status(), 422);
        let doc = scraper::Html::parse_document(&r.text().await.unwrap());
        let sel = scraper::Selector::parse(".field-error[data-field]").unwrap();
        let mut named: Vec<&str> = doc.select(&sel).filter_map(|e| e.value().attr("data-field")).collect();
        named.sort();
        assert_eq!(named, vec!["started_on", "title"]);
        assert_eq!(texts(&doc, "#problem"), vec!["Late referrals\nof prolonged labour"]);
        let sel = scraper::Selector::parse("#started_on").unwrap();
        assert_eq!(doc.select(&sel).next().unwrap().value().attr("value"), Some(future.as_str()));
        assert_eq!(app.count("qi_projects").await, 0);

        let start = day(-30);
        let r = web.post("/qi", &[
            ("facility_id", &facility), ("title", "Skin-to-skin within 1 h"), ("problem", "4 of 10 births"),
            ("aim", "90 % within 4 months"), ("status", "active"), ("started_on", &start),
        ]).await;
        assert_eq!(r.status(), 303);
        let location = r.headers()["location"].to_str().unwrap().to_string();
        let id: i64 = location.trim_start_matches("/qi/").parse().unwrap();
        let (status, doc) = web.html(&location).await;
        assert_eq!(status, 200);
        assert_eq!(texts(&doc, "#project-title"), vec!["Skin-to-skin within 1 h"]);
        assert_eq!(texts(&doc, "#edit-project").len(), 1);

        // Adding a cycle: a bad one is shown again with what was typed; a good one is listed.
        let r = web.post(&format!("/qi/{id}/cycles"), &[
            ("revision", "1"), ("change_idea", "Delay weighing"), ("plan", ""), ("started_on", &day(-20)),
        ]).await;
        assert_eq!(r.status(), 422);
        let doc = scraper::Html::parse_document(&r.text().await.unwrap());
        let sel = scraper::Selector::parse("#cycle-form .field-error").unwrap();
        let named: Vec<&str> = doc.select(&sel).filter_map(|e| e.value().attr("data-field")).collect();
        assert_eq!(named, vec!["plan"]);
        let sel = scraper::Selector::parse("#change_idea").unwrap();
        assert_eq!(doc.select(&sel).next().unwrap().value().attr("value"), Some("Delay weighing"));
        let r = web.post(&format!("/qi/{id}/cycles"), &[
            ("revision", "1"), ("change_idea", "Delay weighing"), ("plan", "Weigh after the first feed"),
            ("started_on", &day(-20)), ("ended_on", &day(-6)), ("result", "75 % of 24 births"), ("decision", "adopt"),
        ]).await;
        assert_eq!(r.status(), 303);
        let (_, doc) = web.html(&format!("/qi/{id}")).await;
        assert_eq!(texts(&doc, "#cycles .cycle .change-idea"), vec!["Delay weighing"]);
        assert_eq!(texts(&doc, "#cycle-1 .decision"), vec!["Adopt"]);

        // Editing from a page opened before the cycle was added is a conflict, shown as such.
        let r = web.post(&format!("/qi/{id}"), &[
            ("revision", "1"), ("facility_id", &facility), ("title", "Renamed"), ("problem", "4 of 10 births"),
            ("aim", "90 % within 4 months"), ("status", "completed"), ("started_on", &start), ("ended_on", &day(-1)),
        ]).await;
        assert_eq!(r.status(), 409);
        let doc = scraper::Html::parse_document(&r.text().await.unwrap());
        assert_eq!(texts(&doc, "#conflict").len(), 1);
        let sel = scraper::Selector::parse("#title").unwrap();
        assert_eq!(doc.select(&sel).next().unwrap().value().attr("value"), Some("Renamed"));
        let (_, doc) = web.html(&format!("/qi/{id}/edit")).await;
        let sel = scraper::Selector::parse("input[name=revision]").unwrap();
        assert_eq!(doc.select(&sel).next().unwrap().value().attr("value"), Some("2"));
        let r = web.post(&format!("/qi/{id}"), &[
            ("revision", "2"), ("facility_id", &facility), ("title", "Renamed"), ("problem", "4 of 10 births"),
            ("aim", "90 % within 4 months"), ("status", "completed"), ("started_on", &start), ("ended_on", &day(-1)),
        ]).await;
        assert_eq!(r.status(), 303);
        let (_, doc) = web.html("/qi?status=completed").await;
        assert_eq!(texts(&doc, "#projects .title"), vec!["Renamed"]);
        let (_, doc) = web.html("/qi?status=active").await;
        assert!(texts(&doc, "#projects .title").is_empty());

        // A session's action items: added on its page, followed to done from the list.
        let page = format!("/sessions/{}/actions", f.a.session_id);
        let (status, doc) = web.html(&page).await;
        assert_eq!(status, 200);
        assert_eq!(texts(&doc, "#action-form").len(), 1);
        let r = web.post(&page, &[("description", "Fix the suction device"), ("owner", ""), ("due_on", &day(-1))]).await;
        assert_eq!(r.status(), 422);
        let doc = scraper::Html::parse_document(&r.text().await.unwrap());
        let sel = scraper::Selector::parse("#action-form .field-error").unwrap();
        let named: Vec<&str> = doc.select(&sel).filter_map(|e| e.value().attr("data-field")).collect();
        assert_eq!(named, vec!["owner"]);
        let sel = scraper::Selector::parse("#description").unwrap();
        assert_eq!(doc.select(&sel).next().unwrap().value().attr("value"), Some("Fix the suction device"));
        let r = web.post(&page, &[("description", "Fix the suction device"), ("owner", "Maintenance officer"), ("due_on", &day(-1))]).await;
        assert_eq!(r.status(), 303);
        let (_, doc) = web.html(&page).await;
        assert_eq!(texts(&doc, "#action-items .description"), vec!["Fix the suction device"]);
        assert_eq!(texts(&doc, "#action-items .overdue-badge").len(), 1);
        let (_, doc) = web.html("/qi/actions?overdue=1").await;
        assert_eq!(texts(&doc, "#action-items .description"), vec!["Fix the suction device"]);
        let item_id: i64 = sqlx::query_scalar("SELECT id FROM action_items")
            .fetch_one(app.db.pool()).await.unwrap();
        let r = web.post(&format!("/qi/actions/{item_id}"), &[("status", "done"), ("next", &page)]).await;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"].to_str().unwrap(), page);
        let (_, doc) = web.html("/qi/actions?overdue=1").await;
        assert!(texts(&doc, "#action-items .description").is_empty());
        let (_, doc) = web.html("/qi/actions?status=done").await;
        assert_eq!(texts(&doc, "#action-items .done-on"), vec![day(0)]);

        // A facility item from the list page, and the edit form.
        let r = web.post("/qi/actions", &[("facility_id", &facility), ("description", "Order magnesium sulphate"), ("owner", "Pharmacist"), ("due_on", &day(7))]).await;
        assert_eq!(r.status(), 303);
        let r = web.post("/qi/actions", &[("facility_id", &f.unassigned_facility.id.to_string()), ("description", "Elsewhere"), ("owner", "Someone"), ("due_on", &day(7))]).await;
        assert_eq!(r.status(), 422);
        let (status, _) = web.html(&format!("/qi/actions/{item_id}/edit")).await;
        assert_eq!(status, 200);
        let r = web.post(&format!("/qi/actions/{item_id}"), &[
            ("description", "Fix the suction device"), ("owner", "Maintenance officer"), ("due_on", &day(-1)),
            ("status", "open"), ("done_on", &day(-1)),
        ]).await;
        assert_eq!(r.status(), 422);
        assert_eq!(app.count("action_items").await, 2);

        // Without the CSRF token nothing is stored.
        let r = web.client.post(format!("{}/qi", web.base)).form(&[
            ("facility_id", facility.as_str()), ("title", "No token"), ("problem", "p"), ("aim", "a"),
            ("status", "active"), ("started_on", start.as_str()),
        ]).send().await.unwrap();
        assert_eq!(r.status(), 403);
        assert_eq!(app.count("qi_projects").await, 1);
        assert_eq!(app.count("audit_log WHERE entity = 'qi_project'").await, 2);
    }
}
