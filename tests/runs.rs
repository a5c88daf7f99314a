//! Runs in rooms as participants see them: started over HTTP, output and verdict arriving
//! through the room's `runs` map to every client (late joiners too), one run at a time,
//! stop, clients unable to write into `runs`, hostile programs contained.
//!
//! Needs the sandbox, so root (as CI runs).

mod common;

use std::time::Duration;

use common::{Client, Server};
use serde_json::json;

/// Runs include starting Python in a sandbox on a busy 2-core machine.
const WAIT: Duration = Duration::from_secs(60);

async fn start_run(server: &Server, room: &str, body: serde_json::Value) -> String {
    let (status, answer) = server.post(&format!("/api/rooms/{room}/runs"), body).await;
    assert_eq!(status, 202, "{answer}");
    answer["id"].as_str().expect("a run id").to_owned()
}

fn done(c: &Client, id: &str) -> bool {
    c.run_field(id, "status") == "done"
}

#[tokio::test]
async fn a_run_started_over_http_reaches_everyone_through_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let url = server.url("shared-run");
    let mut alice = Client::join(&url, 1).await;
    let mut bob = Client::join(&url, 2).await;
    alice
        .set_file(
            "main.py",
            "import sys\nprint('hello', sys.stdin.read().strip())\n",
        )
        .await;
    assert!(alice.pump_until(|c| c.updates_received >= 1, WAIT).await);
    assert!(bob.pump_until(|c| c.updates_received >= 1, WAIT).await);

    let id = start_run(
        &server,
        "shared-run",
        json!({"stdin": "world", "name": "Alice"}),
    )
    .await;
    for client in [&mut alice, &mut bob] {
        assert!(
            client.pump_until(|c| done(c, &id), WAIT).await,
            "run finished"
        );
        assert_eq!(client.run_field(&id, "stdout"), "hello world\n");
        assert_eq!(client.run_field(&id, "verdict"), "ok");
        assert_eq!(client.run_field(&id, "exit_code"), 0);
        assert_eq!(client.run_field(&id, "started_by"), "Alice");
        assert!(client.run_field(&id, "wall_ms").as_i64().is_some());
        assert!(
            client.run_field(&id, "finished_at").as_i64()
                >= client.run_field(&id, "started_at").as_i64()
        );
    }
    // A client that joins afterwards gets the run from the sync alone.
    let late = Client::join(&url, 3).await;
    assert_eq!(late.run_field(&id, "stdout"), "hello world\n");
    assert_eq!(late.run_field(&id, "verdict"), "ok");

    // The HTTP view agrees.
    let (status, run) = server
        .get_json(&format!("/api/rooms/shared-run/runs/{id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(run["stdout"], "hello world\n");
    assert_eq!(run["status"], "done");
    let (_, list) = server.get_json("/api/rooms/shared-run/runs").await;
    assert_eq!(list["runs"][0]["id"], id.as_str());
}

#[tokio::test]
async fn stderr_runtime_errors_and_restarts_are_kept_apart() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::spawn(dir.path(), &[]);
    let url = server.url("errors");
    let mut a = Client::join(&url, 1).await;
    a.set_file(
        "main.py",
        "import sys\nprint('out')\nsys.stderr.write('err\\n')\nsys.exit(3)\n",
    )
    .await;
    assert!(a.pump_until(|c| c.updates_received >= 1, WAIT).await);
    let id = start_run(&server, "errors", json!({})).await;
    assert!(a.pump_until(|c| done(c, &id), WAIT).await);
    assert_eq!(a.run_field(&id, "stdout"), "out\n");
    assert_eq!(a.run_field(&id, "stderr"), "err\n");
    assert_eq!(a.run_field(&id, "verdict"), "runtime_error");
    assert_eq!(a.run_field(&id, "exit_code"), 3);
    assert_eq!(a.run_field(&id, "started_by"), "anonymous");
    // Runs are part of the document: they survive a restart.
    assert!(server.stop());
    let server = Server::spawn(dir.path(), &[]);
    let b = Client::join(&server.url("errors"), 2).await;
    assert_eq!(b.run_field(&id, "stderr"), "err\n");
    assert_eq!(b.run_field(&id, "verdict"), "runtime_error");
}

