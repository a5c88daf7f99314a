//! The server under attack from a participant or a stranger on the network: state-vector
//! bombs, presence floods, analysis bursts, silent and half-sent requests, too many
//! connections from one address, invalid text frames and oversized frames. Each must be
//! contained without hurting anyone else.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Client, Server, wait_until};
use peercode_protocol::{AwarenessEntry, Message, encode_awareness};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};

const WAIT: Duration = Duration::from_secs(10);

fn var_uint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

#[tokio::test]
async fn a_state_vector_bomb_is_refused_before_it_allocates() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let url = server.url("sv-bomb");
    let mut good = Client::join(&url, 1).await;
    // A sync step 1 whose 9-byte state vector claims 2^29 entries.
    let mut sv = Vec::new();
    var_uint(1 << 29, &mut sv);
    sv.extend_from_slice(&[1, 1, 1, 1]);
    for _ in 0..6 {
        let mut bomber = Client::join(&url, 2).await;
        bomber
            .send(Message::SyncStep1(Bytes::from(sv.clone())))
            .await;
        assert!(bomber.pump_until(|c| c.closed.is_some(), WAIT).await);
        assert_eq!(bomber.closed.clone().unwrap().0, 1007);
    }
    good.type_text("unharmed").await;
    assert!(good.pump_until(|c| c.text() == "unharmed", WAIT).await);
}

fn awareness(client_id: u64, clock: u64, state: &str) -> Message {
    Message::Awareness(
        encode_awareness(&[AwarenessEntry {
            client_id,
            clock,
            state,
        }])
        .into(),
    )
}

#[tokio::test]
async fn a_presence_flood_is_bounded_and_sampled() {
    use peercode_store::{Durability, EventKind, SqliteStore, Store};
    let dir = tempfile::tempdir().unwrap();
    // This flood is about presence's own bounds: no per-connection message limit.
    let server = Server::start(dir.path(), &["--ws-messages-per-second", "0"]);
    let url = server.url("flood");
    let mut flooder = Client::join(&url, 7).await;
    let mut watcher = Client::join(&url, 8).await;
    // Ever-new client ids marked as left, then a burst of cursor moves of its own.
    for id in 0..5000u64 {
        flooder.send(awareness(1_000_000 + id, 1, "null")).await;
    }
    let started = Instant::now();
    let moves = 300u64;
    for clock in 1..=moves {
        let state = format!(r#"{{"cursor":{clock}}}"#);
        flooder.send(awareness(7, clock, &state)).await;
    }
    let burst = started.elapsed();
    let last = format!(r#"{{"cursor":{moves}}}"#);
    assert!(
        watcher
            .pump_until(
                |c| c
                    .awareness
                    .get(&7)
                    .is_some_and(|(_, s)| s.as_deref() == Some(last.as_str())),
                WAIT
            )
            .await,
        "every move is still broadcast"
    );
    // A state that is not JSON closes that connection.
    flooder.send(awareness(7, moves + 1, "{not json")).await;
    assert!(flooder.pump_until(|c| c.closed.is_some(), WAIT).await);
    assert_eq!(flooder.closed.clone().unwrap().0, 1007);

    let store = SqliteStore::open(dir.path(), Durability::Process).unwrap();
    let left = || {
        store
            .events("flood", 0, u64::MAX)
            .is_ok_and(|e| e.iter().filter(|e| e.kind == EventKind::Leave).count() >= 1)
    };
    assert!(wait_until(left, WAIT).await);
    let events = store.events("flood", 0, u64::MAX).unwrap();
    let samples: Vec<_> = events
        .iter()
        .filter(|e| {
            e.kind == EventKind::Presence
                && peercode_protocol::decode_awareness(&e.data)
                    .is_ok_and(|entries| entries.iter().any(|a| a.client_id == 7))
        })
        .collect();
    // Samples of one connection are at least 100 ms apart (server time, whole ms), except
    // the newest state written when the connection leaves; so a burst of hundreds of
    // moves is a handful of records.
    let sampled = &samples[..samples.len().saturating_sub(1)];
    for pair in sampled.windows(2) {
        assert!(
            pair[1].ts_ms - pair[0].ts_ms >= 99,
            "samples {} ms apart",
            pair[1].ts_ms - pair[0].ts_ms
        );
    }
    assert!(
        samples.len() < moves as usize / 10,
        "{} presence records for {moves} moves sent in {burst:?}",
        samples.len()
    );
    let newest = samples.last().expect("presence was recorded");
    assert!(
        String::from_utf8_lossy(&newest.data).contains(&last),
        "the newest state is what was recorded last"
    );
    // The flood of leavers was recorded with the same sampling, not 5000 times.
    let all_presence = events
        .iter()
        .filter(|e| e.kind == EventKind::Presence)
        .count();
    assert!(all_presence < 500, "{all_presence} presence records");
}

#[tokio::test]
async fn an_analysis_burst_is_queued_or_turned_away_and_the_server_answers_after() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let code =
        "def f(a):\n    for x in a:\n        for y in a:\n            print(x, y)\n".repeat(300);
    let body = json!({"language": "python", "code": code});
    let mut burst = Vec::new();
    for _ in 0..40 {
        let body = body.clone();
        let addr = server.addr.clone();
        burst.push(tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("http://{addr}/api/analyze"))
                .json(&body)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }));
    }
    let mut statuses = Vec::new();
    for request in burst {
        statuses.push(request.await.unwrap());
    }
    // Each is answered or turned away with a clear 503 (how many of each depends on how
    // fast the analyses run; the bound itself is a unit test of the pool).
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| **s == 200).count() >= 2,
        "{statuses:?}"
    );
    let (status, _) = server
        .post(
            "/api/analyze",
            json!({"language": "python", "code": "x = 1"}),
        )
        .await;
    assert_eq!(status, 200);
}

