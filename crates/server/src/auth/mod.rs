//! Who is calling: accounts signed in by the session cookie or an API token, guests holding
//! an invite link, or nobody — and what that lets them do in a room ([`access`]).
//!
//! Credentials are read from, in order: `Authorization: Bearer pct_…`, the `token` query
//! parameter (an API token, for WebSocket clients), the `peercode_session` cookie; an
//! `invite` query parameter adds a link. A credential that is presented and does not
//! check out is a 401 — never silently ignored — except a session cookie on a cross-origin
//! request, which is not counted at all (so another site cannot act with it).

pub mod access;
pub mod limiter;
pub mod password;
pub mod secret;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Uri, header};
use peercode_store::{Invite, Store};

use crate::{ApiError, AppShared, Config};
use limiter::{Limiter, Rate};
use password::Passwords;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "peercode_session";
/// A `Set-Cookie` value that removes the session cookie.
pub const CLEAR_SESSION_COOKIE: &str =
    "peercode_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax";
/// Longest display name of a guest, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Keys each rate limiter keeps at most.
const LIMITER_KEYS: usize = 100_000;

/// The server's sign-in machinery: password hashing and the rate limits.
pub struct Auth {
    pub passwords: Passwords,
    /// Failed sign-ins per account.
    pub login_per_account: Limiter<String>,
    /// Failed sign-ins per client address.
    pub login_per_ip: Limiter<IpAddr>,
    pub signups_per_ip: Limiter<IpAddr>,
    pub ws_connections_per_ip: Limiter<IpAddr>,
    /// Messages per connection (each connection has its own bucket of this shape).
    pub ws_messages: Rate,
    pub session_ttl: Duration,
}

impl Auth {
    pub fn new(config: &Config) -> Self {
        let minute = Duration::from_secs(60);
        Auth {
            passwords: Passwords::default(),
            login_per_account: Limiter::new(
                Rate::new(config.login_attempts_per_minute, minute),
                LIMITER_KEYS,
            ),
            login_per_ip: Limiter::new(
                Rate::new(config.login_attempts_per_ip_per_minute, minute),
                LIMITER_KEYS,
            ),
            signups_per_ip: Limiter::new(
                Rate::new(config.signups_per_ip_per_hour, Duration::from_secs(3600)),
                LIMITER_KEYS,
            ),
            ws_connections_per_ip: Limiter::new(
                Rate::new(
                    config.ws_connections_per_ip_per_second,
                    Duration::from_secs(1),
                ),
                LIMITER_KEYS,
            ),
            // Two seconds' worth in a burst (a paste of many small edits, a fast typist
            // with a cursor), refilled at the flag's rate.
            ws_messages: Rate::new(
                config.ws_messages_per_second.saturating_mul(2),
                Duration::from_secs(2),
            ),
            session_ttl: Duration::from_secs(config.session_days.max(1) * 86_400),
        }
    }
}

/// Who made a request, with what they proved.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The signed-in account (by cookie or API token).
    pub user: Option<String>,
    /// The hash of the session id, when signed in by cookie (logout deletes it).
    pub session_hash: Option<String>,
    /// A valid invite link presented with `?invite=` (for whichever room it is).
    pub invite: Option<Invite>,
    /// `?name=`: a guest's display name, as given (checked where it is used).
    pub name: Option<String>,
    /// The client's address (see `--trust-proxy`).
    pub ip: IpAddr,
}

/// What kind of caller, for answers and refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    User,
    Guest,
    Anonymous,
}

impl CallerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CallerKind::User => "user",
            CallerKind::Guest => "guest",
            CallerKind::Anonymous => "anonymous",
        }
    }
}

impl Caller {
    pub fn kind(&self) -> CallerKind {
        match (&self.user, &self.invite) {
            (Some(_), _) => CallerKind::User,
            (None, Some(_)) => CallerKind::Guest,
            (None, None) => CallerKind::Anonymous,
        }
    }

    /// The signed-in account, or 401.
    pub fn require_user(&self) -> Result<&str, ApiError> {
        self.user
            .as_deref()
            .ok_or_else(|| ApiError::Unauthorized("sign in first".into()))
    }

