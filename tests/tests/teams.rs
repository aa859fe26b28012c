//! Village teams through the API and the pages: CARE's teams with members from its provider
//! registry, quarterly targets, and the quarterly assessment scored by CARE's real
//! `care-lead` plugin (full award when every measure reaches 90 % with meetings held and
//! registers complete, partial from 70 % overall), the award stored and shown; bad input,
//! re-assessment under optimistic concurrency, roles, partner isolation and the audit log.

use mentortrack::domain::organisations::{self, NewOrganisation};
use mentortrack::domain::providers::{self, ValidProvider};
use mentortrack::domain::quarter::Quarter;
use mentortrack::plugins::Limits;
use mentortrack_tests::{
    Api, Fixture, TestApp, engine_tests, install_active, test_config, texts, user,
};
use reqwest::Method;
use serde_json::{Value, json};

/// CARE with an org admin and a mentor, a midwife, a Village Health Support Group member, a
/// traditional birth attendant and a doctor at partner B's health centre, and its plugin.
struct Care {
    org_id: i64,
    admin: String,
    mentor: String,
    facility_id: i64,
    midwife: i64,
    vhsg: i64,
    tba: i64,
    doctor: i64,
    version_id: i64,
}

async fn care(app: &TestApp, f: &Fixture) -> Care {
    let org = organisations::create(
        &app.db,
        None,
        &NewOrganisation {
            code: Some("CARE".into()),
            name: Some("CARE Cambodia".into()),
            kind: Some("ngo".into()),
            country: Some("Cambodia".into()),
        },
    )
    .await
    .expect("organisation");
    let admin = "admin@care.example.org".to_string();
    let mentor = "mentor@care.example.org".to_string();
    user(&app.db, &org, &admin, "org_admin").await;
    user(&app.db, &org, &mentor, "mentor").await;
    let facility_id = f.b.facility.id;
    let mut tx = app.db.begin().await.expect("tx");
    let mut ids = Vec::new();
    for (n, cadre) in [
        "midwife",
        "village_health_support_group",
        "traditional_birth_attendant",
        "doctor",
    ]
    .iter()
    .enumerate()
    {
        let id = providers::insert(
            &mut tx,
            None,
            &ValidProvider {
                organisation_id: org.id,
                facility_id,
                code: Some(format!("CARE-{n}")),
                name: format!("CARE person {n}"),
                cadre: (*cadre).into(),
                sex: Some("female".into()),
                phone: None,
                active: true,
            },
        )
        .await
        .expect("provider");
        ids.push(id);
    }
    tx.commit().await.expect("commit");
    let version_id = install_active(app, "care_lead.wasm").await;
    Care {
        org_id: org.id,
        admin,
        mentor,
        facility_id,
        midwife: ids[0],
        vhsg: ids[1],
        tba: ids[2],
        doctor: ids[3],
        version_id,
    }
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

/// The fields a 4xx body names.
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

async fn create_team(api: &Api, c: &Care, name: &str) -> Value {
    let (status, body) = send(
        api,
        Method::POST,
        "/api/v1/teams",
        &json!({
            "name": name,
            "village": "Kachanh",
            "facility_id": c.facility_id,
            "members": [c.midwife, c.vhsg, c.tba],
        }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body
}

const TARGETS: [(&str, i64); 5] = [
    ("households_mapped", 40),
    ("education_sessions", 6),
    ("home_visits", 28),
    ("referrals", 8),
    ("escorts", 5),
];

async fn set_targets(api: &Api, team: i64, quarter: &str) -> (u16, Value) {
    let targets: serde_json::Map<String, Value> = TARGETS
        .iter()
        .map(|(m, t)| (m.to_string(), json!(t)))
        .collect();
    send(
        api,
        Method::PUT,
        &format!("/api/v1/teams/{team}/targets/{quarter}"),
        &json!({ "targets": targets }),
    )
    .await
}

/// An assessment body: achieved counts per measure in `TARGETS` order, and the yes/no items.
fn assessment(c: &Care, achieved: [i64; 5], meetings: bool, revision: Option<i64>) -> Value {
    let mut responses: Vec<Value> = TARGETS
        .iter()
        .zip(achieved)
        .map(|((m, _), a)| {
            json!({"item_id": format!("{}-achieved", m.replace('_', "-")),
                   "answer": {"type": "integer", "value": a}})
        })
        .collect();
    let yn = |b: bool| if b { "yes" } else { "no" };
    responses.push(json!({"item_id": "team-meetings", "answer": {"type": yn(meetings)}}));
    responses.push(json!({"item_id": "registers-complete", "answer": {"type": "yes"}}));
    json!({
        "assessment": {
            "plugin_version_id": c.version_id,
            "checklist_id": "team-quarterly",
            "responses": responses,
        },
        "revision": revision,
    })
}

async fn audit_count(app: &TestApp, entity: &str, entity_id: &str, action: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE entity = $1 AND entity_id = $2 AND action = $3",
    )
    .bind(entity)
    .bind(entity_id)
    .bind(action)
    .fetch_one(app.db.pool())
    .await
    .unwrap()
}

engine_tests! {
    async fn teams_are_created_changed_under_their_revision_and_audited(app) {
        let f = app.seed_with_plugins().await;
        let c = care(&app, &f).await;
        let api = app.api(&c.mentor).await;
        let team = create_team(&api, &c, "Kachanh village team").await;
        let id = team["id"].as_i64().unwrap();
        assert_eq!(team["revision"], 1);
        assert_eq!(team["member_list"].as_array().unwrap().len(), 3);
        assert_eq!(team["facility_name"], f.b.facility.name.as_str());

        // The same name again in the organisation.
        let (status, body) = send(&api, Method::POST, "/api/v1/teams",
            &json!({"name": "Kachanh village team", "facility_id": c.facility_id})).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["name"]);

        let change = json!({
            "name": "Kachanh team", "village": "Kachanh", "facility_id": c.facility_id,
            "members": [c.midwife, c.tba], "active": true, "revision": 1,
        });
        let (status, body) = send(&api, Method::PUT, &format!("/api/v1/teams/{id}"), &change).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["revision"], 2);
        assert_eq!(body["name"], "Kachanh team");
        assert_eq!(body["member_list"].as_array().unwrap().len(), 2);
        // A second change based on the old revision is refused and changes nothing.
        let (status, _) = send(&api, Method::PUT, &format!("/api/v1/teams/{id}"),
            &json!({"name": "Other", "facility_id": c.facility_id, "revision": 1})).await;
        assert_eq!(status, 409);
        let (_, now) = get(&api, &format!("/api/v1/teams/{id}")).await;
        assert_eq!(now["name"], "Kachanh team");

        assert_eq!(audit_count(&app, "team", &id.to_string(), "create").await, 1);
        assert_eq!(audit_count(&app, "team", &id.to_string(), "update").await, 1);
        let (before, after): (String, String) = sqlx::query_as(
            "SELECT before_json, after_json FROM audit_log WHERE entity = 'team' AND entity_id = $1 AND action = 'update'")
            .bind(id.to_string()).fetch_one(app.db.pool()).await.unwrap();
        assert!(before.contains("Kachanh village team") && after.contains("Kachanh team"));
    }

    async fn bad_teams_are_refused_naming_the_field(app) {
        let f = app.seed_with_plugins().await;
        let c = care(&app, &f).await;
        let api = app.api(&c.admin).await;
        let (status, body) = send(&api, Method::POST, "/api/v1/teams", &json!({})).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["name", "facility_id"]);
        let (status, body) = send(&api, Method::POST, "/api/v1/teams", &json!({
            "name": "T", "facility_id": f.district.id,
            // Another partner's provider, a doctor, and a midwife twice.
            "members": [f.a.provider_id, c.doctor, c.midwife, c.midwife],
        })).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["facility_id", "members[0]", "members[1]", "members[3]"]);
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM teams").fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(count, 0);
    }

    async fn targets_are_set_per_quarter_and_bad_quarters_or_measures_are_refused(app) {
        let f = app.seed_with_plugins().await;
        let c = care(&app, &f).await;
        let api = app.api(&c.mentor).await;
        let id = create_team(&api, &c, "Pok Nhai team").await["id"].as_i64().unwrap();
        let quarter = Quarter::current().to_string();
        for bad in ["2026Q5", "2026-Q3", "Q3"] {
            let (status, body) = set_targets(&api, id, bad).await;
            assert_eq!(status, 422, "{bad}");
            assert_eq!(fields(&body), vec!["quarter"]);
        }
        let (status, body) = send(&api, Method::PUT, &format!("/api/v1/teams/{id}/targets/{quarter}"),
            &json!({"targets": {"bogus": 3, "referrals": -1, "escorts": 10001}})).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["targets.bogus", "targets.escorts", "targets.referrals"]);
        let (status, body) = set_targets(&api, id, &quarter).await;
        assert_eq!(status, 200, "{body}");
        let q = body["targets"].as_array().unwrap().iter().find(|q| q["quarter"] == quarter.as_str()).unwrap().clone();
        assert_eq!(q["targets"].as_array().unwrap().len(), 5);
        assert_eq!(q["targets"][0]["measure"], "households_mapped");
        assert_eq!(q["targets"][0]["target"], 40);
        // Dropping a measure removes its target.
        let (status, body) = send(&api, Method::PUT, &format!("/api/v1/teams/{id}/targets/{quarter}"),
            &json!({"targets": {"households_mapped": 50}})).await;
        assert_eq!(status, 200);
        assert_eq!(body["targets"][0]["targets"].as_array().unwrap().len(), 1);
        assert_eq!(audit_count(&app, "team", &id.to_string(), "set_targets").await, 2);
    }

    async fn the_assessment_is_scored_by_the_plugin_and_its_award_stored(app) {
        let f = app.seed_with_plugins().await;
        let c = care(&app, &f).await;
        let api = app.api(&c.mentor).await;
        let id = create_team(&api, &c, "La En Kraen team").await["id"].as_i64().unwrap();
        let quarter = Quarter::current().to_string();
        let path = format!("/api/v1/teams/{id}/assessments/{quarter}");

        // No targets yet.
        let (status, body) = send(&api, Method::POST, &path, &assessment(&c, [40, 6, 28, 8, 5], true, None)).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["quarter"]);
        set_targets(&api, id, &quarter).await;

        // The plugin refuses more escorts than referrals, naming the item; nothing stored.
        let (status, body) = send(&api, Method::POST, &path, &assessment(&c, [40, 6, 28, 3, 5], true, None)).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(fields(&body), vec!["assessment.responses.escorts-achieved"]);
        // The targets are the server's to fill in.
        let mut sneaky = assessment(&c, [40, 6, 28, 8, 5], true, None);
        sneaky["assessment"]["responses"].as_array_mut().unwrap()
            .push(json!({"item_id": "referrals-target", "answer": {"type": "integer", "value": 1}}));
        let (status, body) = send(&api, Method::POST, &path, &sneaky).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["assessment.responses.referrals-target"]);
        let (status, body) = send(&api, Method::POST, &format!("/api/v1/teams/{id}/assessments/2026Q0"),
            &assessment(&c, [40, 6, 28, 8, 5], true, None)).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["quarter"]);
        let (_, list) = get(&api, &format!("/api/v1/teams/{id}/assessments")).await;
        assert_eq!(list.as_array().unwrap().len(), 0);

        // Every target met, meetings held, registers complete: the full award.
        let (status, a) = send(&api, Method::POST, &path, &assessment(&c, [44, 6, 28, 8, 5], true, None)).await;
        assert_eq!(status, 200, "{a}");
        assert_eq!(a["outcome_code"], "full-award");
        assert_eq!(a["award_amount"], 40.0);
        assert_eq!(a["percentage"], 100.0);
        assert_eq!(a["plugin_key"], "care-lead");
        assert_eq!(a["plugin_version_id"], c.version_id);
        assert!(a["plugin_sha256"].as_str().is_some_and(|s| s.len() == 64));
        // The server filled the targets into the responses it scored.
        assert!(a["responses"].as_array().unwrap().iter().any(|r|
            r["item_id"] == "households-mapped-target" && r["answer"]["value"] == 40));
        // The achieved counts are recorded on the targets.
        let (_, team) = get(&api, &format!("/api/v1/teams/{id}")).await;
        let t = &team["targets"][0];
        assert_eq!(t["targets"][0]["achieved"], 44);
        assert_eq!(t["targets"][0]["met"], true);
        assert_eq!(t["targets_met"], 5);

        // An assessed quarter's targets stay as scored.
        let (status, _) = set_targets(&api, id, &quarter).await;
        assert_eq!(status, 409);

        // Assessing again needs the stored revision; then it replaces the assessment.
        let (status, _) = send(&api, Method::POST, &path, &assessment(&c, [30, 6, 20, 8, 5], false, None)).await;
        assert_eq!(status, 409);
        let (status, b) = send(&api, Method::POST, &path, &assessment(&c, [30, 6, 20, 8, 5], false, Some(1))).await;
        assert_eq!(status, 200, "{b}");
        // 75 % and 71 % on two measures, the rest met: 89.3 % overall, so a partial award.
        assert_eq!(b["outcome_code"], "partial-award");
        assert_eq!(b["award_amount"], 20.0);
        assert_eq!(b["revision"], 2);
        let (_, list) = get(&api, &format!("/api/v1/teams/{id}/assessments")).await;
        assert_eq!(list.as_array().unwrap().len(), 1);
        let key = format!("{id}/{quarter}");
        assert_eq!(audit_count(&app, "team_assessment", &key, "assess").await, 1);
        assert_eq!(audit_count(&app, "team_assessment", &key, "reassess").await, 1);

        // The list and the pages show it.
        let (_, teams) = get(&api, &format!("/api/v1/teams?quarter={quarter}")).await;
        assert_eq!(teams["items"][0]["award"], 20.0);
        assert_eq!(teams["items"][0]["targets_met"], 3);
        let web = app.sign_in(&c.mentor).await;
        let (status, doc) = web.html(&format!("/teams/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(texts(&doc, &format!("#assessment-{quarter} .award")), vec!["20.00"]);
        assert_eq!(texts(&doc, &format!("#assessment-{quarter} .outcome")), vec!["Partial award"]);
        assert_eq!(texts(&doc, "#members .name").len(), 3);
        let (_, doc) = web.html(&format!("/teams?quarter={quarter}")).await;
        assert_eq!(texts(&doc, ".team-row .award"), vec!["20.00"]);
        assert_eq!(texts(&doc, ".team-row .targets-met"), vec!["3 / 5"]);
        let (_, doc) = web.html(&format!("/teams/awards?quarter={quarter}")).await;
        assert_eq!(texts(&doc, "#total-award"), vec!["20.00"]);
    }

    async fn the_pages_create_a_team_and_assess_it_with_field_errors(app) {
        let f = app.seed_with_plugins().await;
        let c = care(&app, &f).await;
        let web = app.sign_in(&c.mentor).await;
        let facility = c.facility_id.to_string();
        let (midwife, tba) = (c.midwife.to_string(), c.tba.to_string());
        let r = web.post("/teams", &[("name", ""), ("facility_id", &facility), ("members", &midwife)]).await;
        assert_eq!(r.status(), 422);
        let doc = scraper::Html::parse_document(&r.text().await.unwrap());
        assert_eq!(texts(&doc, ".field-error[data-field=name]").len(), 1);
        let r = web.post("/teams", &[("name", "Ou Chum team"), ("village", "Ou Chum"),
            ("facility_id", &facility), ("members", &midwife), ("members", &tba)]).await;
        assert_eq!(r.status(), 303);
        let location = r.headers()["location"].to_str().unwrap().to_string();
        let id: i64 = location.trim_start_matches("/teams/").parse().unwrap();

        let quarter = Quarter::current().to_string();
        let mut fields: Vec<(String, String)> = TARGETS.iter()
            .map(|(m, t)| (format!("target.{m}"), t.to_string())).collect();
        fields[0].1 = "many".into();
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let r = web.post(&format!("/teams/{id}/targets/{quarter}"), &pairs).await;
        assert_eq!(r.status(), 422);
        let doc = scraper::Html::parse_document(&r.text().await.unwrap());
        assert_eq!(texts(&doc, ".field-error[data-field='targets.households_mapped']").len(), 1);
        fields[0].1 = "40".into();
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        assert_eq!(web.post(&format!("/teams/{id}/targets/{quarter}"), &pairs).await.status(), 303);

        // The form asks the achieved counts, not the targets, and shows each target beside them.
        let (status, doc) = web.html(&format!("/teams/{id}/assess/{quarter}")).await;
        assert_eq!(status, 200);
        assert!(texts(&doc, "[data-item=households-mapped-target]").is_empty());
        assert_eq!(texts(&doc, "[data-item=households-mapped-achieved] .hint")[0], "Target: 40");
        let choice = format!("{}:team-quarterly", c.version_id);
        let mut form = vec![("checklist", choice.as_str()), ("assessed_on", "")];
        let achieved = [("a.r.households-mapped-achieved", "40"), ("a.r.education-sessions-achieved", "6"),
            ("a.r.home-visits-achieved", "28"), ("a.r.referrals-achieved", "8"), ("a.r.escorts-achieved", "5"),
            ("a.r.registers-complete", "yes")];
        form.extend(achieved);
        // The meetings item left unanswered.
        let r = web.post(&format!("/teams/{id}/assess/{quarter}"), &form).await;
        assert_eq!(r.status(), 422);
        let doc = scraper::Html::parse_document(&r.text().await.unwrap());
        assert_eq!(texts(&doc, ".field-error[data-item=team-meetings]").len(), 1);
        form.push(("a.r.team-meetings", "yes"));
        let r = web.post(&format!("/teams/{id}/assess/{quarter}"), &form).await;
        assert_eq!(r.status(), 303);
        let (_, doc) = web.html(&format!("/teams/{id}")).await;
        assert_eq!(texts(&doc, &format!("#assessment-{quarter} .award")), vec!["40.00"]);
    }

    async fn other_partners_never_see_a_team_and_managers_only_read(app) {
        let f = app.seed_with_plugins().await;
        let c = care(&app, &f).await;
        let api = app.api(&c.mentor).await;
        let id = create_team(&api, &c, "Dak Dam team").await["id"].as_i64().unwrap();
        let quarter = Quarter::current().to_string();
        set_targets(&api, id, &quarter).await;

        let other = app.api(&f.a.org_admin).await;
        assert_eq!(get(&other, &format!("/api/v1/teams/{id}")).await.0, 404);
        assert_eq!(get(&other, &format!("/api/v1/teams/{id}/assessments")).await.0, 404);
        let (_, list) = get(&other, "/api/v1/teams").await;
        assert_eq!(list["total"], 0);
        let (status, _) = send(&other, Method::POST, &format!("/api/v1/teams/{id}/assessments/{quarter}"),
            &assessment(&c, [40, 6, 28, 8, 5], true, None)).await;
        assert_eq!(status, 404);
        let (status, _) = set_targets(&other, id, &quarter).await;
        assert_eq!(status, 404);
        let web = app.sign_in(&f.a.mentor).await;
        assert_eq!(web.get(&format!("/teams/{id}")).await.status(), 404);

        let manager = app.api(&f.manager).await;
        assert_eq!(get(&manager, &format!("/api/v1/teams/{id}")).await.0, 200);
        let (_, list) = get(&manager, "/api/v1/teams").await;
        assert_eq!(list["total"], 1);
        let (status, _) = send(&manager, Method::PUT, &format!("/api/v1/teams/{id}"),
            &json!({"name": "X", "facility_id": c.facility_id, "revision": 1})).await;
        assert_eq!(status, 403);
        let (status, _) = send(&manager, Method::POST, "/api/v1/teams",
            &json!({"name": "X", "facility_id": c.facility_id})).await;
        assert_eq!(status, 403);
        let (status, _) = send(&manager, Method::POST, &format!("/api/v1/teams/{id}/assessments/{quarter}"),
            &assessment(&c, [40, 6, 28, 8, 5], true, None)).await;
        assert_eq!(status, 403);

        // An admin creates a team for CARE by naming it.
        let admin = app.api(&f.admin).await;
        let (status, body) = send(&admin, Method::POST, "/api/v1/teams", &json!({
            "organisation_id": c.org_id, "name": "Pu Trom team", "facility_id": c.facility_id,
            "members": [c.vhsg]})).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["organisation_code"], "CARE");
    }

    async fn the_demo_loads_cares_village_teams_once(app) {
        mentortrack::demo::load(&app.db).await.expect("load the demo");
        install_active(&app, "care_lead.wasm").await;
        let added = mentortrack::demo::teams::load(&app.db, &app.plugins).await.expect("teams");
        assert!(added > 0);
        let again = mentortrack::demo::teams::load(&app.db, &app.plugins).await.expect("again");
        assert_eq!(again, 0);
        let teams: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM teams t JOIN organisations o ON o.id = t.organisation_id WHERE o.code = 'CARE'")
            .fetch_one(app.db.pool()).await.unwrap();
        assert!(teams >= 3, "{teams} teams");
        // The last two quarters are assessed, with more than one kind of award.
        let quarters: Vec<String> = sqlx::query_scalar("SELECT DISTINCT quarter FROM team_assessments ORDER BY quarter")
            .fetch_all(app.db.pool()).await.unwrap();
        let current = Quarter::current();
        assert_eq!(quarters, vec![current.previous().previous().to_string(), current.previous().to_string()]);
        let outcomes: Vec<String> = sqlx::query_scalar("SELECT DISTINCT outcome_code FROM team_assessments ORDER BY outcome_code")
            .fetch_all(app.db.pool()).await.unwrap();
        assert!(outcomes.len() >= 2, "{outcomes:?}");
        let awarded: f64 = sqlx::query_scalar("SELECT CAST(SUM(award_amount) AS DOUBLE PRECISION) FROM team_assessments")
            .fetch_one(app.db.pool()).await.unwrap();
        assert!(awarded > 0.0);
        // Members come from CARE's community cadres.
        let cadres: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT p.cadre FROM team_members m JOIN providers p ON p.id = m.provider_id ORDER BY p.cadre")
            .fetch_all(app.db.pool()).await.unwrap();
        assert!(cadres.contains(&"traditional_birth_attendant".to_string()), "{cadres:?}");
        assert!(cadres.contains(&"village_health_support_group".to_string()), "{cadres:?}");
    }

    async fn a_failing_plugin_stores_nothing_and_names_the_checklist(app) {
        let f = app.seed_with_plugins().await;
        let c = care(&app, &f).await;
        let api = app.api(&c.mentor).await;
        let id = create_team(&api, &c, "Kachanh team").await["id"].as_i64().unwrap();
        let quarter = Quarter::current().to_string();
        set_targets(&api, id, &quarter).await;
        // A host whose plugin limits are too tight for any real scoring.
        let starved = app
            .another_process_with(test_config(), Limits { fuel: 1_000, ..Limits::default() })
            .await;
        let path = format!("/api/v1/teams/{id}/assessments/{quarter}");
        let body = assessment(&c, [40, 6, 28, 8, 5], true, None);
        let (status, err) = send(&starved.api(&c.mentor).await, Method::POST, &path, &body).await;
        assert_eq!(status, 503, "{err}");
        assert_eq!(err["error"]["code"], "scoring_failed");
        assert_eq!(fields(&err), vec!["assessment.checklist_id"]);
        assert!(err.to_string().contains("Quarterly village team assessment"), "{err}");
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM team_assessments")
            .fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(stored, 0);
        let achieved: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM team_targets WHERE achieved IS NOT NULL")
            .fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(achieved, 0);
        // The same assessment succeeds on a healthy host.
        assert_eq!(send(&api, Method::POST, &path, &body).await.0, 200);
    }
}