/// Read until the server closes the socket; false if it is still open after `timeout`.
async fn closed_by_server(tcp: &mut TcpStream, timeout: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn silent_and_half_sent_requests_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--header-read-timeout-ms", "300"]);
    let mut silent = TcpStream::connect(&server.addr).await.unwrap();
    let mut half = TcpStream::connect(&server.addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(
        closed_by_server(&mut silent, WAIT).await,
        "silent socket closed"
    );
    assert!(
        closed_by_server(&mut half, WAIT).await,
        "half-sent request closed"
    );
    // A WebSocket, once open, is not subject to the header deadline.
    let mut client = Client::join(&server.url("ws"), 1).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    client.type_text("still open").await;
    assert!(client.pump_until(|c| c.text() == "still open", WAIT).await);
}

#[tokio::test]
async fn one_address_holds_a_bounded_number_of_connections() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--max-connections-per-ip", "4"]);
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(Client::join(&server.url("crowd"), 1).await);
    }
    let mut extra = TcpStream::connect(&server.addr).await.unwrap();
    extra
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(WAIT, extra.read_to_end(&mut answer)).await;
    assert!(
        answer.is_empty(),
        "the fifth connection is closed unanswered"
    );
    // Once some go away, the address may connect again.
    drop(held.pop());
    drop(held.pop());
    let (status, _) = loop_until_ok(&server).await;
    assert_eq!(status, 200);
}

async fn loop_until_ok(server: &Server) -> (u16, String) {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(response) = reqwest::get(format!("http://{}/healthz", server.addr)).await {
            return (
                response.status().as_u16(),
                response.text().await.unwrap_or_default(),
            );
        }
        assert!(Instant::now() < deadline, "no connection admitted again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_invalid_utf8_text_frame_closes_with_1007() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let mut client = Client::join(&server.url("utf8"), 1).await;
    let frame = Frame::message(vec![0xff, 0xfe, 0x80], OpCode::Data(Data::Text), true);
    assert!(client.send_frame(Ws::Frame(frame)).await);
    assert!(client.pump_until(|c| c.closed.is_some(), WAIT).await);
    assert_eq!(client.closed.clone().unwrap().0, 1007);
}

#[tokio::test]
async fn a_client_writing_an_oversized_frame_reads_a_1009_close() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--max-message-bytes", "4096"]);
    let mut tcp = TcpStream::connect(&server.addr).await.unwrap();
    tcp.write_all(
        b"GET /ws/big HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    // A client that writes its whole (oversized) frame before it reads anything: the
    // server's close frame waits in this socket's receive buffer meanwhile. (The server
    // also closes the socket lingering, so that on a real network a reset cannot destroy
    // a close frame still in flight; on loopback nothing is in flight long enough to show
    // that, so this checks what the client reads.)
    let mut header = Vec::new();
    FrameHeader {
        is_final: true,
        opcode: OpCode::Data(Data::Binary),
        mask: Some([1, 2, 3, 4]),
        ..FrameHeader::default()
    }
    .format(8 << 20, &mut header)
    .unwrap();
    let _ = tcp.write_all(&header).await;
    let chunk = vec![0u8; 64 * 1024];
    for _ in 0..128 {
        let write = tokio::time::timeout(WAIT, tcp.write_all(&chunk)).await;
        if !matches!(write, Ok(Ok(()))) {
            break;
        }
    }
    let mut received = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let deadline = tokio::time::Instant::now() + WAIT;
    let close = loop {
        if let Some(code) = close_code(&received) {
            break Some(code);
        }
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break close_code(&received),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
        }
    };
    assert_eq!(close, Some(1009), "the client read a 1009 close frame");
}

/// The code of the first close frame in `bytes` (an HTTP 101 answer, then server frames).
fn close_code(bytes: &[u8]) -> Option<u16> {
    let start = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let mut at = start;
    while at + 2 <= bytes.len() {
        let opcode = bytes[at] & 0x0f;
        let (len, header) = match bytes[at + 1] & 0x7f {
            126 => (
                u16::from_be_bytes([*bytes.get(at + 2)?, *bytes.get(at + 3)?]) as usize,
                4,
            ),
            127 => return None,
            n => (n as usize, 2),
        };
        let body = bytes.get(at + header..at + header + len)?;
        if opcode == 0x8 {
            return Some(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
        }
        at += header + len;
    }
    None
}
