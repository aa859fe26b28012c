//! Group commit for SQLite's single writer.
//!
//! With `synchronous=FULL` every COMMIT waits for an fsync, and SQLite admits one writer at a
//! time, so committing each user action on its own caps the server at one fsync per action
//! no matter how many cores it has. Here the transactions of concurrent actions share one
//! outer transaction on the writer connection: each action runs inside its own SAVEPOINT (so
//! it still commits or rolls back as a whole), and the outer transaction is committed — one
//! fsync — when no other action is waiting for the writer, or when the group is large or old
//! enough. An action is acknowledged only after the COMMIT that contains it succeeded, so an
//! acknowledged write still survives a crash or a power cut; if that COMMIT fails, every
//! action of the group gets the error and none was acknowledged.
//!
//! Actions of one group see each other's writes (they run one after another on the same
//! connection), exactly as they would had each committed before the next began; readers on
//! other connections see a group's writes only once it is committed, after which its
//! actions answer their callers.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

/// Commit at the latest when this many actions are waiting for it…
const MAX_GROUP: usize = 64;
/// …or when the oldest of them has waited this long. Under load the age decides, and each
/// COMMIT is an fsync during which nobody writes: 10 ms carried 12 % more sessions/s than
/// 5 ms in the sessions benchmark with a lower p99, and 20 ms no more (BENCHMARKS.md).
const MAX_DELAY: Duration = Duration::from_millis(10);

type Ack = oneshot::Sender<Result<(), String>>;

/// The writer connection and the commit group in progress on it.
#[derive(Debug)]
pub struct Writer {
    pool: AnyPool,
    /// Actions queued for the writer (not yet holding it).
    waiting: AtomicUsize,
    /// COMMITs issued: how large groups are.
    commits: AtomicU64,
    /// Actions that held the writer, and for how long in all: the writer is the one thing
    /// all writes queue for, so the time each holds it bounds the server's write rate.
    actions: AtomicU64,
    held_ns: AtomicU64,
    /// How long actions queued for the writer, and waited after their RELEASE for the
    /// group's COMMIT, in all: with `held_ns`, where a write's time goes.
    queued_ns: AtomicU64,
    committing_ns: AtomicU64,
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    conn: Option<PoolConnection<Any>>,
    /// An outer transaction is open on `conn`.
    open: bool,
    /// A savepoint is open that no action has taken yet: the previous action opened it for
    /// the next with its RELEASE, saving the next a round trip while it holds the writer.
    savepoint_ready: bool,
    /// Actions whose savepoints were released, waiting for the COMMIT.
    pending: Vec<Ack>,
    first_pending_at: Option<Instant>,
    /// A transaction was dropped without committing and its savepoint is still to be undone
    /// (set when no runtime was at hand to undo it at once).
    dirty: bool,
}

