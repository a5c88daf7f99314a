//! The collaboration server as clients see it: sync, broadcast, presence, bad input,
//! durability across restarts and SIGKILL, and room unloading.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{Client, Server, wait_until};
use peercode_protocol::Message;
use tokio_tungstenite::tungstenite::Message as Ws;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn two_clients_converge_under_concurrent_edits() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let mut a = Client::join(&server.url("converge"), 1).await;
    let mut b = Client::join(&server.url("converge"), 2).await;
    for i in 0..50 {
        a.type_text(&format!("a{i};")).await;
        b.type_text(&format!("b{i};")).await;
    }
    // Each ends with all 100 pieces: its own 50 and the other's 50 (updates that queued
    // back to back may arrive merged, so the text is counted, not the messages).
    let total: usize = (0..50).map(|i| 2 * format!("a{i};").len()).sum();
    assert!(
        a.pump_until(|c| c.text().len() == total, WAIT).await,
        "a has {:?}",
        a.text()
    );
    assert!(
        b.pump_until(|c| c.text().len() == total, WAIT).await,
        "b has {:?}",
        b.text()
    );
    assert_eq!(a.text(), b.text());
    for i in 0..50 {
        assert!(a.text().contains(&format!("a{i};")) && a.text().contains(&format!("b{i};")));
    }
    // A latecomer gets the full text from the sync handshake alone.
    let c = Client::join(&server.url("converge"), 3).await;
    assert_eq!(c.text(), a.text());
}

#[tokio::test]
async fn new_room_starts_with_main_py() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let c = Client::join(&server.url("fresh"), 1).await;
    let files = c.doc.get_or_insert_map("files");
    let meta = c.doc.get_or_insert_map("meta");
    use yrs::{Map, Transact};
    let txn = c.doc.transact();
    assert!(files.contains_key(&txn, "main.py"));
    assert_eq!(
        meta.get(&txn, "language").map(|v| v.to_string(&txn)),
        Some("python".into())
    );
    assert_eq!(
        meta.get(&txn, "entry").map(|v| v.to_string(&txn)),
        Some("main.py".into())
    );
}

#[tokio::test]
async fn awareness_is_echoed_shared_and_removed_on_abrupt_disconnect() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let mut a = Client::join(&server.url("presence"), 11).await;
    let mut b = Client::join(&server.url("presence"), 22).await;
    a.set_awareness(r#"{"user":{"name":"Ada"}}"#).await;
    assert!(
        a.pump_until(|c| c.sees(11), WAIT).await,
        "sender gets its own awareness echoed"
    );
    assert!(
        b.pump_until(|c| c.sees(11), WAIT).await,
        "other client sees the state"
    );
    // A third client joining later is told about everyone present.
    let mut late = Client::join(&server.url("presence"), 33).await;
    assert!(late.pump_until(|c| c.sees(11), WAIT).await);

    a.abort();
    assert!(
        b.pump_until(|c| !c.sees(11), WAIT).await,
        "state removed after abrupt disconnect"
    );
    assert!(late.pump_until(|c| !c.sees(11), WAIT).await);
}

#[tokio::test]
async fn a_silent_peer_is_dropped_by_the_ping_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &["--ping-interval-ms", "100", "--ping-timeout-ms", "600"],
    );
    let mut silent = Client::join(&server.url("ping"), 5).await;
    silent.set_awareness(r#"{"user":{"name":"Zed"}}"#).await;
    let mut watcher = Client::join(&server.url("ping"), 6).await;
    assert!(watcher.pump_until(|c| c.sees(5), WAIT).await);
    // `silent` never reads again, so it never answers a ping; the watcher keeps reading
    // (answering pings) and must see the silent one disappear.
    assert!(
        watcher.pump_until(|c| !c.sees(5), WAIT).await,
        "dead peer dropped"
    );
    assert!(watcher.closed.is_none(), "a live peer stays connected");
    drop(silent);
}

