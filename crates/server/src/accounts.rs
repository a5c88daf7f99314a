//! The account routes (SPEC §2 "Accounts"): sign up, sign in, sign out, who am I, and API
//! tokens. Sessions live in the store by the hash of their id; the browser holds the id
//! in an HttpOnly cookie.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use peercode_store::{Account, ApiToken, Session, Store, StoreError};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::auth::{self, Caller, secret};
use crate::{ApiError, AppShared};

/// Largest body of these routes.
pub const MAX_BODY_BYTES: usize = 4096;
/// Passwords are 8 to 1024 bytes.
const PASSWORD_BYTES: std::ops::RangeInclusive<usize> = 8..=1024;
/// API tokens one account may hold.
const MAX_TOKENS_PER_USER: usize = 100;

/// A JSON body: 413 when too large, 400 when not the expected JSON.
pub fn json_body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let body = body.map_err(ApiError::from_body)?;
    serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
}

/// Run a store call on a blocking thread.
pub async fn db<T: Send + 'static>(
    app: &AppShared,
    f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = app.persister.store().clone();
    tokio::task::spawn_blocking(move || f(&*store))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| ApiError::Internal(e.into()))
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// Sign-in routes refuse requests from other sites' pages (login CSRF).
fn same_site(headers: &HeaderMap) -> Result<(), ApiError> {
    if auth::same_origin(headers) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("cross-origin sign-in refused".into()))
    }
}

fn check_password(password: &str) -> Result<(), ApiError> {
    if PASSWORD_BYTES.contains(&password.len()) {
        Ok(())
    } else {
        Err(ApiError::BadRequest("a password is 8 to 1024 bytes".into()))
    }
}

/// Start a session for `username` and answer `200 {"username"}` with its cookie.
async fn signed_in(
    app: &AppShared,
    headers: &HeaderMap,
    username: String,
) -> Result<Response, ApiError> {
    let id = secret::session_id().map_err(ApiError::Internal)?;
    let now = crate::rooms::now_ms();
    let ttl = app.auth.session_ttl;
    let session = Session {
        id_hash: secret::hash(&id),
        username: username.clone(),
        created_ms: now,
        expires_ms: now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)),
    };
    db(app, move |store| {
        store.delete_expired_sessions(now)?;
        store.create_session(&session)
    })
    .await?;
    let cookie = auth::session_cookie_header(&id, ttl, auth::over_tls(headers));
    let mut response = Json(json!({ "username": username })).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.into()))?,
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `POST /api/auth/signup {"username", "password"}` → `200 {"username"}` and the cookie.
pub async fn signup(
    State(app): State<Arc<AppShared>>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    same_site(&headers)?;
    let request: Credentials = json_body(body)?;
    let username = auth::normalize_username(&request.username)?;
    check_password(&request.password)?;
    app.auth
        .signups_per_ip
        .take(&caller.ip)
        .map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
    let password_hash = app.auth.passwords.hash(request.password).await?;
    let account = Account {
        username: username.clone(),
        password_hash,
        created_ms: crate::rooms::now_ms(),
    };
    match db(&app, move |store| store.create_account(&account)).await {
        Ok(()) => {}
        Err(ApiError::Internal(e))
            if matches!(
                e.downcast_ref::<StoreError>(),
                Some(StoreError::AlreadyExists(_))
            ) =>
        {
            return Err(ApiError::Conflict(format!(
                "the username {username} is taken"
            )));
        }
        Err(e) => return Err(e),
    }
    tracing::info!(user = %username, "account created");
    signed_in(&app, &headers, username).await
}

