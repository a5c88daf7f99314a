//! `POST /api/analyze`: the complexity report for code the web app sends (a room's current
//! file), computed off the async runtime on a small pool with a bounded queue.
//!
//! One analysis of a large file takes tens of megabytes for a moment: a few at a time, a
//! bounded number waiting (503 beyond that), and inputs capped (413), so a burst of
//! requests costs a known amount of memory and CPU.

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use peercode_analysis::{Language, Report};
use serde::Deserialize;
use tokio::sync::Semaphore;

use crate::{ApiError, AppShared};

/// Largest source accepted, in bytes: far above any interview solution, small enough that
/// one request cannot hog a core.
pub const MAX_SOURCE_BYTES: usize = 256 * 1024;
/// Largest request body: the source, JSON-escaped, and the language.
pub const MAX_BODY_BYTES: usize = 2 * MAX_SOURCE_BYTES + 1024;
/// Analyses running at once.
const WORKERS: usize = 2;
/// Requests waiting for a worker before new ones are turned away.
const QUEUE: usize = 16;

/// The analysis pool: [`WORKERS`] at a time, [`QUEUE`] waiting.
pub struct Analyses {
    workers: Semaphore,
    /// Requests admitted (running or waiting).
    admitted: AtomicUsize,
}

impl Default for Analyses {
    fn default() -> Self {
        Analyses {
            workers: Semaphore::new(WORKERS),
            admitted: AtomicUsize::new(0),
        }
    }
}

/// Counts a request as admitted until dropped.
struct Admission<'a>(&'a AtomicUsize);

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Analyses {
    fn admit(&self) -> Option<Admission<'_>> {
        let admitted = self.admitted.fetch_add(1, Ordering::AcqRel);
        let admission = Admission(&self.admitted);
        (admitted < WORKERS + QUEUE).then_some(admission)
    }
}

#[derive(Deserialize)]
pub struct AnalyzeRequest {
    language: String,
    code: String,
}

pub async fn analyze(
    State(app): State<std::sync::Arc<AppShared>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Report>, ApiError> {
    let body = body.map_err(ApiError::from_body)?;
    let request: AnalyzeRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
    let language =
        Language::from_name(&request.language).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if request.code.len() > MAX_SOURCE_BYTES {
        return Err(ApiError::TooLarge(format!(
            "code is {} bytes; the analyser takes at most {MAX_SOURCE_BYTES}",
            request.code.len()
        )));
    }
    let Some(_admission) = app.analyses.admit() else {
        return Err(ApiError::Unavailable(
            "the analyser is busy; try again in a moment".into(),
        ));
    };
    let _worker = app
        .analyses
        .workers
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let report =
        tokio::task::spawn_blocking(move || peercode_analysis::analyze(&request.code, language))
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Json(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_admits_workers_plus_queue_then_turns_away() {
        let pool = Analyses::default();
        let admitted: Vec<_> = (0..WORKERS + QUEUE).map(|_| pool.admit()).collect();
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
}
