//! Remote sandbox workers (`--runner queue`, `peercode worker`) with the real components:
//! a Redis of each test's own (AOF on, free port), the server, and `peercode worker`
//! processes that a test can SIGKILL. Runs are started over HTTP and watched as a stock
//! y-websocket client in the room sees them.
//!
//! Needs the sandbox, so root (as CI runs), and `redis-server`.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::redis::RedisServer;
use common::worker::Worker;
use common::{Client, Server};
use serde_json::json;

/// Runs include starting Python in a sandbox on a busy 2-core machine.
const WAIT: Duration = Duration::from_secs(60);

/// A stream entry as `XRANGE` gives it: id, field/value pairs.
type StreamEntry = (String, Vec<(String, Vec<u8>)>);

fn queue_flags<'a>(redis: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut flags = vec!["--runner", "queue", "--redis-url", redis];
    flags.extend_from_slice(extra);
    flags
}

async fn start_run(server: &Server, room: &str) -> (String, String) {
    let (status, answer) = server
        .post(&format!("/api/rooms/{room}/runs"), json!({}))
        .await;
    assert_eq!(status, 202, "{answer}");
    (
        answer["id"].as_str().expect("a run id").to_owned(),
        answer["status"].as_str().expect("a status").to_owned(),
    )
}

fn done(c: &Client, id: &str) -> bool {
    c.run_field(id, "status") == "done"
}

/// A client in `room` whose `main.py` is `code`.
async fn room_with(server: &Server, room: &str, code: &str) -> Client {
    let mut a = Client::join(&server.url(room), 1).await;
    a.set_file("main.py", code).await;
    assert!(a.pump_until(|c| c.updates_received >= 1, WAIT).await);
    a
}

/// Replace `main.py` and wait until the server holds it (a fresh client sees it).
async fn set_main(server: &Server, room: &str, c: &mut Client, code: &str) {
    c.set_file("main.py", code).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let fresh = Client::join(&server.url(room), 99).await;
        if fresh.file_text("main.py").as_deref() == Some(code) {
            return;
        }
        assert!(Instant::now() < deadline, "the server never got the edit");
        c.drain(Duration::from_millis(20)).await;
    }
}

fn redis_conn(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .expect("connect to the test's redis")
}

/// The `k` fields of a run's stream entries, with the worker names of `start` entries.
fn run_stream(url: &str, id: &str) -> Vec<(String, Vec<u8>)> {
    let entries: Vec<StreamEntry> = redis::cmd("XRANGE")
        .arg(format!("peercode:q:run:{id}"))
        .arg("-")
        .arg("+")
        .query(&mut redis_conn(url))
        .expect("XRANGE");
    entries
        .into_iter()
        .map(|(_, fields)| {
            let get = |name: &str| {
                fields
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            (String::from_utf8_lossy(&get("k")).into_owned(), get("v"))
        })
        .collect()
}

#[tokio::test]
async fn a_run_from_a_room_is_executed_by_a_worker_and_reaches_everyone() {
    let mut redis = RedisServer::start();
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &queue_flags(&url, &[]));
    let _worker = Worker::spawn(&url, 1);
    let mut alice = room_with(
        &server,
        "queued",
        "import sys\nprint('hello', sys.stdin.read().strip())\nsys.stderr.write('e\\n')\n",
    )
    .await;
    let (status, answer) = server
        .post(
            "/api/rooms/queued/runs",
            json!({"stdin": "world", "name": "Ada"}),
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["status"], "queued");
    let id = answer["id"].as_str().expect("id").to_owned();
    assert!(
        alice.pump_until(|c| done(c, &id), WAIT).await,
        "run finished"
    );
    assert_eq!(alice.run_field(&id, "stdout"), "hello world\n");
    assert_eq!(alice.run_field(&id, "stderr"), "e\n");
    assert_eq!(alice.run_field(&id, "verdict"), "ok");
    assert_eq!(alice.run_field(&id, "exit_code"), 0);
    assert_eq!(alice.run_field(&id, "started_by"), "Ada");
    assert!(alice.run_field(&id, "wall_ms").as_i64().is_some());
    // A late joiner gets it from the sync; the HTTP view agrees.
    let late = Client::join(&server.url("queued"), 2).await;
    assert_eq!(late.run_field(&id, "stdout"), "hello world\n");
    let (status, run) = server
        .get_json(&format!("/api/rooms/queued/runs/{id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (run["verdict"].as_str(), run["status"].as_str()),
        (Some("ok"), Some("done"))
    );
    // The run's stream holds it all, from the start, for any reader: started, output, end.
    let kinds: Vec<String> = run_stream(&url, &id).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        kinds.first().map(String::as_str),
        Some("start"),
        "{kinds:?}"
    );
    assert_eq!(kinds.last().map(String::as_str), Some("end"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "out"), "{kinds:?}");
    // ... and expires.
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!("peercode:q:run:{id}"))
        .query(&mut redis_conn(&url))
        .expect("TTL");
    assert!(ttl > 0 && ttl <= 600, "ttl {ttl}");
    // Health reports the Redis round trip; metrics the queue's depth.
    let (status, health) = server.get("/healthz").await;
    assert_eq!(status, 200);
    assert!(
        health.starts_with("ok\nstore: ok\nqueue: ok (redis round trip "),
        "{health}"
    );
    assert_eq!(server.metric("peercode_queue_waiting").await, 0.0);
    assert_eq!(server.metric("peercode_queue_running").await, 0.0);
    common::promtool_accepts(&server.get("/metrics").await.1);
    // Without Redis the health check says so, metrics still answer and a run is refused.
    redis.kill();
    let (status, health) = server.get("/healthz").await;
    assert_eq!(status, 503, "{health}");
    assert!(health.contains("Redis"), "{health}");
    assert_eq!(server.get("/metrics").await.0, 200);
    let (status, body) = server.post("/api/rooms/queued/runs", json!({})).await;
    assert_eq!(status, 503, "{body}");
}