/// `POST /api/auth/login {"username", "password"}` → `200 {"username"}` and the cookie;
/// 401 for a wrong pair, 429 (with `Retry-After`) after too many failures.
pub async fn login(
    State(app): State<Arc<AppShared>>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    same_site(&headers)?;
    let request: Credentials = json_body(body)?;
    let username = request.username.trim().to_ascii_lowercase();
    let limits = &app.auth;
    let wait = [
        limits.login_per_ip.check(&caller.ip).err(),
        limits.login_per_account.check(&username).err(),
    ]
    .into_iter()
    .flatten()
    .max();
    if let Some(retry_after) = wait {
        return Err(ApiError::TooManyRequests { retry_after });
    }
    let stored = match auth::normalize_username(&username) {
        Ok(name) => db(&app, move |store| store.account(&name)).await?,
        Err(_) => None,
    };
    let ok = PASSWORD_BYTES.contains(&request.password.len())
        && limits
            .passwords
            .verify(request.password, stored.map(|a| a.password_hash))
            .await?;
    if !ok {
        limits.login_per_ip.charge(&caller.ip);
        limits.login_per_account.charge(&username);
        return Err(ApiError::Unauthorized("wrong username or password".into()));
    }
    signed_in(&app, &headers, username).await
}

/// `POST /api/auth/logout` → 204; the session is deleted and the cookie cleared.
pub async fn logout(
    State(app): State<Arc<AppShared>>,
    caller: Result<Caller, ApiError>,
) -> Result<Response, ApiError> {
    // A stale cookie is as good as signed out here.
    if let Ok(Caller {
        session_hash: Some(hash),
        ..
    }) = caller
    {
        db(&app, move |store| store.delete_session(&hash)).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(auth::CLEAR_SESSION_COOKIE),
    );
    Ok(response)
}

/// `GET /api/me` → `{"username", "created_ms"}`; 401 when signed out.
pub async fn me(
    State(app): State<Arc<AppShared>>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let username = caller.require_user()?.to_owned();
    let account = db(&app, move |store| store.account(&username))
        .await?
        .ok_or_else(|| ApiError::Unauthorized("this account no longer exists".into()))?;
    Ok(Json(json!({
        "username": account.username,
        "created_ms": account.created_ms,
    })))
}

#[derive(Deserialize)]
struct NewToken {
    name: String,
}

/// `POST /api/tokens {"name"}` → `201 {"id", "token", "name", "created_ms"}`; the token is
/// shown this once.
pub async fn create_token(
    State(app): State<Arc<AppShared>>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let username = caller.require_user()?.to_owned();
    let request: NewToken = json_body(body)?;
    let name = auth::display_name(&request.name, "a token's name")?;
    let token = secret::api_token().map_err(ApiError::Internal)?;
    let record = ApiToken {
        id: secret::public_id().map_err(ApiError::Internal)?,
        username: username.clone(),
        name,
        token_hash: secret::hash(&token),
        created_ms: crate::rooms::now_ms(),
    };
    let stored = record.clone();
    let created = db(&app, move |store| {
        if store.api_tokens(&username)?.len() >= MAX_TOKENS_PER_USER {
            return Ok(false);
        }
        store.create_api_token(&stored).map(|()| true)
    })
    .await?;
    if !created {
        return Err(ApiError::Forbidden(format!(
            "an account holds at most {MAX_TOKENS_PER_USER} API tokens; revoke one first"
        )));
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": record.id,
            "token": token,
            "name": record.name,
            "created_ms": record.created_ms,
        })),
    ))
}

/// `GET /api/tokens` → `{"tokens": [{"id", "name", "created_ms"}]}` (never the tokens).
pub async fn list_tokens(
    State(app): State<Arc<AppShared>>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let username = caller.require_user()?.to_owned();
    let tokens = db(&app, move |store| store.api_tokens(&username)).await?;
    let tokens: Vec<_> = tokens
        .into_iter()
        .map(|t| json!({ "id": t.id, "name": t.name, "created_ms": t.created_ms }))
        .collect();
    Ok(Json(json!({ "tokens": tokens })))
}

/// `DELETE /api/tokens/{id}` → 204; 404 when the caller has no such token.
pub async fn delete_token(
    State(app): State<Arc<AppShared>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let username = caller.require_user()?.to_owned();
    if db(&app, move |store| store.delete_api_token(&username, &id)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("no such token".into()))
    }
}
