//! The national-scale synthetic data set of `mentortrack demo --scale national`.
//!
//! A Rwanda-shaped national programme: 5 provinces and their 30 districts, about 1,500
//! facilities (hospitals, health centres, health posts), about 30,000 providers with cadres and
//! sex, 8 partner organisations each mentoring with its own plugin or one another partner
//! granted it, mentors assigned to facilities, and five years of history: at least a million
//! scored session observations with their metrics, trainings with pre- and post-tests, death
//! reviews with recommendations, QI projects with PDSA cycles, action items agreed in sessions,
//! and community teams with quarterly targets and assessments. Activity ramps up over the first
//! months, dips in holiday months and April, and each provider's skill grows with the sessions
//! they are observed in, so pass rates rise over the years.
//!
//! `percent` scales the programme: the districts (never fewer than 3, so every partner works
//! somewhere), their facilities and providers, the mentors and every kind of record, over the
//! same five years. 10 % is a programme of ~150 facilities and ~100,000 observations.
//!
//! Speed, and what it costs in faithfulness:
//! - Scores are exactly what the plugins produce: each distinct filled checklist is checked by
//!   the host and scored through the registry like a real submission, and its card reused for
//!   every observation with the same responses and the same scoring context (session type,
//!   cadre, language). Responses come from a bank of patterns per checklist and skill level,
//!   so a million observations need a few thousand plugin calls. The context's date is left
//!   out of that key: no bundled plugin reads it, and tests/tests/national.rs re-scores a
//!   sample of stored observations with their own dates to hold that true.
//! - Rows are written by static multi-row statements that unpack a JSON array (`json_each` on
//!   SQLite, `jsonb_array_elements` on PostgreSQL), one transaction per month of history, by a
//!   task of their own so the next month is generated while the last one is written.
//! - Reference data (organisations, org units, accounts, assignments, providers) carry their
//!   audit entries as in the small demo; the generated history does not (nobody entered it).
//! - Ids are allocated here (the generator is the database's only writer while it runs);
//!   PostgreSQL's identity sequences are moved past them at the end.
//!
//! Loading happens once: the project-management organisation `NATIONAL-PM` marks a loaded data
//! set, and its name carries "(loading)" until the last row is written, so an interrupted load
//! is reported instead of being taken for a complete one. The same percent and end date always
//! give the same data set.

mod bulk;
mod death_reviews;
mod qi;
mod scorer;
mod sessions;
mod shape;
mod teams;
mod trainings;
mod world;