#[tokio::test]
async fn a_run_survives_redis_restarting_from_its_aof_mid_run() {
    let mut redis = RedisServer::start();
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &queue_flags(&url, &[]));
    let _worker = Worker::spawn(&url, 1);
    let mut a = room_with(
        &server,
        "restart-redis",
        "import time\nprint('before', flush=True)\ntime.sleep(2)\nprint('after')\n",
    )
    .await;
    let (id, _) = start_run(&server, "restart-redis").await;
    assert!(
        a.pump_until(|c| c.run_field(&id, "stdout") == "before\n", WAIT)
            .await
    );
    redis.restart();
    assert!(a.pump_until(|c| done(c, &id), WAIT).await);
    assert_eq!(
        a.run_field(&id, "verdict"),
        "ok",
        "{}",
        a.run_field(&id, "message")
    );
    assert_eq!(a.run_field(&id, "stdout"), "before\nafter\n");
    // And the next run works.
    let (next, _) = start_run(&server, "restart-redis").await;
    assert!(a.pump_until(|c| done(c, &next), WAIT).await);
    assert_eq!(a.run_field(&next, "verdict"), "ok");
}

#[tokio::test]
async fn two_workers_run_each_job_exactly_once() {
    let redis = RedisServer::start();
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &queue_flags(&url, &[]));
    let workers = [Worker::spawn(&url, 1), Worker::spawn(&url, 1)];
    let mut runs = Vec::new();
    for i in 0..6 {
        let room = format!("many-{i}");
        let code = format!("import time\ntime.sleep(0.5)\nprint('run {i}')\n");
        let client = room_with(&server, &room, &code).await;
        let (id, _) = start_run(&server, &room).await;
        runs.push((i, client, id));
    }
    let mut by = std::collections::HashSet::new();
    for (i, client, id) in &mut runs {
        assert!(client.pump_until(|c| done(c, id), WAIT).await, "run {i}");
        assert_eq!(client.run_field(id, "verdict"), "ok");
        assert_eq!(client.run_field(id, "stdout"), format!("run {i}\n"));
        let stream = run_stream(&url, id);
        let starts: Vec<&Vec<u8>> = stream
            .iter()
            .filter(|(k, _)| k == "start")
            .map(|(_, v)| v)
            .collect();
        let ends = stream.iter().filter(|(k, _)| k == "end").count();
        assert_eq!((starts.len(), ends), (1, 1), "run {i}: {stream:?}");
        let worker = workers
            .iter()
            .find(|w| {
                starts[0]
                    .windows(w.name.len())
                    .any(|s| s == w.name.as_bytes())
            })
            .expect("started by one of the workers");
        by.insert(worker.name.clone());
    }
    assert_eq!(by.len(), 2, "both workers took jobs");
    // Nothing is left to hand out again: no job waits, none is pending with a worker, and
    // each run still has its one start.
    let mut conn = redis_conn(&url);
    let waiting: u64 = redis::cmd("XLEN")
        .arg("peercode:q:jobs")
        .query(&mut conn)
        .expect("XLEN");
    let (pending, ..): (u64, redis::Value, redis::Value, redis::Value) = redis::cmd("XPENDING")
        .arg("peercode:q:jobs")
        .arg("workers")
        .query(&mut conn)
        .expect("XPENDING");
    assert_eq!((waiting, pending), (0, 0));
    for (i, _, id) in &runs {
        let starts = run_stream(&url, id)
            .iter()
            .filter(|(k, _)| k == "start")
            .count();
        assert_eq!(starts, 1, "run {i}");
    }
}

