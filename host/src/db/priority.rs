//! A raised CPU priority for SQLite's single writer.
//!
//! Every write queues for the one writer connection (`group_commit`), and while an action
//! holds it, each statement is a hop to that connection's worker thread. On a machine whose
//! cores are busy with requests (parsing, plugin scoring, rendering), that thread waits in the
//! run queue like any other, and every microsecond it waits is one no write can use: under the
//! sessions benchmark's load it waited for a core for a fifth of the time it held the writer.
//! Raising its priority lets it run as soon as it has work (BENCHMARKS.md, sessions).
//!
//! sqlx spawns a connection's worker thread from the thread that opens the connection, and a
//! Linux thread inherits its creator's nice value, so the writer's connection is opened from
//! a short-lived thread that raised its own priority first. Raising a priority needs
//! `CAP_SYS_NICE` or a nice limit (`RLIMIT_NICE`; systemd's `LimitNICE=-10`); without
//! either the writer runs at normal priority, which is correct, only slower under load.

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool};

/// The writer's nice value: ahead of request threads (0), which it serves.
pub const WRITER_NICE: i32 = -10;

/// A connection from the writer's pool, opened at [`WRITER_NICE`] if the pool has none open.
pub async fn acquire_writer(pool: &AnyPool) -> Result<PoolConnection<Any>, sqlx::Error> {
    if pool.size() > 0 {
        // Opened already (the pool holds one connection, never closed while idle). One that
        // is still closing after a failed COMMIT counts too, and the pool then reopens it from
        // this thread at normal priority: rare, and only slower.
        return pool.acquire().await;
    }
    let runtime = tokio::runtime::Handle::current();
    let pool = pool.clone();
    let (opened, open) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("sqlite-writer-open".into())
        .spawn(move || {
            raise_this_thread();
            let _ = opened.send(runtime.block_on(pool.acquire()));
        })
        .map_err(sqlx::Error::Io)?;
    open.await.map_err(|_| sqlx::Error::PoolClosed)?
}

/// Sets the calling thread's nice value to [`WRITER_NICE`], if allowed; says so once if not.
fn raise_this_thread() {
    #[cfg(target_os = "linux")]
    {
        // On Linux, PRIO_PROCESS with 0 names the calling thread alone.
        // SAFETY: setpriority takes no pointers; it changes only this thread's nice value.
        let set = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, WRITER_NICE) };
        if set != 0 {
            static SAID: std::sync::Once = std::sync::Once::new();
            let why = std::io::Error::last_os_error();
            SAID.call_once(|| {
                tracing::info!(
                    "SQLite's writer thread runs at normal priority ({why}): allow CAP_SYS_NICE \
                     or a nice limit of {WRITER_NICE} (systemd: LimitNICE={WRITER_NICE}) for \
                     more writes per second when the cores are busy"
                );
            });
        }
    }
}

/// The nice value of the calling thread.
#[cfg(target_os = "linux")]
pub fn this_thread_nice() -> i32 {
    // SAFETY: getpriority takes no pointers. It cannot fail for the calling thread, so its
    // -1 is the nice value -1, not an error.
    unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// A thread that raised its priority starts threads at that priority: what opening the
    /// writer's connection from such a thread relies on (tests/tests/writer_priority.rs
    /// checks the writer's worker thread itself).
    #[test]
    fn threads_inherit_the_raised_priority() {
        let (own, child) = std::thread::spawn(|| {
            raise_this_thread();
            let own = this_thread_nice();
            (own, std::thread::spawn(this_thread_nice).join().unwrap())
        })
        .join()
        .unwrap();
        // Raised where allowed (root in CI), unchanged elsewhere; inherited either way.
        let allowed = own == WRITER_NICE;
        assert!(allowed || own == this_thread_nice(), "nice {own}");
        assert_eq!(child, own);
    }
}
