//! The floor: a y-websocket relay with no document and no store, on the same WebSocket stack
//! as PeerCode (hyper's HTTP/1 accept loop with `TCP_NODELAY`, axum's WebSocket upgrade over
//! tokio-tungstenite with the same buffer sizes, one reader loop and one writer task per
//! connection, a bounded send queue whose writer feeds everything waiting and flushes once).
//!
//! It exists to anchor the collaboration benchmarks: what the machine and the stack allow
//! for the same frames, so that PeerCode's figures can be read as ratios to it (issue 15).
//! Every update and awareness frame goes to every connection of its room, the sender
//! included, as PeerCode does; sync step 1 is answered with an empty sync step 2; a client's
//! sync step 2 is forwarded as an update (unless it is empty). Nothing is applied, checked
//! or stored.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::wire::{self, Incoming};

/// PeerCode's defaults (`crates/server/src/config.rs` and `ws.rs`), so both servers queue,
/// buffer and time out alike.
const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
const READ_BUFFER: usize = 8 * 1024;
const WRITE_BUFFER: usize = 16 * 1024;
const SEND_QUEUE_FRAMES: usize = 32 * 1024;
const SEND_QUEUE_BYTES: usize = 8 * 1024 * 1024;
const PING_INTERVAL: Duration = Duration::from_secs(10);
const PING_TIMEOUT: Duration = Duration::from_secs(30);
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Close codes: going away, and too slow ("try again later").
const GOING_AWAY: u16 = 1001;
const TRY_AGAIN: u16 = 1013;

/// `peercode-bench floor-server --listen ADDR`: serve until killed.
pub fn main(listen: SocketAddr) -> Result<()> {
    // The same runtime as `peercode serve`: multi-threaded, one worker per core.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("while starting the runtime")?
        .block_on(async {
            let listener = TcpListener::bind(listen)
                .await
                .with_context(|| format!("while binding {listen}"))?;
            println!("floor listening on http://{}", listener.local_addr()?);
            serve(listener).await;
            Ok(())
        })
}

/// Accepts connections on `listener` for ever.
pub async fn serve(listener: TcpListener) {
    let router = router(Arc::new(Relay::default()));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let connection = builder
            .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(router.clone()))
            .with_upgrades();
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
}

fn router(relay: Arc<Relay>) -> Router {
    Router::new()
        .route("/ws/{room}", get(upgrade))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(relay)
}

/// Every room's open connections.
#[derive(Default)]
struct Relay {
    rooms: Mutex<HashMap<String, Arc<Room>>>,
    next_id: AtomicU64,
}

#[derive(Default)]
struct Room {
    /// Held for a whole fan-out, so every connection sees the room's frames in one order
    /// (a frame sent in answer to another never overtakes it).
    conns: Mutex<Vec<Conn>>,
}

#[derive(Clone)]
struct Conn {
    id: u64,
    queue: Arc<Queue>,
}

/// A connection's bounded send queue (frames and bytes), as PeerCode's `Outbox`; a
/// connection that falls behind is closed.
struct Queue {
    tx: mpsc::Sender<Bytes>,
    queued: AtomicUsize,
    /// Set once: the connection must close with this code (1013 when too slow).
    close: Mutex<Option<u16>>,
    closed: CancellationToken,
}

impl Queue {
    fn new() -> (Arc<Queue>, mpsc::Receiver<Bytes>) {
        let (tx, rx) = mpsc::channel(SEND_QUEUE_FRAMES);
        let queue = Queue {
            tx,
            queued: AtomicUsize::new(0),
            close: Mutex::new(None),
            closed: CancellationToken::new(),
        };
        (Arc::new(queue), rx)
    }

    fn push(&self, frame: Bytes) {
        let len = frame.len();
        let queued = self.queued.fetch_add(len, Ordering::AcqRel);
        if (queued > 0 && queued + len > SEND_QUEUE_BYTES) || self.tx.try_send(frame).is_err() {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            self.close(TRY_AGAIN);
        }
    }

