//! Replay as a player and a user see it: a scripted session of two Yjs clients (typing at
//! known moments, a paste, a run) rebuilt at each moment exactly as the clients held it,
//! the timeline's markers at the right times, a fork holding a moment's text, the events
//! of a range page by page, and a recording exported, imported and exported again.
//!
//! The run needs the sandbox, so root (as CI runs).

// Helpers outside the #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use common::{Client, Server, wait_until};
use serde_json::{Value, json};
use yrs::updates::decoder::Decode;
use yrs::{GetString, Map, Transact};

const WAIT: Duration = Duration::from_secs(60);
const ALICE: &str = r##"{"user":{"name":"Alice","color":"#ff0000"}}"##;
const BOB: &str = r##"{"user":{"name":"Bob","color":"#0000ff"}}"##;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A moment of the session: the time just after both clients held `text`.
struct Moment {
    t: i64,
    text: String,
}

/// `writer` appends `text` to main.py; once both clients hold the result the moment is
/// taken, and the clock is let past it so nothing later shares its millisecond.
async fn step(writer: &mut Client, other: &mut Client, text: &str) -> Moment {
    let expected = format!("{}{text}", writer.file_text("main.py").unwrap());
    writer.append_file("main.py", text).await;
    for c in [&mut *writer, &mut *other] {
        let want = expected.clone();
        assert!(
            c.pump_until(|c| c.file_text("main.py").as_deref() == Some(&want), WAIT)
                .await,
            "both clients see the edit"
        );
    }
    let t = now_ms();
    assert!(wait_until(|| now_ms() > t, WAIT).await);
    Moment { t, text: expected }
}

