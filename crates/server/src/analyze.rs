//! `POST /api/analyze`: the complexity report for code the web app sends (a room's current
//! file), computed off the async runtime.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use peercode_analysis::{Language, Report};
use serde::Deserialize;

use crate::ApiError;

/// Largest source accepted, in bytes: far above any interview solution, small enough that
/// one request cannot hog a core.
const MAX_SOURCE_BYTES: usize = 256 * 1024;

#[derive(Deserialize)]
pub struct AnalyzeRequest {
    language: String,
    code: String,
}

pub async fn analyze(
    body: Result<Json<AnalyzeRequest>, JsonRejection>,
) -> Result<Json<Report>, ApiError> {
    let Json(request) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let language =
        Language::from_name(&request.language).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if request.code.len() > MAX_SOURCE_BYTES {
        return Err(ApiError::BadRequest(format!(
            "code is {} bytes; the analyser takes at most {MAX_SOURCE_BYTES}",
            request.code.len()
        )));
    }
    let report =
        tokio::task::spawn_blocking(move || peercode_analysis::analyze(&request.code, language))
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Json(report))
}