    fn close(&self, code: u16) {
        let mut slot = self.close.lock();
        if slot.is_none() {
            *slot = Some(code);
            self.closed.cancel();
        }
    }
}

impl Relay {
    fn join(&self, name: &str, conn: Conn) -> Arc<Room> {
        let room = self
            .rooms
            .lock()
            .entry(name.to_owned())
            .or_default()
            .clone();
        room.conns.lock().push(conn);
        room
    }

    fn leave(&self, name: &str, room: &Arc<Room>, id: u64) {
        let mut rooms = self.rooms.lock();
        let mut conns = room.conns.lock();
        conns.retain(|c| c.id != id);
        if conns.is_empty() {
            rooms.remove(name);
        }
    }
}

impl Room {
    fn broadcast(&self, frame: &Bytes) {
        for conn in self.conns.lock().iter() {
            conn.queue.push(frame.clone());
        }
    }
}

async fn upgrade(
    State(relay): State<Arc<Relay>>,
    Path(room): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .on_upgrade(move |socket| connection(relay, room, socket))
}

async fn connection(relay: Arc<Relay>, name: String, socket: WebSocket) {
    let id = relay.next_id.fetch_add(1, Ordering::Relaxed);
    let (sink, mut stream) = socket.split();
    let (queue, rx) = Queue::new();
    let mut writer = tokio::spawn(write_loop(sink, rx, queue.clone()));
    let room = relay.join(
        &name,
        Conn {
            id,
            queue: queue.clone(),
        },
    );
    loop {
        let next = tokio::select! {
            () = queue.closed.cancelled() => break,
            next = tokio::time::timeout(PING_TIMEOUT, stream.next()) => next,
        };
        let Ok(Some(Ok(message))) = next else {
            break;
        };
        match message {
            Message::Binary(frame) => relay_frame(&room, &queue, frame),
            Message::Close(_) => break,
            _ => {}
        }
    }
    relay.leave(&name, &room, id);
    queue.close(GOING_AWAY);
    if tokio::time::timeout(Duration::from_secs(5), &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
}

/// What one client frame turns into: a reply to the sender, the same frame to the room, or
/// (for a client's sync step 2) the same update as an update frame to the room.
fn relay_frame(room: &Room, own: &Queue, frame: Bytes) {
    match wire::parse(&frame) {
        Incoming::Step1(_) => own.push(Bytes::from(wire::step2(crate::client::EMPTY_UPDATE))),
        Incoming::Step2(update) if update == crate::client::EMPTY_UPDATE => {}
        Incoming::Step2(update) => room.broadcast(&Bytes::from(wire::update(update))),
        Incoming::Update(_) | Incoming::Awareness(_) => room.broadcast(&frame),
        Incoming::QueryAwareness | Incoming::Unknown => {}
    }
}

async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Bytes>,
    queue: Arc<Queue>,
) {
    let mut ping = tokio::time::interval(PING_INTERVAL);
    ping.tick().await;
    loop {
        let step = tokio::select! {
            biased;
            () = queue.closed.cancelled() => break,
            frame = rx.recv() => match frame {
                Some(frame) => send_batch(&mut sink, frame, &mut rx, &queue).await,
                None => break,
            },
            _ = ping.tick() => sink.send(Message::Ping(Bytes::new())).await,
        };
        if step.is_err() {
            return;
        }
    }
    let code = queue.close.lock().unwrap_or(GOING_AWAY);
    let frame = CloseFrame {
        code,
        reason: "".into(),
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = sink.send(Message::Close(Some(frame))).await;
        let _ = sink.close().await;
    })
    .await;
}

