//! `POST /api/analyze`: the complexity report for code the web app sends (a room's current
//! file), computed off the async runtime on a small pool with a bounded queue.
//!
//! One analysis of a large file takes tens of megabytes for a moment: a few at a time, a
//! bounded number waiting (503 beyond that), and inputs capped (413), so a burst of
//! requests costs a known amount of memory and CPU.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use peercode_analysis::{Language, Report};
use serde::Deserialize;

use crate::pool::BlockingPool;
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
pub fn pool() -> BlockingPool {
    BlockingPool::new("the analyser", WORKERS, QUEUE)
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
    let report = app
        .analyses
        .run(move || peercode_analysis::analyze(&request.code, language))
        .await?;
    Ok(Json(report))
}
