//! `/ws/{room}`: one y-websocket connection. A reader loop decodes frames and forwards them
//! to the room; a writer task drains the connection's bounded queue, sends pings and the
//! close frame.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use peercode_protocol::Message;
use tokio::sync::mpsc;

use peercode_store::Role;
use tokio::time::Instant;

use crate::AppShared;
use crate::auth::access::{Grants, RoomAccess};
use crate::auth::limiter::Bucket;
use crate::auth::{self, Caller, CallerKind, Peer};
use crate::error::ApiError;
use crate::rooms::{
    Closer, ConnHandle, JoinError, Outbox, Participant, RoomHandle, valid_room_name,
};

const INVALID_DATA: u16 = 1007;
const UNSUPPORTED: u16 = 1003;
const TOO_BIG: u16 = 1009;
const INTERNAL: u16 = 1011;
const GOING_AWAY: u16 = 1001;
const POLICY: u16 = 1008;
const ACCESS_REVOKED: u16 = 4003;
const ROOM_DELETED: u16 = 4004;
const SERVICE_RESTART: u16 = 1012;

const READ_BUFFER: usize = 8 * 1024;
const WRITE_BUFFER: usize = 16 * 1024;

/// The upgrade: the room name, the address's connection rate, the credentials and the
/// caller's role are all checked here, so a refusal is a plain HTTP status (400, 401, 403,
/// 404, 429) before any WebSocket exists.
pub async fn upgrade(
    State(app): State<Arc<AppShared>>,
    Path(room): Path<String>,
    Peer(peer): Peer,
    headers: HeaderMap,
    uri: Uri,
    ws: WebSocketUpgrade,
) -> Response {
    match admit(&app, &room, peer, &headers, &uri).await {
        Ok((caller, who, grants)) => accept(app, room, ws, caller, who, grants),
        Err(error) => error.into_response(),
    }
}

