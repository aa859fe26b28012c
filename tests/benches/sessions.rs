//! Load benchmark of logging scored sessions through the HTTP API (issue #4).
//!
//! 32 concurrent clients post sessions (two mentees, each observed on the midwives' 15-item
//! AMTSL drill and scored by its plugin in the sandbox) to the real server: bearer-token
//! authentication, validation, plugin scoring, the audit log, one transaction per session.
//! Beside it, in the same run and on the same database, the baseline: a bare endpoint that
//! inserts the same rows (session, mentees, observations, metrics) from the same body with no
//! authentication, checks, scoring or audit. The two alternate in blocks so both see the same
//! background load. Run on SQLite, and on PostgreSQL when `MENTORTRACK_TEST_POSTGRES_URL` is
//! set (`tests/run.sh` sets it):
//!
//! ```sh
//! MENTORTRACK_SETUP_ONLY=1 bash tests/run.sh cargo bench -p mentortrack-tests --bench sessions
//! ```
//!
//! `-- --quick` runs short blocks for a smoke test.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use mentortrack::db::{Db, WriterStats};
use mentortrack::domain::scoring;
use mentortrack::domain::sessions::{self, SessionInput};
use mentortrack_tests::bench::{
    CpuTime, ThreadTimes, machine, nearest_rank, peak_rss_kib, reset_peak_rss,
};
use mentortrack_tests::{Engine, Fixture, TestApp};
use serde_json::{Value, json};

