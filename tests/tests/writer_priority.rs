//! SQLite's writer thread runs at a raised priority where the process may raise one
//! (`db::priority`), and nothing else does. Alone in its own test binary: it counts the
//! process's SQLite threads, so no other test's database may be open beside it.

#![cfg(target_os = "linux")]

use mentortrack::db::Db;
use mentortrack::db::priority::{WRITER_NICE, this_thread_nice};

/// The nice values of this process's SQLite worker threads (sqlx names them
/// `sqlx-sqlite-worker-N`, which Linux cuts to 15 characters).
fn sqlite_worker_nices() -> Vec<i32> {
    let mut nices = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let path = task.expect("task").path();
        let Ok(name) = std::fs::read_to_string(path.join("comm")) else {
            continue; // the thread ended meanwhile
        };
        if name.trim_end() != "sqlx-sqlite-wor" {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
            continue;
        };
        // After the parenthesised name: state is field 3 of proc(5), nice field 19.
        let fields: Vec<&str> = stat[stat.rfind(')').expect("stat") + 2..]
            .split(' ')
            .collect();
        nices.push(fields[16].parse().expect("nice"));
    }
    nices.sort_unstable();
    nices
}

/// Whether this process may raise a thread's priority (root in CI; not every developer).
fn may_raise() -> bool {
    std::thread::spawn(|| {
        // SAFETY: setpriority takes no pointers; it changes only this scratch thread.
        unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, WRITER_NICE) == 0 }
    })
    .join()
    .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_writer_thread_runs_at_a_raised_priority() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open(&format!("sqlite://{}/priority.db", dir.path().display()))
        .await
        .expect("database");
    // A write and a read, so that both kinds of connection are open.
    let mut tx = db.begin().await.expect("begin");
    sqlx::query("CREATE TABLE scratch (n INTEGER)")
        .execute(&mut *tx)
        .await
        .expect("create");
    tx.commit().await.expect("commit");
    let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM scratch")
        .fetch_one(db.pool())
        .await
        .expect("read");

    let normal = this_thread_nice();
    let nices = sqlite_worker_nices();
    assert!(nices.len() >= 2, "one writer and some readers: {nices:?}");
    let writer = if may_raise() { WRITER_NICE } else { normal };
    let raised = nices.iter().filter(|&&n| n == writer).count();
    let at_normal = nices.iter().filter(|&&n| n == normal).count();
    if writer == normal {
        assert_eq!(at_normal, nices.len(), "{nices:?}");
    } else {
        assert_eq!((raised, at_normal), (1, nices.len() - 1), "{nices:?}");
    }
}