#[tokio::test]
async fn one_run_at_a_time_and_stop_cancels_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let url = server.url("busy");
    let mut a = Client::join(&url, 1).await;
    a.set_file(
        "main.py",
        "import time\nprint('started', flush=True)\ntime.sleep(30)\n",
    )
    .await;
    assert!(a.pump_until(|c| c.updates_received >= 1, WAIT).await);
    let id = start_run(&server, "busy", json!({})).await;
    assert!(
        a.pump_until(|c| c.run_field(&id, "stdout") == "started\n", WAIT)
            .await,
        "output arrives while the program still runs"
    );
    assert_eq!(a.run_field(&id, "status"), "running");
    let (status, answer) = server.post("/api/rooms/busy/runs", json!({})).await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap_or_default()
            .contains("already has a run")
    );

    let (status, _) = server
        .post(&format!("/api/rooms/busy/runs/{id}/stop"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert!(a.pump_until(|c| done(c, &id), WAIT).await);
    assert_eq!(a.run_field(&id, "verdict"), "cancelled");
    // Stopping again: it has finished.
    let (status, _) = server
        .post(&format!("/api/rooms/busy/runs/{id}/stop"), json!({}))
        .await;
    assert_eq!(status, 409);
    // And the room can run again.
    let again = start_run(&server, "busy", json!({})).await;
    assert_ne!(again, id);
}

#[tokio::test]
async fn a_client_that_writes_into_runs_changes_nothing_for_anyone() {
    use yrs::{Map, Transact};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let url = server.url("forgery");
    let mut forger = Client::join(&url, 1).await;
    let mut honest = Client::join(&url, 2).await;
    forger.set_file("main.py", "print(1)\n").await;
    assert!(honest.pump_until(|c| c.updates_received >= 1, WAIT).await);
    let id = start_run(&server, "forgery", json!({})).await;
    assert!(forger.pump_until(|c| done(c, &id), WAIT).await);
    assert!(honest.pump_until(|c| done(c, &id), WAIT).await);
    let before = honest.updates_received;

    // A forged verdict, and a forged run alongside a legitimate edit: both refused whole.
    let runs = forger.doc.get_or_insert_map("runs");
    let forged = {
        let mut txn = forger.doc.transact_mut();
        if let Some(yrs::Out::YMap(run)) = runs.get(&txn, &id) {
            run.insert(&mut txn, "verdict", "forged");
        }
        runs.insert(&mut txn, "fake", "x");
        txn.encode_update_v1()
    };
    forger
        .send(peercode_protocol::Message::Update(forged.into()))
        .await;
    forger.set_file("main.py", "print(2)\n").await;
    assert!(
        forger.pump_until(|c| c.denied >= 1, WAIT).await,
        "the writer is told"
    );
    // The edit after the refused update still arrives; nothing of the forgery does.
    assert!(
        honest
            .pump_until(|c| c.updates_received > before, WAIT)
            .await
    );
    honest.drain(Duration::from_millis(200)).await;
    assert_eq!(honest.run_field(&id, "verdict"), "ok");
    assert_eq!(honest.run_count(), 1);
    assert!(forger.closed.is_none(), "the connection stays open");
    let fresh = Client::join(&url, 3).await;
    assert_eq!(fresh.run_field(&id, "verdict"), "ok");
    assert_eq!(fresh.run_count(), 1);
    assert!(server.metric("peercode_refused_updates_total").await >= 1.0);
}

#[tokio::test]
async fn hostile_programs_leave_the_room_other_rooms_and_the_server_working() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let mut bystander = Client::join(&server.url("elsewhere"), 9).await;
    let cases = [
        (
            "fork-bomb",
            "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
        ),
        (
            "memory-bomb",
            "x = []\nwhile True:\n    x.append(' ' * 10_000_000)\n",
        ),
    ];
    for (room, code) in cases {
        let mut a = Client::join(&server.url(room), 1).await;
        a.set_file("main.py", code).await;
        assert!(a.pump_until(|c| c.updates_received >= 1, WAIT).await);
        let id = start_run(&server, room, json!({})).await;
        assert!(a.pump_until(|c| done(c, &id), WAIT).await, "{room} ended");
        let verdict = a.run_field(&id, "verdict");
        assert!(
            ["time_limit", "memory_limit", "runtime_error"]
                .contains(&verdict.as_str().unwrap_or_default()),
            "{room}: {verdict}"
        );
        // The room still edits and runs.
        a.set_file("main.py", "print('fine')\n").await;
        a.committed().await;
        let next = start_run(&server, room, json!({})).await;
        assert!(a.pump_until(|c| done(c, &next), WAIT).await);
        assert_eq!(a.run_field(&next, "stdout"), "fine\n", "{room}");
    }
    bystander.type_text("still typing").await;
    assert!(
        bystander
            .pump_until(|c| c.text() == "still typing", WAIT)
            .await
    );
    assert_eq!(server.get("/healthz").await.0, 200);
}