// The server binary's allocator (host/src/main.rs), so that this measures the server as shipped.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Concurrent clients, as the issue sets them; `MENTORTRACK_BENCH_CLIENTS` overrides it, to
/// see what one action costs without contention (e.g. 1).
fn clients() -> usize {
    std::env::var("MENTORTRACK_BENCH_CLIENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(32)
}
const MENTEES: usize = 2;

/// `MENTORTRACK_BENCH_ONLY=api` (or `baseline`) loads one path alone, for a profiler; the
/// ratio is then not reported.
fn only() -> Option<String> {
    std::env::var("MENTORTRACK_BENCH_ONLY")
        .ok()
        .filter(|p| !p.is_empty())
}

struct Settings {
    warmup: Duration,
    block: Duration,
    reps: usize,
}

#[derive(Default, Clone)]
struct Phase {
    sessions: usize,
    elapsed: Duration,
    latencies_us: Vec<u64>,
    errors: usize,
    peak_rss_kib: u64,
    /// SQLite: what the single writer did during this phase (all repetitions', once
    /// summarised).
    writer: Option<WriterStats>,
    /// CPU time by thread name over the phase, and the sessions it was spent on (all
    /// repetitions', once summarised).
    cpu: Vec<(String, CpuTime)>,
    cpu_sessions: usize,
}

impl Phase {
    fn per_second(&self) -> f64 {
        self.sessions as f64 / self.elapsed.as_secs_f64()
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let settings = if quick {
        Settings {
            warmup: Duration::from_millis(500),
            block: Duration::from_secs(2),
            reps: 1,
        }
    } else {
        Settings {
            warmup: Duration::from_secs(2),
            block: Duration::from_secs(6),
            reps: 5,
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(settings));
}

async fn run(settings: Settings) {
    println!("# Sessions load benchmark\n");
    println!(
        "Machine: {}. Server, database (SQLite in-process; PostgreSQL a local server) and load \
         generator share these cores. Peak RSS is the whole benchmark process (server and load \
         generator; not PostgreSQL's own processes), reset before each block.\n",
        machine()
    );
    println!(
        "{} concurrent clients, each posting sessions back to back: {MENTEES} mentees, \
         each observed on the AMTSL drill (15 items) and scored by its plugin. {} repetitions; \
         in each, a {}-second block of the baseline then one of the API (after {} s of warm-up \
         each). Throughput is the median repetition's. The ratio is the median of the \
         repetitions' own (each API block over the baseline block just before it, so that the \
         machine's drift between repetitions cancels), with their range. Latencies are over \
         every request of the path.\n",
        clients(),
        settings.reps,
        settings.block.as_secs(),
        settings.warmup.as_secs_f64()
    );
    let mut engines = vec![Engine::Sqlite];
    if std::env::var("MENTORTRACK_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty()) {
        engines.push(Engine::Postgres);
    } else {
        println!("PostgreSQL skipped: set MENTORTRACK_TEST_POSTGRES_URL (tests/run.sh does).\n");
    }
    println!(
        "| engine | path | sessions/s | ratio to baseline (range) | p50 ms | p99 ms | max ms | requests | errors | peak RSS MiB |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for engine in engines {
        bench_engine(engine, &settings).await;
    }
}

async fn bench_engine(engine: Engine, settings: &Settings) {
    let app = TestApp::spawn(engine).await;
    let f = app.seed_with_plugins().await;
    let mentees = extra_providers(&app, &f).await;
    let token = app.token(&f.a.mentor).await;
    let template = Body::new(&session_template(&app, &f, &mentees, &token).await);

    // The bare endpoint: same database, same body, same rows.
    let card = reference_card(&app, &f).await;
    let bare = bare_server(app.db.clone(), f.a.org.id, f.a.mentor_id, card).await;

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients())
        .build()
        .expect("client");
    let api_url = app.at("/api/v1/sessions");
    let bare_url = format!("{bare}/bare/sessions");

    let mut api_reps = Vec::new();
    let mut bare_reps = Vec::new();
    let phase = async |url: &str, token: Option<&str>, duration: Duration| {
        load(&app.db, &client, url, token, &template, duration).await
    };
    let only = only();
    for _ in 0..settings.reps {
        if only.as_deref() != Some("api") {
            phase(&bare_url, None, settings.warmup).await;
            bare_reps.push(phase(&bare_url, None, settings.block).await);
        }
        if only.as_deref() != Some("baseline") {
            phase(&api_url, Some(&token), settings.warmup).await;
            api_reps.push(phase(&api_url, Some(&token), settings.block).await);
        }
    }
    let name = match engine {
        Engine::Sqlite => "SQLite",
        Engine::Postgres => "PostgreSQL",
    };
    let baseline = summarise(&bare_reps);
    let api = summarise(&api_reps);
    let ratio = paired_ratio(&bare_reps, &api_reps).map(|(median, low, high)| {
        format!(
            "{:.0} % ({:.0}–{:.0})",
            median * 100.0,
            low * 100.0,
            high * 100.0
        )
    });
    for (path, p, ratio) in [
        ("baseline: bare insert", &baseline, None),
        ("API: auth + checks + scoring + audit", &api, ratio),
    ] {
        if p.sessions == 0 {
            continue; // not loaded (MENTORTRACK_BENCH_ONLY)
        }
        println!(
            "| {name} | {path} | {:.0} | {} | {:.1} | {:.1} | {:.1} | {} | {} | {:.0} |",
            p.per_second(),
            ratio.unwrap_or("—".into()),
            ms(&p.latencies_us, 0.50),
            ms(&p.latencies_us, 0.99),
            ms(&p.latencies_us, 1.0),
            p.latencies_us.len(),
            p.errors,
            p.peak_rss_kib as f64 / 1024.0,
        );
    }
    if baseline.writer.is_some() || api.writer.is_some() {
        println!(
            "\nSQLite's single writer, mean per session: queued for it, holding it (first \
             statement to RELEASE), then waiting for the group's COMMIT (µs); and sessions per \
             COMMIT:\n\n| path | queued | held | waiting for commit | sessions per commit |\n\
             |---|---:|---:|---:|---:|"
        );
        for (path, p) in [("baseline", &baseline), ("API", &api)] {
            let Some(w) = p.writer.filter(|w| w.actions > 0) else {
                continue;
            };
            let per = |d: Duration| d.as_secs_f64() * 1e6 / w.actions as f64;
            println!(
                "| {path} | {:.0} | {:.0} | {:.0} | {:.1} |",
                per(w.queued),
                per(w.held),
                per(w.committing),
                w.actions as f64 / w.commits.max(1) as f64
            );
        }
    }
    println!(
        "\nCPU per session by thread ({name}; ran = on a CPU, waited = runnable but queued for \
         one), µs:\n\n| path | thread | ran | waited |\n|---|---|---:|---:|"
    );
    for (path, p) in [("baseline", &baseline), ("API", &api)] {
        let per = |ns: u64| ns as f64 / 1000.0 / p.cpu_sessions.max(1) as f64;
        for (thread, t) in &p.cpu {
            if per(t.ran_ns) >= 1.0 {
                println!(
                    "| {path} | {thread} | {:.0} | {:.0} |",
                    per(t.ran_ns),
                    per(t.waited_ns)
                );
            }
        }
    }
    println!();
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(app.db.pool())
        .await
        .unwrap_or(0);
    let scored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM observations")
        .fetch_one(app.db.pool())
        .await
        .unwrap_or(0);
    eprintln!("{name}: {stored} sessions and {scored} observations stored during the run");
}

/// The median repetition's throughput, with every repetition's latencies.
fn summarise(reps: &[Phase]) -> Phase {
    if reps.is_empty() {
        return Phase::default();
    }
    let mut by_rate: Vec<&Phase> = reps.iter().collect();
    by_rate.sort_by(|a, b| a.per_second().total_cmp(&b.per_second()));
    let median = by_rate[by_rate.len() / 2];
    let mut latencies: Vec<u64> = reps.iter().flat_map(|p| p.latencies_us.clone()).collect();
    latencies.sort_unstable();
    Phase {
        sessions: median.sessions,
        elapsed: median.elapsed,
        latencies_us: latencies,
        errors: reps.iter().map(|p| p.errors).sum(),
        peak_rss_kib: reps.iter().map(|p| p.peak_rss_kib).max().unwrap_or(0),
        writer: reps.iter().filter_map(|p| p.writer).reduce(|a, b| a + b),
        cpu: reps.iter().fold(Vec::new(), |mut sum, p| {
            for (name, t) in &p.cpu {
                match sum.iter_mut().find(|(n, _)| n == name) {
                    Some((_, s)) => *s += *t,
                    None => sum.push((name.clone(), *t)),
                }
            }
            sum
        }),
        cpu_sessions: reps.iter().map(|p| p.sessions).sum(),
    }
}

/// The median of the repetitions' own ratios (API over the baseline just before it), and
/// the lowest and highest.
fn paired_ratio(baseline: &[Phase], api: &[Phase]) -> Option<(f64, f64, f64)> {
    let mut ratios: Vec<f64> = baseline
        .iter()
        .zip(api)
        .map(|(b, a)| a.per_second() / b.per_second())
        .filter(|r| r.is_finite() && *r > 0.0)
        .collect();
    ratios.sort_by(f64::total_cmp);
    let median = *ratios.get(ratios.len() / 2)?;
    Some((median, ratios[0], ratios[ratios.len() - 1]))
}

/// The `q` quantile of sorted latencies in µs, in ms.
fn ms(sorted_us: &[u64], q: f64) -> f64 {
    nearest_rank(sorted_us, q).map_or(f64::NAN, |us| us as f64 / 1000.0)
}

/// [`clients()`] clients posting fresh sessions back to back for `duration`.
async fn load(
    db: &Db,
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    template: &Body,
    duration: Duration,
) -> Phase {
    reset_peak_rss();
    let writer_before = db.writer_stats();
    let threads_before = ThreadTimes::now();
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients() {
        let client = client.clone();
        let url = url.to_string();
        let token = token.map(str::to_string);
        let template = template.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            while Instant::now() < deadline {
                let body = template.with_id(&scoring::new_uuid().expect("uuid"));
                let mut request = client
                    .post(&url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body);
                if let Some(t) = &token {
                    request = request.bearer_auth(t);
                }
                let sent = Instant::now();
                match request.send().await {
                    Ok(r) if r.status() == StatusCode::CREATED => {
                        let _ = r.bytes().await;
                        latencies.push(sent.elapsed().as_micros() as u64);
                    }
                    Ok(r) => {
                        errors += 1;
                        if errors == 1 {
                            let status = r.status();
                            let text = r.text().await.unwrap_or_default();
                            eprintln!("{url}: {status} {text}");
                        }
                    }
                    Err(e) => {
                        errors += 1;
                        eprintln!("{url}: {e}");
                    }
                }
            }
            (latencies, errors)
        });
    }
    let mut phase = Phase::default();
    while let Some(done) = tasks.join_next().await {
        let (latencies, errors) = done.expect("client task");
        phase.sessions += latencies.len();
        phase.latencies_us.extend(latencies);
        phase.errors += errors;
    }
    phase.elapsed = start.elapsed();
    phase.cpu = ThreadTimes::now().since(&threads_before);
    phase.cpu_sessions = phase.sessions;
    phase.writer = db
        .writer_stats()
        .zip(writer_before)
        .map(|(after, before)| after - before);
    phase.latencies_us.sort_unstable();
    phase.peak_rss_kib = peak_rss_kib();
    phase
}