async fn admit(
    app: &AppShared,
    room: &str,
    peer: Option<std::net::SocketAddr>,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<(Caller, Participant, Grants), ApiError> {
    if !valid_room_name(room) {
        return Err(ApiError::BadRequest(
            "invalid room name: use 1 to 128 characters from A-Z, a-z, 0-9, '-', '_' and '.'"
                .into(),
        ));
    }
    let ip = auth::client_ip(headers, peer, app.config.trust_proxy);
    app.auth
        .ws_connections_per_ip
        .take(&ip)
        .map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
    let caller = Caller::resolve(app, headers, uri, peer).await?;
    let access = RoomAccess::resolve(app, room, &caller).await?;
    access.require(Role::Viewer)?;
    let who = participant(&caller)?;
    Ok((caller, who, access.grants))
}

/// Who a connection is, from its verified credentials: an account, a guest by link (with
/// the display name it gives), or nobody.
fn participant(caller: &Caller) -> Result<Participant, ApiError> {
    let invite = caller.invite.as_ref().map(|i| i.id.clone());
    let link_expires_ms = caller.invite.as_ref().and_then(|i| i.expires_ms);
    Ok(match caller.kind() {
        CallerKind::User => {
            let user = caller.user.clone().unwrap_or_default();
            Participant {
                author: Some(format!("user:{user}").into()),
                user: Some(user),
                invite,
                link_expires_ms,
                guest: false,
            }
        }
        CallerKind::Guest => {
            let given = caller.name.as_deref().ok_or_else(|| {
                ApiError::BadRequest("a guest joining by link needs a display name (`name`)".into())
            })?;
            let name = auth::display_name(given, "a guest's display name")?;
            let id = invite.clone().unwrap_or_default();
            Participant {
                author: Some(format!("guest:{id}:{name}").into()),
                user: None,
                invite,
                link_expires_ms,
                guest: true,
            }
        }
        CallerKind::Anonymous => Participant::default(),
    })
}

fn accept(
    app: Arc<AppShared>,
    room: String,
    ws: WebSocketUpgrade,
    caller: Caller,
    who: Participant,
    grants: Grants,
) -> Response {
    let max = app.config.max_message_bytes;
    // tungstenite allocates the whole read buffer up front (128 KiB by default): small
    // buffers keep an idle connection cheap; large messages still arrive, in more reads.
    ws.max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .on_upgrade(move |socket| {
            let tasks = app.connections.clone();
            let joining = Joining {
                caller,
                who,
                grants,
            };
            tasks.track_future(connection(app, room, socket, joining))
        })
}

/// Who joins, and with what access (checked at the upgrade).
struct Joining {
    caller: Caller,
    who: Participant,
    grants: Grants,
}

async fn connection(app: Arc<AppShared>, room_name: String, socket: WebSocket, joining: Joining) {
    let id = app.next_conn_id.fetch_add(1, Ordering::Relaxed);
    app.metrics.connections.fetch_add(1, Ordering::Relaxed);
    let (sink, stream) = socket.split();
    let (outbox, rx) = Outbox::new(app.config.send_buffer, app.config.send_buffer_bytes);
    let closer = Arc::new(Closer::default());
    let mut writer = tokio::spawn(write_loop(
        app.clone(),
        sink,
        rx,
        outbox.clone(),
        closer.clone(),
    ));
    let conn = ConnHandle {
        id,
        outbox,
        closer: closer.clone(),
        who: Arc::new(joining.who),
        grants: joining.grants,
    };
    match app.rooms.join(&room_name, conn).await {
        Ok(room) => {
            // An access change between the check at the upgrade and the join reached the
            // room before this connection did: check once more now that it is in.
            match RoomAccess::resolve(&app, &room_name, &joining.caller).await {
                Ok(now) if now.grants == joining.grants => {}
                _ => closer.close(ACCESS_REVOKED, "access changed while joining; reconnect"),
            }
            read_loop(&app, id, &room, stream, &closer).await;
            room.leave(id).await;
        }
        Err(JoinError::ShuttingDown) => closer.close(GOING_AWAY, "server shutting down"),
        Err(JoinError::Deleted) => closer.close(ROOM_DELETED, "room deleted"),
        // Another instance took the room between routing and loading: reconnecting reaches it.
        Err(JoinError::Moved) => closer.close(
            SERVICE_RESTART,
            "the room is served by another server; reconnect",
        ),
        Err(error @ JoinError::TooManyGuests(_)) => closer.close(POLICY, error.to_string()),
        Err(error) => {
            tracing::error!(room = %room_name, %error, "join failed");
            closer.close(INTERNAL, "the room could not be loaded");
        }
    }
    closer.close(GOING_AWAY, "");
    // The writer gives up on a peer that stopped reading after its close-frame timeout;
    // this bound is the backstop so a connection task can never hang.
    if tokio::time::timeout(Duration::from_secs(5), &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
    app.metrics.connections.fetch_sub(1, Ordering::Relaxed);
}

async fn read_loop(
    app: &AppShared,
    id: u64,
    room: &RoomHandle,
    mut stream: SplitStream<WebSocket>,
    closer: &Closer,
) {
    let timeout = app.config.ping_timeout();
    let rate = app.auth.ws_messages;
    let mut last_frame = Instant::now();
    let mut allowance = Bucket::full(&rate, last_frame);
    // Made once, not per frame: the idle timer moves only when it fires (to the last
    // frame's time plus the timeout), so a busy connection costs no timer work per frame.
    // Waiting on a token locks it at every wake-up: the server's shutdown is waited for
    // through a token of this connection's own, so connections do not contend for one lock.
    let server_stops = app.shutdown.child_token();
    let closed = closer.token().cancelled();
    let shutdown = server_stops.cancelled();
    let idle = tokio::time::sleep(timeout);
    tokio::pin!(closed, shutdown, idle);
    loop {
        let next = tokio::select! {
            () = &mut closed => return,
            () = &mut shutdown => {
                closer.close(GOING_AWAY, "server shutting down");
                return;
            }
            () = &mut idle => {
                let deadline = last_frame + timeout;
                if Instant::now() < deadline {
                    idle.as_mut().reset(deadline);
                    continue;
                }
                tracing::debug!(
                    conn = id,
                    "no frame or pong within the ping timeout; dropping"
                );
                closer.close(GOING_AWAY, "ping timeout");
                return;
            }
            next = stream.next() => next,
        };
        last_frame = Instant::now();
        let frame = match next {
            None => return,
            Some(Err(error)) => {
                match classify(error) {
                    ReadFailure::TooBig => {
                        app.metrics
                            .rejected_connections
                            .fetch_add(1, Ordering::Relaxed);
                        let limit = app.config.max_message_bytes;
                        closer.close(
                            TOO_BIG,
                            format!("message larger than the limit of {limit} bytes"),
                        );
                    }
                    ReadFailure::InvalidUtf8 => {
                        app.metrics
                            .rejected_connections
                            .fetch_add(1, Ordering::Relaxed);
                        closer.close(INVALID_DATA, "text frame is not valid UTF-8");
                    }
                    ReadFailure::Other => closer.close(GOING_AWAY, ""),
                }
                return;
            }
            Some(Ok(frame)) => frame,
        };
        match frame {
            WsMessage::Binary(bytes) => {
                if allowance.take(&rate, last_frame).is_err() {
                    app.metrics
                        .rejected_connections
                        .fetch_add(1, Ordering::Relaxed);
                    closer.close(POLICY, "too many messages; slow down");
                    return;
                }
                app.metrics.messages_in.fetch_add(1, Ordering::Relaxed);
                app.metrics
                    .bytes_in
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                match Message::decode(&bytes) {
                    Ok(message) => {
                        if !room.send(id, bytes, message).await {
                            closer.close(GOING_AWAY, "room closed; reconnect");
                            return;
                        }
                    }
                    Err(error) => {
                        app.metrics
                            .rejected_connections
                            .fetch_add(1, Ordering::Relaxed);
                        closer.close(INVALID_DATA, format!("malformed message: {error}"));
                        return;
                    }
                }
            }
            WsMessage::Text(_) => {
                app.metrics
                    .rejected_connections
                    .fetch_add(1, Ordering::Relaxed);
                closer.close(UNSUPPORTED, "text frames are not part of the protocol");
                return;
            }
            WsMessage::Close(_) => return,
            WsMessage::Ping(_) | WsMessage::Pong(_) => {}
        }
    }
}

async fn write_loop(
    app: Arc<AppShared>,
    mut sink: SplitSink<WebSocket, WsMessage>,
    mut rx: mpsc::Receiver<Bytes>,
    outbox: Arc<Outbox>,
    closer: Arc<Closer>,
) {
    let mut ping = tokio::time::interval(app.config.ping_interval());
    ping.tick().await;
    let closed = closer.token().cancelled();
    tokio::pin!(closed);
    loop {
        // The whole write is raced against the close signal: a peer that stopped reading
        // leaves a send pending forever, and must not keep this task alive.
        let step = tokio::select! {
            biased;
            () = &mut closed => break,
            step = write_step(&app, &mut sink, &mut rx, &outbox, &mut ping) => step,
        };
        match step {
            Ok(true) => {}
            Ok(false) => break,
            Err(_) => {
                closer.close(GOING_AWAY, "");
                return;
            }
        }
    }
    let (code, reason) = match closer.reason() {
        Some(r) => (r.code, r.reason),
        None => (GOING_AWAY, String::new()),
    };
    let frame = CloseFrame {
        code,
        reason: truncate_reason(reason).into(),
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = sink.send(WsMessage::Close(Some(frame))).await;
        let _ = sink.close().await;
    })
    .await;
}

/// Send what is queued, or a ping when it is time; false once the queue is closed.
async fn write_step(
    app: &AppShared,
    sink: &mut SplitSink<WebSocket, WsMessage>,
    rx: &mut mpsc::Receiver<Bytes>,
    outbox: &Outbox,
    ping: &mut tokio::time::Interval,
) -> Result<bool, axum::Error> {
    tokio::select! {
        frame = rx.recv() => match frame {
            Some(frame) => {
                let bytes = send_batch(sink, frame, rx).await?;
                outbox.written(bytes);
                app.metrics.bytes_out.fetch_add(bytes as u64, Ordering::Relaxed);
                Ok(true)
            }
            None => Ok(false),
        },
        _ = ping.tick() => {
            sink.send(WsMessage::Ping(Bytes::new())).await?;
            Ok(true)
        }
    }
}

/// Why reading from a WebSocket failed.
enum ReadFailure {
    /// A message or frame exceeded the configured maximum (tungstenite's `Capacity`).
    TooBig,
    /// A text frame was not UTF-8 (RFC 6455 §8.1: close with 1007).
    InvalidUtf8,
    /// The peer went away or broke the protocol.
    Other,
}

fn classify(error: axum::Error) -> ReadFailure {
    let inner = error.into_inner();
    match inner.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Capacity(_)) => ReadFailure::TooBig,
        Some(tungstenite::Error::Utf8(_)) => ReadFailure::InvalidUtf8,
        _ => {
            tracing::debug!(error = %inner, "websocket error");
            ReadFailure::Other
        }
    }
}

