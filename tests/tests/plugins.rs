//! Partner plugins end to end: upload through the API, refusal of bad and hostile components
//! with specific messages, limits that stop misbehaving code while the server keeps serving,
//! determinism, quarantine, and hot reload across processes.

use std::time::{Duration, Instant};

use mentortrack::plugins::model::{Answer, Response, ScoreContext};
use mentortrack::plugins::{Limits, PluginError, Runtime};
use mentortrack_tests::{TestApp, component, engine_tests, install_active};
use serde_json::Value;

async fn upload(app: &TestApp, email: &str, file: &str) -> (u16, Value) {
    let api = app.api(email).await;
    let r = api
        .client
        .post(app.at("/api/v1/plugins"))
        .bearer_auth(&api.token)
        .header("content-type", "application/wasm")
        .body(component(file))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn refusal(body: &Value) -> String {
    body["error"]["fields"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|e| e["message"].as_str().unwrap_or("").to_string())
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .unwrap_or_default()
}

async fn partners_upload_activate_and_list_checklists(app: TestApp) {
    let f = app.seed().await;
    let (status, body) = upload(&app, &f.b.org_admin, "hbb.wasm").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["plugin_key"], "hbb");
    assert_eq!(body["status"], "inactive");
    assert_eq!(body["contract_version"], "1.0.0");
    let id = body["id"].as_i64().unwrap();
    // The same file again: the same version, not a second one.
    let (status, again) = upload(&app, &f.b.org_admin, "hbb.wasm").await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], id);
    assert_eq!(app.count("plugin_versions").await, 1);

    let api = app.api(&f.b.org_admin).await;
    let none: Value = api.get("/api/v1/checklists").await.json().await.unwrap();
    assert_eq!(
        none.as_array().unwrap().len(),
        0,
        "nothing is usable before activation"
    );
    let r = api
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/plugins/{id}/activate"),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let lists: Value = api.get("/api/v1/checklists").await.json().await.unwrap();
    let ids: Vec<&str> = lists
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["checklist"]["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"osce-b"), "{ids:?}");
    assert!(lists[0]["sha256"].as_str().unwrap().len() == 64);

    // Partner A's users do not see B's checklists.
    let a: Value = app
        .api(&f.a.mentor)
        .await
        .get("/api/v1/checklists")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(a.as_array().unwrap().len(), 0);

    // Everything was audited.
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE entity = 'plugin_version' ORDER BY id",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert_eq!(actions, ["install", "activate"]);
}

async fn bad_uploads_are_refused_with_specific_messages(app: TestApp) {
    let f = app.seed().await;
    // The hostile plugins' publisher exists, so their refusals come from what they do.
    mentortrack::domain::organisations::create(
        &app.db,
        None,
        &mentortrack::domain::organisations::NewOrganisation {
            code: Some("HOSTILE".into()),
            name: Some("Hostile test publisher".into()),
            kind: Some("ngo".into()),
            country: None,
        },
    )
    .await
    .unwrap();
    let cases = [
        (
            "hbb.wasm",
            &f.a.org_admin,
            "published by RPA, not by your organisation",
        ),
        (
            "hostile_version2.wasm",
            &f.admin,
            "this server supports contract 1.x",
        ),
        (
            "hostile_import.wasm",
            &f.admin,
            "which the mentortrack contract does not grant",
        ),
        ("not-a-component.wasm", &f.admin, "core WebAssembly module"),
        ("garbage.wasm", &f.admin, "WebAssembly magic number"),
        ("hostile_bad_checklist.wasm", &f.admin, "declared twice"),
        ("hostile_loop.wasm", &f.admin, "fuel"),
        ("hostile_memory.wasm", &f.admin, "memory"),
        ("hostile_stack.wasm", &f.admin, "stack"),
        ("hostile_output.wasm", &f.admin, "output"),
        ("hostile_panic.wasm", &f.admin, "crashed"),
    ];
    // The two non-components are checked in next to the hostile plugins' sources.
    let file = |name: &str| -> String {
        if name.ends_with("component.wasm") || name.starts_with("garbage") {
            format!("../../../hostile/{name}")
        } else {
            name.to_string()
        }
    };
    for (name, who, expected) in cases {
        let (status, body) = upload(&app, who, &file(name)).await;
        assert_eq!(status, 422, "{name}: {body}");
        let message = refusal(&body);
        assert!(
            message.contains(expected),
            "{name}: expected {expected:?} in {message:?}"
        );
    }
    assert_eq!(
        app.count("plugin_versions").await,
        0,
        "nothing partial is stored"
    );
}