/// More providers at party A's facility, so each session has `MENTEES` mentees.
async fn extra_providers(app: &TestApp, f: &Fixture) -> Vec<i64> {
    let api = app.api(&f.a.org_admin).await;
    let mut ids = vec![f.a.provider_id];
    for n in 1..MENTEES {
        let r: Value = api
            .send(
                reqwest::Method::POST,
                "/api/v1/providers",
                &json!({"facility_id": f.a.facility.id, "name": format!("Bench mentee {n}"), "cadre": "nurse"}),
            )
            .await
            .json()
            .await
            .expect("provider");
        ids.push(r["id"].as_i64().expect("provider id"));
    }
    ids
}

/// A session body serialised once, with the place of its id: the load generator shares the
/// server's two cores, so each request's body is a copy with a fresh id written in, not a
/// JSON tree cloned and serialised again (a tenth of the request threads' CPU when it was).
#[derive(Clone)]
struct Body {
    json: Vec<u8>,
    id_at: usize,
}

impl Body {
    const PLACEHOLDER: &str = "00000000-0000-7000-8000-000000000000";

    fn new(template: &Value) -> Body {
        let mut template = template.clone();
        template["id"] = json!(Self::PLACEHOLDER);
        let json = serde_json::to_vec(&template).expect("body JSON");
        let quoted = format!("\"{}\"", Self::PLACEHOLDER);
        let id_at = json
            .windows(quoted.len())
            .position(|w| w == quoted.as_bytes())
            .expect("the placeholder id in the body")
            + 1;
        Body { json, id_at }
    }

