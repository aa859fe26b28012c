//! Benchmark of quarterly reporting on the national-scale data set (issue #5).
//!
//! For 10 %, 30 % and 100 % of the national data set (`mentortrack demo --scale national`),
//! on SQLite and on PostgreSQL, it times what the report pages cost: one organisation's
//! quarterly report (`reports::get`, which computes the live figures and their hash), the
//! organisation's indicators alone (`indicators::compute`), the whole programme's indicators
//! (`Scope::Programme`) and the programme view (`reports::programme`: the programme's figures
//! plus every partner's column). Beside them, in the same run on the same database, the
//! baseline: one hand-written SQL statement computing the same headline figures (every
//! indicator's total for the quarter and the previous quarter, as the report shows them),
//! checked equal to what `indicators::compute` reports before anything is timed.
//!
//! ```sh
//! MENTORTRACK_SETUP_ONLY=1 bash tests/run.sh cargo bench -p mentortrack-tests --bench reports
//! ```
//!
//! The organisation is the partner with the most observations in the quarter, the quarter the
//! last complete one. Data sets are generated once and kept: SQLite files under
//! `target/bench-data/` (named by generator version, percent and quarter; older ones are
//! deleted), PostgreSQL databases `mt_bench_national_*` on the server (a throwaway cluster of
//! `tests/run.sh` starts empty). Options after `--`: `--percent 10,30`, `--runs 15`,
//! `--quick` (10 % only, 5 runs), `--engines sqlite` or `--engines postgres` (both by default),
//! `--paths org` or `--paths programme` (both by default; to profile one of them).
//! With `MENTORTRACK_TEST_POSTGRES_URL` naming a server of your own instead of `tests/run.sh`'s
//! throwaway one, the PostgreSQL data sets are generated once and kept there too.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use mentortrack::authz::{Actor, Role};
use mentortrack::db::Db;
use mentortrack::demo::national::{self, GENERATOR_VERSION, Options};
use mentortrack::domain::indicators::{self, IndicatorFigures, Scope};
use mentortrack::domain::quarter::Quarter;
use mentortrack::domain::reports;
use mentortrack::plugins::{Limits, Registry, Runtime};
use mentortrack_tests::bench::{machine, nearest_rank, peak_rss_kib, reset_peak_rss};
use mentortrack_tests::{Engine, shared_plugin_cache};

struct Settings {
    percents: Vec<u32>,
    runs: usize,
    engines: Vec<Engine>,
    /// Which of the organisation's and the programme's paths to time.
    org: bool,
    programme: bool,
}

fn settings() -> Settings {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let quick = args.iter().any(|a| a == "--quick");
    let percents = value("--percent")
        .map(|v| v.split(',').filter_map(|p| p.trim().parse().ok()).collect())
        .unwrap_or_else(|| if quick { vec![10] } else { vec![10, 30, 100] });
    let runs = value("--runs")
        .and_then(|r| r.parse().ok())
        .unwrap_or(if quick { 5 } else { 15 });
    let mut engines = vec![];
    let wanted = value("--engines").unwrap_or_else(|| "sqlite,postgres".into());
    if wanted.contains("sqlite") {
        engines.push(Engine::Sqlite);
    }
    if wanted.contains("postgres") {
        if std::env::var("MENTORTRACK_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty()) {
            engines.push(Engine::Postgres);
        } else {
            println!(
                "PostgreSQL skipped: set MENTORTRACK_TEST_POSTGRES_URL (tests/run.sh does).\n"
            );
        }
    }
    let paths = value("--paths").unwrap_or_else(|| "org,programme".into());
    Settings {
        percents,
        runs,
        engines,
        org: paths.contains("org"),
        programme: paths.contains("programme"),
    }
}

fn main() {
    let settings = settings();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(settings));
}

/// Milliseconds of each run of one path.
#[derive(Default)]
struct Times(Vec<f64>);

impl Times {
    fn quantile(&self, q: f64) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort_by(f64::total_cmp);
        nearest_rank(&sorted, q).unwrap_or(f64::NAN)
    }
    fn median(&self) -> f64 {
        self.quantile(0.5)
    }
    fn p90(&self) -> f64 {
        self.quantile(0.9)
    }
}

