//! The one HTTP error type: a status and a message safe to show; details are logged.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    /// Signed out (or a credential that is forged, expired or revoked) where sign-in is
    /// needed.
    #[error("{0}")]
    Unauthorized(String),
    /// The session cookie names no live session: 401, and the cookie is cleared.
    #[error("your session has ended; sign in again")]
    StaleSession,
    /// Signed in (or holding a link) but not allowed.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Unavailable(String),
    /// Rate-limited; `Retry-After` says when to try again.
    #[error("too many requests; try again in {} s", retry_secs(*retry_after))]
    TooManyRequests { retry_after: Duration },
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// A request body that could not be read: too large (413) or otherwise bad (400).
    pub fn from_body(rejection: axum::extract::rejection::BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(rejection.body_text())
        } else {
            ApiError::BadRequest(rejection.body_text())
        }
    }
}

/// Whole seconds to wait, at least one.
fn retry_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) | ApiError::StaleSession => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(err) => {
                tracing::error!(error = format!("{err:#}"), "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let mut response = (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::TooManyRequests { retry_after } => {
                headers.insert(header::RETRY_AFTER, retry_secs(*retry_after).into());
            }
            ApiError::StaleSession => {
                headers.insert(
                    header::SET_COOKIE,
                    HeaderValue::from_static(crate::auth::CLEAR_SESSION_COOKIE),
                );
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_secs(Duration::from_secs(12)), 12);
        assert_eq!(retry_secs(Duration::from_millis(12_001)), 13);
        let response = ApiError::TooManyRequests {
            retry_after: Duration::from_millis(2_500),
        }
        .into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
    }
}