    fn with_id(&self, id: &str) -> Vec<u8> {
        assert_eq!(id.len(), Self::PLACEHOLDER.len(), "a hyphenated UUID");
        let mut json = self.json.clone();
        json[self.id_at..self.id_at + id.len()].copy_from_slice(id.as_bytes());
        json
    }
}

/// A realistic session body: every item answered, a few partly or not done.
async fn session_template(app: &TestApp, f: &Fixture, mentees: &[i64], token: &str) -> Value {
    let list: Value = app
        .client()
        .get(app.at("/api/v1/checklists"))
        .bearer_auth(token)
        .send()
        .await
        .expect("checklists")
        .json()
        .await
        .expect("checklists JSON");
    let c = list
        .as_array()
        .and_then(|l| l.iter().find(|c| c["checklist"]["id"] == "amtsl"))
        .expect("the AMTSL drill");
    let mut responses = Vec::new();
    let mut n = 0;
    for section in c["checklist"]["sections"].as_array().expect("sections") {
        for item in section["items"].as_array().expect("items") {
            n += 1;
            let answer = match n % 7 {
                3 => "partly",
                5 if item["importance"] != "key" => "not_done",
                _ => "done",
            };
            responses.push(json!({"item_id": item["id"], "answer": {"type": answer}}));
        }
    }
    json!({
        "facility_id": f.a.facility.id,
        "date": chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string(),
        "session_type": "skills_drill",
        "topic": "AMTSL drill",
        "duration_minutes": 40,
        "mentee_ids": mentees,
        "notes": "Drill with the low-fidelity simulator; both mentees practised twice.",
        "action_points": "Repeat the drill in four weeks; order a new uterotonic register.",
        "observations": mentees.iter().map(|p| json!({
            "provider_id": p,
            "plugin_version_id": c["plugin_version_id"],
            "checklist_id": "amtsl",
            "responses": responses,
        })).collect::<Vec<_>>(),
    })
}