#[tokio::test]
async fn stop_reaches_a_running_job_and_ends_a_waiting_one() {
    let redis = RedisServer::start();
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &queue_flags(&url, &[]));
    let _worker = Worker::spawn(&url, 1);
    let mut a = room_with(
        &server,
        "stop",
        "import time\nprint('started', flush=True)\ntime.sleep(30)\n",
    )
    .await;
    let (id, _) = start_run(&server, "stop").await;
    assert!(
        a.pump_until(|c| c.run_field(&id, "stdout") == "started\n", WAIT)
            .await
    );
    assert_eq!(a.run_field(&id, "status"), "running");
    let (status, _) = server.post("/api/rooms/stop/runs", json!({})).await;
    assert_eq!(status, 409, "one run at a time, queued or not");
    let asked = Instant::now();
    let (status, _) = server
        .post(&format!("/api/rooms/stop/runs/{id}/stop"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert!(a.pump_until(|c| done(c, &id), WAIT).await);
    assert_eq!(a.run_field(&id, "verdict"), "cancelled");
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "stopped in {:?}",
        asked.elapsed()
    );

    // A run that waits (the only worker is busy) ends at once when stopped, and is never
    // started afterwards.
    let mut b = room_with(&server, "busy", "import time\ntime.sleep(30)\n").await;
    let (long, _) = start_run(&server, "busy").await;
    assert!(
        b.pump_until(|c| c.run_field(&long, "status") == "running", WAIT)
            .await
    );
    let mut c = room_with(&server, "waits", "print('never')\n").await;
    let (waiting, status) = start_run(&server, "waits").await;
    assert_eq!(status, "queued");
    assert!(
        c.pump_until(|c| c.run_field(&waiting, "status") == "queued", WAIT)
            .await
    );
    let (status, _) = server
        .post(&format!("/api/rooms/waits/runs/{waiting}/stop"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert!(c.pump_until(|c| done(c, &waiting), WAIT).await);
    assert_eq!(c.run_field(&waiting, "verdict"), "cancelled");
    let (status, _) = server
        .post(&format!("/api/rooms/busy/runs/{long}/stop"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert!(b.pump_until(|c| done(c, &long), WAIT).await);
    // The worker is free again and the stopped job never ran.
    let (next, _) = start_run(&server, "waits").await;
    assert!(c.pump_until(|c| done(c, &next), WAIT).await);
    assert_eq!(c.run_field(&next, "stdout"), "never\n");
    let starts = run_stream(&url, &waiting)
        .iter()
        .filter(|(k, _)| k == "start")
        .count();
    assert_eq!(starts, 0, "a stopped job is never started");
}

#[tokio::test]
async fn a_worker_killed_mid_run_fails_the_run_within_seconds_and_the_next_run_works() {
    let redis = RedisServer::start();
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &queue_flags(&url, &[]));
    let mut workers = [Worker::spawn(&url, 1), Worker::spawn(&url, 1)];
    let mut a = room_with(
        &server,
        "crash",
        "import time\nprint('working', flush=True)\ntime.sleep(30)\nprint('finished')\n",
    )
    .await;
    let (id, _) = start_run(&server, "crash").await;
    assert!(
        a.pump_until(|c| c.run_field(&id, "stdout") == "working\n", WAIT)
            .await
    );
    let start = run_stream(&url, &id)
        .into_iter()
        .find(|(k, _)| k == "start")
        .expect("a start entry")
        .1;
    let which = workers
        .iter()
        .position(|w| start.windows(w.name.len()).any(|s| s == w.name.as_bytes()))
        .expect("one of the workers runs it");
    let killed = Instant::now();
    workers[which].kill();
    assert!(a.pump_until(|c| done(c, &id), WAIT).await);
    let within = killed.elapsed();
    assert_eq!(a.run_field(&id, "verdict"), "internal_error");
    let message = a.run_field(&id, "message");
    assert!(
        message
            .as_str()
            .unwrap_or_default()
            .contains("worker running it stopped"),
        "{message}"
    );
    assert!(within < Duration::from_secs(10), "failed after {within:?}");
    assert_eq!(a.run_field(&id, "stdout"), "working\n");
    // Exactly one start: the job was not run again elsewhere.
    let starts = run_stream(&url, &id)
        .iter()
        .filter(|(k, _)| k == "start")
        .count();
    assert_eq!(starts, 1);
    // The next run goes to the surviving worker.
    set_main(&server, "crash", &mut a, "print('again')\n").await;
    let (next, _) = start_run(&server, "crash").await;
    assert!(a.pump_until(|c| done(c, &next), WAIT).await);
    assert_eq!(a.run_field(&next, "verdict"), "ok");
    assert_eq!(a.run_field(&next, "stdout"), "again\n");
    let other = &mut workers[1 - which];
    assert!(other.is_running());
}

#[tokio::test]
async fn a_job_delivered_to_a_worker_that_died_before_claiming_it_is_taken_over() {
    let redis = RedisServer::start();
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &queue_flags(&url, &[]));
    let mut a = room_with(&server, "orphan", "print('taken over')\n").await;
    let (id, _) = start_run(&server, "orphan").await;
    // A worker that read the job from the group and died before claiming it: the job is
    // pending with a consumer that will never come back.
    let mut conn = redis_conn(&url);
    let read: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("workers")
        .arg("died-before-claiming")
        .arg("COUNT")
        .arg(1)
        .arg("STREAMS")
        .arg("peercode:q:jobs")
        .arg(">")
        .query(&mut conn)
        .expect("XREADGROUP");
    assert!(format!("{read:?}").contains(&id), "{read:?}");
    let delivered = Instant::now();
    let worker = Worker::spawn(&url, 1);
    assert!(a.pump_until(|c| done(c, &id), WAIT).await);
    assert_eq!(a.run_field(&id, "verdict"), "ok");
    assert_eq!(a.run_field(&id, "stdout"), "taken over\n");
    // Not before it had been pending a while (a live worker claims within milliseconds).
    assert!(delivered.elapsed() >= Duration::from_secs(5));
    let starts: Vec<Vec<u8>> = run_stream(&url, &id)
        .into_iter()
        .filter(|(k, _)| k == "start")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(starts.len(), 1);
    assert!(
        starts[0]
            .windows(worker.name.len())
            .any(|s| s == worker.name.as_bytes())
    );
}

#[tokio::test]
async fn without_workers_a_run_waits_queued_then_ends_with_a_clear_message() {
    let redis = RedisServer::start();
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &queue_flags(&url, &["--queue-wait-ms", "2000"]));
    let mut a = room_with(&server, "lonely", "print('hi')\n").await;
    let (id, status) = start_run(&server, "lonely").await;
    assert_eq!(status, "queued");
    assert!(
        a.pump_until(|c| c.run_field(&id, "status") == "queued", WAIT)
            .await
    );
    assert_eq!(server.metric("peercode_queue_waiting").await, 1.0);
    let queued = Instant::now();
    assert!(a.pump_until(|c| done(c, &id), WAIT).await);
    assert!(queued.elapsed() < Duration::from_secs(10));
    assert_eq!(a.run_field(&id, "verdict"), "internal_error");
    let message = a.run_field(&id, "message");
    assert!(
        message
            .as_str()
            .unwrap_or_default()
            .contains("no sandbox worker took this run"),
        "{message}"
    );
    assert_eq!(server.metric("peercode_queue_waiting").await, 0.0);
    // A worker that comes later does not run it.
    let _worker = Worker::spawn(&url, 1);
    let (next, _) = start_run(&server, "lonely").await;
    assert!(a.pump_until(|c| done(c, &next), WAIT).await);
    assert_eq!(a.run_field(&next, "verdict"), "ok");
    assert!(!run_stream(&url, &id).iter().any(|(k, _)| k == "start"));
}

#[tokio::test]
async fn a_full_queue_answers_503() {
    let redis = RedisServer::start();
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &queue_flags(&url, &["--queue-max-waiting", "2"]),
    );
    let mut clients = Vec::new();
    for i in 0..2 {
        let room = format!("full-{i}");
        clients.push(room_with(&server, &room, "print(1)\n").await);
        let (_, status) = start_run(&server, &room).await;
        assert_eq!(status, "queued");
    }
    let _c = room_with(&server, "full-2", "print(1)\n").await;
    let (status, body) = server.post("/api/rooms/full-2/runs", json!({})).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("queue is full"),
        "{body}"
    );
    assert_eq!(server.metric("peercode_queue_waiting").await, 2.0);
    // The refused run left the room free to run later.
    let (status, list) = server.get_json("/api/rooms/full-2/runs").await;
    assert_eq!(
        (status, list["runs"].as_array().map(Vec::len)),
        (200, Some(0))
    );
}