impl Writer {
    pub fn new(pool: AnyPool) -> Writer {
        Writer {
            pool,
            waiting: AtomicUsize::new(0),
            commits: AtomicU64::new(0),
            actions: AtomicU64::new(0),
            held_ns: AtomicU64::new(0),
            queued_ns: AtomicU64::new(0),
            committing_ns: AtomicU64::new(0),
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    pub async fn begin(self: &Arc<Self>) -> Result<Tx, sqlx::Error> {
        let queued_at = Instant::now();
        let mut guard = {
            // Counted while queued, uncounted even if the caller gives up (a client that
            // disconnects drops its request's future here).
            let _queued = Queued::new(&self.waiting);
            Arc::clone(&self.state).lock_owned().await
        };
        let since = Instant::now();
        add_since(&self.queued_ns, queued_at);
        let started = async {
            if guard.dirty {
                undo_savepoint(&mut guard).await;
            }
            if guard.conn.is_none() {
                // At the writer's priority if it has to be opened again.
                guard.conn = Some(super::priority::acquire_writer(&self.pool).await?);
            }
            if guard.open && std::mem::take(&mut guard.savepoint_ready) {
                return Ok(());
            }
            let open = guard.open;
            // Open from here on even if what follows fails: the failure path rolls back.
            guard.open = true;
            let conn = guard.conn.as_mut().expect("connection acquired above");
            // Every statement is a round trip to SQLite's worker thread while the writer is
            // held, so the group's BEGIN goes with its first action's SAVEPOINT. IMMEDIATE
            // takes the write lock up front rather than on first write.
            let sql = if open {
                "SAVEPOINT action"
            } else {
                "BEGIN IMMEDIATE; SAVEPOINT action"
            };
            conn.execute(sql).await?;
            Ok::<(), sqlx::Error>(())
        }
        .await;
        match started {
            Ok(()) => Ok(Tx {
                inner: Inner::Grouped {
                    guard: Some(guard),
                    writer: Arc::clone(self),
                    since,
                },
            }),
            Err(e) => {
                // Whatever state the connection is in, start the next action afresh.
                abandon_group(&mut guard, &e.to_string()).await;
                self.held(since);
                Err(e)
            }
        }
    }

    fn held(&self, since: Instant) {
        self.actions.fetch_add(1, Ordering::Relaxed);
        add_since(&self.held_ns, since);
    }

    /// What the writer has done so far.
    pub fn stats(&self) -> WriterStats {
        let time = |ns: &AtomicU64| Duration::from_nanos(ns.load(Ordering::Relaxed));
        WriterStats {
            actions: self.actions.load(Ordering::Relaxed),
            commits: self.commits.load(Ordering::Relaxed),
            queued: time(&self.queued_ns),
            held: time(&self.held_ns),
            committing: time(&self.committing_ns),
        }
    }

    /// Commits whatever the group holds, whoever is waiting: called by an action whose
    /// COMMIT is overdue (the action that should have committed it was cancelled).
    async fn commit_overdue(&self) {
        let mut state = Arc::clone(&self.state).lock_owned().await;
        if state.dirty {
            undo_savepoint(&mut state).await;
        }
        if state.open && !state.pending.is_empty() {
            state.first_pending_at = Some(Instant::now() - MAX_DELAY);
            self.maybe_commit(&mut state).await;
        }
    }

    /// Whether the group is to be committed now: nobody else is about to join it, or it is
    /// big or old enough. Otherwise the COMMIT is left to the last action of the group.
    fn due(&self, state: &State) -> bool {
        let nobody_waiting = self.waiting.load(Ordering::SeqCst) == 0;
        let full = state.pending.len() >= MAX_GROUP;
        let old = state
            .first_pending_at
            .is_some_and(|t| t.elapsed() >= MAX_DELAY);
        state.open && (nobody_waiting || full || old)
    }

    /// Commits the group if it is [due](Writer::due).
    async fn maybe_commit(&self, state: &mut State) {
        if self.due(state) {
            self.commit_group(state, "COMMIT").await;
        }
    }

    /// Runs `sql`, which ends with the group's COMMIT, and answers every action of the group.
    async fn commit_group(&self, state: &mut State, sql: &'static str) {
        let nobody_waiting = self.waiting.load(Ordering::SeqCst) == 0;
        self.commits.fetch_add(1, Ordering::Relaxed);
        let result = match state.conn.as_mut() {
            Some(conn) => conn.execute(sql).await.map(|_| ()),
            None => Err(sqlx::Error::PoolClosed),
        };
        match result {
            Ok(()) => {
                state.open = false;
                state.savepoint_ready = false;
                state.first_pending_at = None;
                for ack in state.pending.drain(..) {
                    let _ = ack.send(Ok(()));
                }
                if nobody_waiting {
                    // Idle: hand the connection back, so that closing the pool (at shutdown) does
                    // not wait for it. The pool keeps it open (`db::priority`).
                    state.conn = None;
                }
            }
            Err(e) => abandon_group(state, &e.to_string()).await,
        }
    }
}

/// The writer's counters since it started, each time a sum over actions; subtract two to
/// see a stretch of load, add stretches to pool them (the sessions benchmark does both).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Actions that held the writer.
    pub actions: u64,
    /// COMMITs issued: `actions / commits` is the mean group.
    pub commits: u64,
    /// Queued for the writer.
    pub queued: Duration,
    /// Holding it, from its first statement to its RELEASE (or rollback).
    pub held: Duration,
    /// After letting go of it, waiting for the group's COMMIT (which an action that issues
    /// it itself spends holding the writer).
    pub committing: Duration,
}

impl std::ops::Sub for WriterStats {
    type Output = WriterStats;

