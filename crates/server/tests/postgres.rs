//! `peercode serve --database-url`: the server keeps its history in PostgreSQL. Runs in a
//! fresh schema of the test database (`PEERCODE_TEST_DATABASE_URL`, by default the local
//! server that `scripts/setup` starts); fails, never skips, when PostgreSQL is unreachable.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use peercode_server::{Config, serve_on};
use peercode_store::{EventKind, PgStore, Store};
use tokio_util::sync::CancellationToken;

fn test_database_url() -> String {
    std::env::var("PEERCODE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into())
}

/// A schema of this test's own, dropped at the end.
struct Schema {
    base: String,
    name: String,
}

impl Schema {
    fn new() -> Schema {
        let base = test_database_url();
        if let Err(e) = postgres::Client::connect(&base, postgres::NoTls) {
            panic!("PostgreSQL is not reachable at {base}: {e:?}");
        }
        Schema {
            base,
            name: format!("peercode_server_test_{}", std::process::id()),
        }
    }

    fn url(&self) -> String {
        let separator = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{separator}schema={}", self.base, self.name)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.base, postgres::NoTls) {
            // Our own name (letters, digits, underscores).
            let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

fn joins(kinds: &[EventKind]) -> usize {
    kinds.iter().filter(|&&k| k == EventKind::Join).count()
}

struct Running {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start(url: &str, data_dir: &std::path::Path) -> Running {
    let dir = data_dir.to_str().expect("utf-8 temp dir");
    let config = Config::from_args(["--database-url", url, "--data-dir", dir]).expect("flags");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(serve_on(listener, config, shutdown.clone()));
    Running {
        addr,
        shutdown,
        task,
    }
}

impl Running {
    async fn stop(self) {
        self.shutdown.cancel();
        self.task
            .await
            .expect("server task")
            .expect("a clean shutdown");
    }
}

/// Join `room` with a WebSocket client and stay until the returned sender is dropped.
fn join(
    addr: SocketAddr,
    room: &str,
) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let url = format!("ws://{addr}/ws/{room}");
    let (leave, wait) = std::sync::mpsc::channel::<()>();
    let client = std::thread::spawn(move || {
        let (mut socket, _) = tungstenite::connect(url).expect("WebSocket connect");
        let _ = wait.recv();
        let _ = socket.close(None);
    });
    (leave, client)
}

/// Wait (bounded) until the room's stored history satisfies `done`; fails at once if the
/// server stops meanwhile.
async fn wait_for_history(
    server: &Running,
    url: &str,
    room: &str,
    done: impl Fn(u64, &[EventKind]) -> bool,
) {
    let url = url.to_string();
    let store = Arc::new(
        tokio::task::spawn_blocking(move || PgStore::open(&url).expect("open the server's schema"))
            .await
            .expect("open"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(!server.task.is_finished(), "the server stopped");
        let (reader, name) = (store.clone(), room.to_string());
        let (last, kinds) = tokio::task::spawn_blocking(move || {
            let last = reader.last_seq(&name).expect("last seq");
            let events = reader.events(&name, 0, u64::MAX).expect("events");
            (last, events.iter().map(|e| e.kind).collect::<Vec<_>>())
        })
        .await
        .expect("history check");
        if done(last, &kinds) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "history of {room}: last seq {last}, events {kinds:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn serve_keeps_history_in_postgresql_with_database_url() {
    // The schema is made and dropped outside the runtime: its blocking client may not
    // run inside one.
    let schema = Schema::new();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(serve_twice(schema.url()));
}

async fn serve_twice(url: String) {
    let data_dir = tempfile::tempdir().expect("temp dir");

    let server = start(&url, data_dir.path()).await;
    let (leave, client) = join(server.addr, "demo");
    // The new room's starting document (seq 1) and the join are committed in PostgreSQL.
    wait_for_history(&server, &url, "demo", |last, kinds| {
        last == 1 && joins(kinds) == 1
    })
    .await;
    drop(leave);
    client.join().expect("client");
    server.stop().await;
    assert!(
        !data_dir.path().join("peercode.db").exists(),
        "nothing went to SQLite"
    );

    // A new server on the same database loads the room instead of creating it again
    // (which would write a second seq 1 and fail).
    let server = start(&url, data_dir.path()).await;
    let (leave, client) = join(server.addr, "demo");
    wait_for_history(&server, &url, "demo", |last, kinds| {
        last == 1 && joins(kinds) == 2
    })
    .await;
    drop(leave);
    client.join().expect("client");
    server.stop().await;
}
