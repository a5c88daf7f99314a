//! Room-bound requests reach the room's owner: a middleware in front of every route looks
//! up the owner of the room a request is about (`Cluster::route`, which never takes a lease
//! here: a room loading takes it) and, when that is another instance, forwards the request there over a connection of its own — for a WebSocket,
//! the upgraded connection is then spliced byte for byte, so the owner speaks to the
//! client directly (its pings, close codes and backpressure included) and this instance
//! only copies bytes.
//!
//! Forwarded requests carry the cluster's secret and the client's address: the owner
//! takes the address as the client's (for its per-address limits) and never forwards such
//! a request again, so a lease moving mid-flight cannot make requests loop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;

use super::{Cluster, Route};
use crate::AppShared;
use crate::error::ApiError;
use crate::rooms::valid_room_name;

/// Marks a forwarded request; its value is the cluster's secret.
const FORWARDED: &str = "x-peercode-forwarded";
/// The client's address as the forwarding instance saw it.
const CLIENT: &str = "x-peercode-client";

/// How long connecting to the owner may take before the client is told to retry.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The middleware: serve here, or forward to the room's owner.
pub(crate) async fn route_layer(
    State(app): State<Arc<AppShared>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(cluster) = app.cluster.clone() else {
        return next.run(request).await;
    };
    let forwarded = take_forwarded(&mut request, cluster.secret());
    let Some(room) = room_bound(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    if !valid_room_name(room) {
        // The handler answers 400; a room loaded from such a path still needs its lease.
        return next.run(request).await;
    }
    let room = room.to_owned();
    // Only looks: a room nobody serves is served here, and its load takes the lease.
    match cluster.route(&room, false).await {
        Ok(Route::Local) => next.run(request).await,
        Ok(Route::Remote(_)) if forwarded => {
            ApiError::Unavailable("the room is moving between servers; retry".into())
                .into_response()
        }
        Ok(Route::Remote(addr)) => forward(&app, &cluster, &addr, request).await,
        Err(error) => {
            tracing::warn!(%room, %error, "could not route a room's request");
            ApiError::Unavailable(error.to_string()).into_response()
        }
    }
}

/// The room a request is about, when only the instance serving that room can answer it:
/// the WebSocket, the runs routes, access changes that reach open connections, and who is
/// present. Reads of the store (replay, members, invites) are answered anywhere.
fn room_bound<'a>(method: &Method, path: &'a str) -> Option<&'a str> {
    if let Some(room) = path.strip_prefix("/ws/") {
        return (!room.contains('/')).then_some(room);
    }
    let rest = path.strip_prefix("/api/rooms/")?;
    let (room, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let segments: Vec<&str> = tail.split('/').filter(|s| !s.is_empty()).collect();
    match (method, segments.as_slice()) {
        (_, ["runs", ..])
        | (&Method::DELETE, [] | ["invites", _])
        | (&Method::PUT | &Method::DELETE, ["members", _])
        | (&Method::GET, ["people"]) => Some(room),
        _ => None,
    }
}

