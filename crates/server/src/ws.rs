//! `/ws/{room}`: one y-websocket connection. A reader loop decodes frames and forwards them
//! to the room; a writer task drains the connection's bounded queue, sends pings and the
//! close frame.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use peercode_protocol::Message;
use tokio::sync::mpsc;

use crate::AppShared;
use crate::error::ApiError;
use crate::rooms::{Closer, ConnHandle, JoinError, RoomHandle, valid_room_name};

const INVALID_DATA: u16 = 1007;
const UNSUPPORTED: u16 = 1003;
const TOO_BIG: u16 = 1009;
const INTERNAL: u16 = 1011;
const GOING_AWAY: u16 = 1001;

const READ_BUFFER: usize = 8 * 1024;
const WRITE_BUFFER: usize = 16 * 1024;

pub async fn upgrade(
    State(app): State<Arc<AppShared>>,
    Path(room): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    if !valid_room_name(&room) {
        return ApiError::BadRequest(
            "invalid room name: use 1 to 128 characters from A-Z, a-z, 0-9, '-', '_' and '.'"
                .into(),
        )
        .into_response();
    }
    let max = app.config.max_message_bytes;
    // tungstenite allocates the whole read buffer up front (128 KiB by default): small
    // buffers keep an idle connection cheap; large messages still arrive, in more reads.
    ws.max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .on_upgrade(move |socket| connection(app, room, socket))
}

async fn connection(app: Arc<AppShared>, room_name: String, socket: WebSocket) {
    let id = app.next_conn_id.fetch_add(1, Ordering::Relaxed);
    app.metrics.connections.fetch_add(1, Ordering::Relaxed);
    let (sink, stream) = socket.split();
    let (tx, rx) = mpsc::channel::<Bytes>(app.config.send_buffer.max(1));
    let closer = Arc::new(Closer::default());
    let writer = tokio::spawn(write_loop(app.clone(), sink, rx, closer.clone()));
    let conn = ConnHandle {
        id,
        tx,
        closer: closer.clone(),
    };
    match app.rooms.join(&app, &room_name, conn).await {
        Ok(room) => {
            read_loop(&app, id, &room, stream, &closer).await;
            room.leave(id).await;
        }
        Err(JoinError::ShuttingDown) => closer.close(GOING_AWAY, "server shutting down"),
        Err(error) => {
            tracing::error!(room = %room_name, %error, "join failed");
            closer.close(INTERNAL, "the room could not be loaded");
        }
    }
    closer.close(GOING_AWAY, "");
    let _ = writer.await;
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
    loop {
        let next = tokio::select! {
            () = closer.token().cancelled() => return,
            () = app.shutdown.cancelled() => {
                closer.close(GOING_AWAY, "server shutting down");
                return;
            }
            next = tokio::time::timeout(timeout, stream.next()) => next,
        };
        let frame = match next {
            Err(_) => {
                tracing::debug!(
                    conn = id,
                    "no frame or pong within the ping timeout; dropping"
                );
                closer.close(GOING_AWAY, "ping timeout");
                return;
            }
            Ok(None) => return,
            Ok(Some(Err(error))) => {
                let text = error.to_string();
                if text.contains("Space limit exceeded")
                    || text.contains("too long")
                    || text.contains("too big")
                {
                    app.metrics
                        .rejected_connections
                        .fetch_add(1, Ordering::Relaxed);
                    let limit = app.config.max_message_bytes;
                    closer.close(
                        TOO_BIG,
                        format!("message larger than the limit of {limit} bytes"),
                    );
                } else {
                    tracing::debug!(conn = id, %error, "websocket error");
                    closer.close(GOING_AWAY, "");
                }
                return;
            }
            Ok(Some(Ok(frame))) => frame,
        };
        match frame {
            WsMessage::Binary(bytes) => {
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
    closer: Arc<Closer>,
) {
    let mut ping = tokio::time::interval(app.config.ping_interval());
    ping.tick().await;
    loop {
        tokio::select! {
            biased;
            () = closer.token().cancelled() => break,
            frame = rx.recv() => {
                let Some(frame) = frame else { break };
                if send_batch(&app, &mut sink, frame, &mut rx).await.is_err() {
                    closer.close(GOING_AWAY, "");
                    return;
                }
            }
            _ = ping.tick() => {
                if sink.send(WsMessage::Ping(Bytes::new())).await.is_err() {
                    closer.close(GOING_AWAY, "");
                    return;
                }
            }
        }
    }
    let reason = closer.reason();
    let frame = reason
        .filter(|r| !r.reason.is_empty() || r.code != GOING_AWAY)
        .map(|r| CloseFrame {
            code: r.code,
            reason: r.reason.into(),
        });
    let frame = frame.or(Some(CloseFrame {
        code: GOING_AWAY,
        reason: "".into(),
    }));
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        let _ = sink.send(WsMessage::Close(frame)).await;
        let _ = sink.close().await;
    })
    .await;
}

/// Queue `first` and whatever else is already waiting, then flush once.
async fn send_batch(
    app: &AppShared,
    sink: &mut SplitSink<WebSocket, WsMessage>,
    first: Bytes,
    rx: &mut mpsc::Receiver<Bytes>,
) -> Result<(), axum::Error> {
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
    app.metrics
        .bytes_out
        .fetch_add(bytes as u64, Ordering::Relaxed);
    Ok(())
}
