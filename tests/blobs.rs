//! Blob storage (`--blob-url`) through the real binary and a real S3 (moto's server,
//! started by each test on a free port): a room's old keyframes move out of the store and
//! every moment replays as before; recordings exported to S3 read back byte for byte as
//! `peercode replay export` writes them; who may export and download; `/healthz` sees the
//! blob store.

// Helpers outside the #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::moto::{Moto, S3_ENV, S3_OPTIONS};
use common::{Client, Cred, Server, wait_until};
use peercode_store::blobs::{recordings_prefix, room_prefix};
use peercode_store::{BlobStore, Durability, PgStore, SqliteStore, Store};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// `client` appends `text` to main.py and waits until the server has committed it; the
/// moment just after, with the clock let past it.
async fn step(client: &mut Client, text: &str) -> i64 {
    let expected = format!("{}{text}", client.file_text("main.py").unwrap_or_default());
    client.append_file("main.py", text).await;
    client.committed().await;
    assert_eq!(client.file_text("main.py"), Some(expected));
    let t = now_ms();
    assert!(wait_until(|| now_ms() > t, WAIT).await);
    t
}

/// The whole document at each moment, as replay gives it.
async fn states(server: &Server, room: &str, moments: &[i64]) -> Vec<Value> {
    let mut out = Vec::new();
    for t in moments {
        let (status, state) = server
            .get_json(&format!(
                "/api/rooms/{room}/state?at={t}&include=update,runs"
            ))
            .await;
        assert_eq!(status, 200, "{state}");
        out.push(state);
    }
    out
}