    /// Resolve the credentials of a request (one blocking store round trip).
    pub async fn resolve(
        app: &AppShared,
        headers: &HeaderMap,
        uri: &Uri,
        peer: Option<SocketAddr>,
    ) -> Result<Caller, ApiError> {
        let query: HashMap<String, String> = Query::try_from_uri(uri)
            .map(|Query(q)| q)
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        let ip = client_ip(headers, peer, app.config.trust_proxy);
        let bearer = match headers.get(header::AUTHORIZATION) {
            Some(value) => {
                let value = value.to_str().unwrap_or_default();
                let token = value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
                    .ok_or_else(|| {
                        ApiError::Unauthorized("use `Authorization: Bearer <API token>`".into())
                    })?;
                Some(token.trim().to_owned())
            }
            None => None,
        };
        let token = bearer.or_else(|| query.get("token").cloned());
        let cookie = match token {
            Some(_) => None,
            None if same_origin(headers) => session_cookie(headers),
            None => None,
        };
        let invite = query.get("invite").cloned();
        let name = query.get("name").cloned();
        let store = app.persister.store().clone();
        let now = crate::rooms::now_ms();
        tokio::task::spawn_blocking(move || {
            lookup(&*store, token, cookie, invite, now).map(|found| Caller {
                user: found.user,
                session_hash: found.session_hash,
                invite: found.invite,
                name,
                ip,
            })
        })
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
    }
}

struct Found {
    user: Option<String>,
    session_hash: Option<String>,
    invite: Option<Invite>,
}

fn db(error: peercode_store::StoreError) -> ApiError {
    ApiError::Internal(error.into())
}

fn lookup(
    store: &dyn Store,
    token: Option<String>,
    cookie: Option<String>,
    invite: Option<String>,
    now_ms: i64,
) -> Result<Found, ApiError> {
    let mut found = Found {
        user: None,
        session_hash: None,
        invite: None,
    };
    if let Some(token) = token {
        let bad = || ApiError::Unauthorized("invalid or revoked API token".into());
        let body = token
            .strip_prefix(secret::API_TOKEN_PREFIX)
            .ok_or_else(bad)?;
        if !secret::plausible(body) {
            return Err(bad());
        }
        let stored = store.api_token(&secret::hash(&token)).map_err(db)?;
        found.user = Some(stored.ok_or_else(bad)?.username);
    } else if let Some(cookie) = cookie {
        if !secret::plausible(&cookie) {
            return Err(ApiError::StaleSession);
        }
        let hash = secret::hash(&cookie);
        match store.session(&hash).map_err(db)? {
            Some(session) if session.expires_ms > now_ms => {
                found.user = Some(session.username);
                found.session_hash = Some(hash);
            }
            Some(_) => {
                store.delete_session(&hash).map_err(db)?;
                return Err(ApiError::StaleSession);
            }
            None => return Err(ApiError::StaleSession),
        }
    }
    if let Some(invite) = invite {
        let bad = || ApiError::Unauthorized("invalid or revoked invite link".into());
        if !secret::plausible(&invite) {
            return Err(bad());
        }
        let invite = store
            .invite(&secret::hash(&invite))
            .map_err(db)?
            .ok_or_else(bad)?;
        // Checked when a request or a connection starts; a connection open when its link
        // expires loses the link's grant then (the room's task: `expire_links`).
        if invite.expired(now_ms) {
            return Err(ApiError::Unauthorized(
                "this invite link has expired".into(),
            ));
        }
        found.invite = Some(invite);
    }
    Ok(found)
}

impl FromRequestParts<Arc<AppShared>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<AppShared>,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| *addr);
        Caller::resolve(app, &parts.headers, &parts.uri, peer).await
    }
}

/// The TCP peer of a request (absent when the router is driven without a socket).
pub struct Peer(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| *addr),
        ))
    }
}

/// The client's address: the TCP peer, or behind a trusted proxy the last address it
/// appended to `X-Forwarded-For` (earlier entries are whatever the client sent).
pub fn client_ip(headers: &HeaderMap, peer: Option<SocketAddr>, trust_proxy: bool) -> IpAddr {
    let peer = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.ip());
    if !trust_proxy {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .next_back()
        .unwrap_or(peer)
}