use std::fmt;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use chrono::{Months, NaiveDate, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use sqlx::FromRow;
use tokio::sync::mpsc;

use super::Rng;
use crate::auth::password;
use crate::db::{Db, DbKind};
use crate::domain::quarter::Quarter;
use crate::plugins::Registry;
use bulk::Batch;
use scorer::Scorer;

/// Bumped whenever the generator's output changes, so cached data sets are rebuilt.
pub const GENERATOR_VERSION: u32 = 1;

/// The organisation whose presence means the national data set is loaded.
pub const MARKER_ORGANISATION: &str = "NATIONAL-PM";

/// Without a database URL the national data set gets its own file.
pub const DEFAULT_URL: &str = "sqlite://data/demo-national.db";

/// Scored session observations in the whole (100 %) data set.
pub const FULL_OBSERVATIONS: u64 = 1_020_000;

/// Years of history.
pub const YEARS: u32 = 5;

const LOADING: &str = " (loading)";
const SEED: u64 = 0x6e61_7469_6f6e_616c; // "national"

/// What to generate.
#[derive(Clone, Debug)]
pub struct Options {
    /// 1 to 100: the share of the national programme.
    pub percent: u32,
    /// The last day of the history (inclusive).
    pub end: NaiveDate,
    /// Draw a progress bar on standard error.
    pub progress: bool,
}

impl Options {
    /// The whole history up to yesterday.
    pub fn new(percent: u32) -> Options {
        Options {
            percent,
            end: Utc::now().date_naive() - chrono::Duration::days(1),
            progress: true,
        }
    }

    fn scale(&self) -> f64 {
        f64::from(self.percent.clamp(1, 100)) / 100.0
    }

    /// The first day of the history.
    pub fn start(&self) -> NaiveDate {
        self.end
            .checked_sub_months(Months::new(12 * YEARS))
            .and_then(|d| d.succ_opt())
            .unwrap_or(self.end)
    }

    /// The days of history (at least one) and the years they make.
    fn span(&self) -> (i64, f64) {
        let days = (self.end - self.start()).num_days().max(1);
        (days, days as f64 / 365.25)
    }

    /// The quarters the history touches, oldest first.
    fn quarters(&self) -> Vec<Quarter> {
        let mut out = Vec::new();
        let mut q = Quarter::of(self.start());
        let last = Quarter::of(self.end);
        while q <= last {
            out.push(q);
            q = q.next();
        }
        out
    }

    /// Each part of the data set draws from a generator of its own, so that drawing more or
    /// fewer numbers in one part does not shift the draws of every part after it.
    fn rng(&self, part: u64) -> Rng {
        Rng::new(SEED ^ part ^ u64::from(self.percent))
    }
}

/// What the database holds after a national load, read back from it.
#[derive(Clone, Debug, Default, FromRow)]
pub struct Summary {
    /// How long this call took; `None` when the data set was already loaded.
    #[sqlx(skip)]
    pub loaded_in: Option<Duration>,
    pub partners: i64,
    pub districts: i64,
    pub hospitals: i64,
    pub health_centres: i64,
    pub health_posts: i64,
    pub providers: i64,
    pub mentors: i64,
    pub sessions: i64,
    pub observations: i64,
    pub metrics: i64,
    pub trainings: i64,
    pub training_tests: i64,
    pub death_reviews: i64,
    pub recommendations: i64,
    pub qi_projects: i64,
    pub action_items: i64,
    pub teams: i64,
    pub team_assessments: i64,
    pub first_day: Option<String>,
    pub last_day: Option<String>,
    /// Plugin calls the load made (each distinct filled checklist and context once).
    #[sqlx(skip)]
    pub plugin_calls: u64,
}

impl Summary {
    pub fn facilities(&self) -> i64 {
        self.hospitals + self.health_centres + self.health_posts
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = "=".repeat(78);
        writeln!(f, "{rule}")?;
        match self.loaded_in {
            Some(d) => writeln!(
                f,
                " mentortrack national data set - generated in {:.1} s ({} plugin calls)",
                d.as_secs_f64(),
                self.plugin_calls
            )?,
            None => writeln!(f, " mentortrack national data set - already loaded")?,
        }
        writeln!(f, "{rule}")?;
        writeln!(
            f,
            " {} partners; {} districts; {} facilities ({} hospitals, {} health centres, {} health posts)",
            self.partners,
            self.districts,
            self.facilities(),
            self.hospitals,
            self.health_centres,
            self.health_posts
        )?;
        writeln!(
            f,
            " {} providers, {} mentors; history {} to {}",
            self.providers,
            self.mentors,
            self.first_day.as_deref().unwrap_or("-"),
            self.last_day.as_deref().unwrap_or("-")
        )?;
        writeln!(
            f,
            " {} sessions, {} scored observations with {} metric values",
            self.sessions, self.observations, self.metrics
        )?;
        writeln!(
            f,
            " {} trainings ({} pre- and post-tests), {} death reviews ({} recommendations)",
            self.trainings, self.training_tests, self.death_reviews, self.recommendations
        )?;
        writeln!(
            f,
            " {} QI projects, {} action items, {} community teams ({} quarterly assessments)",
            self.qi_projects, self.action_items, self.teams, self.team_assessments
        )?;
        writeln!(f)?;
        writeln!(
            f,
            " Sign in as admin@{0} or manager@{0} (or admin.<partner>@{0},",
            super::EMAIL_DOMAIN
        )?;
        writeln!(
            f,
            " mentor<n>.<partner>@{}) with the password {}",
            super::EMAIL_DOMAIN,
            super::PASSWORD
        )?;
        write!(f, "{rule}")
    }
}

/// Reads the summary of what is loaded.
pub async fn summary(db: &Db) -> anyhow::Result<Summary> {
    sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM organisations
                 WHERE kind IN ('professional_association', 'ngo')) AS partners,
                (SELECT COUNT(*) FROM org_units WHERE level = 'district') AS districts,
                (SELECT COUNT(*) FROM org_units WHERE facility_type = 'hospital') AS hospitals,
                (SELECT COUNT(*) FROM org_units WHERE facility_type = 'health_centre')
                    AS health_centres,
                (SELECT COUNT(*) FROM org_units WHERE facility_type = 'health_post') AS health_posts,
                (SELECT COUNT(*) FROM providers) AS providers,
                (SELECT COUNT(*) FROM users WHERE role = 'mentor') AS mentors,
                (SELECT COUNT(*) FROM sessions) AS sessions,
                (SELECT COUNT(*) FROM observations WHERE session_id IS NOT NULL) AS observations,
                (SELECT COUNT(*) FROM observation_metrics) AS metrics,
                (SELECT COUNT(*) FROM trainings) AS trainings,
                (SELECT COUNT(*) FROM observations WHERE training_id IS NOT NULL)
                    AS training_tests,
                (SELECT COUNT(*) FROM death_reviews) AS death_reviews,
                (SELECT COUNT(*) FROM death_review_recommendations) AS recommendations,
                (SELECT COUNT(*) FROM qi_projects) AS qi_projects,
                (SELECT COUNT(*) FROM action_items) AS action_items,
                (SELECT COUNT(*) FROM teams) AS teams,
                (SELECT COUNT(*) FROM team_assessments) AS team_assessments,
                (SELECT MIN(session_date) FROM sessions) AS first_day,
                (SELECT MAX(session_date) FROM sessions) AS last_day",
    )
    .fetch_one(db.pool())
    .await
    .context("counting the national data set")
}