async fn run(settings: Settings) {
    println!("# Quarterly reports on the national data set\n");
    println!(
        "Machine: {}. SQLite runs in-process; PostgreSQL is a local server. Peak RSS is the \
         benchmark process during the timed runs (not PostgreSQL's own processes).\n",
        machine()
    );
    let end = Quarter::current().previous().last_day();
    let quarter = Quarter::of(end);
    println!(
        "Data: `mentortrack demo --scale national --percent P` (generator v{GENERATOR_VERSION}), \
         history ending {end}; figures for {quarter}. {} timed runs of each path after one \
         warm-up run, interleaved; median and 90th percentile in ms. Baseline: one \
         hand-written SQL statement computing every indicator's total for the quarter and the \
         previous one, checked equal to the computed figures.\n",
        settings.runs
    );
    let mut rows = Vec::new();
    let mut data = Vec::new();
    for engine in settings.engines.iter().copied() {
        for percent in &settings.percents {
            let set = dataset(engine, *percent, end).await;
            let measured = measure(&set, *percent, quarter, &settings).await;
            data.push((
                engine,
                *percent,
                set.describe.clone(),
                measured.describe.clone(),
            ));
            rows.extend(measured.rows);
            set.db.close().await;
        }
    }
    println!("## Data sets\n");
    println!(
        "| engine | percent | generated | size | org. (its observations in {quarter} / all) |"
    );
    println!("|---|---:|---|---:|---|");
    for (engine, percent, set, org) in &data {
        println!("| {} | {percent} % | {set} | {org} |", name(*engine));
    }
    println!("\n## Timings\n");
    println!(
        "| engine | percent | path | median ms | p90 ms | ratio to its baseline | peak RSS MiB |"
    );
    println!("|---|---:|---|---:|---:|---:|---:|");
    for r in rows {
        println!("{r}");
    }
}

fn name(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "SQLite",
        Engine::Postgres => "PostgreSQL",
    }
}

struct DataSet {
    db: Db,
    /// "generated in 93 s | 3.1 GiB" or "reused | ...".
    describe: String,
}

fn bench_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/bench-data"))
}

/// The national data set for an engine and percent, generated unless a complete one exists.
async fn dataset(engine: Engine, percent: u32, end: chrono::NaiveDate) -> DataSet {
    let tag = format!(
        "national-v{GENERATOR_VERSION}-p{percent}-{}",
        Quarter::of(end).to_string().to_lowercase()
    );
    let url = match engine {
        Engine::Sqlite => {
            let dir = bench_dir();
            std::fs::create_dir_all(&dir).expect("target/bench-data");
            // Data sets of other generator versions or quarters are stale: free their space.
            for entry in std::fs::read_dir(&dir)
                .expect("list target/bench-data")
                .flatten()
            {
                let file = entry.file_name().to_string_lossy().to_string();
                if file.starts_with("national-")
                    && !file.contains(&format!("-v{GENERATOR_VERSION}-"))
                    || file.starts_with("national-")
                        && !file.contains(&Quarter::of(end).to_string().to_lowercase())
                {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
            format!("sqlite://{}/{tag}.db", dir.display())
        }
        Engine::Postgres => {
            let admin = std::env::var("MENTORTRACK_TEST_POSTGRES_URL").expect("PostgreSQL URL");
            let db_name = format!("mt_bench_{}", tag.replace('-', "_"));
            sqlx::any::install_default_drivers();
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
                .await
                .expect("connect to PostgreSQL");
            let exists: Option<i32> =
                sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
                    .bind(&db_name)
                    .fetch_optional(&mut conn)
                    .await
                    .expect("look for the database");
            if exists.is_none() {
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db_name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create the benchmark database");
            }
            let mut u = url::Url::parse(&admin).expect("URL");
            u.set_path(&format!("/{db_name}"));
            u.to_string()
        }
    };
    let db = Db::open(&url).await.expect("open the data set");
    let reuse = national::is_loaded(&db).await;
    let (db, describe) = match reuse {
        Ok(true) => (db, "reused".to_string()),
        other => {
            if other.is_err() {
                // An interrupted generation: start again from an empty database.
                db.close().await;
                drop_dataset(engine, &url).await;
            }
            let db = if other.is_err() {
                Db::open(&url).await.expect("reopen the data set")
            } else {
                db
            };
            let runtime = Runtime::new(Limits::default(), Some(shared_plugin_cache()))
                .expect("plugin runtime");
            let registry = Registry::start(db.clone(), runtime)
                .await
                .expect("plugin registry");
            let options = Options {
                percent,
                end,
                progress: true,
            };
            let started = Instant::now();
            let summary = national::load(&db, &registry, &options)
                .await
                .unwrap_or_else(|e| panic!("generating {tag}: {e:#}"));
            eprintln!("{summary}");
            (db, format!("in {:.0} s", started.elapsed().as_secs_f64()))
        }
    };
    let size = size_of(engine, &db, &url).await;
    DataSet {
        db,
        describe: format!("{describe} | {size}"),
    }
}

async fn drop_dataset(engine: Engine, url: &str) {
    match engine {
        Engine::Sqlite => {
            let path = url.trim_start_matches("sqlite://");
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        }
        Engine::Postgres => {
            let admin = std::env::var("MENTORTRACK_TEST_POSTGRES_URL").expect("PostgreSQL URL");
            let name = url.rsplit('/').next().unwrap_or_default().to_string();
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
                .await
                .expect("connect to PostgreSQL");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name}"
            )))
            .execute(&mut conn)
            .await
            .expect("drop the interrupted data set");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("create the benchmark database");
        }
    }
}

