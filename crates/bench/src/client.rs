//! A bare y-websocket client connection: open the socket, do the sync handshake, and nothing
//! else, so that the load generator spends its CPU on the scenario and not on documents.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::wire::{self, Incoming};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// An empty state vector and an empty v1 update, as lib0 encodes them.
pub const EMPTY_STATE_VECTOR: &[u8] = &[0];
pub const EMPTY_UPDATE: &[u8] = &[0, 0];

pub async fn connect(ws_base: &str, room: &str) -> Result<Ws> {
    let url = format!("{ws_base}/{room}");
    // Small eager read buffers: the load generator holds a thousand of these.
    let config = WebSocketConfig::default().read_buffer_size(16 * 1024);
    let (ws, _) = tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), true)
        .await
        .with_context(|| format!("while connecting to {url}"))?;
    Ok(ws)
}

/// [`connect`], retried for a few seconds: an instance that shares rooms answers 503 while
/// the room it is asked for is moving between instances, and a client retries then.
pub async fn connect_retrying(ws_base: &str, room: &str) -> Result<Ws> {
    let mut attempt = 0;
    loop {
        match connect(ws_base, room).await {
            Ok(ws) => return Ok(ws),
            Err(e) if attempt < 20 => {
                attempt += 1;
                eprintln!("  retrying {ws_base}/{room}: {e:#}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

pub fn binary(frame: Vec<u8>) -> Message {
    Message::Binary(Bytes::from(frame))
}

/// Sends sync step 1 for an empty document, answers the server's step 1 with an empty update,
/// and returns the server's step 2 (the whole document).
pub async fn handshake(ws: &mut Ws, timeout: Duration) -> Result<Bytes> {
    ws.send(binary(wire::step1(EMPTY_STATE_VECTOR))).await?;
    let wait = async {
        while let Some(msg) = ws.next().await {
            let Message::Binary(frame) = msg? else {
                continue;
            };
            match wire::parse(&frame) {
                Incoming::Step1(_) => ws.send(binary(wire::step2(EMPTY_UPDATE))).await?,
                Incoming::Step2(doc) => return Ok(frame.slice_ref(doc)),
                _ => {}
            }
        }
        bail!("connection closed before sync step 2")
    };
    tokio::time::timeout(timeout, wait)
        .await
        .context("no sync step 2 in time")?
}