fn runtime() -> Runtime {
    Runtime::new(Limits::default(), None).unwrap()
}

fn context() -> ScoreContext {
    ScoreContext {
        session_type: "skills_drill".into(),
        mentee_cadre: "midwife".into(),
        date: "2026-03-02".into(),
        language: "en".into(),
    }
}

/// Scores a plugin's first checklist with its best answers, as the upload dry run does.
fn score_first(
    rt: &Runtime,
    file: &str,
) -> (
    Result<
        Result<mentortrack::plugins::model::ScoreCard, mentortrack::plugins::model::ScoreRefusal>,
        PluginError,
    >,
    mentortrack::plugins::CallStats,
) {
    let loaded = rt
        .load(&component(file))
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    let lists = rt.checklists(&loaded).0.expect("checklists");
    let [best, _] = mentortrack::plugins::checks::dry_run_responses(&lists[0]);
    rt.score(&loaded, &lists[0].id, &best, &context())
}

#[test]
fn hostile_plugins_are_stopped_within_their_limits() {
    let rt = runtime();
    let limits = rt.limits().clone();
    let (r, stats) = score_first(&rt, "hostile_loop.wasm");
    assert_eq!(
        r.unwrap_err(),
        PluginError::OutOfFuel { limit: limits.fuel }
    );
    assert_eq!(stats.fuel_used, limits.fuel);
    // The call's own duration: compiling the component first is not what is limited, and
    // takes seconds on a loaded machine.
    let call = Duration::from_micros(stats.duration_us as u64);
    assert!(call < limits.wall_clock * 2, "stopped in {call:?}");

    let (r, stats) = score_first(&rt, "hostile_memory.wasm");
    assert_eq!(
        r.unwrap_err(),
        PluginError::OutOfMemory {
            limit_bytes: limits.memory_bytes
        }
    );
    assert!(stats.peak_memory_bytes <= limits.memory_bytes);

    let (r, _) = score_first(&rt, "hostile_stack.wasm");
    assert_eq!(r.unwrap_err(), PluginError::StackOverflow);

    let (r, stats) = score_first(&rt, "hostile_output.wasm");
    match r.unwrap_err() {
        PluginError::OutputTooLarge { bytes, limit_bytes } => {
            assert_eq!(limit_bytes, limits.output_bytes);
            assert!(bytes > limit_bytes && stats.output_bytes == bytes);
        }
        // A giant output can also hit the memory limit while the plugin builds it.
        PluginError::OutOfMemory { .. } => {}
        other => panic!("giant output: {other:?}"),
    }

    let (r, _) = score_first(&rt, "hostile_panic.wasm");
    assert!(matches!(r.unwrap_err(), PluginError::Trapped { .. }));

    // A million log lines burn the fuel budget: the flood ends there, bounded.
    let (r, stats) = score_first(&rt, "hostile_log_flood.wasm");
    assert_eq!(
        r.unwrap_err(),
        PluginError::OutOfFuel { limit: limits.fuel }
    );
    assert_eq!(stats.logs.len(), limits.log_lines);
    // A smaller flood (its size comes in the session type) is cut to the log limit, and the
    // plugin's answer still comes back.
    let loaded = rt.load(&component("hostile_log_flood.wasm")).unwrap();
    let probe = rt.checklists(&loaded).0.unwrap().remove(0);
    let flood = ScoreContext {
        session_type: "20000".into(),
        ..context()
    };
    let (r, stats) = rt.score(&loaded, &probe.id, &[], &flood);
    assert!(matches!(r, Ok(Ok(_))), "{r:?}");
    assert_eq!(stats.logs.len(), limits.log_lines);
    assert!(stats.logs_dropped > 0);
    assert!(
        stats
            .logs
            .iter()
            .all(|l| l.message.len() <= limits.log_line_bytes + 3)
    );
}