/// A score card the plugin produced, for the bare endpoint to store without scoring.
async fn reference_card(app: &TestApp, f: &Fixture) -> Value {
    let id = app.log_session(&f.a).await;
    let card: String =
        sqlx::query_scalar("SELECT card_json FROM observations WHERE session_id = $1")
            .bind(&id)
            .fetch_one(app.db.pool())
            .await
            .expect("a scored observation");
    serde_json::from_str(&card).expect("card JSON")
}

#[derive(Clone)]
struct Bare {
    db: Db,
    organisation_id: i64,
    mentor_id: i64,
    card: Arc<Value>,
    card_json: Arc<String>,
}

async fn bare_server(db: Db, organisation_id: i64, mentor_id: i64, card: Value) -> String {
    let state = Bare {
        db,
        organisation_id,
        mentor_id,
        card_json: Arc::new(card.to_string()),
        card: Arc::new(card),
    };
    let router = axum::Router::new()
        .route("/bare/sessions", post(bare_insert))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

/// The same rows as a logged session, straight from the body: no checks at all. Written by
/// the server's own `sessions::insert_rows`, so that the comparison is of the checks and
/// not of SQL.
async fn bare_insert(
    State(s): State<Bare>,
    Json(input): Json<SessionInput>,
) -> Result<StatusCode, (StatusCode, String)> {
    let fail = |e: &dyn std::fmt::Display| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    let now = mentortrack::time::now();
    let metrics: serde_json::Map<String, Value> = s.card["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| Some((m["name"].as_str()?.to_string(), m["value"].clone())))
        .collect();
    let rows = sessions::NewSession {
        id: input.id.clone().unwrap_or_default(),
        organisation_id: s.organisation_id,
        mentor_id: s.mentor_id,
        facility_id: input.facility_id.unwrap_or_default(),
        date: input.date.clone().unwrap_or_default(),
        session_type: input.session_type.clone().unwrap_or_default(),
        topic: input.topic.clone().unwrap_or_default(),
        duration_minutes: input.duration_minutes.unwrap_or_default(),
        notes: input.notes.clone(),
        action_points: input.action_points.clone(),
        create_sha256: String::new(),
        now,
        mentee_ids: input.mentee_ids.clone(),
        observations: input
            .observations
            .iter()
            .enumerate()
            .map(|(position, o)| scoring::NewObservation {
                position: position as i64,
                provider_id: o.provider_id.unwrap_or_default(),
                plugin_version_id: o.plugin_version_id.unwrap_or_default(),
                plugin_key: "ldhf".into(),
                plugin_version: "1.0.0".into(),
                plugin_sha256: String::new(),
                checklist_id: o.checklist_id.clone().unwrap_or_default(),
                checklist_version: "1.0".into(),
                checklist_kind: "mentorship_skills".into(),
                checklist_title: "{}".into(),
                responses_json: serde_json::to_string(&o.responses).unwrap_or_default(),
                percentage: s.card["percentage"].as_f64(),
                outcome_code: s.card["outcome"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .into(),
                outcome_level: s.card["outcome"]["level"]
                    .as_str()
                    .unwrap_or_default()
                    .into(),
                card_json: s.card_json.to_string(),
                metrics: metrics.clone(),
            })
            .collect(),
    }
    .prepare()
    .map_err(|e| fail(&e))?;
    let mut tx = s.db.begin().await.map_err(|e| fail(&e))?;
    sessions::insert_rows(&mut tx, &rows, None)
        .await
        .map_err(|e| fail(&e))?;
    tx.commit().await.map_err(|e| fail(&e))?;
    Ok(StatusCode::CREATED)
}
