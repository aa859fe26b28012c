//! The JSON API as a client sees it: tokens, the error shape, bad input, the OpenAPI document.

use mentortrack_tests::{PASSWORD, TestApp, engine_tests};
use reqwest::Method;
use serde_json::{Value, json};

async fn tokens_are_issued_checked_and_revoked(app: TestApp) {
    let f = app.seed().await;
    let client = app.client();
    let wrong = client
        .post(app.at("/api/v1/auth/token"))
        .json(&json!({"email": f.a.mentor, "password": "not-the-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthenticated");

    let unknown = client
        .post(app.at("/api/v1/auth/token"))
        .json(&json!({"email": "nobody@example.org", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);

    let api = app.api(&f.a.mentor).await;
    let me: Value = api.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["email"], f.a.mentor.as_str());
    assert_eq!(me["role"], "mentor");

    // The token is stored only as a digest.
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    assert!(!stored.iter().any(|h| h == &api.token));

    let revoke = api
        .send(Method::DELETE, "/api/v1/auth/token", &json!({}))
        .await;
    assert_eq!(revoke.status(), 204);
    assert_eq!(api.get("/api/v1/me").await.status(), 401);
}

async fn deactivating_a_user_kills_their_tokens(app: TestApp) {
    let f = app.seed().await;
    let mentor = app.api(&f.a.mentor).await;
    let admin = app.api(&f.a.org_admin).await;
    let r = admin
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{}", f.a.mentor_id),
            &json!({"active": false}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(mentor.get("/api/v1/me").await.status(), 401);
    let again = app
        .client()
        .post(app.at("/api/v1/auth/token"))
        .json(&json!({"email": f.a.mentor, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status(),
        401,
        "a deactivated account cannot get a token"
    );
}

async fn bad_input_gets_specific_errors_and_writes_nothing(app: TestApp) {
    let f = app.seed().await;
    let api = app.api(&f.a.org_admin).await;
    let before = app.count("providers").await;
    let audit_before = app.count("audit_log").await;

    // Malformed JSON: 400.
    let r = api
        .client
        .post(app.at("/api/v1/providers"))
        .bearer_auth(&api.token)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");

    // Not JSON at all: 415.
    let r = api
        .client
        .post(app.at("/api/v1/providers"))
        .bearer_auth(&api.token)
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);

    // A wrong type names the field.
    let r = api
        .send(
            Method::POST,
            "/api/v1/providers",
            &json!({"facility_id": "seven"}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["fields"][0]["field"], "facility_id");

    // Every invalid field is reported at once.
    let r = api
        .send(
            Method::POST,
            "/api/v1/providers",
            &json!({"name": "", "cadre": "wizard", "facility_id": f.district.id, "phone": "12ab", "sex": "x"}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "validation_failed");
    let mut fields: Vec<&str> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(fields, ["cadre", "facility_id", "name", "phone", "sex"]);
    for e in body["error"]["fields"].as_array().unwrap() {
        assert!(!e["message"].as_str().unwrap().is_empty());
    }

    // Unknown ids: 404, with the same shape, including ids that are not numbers.
    for path in [
        "/api/v1/providers/999999",
        "/api/v1/providers/abc",
        "/api/v1/no-such-thing",
    ] {
        let r = api.get(path).await;
        assert_eq!(r.status(), 404, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found");
    }

    // A duplicate code is a field error, not a 500.
    let r = api
        .send(Method::POST, "/api/v1/providers", &json!({"name": "Twin", "cadre": "nurse", "facility_id": f.a.facility.id, "code": "RAM-001"}))
        .await;
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["fields"][0]["field"], "code");

    assert_eq!(
        app.count("providers").await,
        before,
        "a failed request wrote a provider"
    );
    assert_eq!(
        app.count("audit_log").await,
        audit_before,
        "a failed request wrote an audit entry"
    );
}

async fn providers_crud_search_and_pagination(app: TestApp) {
    let f = app.seed().await;
    let api = app.api(&f.a.mentor).await;
    for i in 0..30 {
        let r = api
            .send(
                Method::POST,
                "/api/v1/providers",
                &json!({"name": format!("Uwimana {i:02}"), "cadre": "nurse", "facility_id": f.a.facility.id, "phone": "+250 788 000 000"}),
            )
            .await;
        assert_eq!(r.status(), 201);
    }
    let khmer = api
        .send(
            Method::POST,
            "/api/v1/providers",
            &json!({"name": "សុខ ចាន់ធា", "cadre": "midwife", "facility_id": f.a.facility.id}),
        )
        .await;
    assert_eq!(khmer.status(), 201);
    let created: Value = khmer.json().await.unwrap();
    assert_eq!(created["name"], "សុខ ចាន់ធា");
    assert!(
        created["code"].as_str().unwrap().starts_with("P-"),
        "a code is generated"
    );

    let page: Value = api
        .get("/api/v1/providers?q=uwimana&per_page=10&page=3")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 30);
    assert_eq!(page["page"], 3);
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.first(), Some(&"Uwimana 20"));
    assert_eq!(names.len(), 10);

    let found: Value = api
        .get("/api/v1/providers?q=%E1%9E%9F%E1%9E%BB%E1%9E%81")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["total"], 1, "Khmer search");

    // A literal % in a search is not a wildcard.
    let none: Value = api
        .get("/api/v1/providers?q=%25")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["total"], 0);

    let id = created["id"].as_i64().unwrap();
    let r = api
        .send(Method::PUT, &format!("/api/v1/providers/{id}"), &json!({"name": "សុខ ចាន់ធា", "cadre": "nurse", "facility_id": f.a.facility.id, "sex": "female"}))
        .await;
    assert_eq!(r.status(), 200);
    let updated: Value = r.json().await.unwrap();
    assert_eq!(updated["cadre"], "nurse");
    assert_eq!(updated["code"], created["code"], "an absent code is kept");

    // A mentor cannot move a provider to a facility they are not assigned to.
    let r = api
        .send(
            Method::PUT,
            &format!("/api/v1/providers/{id}"),
            &json!({"name": "X", "cadre": "nurse", "facility_id": f.unassigned_facility.id}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["fields"][0]["field"], "facility_id");
}

async fn every_change_is_audited_with_before_and_after(app: TestApp) {
    let f = app.seed().await;
    let api = app.api(&f.a.org_admin).await;
    let r = api
        .send(
            Method::PUT,
            &format!("/api/v1/providers/{}", f.a.provider_id),
            &json!({"name": "Mukamana Alice", "cadre": "nurse", "facility_id": f.a.facility.id}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let entries: Value = api
        .get(&format!(
            "/api/v1/audit?entity=provider&entity_id={}",
            f.a.provider_id
        ))
        .await
        .json()
        .await
        .unwrap();
    let latest = &entries[0];
    assert_eq!(latest["action"], "update");
    let before: Value = serde_json::from_str(latest["before_json"].as_str().unwrap()).unwrap();
    let after: Value = serde_json::from_str(latest["after_json"].as_str().unwrap()).unwrap();
    assert_eq!(before["name"], "Provider of RAM");
    assert_eq!(before["cadre"], "midwife");
    assert_eq!(after["name"], "Mukamana Alice");
    assert_eq!(after["cadre"], "nurse");
    let me: Value = api.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(latest["actor_id"], me["user_id"]);
    assert_eq!(entries[1]["action"], "create");

    // User changes never put the password hash in the log.
    let r = api
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{}", f.a.mentor_id),
            &json!({"password": "another-long-password"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let log: Vec<String> =
        sqlx::query_scalar("SELECT COALESCE(after_json, '') FROM audit_log WHERE entity = 'user'")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    assert!(
        log.iter().all(|l| !l.contains("argon2")),
        "password hash in the audit log"
    );
}

async fn health_and_openapi(app: TestApp) {
    let r = app.client().get(app.at("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    let kind = match app.engine {
        mentortrack_tests::Engine::Sqlite => "sqlite",
        mentortrack_tests::Engine::Postgres => "postgres",
    };
    assert_eq!(body["database"], kind);

    let doc: Value = app
        .client()
        .get(app.at("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/auth/token",
        "/api/v1/providers",
        "/api/v1/providers/{id}",
        "/api/v1/users",
        "/api/v1/org-units",
        "/api/v1/organisations",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
}

async fn failed_logins_are_throttled(app: TestApp) {
    let f = app.seed().await;
    let client = app.client();
    for _ in 0..5 {
        let r = client
            .post(app.at("/api/v1/auth/token"))
            .json(&json!({"email": f.a.mentor, "password": "guess-guess-guess"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    // Now even the right password is refused until the window passes.
    let r = client
        .post(app.at("/api/v1/auth/token"))
        .json(&json!({"email": f.a.mentor, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    // Other accounts are not locked out by it.
    let r = client
        .post(app.at("/api/v1/auth/token"))
        .json(&json!({"email": f.b.mentor, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

engine_tests! {
    async fn tokens(app) { tokens_are_issued_checked_and_revoked(app).await }
    async fn deactivation(app) { deactivating_a_user_kills_their_tokens(app).await }
    async fn bad_input(app) { bad_input_gets_specific_errors_and_writes_nothing(app).await }
    async fn providers_crud(app) { providers_crud_search_and_pagination(app).await }
    async fn audit_log(app) { every_change_is_audited_with_before_and_after(app).await }
    async fn health(app) { health_and_openapi(app).await }
    async fn throttling(app) { failed_logins_are_throttled(app).await }
}