#[tokio::test]
async fn bad_requests_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let _a = Client::join(&server.url("real"), 1).await;
    let (status, body) = server.get_json("/api/rooms/never-made/runs").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(server.get("/api/rooms/never-made/runs").await.0, 404);
    assert_eq!(server.post("/api/rooms/.bad/runs", json!({})).await.0, 400);
    assert_eq!(server.get_json("/api/rooms/real/runs/nope").await.0, 404);
    let (status, body) = server
        .post(
            "/api/rooms/real/runs",
            json!({"stdin": "x".repeat(1_100_000)}),
        )
        .await;
    assert_eq!(status, 413, "{body}");
    assert!(body["error"].is_string());
    let (status, _) = server
        .post("/api/rooms/real/runs", json!({"code": "print('sneaky')"}))
        .await;
    assert_eq!(status, 400, "code sent by a client is never run");
    let (status, body) = server.get_json("/api/rooms/real/runs").await;
    assert_eq!(
        (status, body["runs"].as_array().map(Vec::len)),
        (200, Some(0))
    );
}

#[tokio::test]
async fn a_multi_file_program_imports_its_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let url = server.url("multi");
    let mut a = Client::join(&url, 1).await;
    a.set_file("helper.py", "def greet(who):\n    return f'hello {who}'\n")
        .await;
    a.set_file("pkg/util.py", "ANSWER = 42\n").await;
    a.set_file(
        "main.py",
        "from helper import greet\nfrom pkg.util import ANSWER\nprint(greet('room'), ANSWER)\n",
    )
    .await;
    a.committed().await;
    let id = start_run(&server, "multi", json!({})).await;
    assert!(a.pump_until(|c| done(c, &id), WAIT).await);
    assert_eq!(
        a.run_field(&id, "stdout"),
        "hello room 42\n",
        "{}",
        a.run_field(&id, "stderr")
    );
    assert_eq!(a.run_field(&id, "verdict"), "ok");
}

#[tokio::test]
async fn go_and_typescript_run_from_a_room() {
    use yrs::{Map, Transact};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let cases = [
        (
            "go",
            "main.go",
            "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hi from go\") }\n",
            "hi from go\n",
        ),
        (
            "typescript",
            "main.ts",
            "const who: string = 'ts';\nconsole.log(`hi from ${who}`);\n",
            "hi from ts\n",
        ),
    ];
    for (language, entry, code, expected) in cases {
        let room = format!("lang-{language}");
        let mut a = Client::join(&server.url(&room), 1).await;
        a.set_file(entry, code).await;
        let meta = a.doc.get_or_insert_map("meta");
        let update = {
            let mut txn = a.doc.transact_mut();
            meta.insert(&mut txn, "language", language);
            meta.insert(&mut txn, "entry", entry);
            txn.encode_update_v1()
        };
        a.send(peercode_protocol::Message::Update(update.into()))
            .await;
        a.committed().await;
        let id = start_run(&server, &room, json!({})).await;
        assert!(a.pump_until(|c| done(c, &id), WAIT).await, "{language}");
        assert_eq!(
            a.run_field(&id, "stdout"),
            expected,
            "{language}: {}",
            a.run_field(&id, "stderr")
        );
    }
    // A type error is a compile error, shown with stderr.
    let mut a = Client::join(&server.url("lang-typescript"), 2).await;
    a.set_file("main.ts", "const n: number = 'x';\n").await;
    assert!(a.pump_until(|c| c.updates_received >= 1, WAIT).await);
    let id = start_run(&server, "lang-typescript", json!({})).await;
    assert!(a.pump_until(|c| done(c, &id), WAIT).await);
    assert_eq!(a.run_field(&id, "verdict"), "compile_error");
    assert!(
        a.run_field(&id, "stderr")
            .as_str()
            .unwrap_or_default()
            .contains("TS2322")
    );
}