#[test]
fn a_wall_clock_deadline_stops_what_fuel_would_not() {
    let rt = Runtime::new(
        Limits {
            fuel: u64::MAX / 2,
            wall_clock: Duration::from_millis(200),
            ..Limits::default()
        },
        None,
    )
    .unwrap();
    let (r, stats) = score_first(&rt, "hostile_loop.wasm");
    assert_eq!(r.unwrap_err(), PluginError::Timeout { limit_ms: 200 });
    // The call's own duration, without the compilation before it.
    let call = Duration::from_micros(stats.duration_us as u64);
    assert!(call < Duration::from_secs(1), "{call:?}");
}

#[test]
fn scoring_is_deterministic_and_matches_the_published_rules() {
    let rt = runtime();
    let loaded = rt.load(&component("hbb.wasm")).unwrap();
    let lists = rt.checklists(&loaded).0.unwrap();
    let osce_b = lists.iter().find(|c| c.id == "osce-b").expect("HBB OSCE B");
    let key: Vec<&str> = osce_b
        .items()
        .filter(|i| i.importance != mentortrack::plugins::model::Importance::Normal)
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(key.len(), 6, "OSCE B has 6 key steps");
    // 16 of 23 done, every key step among them: fails (needs 17).
    let mut done = 0;
    let responses: Vec<Response> = osce_b
        .items()
        .map(|i| {
            let yes = key.contains(&i.id.as_str()) || done < 16 - key.len();
            if yes && !key.contains(&i.id.as_str()) {
                done += 1;
            }
            Response {
                item_id: i.id.clone(),
                answer: match (&i.kind, yes) {
                    (mentortrack::plugins::model::ResponseKind::DonePartlyNotDone, true) => {
                        Answer::Done
                    }
                    (mentortrack::plugins::model::ResponseKind::DonePartlyNotDone, false) => {
                        Answer::NotDone
                    }
                    (_, true) => Answer::Yes,
                    (_, false) => Answer::No,
                },
            }
        })
        .collect();
    let (first, s1) = rt.score(&loaded, "osce-b", &responses, &context());
    let (second, s2) = rt.score(&loaded, "osce-b", &responses, &context());
    assert_eq!(first, second, "same input, same output");
    assert_eq!(s1.fuel_used, s2.fuel_used, "same input, same fuel");
    let card = first.unwrap().unwrap();
    assert_eq!(
        card.outcome.code, "fail",
        "16/23 with every key step fails: {card:?}"
    );
    assert!(
        card.metrics
            .iter()
            .any(|m| m.name == "hbb.osce_b.pass" && m.value == 0.0),
        "{:?}",
        card.metrics
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_keeps_serving_while_a_hostile_plugin_runs() {
    let app = TestApp::spawn(mentortrack_tests::Engine::Sqlite).await;
    let f = app.seed_with_plugins().await;
    let rt = app.plugins.runtime().clone();
    let hostile = std::sync::Arc::new(rt.load(&component("hostile_loop.wasm")).unwrap());
    let lists = rt.checklists(&hostile).0.unwrap();
    let id = lists[0].id.clone();
    let [best, _] = mentortrack::plugins::checks::dry_run_responses(&lists[0]);
    // Two hostile calls at once keep both cores busy for their whole fuel budget.
    let attack = {
        let registry = app.plugins.clone();
        tokio::spawn(async move {
            let mut calls = Vec::new();
            for _ in 0..2 {
                let (registry, h, id, best) =
                    (registry.clone(), hostile.clone(), id.clone(), best.clone());
                calls.push(tokio::spawn(async move {
                    registry
                        .run(move |rt| rt.score(&h, &id, &best, &context()).0)
                        .await
                }));
            }
            let mut out = Vec::new();
            for c in calls {
                out.push(c.await.expect("join").expect("run"));
            }
            out
        })
    };
    let client = app.client();
    let mut latencies = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let r = client.get(app.at("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        latencies.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // And a well-behaved plugin still scores meanwhile.
    let ldhf = app
        .plugins
        .checklists(Some(f.a.org.id))
        .await
        .unwrap()
        .into_iter()
        .next()
        .expect("RAM's checklist");
    let [good, _] = mentortrack::plugins::checks::dry_run_responses(&ldhf.checklist);
    let scored = app
        .plugins
        .score(ldhf.plugin_version_id, &ldhf.checklist.id, good, context())
        .await;
    assert!(scored.is_ok(), "{scored:?}");
    for r in attack.await.unwrap() {
        assert!(
            matches!(
                r,
                Err(PluginError::OutOfFuel { .. }) | Err(PluginError::Timeout { .. })
            ),
            "{r:?}"
        );
    }
    latencies.sort();
    let p50 = latencies[latencies.len() / 2];
    let max = latencies[latencies.len() - 1];
    eprintln!("health check latency while a hostile plugin runs: p50 {p50:?}, max {max:?}");
    assert!(
        max < Duration::from_millis(500),
        "the server stalled: {latencies:?}"
    );
}

async fn a_failing_version_is_quarantined_everywhere(app: TestApp) {
    let f = app.seed_with_plugins().await;
    // A second host process on the same database whose limits are too tight for the plugin:
    // its calls fail, and after repeated failures it takes the version out of use.
    let db = mentortrack::db::Db::open(&app.database_url).await.unwrap();
    let strict = Runtime::new(
        Limits {
            fuel: 1_000,
            ..Limits::default()
        },
        None,
    )
    .unwrap();
    let other = mentortrack::plugins::Registry::start(db, strict)
        .await
        .unwrap();
    let list = other.checklists(Some(f.b.org.id)).await.unwrap();
    let c = &list[0];
    let [best, _] = mentortrack::plugins::checks::dry_run_responses(&c.checklist);
    for _ in 0..mentortrack::plugins::registry::QUARANTINE_AFTER {
        let r = other
            .score(
                c.plugin_version_id,
                &c.checklist.id,
                best.clone(),
                context(),
            )
            .await;
        assert!(r.is_err());
    }
    let (q, reason): (Option<String>, Option<String>) = sqlx::query_as(
        "SELECT quarantined_at, quarantine_reason FROM plugin_versions WHERE id = $1",
    )
    .bind(c.plugin_version_id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert!(q.is_some());
    assert!(reason.unwrap().contains("fuel"));
    // The first process notices (it checks every 200 ms in tests) and stops offering it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.plugins.is_ready(c.plugin_version_id).await {
        assert!(
            Instant::now() < deadline,
            "the quarantine did not reach the other process"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let web = app.sign_in(&f.b.org_admin).await;
    let (_, page) = web.html(&format!("/plugins/{}", c.plugin_version_id)).await;
    assert_eq!(
        mentortrack_tests::texts(&page, "#quarantine").len(),
        1,
        "the quarantine is visible"
    );
    let api = app.api(&f.b.org_admin).await;
    let r = api
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/plugins/{}/release", c.plugin_version_id),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(
        app.plugins.is_ready(c.plugin_version_id).await,
        "released and back in use"
    );
}

async fn a_new_version_reaches_every_process_without_restart(app: TestApp) {
    let f = app.seed().await;
    let two = app.another_process().await;
    let id = install_active(&app, "hbb.wasm").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !two.plugins.is_ready(id).await {
        assert!(
            Instant::now() < deadline,
            "the other process never loaded the new version"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let lists: Value = two
        .api(&f.b.mentor)
        .await
        .get("/api/v1/checklists")
        .await
        .json()
        .await
        .unwrap();
    assert!(!lists.as_array().unwrap().is_empty());
}

async fn metrics(app: &TestApp, version: i64) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT checklist_id, name FROM plugin_metrics WHERE plugin_version_id = $1
         ORDER BY checklist_id, name",
    )
    .bind(version)
    .fetch_all(app.db.pool())
    .await
    .unwrap()
}

/// A version installed before the server recorded its metrics (migration 0004) gets them from
/// the same dry run when a server starts, so indicator formulas can name them.
async fn older_versions_get_their_metrics_recorded_at_start(app: TestApp) {
    app.seed().await;
    let id = install_active(&app, "hbb.wasm").await;
    let recorded = metrics(&app, id).await;
    assert!(
        recorded.iter().any(|(_, name)| name == "hbb.osce_b.pass"),
        "the upload's dry run records the metrics: {recorded:?}"
    );
    sqlx::query("DELETE FROM plugin_metrics WHERE plugin_version_id = $1")
        .bind(id)
        .execute(app.db.pool())
        .await
        .unwrap();
    assert!(metrics(&app, id).await.is_empty());
    // Two processes starting on the same database both fill them in; the rows do not double.
    let (two, three) = tokio::join!(app.another_process(), app.another_process());
    assert_eq!(metrics(&app, id).await, recorded);
    drop((two, three));
}

/// A session's checklists are scored in one trip to the blocking pool: each result is its own
/// request's, in order, as if scored alone, and a request that cannot be scored fails alone.
async fn scoring_several_at_once_keeps_each_result_to_its_request(app: TestApp) {
    use mentortrack::plugins::registry::{ChecklistRef, ScoreFailure, ScoreRequest};
    app.seed_with_plugins().await;
    let list = app.plugins.checklists(None).await.unwrap();
    let a = &list[0];
    let b = list
        .iter()
        .find(|c| c.plugin_version_id != a.plugin_version_id)
        .expect("checklists of two plugins");
    let [a_best, a_worst] = mentortrack::plugins::checks::dry_run_responses(&a.checklist);
    let [b_best, _] = mentortrack::plugins::checks::dry_run_responses(&b.checklist);
    let request = |c: &ChecklistRef, responses: &Vec<Response>| ScoreRequest {
        version_id: c.plugin_version_id,
        pinned: false,
        checklist_id: c.checklist.id.clone(),
        responses: responses.clone(),
        context: context(),
    };
    let results = app
        .plugins
        .score_many(vec![
            request(a, &a_best),
            ScoreRequest {
                version_id: -1,
                ..request(b, &b_best)
            },
            request(b, &b_best),
            request(a, &a_worst),
        ])
        .await;
    assert_eq!(results.len(), 4);
    assert!(
        matches!(results[1], Err(ScoreFailure::NotAvailable)),
        "{:?}",
        results[1]
    );
    let card = |r: &Result<mentortrack::plugins::registry::Scored, ScoreFailure>| {
        let scored = r.as_ref().expect("scored");
        serde_json::to_value(scored.outcome.as_ref().expect("a score card")).unwrap()
    };
    for (n, c, responses) in [(0, a, &a_best), (2, b, &b_best), (3, a, &a_worst)] {
        let alone = app
            .plugins
            .score(
                c.plugin_version_id,
                &c.checklist.id,
                responses.clone(),
                context(),
            )
            .await;
        assert_eq!(card(&results[n]), card(&alone), "request {n}");
        assert_eq!(
            results[n].as_ref().unwrap().plugin_version_id,
            c.plugin_version_id
        );
    }
    assert_ne!(
        card(&results[0]),
        card(&results[3]),
        "best and worst differ"
    );
}

engine_tests! {
    async fn metrics_backfill(app) { older_versions_get_their_metrics_recorded_at_start(app).await }
    async fn partner_upload(app) { partners_upload_activate_and_list_checklists(app).await }
    async fn refusals(app) { bad_uploads_are_refused_with_specific_messages(app).await }
    async fn quarantine(app) { a_failing_version_is_quarantined_everywhere(app).await }
    async fn hot_reload(app) { a_new_version_reaches_every_process_without_restart(app).await }
    async fn score_many(app) { scoring_several_at_once_keeps_each_result_to_its_request(app).await }
}

#[test]
fn compiled_plugins_are_cached_and_a_damaged_cache_is_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = component("emonc.wasm");
    let rt = Runtime::new(Limits::default(), Some(dir.path().to_path_buf())).unwrap();
    let t = Instant::now();
    rt.load(&bytes).unwrap();
    let cold = t.elapsed();
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let rt2 = Runtime::new(Limits::default(), Some(dir.path().to_path_buf())).unwrap();
    let t = Instant::now();
    let loaded = rt2.load(&bytes).unwrap();
    let warm = t.elapsed();
    eprintln!("emonc: compile {cold:?}, load from cache {warm:?}");
    assert!(warm < cold, "loading from the cache must beat compiling");
    assert!(rt2.describe(&loaded).0.is_ok());
    // A damaged artefact is discarded, not trusted.
    std::fs::write(&files[0], b"not a compiled plugin").unwrap();
    let rt3 = Runtime::new(Limits::default(), Some(dir.path().to_path_buf())).unwrap();
    let loaded = rt3.load(&bytes).unwrap();
    assert!(rt3.describe(&loaded).0.is_ok());
}