async fn size_of(engine: Engine, db: &Db, url: &str) -> String {
    let bytes = match engine {
        Engine::Sqlite => {
            let path = url.trim_start_matches("sqlite://");
            ["", "-wal"]
                .iter()
                .filter_map(|s| std::fs::metadata(format!("{path}{s}")).ok())
                .map(|m| m.len())
                .sum::<u64>()
        }
        Engine::Postgres => {
            sqlx::query_scalar::<_, i64>("SELECT pg_database_size(current_database())")
                .fetch_one(db.pool())
                .await
                .map(|b| b as u64)
                .unwrap_or(0)
        }
    };
    format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
}

struct Measured {
    describe: String,
    rows: Vec<String>,
}

/// Paths timed, in the order they run in each round.
const PATHS: [&str; 6] = [
    "org: baseline SQL",
    "org: indicators::compute",
    "org: report (reports::get)",
    "programme: baseline SQL",
    "programme: indicators::compute",
    "programme view (reports::programme)",
];

async fn measure(set: &DataSet, percent: u32, quarter: Quarter, settings: &Settings) -> Measured {
    let db = &set.db;
    let (first, last) = quarter.date_range();
    let (org, code, org_obs): (i64, String, i64) = sqlx::query_as(
        "SELECT s.organisation_id, MIN(g.code), COUNT(*) FROM sessions s
           JOIN observations o ON o.session_id = s.id
           JOIN organisations g ON g.id = s.organisation_id
         WHERE s.session_date >= $1 AND s.session_date <= $2
         GROUP BY s.organisation_id ORDER BY COUNT(*) DESC, s.organisation_id LIMIT 1",
    )
    .bind(&first)
    .bind(&last)
    .fetch_one(db.pool())
    .await
    .expect("the busiest partner");
    let (quarter_obs, all_obs): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM observations WHERE observed_on >= $1 AND observed_on <= $2 AND session_id IS NOT NULL),
                (SELECT COUNT(*) FROM observations WHERE session_id IS NOT NULL)",
    )
    .bind(&first)
    .bind(&last)
    .fetch_one(db.pool())
    .await
    .expect("count observations");
    let admin: (i64, i64, String, String) = sqlx::query_as(
        "SELECT id, organisation_id, email, display_name FROM users WHERE role = 'admin' ORDER BY id LIMIT 1",
    )
    .fetch_one(db.pool())
    .await
    .expect("the admin account");
    let actor = Actor {
        user_id: admin.0,
        organisation_id: admin.1,
        role: Role::Admin,
        email: admin.2,
        display_name: admin.3,
        language: "en".into(),
    };
    let quarter_text = quarter.to_string();

    // Warm-up, and the check that the baseline computes the same figures.
    if settings.org {
        let figures = indicators::compute(db, Scope::Organisation(org), quarter)
            .await
            .expect("compute the organisation's figures");
        let base = baseline(db, Some(org), quarter).await;
        check(&figures, &base, &format!("{code} {quarter}"));
        reports::get(db, &actor, org, &quarter_text)
            .await
            .expect("the report");
    }
    if settings.programme {
        let figures = indicators::compute(db, Scope::Programme, quarter)
            .await
            .expect("compute the programme's figures");
        let base = baseline(db, None, quarter).await;
        check(&figures, &base, &format!("programme {quarter}"));
        reports::programme(db, &actor, &quarter_text)
            .await
            .expect("the programme view");
    }
    let timed = |i: usize| {
        if i < 3 {
            settings.org
        } else {
            settings.programme
        }
    };

    let mut times: Vec<Times> = PATHS.iter().map(|_| Times::default()).collect();
    reset_peak_rss();
    for _ in 0..settings.runs {
        for (i, t) in times.iter_mut().enumerate() {
            if !timed(i) {
                continue;
            }
            let started = Instant::now();
            match i {
                0 => drop(baseline(db, Some(org), quarter).await),
                1 => drop(
                    indicators::compute(db, Scope::Organisation(org), quarter)
                        .await
                        .expect("compute"),
                ),
                2 => drop(
                    reports::get(db, &actor, org, &quarter_text)
                        .await
                        .expect("report"),
                ),
                3 => drop(baseline(db, None, quarter).await),
                4 => drop(
                    indicators::compute(db, Scope::Programme, quarter)
                        .await
                        .expect("compute"),
                ),
                _ => drop(
                    reports::programme(db, &actor, &quarter_text)
                        .await
                        .expect("programme view"),
                ),
            }
            t.0.push(ms(started.elapsed()));
        }
    }
    let rss = peak_rss_kib() as f64 / 1024.0;
    let engine = match db.kind() {
        mentortrack::db::DbKind::Sqlite => "SQLite",
        mentortrack::db::DbKind::Postgres => "PostgreSQL",
    };
    let mut rows = Vec::new();
    for (i, path) in PATHS.iter().enumerate() {
        if !timed(i) {
            continue;
        }
        let t = &times[i];
        let ratio = match i {
            1 | 2 => format!("{:.2}", t.median() / times[0].median()),
            4 => format!("{:.2}", t.median() / times[3].median()),
            _ => "—".to_string(),
        };
        rows.push(format!(
            "| {engine} | {percent} % | {path} | {:.1} | {:.1} | {ratio} | {rss:.0} |",
            t.median(),
            t.p90()
        ));
    }
    Measured {
        describe: format!("{code} ({org_obs} / {quarter_obs} in the quarter; {all_obs} in all)"),
        rows,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---------------------------------------------------------------------------------------------
// The baseline: the same headline figures in one hand-written statement

/// Every indicator's numerator and denominator for the quarter (`p` = 0) and the previous one
/// (`p` = 1), as rows (p, code, numerator, denominator). `$1`..`$3` and `$4`..`$6` are the two
/// quarters' first day, last day and name; `$7` the organisation (the programme spelling drops
/// every `AND x.organisation_id = $7`, or reads every organisation's range of a reporting
/// table). Observations, their metrics and mentees come from the reporting tables (migration
/// 0007), as in `compute.rs`: a hand-written statement over this schema would use them too.
/// CROSS JOIN fixes SQLite's join order; PostgreSQL plans it freely.
const BASELINE: &str = "
WITH periods (p, first_day, last_day, quarter) AS (VALUES (0, $1, $2, $3), (1, $4, $5, $6)),
s AS (
    SELECT p.p, p.first_day, p.last_day, s.id, s.facility_id
    FROM periods p CROSS JOIN sessions s
    WHERE s.session_date >= p.first_day AND s.session_date <= p.last_day AND s.status = 'recorded'
      AND s.organisation_id = $7
),
o AS (
    SELECT p.p, r.organisation_id, r.observation_id AS id, r.provider_id, r.observed_on
    FROM periods p CROSS JOIN report_observations r
    WHERE r.observed_on >= p.first_day AND r.observed_on <= p.last_day AND r.organisation_id = $7
),
m AS (
    SELECT o.p, o.id, o.provider_id, o.observed_on, m.name, m.value,
           CASE WHEN m.name IN ('hbb.bag_mask.pass', 'hbb.osce_a.pass', 'hbb.osce_b.pass', 'emonc.newborn_resuscitation.pass') THEN 'COMP-NR'
                WHEN m.name IN ('ldhf.amtsl.pass', 'ldhf.pph.pass', 'emonc.pph.pass') THEN 'COMP-PPH'
                WHEN m.name IN ('emonc.shoulder_dystocia.pass', 'emonc.cord_prolapse.pass') THEN 'COMP-OE'
                WHEN m.name = 'qi.supportive_supervision.competent' THEN 'COMP-IPC'
                ELSE 'AMTSL-01' END AS code
    FROM o CROSS JOIN report_metrics m
    WHERE m.organisation_id = o.organisation_id AND m.observed_on = o.observed_on
      AND m.observation_id = o.id AND (m.name || '') IN ('hbb.bag_mask.pass', 'hbb.osce_a.pass', 'hbb.osce_b.pass',
                     'emonc.newborn_resuscitation.pass', 'ldhf.amtsl.pass', 'ldhf.pph.pass',
                     'emonc.pph.pass', 'emonc.shoulder_dystocia.pass', 'emonc.cord_prolapse.pass',
                     'qi.supportive_supervision.competent', 'ldhf.amtsl.uterotonic_within_1_min')
),
latest AS (
    SELECT p, code, value,
           ROW_NUMBER() OVER (PARTITION BY p, code, provider_id ORDER BY observed_on DESC, id DESC) AS rn
    FROM m WHERE code <> 'AMTSL-01'
),
t AS (
    SELECT p.p, tp.provider_id, pre.id AS pre_id, pre.percentage AS pre, post.id AS post_id,
           post.percentage AS post, post.outcome_level AS level
    FROM periods p
      JOIN trainings t ON t.end_date >= p.first_day AND t.end_date <= p.last_day
      JOIN training_participants tp ON tp.training_id = t.id
      LEFT JOIN observations pre ON pre.training_id = t.id AND pre.provider_id = tp.provider_id AND pre.phase = 'pre'
      LEFT JOIN observations post ON post.training_id = t.id AND post.provider_id = tp.provider_id AND post.phase = 'post'
    WHERE t.status = 'recorded' AND t.organisation_id = $7
),
figures (p, code, num, den) AS (
    SELECT p, 'LDHF-01', COUNT(*), CAST(NULL AS DOUBLE PRECISION) FROM s GROUP BY p
    UNION ALL
    SELECT p.p, 'LDHF-02', COUNT(DISTINCT rm.provider_id), CAST(NULL AS DOUBLE PRECISION)
    FROM periods p CROSS JOIN report_mentees rm
    WHERE rm.session_date >= p.first_day AND rm.session_date <= p.last_day AND rm.organisation_id = $7
    GROUP BY p.p
    UNION ALL
    SELECT p.p, 'LDHF-03', (SELECT COUNT(DISTINCT s.facility_id) FROM s WHERE s.p = p.p),
           (SELECT COUNT(DISTINCT ma.facility_id) FROM mentor_assignments ma JOIN users u ON u.id = ma.mentor_id
            WHERE u.active = 1 AND u.organisation_id = $7)
    FROM periods p
    UNION ALL
    SELECT p, code, SUM(CASE WHEN value = 1 THEN 1 ELSE 0 END), COUNT(*) FROM latest WHERE rn = 1 GROUP BY p, code
    UNION ALL
    SELECT p, code, SUM(CASE WHEN value = 1 THEN 1 ELSE 0 END), COUNT(*) FROM m WHERE code = 'AMTSL-01' GROUP BY p, code
    UNION ALL
    SELECT p, 'TRN-01', AVG(post - pre), CAST(NULL AS DOUBLE PRECISION) FROM t
    WHERE pre_id IS NOT NULL AND pre IS NOT NULL AND post IS NOT NULL GROUP BY p
    UNION ALL
    SELECT p, 'TRN-02', SUM(CASE WHEN level = 'green' THEN 1 ELSE 0 END), COUNT(post_id) FROM t GROUP BY p
    UNION ALL
    SELECT p.p, 'MPDSR-01', COUNT(*), CAST(NULL AS DOUBLE PRECISION)
    FROM periods p JOIN death_reviews d ON d.reviewed_on >= p.first_day AND d.reviewed_on <= p.last_day
    WHERE d.reviewed_on IS NOT NULL AND d.organisation_id = $7 GROUP BY p.p
    UNION ALL
    SELECT p.p, 'MPDSR-02',
           SUM(CASE WHEN r.status = 'done' AND (r.done_on IS NULL OR r.done_on <= p.last_day) THEN 1 ELSE 0 END), COUNT(*)
    FROM periods p JOIN death_review_recommendations r ON r.deadline <= p.last_day
      JOIN death_reviews d ON d.id = r.review_id
    WHERE NOT (r.status = 'done' AND r.done_on IS NOT NULL AND r.done_on < p.first_day) AND d.organisation_id = $7
    GROUP BY p.p
    UNION ALL
    SELECT p.p, 'QI-01', COUNT(*), CAST(NULL AS DOUBLE PRECISION)
    FROM periods p JOIN qi_projects q ON q.started_on <= p.last_day AND (q.ended_on IS NULL OR q.ended_on >= p.first_day)
    WHERE q.status = 'active' AND q.organisation_id = $7 GROUP BY p.p
    UNION ALL
    SELECT p.p, 'QI-02',
           SUM(CASE WHEN a.status = 'done' AND (a.done_on IS NULL OR a.done_on <= p.last_day) THEN 1 ELSE 0 END), COUNT(*)
    FROM periods p JOIN action_items a ON a.due_on >= p.first_day AND a.due_on <= p.last_day
    WHERE a.status <> '' AND a.organisation_id = $7 GROUP BY p.p
    UNION ALL
    SELECT p.p, 'TEAM-01', SUM(CASE WHEN tt.achieved >= tt.target THEN 1 ELSE 0 END), COUNT(*)
    FROM periods p JOIN team_targets tt ON tt.quarter = p.quarter JOIN teams tm ON tm.id = tt.team_id
    WHERE tt.target >= 0 AND tm.organisation_id = $7 GROUP BY p.p
    UNION ALL
    SELECT p.p, 'TEAM-02', SUM(a.award_amount), CAST(NULL AS DOUBLE PRECISION)
    FROM periods p JOIN team_assessments a ON a.quarter = p.quarter JOIN teams tm ON tm.id = a.team_id
    WHERE a.award_amount >= 0 AND tm.organisation_id = $7 GROUP BY p.p
)
SELECT CAST(p AS BIGINT), code, CAST(num AS DOUBLE PRECISION), CAST(den AS DOUBLE PRECISION) FROM figures";

/// (period, code) → (numerator, denominator).
type Baseline = HashMap<(i64, String), (f64, Option<f64>)>;

fn baseline_sql(programme: bool) -> String {
    if !programme {
        return BASELINE.to_string();
    }
    let mut sql = BASELINE.to_string();
    // The reporting tables are keyed by organisation first: the programme reads every
    // organisation's range, as `indicators::compute` does.
    for alias in ["r", "rm"] {
        sql = sql.replace(
            &format!(" AND {alias}.organisation_id = $7"),
            &format!(" AND {alias}.organisation_id IN (SELECT id FROM organisations)"),
        );
    }
    for alias in ["s", "u", "t", "d", "q", "a", "tm"] {
        sql = sql.replace(&format!(" AND {alias}.organisation_id = $7"), "");
    }
    assert!(!sql.contains("$7"), "the programme baseline still names $7");
    sql
}

async fn baseline(db: &Db, org: Option<i64>, quarter: Quarter) -> Baseline {
    let (first, last) = quarter.date_range();
    let previous = quarter.previous();
    let (pfirst, plast) = previous.date_range();
    let sql = baseline_sql(org.is_none());
    let mut q =
        sqlx::query_as::<_, (i64, String, Option<f64>, Option<f64>)>(sqlx::AssertSqlSafe(sql))
            .bind(first)
            .bind(last)
            .bind(quarter.to_string())
            .bind(pfirst)
            .bind(plast)
            .bind(previous.to_string());
    if let Some(org) = org {
        q = q.bind(org);
    }
    q.fetch_all(db.pool())
        .await
        .expect("the baseline statement")
        .into_iter()
        .map(|(p, code, num, den)| ((p, code), (num.unwrap_or(0.0), den)))
        .collect()
}

/// The baseline must report what `indicators::compute` reports, or the comparison means
/// nothing.
fn check(figures: &[IndicatorFigures], base: &Baseline, what: &str) {
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0);
    let mut checked = 0;
    for f in figures {
        for (p, figure) in [(0, &f.total), (1, &f.previous)] {
            let (num, den) = base
                .get(&(p, f.code.clone()))
                .copied()
                .unwrap_or((0.0, figure.denominator.map(|_| 0.0)));
            assert!(
                close(figure.numerator, num),
                "{what}: {} numerator (period {p}) computed {} but the baseline says {num}",
                f.code,
                figure.numerator
            );
            match (figure.denominator, den) {
                (None, None) => {}
                (Some(a), Some(b)) => assert!(
                    close(a, b),
                    "{what}: {} denominator (period {p}) computed {a} but the baseline says {b}",
                    f.code
                ),
                (a, b) => panic!("{what}: {} denominator {a:?} against {b:?}", f.code),
            }
            checked += 1;
        }
    }
    assert!(checked >= 32, "{what}: only {checked} figures checked");
}