    fn sub(self, earlier: WriterStats) -> WriterStats {
        WriterStats {
            actions: self.actions.saturating_sub(earlier.actions),
            commits: self.commits.saturating_sub(earlier.commits),
            queued: self.queued.saturating_sub(earlier.queued),
            held: self.held.saturating_sub(earlier.held),
            committing: self.committing.saturating_sub(earlier.committing),
        }
    }
}

impl std::ops::Add for WriterStats {
    type Output = WriterStats;

    fn add(self, other: WriterStats) -> WriterStats {
        WriterStats {
            actions: self.actions + other.actions,
            commits: self.commits + other.commits,
            queued: self.queued + other.queued,
            held: self.held + other.held,
            committing: self.committing + other.committing,
        }
    }
}

fn add_since(sum: &AtomicU64, since: Instant) {
    let ns = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
    sum.fetch_add(ns, Ordering::Relaxed);
}

/// Rolls the outer transaction back and fails every action waiting for it.
async fn abandon_group(state: &mut State, why: &str) {
    if let Some(conn) = state.conn.as_mut() {
        let _ = conn.execute("ROLLBACK").await;
    }
    // A connection in an unknown state is not reused.
    if let Some(mut conn) = state.conn.take() {
        conn.close_on_drop();
    }
    state.open = false;
    state.savepoint_ready = false;
    state.dirty = false;
    state.first_pending_at = None;
    for ack in state.pending.drain(..) {
        let _ = ack.send(Err(why.to_string()));
    }
}

/// Undoes the savepoint of an action that ended without committing.
async fn undo_savepoint(state: &mut State) {
    state.dirty = false;
    let undone = match state.conn.as_mut() {
        Some(conn) => conn
            .execute("ROLLBACK TO action; RELEASE action")
            .await
            .map(|_| ()),
        None => Ok(()),
    };
    // If the savepoint is gone, SQLite rolled the whole transaction back (it does on some
    // I/O and memory errors): the group's earlier actions are lost and must not be
    // acknowledged.
    if let Err(e) = undone {
        abandon_group(state, &e.to_string()).await;
    }
}

/// The write transaction of one user action: everything it changes commits or rolls back
/// together. Dropping it without [`Tx::commit`] rolls it back. Derefs to the connection, so
/// queries run on `&mut *tx`.
#[derive(Debug)]
pub struct Tx {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Plain(sqlx::Transaction<'static, Any>),
    Grouped {
        guard: Option<OwnedMutexGuard<State>>,
        writer: Arc<Writer>,
        /// When this action took the writer.
        since: Instant,
    },
    /// Committed (only seen while `commit` consumes the transaction).
    Done,
}

/// Counts an action queued for the writer for as long as it is queued.
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn new(counter: &'a AtomicUsize) -> Queued<'a> {
        counter.fetch_add(1, Ordering::SeqCst);
        Queued(counter)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Tx {
    pub(super) fn plain(tx: sqlx::Transaction<'static, Any>) -> Tx {
        Tx {
            inner: Inner::Plain(tx),
        }
    }

    /// The engine this transaction runs on, for the few statements written per engine.
    pub fn kind(&self) -> super::DbKind {
        match self.inner {
            Inner::Plain(_) => super::DbKind::Postgres,
            _ => super::DbKind::Sqlite,
        }
    }

    /// Rolls this transaction's changes back and returns once every change that other
    /// actions committed before it is visible to readers: for an action that lost a race on a
    /// unique key and now reads the winner's row.
    pub async fn settle(mut self) -> Result<(), sqlx::Error> {
        match &mut self.inner {
            Inner::Plain(_) => {
                if let Inner::Plain(tx) = std::mem::replace(&mut self.inner, Inner::Done) {
                    tx.rollback().await?;
                }
                Ok(())
            }
            Inner::Grouped { guard, .. } => {
                if let Some(conn) = guard.as_mut().and_then(|g| g.conn.as_mut()) {
                    conn.execute("ROLLBACK TO action").await?;
                }
                // What is left of this action is an empty savepoint: committing it waits
                // for the group, winner included.
                self.commit().await
            }
            Inner::Done => Ok(()),
        }
    }

    /// Commits; returns once the change is durable.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        match std::mem::replace(&mut self.inner, Inner::Done) {
            Inner::Plain(tx) => tx.commit().await,
            Inner::Grouped {
                guard,
                writer,
                since,
            } => {
                let Some(mut guard) = guard else {
                    return Err(sqlx::Error::PoolClosed);
                };
                let (ack, acked) = oneshot::channel();
                guard.pending.push(ack);
                guard.first_pending_at.get_or_insert_with(Instant::now);
                if writer.due(&guard) {
                    // One round trip for both while the writer is held.
                    writer
                        .commit_group(&mut guard, "RELEASE action; COMMIT")
                        .await;
                } else {
                    // Not due, so another action is waiting: open its savepoint now, in the
                    // same round trip.
                    let released = match guard.conn.as_mut() {
                        Some(conn) => conn
                            .execute("RELEASE action; SAVEPOINT action")
                            .await
                            .map(|_| ()),
                        None => Err(sqlx::Error::PoolClosed),
                    };
                    match released {
                        Ok(()) => guard.savepoint_ready = true,
                        // This action's answer included: it is among the pending.
                        Err(e) => abandon_group(&mut guard, &e.to_string()).await,
                    }
                }
                drop(guard);
                writer.held(since);
                let released_at = Instant::now();
                let mut acked = acked;
                loop {
                    match tokio::time::timeout(MAX_DELAY * 4, &mut acked).await {
                        Ok(Ok(Ok(()))) => {
                            add_since(&writer.committing_ns, released_at);
                            return Ok(());
                        }
                        Ok(Ok(Err(why))) => {
                            return Err(sqlx::Error::Protocol(format!(
                                "the commit of this change failed: {why}"
                            )));
                        }
                        Ok(Err(_)) => return Err(sqlx::Error::PoolClosed),
                        Err(_) => writer.commit_overdue().await,
                    }
                }
            }
            Inner::Done => Err(sqlx::Error::PoolClosed),
        }
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        let Inner::Grouped {
            guard,
            writer,
            since,
        } = &mut self.inner
        else {
            return; // sqlx rolls a plain transaction back itself
        };
        let Some(mut guard) = guard.take() else {
            return;
        };
        writer.held(*since);
        guard.dirty = true;
        let writer = Arc::clone(writer);
        // Undo at once, so actions already waiting for this group's COMMIT get it even if
        // no other action comes along; without a runtime, the next action undoes it.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                undo_savepoint(&mut guard).await;
                writer.maybe_commit(&mut guard).await;
            });
        }
    }
}