#[tokio::test]
async fn jobs_of_a_dead_server_do_not_hold_a_full_queue() {
    let redis = RedisServer::start();
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let flags = queue_flags(&url, &["--queue-max-waiting", "1"]);
    let mut server = Server::spawn(dir.path(), &flags);
    let _a = room_with(&server, "first", "print(1)\n").await;
    let (_, status) = start_run(&server, "first").await;
    assert_eq!(status, "queued");
    // The instance dies with its job waiting and no worker anywhere; a new one comes up.
    server.kill();
    let server = Server::spawn(dir.path(), &flags);
    let _b = room_with(&server, "second", "print(2)\n").await;
    let deadline = Instant::now() + WAIT;
    let answer = loop {
        let (status, answer) = server.post("/api/rooms/second/runs", json!({})).await;
        if status == 202 {
            break answer;
        }
        assert_eq!(status, 503, "{answer}");
        assert!(
            Instant::now() < deadline,
            "the dead server's job held the queue"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(answer["status"], "queued");
}

#[tokio::test]
async fn the_queue_is_bounded_by_bytes_too_and_counts_back_to_zero() {
    let redis = RedisServer::start();
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &queue_flags(&url, &["--queue-max-waiting-bytes", "3000"]),
    );
    // One large job is always taken into an empty queue; a second that would pass the
    // byte budget is refused, a small one is not.
    let big = format!("# {}\nprint(1)\n", "x".repeat(2500));
    let mut a = room_with(&server, "big", &big).await;
    let (first, _) = start_run(&server, "big").await;
    let _b = room_with(&server, "big-2", &big).await;
    let (status, body) = server.post("/api/rooms/big-2/runs", json!({})).await;
    assert_eq!(status, 503, "{body}");
    let _c = room_with(&server, "small", "print(2)\n").await;
    let (small, _) = start_run(&server, "small").await;
    let bytes = || -> u64 {
        redis::cmd("GET")
            .arg("peercode:q:jobs:bytes")
            .query::<Option<u64>>(&mut redis_conn(&url))
            .expect("GET")
            .unwrap_or(0)
    };
    assert!(bytes() > 2500);
    // Stopping takes a waiting job out of the queue, its bytes off the count.
    for (room, id) in [("big", &first), ("small", &small)] {
        let (status, _) = server
            .post(&format!("/api/rooms/{room}/runs/{id}/stop"), json!({}))
            .await;
        assert_eq!(status, 200);
    }
    assert!(a.pump_until(|c| done(c, &first), WAIT).await);
    assert_eq!(a.run_field(&first, "verdict"), "cancelled");
    let deadline = Instant::now() + WAIT;
    while server.metric("peercode_queue_waiting").await != 0.0 {
        assert!(Instant::now() < deadline, "the queue never emptied");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(bytes(), 0);
}

#[tokio::test]
async fn a_run_no_worker_would_accept_is_refused_before_it_travels() {
    let redis = RedisServer::start();
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &queue_flags(&url, &[]));
    // Two files of 2.2 MiB: the document takes them, the sandbox's 4 MiB of files does not.
    let mut a = room_with(&server, "huge", "print(1)\n").await;
    let big = "x".repeat(2_200_000);
    a.set_file("a.txt", &big).await;
    a.set_file("b.txt", &big).await;
    a.committed().await;
    let (status, body) = server.post("/api/rooms/huge/runs", json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap_or_default().contains("bytes"),
        "{body}"
    );
    let waiting: u64 = redis::cmd("XLEN")
        .arg("peercode:q:jobs")
        .query(&mut redis_conn(&url))
        .expect("XLEN");
    assert_eq!(waiting, 0, "nothing was queued");
    // The room is free to run once the files fit.
    a.set_file("a.txt", "small").await;
    a.set_file("b.txt", "small").await;
    a.committed().await;
    let (_, status) = start_run(&server, "huge").await;
    assert_eq!(status, "queued");
}

#[tokio::test]
async fn malformed_entries_fail_their_run_and_crash_nothing() {
    let redis = RedisServer::start();
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &queue_flags(&url, &[]));
    let mut conn = redis_conn(&url);

    // A run nobody takes yet, whose stream receives garbage: it fails, the server lives.
    let mut a = room_with(&server, "garbage", "print('ok')\n").await;
    let (id, _) = start_run(&server, "garbage").await;
    let _: String = redis::cmd("XADD")
        .arg(format!("peercode:q:run:{id}"))
        .arg("*")
        .arg("k")
        .arg("out")
        .arg("v")
        .arg(&[1u8, 9, 0xff, 0xff][..])
        .query(&mut conn)
        .expect("XADD garbage");
    assert!(a.pump_until(|c| done(c, &id), WAIT).await);
    assert_eq!(a.run_field(&id, "verdict"), "internal_error");
    let message = a.run_field(&id, "message");
    assert!(
        message.as_str().unwrap_or_default().contains("malformed"),
        "{message}"
    );
    assert_eq!(server.get("/healthz").await.0, 200);

    // A run whose job is replaced by garbage before any worker sees it, and garbage of
    // every other kind in the job queue: a worker drops each (failing the run a bad job
    // names, at once) and goes on.
    let mut b = room_with(&server, "bad-job", "print('x')\n").await;
    let (bad, _) = start_run(&server, "bad-job").await;
    let entries: Vec<StreamEntry> = redis::cmd("XRANGE")
        .arg("peercode:q:jobs")
        .arg("-")
        .arg("+")
        .query(&mut conn)
        .expect("XRANGE jobs");
    let (entry, _) = entries
        .iter()
        .find(|(_, f)| f.iter().any(|(k, v)| k == "id" && v == bad.as_bytes()))
        .expect("the job is queued");
    let _: i64 = redis::cmd("XDEL")
        .arg("peercode:q:jobs")
        .arg(entry)
        .query(&mut conn)
        .expect("XDEL");
    for fields in [
        vec![("x", b"y".to_vec())],
        vec![("id", b"../../etc".to_vec()), ("job", vec![1, 2, 3])],
        vec![("id", b"0-0".to_vec()), ("job", vec![0xff; 100])],
        vec![("id", bad.as_bytes().to_vec()), ("job", vec![1, 200, 1])],
    ] {
        let mut cmd = redis::cmd("XADD");
        cmd.arg("peercode:q:jobs").arg("*");
        for (k, v) in fields {
            cmd.arg(k).arg(v);
        }
        let _: String = cmd.query(&mut conn).expect("XADD a bad job");
    }
    let mut worker = Worker::spawn(&url, 1);
    assert!(b.pump_until(|c| done(c, &bad), WAIT).await);
    assert_eq!(b.run_field(&bad, "verdict"), "internal_error");
    let message = b.run_field(&bad, "message");
    assert!(
        message
            .as_str()
            .unwrap_or_default()
            .contains("malformed job"),
        "{message}"
    );
    // The worker is alive and runs the next job.
    let (next, _) = start_run(&server, "bad-job").await;
    assert!(b.pump_until(|c| done(c, &next), WAIT).await);
    assert_eq!(b.run_field(&next, "stdout"), "x\n");
    assert!(worker.is_running());
}