/// A close frame's reason may be at most 123 bytes (RFC 6455 §5.5); cut at a character.
fn truncate_reason(mut reason: String) -> String {
    reason.truncate(reason.floor_char_boundary(123));
    reason
}

/// Queue `first` and whatever else is already waiting, then flush once.
async fn send_batch(
    sink: &mut SplitSink<WebSocket, WsMessage>,
    first: Bytes,
    rx: &mut mpsc::Receiver<Bytes>,
) -> Result<usize, axum::Error> {
    let mut bytes = first.len();
    sink.feed(WsMessage::Binary(first)).await?;
    for _ in 0..256 {
        match rx.try_recv() {
            Ok(frame) => {
                bytes += frame.len();
                sink.feed(WsMessage::Binary(frame)).await?;
            }
            Err(_) => break,
        }
    }
    sink.flush().await?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::truncate_reason;

    /// `Cargo.lock`'s packages as (name, version, dependencies).
    fn locked_packages() -> Vec<(String, String, Vec<String>)> {
        let lock = include_str!("../../../Cargo.lock");
        lock.split("[[package]]")
            .skip(1)
            .map(|entry| {
                let field = |key: &str| {
                    entry
                        .lines()
                        .find_map(|l| l.strip_prefix(key))
                        .map(|v| v.trim().trim_matches('"').to_owned())
                        .unwrap_or_default()
                };
                let deps = entry
                    .split_once("dependencies = [")
                    .map(|(_, rest)| rest.split(']').next().unwrap_or_default())
                    .unwrap_or_default()
                    .split(',')
                    .map(|d| d.trim().trim_matches('"').to_owned())
                    .filter(|d| !d.is_empty())
                    .collect();
                (field("name = "), field("version = "), deps)
            })
            .collect()
    }

    /// `is_capacity_error` downcasts axum's WebSocket error to *this crate's*
    /// `tungstenite::Error`. If axum moved to another tungstenite than the one pinned in
    /// Cargo.toml, the downcast would silently fail and an oversized message would close
    /// with 1001 instead of 1009: fail here instead, loudly.
    #[test]
    fn the_pinned_tungstenite_is_the_one_axum_uses() {
        let packages = locked_packages();
        let deps_of = |name: &str| -> Vec<String> {
            packages
                .iter()
                .filter(|(n, _, _)| n == name)
                .flat_map(|(_, _, deps)| deps.clone())
                .collect()
        };
        let tungstenite_of = |deps: &[String]| -> Vec<String> {
            deps.iter()
                .filter(|d| *d == "tungstenite" || d.starts_with("tungstenite "))
                .cloned()
                .collect()
        };
        let version_of = |dep: &str| -> String {
            match dep.split_once(' ') {
                Some((_, version)) => version.to_owned(),
                None => packages
                    .iter()
                    .find(|(n, _, _)| n == dep)
                    .map(|(_, v, _)| v.clone())
                    .unwrap_or_default(),
            }
        };
        let ours = tungstenite_of(&deps_of("peercode-server"));
        assert_eq!(ours.len(), 1, "peercode-server depends on tungstenite once");
        let axum_ws: Vec<String> = deps_of("axum")
            .into_iter()
            .filter(|d| d == "tokio-tungstenite" || d.starts_with("tokio-tungstenite "))
            .collect();
        assert_eq!(
            axum_ws.len(),
            1,
            "axum's WebSocket support is tokio-tungstenite"
        );
        let axum_ws_version = version_of(&axum_ws[0]);
        let theirs: Vec<String> = packages
            .iter()
            .filter(|(n, v, _)| n == "tokio-tungstenite" && *v == axum_ws_version)
            .flat_map(|(_, _, deps)| tungstenite_of(deps))
            .collect();
        assert_eq!(theirs.len(), 1);
        assert_eq!(
            version_of(&ours[0]),
            version_of(&theirs[0]),
            "bump `tungstenite` in crates/server/Cargo.toml to the version axum uses"
        );
    }

    #[test]
    fn close_reasons_fit_a_control_frame() {
        assert_eq!(truncate_reason("short".into()), "short");
        let long = "é".repeat(100);
        let cut = truncate_reason(long);
        assert!(cut.len() <= 123 && cut.chars().all(|c| c == 'é'));
    }
}