impl Deref for Tx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match &self.inner {
            Inner::Plain(tx) => tx,
            Inner::Grouped { guard, .. } => guard
                .as_ref()
                .and_then(|g| g.conn.as_deref())
                .expect("a live transaction holds the writer connection"),
            Inner::Done => unreachable!("a committed transaction is consumed"),
        }
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.inner {
            Inner::Plain(tx) => tx,
            Inner::Grouped { guard, .. } => guard
                .as_mut()
                .and_then(|g| g.conn.as_deref_mut())
                .expect("a live transaction holds the writer connection"),
            Inner::Done => unreachable!("a committed transaction is consumed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::Db;

    async fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/group.db", dir.path().display());
        let db = Db::connect(&url).await.unwrap();
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)")
            .execute(db.pool())
            .await
            .unwrap();
        (dir, db)
    }

    async fn count(db: &Db) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(db.pool())
            .await
            .unwrap()
    }

    /// Many concurrent actions: each one that commits is visible to readers as soon as it is
    /// acknowledged, each one dropped or failed leaves nothing, and neither disturbs the
    /// others of its group.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_actions_commit_or_roll_back_alone() {
        let (_dir, db) = db().await;
        let mut tasks = Vec::new();
        for n in 0..200 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = db.begin().await.unwrap();
                sqlx::query("INSERT INTO t (v) VALUES ($1)")
                    .bind(format!("row {n}"))
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                match n % 4 {
                    // Dropped: rolled back.
                    1 => drop(tx),
                    // A second statement fails (duplicate): the action gives up.
                    2 => {
                        let dup = sqlx::query("INSERT INTO t (v) VALUES ($1)")
                            .bind(format!("row {n}"))
                            .execute(&mut *tx)
                            .await;
                        assert!(dup.is_err());
                        drop(tx);
                    }
                    _ => {
                        tx.commit().await.unwrap();
                        // Acknowledged means committed: a reader sees it at once.
                        let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t WHERE v = $1")
                            .bind(format!("row {n}"))
                            .fetch_one(db.pool())
                            .await
                            .unwrap();
                        assert_eq!(seen, 1, "row {n} acknowledged but not visible");
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        // Dropped actions are undone in the background; wait for the writer to go idle.
        drop(db.begin().await.unwrap());
        assert_eq!(count(&db).await, 100);
        // The point of it all: fewer COMMITs (fsyncs) than committed actions.
        let stats = db.writer_stats().unwrap();
        assert!(
            stats.commits < 100,
            "{} commits for 100 actions: no group formed",
            stats.commits
        );
        // Every action that took the writer is counted once, committed or not (the last one
        // is the idle check above), and the committed ones waited for their COMMIT.
        assert_eq!(stats.actions, 201, "{stats:?}");
        assert!(stats.held > Duration::ZERO && stats.committing > Duration::ZERO);
        let later = db.writer_stats().unwrap();
        assert_eq!(later - stats, super::WriterStats::default());
        let odd: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM t WHERE CAST(SUBSTR(v, 5) AS INTEGER) % 4 IN (1, 2)",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(odd, 0);
    }

    /// A caller that gives up while queued for the writer (a client that disconnected) does
    /// not leave the actions before it waiting for a commit that never comes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_waiter_does_not_stall_the_group() {
        let (_dir, db) = db().await;
        let mut first = db.begin().await.unwrap();
        sqlx::query("INSERT INTO t (v) VALUES ('first')")
            .execute(&mut *first)
            .await
            .unwrap();
        // Queued behind `first`, then abandoned.
        let queued = tokio::spawn({
            let db = db.clone();
            async move { db.begin().await.map(drop) }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        queued.abort();
        let committed =
            tokio::time::timeout(std::time::Duration::from_secs(5), first.commit()).await;
        assert!(matches!(committed, Ok(Ok(()))), "{committed:?}");
        assert_eq!(count(&db).await, 1);
    }

    /// The loser of a race on a unique key can read the winner's row once settled, even if
    /// the winner's group has not committed yet.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn settle_waits_for_the_winner() {
        let (_dir, db) = db().await;
        async fn race(db: Db) -> i64 {
            let mut tx = db.begin().await.unwrap();
            let inserted = sqlx::query("INSERT INTO t (v) VALUES ('same')")
                .execute(&mut *tx)
                .await;
            if inserted.is_err() {
                tx.settle().await.unwrap();
            } else {
                tx.commit().await.unwrap();
            }
            // Whoever lost reads the winner's row.
            sqlx::query_scalar("SELECT COUNT(*) FROM t WHERE v = 'same'")
                .fetch_one(db.pool())
                .await
                .unwrap()
        }
        let (a, b) = tokio::join!(
            tokio::spawn(race(db.clone())),
            tokio::spawn(race(db.clone()))
        );
        assert_eq!((a.unwrap(), b.unwrap()), (1, 1));
        assert_eq!(count(&db).await, 1);
    }
}