#[tokio::test]
async fn invalid_room_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    for name in ["..", "bad%20name", &"x".repeat(200)] {
        let err = tokio_tungstenite::connect_async(server.url(name))
            .await
            .expect_err(name);
        assert!(err.to_string().contains("400"), "{name}: {err}");
    }
    // The slash makes it another route altogether.
    assert!(
        tokio_tungstenite::connect_async(server.url("a/b"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn oversized_and_malformed_frames_close_only_that_connection() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--max-message-bytes", "4096"]);
    let url = server.url("hostile");
    let mut good = Client::join(&url, 1).await;

    let mut big = Client::join(&url, 2).await;
    big.send_raw(Message::Update(Bytes::from(vec![7u8; 10_000])).encode())
        .await;
    assert!(big.pump_until(|c| c.closed.is_some(), WAIT).await);
    let (code, reason) = big.closed.clone().unwrap();
    assert_eq!(code, 1009, "{reason}");

    let hostile: [&[u8]; 5] = [
        &[0, 2, 9, 1],
        &[0, 2, 3, 1, 2, 3],
        &[42],
        &[],
        &[1, 3, 255, 255, 255],
    ];
    for frame in hostile {
        let mut bad = Client::join(&url, 3).await;
        bad.send_raw(Bytes::copy_from_slice(frame)).await;
        assert!(
            bad.pump_until(|c| c.closed.is_some(), WAIT).await,
            "{frame:?}"
        );
        assert_eq!(bad.closed.clone().unwrap().0, 1007, "{frame:?}");
    }
    let mut text = Client::join(&url, 4).await;
    assert!(text.send_frame(Ws::Text("hello".into())).await);
    assert!(text.pump_until(|c| c.closed.is_some(), WAIT).await);
    assert_eq!(text.closed.clone().unwrap().0, 1003);

    // The room carries on for everyone else.
    good.type_text("still here").await;
    assert!(
        good.pump_until(
            |c| c.text() == "still here" && c.updates_received == 1,
            WAIT
        )
        .await
    );
    let late = Client::join(&url, 5).await;
    assert_eq!(late.text(), "still here");
    assert_eq!(server.get("/healthz").await.0, 200);
    assert!(server.metric("peercode_rejected_connections_total").await >= 7.0);
}

#[tokio::test]
async fn document_size_limit_closes_the_writer_and_keeps_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--max-document-bytes", "2000"]);
    let url = server.url("limit");
    let mut writer = Client::join(&url, 1).await;
    writer.type_text(&"a".repeat(500)).await;
    writer.type_text(&"b".repeat(3000)).await;
    assert!(writer.pump_until(|c| c.closed.is_some(), WAIT).await);
    assert_eq!(writer.closed.clone().unwrap().0, 1009);
    let reader = Client::join(&url, 2).await;
    assert_eq!(reader.text(), "a".repeat(500));
}

#[tokio::test]
async fn restart_keeps_the_text() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::spawn(dir.path(), &["--snapshot-every", "7"]);
    let mut a = Client::join(&server.url("durable"), 1).await;
    for i in 0..20 {
        a.type_text(&format!("{i},")).await;
    }
    a.committed().await;
    let expected = a.text();
    assert!(server.stop(), "clean exit on SIGTERM");

    let server = Server::spawn(dir.path(), &[]);
    let b = Client::join(&server.url("durable"), 2).await;
    assert_eq!(b.text(), expected);
}

