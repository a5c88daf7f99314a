//! A small pool for blocking work behind HTTP routes (analyses, replay rebuilds): a few
//! jobs at a time on tokio's blocking threads, a bounded number waiting, and a clear 503
//! beyond that — so a burst of requests costs a known amount of CPU and memory.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Semaphore;

use crate::ApiError;

pub struct BlockingPool {
    workers: Semaphore,
    max_workers: usize,
    queue: usize,
    /// Jobs admitted (running or waiting).
    admitted: AtomicUsize,
    /// Said in the 503 when the pool is full ("the analyser", "replay").
    what: &'static str,
}

/// Counts a job as admitted until dropped.
struct Admission<'a>(&'a AtomicUsize);

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl BlockingPool {
    /// `workers` jobs at once, `queue` more waiting.
    pub fn new(what: &'static str, workers: usize, queue: usize) -> Self {
        BlockingPool {
            workers: Semaphore::new(workers),
            max_workers: workers,
            queue,
            admitted: AtomicUsize::new(0),
            what,
        }
    }

    fn admit(&self) -> Option<Admission<'_>> {
        let admitted = self.admitted.fetch_add(1, Ordering::AcqRel);
        let admission = Admission(&self.admitted);
        (admitted < self.max_workers + self.queue).then_some(admission)
    }

    /// Run `job` on a blocking thread once a worker is free; 503 when the queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let Some(_admission) = self.admit() else {
            return Err(ApiError::Unavailable(format!(
                "{} is busy; try again in a moment",
                self.what
            )));
        };
        let _worker = self
            .workers
            .acquire()
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
        tokio::task::spawn_blocking(job)
            .await
            .map_err(|e| ApiError::Internal(e.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_admits_workers_plus_queue_then_turns_away() {
        let pool = BlockingPool::new("test", 2, 16);
        let admitted: Vec<_> = (0..2 + 16).map(|_| pool.admit()).collect();
        assert!(admitted.iter().all(Option::is_some));
        assert!(
            pool.admit().is_none(),
            "one more than the queue holds is refused"
        );
        assert!(pool.admit().is_none());
        drop(admitted);
        assert!(pool.admit().is_some(), "room again once requests finish");
        assert_eq!(pool.admitted.load(Ordering::Acquire), 0);
    }

    #[tokio::test]
    async fn a_full_pool_answers_503() {
        let pool = BlockingPool::new("the test pool", 1, 0);
        let _held = pool.admit();
        match pool.run(|| 1).await {
            Err(ApiError::Unavailable(message)) => assert!(message.contains("the test pool")),
            other => panic!("expected 503, got {other:?}"),
        }
    }
}
