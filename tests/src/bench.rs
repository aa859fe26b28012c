//! What the benchmarks in `tests/benches/` share: the machine they ran on, the process's peak
//! memory, and percentiles. Figures are only comparable with the machine beside them.

/// "2 cores (model); load average at start a b c": the header line of every benchmark's
/// figures. A high load average at start says the absolute times are not of a quiet machine.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!(
        "{cores} cores ({cpu}); load average at start {}",
        load.join(" ")
    )
}

/// Resets the kernel's high-water mark of this process's resident memory (Linux), so that
/// each block of a benchmark reports its own peak.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// This process's peak resident memory since the last reset, in KiB (0 where unknown).
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// How long this process's threads ran on a CPU and waited in the run queue for one, summed
/// per thread name (Linux's `schedstat`; names as the kernel keeps them, cut to 15 bytes),
/// plus the busiest single thread under `"busiest thread"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTime {
    pub ran_ns: u64,
    pub waited_ns: u64,
}

impl std::ops::AddAssign for CpuTime {
    fn add_assign(&mut self, other: CpuTime) {
        self.ran_ns += other.ran_ns;
        self.waited_ns += other.waited_ns;
    }
}

/// A snapshot of [`CpuTime`] per thread, keyed by thread id, with each thread's name.
#[derive(Clone, Debug, Default)]
pub struct ThreadTimes(std::collections::BTreeMap<u64, (String, CpuTime)>);

impl ThreadTimes {
    /// The process's threads now (empty where `/proc` does not say).
    pub fn now() -> ThreadTimes {
        let mut threads = std::collections::BTreeMap::new();
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return ThreadTimes(threads);
        };
        for task in tasks.flatten() {
            let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
                continue;
            };
            let path = task.path();
            let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
            let stat = std::fs::read_to_string(path.join("schedstat")).unwrap_or_default();
            let mut fields = stat.split_whitespace().map(|f| f.parse::<u64>().ok());
            if let (Some(Some(ran_ns)), Some(Some(waited_ns))) = (fields.next(), fields.next()) {
                threads.insert(
                    tid,
                    (name.trim().to_string(), CpuTime { ran_ns, waited_ns }),
                );
            }
        }
        ThreadTimes(threads)
    }

    /// What each thread name used since `before`, and the busiest single thread. Threads that
    /// ended in between are missing (their time is lost with them).
    pub fn since(&self, before: &ThreadTimes) -> Vec<(String, CpuTime)> {
        let mut by_name: std::collections::BTreeMap<String, CpuTime> = Default::default();
        let mut busiest = CpuTime::default();
        for (tid, (name, now)) in &self.0 {
            let then = before.0.get(tid).map(|(_, t)| *t).unwrap_or_default();
            let used = CpuTime {
                ran_ns: now.ran_ns.saturating_sub(then.ran_ns),
                waited_ns: now.waited_ns.saturating_sub(then.waited_ns),
            };
            let sum = by_name.entry(name.clone()).or_default();
            *sum += used;
            if used.ran_ns > busiest.ran_ns {
                busiest = used;
            }
        }
        let mut out: Vec<(String, CpuTime)> = by_name.into_iter().collect();
        out.push(("busiest thread".into(), busiest));
        out
    }
}

/// The `q` quantile (0 to 1) of values sorted in ascending order, by nearest rank; none of
/// none.
pub fn nearest_rank<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    let last = sorted.len().checked_sub(1)?;
    let i = (last as f64 * q.clamp(0.0, 1.0)).round() as usize;
    sorted.get(i.min(last)).copied()
}

#[cfg(test)]
mod tests {
    use super::{ThreadTimes, nearest_rank};

    #[test]
    fn thread_times_count_a_busy_thread_under_its_name() {
        let before = ThreadTimes::now();
        let (spun, stop) = std::sync::mpsc::channel();
        let spinner = std::thread::Builder::new()
            .name("bench-spinner".into())
            .spawn(move || {
                // Spins until the kernel has counted 30 ms on a CPU for it (on a busy machine
                // that takes longer than 30 ms of wall time).
                let ran = || {
                    std::fs::read_to_string("/proc/thread-self/schedstat")
                        .ok()
                        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                };
                let start = std::time::Instant::now();
                let first = ran();
                while let (Some(first), Some(now)) = (first, ran()) {
                    if now - first >= 30_000_000 || start.elapsed().as_secs() > 10 {
                        break;
                    }
                    std::hint::spin_loop();
                }
                // Stay alive until measured: an ended thread's time is gone with it.
                let _ = spun.send(());
                std::thread::park();
            })
            .unwrap();
        stop.recv().unwrap();
        let used = ThreadTimes::now().since(&before);
        spinner.thread().unpark();
        let _ = spinner.join();
        if before.0.is_empty() {
            return; // no /proc here: nothing to count
        }
        let spinner = used
            .iter()
            .find(|(name, _)| name == "bench-spinner")
            .map(|(_, t)| *t)
            .expect("the spinner is listed by name");
        assert!(spinner.ran_ns >= 30_000_000, "{spinner:?}");
        let busiest = used
            .iter()
            .find(|(name, _)| name == "busiest thread")
            .map(|(_, t)| *t)
            .expect("the busiest thread is listed");
        assert!(busiest.ran_ns >= spinner.ran_ns, "{busiest:?} {spinner:?}");
    }

    #[test]
    fn quantiles_are_by_nearest_rank() {
        let v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        assert_eq!(nearest_rank(&v, 0.5), Some(6));
        assert_eq!(nearest_rank(&v, 0.9), Some(9));
        assert_eq!(nearest_rank(&v, 0.0), Some(1));
        assert_eq!(nearest_rank(&v, 1.0), Some(10));
        assert_eq!(nearest_rank(&[7], 0.99), Some(7));
        assert_eq!(nearest_rank::<u64>(&[], 0.5), None);
    }
}