/// The number a metric reaches within `WAIT` (polled), or the last value seen.
async fn wait_for_metric(server: &Server, name: &str, want: f64) -> f64 {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let value = server.metric(name).await;
        if value == want || tokio::time::Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Record a session with keyframes every 3 updates, without blob storage; restart with
/// `blob_url` and the keyframe mover; wait until it has moved every keyframe but the
/// newest; check every moment replays the same and the blobs are there.
async fn old_keyframes_move_and_replay_as_before(
    blob_url: &str,
    env: &[(&str, &str)],
    database: Option<&PgSchema>,
) {
    let dir = tempfile::tempdir().unwrap();
    let room = "moving";
    let db_flags: Vec<String> = match database {
        Some(schema) => vec!["--database-url".into(), schema.url()],
        None => Vec::new(),
    };
    let db_flags: Vec<&str> = db_flags.iter().map(String::as_str).collect();
    let mut flags = vec!["--snapshot-every", "3"];
    flags.extend(&db_flags);
    let mut server = Server::spawn(dir.path(), &flags);
    let mut client = Client::join(&server.url(room), 5).await;
    let mut moments = vec![now_ms() - 60_000];
    for i in 0..16 {
        moments.push(step(&mut client, &format!("line_{i} = {i}\n")).await);
    }
    client.abort();
    let before = states(&server, room, &moments).await;
    assert!(server.stop(), "a clean stop");

    // What the mover has to do: every keyframe but the newest.
    let (path, url) = (dir.path().to_owned(), database.map(PgSchema::url));
    let to_move = tokio::task::spawn_blocking(move || {
        let store: Box<dyn Store> = match url {
            Some(url) => Box::new(PgStore::open(&url).unwrap()),
            None => Box::new(SqliteStore::open(&path, Durability::Process).unwrap()),
        };
        let to_move = store.snapshots_to_move(1, None, 1000).unwrap().len();
        store.close().unwrap();
        to_move
    })
    .await
    .unwrap();
    assert!(to_move >= 4, "only {to_move} keyframes to move");

    let mut flags = vec![
        "--blob-url",
        blob_url,
        "--blob-keep-snapshots",
        "1",
        "--blob-move-every-ms",
        "20",
    ];
    flags.extend(&db_flags);
    let server = Server::spawn_env(dir.path(), &flags, env);
    let moved = wait_for_metric(
        &server,
        "peercode_blob_snapshots_moved_total",
        to_move as f64,
    )
    .await;
    assert_eq!(moved, to_move as f64, "the mover moved every old keyframe");
    assert_eq!(
        server
            .metric("peercode_blob_snapshot_move_failures_total")
            .await,
        0.0
    );
    assert_eq!(
        states(&server, room, &moments).await,
        before,
        "every moment replays as before the move"
    );
    let blobs = BlobStore::open_with(blob_url, S3_OPTIONS).unwrap();
    let stored = tokio::task::spawn_blocking(move || blobs.list(&room_prefix(room), 1000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.len(), to_move);
}

#[tokio::test]
async fn old_keyframes_move_to_s3_and_every_moment_replays_as_before() {
    let moto = Moto::start();
    old_keyframes_move_and_replay_as_before(&moto.bucket(), S3_ENV, None).await;
}

#[tokio::test]
async fn old_keyframes_move_to_a_directory_and_every_moment_replays_as_before() {
    let blobs = tempfile::tempdir().unwrap();
    let url = format!("file://{}", blobs.path().display());
    old_keyframes_move_and_replay_as_before(&url, &[], None).await;
}

#[tokio::test]
async fn old_keyframes_move_from_postgresql_to_s3_and_every_moment_replays_as_before() {
    let moto = Moto::start();
    let schema = PgSchema::new();
    old_keyframes_move_and_replay_as_before(&moto.bucket(), S3_ENV, Some(&schema)).await;
}

/// A schema of this test's own in the test database (`PEERCODE_TEST_DATABASE_URL`),
/// dropped at the end; fails, never skips, when PostgreSQL is unreachable.
struct PgSchema {
    base: String,
    name: String,
}

impl PgSchema {
    fn new() -> PgSchema {
        let base = std::env::var("PEERCODE_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into());
        let name = format!("peercode_blobs_test_{}", std::process::id());
        let schema = PgSchema { base, name };
        schema.admin(|_| ());
        schema
    }

    fn url(&self) -> String {
        let separator = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{separator}schema={}", self.base, self.name)
    }

    /// `f` with a plain connection, on a thread of its own (the driver's runtime may not
    /// start inside the test's).
    fn admin(&self, f: impl FnOnce(&mut postgres::Client) + Send + 'static) {
        let base = self.base.clone();
        std::thread::spawn(move || {
            let mut admin = postgres::Client::connect(&base, postgres::NoTls)
                .unwrap_or_else(|e| panic!("PostgreSQL is not reachable at {base}: {e:?}"));
            f(&mut admin);
        })
        .join()
        .unwrap();
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        // Our own name (letters, digits, underscores).
        let drop_it = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        self.admin(move |admin| {
            let _ = admin.batch_execute(&drop_it);
        });
    }
}

fn peercode(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_peercode"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run peercode")
}

async fn download(server: &Server, room: &str, name: &str, cred: &Cred) -> (u16, Vec<u8>) {
    let mut request = reqwest::Client::new().get(format!(
        "http://{}/api/rooms/{room}/recordings/{name}",
        server.addr
    ));
    if let Some(cookie) = &cred.cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

fn blob_keys(url: &str, prefix: String) -> Vec<String> {
    let blobs = Arc::new(BlobStore::open_with(url, S3_OPTIONS).unwrap());
    std::thread::spawn(move || blobs.list(&prefix, 1000).unwrap())
        .join()
        .unwrap()
        .into_iter()
        .map(|b| b.key)
        .collect()
}

fn cli_export(dir: &Path, room: &str) -> Vec<u8> {
    let out = dir.join("cli.peercode");
    let export = peercode(
        &[
            "replay",
            "export",
            room,
            "-o",
            out.to_str().unwrap(),
            "--data-dir",
            dir.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    std::fs::read(out).unwrap()
}

#[tokio::test]
async fn a_recording_exported_to_s3_reads_back_as_the_cli_exports_it() {
    let moto = Moto::start();
    let url = moto.bucket();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::spawn_env(
        dir.path(),
        &["--blob-url", &url, "--room-idle-ms", "50"],
        S3_ENV,
    );
    let owner = server.signup("ada", "correct horse").await;
    let created = server
        .call(
            "POST",
            "/api/rooms",
            &owner,
            Some(json!({"visibility": "private"})),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let room = created.body["room"].as_str().unwrap().to_owned();
    let mut client = Client::join_as(
        &server.ws_url(&room, &Cred::default()),
        9,
        owner.cookie.as_deref(),
    )
    .await
    .unwrap();
    for line in ["a = 1\n", "b = 2\n", "print(a + b)\n"] {
        step(&mut client, line).await;
    }
    client.abort();
    // Once the room has unloaded nothing more is recorded for it.
    assert_eq!(
        wait_for_metric(&server, "peercode_rooms_loaded", 0.0).await,
        0.0
    );

    // A stranger cannot tell the private room exists.
    let stranger = Cred::default();
    let path = format!("/api/rooms/{room}/recordings");
    for (method, path) in [("POST", path.clone()), ("GET", path.clone())] {
        let reply = server.call(method, &path, &stranger, None).await;
        assert_eq!(reply.status, 404, "{method} {path}: {:?}", reply.body);
    }
    let other = server.signup("bob", "correct horse").await;
    assert_eq!(server.call("GET", &path, &other, None).await.status, 404);

    let exported = server.call("POST", &path, &owner, None).await;
    assert_eq!(exported.status, 201, "{:?}", exported.body);
    let name = exported.body["name"].as_str().unwrap().to_owned();
    assert!(
        exported.body["updates"].as_u64().unwrap() >= 3,
        "{:?}",
        exported.body
    );
    let (status, from_s3) = download(&server, &room, &name, &owner).await;
    assert_eq!(status, 200);
    assert_eq!(exported.body["bytes"].as_u64(), Some(from_s3.len() as u64));
    let from_cli = cli_export(dir.path(), &room);
    assert_eq!(
        String::from_utf8(from_s3).unwrap(),
        String::from_utf8(from_cli.clone()).unwrap(),
        "the file in S3 is what `peercode replay export` writes"
    );
    assert_eq!(download(&server, &room, &name, &other).await.0, 404);
    assert_eq!(download(&server, &room, &name, &stranger).await.0, 404);

    // The CLI writes into the same place.
    let to_blobs = peercode(
        &[
            "replay",
            "export",
            &room,
            "--to-blobs",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--blob-url",
            &url,
        ],
        S3_ENV,
    );
    assert!(
        to_blobs.status.success(),
        "{}",
        String::from_utf8_lossy(&to_blobs.stderr)
    );
    let cli_name = String::from_utf8(to_blobs.stdout)
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(
        download(&server, &room, &cli_name, &owner).await.1,
        from_cli
    );
    let listed = server.call("GET", &path, &owner, None).await;
    assert_eq!(listed.status, 200);
    let names: Vec<&str> = listed.body["recordings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&name.as_str()) && names.contains(&cli_name.as_str()));

    // Names that are not a recording's, or reach elsewhere: nothing.
    for bad in [
        "nope.ndjson",
        "..%2F..%2Fsnapshots%2Fx.ndjson",
        "%2E%2E.ndjson",
        "x.json",
    ] {
        assert_eq!(download(&server, &room, bad, &owner).await.0, 404, "{bad}");
    }

    // Deleting the room deletes its recordings.
    assert_eq!(blob_keys(&url, recordings_prefix(&room)).len(), 2);
    let deleted = server
        .call("DELETE", &format!("/api/rooms/{room}"), &owner, None)
        .await;
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);
    assert!(blob_keys(&url, room_prefix(&room)).is_empty());
}

#[tokio::test]
async fn without_blob_storage_there_are_no_recordings_to_export() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let mut client = Client::join(&server.url("plain"), 3).await;
    step(&mut client, "x = 1\n").await;
    let (status, body) = server.post("/api/rooms/plain/recordings", json!({})).await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error"].as_str().unwrap().contains("--blob-url"));
}

#[tokio::test]
async fn healthz_reports_blob_storage() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::spawn_env(dir.path(), &["--blob-url", &moto.bucket()], S3_ENV);
    assert_eq!(
        server.get("/healthz").await,
        (200, "ok\nstore: ok\nblobs: ok\n".to_owned())
    );
    drop(server);
    let dir = tempfile::tempdir().unwrap();
    let server = Server::spawn_env(
        dir.path(),
        &["--blob-url", &moto.url("no-such-bucket")],
        S3_ENV,
    );
    let (status, body) = server.get("/healthz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("blob storage"), "{body}");
}