/// The value of the session cookie, if the request carries one.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_owned())
}

/// Whether a request comes from a page of this server (or from no page at all): no
/// `Origin`, or one whose host and port are the request's `Host`.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let origin = origin.to_str().unwrap_or_default();
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .unwrap_or("");
    !host.is_empty() && authority.eq_ignore_ascii_case(host)
}

/// Whether the request reached us over TLS (directly or through a proxy that says so).
pub fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// The `Set-Cookie` value of a new session.
pub fn session_cookie_header(id: &str, ttl: Duration, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={id}; Max-Age={}; Path=/; HttpOnly; SameSite=Lax{}",
        ttl.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// A username as stored: lower case, 3 to 32 characters from `a-z 0-9 _ . -`.
pub fn normalize_username(name: &str) -> Result<String, ApiError> {
    let name = name.trim().to_ascii_lowercase();
    let ok = (3..=32).contains(&name.len())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        });
    if ok {
        Ok(name)
    } else {
        Err(ApiError::BadRequest(
            "a username is 3 to 32 characters from a-z, 0-9, '_', '.' and '-'".into(),
        ))
    }
}

/// A display name (a guest's, a token's): trimmed, 1 to 64 characters, no control
/// characters.
pub fn display_name(name: &str, what: &str) -> Result<String, ApiError> {
    let name = name.trim();
    let chars = name.chars().count();
    if (1..=MAX_NAME_CHARS).contains(&chars) && !name.chars().any(char::is_control) {
        Ok(name.to_owned())
    } else {
        Err(ApiError::BadRequest(format!(
            "{what} must be 1 to {MAX_NAME_CHARS} characters, without control characters"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().expect("header value"));
        }
        h
    }

    #[test]
    fn usernames_fold_case_and_keep_to_their_alphabet() {
        assert_eq!(normalize_username(" Ada.L-1_ ").expect("ok"), "ada.l-1_");
        for bad in ["ab", &"a".repeat(33), "ada lovelace", "adä", "a/b", ""] {
            assert!(normalize_username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_names_are_trimmed_bounded_and_printable() {
        assert_eq!(display_name("  Ada  ", "a name").expect("ok"), "Ada");
        assert_eq!(
            display_name(&"é".repeat(64), "a name")
                .expect("ok")
                .chars()
                .count(),
            64
        );
        for bad in ["", "   ", "a\u{7}b", "line\nbreak", &"x".repeat(65)] {
            assert!(display_name(bad, "a name").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let h = headers(&[("cookie", "a=1; peercode_session=abc ; b=2")]);
        assert_eq!(session_cookie(&h).as_deref(), Some("abc"));
        assert_eq!(session_cookie(&headers(&[("cookie", "x=1")])), None);
    }

    #[test]
    fn origins_must_match_the_host() {
        assert!(same_origin(&headers(&[("host", "h:4000")])));
        assert!(same_origin(&headers(&[
            ("host", "h:4000"),
            ("origin", "http://h:4000")
        ])));
        assert!(same_origin(&headers(&[
            ("host", "h"),
            ("origin", "https://H")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "h:4000"),
            ("origin", "http://evil:4000")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "h:4000"),
            ("origin", "null")
        ])));
    }

    #[test]
    fn the_client_address_is_the_peer_unless_a_proxy_is_trusted() {
        let peer: SocketAddr = "10.0.0.1:5000".parse().expect("addr");
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 5.6.7.8")]);
        assert_eq!(client_ip(&h, Some(peer), false), peer.ip());
        assert_eq!(
            client_ip(&h, Some(peer), true),
            "5.6.7.8".parse::<IpAddr>().expect("ip")
        );
        assert_eq!(client_ip(&HeaderMap::new(), Some(peer), true), peer.ip());
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_over_tls() {
        let c = session_cookie_header("id", Duration::from_secs(60), true);
        assert_eq!(
            c,
            "peercode_session=id; Max-Age=60; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(!session_cookie_header("id", Duration::from_secs(60), false).contains("Secure"));
        assert!(over_tls(&headers(&[("x-forwarded-proto", "https")])));
        assert!(!over_tls(&headers(&[("x-forwarded-proto", "http")])));
    }
}
