//! Instances sharing rooms (`--redis-url`): two real `peercode serve` processes on one
//! PostgreSQL schema and a Redis of the test's own (AOF on), with haproxy in front where a
//! balancer matters. Clients on either instance must see one room; killing an instance or
//! Redis must lose nothing any client had received.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::redis::{RedisServer, free_port};
use common::worker::Worker;
use common::{Client, Server};
use peercode_protocol::Message;
use yrs::{ReadTxn, StateVector, Transact};

const WAIT: Duration = Duration::from_secs(20);

/// A fresh schema in the test database, dropped at the end.
struct Schema {
    name: String,
    base: String,
}

impl Schema {
    fn new(tag: &str) -> Schema {
        let base = std::env::var("PEERCODE_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into());
        let name = format!("peercode_cluster_{tag}_{}", std::process::id());
        let schema = Schema { name, base };
        schema.drop_schema();
        schema
    }

    fn url(&self) -> String {
        format!("{}?schema={}", self.base, self.name)
    }

    fn drop_schema(&self) {
        // The blocking client runs a runtime of its own: on a thread of its own, then.
        let (base, name) = (self.base.clone(), self.name.clone());
        std::thread::spawn(move || {
            if let Ok(mut admin) = postgres::Client::connect(&base, postgres::NoTls) {
                let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"));
            }
        })
        .join()
        .expect("drop schema");
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        self.drop_schema();
    }
}

/// An instance of the cluster: the real binary (tests kill it).
fn instance(dir: &Path, schema: &Schema, redis: &RedisServer) -> Server {
    instance_with(dir, schema, redis, &[])
}

fn instance_with(dir: &Path, schema: &Schema, redis: &RedisServer, extra: &[&str]) -> Server {
    std::fs::create_dir_all(dir).expect("data dir");
    let (url, redis) = (schema.url(), redis.url());
    let mut flags = vec![
        "--database-url",
        &url,
        "--redis-url",
        &redis,
        "--instance-ttl-ms",
        "1000",
        "--room-lease-ms",
        "3000",
        "--ping-interval-ms",
        "500",
    ];
    flags.extend_from_slice(extra);
    Server::spawn(dir, &flags)
}

/// Join `room` at `server`, retrying while the room is moving between instances (503)
/// or the instance is not accepting.
async fn join_retrying(server_addr: &str, room: &str, client_id: u64) -> Client {
    let url = format!("ws://{server_addr}/ws/{room}");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let attempt = tokio::time::timeout(Duration::from_secs(5), async {
            use tokio_tungstenite::tungstenite::Error;
            match tokio_tungstenite::connect_async(&url).await {
                Ok(_) => Ok(()),
                Err(Error::Http(response)) => Err(response.status().as_u16()),
                Err(_) => Err(0),
            }
        })
        .await;
        if let Ok(Ok(())) = attempt {
            // The probe connection worked: the room is served; now the real client, again
            // if it is told to reconnect while the room settles on an owner.
            if let Ok(Some(client)) =
                tokio::time::timeout(Duration::from_secs(10), Client::try_join(&url, client_id))
                    .await
            {
                return client;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "could not join {room} at {server_addr}: {attempt:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every (client, clock) `seen` holds is in `holder` too.
fn covers(holder: &StateVector, seen: &StateVector) -> bool {
    seen.iter()
        .all(|(client, clock)| holder.get(client) >= *clock)
}

async fn pump_both(a: &mut Client, b: &mut Client, want: &str) -> bool {
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        a.drain(Duration::from_millis(20)).await;
        b.drain(Duration::from_millis(20)).await;
        if a.text().contains(want) && b.text().contains(want) && a.text() == b.text() {
            return true;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_on_two_instances_share_one_room_and_presence() {
    let dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start();
    let schema = Schema::new("share");
    let a = instance(&dir.path().join("a"), &schema, &redis);
    let b = instance(&dir.path().join("b"), &schema, &redis);

    let mut on_a = Client::join(&a.url("pair"), 1).await;
    let mut on_b = Client::join(&b.url("pair"), 2).await;
    on_a.type_text("hello from a; ").await;
    on_b.type_text("hello from b").await;
    assert!(
        pump_both(&mut on_a, &mut on_b, "hello from b").await
            && on_a.text().contains("hello from a"),
        "both see both edits: {:?} / {:?}",
        on_a.text(),
        on_b.text()
    );
    // Each instance reports both its backends.
    assert_eq!(
        b.get("/healthz").await,
        (200, "ok\nstore: ok\nredis: ok\n".to_owned())
    );
    // One instance owns the room; the other forwarded its client to it.
    assert_eq!(a.metric("peercode_rooms_owned").await, 1.0);
    assert_eq!(b.metric("peercode_rooms_owned").await, 0.0);
    assert!(b.metric("peercode_forwarded_connections").await >= 1.0);
    common::promtool_accepts(&b.get("/metrics").await.1);

    // Presence crosses instances, and goes when its owner drops.
    on_b.set_awareness(r#"{"user":{"name":"Bea"}}"#).await;
    assert!(
        on_a.pump_until(|c| c.sees(2), WAIT).await,
        "a sees b's presence"
    );
    // Who is present (for role badges) is the owner's to say, asked through either.
    for server in [&a, &b] {
        let (status, people) = server.get_json("/api/rooms/pair/people").await;
        assert_eq!(status, 200, "{people}");
        assert!(
            people["people"]
                .as_array()
                .is_some_and(|p| p.iter().any(|c| c["client"] == 2)),
            "{people}"
        );
    }
    on_b.abort();
    assert!(
        on_a.pump_until(|c| !c.sees(2), WAIT).await,
        "b's presence is removed once b's connection dropped"
    );

    // Another room may be owned by the other instance: each serves rooms.
    let _first = Client::join(&b.url("second"), 3).await;
    let mut later = Client::join(&a.url("second"), 4).await;
    later.type_text("x").await;
    assert_eq!(b.metric("peercode_rooms_owned").await, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_owner_loses_nothing_any_client_received() {
    let dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start();
    let schema = Schema::new("kill");
    let mut a = instance(&dir.path().join("a"), &schema, &redis);
    let b = instance(&dir.path().join("b"), &schema, &redis);

    // a owns the room (its client came first); the typist is on b, forwarded to a; an
    // observer on b holds exactly what the server sent.
    let _owner_side = Client::join(&a.url("k"), 1).await;
    let mut typist = Client::join(&b.url("k"), 2).await;
    let mut observer = Client::join(&b.url("k"), 3).await;
    for i in 0..200 {
        if !typist.try_type_text(&format!("{i},")).await {
            break;
        }
        if i == 120 {
            a.kill();
        }
        observer.drain(Duration::from_millis(1)).await;
    }
    observer.drain(Duration::from_millis(200)).await;
    let received = observer.doc.transact().state_vector();
    assert!(
        observer.text().contains("0,1,2,"),
        "the observer received typing before the kill: {:?}",
        observer.text()
    );

    // Everyone reconnects to b, which takes the room over once a's registration expires.
    let after = join_retrying(&b.addr, "k", 4).await;
    let now = after.doc.transact().state_vector();
    assert!(
        covers(&now, &received),
        "every update the observer had received survived the owner's SIGKILL: \
         {now:?} vs {received:?}"
    );
    assert!(
        after
            .text()
            .starts_with(&observer.text()[..observer.text().len().min(10)])
    );
    assert_eq!(b.metric("peercode_rooms_owned").await, 1.0);

    // The history both owners wrote in turn is one recording, read from the database
    // through the survivor: the state at its end is the last update either wrote.
    let (status, timeline) = b.get_json("/api/rooms/k/timeline").await;
    assert_eq!(status, 200, "{timeline}");
    let (status, state) = b.get_json("/api/rooms/k/state").await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["seq"], timeline["last_seq"], "{state} / {timeline}");
    // It holds the typing, not only the room's creation. (How many keystrokes `a` had
    // committed when it was killed depends on the machine: this once said `> 100`, and a
    // busy run's `a` had committed 99.)
    assert!(timeline["last_seq"].as_u64().unwrap_or(0) > 1, "{timeline}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mut redis = RedisServer::start();
    let schema = Schema::new("redis");
    let a = instance(&dir.path().join("a"), &schema, &redis);
    let b = instance(&dir.path().join("b"), &schema, &redis);

    let mut typist = Client::join(&a.url("r"), 1).await;
    let mut observer = Client::join(&b.url("r"), 2).await;
    for i in 0..100 {
        typist.type_text(&format!("{i};")).await;
        if i == 60 {
            redis.kill();
        }
        observer.drain(Duration::from_millis(1)).await;
    }
    observer.drain(Duration::from_millis(300)).await;
    let received = observer.doc.transact().state_vector();

    // Without Redis no instance may keep serving a room (others could take it): the
    // connections close, and new ones are refused until Redis is back.
    let deadline = tokio::time::Instant::now() + WAIT;
    while typist.closed.is_none() && tokio::time::Instant::now() < deadline {
        typist.drain(Duration::from_millis(50)).await;
    }
    assert_eq!(
        typist.closed.as_ref().map(|c| c.0),
        Some(1012),
        "the owner gives the room up after losing Redis"
    );
    let (status, _) = b.get("/healthz").await;
    assert_eq!(status, 503, "health says Redis is gone");

    redis.restart();
    let back = join_retrying(&b.addr, "r", 3).await;
    let now = back.doc.transact().state_vector();
    assert!(
        covers(&now, &received),
        "everything acknowledged before Redis died is there: {now:?} vs {received:?}"
    );
    // And the room works again across instances.
    let mut on_a = join_retrying(&a.addr, "r", 4).await;
    let mut back = back;
    on_a.type_text("after").await;
    assert!(pump_both(&mut on_a, &mut back, "after").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_started_through_one_instance_reaches_clients_on_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start();
    let schema = Schema::new("runs");
    let a = instance(&dir.path().join("a"), &schema, &redis);
    let b = instance(&dir.path().join("b"), &schema, &redis);

    let mut on_a = Client::join(&a.url("run"), 1).await;
    on_a.set_file("main.py", "print(6 * 7)\n").await;
    let mut on_b = Client::join(&b.url("run"), 2).await;
    assert!(
        on_b.pump_until(
            |c| c.file_text("main.py").as_deref() == Some("print(6 * 7)\n"),
            WAIT
        )
        .await
    );
    // Started through b (not the owner): forwarded to a, which runs it.
    let (status, body) = b
        .post("/api/rooms/run/runs", serde_json::json!({"name": "Bea"}))
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().expect("run id").to_owned();
    assert!(
        on_b.pump_until(|c| c.run_field(&id, "status") == "done", WAIT)
            .await,
        "the run finished in b's client's document"
    );
    assert_eq!(on_b.run_field(&id, "stdout"), "42\n");
    assert_eq!(on_b.run_field(&id, "verdict"), "ok");
    // Reading it through either instance gives the same run.
    let (status, run) = b.get_json(&format!("/api/rooms/run/runs/{id}")).await;
    assert_eq!((status, run["stdout"].as_str()), (200, Some("42\n")));
    let _ = on_a.pump_once(Duration::from_millis(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_instance_hands_its_rooms_over() {
    let dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start();
    let schema = Schema::new("term");
    let mut a = instance(&dir.path().join("a"), &schema, &redis);
    let b = instance(&dir.path().join("b"), &schema, &redis);

    let mut on_a = Client::join(&a.url("t"), 1).await;
    for i in 0..50 {
        on_a.type_text(&format!("{i}.")).await;
    }
    let mut observer = Client::join(&b.url("t"), 2).await;
    assert!(
        observer
            .pump_until(|c| c.text().contains("49."), WAIT)
            .await
    );
    let received = observer.doc.transact().state_vector();
    assert!(a.stop(), "a shuts down cleanly on SIGTERM");
    assert!(
        observer.pump_until(|c| c.closed.is_some(), WAIT).await,
        "b's forwarded client sees the owner go"
    );
    // a gave its leases back: b serves the room at once, with everything.
    let after = join_retrying(&b.addr, "t", 3).await;
    assert!(covers(&after.doc.transact().state_vector(), &received));
    assert_eq!(b.metric("peercode_rooms_owned").await, 1.0);
}

/// haproxy in front of two instances, as a deployment would run them.
struct Balancer {
    child: Child,
    port: u16,
    _config: tempfile::NamedTempFile,
}

impl Balancer {
    fn start(backends: &[&str]) -> Balancer {
        use std::io::Write;
        let port = free_port();
        let mut config = tempfile::NamedTempFile::new().expect("haproxy config file");
        let servers: String = backends
            .iter()
            .enumerate()
            .map(|(i, addr)| format!("    server s{i} {addr} check inter 200ms fall 1 rise 1\n"))
            .collect();
        write!(
            config,
            "global\n    maxconn 1000\n\
             defaults\n    mode http\n    timeout connect 1s\n    timeout client 60s\n    \
             timeout server 60s\n    timeout tunnel 1h\n    option redispatch\n    retries 3\n\
             frontend front\n    bind 127.0.0.1:{port}\n    default_backend peercode\n\
             backend peercode\n    balance roundrobin\n    option httpchk GET /healthz\n{servers}"
        )
        .expect("write the haproxy config");
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(config.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start haproxy (Debian package haproxy; scripts/setup installs it)");
        Balancer {
            child,
            port,
            _config: config,
        }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_balancer_clients_reconnect_to_the_survivor_with_everything() {
    let dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start();
    let schema = Schema::new("lb");
    let mut a = instance(&dir.path().join("a"), &schema, &redis);
    let b = instance(&dir.path().join("b"), &schema, &redis);
    let lb = Balancer::start(&[&a.addr, &b.addr]);

    // Round robin spreads the clients over both instances.
    let mut first = join_retrying(&lb.addr(), "lb", 1).await;
    let mut second = join_retrying(&lb.addr(), "lb", 2).await;
    first.type_text("one ").await;
    second.type_text("two").await;
    assert!(pump_both(&mut first, &mut second, "two").await);
    assert!(first.text().contains("one"));
    assert!(
        a.metric("peercode_forwarded_total").await + b.metric("peercode_forwarded_total").await
            >= 1.0,
        "the balancer's two connections landed on different instances"
    );
    let received = second.doc.transact().state_vector();

    a.kill();
    // Both reconnect through the balancer: only b answers now.
    let mut again = join_retrying(&lb.addr(), "lb", 3).await;
    assert!(covers(&again.doc.transact().state_vector(), &received));
    again.type_text(" three").await;
    let mut other = join_retrying(&lb.addr(), "lb", 4).await;
    assert!(pump_both(&mut again, &mut other, "three").await);
    assert!(other.text().contains("one") && other.text().contains("two"));
}

/// A client update the owner refused is not in the store: the viewer rule and the
/// ownership rule compose (a sanity check that forwarding does not bypass the room task).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_clients_cannot_write_server_owned_state() {
    let dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start();
    let schema = Schema::new("owned");
    let a = instance(&dir.path().join("a"), &schema, &redis);
    let b = instance(&dir.path().join("b"), &schema, &redis);
    let _owner = Client::join(&a.url("o"), 1).await;
    let mut on_b = Client::join(&b.url("o"), 2).await;
    // A write into `runs` from a forwarded client is refused by the owner.
    let update = {
        use yrs::Map;
        let runs = on_b.doc.get_or_insert_map("runs");
        let mut txn = on_b.doc.transact_mut();
        runs.insert(&mut txn, "forged", "x");
        txn.encode_update_v1()
    };
    on_b.send(Message::Update(update.into())).await;
    assert!(on_b.pump_until(|c| c.denied > 0, WAIT).await, "refused");
}

/// An owner whose claim was superseded — as after a pause long enough for another instance
/// to take the room over — can no longer hand out a single update: its commit is refused by
/// the database's fence, so it closes the room instead of broadcasting, and the client's
/// edit comes back with its resync wherever the room is served next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_superseded_owner_cannot_broadcast_anything() {
    let dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start();
    let schema = Schema::new("fence");
    let a = instance(&dir.path().join("a"), &schema, &redis);

    let mut typist = Client::join(&a.url("f"), 1).await;
    let mut watcher = Client::join(&a.url("f"), 2).await;
    typist.type_text("before;").await;
    assert!(watcher.pump_until(|c| c.text() == "before;", WAIT).await);

    // Another process claims the room in the database, as a new owner's load does.
    let url = schema.url();
    tokio::task::spawn_blocking(move || {
        use peercode_store::Store;
        let store = peercode_store::PgStore::open(&url).expect("open the shared store");
        store.claim_room("f").expect("claim");
    })
    .await
    .unwrap();

    typist.type_text("stale;").await;
    assert!(
        watcher.pump_until(|c| c.closed.is_some(), WAIT).await,
        "the superseded owner closes the room"
    );
    assert!(
        !watcher.text().contains("stale"),
        "nothing the database refused reached anyone: {:?}",
        watcher.text()
    );
    assert_eq!(
        watcher.closed.as_ref().map(|c| c.0),
        Some(1012),
        "told to reconnect (the room moved), not an internal error"
    );
    // The typist reconnects; its resync brings the edit back through a fresh claim.
    let mut again = join_retrying(&a.addr, "f", 3).await;
    again
        .send(Message::SyncStep2(
            typist
                .doc
                .transact()
                .encode_diff_v1(&again.state_vector())
                .into(),
        ))
        .await;
    let mut check = join_retrying(&a.addr, "f", 4).await;
    assert!(
        check
            .pump_until(|c| c.text() == "before;stale;", WAIT)
            .await,
        "{:?}",
        check.text()
    );
}

/// The whole scale-out path of a run: started through the instance that does not own the
/// room, executed by a sandbox worker through the Redis queue, its output written into the
/// room by the owner and seen by a client connected through the other instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_run_through_one_instance_is_run_by_a_worker_and_seen_on_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start();
    let schema = Schema::new("queue");
    let queue = ["--runner", "queue"];
    let a = instance_with(&dir.path().join("a"), &schema, &redis, &queue);
    let b = instance_with(&dir.path().join("b"), &schema, &redis, &queue);
    let _worker = Worker::spawn(&redis.url(), 1);

    let mut on_a = Client::join(&a.url("q"), 1).await;
    on_a.set_file("main.py", "print('from a worker')\n").await;
    let mut on_b = Client::join(&b.url("q"), 2).await;
    assert!(
        on_b.pump_until(
            |c| c.file_text("main.py").is_some_and(|t| t.contains("worker")),
            WAIT
        )
        .await
    );
    let (status, body) = b.post("/api/rooms/q/runs", serde_json::json!({})).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().expect("run id").to_owned();
    assert!(
        on_b.pump_until(
            |c| c.run_field(&id, "status") == "done",
            Duration::from_secs(60)
        )
        .await,
        "the run finished in the document b's client holds"
    );
    assert_eq!(on_b.run_field(&id, "stdout"), "from a worker\n");
    assert_eq!(on_b.run_field(&id, "verdict"), "ok");
    let _ = on_a.pump_once(Duration::from_millis(10)).await;
}

/// A request that is refused never holds a room's lease: a room is claimed only when it
/// loads, after the request's checks, so forged credentials for made-up rooms cost no
/// lease (and do not keep another instance from serving those rooms).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_hold_no_lease() {
    let dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start();
    let schema = Schema::new("refused");
    let a = instance(&dir.path().join("a"), &schema, &redis);
    let b = instance(&dir.path().join("b"), &schema, &redis);
    for i in 0..10 {
        let url = format!(
            "ws://{}/ws/made-up-{i}?token=pct_forgedforgedforgedforgedforgedforgedforged",
            a.addr
        );
        assert_eq!(Client::connect_as(&url, 1, None).await.err(), Some(401));
        let reply = a
            .call(
                "GET",
                &format!("/api/rooms/made-up-{i}/runs"),
                &common::Cred::bearer("pct_forgedforgedforgedforgedforgedforgedforged"),
                None,
            )
            .await;
        let status = reply.status;
        assert_eq!(status, 401);
    }
    assert_eq!(a.metric("peercode_rooms_owned").await, 0.0);
    // The other instance serves such a room at once.
    let _c = Client::join(&b.url("made-up-3"), 2).await;
    assert_eq!(b.metric("peercode_rooms_owned").await, 1.0);
    assert_eq!(a.metric("peercode_rooms_owned").await, 0.0);
}