/// Strip the forwarding headers; when they carry the cluster's secret, the client address
/// they name becomes the request's peer. True for a request another instance forwarded.
fn take_forwarded(request: &mut Request, secret: &str) -> bool {
    let headers = request.headers_mut();
    let mark = headers.remove(FORWARDED);
    let client = headers.remove(CLIENT);
    let Some(mark) = mark else {
        return false;
    };
    if !constant_time_eq(mark.as_bytes(), secret.as_bytes()) {
        tracing::debug!("a request with a wrong forwarding secret; treated as a client's");
        return false;
    }
    if let Some(addr) = client
        .and_then(|v| v.to_str().ok().map(str::to_owned))
        .and_then(|v| v.parse::<SocketAddr>().ok())
    {
        request.extensions_mut().insert(ConnectInfo(addr));
    }
    true
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Send `request` to the owner at `addr` and hand its answer back; a WebSocket upgrade
/// becomes a byte splice between the client and the owner.
async fn forward(
    app: &Arc<AppShared>,
    cluster: &Arc<Cluster>,
    addr: &str,
    mut request: Request,
) -> Response {
    cluster.forwarded.fetch_add(1, Ordering::Relaxed);
    let client_upgrade = request
        .extensions_mut()
        .remove::<hyper::upgrade::OnUpgrade>();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let (mut parts, body) = request.into_parts();
    let headers = &mut parts.headers;
    if let Ok(secret) = HeaderValue::from_str(cluster.secret()) {
        headers.insert(FORWARDED, secret);
    }
    if let Some(peer) = peer
        && let Ok(value) = HeaderValue::from_str(&peer.to_string())
    {
        headers.insert(CLIENT, value);
    }
    // Origin-form: the path and query only.
    parts.uri = parts.uri.path_and_query().map_or_else(
        || Uri::from_static("/"),
        |pq| Uri::try_from(pq.as_str()).unwrap_or_else(|_| Uri::from_static("/")),
    );
    let outgoing = Request::from_parts(parts, body);

    let unavailable = |what: &str| {
        ApiError::Unavailable(format!(
            "the room's server is not answering ({what}); retry"
        ))
        .into_response()
    };
    let tcp =
        match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(error)) => {
                tracing::debug!(%addr, %error, "could not reach a room's owner");
                return unavailable("refused");
            }
            Err(_) => return unavailable("timed out"),
        };
    let _ = tcp.set_nodelay(true);
    let (mut sender, connection) =
        match hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await {
            Ok(pair) => pair,
            Err(error) => {
                tracing::debug!(%addr, %error, "handshake with a room's owner failed");
                return unavailable("handshake");
            }
        };
    tokio::spawn(async move {
        if let Err(error) = connection.with_upgrades().await {
            tracing::debug!(%error, "forwarded connection ended with an error");
        }
    });
    let mut response = match sender.send_request(outgoing).await {
        Ok(response) => response,
        Err(error) => {
            tracing::debug!(%addr, %error, "a forwarded request failed");
            return unavailable("request failed");
        }
    };
    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        let owner_upgrade = hyper::upgrade::on(&mut response);
        let Some(client_upgrade) = client_upgrade else {
            return ApiError::BadRequest("an upgrade on a connection that cannot upgrade".into())
                .into_response();
        };
        let shutdown = app.shutdown.clone();
        let cluster = cluster.clone();
        app.connections.spawn(async move {
            let (client, owner) = match tokio::join!(client_upgrade, owner_upgrade) {
                (Ok(client), Ok(owner)) => (client, owner),
                _ => return,
            };
            cluster.forwarded_open.fetch_add(1, Ordering::Relaxed);
            let (mut client, mut owner) = (TokioIo::new(client), TokioIo::new(owner));
            tokio::select! {
                result = tokio::io::copy_bidirectional(&mut client, &mut owner) => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "a forwarded WebSocket ended with an error");
                    }
                }
                // Shutting down: both sides see the connection end; the client reconnects
                // (through the balancer, to an instance that stays) and resyncs.
                () = shutdown.cancelled() => {}
            }
            cluster.forwarded_open.fetch_sub(1, Ordering::Relaxed);
        });
    }
    response.map(Body::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_requests_are_about_a_room() {
        let get = Method::GET;
        assert_eq!(room_bound(&get, "/ws/demo"), Some("demo"));
        assert_eq!(room_bound(&get, "/ws/a/b"), None);
        assert_eq!(room_bound(&get, "/api/rooms/demo/runs"), Some("demo"));
        assert_eq!(
            room_bound(&Method::POST, "/api/rooms/demo/runs/x-1/stop"),
            Some("demo")
        );
        assert_eq!(room_bound(&Method::DELETE, "/api/rooms/demo"), Some("demo"));
        assert_eq!(
            room_bound(&Method::DELETE, "/api/rooms/demo/invites/abc"),
            Some("demo")
        );
        assert_eq!(
            room_bound(&Method::PUT, "/api/rooms/demo/members/ada"),
            Some("demo")
        );
        assert_eq!(room_bound(&get, "/api/rooms/demo/people"), Some("demo"));
        // Reads of the store and replay are served anywhere.
        for path in [
            "/api/rooms/demo/timeline",
            "/api/rooms/demo/state",
            "/api/rooms/demo/members",
            "/api/rooms",
            "/healthz",
            "/r/demo",
        ] {
            assert_eq!(room_bound(&get, path), None, "{path}");
        }
        assert_eq!(room_bound(&Method::POST, "/api/rooms/demo/invites"), None);
    }

    #[test]
    fn forwarding_headers_are_trusted_only_with_the_secret() {
        let mut request = Request::builder()
            .uri("/ws/demo")
            .header(FORWARDED, "wrong")
            .header(CLIENT, "203.0.113.9:4000")
            .body(Body::empty())
            .unwrap();
        assert!(!take_forwarded(&mut request, "s3cret-s3cret"));
        assert!(
            request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .is_none()
        );
        assert!(request.headers().get(CLIENT).is_none(), "stripped");

        let mut request = Request::builder()
            .uri("/ws/demo")
            .header(FORWARDED, "s3cret-s3cret")
            .header(CLIENT, "203.0.113.9:4000")
            .body(Body::empty())
            .unwrap();
        assert!(take_forwarded(&mut request, "s3cret-s3cret"));
        let ConnectInfo(addr) = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .unwrap();
        assert_eq!(addr.to_string(), "203.0.113.9:4000");
    }
}
