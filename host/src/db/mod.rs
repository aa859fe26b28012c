//! One connection layer for both engines.
//!
//! Every query is written once, with `$1`-style placeholders that SQLite and PostgreSQL both
//! accept, and runs through `sqlx::Any`. The schemas keep to types both engines decode the same
//! way through `Any` (integers, text, 0/1 flags, ISO-8601 timestamps as text).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions, Executor};

pub use group_commit::{Tx, WriterStats};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// The default store when no URL is given: an embedded SQLite file under `./data/`.
pub const DEFAULT_SQLITE_URL: &str = "sqlite://data/mentortrack.db";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

impl DbKind {
    pub fn from_url(url: &str) -> anyhow::Result<DbKind> {
        if url.starts_with("sqlite:") {
            Ok(DbKind::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(DbKind::Postgres)
        } else {
            anyhow::bail!(
                "unsupported database URL {url:?}: use sqlite://PATH or postgres://USER@HOST/DB"
            )
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DbKind::Sqlite => "sqlite",
            DbKind::Postgres => "postgres",
        }
    }
}

/// Connection pools. On SQLite all writes go through a single connection: SQLite admits one
/// writer at a time anyway, and one writer connection means no transaction ever has to
/// upgrade a read lock while another connection writes (which fails at once with SQLITE_BUSY).
#[derive(Clone, Debug)]
pub struct Db {
    read: AnyPool,
    write: AnyPool,
    kind: DbKind,
    /// SQLite only: the writer shared by the transactions of one commit group.
    group: Option<std::sync::Arc<group_commit::Writer>>,
}

impl Db {
    /// Connects without migrating. Use [`Db::open`] for the usual connect-and-migrate.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let kind = DbKind::from_url(url)?;
        match kind {
            DbKind::Sqlite => {
                let url = sqlite_url_with_create(url)?;
                let write = sqlite_pool(&url, Connections::Writer).await?;
                // WAL persists in the file; set once so readers never block the writer.
                write
                    .execute("PRAGMA journal_mode = WAL")
                    .await
                    .context("enabling WAL on the SQLite database")?;
                let read = sqlite_pool(&url, Connections::Readers).await?;
                let group = Some(std::sync::Arc::new(group_commit::Writer::new(
                    write.clone(),
                )));
                Ok(Db {
                    read,
                    write,
                    kind,
                    group,
                })
            }
            DbKind::Postgres => {
                let options = AnyConnectOptions::from_str(url)
                    .with_context(|| format!("parsing database URL {}", redact(url)))?
                    .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .with_context(|| format!("connecting to {}", redact(url)))?;
                Ok(Db {
                    read: pool.clone(),
                    write: pool,
                    kind,
                    group: None,
                })
            }
        }
    }

    /// Connects and applies pending migrations.
    pub async fn open(url: &str) -> anyhow::Result<Db> {
        let db = Db::connect(url).await?;
        db.migrate().await?;
        Ok(db)
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.kind {
            DbKind::Sqlite => &SQLITE_MIGRATIONS,
            DbKind::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.write)
            .await
            .context("applying database migrations")?;
        Ok(())
    }

    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// Pool for reads outside a transaction.
    pub fn pool(&self) -> &AnyPool {
        &self.read
    }

    /// Starts the write transaction of one user action. Everything the action changes, its
    /// audit entries included, commits or rolls back together.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        match &self.group {
            Some(writer) => writer.begin().await,
            None => Ok(Tx::plain(self.write.begin().await?)),
        }
    }

    /// On SQLite, what the single writer has done so far: actions, commits, and how long
    /// actions queued for it, held it and waited for their group's commit (`None` on
    /// PostgreSQL, whose writers do not queue behind one connection).
    pub fn writer_stats(&self) -> Option<WriterStats> {
        self.group.as_ref().map(|w| w.stats())
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.read)
            .await
            .map(|_| ())
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// The two SQLite pools: SQLite admits one writer at a time, so the writer's pool has one
/// connection; readers run in parallel under WAL.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Connections {
    Writer,
    Readers,
}

async fn sqlite_pool(url: &str, connections: Connections) -> anyhow::Result<AnyPool> {
    let max = match connections {
        Connections::Writer => 1,
        Connections::Readers => 8,
    };
    let options = AnyConnectOptions::from_str(url)
        .with_context(|| format!("parsing database URL {url}"))?
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
    let pool = AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(30))
        // The pool's default pings every connection it hands out: a round trip to the
        // connection's worker thread before every query. An in-process database has no link
        // to go stale, and under load those pings were a thread hop on every read
        // (BENCHMARKS.md, sessions under load).
        .test_before_acquire(false)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                // synchronous=FULL: an acknowledged write survives power loss, not only a crash.
                conn.execute(
                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA synchronous = FULL;",
                )
                .await?;
                // On the writer, temp_store=MEMORY keeps savepoint journals in memory: every
                // action runs in a savepoint of its group's transaction (`group_commit`), and
                // SQLite otherwise spills the original of every page an action touches to a
                // temporary file (a quarter of the writer's time under load, BENCHMARKS.md).
                // Readers keep the default, so that a large report's sorts may still spill
                // to disk rather than grow in memory.
                if connections == Connections::Writer {
                    conn.execute("PRAGMA temp_store = MEMORY").await?;
                }
                Ok(())
            })
        });
    match connections {
        Connections::Readers => pool
            .connect_with(options)
            .await
            .with_context(|| format!("opening SQLite database {url}")),
        Connections::Writer => {
            // Kept open, so that its worker thread keeps the priority it was opened with.
            let pool = pool
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_lazy_with(options);
            priority::acquire_writer(&pool)
                .await
                .with_context(|| format!("opening SQLite database {url}"))?;
            Ok(pool)
        }
    }
}

/// Makes sure the file's directory exists and that SQLite may create the file.
fn sqlite_url_with_create(url: &str) -> anyhow::Result<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path.is_empty() || path == ":memory:" {
        anyhow::bail!("an in-memory SQLite database loses every write; give a file path");
    }
    if let Some(dir) = Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating database directory {}", dir.display()))?;
    }
    let query = match query {
        Some(q) if q.contains("mode=") => q.to_string(),
        Some(q) => format!("{q}&mode=rwc"),
        None => "mode=rwc".to_string(),
    };
    Ok(format!("sqlite://{path}?{query}"))
}

/// Hides a password in a database URL before it reaches a log or an error message.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

mod group_commit;
pub mod json_rows;
pub mod priority;

/// True when the error is a unique-constraint violation (a duplicate code, e-mail…).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_url_gets_create_mode() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/x/db.sqlite", dir.path().display());
        let out = sqlite_url_with_create(&url).unwrap();
        assert!(out.ends_with("?mode=rwc"), "{out}");
        assert!(dir.path().join("x").is_dir());
        assert!(sqlite_url_with_create("sqlite::memory:").is_err());
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }

    #[test]
    fn rejects_unknown_schemes() {
        assert!(DbKind::from_url("mysql://x").is_err());
        assert_eq!(
            DbKind::from_url("postgresql://x").unwrap(),
            DbKind::Postgres
        );
    }
}
