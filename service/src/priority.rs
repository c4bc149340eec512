//! The money path before the API: `atoll up` serves the API on threads of their own whose
//! scheduling priority is lowered (nice +10 on Linux), so that when the machine's cores are
//! all busy the indexer and the relayer are served first and a flood of API requests gets what
//! is left. Linux keeps a nice value per thread (setpriority(2), "BUGS"), so only the calling
//! thread is lowered; threads it starts inherit its value. Elsewhere this does nothing.

/// How much lower the API's threads run than the relayer's: at +10 a thread weighs about a
/// tenth of a nice-0 thread in Linux's scheduler.
pub const API_NICE: i32 = 10;

/// Lowers the calling thread's priority by `nice` (a thread may always lower its own).
pub fn lower_this_thread(nice: i32) {
    #[cfg(target_os = "linux")]
    {
        let tid = rustix::thread::gettid();
        let now = rustix::process::getpriority_process(Some(tid)).unwrap_or(0);
        if let Err(e) = rustix::process::setpriority_process(Some(tid), now + nice) {
            tracing::debug!(error = %e, "could not lower this thread's priority");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

/// A multi-thread runtime whose every thread (workers and blocking pool) runs `nice` lower.
/// Shut it down with [`LoweredRuntime::shutdown`] or let it drop: both stop it without
/// blocking, so it may be dropped inside another runtime.
pub struct LoweredRuntime(Option<tokio::runtime::Runtime>);

impl LoweredRuntime {
    pub fn new(name: &str, nice: i32) -> std::io::Result<Self> {
        let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name(name)
            .on_thread_start(move || lower_this_thread(nice))
            .enable_all()
            .build()?;
        Ok(Self(Some(rt)))
    }

    pub fn handle(&self) -> Option<&tokio::runtime::Handle> {
        self.0.as_ref().map(tokio::runtime::Runtime::handle)
    }
}

impl Drop for LoweredRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_the_calling_thread_is_lowered() {
        let me = rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
        let lowered = std::thread::spawn(|| {
            lower_this_thread(API_NICE);
            rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(lowered, (me + API_NICE).min(19));
        let after = rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
        assert_eq!(after, me, "the caller's own thread is untouched");
    }

    #[test]
    fn a_lowered_runtime_runs_its_tasks_on_lowered_threads() {
        let me = rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
        let rt = LoweredRuntime::new("test-lowered", API_NICE).unwrap();
        let seen = rt.handle().unwrap().block_on(async {
            tokio::spawn(async {
                rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap()
            })
            .await
            .unwrap()
        });
        assert_eq!(seen, (me + API_NICE).min(19));
    }
}
