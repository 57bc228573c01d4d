//! Running storage work (synchronous `std::fs`) from a connection task.

use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::task::JoinError;

/// Runs `work`, which blocks on file I/O, without stalling the runtime's other tasks.
///
/// On the multi-threaded runtime (the broker's) this is `block_in_place`: the work runs on the
/// calling thread while another thread takes over its queue of tasks. For produce this matters:
/// the request's record bytes were just read from the socket on this core, and the CRC check
/// and the copy into the page cache find them in its cache. `spawn_blocking` would hand them to
/// another thread, and measured 0.79 CPU-s per GB produced against 0.68–0.73 here (see
/// `bench/RESULTS.md`). `block_in_place` cannot run on a current-thread runtime (some tests
/// start the broker in one), which gets `spawn_blocking` instead.
pub(crate) async fn run_blocking<R, F>(work: F) -> Result<R, JoinError>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match Handle::current().runtime_flavor() {
        RuntimeFlavor::MultiThread => Ok(tokio::task::block_in_place(work)),
        _ => tokio::task::spawn_blocking(work).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `run_blocking` ran its work on the thread that called it.
    async fn runs_on_the_calling_thread() -> bool {
        let caller = std::thread::current().id();
        let ran_on = run_blocking(|| std::thread::current().id())
            .await
            .expect("work finished");
        ran_on == caller
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn multi_thread_runtime_runs_the_work_on_the_calling_thread() {
        assert!(runs_on_the_calling_thread().await);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn current_thread_runtime_hands_the_work_to_another_thread() {
        assert!(!runs_on_the_calling_thread().await);
    }
}