/// Feed `first` and whatever else is already waiting (up to 256 frames), then flush once,
/// as PeerCode's writer does.
async fn send_batch(
    sink: &mut SplitSink<WebSocket, Message>,
    first: Bytes,
    rx: &mut mpsc::Receiver<Bytes>,
    queue: &Queue,
) -> Result<(), axum::Error> {
    let mut bytes = first.len();
    sink.feed(Message::Binary(first)).await?;
    for _ in 0..256 {
        match rx.try_recv() {
            Ok(frame) => {
                bytes += frame.len();
                sink.feed(Message::Binary(frame)).await?;
            }
            Err(_) => break,
        }
    }
    sink.flush().await?;
    queue.queued.fetch_sub(bytes, Ordering::AcqRel);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{self, Ws};
    use tokio_tungstenite::tungstenite::Message as WsMessage;

    async fn start() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(serve(listener));
        format!("ws://{addr}/ws")
    }

    /// The next binary frame, within a second.
    async fn next_frame(ws: &mut Ws) -> Option<Bytes> {
        let wait = async {
            while let Some(msg) = ws.next().await {
                match msg {
                    Ok(WsMessage::Binary(b)) => return Some(b),
                    Ok(_) => continue,
                    Err(_) => return None,
                }
            }
            None
        };
        tokio::time::timeout(Duration::from_secs(1), wait)
            .await
            .ok()
            .flatten()
    }

    async fn nothing_within(ws: &mut Ws, ms: u64) -> bool {
        tokio::time::timeout(Duration::from_millis(ms), next_frame(ws))
            .await
            .map_or(true, |f| f.is_none())
    }

    #[tokio::test]
    async fn step1_is_answered_with_an_empty_step2() {
        let base = start().await;
        let mut ws = client::connect(&base, "r").await.expect("connect");
        let doc = client::handshake(&mut ws, Duration::from_secs(2))
            .await
            .expect("handshake");
        assert_eq!(&doc[..], client::EMPTY_UPDATE);
    }

    #[tokio::test]
    async fn frames_go_to_everyone_in_the_room_and_no_one_else() {
        let base = start().await;
        let mut a = client::connect(&base, "r").await.expect("a");
        let mut b = client::connect(&base, "r").await.expect("b");
        let mut other = client::connect(&base, "elsewhere").await.expect("other");
        for ws in [&mut a, &mut b, &mut other] {
            client::handshake(ws, Duration::from_secs(2))
                .await
                .expect("handshake");
        }
        let update = wire::update(&[1, 1, 5, 0, 4, 1, 1, b't', 1, b'x', 0]);
        a.send(client::binary(update.clone())).await.expect("send");
        assert_eq!(next_frame(&mut b).await.as_deref(), Some(&update[..]));
        assert_eq!(
            next_frame(&mut a).await.as_deref(),
            Some(&update[..]),
            "echoed to the sender"
        );
        let awareness = vec![1, 3, 1, 2, 3];
        b.send(client::binary(awareness.clone()))
            .await
            .expect("send");
        assert_eq!(next_frame(&mut a).await.as_deref(), Some(&awareness[..]));
        assert!(nothing_within(&mut other, 200).await, "rooms are separate");
    }

    #[tokio::test]
    async fn a_clients_step2_is_forwarded_as_an_update_unless_empty() {
        let base = start().await;
        let mut a = client::connect(&base, "r").await.expect("a");
        let mut b = client::connect(&base, "r").await.expect("b");
        for ws in [&mut a, &mut b] {
            client::handshake(ws, Duration::from_secs(2))
                .await
                .expect("handshake");
        }
        a.send(client::binary(wire::step2(client::EMPTY_UPDATE)))
            .await
            .expect("send");
        assert!(
            nothing_within(&mut b, 200).await,
            "an empty step 2 is dropped"
        );
        let payload = [1, 1, 5, 0, 4, 1, 1, b't', 1, b'y', 0];
        a.send(client::binary(wire::step2(&payload)))
            .await
            .expect("send");
        assert_eq!(
            next_frame(&mut b).await.as_deref(),
            Some(&wire::update(&payload)[..])
        );
    }

    #[tokio::test]
    async fn a_closed_connection_leaves_its_room() {
        let relay = Arc::new(Relay::default());
        let (queue, _rx) = Queue::new();
        let room = relay.join("r", Conn { id: 7, queue });
        assert_eq!(relay.rooms.lock().len(), 1);
        relay.leave("r", &room, 7);
        assert!(relay.rooms.lock().is_empty());
    }
}
