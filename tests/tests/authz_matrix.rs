//! Every route × every role × a record of the actor's own organisation and of another: the
//! status each must get. A partner reading or changing another partner's record fails this
//! test, and so does an API route added without a row here.

use mentortrack::domain::quarter::Quarter;
use mentortrack_tests::{Fixture, Party, TestApp, engine_tests};
use reqwest::Method;
use serde_json::{Value, json};

/// Expected statuses: admin, manager, org admin on own, org admin on other, mentor on own,
/// mentor on other. Admins and managers are tried on both partners' records.
type Expect = [u16; 6];

struct Case {
    name: &'static str,
    method: Method,
    /// `/api/...` routes use a bearer token; others a signed-in browser.
    path: fn(&Party, &Fixture) -> String,
    body: fn(&Party, &Fixture) -> Value,
    expect: Expect,
}

fn unique() -> u64 {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn none(_: &Party, _: &Fixture) -> Value {
    json!({})
}

fn provider_body(p: &Party, _: &Fixture) -> Value {
    json!({"name": "Renamed Provider", "cadre": "nurse", "facility_id": p.facility.id})
}

/// A session at the party's facility for its provider, without observations.
fn session_body(p: &Party, _: &Fixture) -> Value {
    json!({
        "id": mentortrack::domain::scoring::new_uuid().unwrap_or_default(),
        "facility_id": p.facility.id,
        "date": "2026-01-15",
        "session_type": "case_review",
        "topic": "Matrix review",
        "duration_minutes": 20,
        "mentee_ids": [p.provider_id],
    })
}

/// A one-day training of the party's provider, without tests.
fn training_body(p: &Party, _: &Fixture) -> Value {
    json!({
        "id": mentortrack::domain::scoring::new_uuid().unwrap_or_default(),
        "title": "Matrix refresher",
        "start_date": "2026-01-15",
        "end_date": "2026-01-15",
        "venue": "District office",
        "facilitators": "Matrix",
        "participants": [{"provider_id": p.provider_id, "attendance": ["2026-01-15"]}],
    })
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "api list sessions",
            method: Method::GET,
            path: |p, _| format!("/api/v1/sessions?organisation_id={}", p.org.id),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "api provider timeline",
            method: Method::GET,
            path: |p, _| format!("/api/v1/providers/{}/timeline", p.provider_id),
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "api get session",
            method: Method::GET,
            path: |p, _| format!("/api/v1/sessions/{}", p.session_id),
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            // Admins log sessions for their own organisation only, so another's provider is
            // unknown to them (422); managers log none.
            name: "api create session",
            method: Method::POST,
            path: |_, _| "/api/v1/sessions".into(),
            body: session_body,
            expect: [422, 403, 201, 422, 201, 422],
        },
        Case {
            name: "api correct session",
            method: Method::PUT,
            path: |p, _| format!("/api/v1/sessions/{}", p.session_id),
            body: |p, f| {
                let mut body = session_body(p, f);
                body["id"] = Value::Null;
                body
            },
            expect: [200, 403, 200, 404, 200, 404],
        },
        Case {
            name: "api list trainings",
            method: Method::GET,
            path: |p, _| format!("/api/v1/trainings?organisation_id={}", p.org.id),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "api get training",
            method: Method::GET,
            path: |p, _| format!("/api/v1/trainings/{}", p.training_id),
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            // As for sessions: admins record for their own organisation, whose providers
            // these are not (422); managers record none.
            name: "api create training",
            method: Method::POST,
            path: |_, _| "/api/v1/trainings".into(),
            body: training_body,
            expect: [422, 403, 201, 422, 201, 422],
        },
        Case {
            name: "api correct training",
            method: Method::PUT,
            path: |p, _| format!("/api/v1/trainings/{}", p.training_id),
            body: |p, f| {
                let mut body = training_body(p, f);
                body["id"] = Value::Null;
                body
            },
            expect: [200, 403, 200, 404, 200, 404],
        },
        Case {
            name: "api list plugin grants",
            method: Method::GET,
            path: |p, _| format!("/api/v1/plugins/{}/grants", p.plugin_version_id),
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "api grant plugin",
            method: Method::POST,
            path: |p, _| format!("/api/v1/plugins/{}/grants", p.plugin_version_id),
            body: |_, f| json!({"organisation_id": f.pm.id}),
            expect: [201, 403, 201, 404, 403, 404],
        },
        Case {
            name: "api revoke plugin grant",
            method: Method::DELETE,
            path: |p, f| format!("/api/v1/plugins/{}/grants/{}", p.plugin_version_id, f.pm.id),
            body: none,
            expect: [204, 403, 204, 404, 403, 404],
        },
        Case {
            name: "api get organisation",
            method: Method::GET,
            path: |p, _| format!("/api/v1/organisations/{}", p.org.id),
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "api list organisations",
            method: Method::GET,
            path: |_, _| "/api/v1/organisations".into(),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "api create organisation",
            method: Method::POST,
            path: |_, _| "/api/v1/organisations".into(),
            body: |p, _| json!({"code": format!("N{}", p.org.code), "name": "New", "kind": "ngo"}),
            expect: [201, 403, 403, 403, 403, 403],
        },
        Case {
            name: "api get provider",
            method: Method::GET,
            path: |p, _| format!("/api/v1/providers/{}", p.provider_id),
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "api update provider",
            method: Method::PUT,
            path: |p, _| format!("/api/v1/providers/{}", p.provider_id),
            body: provider_body,
            expect: [200, 403, 200, 404, 200, 404],
        },
        Case {
            name: "api create provider",
            method: Method::POST,
            path: |_, _| "/api/v1/providers".into(),
            body: |p, _| json!({"organisation_id": p.org.id, "facility_id": p.facility.id, "name": "New Provider", "cadre": "midwife"}),
            expect: [201, 403, 201, 422, 201, 422],
        },
        Case {
            name: "api list providers",
            method: Method::GET,
            path: |p, _| format!("/api/v1/providers?organisation_id={}", p.org.id),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "api get user",
            method: Method::GET,
            path: |p, _| format!("/api/v1/users/{}", p.mentor_id),
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "api update user",
            method: Method::PATCH,
            path: |p, _| format!("/api/v1/users/{}", p.mentor_id),
            body: |_, _| json!({"display_name": "Renamed Mentor"}),
            expect: [200, 403, 200, 404, 200, 404],
        },
        Case {
            name: "api list users",
            method: Method::GET,
            path: |p, _| format!("/api/v1/users?organisation_id={}", p.org.id),
            body: none,
            expect: [200, 200, 200, 404, 403, 403],
        },
        Case {
            name: "api create user",
            method: Method::POST,
            path: |_, _| "/api/v1/users".into(),
            body: |p, _| json!({"organisation_id": p.org.id, "email": format!("new{}-{}@example.org", p.org.id, unique()), "display_name": "New", "role": "mentor", "password": "a-long-password"}),
            expect: [201, 403, 201, 422, 403, 403],
        },
        Case {
            name: "api list assignments",
            method: Method::GET,
            path: |p, _| format!("/api/v1/users/{}/assignments", p.mentor_id),
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "api add assignment",
            method: Method::POST,
            path: |p, _| format!("/api/v1/users/{}/assignments", p.mentor_id),
            body: |_, f| json!({"facility_id": f.unassigned_facility.id}),
            expect: [200, 403, 200, 404, 403, 404],
        },
        Case {
            name: "api remove assignment",
            method: Method::DELETE,
            path: |p, _| format!("/api/v1/users/{}/assignments/{}", p.mentor_id, 999_999),
            body: none,
            expect: [404, 403, 404, 404, 403, 404],
        },
        Case {
            name: "api audit of provider",
            method: Method::GET,
            path: |p, _| format!("/api/v1/audit?entity=provider&entity_id={}", p.provider_id),
            body: none,
            expect: [200, 200, 200, 404, 404, 404],
        },
        Case {
            name: "api recent audit",
            method: Method::GET,
            path: |_, _| "/api/v1/audit".into(),
            body: none,
            expect: [200, 200, 200, 200, 403, 403],
        },
        Case {
            name: "api list org units",
            method: Method::GET,
            path: |_, _| "/api/v1/org-units".into(),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "api get org unit",
            method: Method::GET,
            path: |p, _| format!("/api/v1/org-units/{}", p.facility.id),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "api create org unit",
            method: Method::POST,
            path: |_, _| "/api/v1/org-units".into(),
            body: |p, f| json!({"parent_id": f.district.id, "level": "facility", "facility_type": "health_post", "code": format!("NEW-{}", p.org.code), "name": "New Post"}),
            expect: [201, 403, 403, 403, 403, 403],
        },
        Case {
            name: "api me",
            method: Method::GET,
            path: |_, _| "/api/v1/me".into(),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        // Pages.
        Case {
            name: "page organisation",
            method: Method::GET,
            path: |p, _| format!("/organisations/{}", p.org.id),
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "page provider",
            method: Method::GET,
            path: |p, _| format!("/providers/{}", p.provider_id),
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "page edit provider",
            method: Method::GET,
            path: |p, _| format!("/providers/{}/edit", p.provider_id),
            body: none,
            expect: [200, 403, 200, 404, 200, 404],
        },
        Case {
            name: "page save provider",
            method: Method::POST,
            path: |p, _| format!("/providers/{}", p.provider_id),
            body: |p, _| json!({"name": "Saved Provider", "cadre": "midwife", "facility_id": p.facility.id.to_string(), "active": "on"}),
            expect: [303, 403, 303, 404, 303, 404],
        },
        Case {
            name: "page new provider",
            method: Method::GET,
            path: |_, _| "/providers/new".into(),
            body: none,
            expect: [200, 403, 200, 200, 200, 200],
        },
        Case {
            name: "page user",
            method: Method::GET,
            path: |p, _| format!("/users/{}", p.org_admin_id()),
            body: none,
            expect: [200, 200, 200, 404, 404, 404],
        },
        Case {
            name: "page save user",
            method: Method::POST,
            path: |p, _| format!("/users/{}", p.mentor_id),
            body: |_, _| json!({"display_name": "Web Renamed", "role": "mentor", "language": "en", "active": "on"}),
            expect: [303, 403, 303, 404, 303, 404],
        },
        Case {
            name: "page users",
            method: Method::GET,
            path: |_, _| "/users".into(),
            body: none,
            expect: [200, 200, 200, 200, 403, 403],
        },
        Case {
            name: "page new user",
            method: Method::GET,
            path: |_, _| "/users/new".into(),
            body: none,
            expect: [200, 403, 200, 200, 403, 403],
        },
        Case {
            name: "page add assignment",
            method: Method::POST,
            path: |p, _| format!("/users/{}/assignments", p.mentor_id),
            body: |_, f| json!({"facility_id": f.unassigned_facility.id.to_string()}),
            expect: [303, 403, 303, 404, 403, 404],
        },
        Case {
            name: "api list plugins",
            method: Method::GET,
            path: |_, _| "/api/v1/plugins".into(),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "api get plugin",
            method: Method::GET,
            path: |p, _| format!("/api/v1/plugins/{}", p.plugin_version_id),
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "api upload plugin",
            method: Method::POST,
            path: |_, _| "/api/v1/plugins".into(),
            body: |p, _| json!(format!("wasm:{}", p.plugin_file)),
            expect: [200, 403, 200, 422, 403, 403],
        },
        Case {
            name: "api activate plugin",
            method: Method::POST,
            path: |p, _| format!("/api/v1/plugins/{}/activate", p.plugin_version_id),
            body: none,
            expect: [200, 403, 200, 404, 403, 404],
        },
        Case {
            name: "api release plugin",
            method: Method::POST,
            path: |p, _| format!("/api/v1/plugins/{}/release", p.plugin_version_id),
            body: none,
            expect: [200, 403, 200, 404, 403, 404],
        },
        Case {
            name: "api checklists",
            method: Method::GET,
            path: |_, _| "/api/v1/checklists".into(),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "page plugins",
            method: Method::GET,
            path: |_, _| "/plugins".into(),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "page plugin",
            method: Method::GET,
            path: |p, _| format!("/plugins/{}", p.plugin_version_id),
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "page activate plugin",
            method: Method::POST,
            path: |p, _| format!("/plugins/{}/activate", p.plugin_version_id),
            body: none,
            expect: [303, 403, 303, 404, 403, 404],
        },
        Case {
            name: "page sessions",
            method: Method::GET,
            path: |_, _| "/sessions".into(),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "page session",
            method: Method::GET,
            path: |p, _| format!("/sessions/{}", p.session_id),
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "page new session",
            method: Method::GET,
            path: |_, _| "/sessions/new".into(),
            body: none,
            expect: [200, 403, 200, 200, 200, 200],
        },
        Case {
            name: "page edit session",
            method: Method::GET,
            path: |p, _| format!("/sessions/{}/edit", p.session_id),
            body: none,
            expect: [200, 403, 200, 404, 200, 404],
        },
        Case {
            name: "page withdraw session",
            method: Method::GET,
            path: |p, _| format!("/sessions/{}/withdraw", p.session_id),
            body: none,
            expect: [200, 403, 200, 404, 200, 404],
        },
        Case {
            name: "page trainings",
            method: Method::GET,
            path: |_, _| "/trainings".into(),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "page training",
            method: Method::GET,
            path: |p, _| format!("/trainings/{}", p.training_id),
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "page new training",
            method: Method::GET,
            path: |_, _| "/trainings/new".into(),
            body: none,
            expect: [200, 403, 200, 200, 200, 200],
        },
        Case {
            name: "page edit training",
            method: Method::GET,
            path: |p, _| format!("/trainings/{}/edit", p.training_id),
            body: none,
            expect: [200, 403, 200, 404, 200, 404],
        },
        Case {
            name: "page training attendance",
            method: Method::GET,
            path: |p, _| format!("/trainings/{}/attendance", p.training_id),
            body: none,
            expect: [200, 403, 200, 404, 200, 404],
        },
        Case {
            name: "page training test",
            method: Method::GET,
            path: |p, _| {
                format!(
                    "/trainings/{}/test?provider_id={}&phase=pre",
                    p.training_id, p.provider_id
                )
            },
            body: none,
            expect: [200, 403, 200, 404, 200, 404],
        },
        Case {
            name: "page withdraw training",
            method: Method::GET,
            path: |p, _| format!("/trainings/{}/withdraw", p.training_id),
            body: none,
            expect: [200, 403, 200, 404, 200, 404],
        },
        Case {
            name: "api list qi projects",
            method: Method::GET,
            path: |p, _| format!("/api/v1/qi-projects?organisation_id={}", p.org.id),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "api get qi project",
            method: Method::GET,
            path: |p, _| format!("/api/v1/qi-projects/{}", p.records.qi_project_id),
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        // Facilities are shared: an org admin may start its own organisation's work at any
        // facility (B's here), a mentor only where assigned.
        Case {
            name: "api create qi project",
            method: Method::POST,
            path: |_, _| "/api/v1/qi-projects".into(),
            body: |p, _| {
                json!({"facility_id": p.facility.id, "title": format!("Skin to skin {}", unique()),
                       "problem": "Babies separated", "aim": "80 % skin to skin within 1 h", "status": "planned",
                       "started_on": chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string()})
            },
            expect: [201, 403, 201, 201, 201, 422],
        },
        Case {
            // Seeded at revision 2 (the project, then its first cycle).
            name: "api update qi project",
            method: Method::PUT,
            path: |p, _| format!("/api/v1/qi-projects/{}", p.records.qi_project_id),
            body: |p, _| {
                json!({"facility_id": p.facility.id, "title": "Partograph use", "problem": "Partographs incomplete",
                       "aim": "95 % complete", "status": "active",
                       "started_on": chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string(), "revision": 2})
            },
            expect: [200, 403, 200, 404, 200, 404],
        },
        Case {
            name: "api add pdsa cycle",
            method: Method::POST,
            path: |p, _| format!("/api/v1/qi-projects/{}/cycles", p.records.qi_project_id),
            body: |_, _| {
                json!({"change_idea": "Daily huddle", "plan": "Review partographs at handover",
                       "started_on": chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string()})
            },
            expect: [201, 403, 201, 404, 201, 404],
        },
        Case {
            // After the update (3) and the added cycle (4).
            name: "api update pdsa cycle",
            method: Method::PUT,
            path: |p, _| {
                format!(
                    "/api/v1/qi-projects/{}/cycles/{}",
                    p.records.qi_project_id, p.records.pdsa_cycle_id
                )
            },
            body: |_, _| {
                json!({"change_idea": "Wall chart", "plan": "Chart in the labour ward and the admission room",
                       "started_on": chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string(), "revision": 4})
            },
            expect: [200, 403, 200, 404, 200, 404],
        },
        Case {
            name: "api list action items",
            method: Method::GET,
            path: |p, _| format!("/api/v1/action-items?organisation_id={}", p.org.id),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        // Facilities are shared: an org admin may start its own organisation's work at any
        // facility (B's here), a mentor only where assigned.
        Case {
            name: "api create action item",
            method: Method::POST,
            path: |_, _| "/api/v1/action-items".into(),
            body: |p, _| {
                json!({"facility_id": p.facility.id, "description": "Check the bag and mask daily",
                       "owner": "Midwife on duty",
                       "due_on": (chrono::Utc::now().date_naive() + chrono::Duration::days(14)).format("%Y-%m-%d").to_string()})
            },
            expect: [201, 403, 201, 201, 201, 422],
        },
        Case {
            name: "api update action item",
            method: Method::PUT,
            path: |p, _| format!("/api/v1/action-items/{}", p.records.action_item_id),
            body: |_, _| json!({"status": "done"}),
            expect: [200, 403, 200, 404, 200, 404],
        },
        Case {
            name: "api list teams",
            method: Method::GET,
            path: |p, _| format!("/api/v1/teams?organisation_id={}", p.org.id),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "api get team",
            method: Method::GET,
            path: |p, _| format!("/api/v1/teams/{}", p.records.team_id),
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "api team assessments",
            method: Method::GET,
            path: |p, _| format!("/api/v1/teams/{}/assessments", p.records.team_id),
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "api create team",
            method: Method::POST,
            path: |_, _| "/api/v1/teams".into(),
            body: |p, _| {
                json!({"name": format!("Team {}", unique()), "facility_id": p.facility.id, "members": [p.provider_id],
                       "organisation_id": p.org.id})
            },
            expect: [201, 403, 201, 422, 201, 422],
        },
        Case {
            name: "api update team",
            method: Method::PUT,
            path: |p, _| format!("/api/v1/teams/{}", p.records.team_id),
            body: |p, _| {
                json!({"name": format!("Village team {}", p.org.code), "village": "Kang Ktav", "facility_id": p.facility.id,
                       "members": [p.provider_id], "revision": 1})
            },
            expect: [200, 403, 200, 404, 200, 404],
        },
        Case {
            name: "api set team targets",
            method: Method::PUT,
            path: |p, _| {
                format!(
                    "/api/v1/teams/{}/targets/{}",
                    p.records.team_id,
                    Quarter::current()
                )
            },
            body: |_, _| json!({"targets": {"households_mapped": 120, "home_visits": 60}}),
            expect: [200, 403, 200, 404, 200, 404],
        },
        Case {
            // Party A's organisation has no team-assessment checklist: a clear 422.
            name: "api assess team",
            method: Method::POST,
            path: |p, _| {
                format!(
                    "/api/v1/teams/{}/assessments/{}",
                    p.records.team_id,
                    Quarter::current()
                )
            },
            body: |_, _| json!({"assessment": {"plugin_version_id": 1, "checklist_id": "team-quarterly", "responses": []}}),
            expect: [422, 403, 422, 404, 422, 404],
        },
        Case {
            name: "api list death reviews",
            method: Method::GET,
            path: |p, _| format!("/api/v1/death-reviews?organisation_id={}", p.org.id),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "api get death review",
            method: Method::GET,
            path: |p, _| format!("/api/v1/death-reviews/{}", p.records.death_review_id),
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            // Project management reads death reviews but never records them; an org admin may
            // record one at any facility (B's here), a mentor only where assigned.
            name: "api notify death",
            method: Method::POST,
            path: |_, _| "/api/v1/death-reviews".into(),
            body: |p, _| {
                let day = chrono::Utc::now()
                    .date_naive()
                    .format("%Y-%m-%d")
                    .to_string();
                json!({"facility_id": p.facility.id, "death_type": "perinatal", "notified_on": day, "died_on": day})
            },
            expect: [403, 403, 201, 201, 201, 422],
        },
        Case {
            name: "api update death review",
            method: Method::PUT,
            path: |p, _| format!("/api/v1/death-reviews/{}", p.records.death_review_id),
            body: |p, _| {
                let day = |d: i64| {
                    (chrono::Utc::now().date_naive() + chrono::Duration::days(d))
                        .format("%Y-%m-%d")
                        .to_string()
                };
                json!({"facility_id": p.facility.id, "death_type": "maternal", "notified_on": day(-3),
                       "died_on": day(-5), "reviewed_on": day(-1), "committee": "Facility MPDSR committee",
                       "cause_group": 2, "avoidable": "yes", "revision": 1})
            },
            expect: [403, 403, 200, 404, 200, 404],
        },
        Case {
            name: "api add recommendation",
            method: Method::POST,
            path: |p, _| {
                format!(
                    "/api/v1/death-reviews/{}/recommendations",
                    p.records.death_review_id
                )
            },
            body: |_, _| {
                json!({"description": "Drill eclampsia management monthly", "owner": "Head of maternity",
                       "deadline": (chrono::Utc::now().date_naive() + chrono::Duration::days(60)).format("%Y-%m-%d").to_string()})
            },
            expect: [403, 403, 201, 404, 201, 404],
        },
        Case {
            name: "api update recommendation",
            method: Method::PUT,
            path: |p, _| {
                format!(
                    "/api/v1/death-reviews/{}/recommendations/{}",
                    p.records.death_review_id, p.records.recommendation_id
                )
            },
            body: |_, _| json!({"status": "in_progress"}),
            expect: [403, 403, 200, 404, 200, 404],
        },
        Case {
            name: "page death reviews",
            method: Method::GET,
            path: |_, _| "/death-reviews".into(),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "page death review",
            method: Method::GET,
            path: |p, _| format!("/death-reviews/{}", p.records.death_review_id),
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "api list indicators",
            method: Method::GET,
            path: |_, _| "/api/v1/indicators".into(),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            // The catalogue is the programme's: everyone reads it, project management edits it.
            name: "api get indicator",
            method: Method::GET,
            path: |p, _| format!("/api/v1/indicators/{}", p.records.indicator_id),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "api create indicator",
            method: Method::POST,
            path: |_, _| "/api/v1/indicators".into(),
            body: |_, _| indicator_body(&format!("NEW_{}", unique())),
            expect: [201, 201, 403, 403, 403, 403],
        },
        Case {
            name: "api update indicator",
            method: Method::PUT,
            path: |p, _| format!("/api/v1/indicators/{}", p.records.indicator_id),
            body: |p, _| {
                let mut body = indicator_body(p.org.code.as_str());
                body["target"] = json!(12);
                body["revision"] = json!(1);
                body
            },
            expect: [200, 200, 403, 403, 403, 403],
        },
        Case {
            // Figures of one organisation: its own people, or project management.
            name: "api indicator figures",
            method: Method::GET,
            path: |p, _| {
                format!(
                    "/api/v1/indicators/{}/figures?quarter={}&organisation_id={}",
                    p.records.indicator_id,
                    Quarter::current(),
                    p.org.id
                )
            },
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "api list reports",
            method: Method::GET,
            path: |p, _| format!("/api/v1/reports?organisation_id={}", p.org.id),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "api programme report",
            method: Method::GET,
            path: |_, _| {
                format!(
                    "/api/v1/reports/programme/{}",
                    Quarter::current().previous()
                )
            },
            body: none,
            expect: [200, 200, 403, 403, 403, 403],
        },
        Case {
            name: "api get report",
            method: Method::GET,
            path: |p, _| {
                format!(
                    "/api/v1/reports/{}/{}",
                    p.org.id,
                    Quarter::current().previous()
                )
            },
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            // Only the organisation's own org admin writes and submits its report.
            name: "api report narrative",
            method: Method::PUT,
            path: |p, _| {
                format!(
                    "/api/v1/reports/{}/{}/narrative",
                    p.org.id,
                    Quarter::current()
                )
            },
            body: |_, _| narrative_body(),
            expect: [403, 403, 200, 404, 403, 404],
        },
        Case {
            name: "api submit report",
            method: Method::POST,
            path: |p, _| format!("/api/v1/reports/{}/{}/submit", p.org.id, Quarter::current()),
            body: none,
            expect: [403, 403, 200, 404, 403, 404],
        },
        Case {
            name: "api approve report",
            method: Method::POST,
            path: |p, _| {
                format!(
                    "/api/v1/reports/{}/{}/approve",
                    p.org.id,
                    Quarter::current().previous()
                )
            },
            body: none,
            expect: [200, 200, 403, 404, 403, 404],
        },
        Case {
            name: "api return report",
            method: Method::POST,
            path: |p, _| {
                format!(
                    "/api/v1/reports/{}/{}/return",
                    p.org.id,
                    Quarter::current().previous().previous()
                )
            },
            body: |_, _| json!({"comment": "Please add the district breakdown of the drills"}),
            expect: [200, 200, 403, 404, 403, 404],
        },
        Case {
            name: "page indicators",
            method: Method::GET,
            path: |_, _| "/indicators".into(),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "page reports",
            method: Method::GET,
            path: |_, _| "/reports".into(),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "page report",
            method: Method::GET,
            path: |p, _| format!("/reports/{}/{}", p.org.id, Quarter::current().previous()),
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "page programme report",
            method: Method::GET,
            path: |_, _| format!("/reports/programme/{}", Quarter::current().previous()),
            body: none,
            expect: [200, 200, 403, 403, 403, 403],
        },
        // Exports (after the approvals above: the previous quarter's report is approved for
        // admins and managers, still submitted for the partners' own people).
        Case {
            name: "api report export csv",
            method: Method::GET,
            path: |p, _| {
                format!(
                    "/api/v1/reports/{}/{}/export.csv",
                    p.org.id,
                    Quarter::current().previous()
                )
            },
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "api report export xlsx",
            method: Method::GET,
            path: |p, _| {
                format!(
                    "/api/v1/reports/{}/{}/export.xlsx",
                    p.org.id,
                    Quarter::current().previous()
                )
            },
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "api report dhis2",
            method: Method::GET,
            path: |p, _| {
                format!(
                    "/api/v1/reports/{}/{}/dhis2",
                    p.org.id,
                    Quarter::current().previous()
                )
            },
            body: none,
            expect: [200, 200, 409, 404, 409, 404],
        },
        Case {
            name: "api report dhis2 gaps",
            method: Method::GET,
            path: |p, _| {
                format!(
                    "/api/v1/reports/{}/{}/dhis2/gaps",
                    p.org.id,
                    Quarter::current().previous()
                )
            },
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "api export sessions csv",
            method: Method::GET,
            path: |p, _| format!("/api/v1/sessions/export.csv?organisation_id={}", p.org.id),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "api export sessions xlsx",
            method: Method::GET,
            path: |p, _| format!("/api/v1/sessions/export.xlsx?organisation_id={}", p.org.id),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "api export trainings csv",
            method: Method::GET,
            path: |p, _| format!("/api/v1/trainings/export.csv?organisation_id={}", p.org.id),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "api export trainings xlsx",
            method: Method::GET,
            path: |p, _| format!("/api/v1/trainings/export.xlsx?organisation_id={}", p.org.id),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "api dhis2 data elements",
            method: Method::GET,
            path: |_, _| "/api/v1/dhis2/data-elements".into(),
            body: none,
            expect: [200, 200, 403, 403, 403, 403],
        },
        Case {
            name: "api dhis2 map data element",
            method: Method::PUT,
            path: |p, _| format!("/api/v1/dhis2/data-elements/{}", p.records.indicator_id),
            body: |p, _| json!({"data_element": format!("de{:09}", p.records.indicator_id)}),
            expect: [200, 403, 403, 403, 403, 403],
        },
        Case {
            name: "api dhis2 unmap data element",
            method: Method::DELETE,
            path: |p, _| format!("/api/v1/dhis2/data-elements/{}", p.records.indicator_id),
            body: none,
            expect: [204, 403, 403, 403, 403, 403],
        },
        Case {
            name: "api dhis2 org units",
            method: Method::GET,
            path: |_, _| "/api/v1/dhis2/org-units".into(),
            body: none,
            expect: [200, 200, 403, 403, 403, 403],
        },
        Case {
            name: "api dhis2 map org unit",
            method: Method::PUT,
            path: |p, _| format!("/api/v1/dhis2/org-units/{}", p.facility.id),
            body: |p, _| json!({"dhis2_uid": format!("ou{:09}", p.facility.id)}),
            expect: [200, 403, 403, 403, 403, 403],
        },
        Case {
            name: "api dhis2 unmap org unit",
            method: Method::DELETE,
            path: |p, _| format!("/api/v1/dhis2/org-units/{}", p.facility.id),
            body: none,
            expect: [204, 403, 403, 403, 403, 403],
        },
        Case {
            name: "page report export csv",
            method: Method::GET,
            path: |p, _| {
                format!(
                    "/reports/{}/{}/export.csv",
                    p.org.id,
                    Quarter::current().previous()
                )
            },
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "page report export xlsx",
            method: Method::GET,
            path: |p, _| {
                format!(
                    "/reports/{}/{}/export.xlsx",
                    p.org.id,
                    Quarter::current().previous()
                )
            },
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "page report dhis2",
            method: Method::GET,
            path: |p, _| {
                format!(
                    "/reports/{}/{}/dhis2",
                    p.org.id,
                    Quarter::current().previous()
                )
            },
            body: none,
            expect: [200, 200, 409, 404, 409, 404],
        },
        Case {
            name: "page export sessions",
            method: Method::GET,
            path: |_, _| "/sessions/export.csv".into(),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "page export trainings",
            method: Method::GET,
            path: |_, _| "/trainings/export.xlsx".into(),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "page dhis2 mapping",
            method: Method::GET,
            path: |_, _| "/dhis2".into(),
            body: none,
            expect: [200, 200, 403, 403, 403, 403],
        },
        Case {
            name: "page dhis2 map org unit",
            method: Method::POST,
            path: |p, _| format!("/dhis2/org-units/{}", p.facility.id),
            body: |p, _| json!({"dhis2_uid": format!("pg{:09}", p.facility.id)}),
            expect: [303, 403, 403, 403, 403, 403],
        },
        Case {
            name: "page dhis2 unmap org unit",
            method: Method::POST,
            path: |p, _| format!("/dhis2/org-units/{}/clear", p.facility.id),
            body: none,
            expect: [303, 403, 403, 403, 403, 403],
        },
        Case {
            name: "page dhis2 map data element",
            method: Method::POST,
            path: |p, _| format!("/dhis2/data-elements/{}", p.records.indicator_id),
            body: |p, _| json!({"data_element": format!("pg{:09}", p.records.indicator_id)}),
            expect: [303, 403, 403, 403, 403, 403],
        },
        Case {
            name: "page qi projects",
            method: Method::GET,
            path: |_, _| "/qi".into(),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "page qi project",
            method: Method::GET,
            path: |p, _| format!("/qi/{}", p.records.qi_project_id),
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "page action items",
            method: Method::GET,
            path: |_, _| "/qi/actions".into(),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "page session actions",
            method: Method::GET,
            path: |p, _| format!("/sessions/{}/actions", p.session_id),
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "page teams",
            method: Method::GET,
            path: |_, _| "/teams".into(),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "page team",
            method: Method::GET,
            path: |p, _| format!("/teams/{}", p.records.team_id),
            body: none,
            expect: [200, 200, 200, 404, 200, 404],
        },
        Case {
            name: "page home",
            method: Method::GET,
            path: |_, _| "/".into(),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "page providers",
            method: Method::GET,
            path: |_, _| "/providers".into(),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "page organisations",
            method: Method::GET,
            path: |_, _| "/organisations".into(),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "page facilities",
            method: Method::GET,
            path: |_, _| "/facilities?q=health".into(),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "page facility",
            method: Method::GET,
            path: |p, _| format!("/facilities/{}", p.facility.id),
            body: none,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Case {
            name: "page remove assignment",
            method: Method::POST,
            path: |p, f| {
                format!(
                    "/users/{}/assignments/{}/delete",
                    p.mentor_id, f.unassigned_facility.id
                )
            },
            body: none,
            expect: [303, 403, 303, 404, 403, 404],
        },
        Case {
            name: "page release plugin",
            method: Method::POST,
            path: |p, _| format!("/plugins/{}/release", p.plugin_version_id),
            body: none,
            expect: [303, 403, 303, 404, 403, 404],
        },
        Case {
            name: "api withdraw training",
            method: Method::POST,
            path: |p, _| format!("/api/v1/trainings/{}/withdraw", p.training_id),
            body: |_, _| json!({"reason": "matrix"}),
            expect: [200, 403, 200, 404, 200, 404],
        },
        // Late: a withdrawn session can no longer be corrected.
        Case {
            name: "api withdraw session",
            method: Method::POST,
            path: |p, _| format!("/api/v1/sessions/{}/withdraw", p.session_id),
            body: |_, _| json!({"reason": "matrix"}),
            expect: [200, 403, 200, 404, 200, 404],
        },
        // Late: retiring takes the plugin out of use for the rows after it.
        Case {
            name: "api retire plugin",
            method: Method::POST,
            path: |p, _| format!("/api/v1/plugins/{}/retire", p.plugin_version_id),
            body: none,
            expect: [200, 403, 200, 404, 403, 404],
        },
        // Last: it changes the mentor's role for the rows after it.
        Case {
            name: "api promote user",
            method: Method::PATCH,
            path: |p, _| format!("/api/v1/users/{}", p.mentor_id),
            body: |_, _| json!({"role": "org_admin"}),
            expect: [200, 403, 200, 404, 422, 404],
        },
        Case {
            name: "page create organisation",
            method: Method::POST,
            path: |_, _| "/organisations".into(),
            body: |p, _| json!({"code": format!("W{}", p.org.code), "name": "Web Org", "kind": "ngo"}),
            expect: [303, 403, 403, 403, 403, 403],
        },
    ]
}

trait OrgAdminId {
    fn org_admin_id(&self) -> i64;
}

impl OrgAdminId for Party {
    /// The org admin was created just before the mentor.
    fn org_admin_id(&self) -> i64 {
        self.mentor_id - 1
    }
}

enum Caller {
    Api(mentortrack_tests::Api),
    Web(mentortrack_tests::Web),
}

async fn call(caller: &Caller, case: &Case, target: &Party, f: &Fixture) -> u16 {
    let path = (case.path)(target, f);
    let body = (case.body)(target, f);
    match caller {
        Caller::Api(api) => match body.as_str().and_then(|b| b.strip_prefix("wasm:")) {
            // A plugin upload: the component itself is the body.
            Some(file) => api
                .client
                .request(case.method.clone(), format!("{}{path}", api.base))
                .bearer_auth(&api.token)
                .header("content-type", "application/wasm")
                .body(mentortrack_tests::component(file))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            None => api
                .send(case.method.clone(), &path, &body)
                .await
                .status()
                .as_u16(),
        },
        Caller::Web(web) => {
            if case.method == Method::GET {
                web.get(&path).await.status().as_u16()
            } else {
                let fields: Vec<(String, String)> = body
                    .as_object()
                    .map(|o| {
                        o.iter()
                            .map(|(k, v)| {
                                (
                                    k.clone(),
                                    v.as_str()
                                        .map(str::to_string)
                                        .unwrap_or_else(|| v.to_string()),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let refs: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                web.post(&path, &refs).await.status().as_u16()
            }
        }
    }
}

async fn run_matrix(first: TestApp) {
    let labels = ["admin", "manager", "org admin of A", "mentor of A"];
    let mut failures = Vec::new();
    let engine = first.engine;
    let mut spare = Some(first);
    for label in labels {
        // Each actor on a fresh programme, so one actor's changes cannot mask another's result.
        let app = match spare.take() {
            Some(app) => app,
            None => TestApp::spawn(engine).await,
        };
        let mut f = app.seed_with_sessions().await;
        seed_reporting(&app, &mut f).await;
        let email = match label {
            "admin" => f.admin.clone(),
            "manager" => f.manager.clone(),
            "org admin of A" => f.a.org_admin.clone(),
            _ => f.a.mentor.clone(),
        };
        let email = &email;
        let api = Caller::Api(app.api(email).await);
        let web = Caller::Web(app.sign_in(email).await);
        for case in cases() {
            let caller = if case.name.starts_with("api") {
                &api
            } else {
                &web
            };
            let (own_idx, other_idx) = match label {
                "admin" => (0, 0),
                "manager" => (1, 1),
                "org admin of A" => (2, 3),
                _ => (4, 5),
            };
            for (target, idx, which) in [(&f.a, own_idx, "A"), (&f.b, other_idx, "B")] {
                let got = call(caller, &case, target, &f).await;
                let want = case.expect[idx];
                if got != want {
                    failures.push(format!(
                        "{label} → {} on {which}'s record: got {got}, expected {want}",
                        case.name
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorisation matrix failures:\n{}",
        failures.join("\n")
    );
}

/// One of each reporting record per partner, created by its mentor through the API; an
/// indicator of the catalogue for each; and the partner's reports of the two previous
/// quarters submitted, ready to be approved or returned.
async fn seed_reporting(app: &TestApp, f: &mut Fixture) {
    let today = chrono::Utc::now().date_naive();
    let day = |d: i64| {
        (today + chrono::Duration::days(d))
            .format("%Y-%m-%d")
            .to_string()
    };
    let admin = app.api(&f.admin).await;
    for party in [&mut f.a, &mut f.b] {
        let r = admin
            .send(
                Method::POST,
                "/api/v1/indicators",
                &indicator_body(party.org.code.as_str()),
            )
            .await;
        assert_eq!(r.status(), 201, "seeding an indicator");
        party.records.indicator_id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let org_admin = app.api(&party.org_admin).await;
        let quarter = Quarter::current();
        for q in [quarter.previous(), quarter.previous().previous()] {
            let base = format!("/api/v1/reports/{}/{q}", party.org.id);
            let r = org_admin
                .send(Method::PUT, &format!("{base}/narrative"), &narrative_body())
                .await;
            assert_eq!(r.status(), 200, "seeding a report narrative");
            let r = org_admin
                .send(Method::POST, &format!("{base}/submit"), &json!({}))
                .await;
            assert_eq!(r.status(), 200, "submitting a seeded report");
        }
    }
    for party in [&mut f.a, &mut f.b] {
        let api = app.api(&party.mentor).await;
        let created = |what: &'static str| {
            move |r: (u16, Value)| {
                assert_eq!(r.0, 201, "seeding {what}: {}", r.1);
                r.1["id"].as_i64().unwrap_or_default()
            }
        };
        let post = |path: String, body: Value| {
            let api = &api;
            async move {
                let r = api.send(Method::POST, &path, &body).await;
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let r = &mut party.records;
        r.qi_project_id = created("a QI project")(
            post(
                "/api/v1/qi-projects".into(),
                json!({"facility_id": party.facility.id, "title": "Partograph use", "problem": "Partographs incomplete",
                       "aim": "90 % complete by next quarter", "status": "active", "started_on": day(0)}),
            )
            .await,
        );
        r.pdsa_cycle_id = created("a PDSA cycle")(
            post(
                format!("/api/v1/qi-projects/{}/cycles", r.qi_project_id),
                json!({"change_idea": "Wall chart", "plan": "Put the chart in the labour ward", "started_on": day(0)}),
            )
            .await,
        );
        r.action_item_id = created("an action item")(
            post(
                "/api/v1/action-items".into(),
                json!({"session_id": party.session_id, "description": "Restock oxytocin", "owner": "Ward in charge",
                       "due_on": day(7)}),
            )
            .await,
        );
        let review = post(
            "/api/v1/death-reviews".into(),
            json!({"facility_id": party.facility.id, "death_type": "maternal", "notified_on": day(-3),
                   "died_on": day(-5), "reviewed_on": day(-1), "committee": "Facility MPDSR committee",
                   "cause_group": 3, "avoidable": "yes", "delay_receiving": true}),
        )
        .await;
        r.death_review_id = created("a death review")(review);
        let with_recommendation = post(
            format!("/api/v1/death-reviews/{}/recommendations", r.death_review_id),
            json!({"description": "Keep oxytocin in the delivery room fridge", "owner": "Maternity in charge",
                   "deadline": day(30), "status": "open"}),
        )
        .await;
        assert_eq!(with_recommendation.0, 201, "{}", with_recommendation.1);
        r.recommendation_id = with_recommendation.1["recommendation_list"][0]["id"]
            .as_i64()
            .unwrap_or_default();
        r.team_id = created("a team")(
            post(
                "/api/v1/teams".into(),
                json!({"name": format!("Village team {}", party.org.code), "village": "Kang Ktav",
                       "facility_id": party.facility.id, "members": [party.provider_id]}),
            )
            .await,
        );
    }
}

fn indicator_body(code: &str) -> Value {
    json!({"code": format!("MATRIX_{code}"), "name": "Sessions held", "definition": "Recorded LDHF sessions",
           "numerator": "sessions", "unit": "count", "data_source": "mentortrack sessions",
           "frequency": "quarterly", "disaggregations": ["district"]})
}

fn narrative_body() -> Value {
    json!({"revision": 0, "achievements": "Monthly drills at every facility", "challenges": "Staff turnover",
           "next_quarter_plan": "Refresher for new staff"})
}

async fn run_lists_do_not_leak(app: TestApp) {
    let f = app.seed().await;
    for email in [&f.a.org_admin, &f.a.mentor] {
        let api = app.api(email).await;
        let body: Value = api
            .get("/api/v1/providers?per_page=200")
            .await
            .json()
            .await
            .unwrap();
        let orgs: Vec<i64> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["organisation_id"].as_i64().unwrap())
            .collect();
        assert!(!orgs.is_empty());
        assert!(
            orgs.iter().all(|o| *o == f.a.org.id),
            "{email} sees other partners' providers: {orgs:?}"
        );
        let asked_other: Value = api
            .get(&format!("/api/v1/providers?organisation_id={}", f.b.org.id))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            asked_other["total"], 0,
            "asking for B's providers by id must return none"
        );
        let orgs: Value = api.get("/api/v1/organisations").await.json().await.unwrap();
        let ids: Vec<i64> = orgs
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, vec![f.a.org.id]);

        let web = app.sign_in(email).await;
        let (_, page) = web.html("/providers?q=Provider").await;
        let names = mentortrack_tests::texts(&page, "#providers tbody td a");
        assert!(names.iter().any(|n| n.contains("RAM")), "{names:?}");
        assert!(
            !names.iter().any(|n| n.contains("RPA")),
            "{email} sees B's provider on the list page: {names:?}"
        );
        let (_, facility) = web.html(&format!("/facilities/{}", f.b.facility.id)).await;
        let at_b = mentortrack_tests::texts(&facility, "#facility-providers li");
        assert!(
            !at_b.iter().any(|n| n.contains("RPA")),
            "{email} sees B's provider on B's facility page"
        );
    }
    // Managers see both.
    let api = app.api(&f.manager).await;
    let body: Value = api
        .get("/api/v1/providers?per_page=200")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["total"], 2);
}

/// Unauthenticated callers get 401 from every API route and the login page from every page.
async fn run_anonymous(app: TestApp) {
    let f = app.seed_with_sessions().await;
    let client = app.client();
    for case in cases() {
        let path = (case.path)(&f.a, &f);
        let response = client
            .request(case.method.clone(), app.at(&path))
            .json(&(case.body)(&f.a, &f))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        if case.name.starts_with("api") {
            assert_eq!(status, 401, "{} without a token", case.name);
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "unauthenticated");
        } else if case.method == Method::GET {
            assert_eq!(status, 303, "{} without a session", case.name);
        } else {
            assert_eq!(
                status, 403,
                "{} without a session must fail the CSRF check",
                case.name
            );
        }
    }
    // A made-up token is no better than none.
    let r = client
        .get(app.at("/api/v1/me"))
        .bearer_auth("mt_forged")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

/// Every documented API route has at least one row in the matrix.
#[test]
fn every_api_route_is_in_the_matrix() {
    let doc = mentortrack::api::openapi();
    let mut missing = Vec::new();
    for (path, item) in doc.paths.paths.iter() {
        let methods = [
            ("GET", item.get.is_some()),
            ("POST", item.post.is_some()),
            ("PUT", item.put.is_some()),
            ("PATCH", item.patch.is_some()),
            ("DELETE", item.delete.is_some()),
        ];
        for (method, present) in methods {
            if !present || path == "/api/v1/auth/token" {
                continue;
            }
            let covered = cases()
                .iter()
                .any(|c| c.method.as_str() == method && route_matches(path, &c.path_template()));
            if !covered {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "API routes missing from the authorisation matrix: {missing:?}"
    );
}

fn route_matches(template: &str, concrete: &str) -> bool {
    let concrete = concrete.split('?').next().unwrap_or("");
    let t: Vec<_> = template.split('/').collect();
    let c: Vec<_> = concrete.split('/').collect();
    t.len() == c.len() && t.iter().zip(&c).all(|(a, b)| a.starts_with('{') || a == b)
}

impl Case {
    /// The path with made-up ids, to compare against route templates.
    fn path_template(&self) -> String {
        let dummy = dummy_fixture();
        (self.path)(&dummy.a, &dummy)
    }
}

fn dummy_fixture() -> Fixture {
    use mentortrack::domain::org_units::OrgUnit;
    use mentortrack::domain::organisations::Organisation;
    let org = Organisation {
        id: 1,
        code: "X".into(),
        name: "X".into(),
        kind: "ngo".into(),
        country: None,
        created_at: String::new(),
        updated_at: String::new(),
    };
    let unit = OrgUnit {
        id: 1,
        parent_id: None,
        level: "facility".into(),
        facility_type: None,
        code: "X".into(),
        name: "X".into(),
        path: String::new(),
        created_at: String::new(),
        updated_at: String::new(),
    };
    let party = || Party {
        org: org.clone(),
        org_admin: String::new(),
        mentor: String::new(),
        mentor_id: 2,
        facility: unit.clone(),
        provider_id: 3,
        plugin_file: "hbb.wasm",
        plugin_version_id: 4,
        session_id: "5".into(),
        training_id: "6".into(),
        records: mentortrack_tests::Records {
            qi_project_id: 7,
            pdsa_cycle_id: 8,
            action_item_id: 9,
            team_id: 10,
            death_review_id: 11,
            recommendation_id: 12,
            indicator_id: 13,
        },
    };
    Fixture {
        admin: String::new(),
        manager: String::new(),
        pm: org.clone(),
        a: party(),
        b: party(),
        district: unit.clone(),
        unassigned_facility: unit.clone(),
    }
}

engine_tests! {
    async fn authorisation_matrix(app) { run_matrix(app).await }
    async fn lists_never_include_other_partners_records(app) { run_lists_do_not_leak(app).await }
    async fn anonymous_callers_are_turned_away(app) { run_anonymous(app).await }
}