/// Whether a complete national data set is loaded. An interrupted load is an error: its data
/// are partial, and loading again on top of them would mix two runs.
pub async fn is_loaded(db: &Db) -> anyhow::Result<bool> {
    let name: Option<String> = sqlx::query_scalar("SELECT name FROM organisations WHERE code = $1")
        .bind(MARKER_ORGANISATION)
        .fetch_optional(db.pool())
        .await
        .context("checking whether the national data set is loaded")?;
    match name {
        None => Ok(false),
        Some(n) if n.ends_with(LOADING) => bail!(
            "a national data set load into this database was interrupted; delete the database \
             and run the command again"
        ),
        Some(_) => Ok(true),
    }
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A timestamp on a day, during working hours.
fn stamp(d: NaiveDate, rng: &mut Rng) -> String {
    format!(
        "{}T{:02}:{:02}:{:02}.{:03}Z",
        day(d),
        7 + rng.below(9),
        rng.below(60),
        rng.below(60),
        rng.below(1000)
    )
}

/// Generates the national data set unless it is already there, and returns what the database
/// holds. Refuses a database that holds other data, as the small demo does.
pub async fn load(db: &Db, registry: &Registry, options: &Options) -> anyhow::Result<Summary> {
    anyhow::ensure!(
        (1..=100).contains(&options.percent),
        "the national data set's percent must be from 1 to 100, not {}",
        options.percent
    );
    if is_loaded(db).await? {
        return summary(db).await;
    }
    let started = Instant::now();
    let (orgs, units, users): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM organisations), (SELECT COUNT(*) FROM org_units),
                (SELECT COUNT(*) FROM users)",
    )
    .fetch_one(db.pool())
    .await
    .context("checking whether the database is empty")?;
    if orgs + units + users > 0 {
        bail!(
            "this database already holds data ({orgs} organisations, {units} org units, {users} \
             users); the national data set loads only into an empty database, because its \
             accounts share a published password. Run it without --database-url to use {DEFAULT_URL}"
        );
    }
    let bar = if options.progress {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} {prefix} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    bar.set_prefix("reference data");

    let hash = password::hash(super::PASSWORD.to_string())
        .await
        .map_err(crate::cli::explain)
        .context("hashing the demo password")?;
    let mut world = world::reference_data(db, options, &hash).await?;
    let mut scorer = Scorer::new(registry);
    bar.set_prefix("plugins");
    scorer::plugins(db, registry, &mut world, &mut scorer).await?;

    // The writer runs beside the generator: month n+1 is generated while month n is written.
    let (sender, receiver) = mpsc::channel::<Batch>(2);
    let writer = tokio::spawn(bulk::write_batches(db.clone(), receiver));
    let generated = async {
        sessions::load(&mut world, &mut scorer, options, &bar, &sender).await?;
        // Each kind of reporting record is written as one transaction.
        bar.set_prefix("trainings");
        let mut t = trainings::rows(&mut world, &mut scorer, options).await?;
        t.send(&sender).await?;
        bar.set_prefix("death reviews");
        death_reviews::rows(&world, options).send(&sender).await?;
        bar.set_prefix("QI projects");
        qi::rows(&world, options).send(&sender).await?;
        bar.set_prefix("teams");
        let mut t = teams::rows(&world, &mut scorer, options).await?;
        t.send(&sender).await
    }
    .await;
    drop(sender);
    let written = writer
        .await
        .map_err(|e| anyhow!("the database writer stopped: {e}"))?;
    // A write error explains a generator that stopped because the channel closed.
    written?;
    generated?;

    bar.set_prefix("finishing");
    // The generator writes the session tables directly, in bulk; the reports' copies of them
    // are derived once, at the end.
    crate::domain::reporting::rebuild(db)
        .await
        .map_err(crate::cli::explain)
        .context("deriving the reports' copies of the sessions")?;
    if db.kind() == DbKind::Postgres {
        sqlx::query(bulk::RESYNC_SEQUENCES)
            .execute(db.pool())
            .await
            .context("moving PostgreSQL's id sequences past the generated ids")?;
        // Without statistics on the freshly loaded tables PostgreSQL plans the report's
        // queries for empty tables (an index on the date alone, then a hash join over every
        // partner's quarter): 1.7 s instead of 0.96 s for one organisation's report at full
        // scale. Autovacuum would get there eventually; a bulk load should not wait for it.
        // (SQLite's report queries fix their join order with CROSS JOIN and were measured
        // without statistics.)
        // VACUUM as well: it sets the visibility map, without which the reporting tables'
        // covering keys (migration 0007) are read through the table after all.
        sqlx::query("VACUUM ANALYZE")
            .execute(db.pool())
            .await
            .context("collecting PostgreSQL's statistics on the generated tables")?;
    }
    sqlx::query("UPDATE organisations SET name = $1 WHERE code = $2")
        .bind(pm_name(options))
        .bind(MARKER_ORGANISATION)
        .execute(db.pool())
        .await
        .context("marking the national data set complete")?;
    bar.finish_and_clear();
    let mut out = summary(db).await?;
    out.loaded_in = Some(started.elapsed());
    out.plugin_calls = scorer.calls;
    Ok(out)
}

fn pm_name(options: &Options) -> String {
    format!(
        "National LDHF Programme Management Unit (synthetic data set, {} %)",
        options.percent
    )
}
