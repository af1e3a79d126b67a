//! Where the background jobs run: on SQLite, on one CPU together with the database's writer; on
//! PostgreSQL, on a runtime of their own at a lower priority.
//!
//! sqlx runs every SQLite connection on a worker thread of its own, and every statement is a
//! hand-over to that thread and back. When the job's thread and the writer's thread sit on
//! different CPUs, each hand-over wakes a thread on the other CPU (an inter-processor interrupt
//! on a virtual machine); on one CPU it is a plain context switch. The tickets job sends a few
//! statements per message, so this decides its speed: 2,300 events/s with the threads wherever
//! the kernel puts them, 5,185 with the whole process on one CPU (`docs/benchmarks.md`).
//!
//! [`JobsCpu`] (`WADESK_JOBS_CPU`) chooses the CPU; [`spawn_on_cpu`] runs a future on a thread
//! of its own bound to it (a single-threaded runtime), and [`pin_sqlite_writer`] binds the
//! writer's thread there too. HTTP keeps every CPU. On PostgreSQL the jobs stay on the main
//! runtime whatever the setting (see [`JobsCpu::resolve`]). Binding is Linux only; elsewhere the
//! jobs run unbound on their own runtime, with a warning.
//!
//! On PostgreSQL the server runs its jobs apart instead ([`spawn_apart`], `WADESK_JOBS_NICE`):
//! on a multi-threaded runtime whose threads run at a lower priority, with a store reconnected
//! from there, so that acknowledging webhooks goes first when the CPUs are busy.

use std::future::Future;

/// `WADESK_JOBS_CPU`: where the background jobs run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JobsCpu {
    /// On SQLite, with two or more CPUs allowed: the last allowed CPU. Otherwise off.
    #[default]
    Auto,
    /// On the main runtime, wherever the kernel schedules them.
    Off,
    /// On this CPU (SQLite only; ignored on PostgreSQL).
    Cpu(usize),
}

impl JobsCpu {
    /// Parses `auto`, `off` or a CPU number.
    pub fn parse(v: &str) -> Option<Self> {
        match v.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(Self::Auto),
            "off" | "none" | "false" => Some(Self::Off),
            n => n.parse().ok().map(Self::Cpu),
        }
    }

    /// The CPU the jobs (and the SQLite writer) go to, if any, for a store whose connections
    /// are or are not [`store::Store::runtime_independent`]. Never for one that is not
    /// (PostgreSQL): the pool hands its connections to the jobs and to HTTP handlers alike, and
    /// a connection opened on the jobs' runtime would be driven by that runtime's thread while
    /// serving HTTP, and would fail once the jobs stop (measured: "A Tokio 1.x context was
    /// found, but it is being shutdown").
    pub fn resolve(self, runtime_independent: bool) -> Option<usize> {
        if !runtime_independent {
            return None;
        }
        match self {
            Self::Off => None,
            Self::Cpu(n) => Some(n),
            Self::Auto => {
                let cpus = allowed_cpus();
                if cpus.len() < 2 {
                    return None;
                }
                cpus.last().copied()
            }
        }
    }
}

/// The CPUs this process may run on (empty when unknown).
pub fn allowed_cpus() -> Vec<usize> {
    imp::allowed_cpus()
}

/// Runs `fut` on a new single-threaded runtime, on a thread bound to `cpu`, and returns its
/// output through the handle. The thread is one of the calling runtime's blocking threads; it
/// gets its former CPU set back when `fut` is done. When the thread cannot be bound (an
/// unknown CPU, or not Linux) the future still runs, unbound, and a warning says why.
pub fn spawn_on_cpu<F>(cpu: usize, fut: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let before = imp::current_thread_cpus();
        match imp::pin_current_thread(cpu) {
            Ok(()) => tracing::info!(cpu, "background jobs bound to one CPU"),
            Err(e) => tracing::warn!(cpu, error.message = %e, "could not bind the jobs to a CPU"),
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("wadesk-jobs")
            .build();
        let out = match runtime {
            Ok(rt) => rt.block_on(fut),
            // Building a runtime fails only when the OS refuses its timer or I/O driver; the
            // jobs cannot run without them anywhere else either.
            Err(e) => panic!("could not start the jobs' runtime: {e}"),
        };
        if let Some(before) = before {
            let _ = imp::set_current_thread_cpus(&before);
        }
        out
    })
}