#[tokio::test]
async fn a_server_killed_mid_run_leaves_no_run_running_and_frees_the_worker() {
    let redis = RedisServer::start();
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let flags = queue_flags(&url, &[]);
    let mut server = Server::spawn(dir.path(), &flags);
    let _worker = Worker::spawn(&url, 1);
    let mut a = room_with(
        &server,
        "restart",
        "import time\nprint('up', flush=True)\ntime.sleep(40)\n",
    )
    .await;
    let (id, _) = start_run(&server, "restart").await;
    assert!(
        a.pump_until(|c| c.run_field(&id, "stdout") == "up\n", WAIT)
            .await
    );
    server.kill();
    let server = Server::spawn(dir.path(), &flags);
    let mut b = Client::join(&server.url("restart"), 2).await;
    assert!(b.pump_until(|c| done(c, &id), WAIT).await);
    assert_eq!(b.run_field(&id, "verdict"), "internal_error");
    // The worker noticed nobody drives the run any more and stopped it: a new run gets
    // the one slot long before the orphan's 40 s are up.
    set_main(&server, "restart", &mut b, "print('next')\n").await;
    let restarted = Instant::now();
    let (next, _) = start_run(&server, "restart").await;
    assert!(b.pump_until(|c| done(c, &next), WAIT).await);
    assert_eq!(b.run_field(&next, "stdout"), "next\n");
    assert!(
        restarted.elapsed() < Duration::from_secs(20),
        "took {:?}",
        restarted.elapsed()
    );
    // The orphan was stopped for that reason (not by its own time limit).
    let end = run_stream(&url, &id)
        .into_iter()
        .find(|(k, _)| k == "end")
        .expect("the worker wrote the orphan's end")
        .1;
    let why = String::from_utf8_lossy(&end);
    assert!(
        why.contains("server instance driving this run stopped"),
        "{why}"
    );
}