async fn main_py_at(server: &Server, room: &str, t: i64) -> String {
    let (status, state) = server
        .get_json(&format!("/api/rooms/{room}/state?at={t}"))
        .await;
    assert_eq!(status, 200, "{state}");
    state["files"]["main.py"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn join_named(server: &Server, room: &str, id: u64, state: &str) -> Client {
    let mut c = Client::join(&server.url(room), id).await;
    c.set_awareness(state).await;
    assert!(
        c.pump_until(|c| c.file_text("main.py").is_some(), WAIT)
            .await,
        "the room's main.py arrives"
    );
    c
}

#[tokio::test]
async fn a_recorded_session_rebuilds_at_every_moment_and_forks_into_a_new_room() {
    let dir = tempfile::tempdir().unwrap();
    // Keyframes every 3 updates, so most moments rebuild from a keyframe plus updates.
    let server = Server::start(dir.path(), &["--snapshot-every", "3"]);
    let room = "recorded";
    let before = now_ms() - 1;
    assert!(wait_until(|| now_ms() > before + 1, WAIT).await);
    let mut alice = join_named(&server, room, 11, ALICE).await;
    let mut bob = join_named(&server, room, 22, BOB).await;

    let paste = format!("# {}\n", "x".repeat(300));
    let mut moments = vec![
        step(&mut alice, &mut bob, "def f():\n").await,
        step(&mut bob, &mut alice, "    return 1\n").await,
        step(&mut alice, &mut bob, &paste).await,
        step(&mut bob, &mut alice, "print(f())\n").await,
    ];
    let pasted_between = (moments[1].t, moments[2].t);

    let (status, run) = server
        .post(&format!("/api/rooms/{room}/runs"), json!({"name": "Alice"}))
        .await;
    assert_eq!(status, 202, "{run}");
    let id = run["id"].as_str().unwrap().to_owned();
    for c in [&mut alice, &mut bob] {
        assert!(
            c.pump_until(|c| c.run_field(&id, "status") == "done", WAIT)
                .await
        );
    }
    let ran_between = (moments[3].t, now_ms());
    // Bob adds a file: a marker of its own.
    bob.set_file("notes.md", "todo").await;
    assert!(
        alice
            .pump_until(|c| c.file_text("notes.md").is_some(), WAIT)
            .await
    );
    // After the run and the new file: the same main.py, with the run in the document.
    let t = now_ms();
    assert!(wait_until(|| now_ms() > t, WAIT).await);
    moments.push(Moment {
        t,
        text: moments[3].text.clone(),
    });

    // The document at each moment is what both clients held then.
    for m in &moments {
        assert_eq!(main_py_at(&server, room, m.t).await, m.text, "at {}", m.t);
    }
    // Before anything was recorded: an empty document.
    let (status, empty) = server
        .get_json(&format!("/api/rooms/{room}/state?at={before}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            empty["seq"].as_u64(),
            empty["files"].as_object().map(|f| f.len())
        ),
        (Some(0), Some(0))
    );

    // The whole state, as a player asks for it: the Yjs update rebuilds the same text,
    // the run is there with its output, and both people are present with their names.
    let t = moments.last().unwrap().t;
    let (_, state) = server
        .get_json(&format!(
            "/api/rooms/{room}/state?at={t}&include=update,presence,runs"
        ))
        .await;
    let update = base64::engine::general_purpose::STANDARD
        .decode(state["update"].as_str().unwrap())
        .unwrap();
    let doc = yrs::Doc::new();
    doc.transact_mut()
        .apply_update(yrs::Update::decode_v1(&update).unwrap())
        .unwrap();
    let files = doc.get_or_insert_map("files");
    let txn = doc.transact();
    let Some(yrs::Out::YText(main)) = files.get(&txn, "main.py") else {
        panic!("no main.py in the state's update")
    };
    assert_eq!(main.get_string(&txn), moments.last().unwrap().text);
    assert_eq!(state["runs"][&id]["stdout"], "1\n", "{}", state["runs"]);
    assert_eq!(state["runs"][&id]["verdict"], "ok");
    let present: Vec<&str> = state["presence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["state"]["user"]["name"].as_str())
        .collect();
    assert!(
        present.contains(&"Alice") && present.contains(&"Bob"),
        "{present:?}"
    );
    assert!(
        state["presence"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["author"].as_str().is_some_and(|a| a.starts_with("conn:"))),
        "each present state names its connection: {}",
        state["presence"]
    );

    // The timeline: both people by name, their joins, the paste and the run where they were.
    let (status, timeline) = server
        .get_json(&format!("/api/rooms/{room}/timeline"))
        .await;
    assert_eq!(status, 200, "{timeline}");
    let names: Vec<&str> = timeline["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Alice") && names.contains(&"Bob"),
        "{names:?}"
    );
    let markers = timeline["markers"].as_array().unwrap();
    let find =
        |kind: &str| -> Vec<&Value> { markers.iter().filter(|m| m["kind"] == kind).collect() };
    let joins: Vec<&str> = find("join")
        .iter()
        .map(|m| m["label"].as_str().unwrap())
        .collect();
    assert!(
        joins.contains(&"Alice joined") && joins.contains(&"Bob joined"),
        "{joins:?}"
    );
    let pastes = find("paste");
    assert_eq!(pastes.len(), 1, "{markers:?}");
    let t_paste = pastes[0]["t_ms"].as_i64().unwrap();
    assert!(
        pasted_between.0 < t_paste && t_paste <= pasted_between.1,
        "paste at {t_paste}, {pasted_between:?}"
    );
    assert!(
        pastes[0]["label"]
            .as_str()
            .unwrap()
            .starts_with("Alice pasted")
    );
    let files = find("file");
    assert_eq!(files.len(), 1, "{markers:?}");
    assert_eq!(files[0]["label"], "Bob added notes.md");
    let runs = find("run");
    assert_eq!(runs.len(), 1);
    let t_run = runs[0]["t_ms"].as_i64().unwrap();
    assert!(ran_between.0 < t_run && t_run <= ran_between.1);
    assert_eq!(runs[0]["label"], "Run by Alice: ok");
    assert!(timeline["start_ms"].as_i64().unwrap() > before);
    let end_ms = timeline["end_ms"].as_i64().unwrap();
    assert!(end_ms >= runs[0]["end_ms"].as_i64().unwrap() && end_ms <= now_ms());

    // Fork the moment after Bob's first line: a new room holding exactly that text.
    let (status, forked) = server
        .post(
            &format!("/api/rooms/{room}/fork"),
            json!({"at": moments[1].t}),
        )
        .await;
    assert_eq!(status, 201, "{forked}");
    let copy = forked["room"].as_str().unwrap();
    assert_ne!(copy, room);
    let carol = Client::join(&server.url(copy), 33).await;
    assert_eq!(
        carol.file_text("main.py").as_deref(),
        Some(moments[1].text.as_str())
    );
    let (status, _) = server
        .get_json(&format!("/api/rooms/{copy}/timeline"))
        .await;
    assert_eq!(status, 200, "the copy has a recording of its own");
    // The original is untouched.
    assert_eq!(
        main_py_at(&server, room, now_ms()).await,
        moments.last().unwrap().text
    );
}

#[tokio::test]
async fn events_come_page_by_page_with_nothing_lost_or_repeated() {
    let dir = tempfile::tempdir().unwrap();
    // 5000 keystrokes, each sent once the one before came back (keystrokes that queue up
    // back to back would be stored merged), with no per-connection message limit.
    let server = Server::start(dir.path(), &["--ws-messages-per-second", "0"]);
    let room = "pages";
    let mut alice = join_named(&server, room, 5, ALICE).await;
    let typed = 5_000;
    for i in 0..typed {
        alice
            .append_file("main.py", &((b'a' + (i % 26) as u8) as char).to_string())
            .await;
        assert!(alice.pump_until(|c| c.updates_received > i, WAIT).await);
    }
    let (_, timeline) = server
        .get_json(&format!("/api/rooms/{room}/timeline"))
        .await;
    let last_seq = timeline["last_seq"].as_u64().unwrap();
    let mut after = timeline["start_ms"].as_i64().unwrap() - 1;
    let until = timeline["end_ms"].as_i64().unwrap();
    let (mut seqs, mut pages, mut presence) = (Vec::new(), 0, 0);
    loop {
        let (status, page) = server
            .get_json(&format!(
                "/api/rooms/{room}/events?after={after}&until={until}"
            ))
            .await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        for e in page["events"].as_array().unwrap() {
            let t = e["t_ms"].as_i64().unwrap();
            assert!(t > after && t <= until);
            match e["type"].as_str().unwrap() {
                "update" => seqs.push(e["seq"].as_u64().unwrap()),
                "presence" => {
                    presence += 1;
                    assert_eq!(e["states"][0]["state"]["user"]["name"], "Alice");
                }
                _ => {}
            }
        }
        if page["more"] == false {
            break;
        }
        after = page["next_after"].as_i64().unwrap();
        assert!(pages < 100, "paging does not end");
    }
    assert!(pages > 1, "5000 updates take more than one page");
    assert_eq!(
        last_seq,
        typed as u64 + 1,
        "the room's first update and every keystroke"
    );
    let expected: Vec<u64> = (1..=last_seq).collect();
    let first_wrong = seqs.iter().zip(&expected).position(|(a, b)| a != b);
    assert!(
        seqs.len() == expected.len() && first_wrong.is_none(),
        "every update once, in order: {} seqs for {last_seq}, first wrong at {first_wrong:?}",
        seqs.len()
    );
    assert!(presence >= 1);
}

#[tokio::test]
async fn replay_routes_answer_bad_requests_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    for path in [
        "/api/rooms/nobody/timeline",
        "/api/rooms/nobody/state?at=5",
        "/api/rooms/nobody/events",
    ] {
        let (status, body) = server.get_json(path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(body["error"].as_str().unwrap().contains("no recording"));
    }
    let (status, _) = server
        .post("/api/rooms/nobody/fork", json!({"at": 1}))
        .await;
    assert_eq!(status, 404);
    let _c = join_named(&server, "exists", 1, ALICE).await;
    for (path, says) in [
        ("/api/rooms/exists/state?at=soon", "Unix milliseconds"),
        ("/api/rooms/exists/state?include=everything", "include"),
        ("/api/rooms/exists/events?after=10&until=5", "before"),
        ("/api/rooms/.hidden/timeline", "invalid room name"),
    ] {
        let (status, body) = server.get_json(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(says),
            "{path}: {body}"
        );
    }
    let (status, body) = server
        .post("/api/rooms/exists/fork", json!({"at": "now"}))
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = server
        .post("/api/rooms/exists/fork", json!({"at": 1}))
        .await;
    assert_eq!(status, 400, "a moment before the room existed: {body}");
    assert!(body["error"].as_str().unwrap().contains("no document yet"));
}

fn peercode(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_peercode"))
        .args(args)
        .output()
        .expect("run peercode")
}

#[tokio::test]
async fn a_recording_exports_imports_and_exports_again_identically() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_owned();
    let server = Server::start(dir.path(), &["--snapshot-every", "4"]);
    let room = "exported";
    let mut alice = join_named(&server, room, 7, ALICE).await;
    let mut bob = join_named(&server, room, 8, BOB).await;
    let mut last = step(&mut alice, &mut bob, "x = 1\n").await;
    for line in ["y = 2\n", "z = x + y\n", "print(z)\n", "# done\n"] {
        last = step(&mut bob, &mut alice, line).await;
    }
    drop((alice, bob));

    let out = dir.path().join("one.peercode");
    let export = peercode(&[
        "replay",
        "export",
        room,
        "-o",
        out.to_str().unwrap(),
        "--data-dir",
        &data,
    ]);
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let import = peercode(&[
        "replay",
        "import",
        out.to_str().unwrap(),
        "--room",
        "imported",
        "--data-dir",
        &data,
    ]);
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&import.stdout).trim(), "imported");
    let again = dir.path().join("two.peercode");
    let export = peercode(&[
        "replay",
        "export",
        "imported",
        "-o",
        again.to_str().unwrap(),
        "--data-dir",
        &data,
    ]);
    assert!(export.status.success());

    let body = |p: &std::path::Path| -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .skip(1)
            .map(str::to_owned)
            .collect()
    };
    let (first, second) = (body(&out), body(&again));
    assert!(first.len() > 5);
    assert_eq!(
        first, second,
        "export → import → export gives the same events"
    );
    let header: Value = serde_json::from_str(
        std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["format"], "peercode-recording");
    assert_eq!(header["version"], 1);
    assert_eq!(header["room"], room);

    // The imported room replays like the original.
    assert_eq!(main_py_at(&server, "imported", last.t).await, last.text);
    let (_, timeline) = server.get_json("/api/rooms/imported/timeline").await;
    assert_eq!(timeline["participants"].as_array().unwrap().len(), 2);

    // A damaged file is refused with a clear message, and no room appears.
    let text = std::fs::read_to_string(&out).unwrap();
    let cut = dir.path().join("cut.peercode");
    std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
    let failed = peercode(&[
        "replay",
        "import",
        cut.to_str().unwrap(),
        "--room",
        "broken",
        "--data-dir",
        &data,
    ]);
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains("truncated") || stderr.contains("stops part-way"),
        "{stderr}"
    );
    let (status, _) = server.get_json("/api/rooms/broken/timeline").await;
    assert_eq!(status, 404, "nothing of a refused file is stored");
    // The same file into PostgreSQL (`--database-url`) and out again: the same events.
    let base = std::env::var("PEERCODE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into());
    let schema = format!("peercode_replay_test_{}", std::process::id());
    let url = format!("{base}?schema={schema}");
    let into_pg = peercode(&[
        "replay",
        "import",
        out.to_str().unwrap(),
        "--database-url",
        &url,
    ]);
    // The blocking client runs a runtime of its own: on a thread of its own, then.
    let dropped = || {
        let (base, schema) = (base.clone(), schema.clone());
        std::thread::spawn(move || {
            let mut admin = postgres::Client::connect(&base, postgres::NoTls).expect("PostgreSQL");
            admin
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .expect("drop the test schema");
        })
        .join()
        .expect("dropping the test schema");
    };
    if !into_pg.status.success() {
        dropped();
        panic!(
            "import into PostgreSQL: {}",
            String::from_utf8_lossy(&into_pg.stderr)
        );
    }
    assert_eq!(String::from_utf8_lossy(&into_pg.stdout).trim(), room);
    let from_pg = dir.path().join("pg.peercode");
    let export = peercode(&[
        "replay",
        "export",
        room,
        "-o",
        from_pg.to_str().unwrap(),
        "--database-url",
        &url,
    ]);
    dropped();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    assert_eq!(
        body(&from_pg),
        first,
        "PostgreSQL keeps the recording exactly"
    );

    // Importing over an existing room is refused too.
    let taken = peercode(&[
        "replay",
        "import",
        out.to_str().unwrap(),
        "--room",
        room,
        "--data-dir",
        &data,
    ]);
    assert!(!taken.status.success());
    assert!(String::from_utf8_lossy(&taken.stderr).contains("already exists"));
}

/// One server per data directory: a second `peercode serve` on it stops at once with a
/// clear error (it would take over the first one's journal), and the first keeps serving.
#[tokio::test]
async fn a_second_server_on_the_same_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let mut alice = join_named(&server, "kept", 7, ALICE).await;
    let mut bob = join_named(&server, "kept", 8, BOB).await;
    let before = step(&mut alice, &mut bob, "x = 1\n").await;

    let mut second = Command::new(env!("CARGO_BIN_EXE_peercode"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let exited = wait_until(|| second.try_wait().unwrap().is_some(), WAIT).await;
    if !exited {
        second.kill().unwrap();
    }
    let out = second.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(exited, "the second server kept running: {stderr}");
    assert!(!out.status.success());
    assert!(
        stderr.contains("is using the journal"),
        "unclear error: {stderr}"
    );

    let after = step(&mut bob, &mut alice, "y = 2\n").await;
    assert!(after.text.starts_with(&before.text));
    assert_eq!(main_py_at(&server, "kept", after.t).await, after.text);
}