#[tokio::test]
async fn sigkill_loses_nothing_a_client_received() {
    let dir = tempfile::tempdir().unwrap();
    // Commits wait 100 ms to batch, so at the kill many accepted updates are not yet
    // durable: a server that broadcast before committing would hand them to the observer.
    let mut server = Server::spawn(
        dir.path(),
        &["--snapshot-every", "50", "--commit-window-us", "100000"],
    );
    let url = server.url("crash");
    let mut observer = Client::join(&url, 2).await;
    let mut writer = Client::join(&url, 1).await;
    let typing = tokio::spawn(async move {
        for i in 0.. {
            if !writer.try_type_text(&format!("<{i}>")).await {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    assert!(
        observer
            .pump_until(|c| c.text().matches('<').count() >= 20, WAIT)
            .await
    );
    server.kill();
    observer.drain(Duration::from_millis(300)).await;
    let _ = typing.await;
    let seen = observer.state_vector();
    let seen_text = observer.text();
    assert!(seen_text.matches('<').count() >= 20);

    let server = Server::spawn(dir.path(), &[]);
    let after = Client::join(&server.url("crash"), 3).await;
    let after_sv = after.state_vector();
    for (client, clock) in seen.iter() {
        assert!(
            after_sv.get(client) >= *clock,
            "client {client}: observer had {clock}, store has {}",
            after_sv.get(client)
        );
    }
    assert!(
        after.text().starts_with(&seen_text),
        "observer saw {seen_text:?}, store has {:?}",
        after.text()
    );
}

#[tokio::test]
async fn an_update_that_fails_half_way_reloads_the_room_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let url = server.url("halfway");
    let mut good = Client::join(&url, 1).await;
    good.type_text("keep").await;
    assert!(good.pump_until(|c| c.updates_received == 1, WAIT).await);
    // Item (7,0) "hi" in root "t", then an item whose parent is that string item:
    // the first part integrates, the second fails.
    let update: &[u8] = &[
        1, 2, 7, 0, 4, 1, 1, b't', 2, b'h', b'i', 4, 0, 7, 0, 1, b'x', 0,
    ];
    let mut bad = Client::join(&url, 9).await;
    bad.send(Message::Update(Bytes::copy_from_slice(update)))
        .await;
    assert!(
        good.pump_until(|c| c.closed.is_some(), WAIT).await,
        "room reset"
    );
    assert_eq!(good.closed.clone().unwrap().0, 1011);
    let again = Client::join(&url, 3).await;
    assert_eq!(
        again.text(),
        "keep",
        "nothing of the refused update is served"
    );
}

#[tokio::test]
async fn idle_rooms_unload_and_reload_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--room-idle-ms", "200"]);
    let mut a = Client::join(&server.url("idle"), 1).await;
    a.type_text("remember me").await;
    assert!(a.pump_until(|c| c.updates_received == 1, WAIT).await);
    assert_eq!(server.metric("peercode_rooms_loaded").await, 1.0);
    drop(a);
    let mut unloaded = false;
    for _ in 0..100 {
        if server.metric("peercode_rooms_loaded").await == 0.0 {
            unloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(unloaded, "room unloaded after the grace period");
    let b = Client::join(&server.url("idle"), 2).await;
    assert_eq!(b.text(), "remember me");
    assert_eq!(server.metric("peercode_rooms_loaded").await, 1.0);
}

#[tokio::test]
async fn a_client_that_stops_reading_is_disconnected_and_the_room_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            "--send-buffer-bytes",
            "2000000",
            "--max-message-bytes",
            "1048576",
        ],
    );
    let url = server.url("slow");
    let mut stuck = Client::join(&url, 1).await;
    let mut writer = Client::join(&url, 2).await;
    // 12 MB in all: more than the stuck client's socket buffers plus its 2 MB budget.
    // The writer reads each echo before sending on, so it never falls behind itself.
    let chunk = "x".repeat(200_000);
    for i in 1..=60 {
        writer.type_text(&chunk).await;
        assert!(
            writer.pump_until(|c| c.updates_received == i, WAIT).await,
            "echo {i}"
        );
    }
    assert!(writer.closed.is_none());
    assert!(server.metric("peercode_slow_connections_total").await >= 1.0);
    // The stuck client's connection is gone although it still reads nothing.
    let mut dropped = false;
    for _ in 0..100 {
        if server.metric("peercode_connections").await == 1.0 {
            dropped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        dropped,
        "the server let go of a client that stopped reading"
    );
    // When it finally reads, it finds itself disconnected.
    assert!(
        stuck
            .pump_until(|c| c.closed.is_some(), Duration::from_secs(30))
            .await
    );
}

#[tokio::test]
async fn health_and_metrics_answer() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let (status, body) = server.get("/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let mut a = Client::join(&server.url("m"), 1).await;
    a.type_text("hi").await;
    assert!(a.pump_until(|c| c.updates_received == 1, WAIT).await);
    let (_, metrics) = server.get("/metrics").await;
    for name in [
        "peercode_connections 1",
        "peercode_updates_in_total 1",
        "peercode_updates_out_total 1",
        // The room's creation (an empty main.py) and the update.
        "peercode_persist_latency_seconds_count 2",
    ] {
        assert!(metrics.contains(name), "{name} in\n{metrics}");
    }
}

/// `/metrics` checked by Prometheus's own parser and linter (`promtool`, Debian package
/// `prometheus`, installed by scripts/setup).
#[tokio::test]
async fn metrics_are_valid_prometheus_text() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let mut a = Client::join(&server.url("prom"), 1).await;
    a.set_awareness(r#"{"user":{"name":"Ada"}}"#).await;
    a.type_text("hi").await;
    assert!(a.pump_until(|c| c.updates_received == 1, WAIT).await);
    let (status, body) = server.get("/metrics").await;
    assert_eq!(status, 200);
    common::promtool_accepts(&body);
}

#[tokio::test]
async fn keystrokes_that_reach_the_server_back_to_back_lose_nothing() {
    use peercode_store::{Durability, SqliteStore, Store};
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::spawn(dir.path(), &["--ws-messages-per-second", "0"]);
    let url = server.url("burst");
    let mut writer = Client::join(&url, 21).await;
    let mut observer = Client::join(&url, 22).await;
    // 3000 keystrokes in one write: the room finds many of them queued at once, applies
    // them together and may send and store them merged.
    let keys: Vec<String> = (0..3000)
        .map(|i| ((b'a' + (i % 26) as u8) as char).to_string())
        .collect();
    writer.append_file_burst("main.py", &keys).await;
    let text = keys.concat();
    let main_py = |c: &Client| c.file_text("main.py").as_deref() == Some(text.as_str());
    assert!(
        observer.pump_until(main_py, WAIT).await,
        "the observer has every keystroke"
    );
    writer.committed().await;
    assert!(main_py(&writer));
    assert!(
        observer.updates_received <= keys.len(),
        "never more messages than keystrokes"
    );
    assert_eq!(
        server.metric("peercode_updates_in_total").await,
        keys.len() as f64,
        "every keystroke counted"
    );
    assert!(main_py(&Client::join(&url, 23).await), "a latecomer has it");
    assert!(server.stop());

    // The history holds all of it, credited to the writer, and rebuilds the same text.
    let store = SqliteStore::open(dir.path(), Durability::Process).unwrap();
    let updates = store.updates("burst", 2, u64::MAX).unwrap();
    assert!(!updates.is_empty() && updates.len() <= keys.len());
    assert!(updates.iter().all(|u| &*u.author == "yjs:21"));
    drop(store);
    let server = Server::spawn(dir.path(), &[]);
    let again = Client::join(&server.url("burst"), 24).await;
    assert!(main_py(&again), "rebuilt from the history");
}

#[tokio::test]
async fn history_records_updates_with_time_and_author_and_room_events() {
    use peercode_store::{Durability, EventKind, SqliteStore, Store};
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[]);
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut a = Client::join(&server.url("history"), 4242).await;
    a.set_awareness(r#"{"user":{"name":"Ada"}}"#).await;
    // Typed apart, as people type: each keystroke its own update in the history.
    a.type_text("x").await;
    a.committed().await;
    a.type_text("y").await;
    a.committed().await;
    drop(a);
    // The leave is recorded once the server notices the closed socket.
    let store = SqliteStore::open(dir.path(), Durability::Process).unwrap();
    let left = || {
        store
            .events("history", 0, u64::MAX)
            .is_ok_and(|events| events.iter().any(|e| e.kind == EventKind::Leave))
    };
    assert!(wait_until(left, WAIT).await, "the leave was recorded");
    assert!(server.stop());

    let updates = store.updates("history", 1, u64::MAX).unwrap();
    let seqs: Vec<u64> = updates.iter().map(|u| u.seq).collect();
    assert_eq!(seqs, [1, 2, 3], "room creation, then the two keystrokes");
    assert_eq!(updates[0].author, "server");
    assert_eq!(updates[1].author, "yjs:4242");
    assert!(
        updates
            .iter()
            .all(|u| u.ts_ms >= before - 1000 && u.ts_ms <= before + 60_000)
    );
    let kinds: Vec<EventKind> = store
        .events("history", 0, u64::MAX)
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [EventKind::Join, EventKind::Presence, EventKind::Leave]
    );
    let events = store.events("history", 0, u64::MAX).unwrap();
    assert_eq!(events[0].seq, 1, "joined after the room was created");
    assert_eq!(events[2].seq, 3, "left after both keystrokes");
    // Presence, join and leave name the connection; its presence names its Yjs client.
    assert!(
        events[0].author.starts_with("conn:"),
        "{}",
        events[0].author
    );
    assert_eq!(events[2].author, events[0].author);
    let announced = peercode_protocol::decode_awareness(&events[1].data).unwrap();
    assert_eq!(announced[0].client_id, 4242);
}

#[tokio::test]
async fn a_deeply_nested_update_is_refused_and_the_server_lives() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let url = server.url("deep");
    let mut good = Client::join(&url, 1).await;
    // One item whose content is an array nested 100,000 deep (200 KB): decoding it
    // recursively would overflow the stack and abort the process.
    let mut update = vec![1, 1, 9, 0, 8, 1, 1, b't', 1];
    for _ in 0..100_000 {
        update.extend_from_slice(&[117, 1]);
    }
    update.extend_from_slice(&[126, 0]);
    let mut bad = Client::join(&url, 9).await;
    bad.send(Message::Update(update.into())).await;
    assert!(bad.pump_until(|c| c.closed.is_some(), WAIT).await);
    assert_eq!(bad.closed.clone().unwrap().0, 1007);
    good.type_text("alive").await;
    assert!(good.pump_until(|c| c.text() == "alive", WAIT).await);
    assert_eq!(server.get("/healthz").await.0, 200);
}