#[tokio::test]
async fn a_worker_asked_to_stop_finishes_its_run_then_exits() {
    let redis = RedisServer::start();
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &queue_flags(&url, &[]));
    let mut worker = Worker::spawn(&url, 1);
    let mut a = room_with(
        &server,
        "drain",
        "import time\nprint('a', flush=True)\ntime.sleep(1)\nprint('b')\n",
    )
    .await;
    let (id, _) = start_run(&server, "drain").await;
    assert!(
        a.pump_until(|c| c.run_field(&id, "stdout") == "a\n", WAIT)
            .await
    );
    nix::sys::signal::kill(worker.pid(), nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    assert!(a.pump_until(|c| done(c, &id), WAIT).await);
    assert_eq!(a.run_field(&id, "verdict"), "ok");
    assert_eq!(a.run_field(&id, "stdout"), "a\nb\n");
    let status = worker.wait();
    assert!(status.success(), "{status}");
    // No worker takes the next one: it waits.
    let (next, status) = start_run(&server, "drain").await;
    assert_eq!(status, "queued");
    a.drain(Duration::from_millis(500)).await;
    assert_eq!(a.run_field(&next, "status"), "queued");
}

#[test]
fn queue_without_a_redis_url_is_a_clear_start_up_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_peercode"))
        .args(["serve", "--listen", "127.0.0.1:0", "--runner", "queue"])
        .arg("--data-dir")
        .arg(dir.path())
        .env_remove("PEERCODE_REDIS_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run peercode serve");
    let deadline = Instant::now() + WAIT;
    while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("peercode serve ended");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--redis-url"), "{stderr}");
    assert!(out.stdout.is_empty(), "never started listening");
}