/// Runs `fut` on a new multi-threaded runtime (one worker per CPU the process may use) whose
/// threads run at nice `nice` (0–19: higher yields the CPU more readily to the process's other
/// threads, the HTTP handlers), and returns its output through the handle. A future that opens
/// database connections must open them inside `fut`, so that this runtime drives them. Where a
/// thread's priority cannot be set (not Linux), the runtime runs at the usual priority.
pub fn spawn_apart<F>(nice: i32, fut: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let workers = allowed_cpus().len().max(1);
    tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .thread_name("wadesk-jobs")
            .on_thread_start(move || {
                if let Err(e) = imp::lower_current_thread(nice) {
                    tracing::warn!(nice, error.message = %e, "could not lower the jobs' priority");
                }
            })
            .build();
        match runtime {
            Ok(rt) => {
                let out = rt.block_on(fut);
                // The jobs are done; tasks they left (a pool's reaper) end with the runtime.
                rt.shutdown_background();
                out
            }
            // As in `spawn_on_cpu`.
            Err(e) => panic!("could not start the jobs' runtime: {e}"),
        }
    })
}

/// The priority of the calling thread (its nice value), where it can be read.
pub fn current_thread_nice() -> Option<i32> {
    imp::current_thread_nice()
}

/// Binds the SQLite writer connection's worker thread (named
/// [`store_sqlite::WRITER_THREAD_PREFIX`]`N`) to `cpu`. Returns how many threads were bound
/// (0 on PostgreSQL, or where threads cannot be bound).
pub fn pin_sqlite_writer(cpu: usize) -> usize {
    imp::pin_threads_named(store_sqlite::WRITER_THREAD_PREFIX, cpu)
}

#[cfg(target_os = "linux")]
mod imp {
    use nix::{
        sched::{CpuSet, sched_getaffinity, sched_setaffinity},
        unistd::Pid,
    };

    pub(super) fn allowed_cpus() -> Vec<usize> {
        match sched_getaffinity(Pid::from_raw(0)) {
            Ok(set) => (0..CpuSet::count())
                .filter(|&c| set.is_set(c).unwrap_or(false))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    pub(super) fn current_thread_cpus() -> Option<CpuSet> {
        sched_getaffinity(Pid::from_raw(0)).ok()
    }

    pub(super) fn set_current_thread_cpus(set: &CpuSet) -> Result<(), String> {
        sched_setaffinity(Pid::from_raw(0), set).map_err(|e| e.to_string())
    }

    fn one(cpu: usize) -> Result<CpuSet, String> {
        let mut set = CpuSet::new();
        set.set(cpu)
            .map_err(|e| format!("CPU {cpu} is out of range: {e}"))?;
        Ok(set)
    }

    pub(super) fn pin_current_thread(cpu: usize) -> Result<(), String> {
        sched_setaffinity(Pid::from_raw(0), &one(cpu)?)
            .map_err(|e| format!("sched_setaffinity(CPU {cpu}): {e}"))
    }

    pub(super) fn lower_current_thread(nice: i32) -> Result<(), String> {
        // On Linux a thread id names one thread to setpriority(2), not the whole process.
        let me = rustix::thread::gettid();
        rustix::process::setpriority_process(Some(me), nice)
            .map_err(|e| format!("setpriority({nice}): {e}"))
    }

    pub(super) fn current_thread_nice() -> Option<i32> {
        rustix::process::getpriority_process(Some(rustix::thread::gettid())).ok()
    }

    pub(super) fn pin_threads_named(prefix: &str, cpu: usize) -> usize {
        let Ok(set) = one(cpu) else { return 0 };
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return 0;
        };
        let mut pinned = 0;
        for task in tasks.flatten() {
            let Some(tid) = task
                .file_name()
                .to_str()
                .and_then(|t| t.parse::<i32>().ok())
            else {
                continue;
            };
            let named = std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|comm| comm.trim_end().starts_with(prefix));
            if named && sched_setaffinity(Pid::from_raw(tid), &set).is_ok() {
                pinned += 1;
            }
        }
        pinned
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub(super) fn allowed_cpus() -> Vec<usize> {
        Vec::new()
    }
    pub(super) fn current_thread_cpus() -> Option<()> {
        None
    }
    pub(super) fn set_current_thread_cpus(_: &()) -> Result<(), String> {
        Ok(())
    }
    pub(super) fn pin_current_thread(_: usize) -> Result<(), String> {
        Err("binding threads to CPUs is supported on Linux only".into())
    }
    pub(super) fn pin_threads_named(_: &str, _: usize) -> usize {
        0
    }
    pub(super) fn lower_current_thread(_: i32) -> Result<(), String> {
        Err("thread priorities are set on Linux only".into())
    }
    pub(super) fn current_thread_nice() -> Option<i32> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_setting() {
        assert_eq!(JobsCpu::parse("auto"), Some(JobsCpu::Auto));
        assert_eq!(JobsCpu::parse(" OFF "), Some(JobsCpu::Off));
        assert_eq!(JobsCpu::parse("3"), Some(JobsCpu::Cpu(3)));
        assert_eq!(JobsCpu::parse("-1"), None);
        assert_eq!(JobsCpu::parse("fast"), None);
    }

    #[test]
    fn only_runtime_independent_stores_are_bound() {
        assert_eq!(JobsCpu::Auto.resolve(false), None);
        assert_eq!(JobsCpu::Cpu(0).resolve(false), None);
        assert_eq!(JobsCpu::Off.resolve(true), None);
        assert_eq!(JobsCpu::Cpu(0).resolve(true), Some(0));
        let cpus = allowed_cpus();
        let expected = if cpus.len() >= 2 {
            cpus.last().copied()
        } else {
            None
        };
        assert_eq!(JobsCpu::Auto.resolve(true), expected);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_future_apart_runs_its_tasks_at_the_lower_priority() {
        let before = current_thread_nice();
        // 19, the lowest priority, which any process may take whatever its own.
        let (nice, name) = spawn_apart(19, async {
            tokio::spawn(async {
                let name = std::thread::current().name().map(str::to_owned);
                (current_thread_nice(), name)
            })
            .await
            .expect("task")
        })
        .await
        .expect("joined");
        assert_eq!(nice, Some(19));
        assert_eq!(name.as_deref(), Some("wadesk-jobs"));
        assert_eq!(
            current_thread_nice(),
            before,
            "the caller keeps its priority"
        );
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_future_runs_on_the_cpu_and_the_writer_joins_it() {
        let cpus = allowed_cpus();
        let Some(&cpu) = cpus.last() else {
            return;
        };
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("a.db").display());
        let store = crate::open_store(&url).await.expect("open");
        assert!(
            pin_sqlite_writer(cpu) >= 1,
            "the writer thread, found by name"
        );
        let (seen, n) = spawn_on_cpu(cpu, async move {
            // The store works from the bound runtime (the writer is shared across runtimes).
            let n = store.inbox_stats().await.expect("stats").pending;
            (imp::current_thread_cpus(), n)
        })
        .await
        .expect("joined");
        assert_eq!(n, 0);
        let seen = seen.expect("affinity");
        let on: Vec<usize> = (0..nix::sched::CpuSet::count())
            .filter(|&c| seen.is_set(c).unwrap_or(false))
            .collect();
        assert_eq!(on, vec![cpu]);
    }
}
