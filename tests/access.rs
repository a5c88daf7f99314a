//! Accounts, roles and access control (issue 13) against the real server: the permission
//! matrix — owner, editor, viewer, guest by editor link, guest by viewer link, stranger,
//! signed-out × read, write, run, replay, manage — for a private, a public and an unowned
//! room and with `--anonymous-rooms false`; access changes on open connections; deletion;
//! secrets kept out of the database and the logs; rate limits; forged credentials.
//!
//! Runs need the sandbox, so root (as CI runs).

mod common;

use std::time::Duration;

use common::{Client, Cred, Reply, Server};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);
/// Runs include starting Python in a sandbox on a busy 2-core machine.
const RUN_WAIT: Duration = Duration::from_secs(60);
const PASSWORD: &str = "correct horse battery";

/// What a cell must show: success (0) or the refusal's status.
#[derive(Debug, Clone, Copy)]
struct Expect {
    /// WebSocket sync and GET state.
    read: u16,
    write: Write,
    /// POST runs (and stop).
    run: u16,
    /// GET timeline.
    replay: u16,
    /// Create an invite link and change a member's role.
    manage: u16,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Write {
    /// The update reaches everyone and the server's document.
    Applied,
    /// Refused with permission-denied; nobody's document changes.
    Denied,
    /// The connection itself was refused (see `read`).
    NoConnection,
}

const OK: u16 = 0;

/// One caller: its credentials over HTTP and over the WebSocket (query and cookie).
#[derive(Debug, Clone)]
struct Actor {
    name: &'static str,
    http: Cred,
    ws: Cred,
}

/// A room under test with two connections of its owner: one that watches what everyone
/// receives, one that writes fences.
struct Room {
    name: String,
    owner: Cred,
    observer: Client,
    fencer: Client,
    fences: u32,
}

async fn create_room(server: &Server, owner: &Cred, visibility: &str) -> String {
    let reply = server
        .call(
            "POST",
            "/api/rooms",
            owner,
            Some(json!({ "visibility": visibility })),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    assert_eq!(reply.body["role"], "owner");
    reply.body["room"].as_str().expect("a room name").to_owned()
}

async fn open_room(server: &Server, name: &str, owner: &Cred) -> Room {
    let url = server.ws_url(name, &Cred::default());
    let cookie = owner.cookie.as_deref();
    let mut observer = Client::join_as(&url, 1, cookie).await.expect("owner joins");
    let fencer = Client::join_as(&url, 2, cookie).await.expect("owner joins");
    observer.append_file("main.py", "# start\n").await;
    assert!(observer.pump_until(|c| c.updates_received >= 1, WAIT).await);
    Room {
        name: name.to_owned(),
        owner: owner.clone(),
        observer,
        fencer,
        fences: 0,
    }
}

/// The server's copy of main.py (read as the owner).
async fn server_text(server: &Server, room: &Room) -> String {
    let reply = server
        .call(
            "GET",
            &format!("/api/rooms/{}/state", room.name),
            &room.owner,
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["files"]["main.py"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn status_or_ok(reply: &Reply, ok: u16) -> u16 {
    if reply.status == ok { OK } else { reply.status }
}

/// Check every cell of one actor's row.
async fn check_row(server: &Server, room: &mut Room, actor: &Actor, expect: Expect, id: u64) {
    let who = actor.name;
    let r = room.name.clone();

    // read: the WebSocket sync, and GET state.
    let url = server.ws_url(&r, &actor.ws);
    let joined = Client::join_as(&url, 100 + id, actor.ws.cookie.as_deref()).await;
    let mut conn = match joined {
        Ok(c) => {
            assert_eq!(expect.read, OK, "{who}: the WebSocket was accepted");
            assert!(
                c.file_text("main.py")
                    .unwrap_or_default()
                    .contains("# start"),
                "{who}: synced the document"
            );
            Some(c)
        }
        Err(status) => {
            assert_eq!(status, expect.read, "{who}: WebSocket upgrade");
            None
        }
    };
    let state = server
        .call("GET", &format!("/api/rooms/{r}/state"), &actor.http, None)
        .await;
    assert_eq!(
        status_or_ok(&state, 200),
        expect.read,
        "{who}: GET state {:?}",
        state.body
    );
    if state.status == 200 {
        assert!(
            state.body["files"]["main.py"]
                .as_str()
                .unwrap_or_default()
                .contains("# start")
        );
    }

    // write: an update over the WebSocket.
    let marker = format!("# written by {who}\n");
    match (&mut conn, expect.write) {
        (None, w) => assert_eq!(w, Write::NoConnection, "{who}: could not connect to write"),
        (Some(c), Write::Applied) => {
            c.append_file("main.py", &marker).await;
            assert!(
                room.observer
                    .pump_until(
                        |o| o.file_text("main.py").unwrap_or_default().contains(&marker),
                        WAIT
                    )
                    .await,
                "{who}: the owner sees the edit"
            );
            assert!(
                server_text(server, room).await.contains(&marker),
                "{who}: stored"
            );
        }
        (Some(c), Write::Denied) => {
            let before = c.denied;
            c.append_file("main.py", &marker).await;
            assert!(
                c.pump_until(|c| c.denied > before, WAIT).await,
                "{who}: told permission denied"
            );
            assert!(c.closed.is_none(), "{who}: the connection stays open");
            // A later edit by someone else: once it arrives, anything broadcast before it
            // would have too.
            room.fences += 1;
            let fence = format!("# fence {}\n", room.fences);
            room.fencer.append_file("main.py", &fence).await;
            assert!(
                room.observer
                    .pump_until(
                        |o| o.file_text("main.py").unwrap_or_default().contains(&fence),
                        WAIT
                    )
                    .await
            );
            let seen = room.observer.file_text("main.py").unwrap_or_default();
            assert!(
                !seen.contains(&marker),
                "{who}: nobody received the refused edit"
            );
            let stored = server_text(server, room).await;
            assert!(
                stored.contains(&fence) && !stored.contains(&marker),
                "{who}: not stored"
            );
        }
        (Some(_), Write::NoConnection) => panic!("{who}: connected but expected not to"),
    }

    // run: start (and stop) a run.
    let started = server
        .call(
            "POST",
            &format!("/api/rooms/{r}/runs"),
            &actor.http,
            Some(json!({})),
        )
        .await;
    assert_eq!(
        status_or_ok(&started, 202),
        expect.run,
        "{who}: POST runs {:?}",
        started.body
    );
    if started.status == 202 {
        let run = started.body["id"].as_str().expect("run id").to_owned();
        let stop = server
            .call(
                "POST",
                &format!("/api/rooms/{r}/runs/{run}/stop"),
                &actor.http,
                None,
            )
            .await;
        assert!(
            matches!(stop.status, 200 | 409),
            "{who}: stop {:?}",
            stop.body
        );
        let path = format!("/api/rooms/{r}/runs/{run}");
        let mut finished = false;
        let deadline = tokio::time::Instant::now() + RUN_WAIT;
        while !finished && tokio::time::Instant::now() < deadline {
            let run = server.call("GET", &path, &room.owner, None).await;
            finished = run.body["status"] == "done";
            if !finished {
                room.observer.drain(Duration::from_millis(20)).await;
            }
        }
        assert!(finished, "{who}: the run ended");
    } else {
        let stop = server
            .call(
                "POST",
                &format!("/api/rooms/{r}/runs/nope/stop"),
                &actor.http,
                None,
            )
            .await;
        assert_eq!(stop.status, expect.run, "{who}: stop {:?}", stop.body);
    }

    // replay: the timeline.
    let timeline = server
        .call(
            "GET",
            &format!("/api/rooms/{r}/timeline"),
            &actor.http,
            None,
        )
        .await;
    assert_eq!(
        status_or_ok(&timeline, 200),
        expect.replay,
        "{who}: timeline {:?}",
        timeline.body
    );

    // manage: an invite link, and a member's role.
    let invite = server
        .call(
            "POST",
            &format!("/api/rooms/{r}/invites"),
            &actor.http,
            Some(json!({ "role": "viewer" })),
        )
        .await;
    assert_eq!(
        status_or_ok(&invite, 201),
        expect.manage,
        "{who}: invite {:?}",
        invite.body
    );
    let member = server
        .call(
            "PUT",
            &format!("/api/rooms/{r}/members/extra"),
            &actor.http,
            Some(json!({ "role": "viewer" })),
        )
        .await;
    assert_eq!(
        status_or_ok(&member, 200),
        expect.manage,
        "{who}: set role {:?}",
        member.body
    );
}

/// Accounts of the matrix: owner, editor (API token), viewer, stranger, and `extra`, whose
/// role the manage cell changes.
struct People {
    owner: Cred,
    editor_token: String,
    viewer: Cred,
    stranger: Cred,
}

async fn people(server: &Server) -> People {
    let owner = server.signup("olive", PASSWORD).await;
    let editor = server.signup("eddie", PASSWORD).await;
    let viewer = server.signup("vera", PASSWORD).await;
    let stranger = server.signup("stan", PASSWORD).await;
    server.signup("extra", PASSWORD).await;
    let token = server
        .call(
            "POST",
            "/api/tokens",
            &editor,
            Some(json!({ "name": "matrix" })),
        )
        .await;
    assert_eq!(token.status, 201, "{:?}", token.body);
    People {
        owner,
        editor_token: token.body["token"].as_str().expect("token").to_owned(),
        viewer,
        stranger,
    }
}

async fn set_role(server: &Server, owner: &Cred, room: &str, user: &str, role: &str) {
    let reply = server
        .call(
            "PUT",
            &format!("/api/rooms/{room}/members/{user}"),
            owner,
            Some(json!({ "role": role })),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
}

async fn invite(server: &Server, owner: &Cred, room: &str, role: &str) -> (String, String) {
    let reply = server
        .call(
            "POST",
            &format!("/api/rooms/{room}/invites"),
            owner,
            Some(json!({ "role": role })),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let token = reply.body["token"].as_str().expect("token").to_owned();
    assert_eq!(
        reply.body["url"].as_str(),
        Some(format!("/r/{room}?invite={token}").as_str())
    );
    (reply.body["id"].as_str().expect("id").to_owned(), token)
}

/// The seven callers of an owned room.
async fn actors(server: &Server, p: &People, room: &str) -> Vec<Actor> {
    set_role(server, &p.owner, room, "eddie", "editor").await;
    set_role(server, &p.owner, room, "vera", "viewer").await;
    let (_, editor_link) = invite(server, &p.owner, room, "editor").await;
    let (_, viewer_link) = invite(server, &p.owner, room, "viewer").await;
    let guest = |link: &str, name: &str| Cred::query(&format!("invite={link}&name={name}"));
    vec![
        Actor {
            name: "owner",
            http: p.owner.clone(),
            ws: p.owner.clone(),
        },
        Actor {
            name: "editor",
            http: Cred::bearer(&p.editor_token),
            ws: Cred::query(&format!("token={}", p.editor_token)),
        },
        Actor {
            name: "viewer",
            http: p.viewer.clone(),
            ws: p.viewer.clone(),
        },
        Actor {
            name: "guest-editor",
            http: guest(&editor_link, "Gwen"),
            ws: guest(&editor_link, "Gwen"),
        },
        Actor {
            name: "guest-viewer",
            http: guest(&viewer_link, "Gus"),
            ws: guest(&viewer_link, "Gus"),
        },
        Actor {
            name: "stranger",
            http: p.stranger.clone(),
            ws: p.stranger.clone(),
        },
        Actor {
            name: "signed-out",
            http: Cred::default(),
            ws: Cred::default(),
        },
    ]
}

fn row(read: u16, write: Write, run: u16, replay: u16, manage: u16) -> Expect {
    Expect {
        read,
        write,
        run,
        replay,
        manage,
    }
}

#[tokio::test]
async fn the_permission_matrix_of_a_private_room() {
    use Write::*;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let p = people(&server).await;
    let name = create_room(&server, &p.owner, "private").await;
    let actors = actors(&server, &p, &name).await;
    let mut room = open_room(&server, &name, &p.owner).await;
    let expected = [
        row(OK, Applied, OK, OK, OK),          // owner
        row(OK, Applied, OK, OK, 403),         // editor
        row(OK, Denied, 403, OK, 403),         // viewer
        row(OK, Applied, OK, OK, 401),         // guest by editor link
        row(OK, Denied, 403, OK, 401),         // guest by viewer link
        row(404, NoConnection, 404, 404, 404), // stranger
        row(404, NoConnection, 404, 404, 401), // signed out
    ];
    for (i, (actor, expect)) in actors.iter().zip(expected).enumerate() {
        check_row(&server, &mut room, actor, expect, i as u64).await;
    }
}

#[tokio::test]
async fn the_permission_matrix_of_a_public_room() {
    use Write::*;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let p = people(&server).await;
    let name = create_room(&server, &p.owner, "public").await;
    let actors = actors(&server, &p, &name).await;
    let mut room = open_room(&server, &name, &p.owner).await;
    let expected = [
        row(OK, Applied, OK, OK, OK),  // owner
        row(OK, Applied, OK, OK, 403), // editor
        row(OK, Denied, 403, OK, 403), // viewer
        row(OK, Applied, OK, OK, 401), // guest by editor link
        row(OK, Denied, 403, OK, 401), // guest by viewer link
        row(OK, Denied, 403, OK, 403), // stranger: a viewer of a public room
        row(OK, Denied, 401, OK, 401), // signed out: a viewer too
    ];
    for (i, (actor, expect)) in actors.iter().zip(expected).enumerate() {
        check_row(&server, &mut room, actor, expect, i as u64).await;
    }
}

#[tokio::test]
async fn an_unowned_room_stays_open_to_everyone() {
    use Write::*;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let p = people(&server).await;
    // Created by simply connecting, as before accounts.
    let name = "open-room";
    let mut room = open_room(&server, name, &Cred::default()).await;
    room.owner = Cred::default();
    let actors = [
        Actor {
            name: "signed-in",
            http: p.viewer.clone(),
            ws: p.viewer.clone(),
        },
        Actor {
            name: "api-token",
            http: Cred::bearer(&p.editor_token),
            ws: Cred::query(&format!("token={}", p.editor_token)),
        },
        Actor {
            name: "signed-out",
            http: Cred::default(),
            ws: Cred::default(),
        },
    ];
    // Nobody manages a room nobody owns.
    let expected = [
        row(OK, Applied, OK, OK, 403),
        row(OK, Applied, OK, OK, 403),
        row(OK, Applied, OK, OK, 401),
    ];
    for (i, (actor, expect)) in actors.iter().zip(expected).enumerate() {
        check_row(&server, &mut room, actor, expect, i as u64).await;
    }
    // Anonymous authors keep their Yjs client id; accounts are recorded by name.
    let events = server
        .call(
            "GET",
            &format!("/api/rooms/{name}/events"),
            &Cred::default(),
            None,
        )
        .await;
    let authors: Vec<&str> = events.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["type"] == "update")
        .filter_map(|e| e["author"].as_str())
        .collect();
    assert!(authors.contains(&"yjs:1"), "{authors:?}");
    assert!(authors.contains(&"user:vera"), "{authors:?}");
    assert!(authors.contains(&"user:eddie"), "{authors:?}");
    assert!(authors.contains(&"yjs:102"), "{authors:?}");
}

#[tokio::test]
async fn without_anonymous_rooms_only_owned_rooms_work() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--anonymous-rooms", "false"]);
    let owner = server.signup("olive", PASSWORD).await;
    for cred in [Cred::default(), owner.clone()] {
        let url = server.ws_url("nobodys", &cred);
        let refused = Client::connect_as(&url, 1, cred.cookie.as_deref()).await;
        assert_eq!(refused.err(), Some(403), "connecting to an unowned room");
        for (method, path) in [
            ("GET", "/api/rooms/nobodys/state"),
            ("GET", "/api/rooms/nobodys/timeline"),
            ("GET", "/api/rooms/nobodys/access"),
            ("POST", "/api/rooms/nobodys/runs"),
        ] {
            let reply = server.call(method, path, &cred, Some(json!({}))).await;
            assert_eq!(reply.status, 403, "{method} {path}: {:?}", reply.body);
            assert!(
                reply.body["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("owner"))
            );
        }
    }
    // An owned room works as usual.
    let name = create_room(&server, &owner, "private").await;
    let mut room = open_room(&server, &name, &owner).await;
    room.observer.append_file("main.py", "print(1)\n").await;
    assert!(
        wait_for_text(&server, &room, "print(1)").await,
        "the owner edits their room"
    );
}

async fn wait_for_text(server: &Server, room: &Room, text: &str) -> bool {
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        if server_text(server, room).await.contains(text) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// A private room with an owner and the owner's observer connection.
async fn private_room(server: &Server) -> (Cred, Room) {
    let owner = server.signup("olive", PASSWORD).await;
    let name = create_room(server, &owner, "private").await;
    let room = open_room(server, &name, &owner).await;
    (owner, room)
}

#[tokio::test]
async fn a_viewer_sending_updates_changes_nothing_for_anyone() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let (owner, mut room) = private_room(&server).await;
    let viewer = server.signup("vera", PASSWORD).await;
    set_role(&server, &owner, &room.name, "vera", "viewer").await;
    let url = server.ws_url(&room.name, &Cred::default());
    let mut v = Client::join_as(&url, 7, viewer.cookie.as_deref())
        .await
        .expect("viewer joins");
    let before = server_text(&server, &room).await;
    // Updates, and a sync step 2 with content (as a client with offline edits sends).
    for i in 0..5 {
        v.append_file("main.py", &format!("# viewer {i}\n")).await;
    }
    let sv = yrs::StateVector::default();
    let everything = {
        use yrs::{ReadTxn, Transact};
        v.doc.transact().encode_diff_v1(&sv)
    };
    v.send(peercode_protocol::Message::SyncStep2(everything.into()))
        .await;
    assert!(
        v.pump_until(|c| c.denied >= 6, WAIT).await,
        "each one refused: {}",
        v.denied
    );
    // Awareness still works for a viewer, and its sync step 1 is answered.
    v.set_awareness(r#"{"user":{"name":"Vera"}}"#).await;
    assert!(
        room.observer.pump_until(|o| o.sees(7), WAIT).await,
        "presence reaches the owner"
    );
    room.fencer.append_file("main.py", "# fence\n").await;
    assert!(
        room.observer
            .pump_until(
                |o| o
                    .file_text("main.py")
                    .unwrap_or_default()
                    .contains("# fence"),
                WAIT
            )
            .await
    );
    let seen = room.observer.file_text("main.py").unwrap_or_default();
    assert!(!seen.contains("viewer"), "{seen}");
    let stored = server_text(&server, &room).await;
    assert_eq!(stored, format!("{before}# fence\n"));
    // The viewer itself resyncs to the server's document, which never had its edits.
    let mut again = Client::join_as(&url, 8, viewer.cookie.as_deref())
        .await
        .expect("rejoin");
    assert!(again.pump_until(|c| c.synced, WAIT).await);
    assert_eq!(again.file_text("main.py").unwrap_or_default(), stored);
}

#[tokio::test]
async fn a_revoked_link_closes_its_open_connections() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let (owner, mut room) = private_room(&server).await;
    let (id, token) = invite(&server, &owner, &room.name, "editor").await;
    let (_, other) = invite(&server, &owner, &room.name, "editor").await;
    let guest = Cred::query(&format!("invite={token}&name=Gwen"));
    let stays = Cred::query(&format!("invite={other}&name=Otto"));
    let mut g = Client::join_as(&server.ws_url(&room.name, &guest), 9, None)
        .await
        .expect("guest");
    let mut o = Client::join_as(&server.ws_url(&room.name, &stays), 10, None)
        .await
        .expect("guest");
    let reply = server
        .call(
            "DELETE",
            &format!("/api/rooms/{}/invites/{id}", room.name),
            &owner,
            None,
        )
        .await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    assert!(
        g.pump_until(|c| c.closed.is_some(), WAIT).await,
        "closed at once"
    );
    let (code, reason) = g.closed.clone().expect("closed");
    assert_eq!(code, 4003, "{reason}");
    assert!(reason.contains("revoked"), "{reason}");
    // The link no longer works, anywhere; the other link's guest is untouched.
    let again = Client::connect_as(&server.ws_url(&room.name, &guest), 11, None).await;
    assert_eq!(again.err(), Some(401));
    let state = server
        .call(
            "GET",
            &format!("/api/rooms/{}/state", room.name),
            &guest,
            None,
        )
        .await;
    assert_eq!(state.status, 401);
    o.append_file("main.py", "# otto\n").await;
    assert!(
        room.observer
            .pump_until(
                |c| c
                    .file_text("main.py")
                    .unwrap_or_default()
                    .contains("# otto"),
                WAIT
            )
            .await
    );
    assert!(o.closed.is_none());
}

#[tokio::test]
async fn a_role_change_applies_without_reconnecting() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let (owner, mut room) = private_room(&server).await;
    let eddie = server.signup("eddie", PASSWORD).await;
    set_role(&server, &owner, &room.name, "eddie", "editor").await;
    let url = server.ws_url(&room.name, &Cred::default());
    let mut e = Client::join_as(&url, 12, eddie.cookie.as_deref())
        .await
        .expect("editor joins");
    let sees = |text: &'static str| {
        move |c: &Client| c.file_text("main.py").unwrap_or_default().contains(text)
    };

    e.append_file("main.py", "# one\n").await;
    assert!(
        room.observer.pump_until(sees("# one"), WAIT).await,
        "an editor writes"
    );
    // Demoted: the next update is refused on the same connection. (It is made on a copy
    // of the client's document, so the client's own stays as the server's: a refused edit
    // would otherwise be the ancestor of the next one, which then could not apply.)
    set_role(&server, &owner, &room.name, "eddie", "viewer").await;
    send_from_a_copy(&mut e, "# two\n").await;
    assert!(
        e.pump_until(|c| c.denied == 1, WAIT).await,
        "refused after the demotion"
    );
    // Promoted again: accepted, still the same connection.
    set_role(&server, &owner, &room.name, "eddie", "editor").await;
    e.append_file("main.py", "# three\n").await;
    assert!(
        room.observer.pump_until(sees("# three"), WAIT).await,
        "accepted after promotion"
    );
    let text = room.observer.file_text("main.py").unwrap_or_default();
    assert!(!text.contains("# two"), "{text}");
    assert!(e.closed.is_none() && e.denied == 1);
    // Removed: the connection is closed with 4003.
    let reply = server
        .call(
            "DELETE",
            &format!("/api/rooms/{}/members/eddie", room.name),
            &owner,
            None,
        )
        .await;
    assert_eq!(reply.status, 204);
    assert!(e.pump_until(|c| c.closed.is_some(), WAIT).await);
    assert_eq!(e.closed.as_ref().map(|c| c.0), Some(4003));
    let again = Client::connect_as(&url, 13, eddie.cookie.as_deref()).await;
    assert_eq!(again.err(), Some(404), "a private room to a former member");
}

/// Append `text` to main.py in a copy of `c`'s document and send that update over `c`.
async fn send_from_a_copy(c: &mut Client, text: &str) {
    use yrs::updates::decoder::Decode;
    use yrs::{GetString, Map, ReadTxn, Text, Transact};
    let copy = yrs::Doc::with_client_id(c.doc.client_id().get() + 1000);
    let state = c
        .doc
        .transact()
        .encode_diff_v1(&yrs::StateVector::default());
    copy.transact_mut()
        .apply_update(yrs::Update::decode_v1(&state).expect("an update"))
        .expect("applies");
    let files = copy.get_or_insert_map("files");
    let update = {
        let mut txn = copy.transact_mut();
        let Some(yrs::Out::YText(t)) = files.get(&txn, "main.py") else {
            panic!("no main.py");
        };
        let len = t.len(&txn);
        t.insert(&mut txn, len, text);
        assert!(t.get_string(&txn).ends_with(text));
        txn.encode_update_v1()
    };
    c.send(peercode_protocol::Message::Update(update.into()))
        .await;
}

#[tokio::test]
async fn deleting_a_room_closes_its_connections_and_its_history_goes() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[]);
    let (owner, mut room) = private_room(&server).await;
    let eddie = server.signup("eddie", PASSWORD).await;
    set_role(&server, &owner, &room.name, "eddie", "editor").await;
    invite(&server, &owner, &room.name, "viewer").await;
    let url = server.ws_url(&room.name, &Cred::default());
    let mut e = Client::join_as(&url, 14, eddie.cookie.as_deref())
        .await
        .expect("editor joins");
    e.append_file("main.py", "# doomed\n").await;
    assert!(wait_for_text(&server, &room, "# doomed").await);
    // Only the owner deletes.
    let path = format!("/api/rooms/{}", room.name);
    assert_eq!(server.call("DELETE", &path, &eddie, None).await.status, 403);
    assert_eq!(
        server
            .call("DELETE", &path, &Cred::default(), None)
            .await
            .status,
        401
    );
    let reply = server.call("DELETE", &path, &owner, None).await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    for c in [&mut e, &mut room.observer] {
        assert!(c.pump_until(|c| c.closed.is_some(), WAIT).await);
        assert_eq!(c.closed.as_ref().map(|c| c.0), Some(4004));
    }
    let state = server
        .call("GET", &format!("{path}/state"), &owner, None)
        .await;
    assert_eq!(state.status, 404, "{:?}", state.body);
    let mine = server.call("GET", "/api/rooms", &owner, None).await;
    assert_eq!(mine.body["rooms"], json!([]));
    let mine = server.call("GET", "/api/rooms", &eddie, None).await;
    assert_eq!(mine.body["rooms"], json!([]));
    // Nothing of it is left in the store.
    assert!(server.stop());
    let store = peercode_store::SqliteStore::open(dir.path(), peercode_store::Durability::Process)
        .expect("open the store");
    use peercode_store::Store;
    assert_eq!(store.last_seq(&room.name).unwrap(), 0);
    assert_eq!(store.time_span(&room.name).unwrap(), None);
    assert_eq!(store.owned_room(&room.name).unwrap(), None);
    assert!(store.members(&room.name).unwrap().is_empty());
    assert!(store.invites(&room.name).unwrap().is_empty());
}

/// Every occurrence of `needle` in `haystack`.
fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn secrets_never_appear_in_clear_in_the_database_or_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("server.log");
    let mut server = Server::spawn_logged(dir.path(), &[], "debug", &log);
    let password = "hunter2-but-longer";
    let reply = server
        .call(
            "POST",
            "/api/auth/signup",
            &Cred::default(),
            Some(json!({ "username": "olive", "password": password })),
        )
        .await;
    assert_eq!(reply.status, 200);
    let signup_cookie = Cred::cookie_from(&reply);
    let login = server
        .call(
            "POST",
            "/api/auth/login",
            &Cred::default(),
            Some(json!({ "username": "olive", "password": password })),
        )
        .await;
    assert_eq!(login.status, 200);
    let cookie = Cred::cookie_from(&login);
    let wrong = server
        .call(
            "POST",
            "/api/auth/login",
            &Cred::default(),
            Some(json!({ "username": "olive", "password": "wrong-password-x" })),
        )
        .await;
    assert_eq!(wrong.status, 401);
    let token = server
        .call(
            "POST",
            "/api/tokens",
            &cookie,
            Some(json!({ "name": "ci" })),
        )
        .await;
    let token = token.body["token"].as_str().expect("token").to_owned();
    let name = create_room(&server, &cookie, "private").await;
    let (_, link) = invite(&server, &cookie, &name, "editor").await;
    // Use every credential, over HTTP and over the WebSocket (where it rides in the URL).
    let mut c = Client::join_as(
        &server.ws_url(&name, &Cred::query(&format!("token={token}"))),
        1,
        None,
    )
    .await
    .expect("token joins");
    c.append_file("main.py", "# by token\n").await;
    let mut g = Client::join_as(
        &server.ws_url(&name, &Cred::query(&format!("invite={link}&name=Gwen"))),
        2,
        None,
    )
    .await
    .expect("guest joins");
    g.append_file("main.py", "# by guest\n").await;
    let _ = Client::join_as(
        &server.ws_url(&name, &Cred::default()),
        3,
        cookie.cookie.as_deref(),
    )
    .await
    .expect("cookie joins");
    let refused = Client::connect_as(
        &server.ws_url(&name, &Cred::query("token=pct_forgedforgedforgedforged")),
        4,
        None,
    )
    .await;
    assert_eq!(refused.err(), Some(401));
    for path in ["/api/me", &format!("/api/rooms/{name}/state")] {
        assert_eq!(
            server
                .call("GET", path, &Cred::bearer(&token), None)
                .await
                .status,
            200
        );
        assert_eq!(server.call("GET", path, &cookie, None).await.status, 200);
    }
    assert_eq!(
        server
            .call(
                "GET",
                &format!("/api/rooms/{name}/state"),
                &Cred::query(&format!("invite={link}")),
                None
            )
            .await
            .status,
        200
    );
    assert!(
        g.pump_until(
            |c| c
                .file_text("main.py")
                .unwrap_or_default()
                .contains("# by token"),
            WAIT
        )
        .await
    );
    let session = |cred: &Cred| {
        cred.cookie
            .clone()
            .unwrap_or_default()
            .split_once('=')
            .map(|(_, v)| v.to_owned())
            .unwrap_or_default()
    };
    let secrets = [
        ("the password", password.to_owned()),
        ("the wrong password", "wrong-password-x".to_owned()),
        ("a session id", session(&signup_cookie)),
        ("a session id", session(&cookie)),
        ("an API token", token.clone()),
        (
            "an API token's body",
            token.trim_start_matches("pct_").to_owned(),
        ),
        ("an invite token", link.clone()),
    ];
    for (_, secret) in &secrets {
        assert!(secret.len() >= 16, "{secret}");
    }
    let files = |when: &str| {
        let mut found = Vec::new();
        for file in ["peercode.db", "peercode.db-wal"] {
            let bytes = std::fs::read(dir.path().join(file)).unwrap_or_default();
            for (what, secret) in &secrets {
                if contains(&bytes, secret) {
                    found.push(format!("{what} in {file} ({when})"));
                }
            }
        }
        found
    };
    // While running (the WAL holds the recent writes) and after a clean stop (all in the
    // database file).
    let wal = std::fs::metadata(dir.path().join("peercode.db-wal"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(wal > 0, "the WAL has the recent writes");
    let mut found = files("running");
    // The database holds what it should, so the search is not vacuous.
    let db_and_wal = [
        std::fs::read(dir.path().join("peercode.db")).unwrap_or_default(),
        std::fs::read(dir.path().join("peercode.db-wal")).unwrap_or_default(),
    ]
    .concat();
    assert!(contains(&db_and_wal, "# by guest") && contains(&db_and_wal, "olive"));
    logout(&server, &cookie).await;
    assert!(server.stop(), "clean stop");
    found.extend(files("stopped"));
    let log_text = std::fs::read(&log).expect("log");
    assert!(contains(&log_text, "DEBUG"), "debug logging was on");
    for (what, secret) in &secrets {
        if contains(&log_text, secret) {
            found.push(format!("{what} in the log"));
        }
    }
    assert!(found.is_empty(), "secrets in clear: {found:?}");
}

async fn logout(server: &Server, cookie: &Cred) {
    let reply = server.call("POST", "/api/auth/logout", cookie, None).await;
    assert_eq!(reply.status, 204);
    let cleared = reply
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

#[tokio::test]
async fn accounts_sign_up_in_and_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let none = Cred::default();
    let body = |u: &str, p: &str| Some(json!({ "username": u, "password": p }));
    let reply = server
        .call("POST", "/api/auth/signup", &none, body("Ada.L", PASSWORD))
        .await;
    assert_eq!(
        (reply.status, &reply.body),
        (200, &json!({ "username": "ada.l" }))
    );
    let set = reply
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    for part in [
        "peercode_session=",
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=2592000",
    ] {
        assert!(set.contains(part), "{set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP: {set}");
    let cookie = Cred::cookie_from(&reply);
    let me = server.call("GET", "/api/me", &cookie, None).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["username"], "ada.l");
    assert!(me.body["created_ms"].as_i64().is_some());
    // Usernames are unique whatever their case; bad input is a 400.
    let taken = server
        .call("POST", "/api/auth/signup", &none, body("ADA.l", PASSWORD))
        .await;
    assert_eq!(taken.status, 409, "{:?}", taken.body);
    for (u, p) in [
        ("ab", PASSWORD),
        ("ada lovelace", PASSWORD),
        ("bob", "short"),
    ] {
        let reply = server
            .call("POST", "/api/auth/signup", &none, body(u, p))
            .await;
        assert_eq!(reply.status, 400, "{u} {p}: {:?}", reply.body);
        assert!(reply.body["error"].is_string());
    }
    let long = "x".repeat(1025);
    assert_eq!(
        server
            .call("POST", "/api/auth/signup", &none, body("bob", &long))
            .await
            .status,
        400
    );
    // Behind a TLS proxy the cookie is Secure.
    let tls = reqwest::Client::new()
        .post(format!("http://{}/api/auth/login", server.addr))
        .header("x-forwarded-proto", "https")
        .json(&json!({ "username": "ada.l", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(tls.status(), 200);
    let set = tls.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set.contains("; Secure"), "{set}");
    // Malformed and oversized bodies.
    let raw = |path: &'static str, body: Vec<u8>| {
        let addr = server.addr.clone();
        async move {
            reqwest::Client::new()
                .post(format!("http://{addr}{path}"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(raw("/api/auth/login", b"{not json".to_vec()).await, 400);
    assert_eq!(raw("/api/auth/signup", vec![b' '; 64 * 1024]).await, 413);
    // A cross-site page cannot sign anyone in.
    let cross = reqwest::Client::new()
        .post(format!("http://{}/api/auth/login", server.addr))
        .header("origin", "http://evil.example")
        .json(&json!({ "username": "ada.l", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    // Tokens: shown once, listed without the secret, revoked.
    let made = server
        .call(
            "POST",
            "/api/tokens",
            &cookie,
            Some(json!({ "name": "ci" })),
        )
        .await;
    assert_eq!(made.status, 201);
    let token = made.body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("pct_"));
    let list = server.call("GET", "/api/tokens", &cookie, None).await;
    assert_eq!(list.body["tokens"].as_array().map(Vec::len), Some(1));
    assert!(!list.body.to_string().contains(&token));
    assert_eq!(list.body["tokens"][0]["name"], "ci");
    let bearer = Cred::bearer(&token);
    assert_eq!(
        server.call("GET", "/api/me", &bearer, None).await.body["username"],
        "ada.l"
    );
    let id = made.body["id"].as_str().unwrap();
    assert_eq!(
        server
            .call("DELETE", &format!("/api/tokens/{id}"), &cookie, None)
            .await
            .status,
        204
    );
    assert_eq!(
        server
            .call("DELETE", &format!("/api/tokens/{id}"), &cookie, None)
            .await
            .status,
        404
    );
    assert_eq!(
        server.call("GET", "/api/me", &bearer, None).await.status,
        401,
        "a revoked token"
    );
    // Signed out: the session is gone server-side.
    logout(&server, &cookie).await;
    assert_eq!(
        server.call("GET", "/api/me", &cookie, None).await.status,
        401
    );
    assert_eq!(server.call("GET", "/api/me", &none, None).await.status, 401);
    for path in ["/api/tokens", "/api/rooms"] {
        assert_eq!(
            server.call("GET", path, &none, None).await.status,
            401,
            "{path}"
        );
    }
}

#[tokio::test]
async fn brute_force_login_gets_429_with_retry_after() {
    let started = std::time::Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    server.signup("olive", PASSWORD).await;
    let none = Cred::default();
    let attempt = |user: &str, password: &str| {
        let body = Some(json!({ "username": user, "password": password }));
        let server = &server;
        let none = none.clone();
        async move { server.call("POST", "/api/auth/login", &none, body).await }
    };
    // Per account: five failures a minute.
    for i in 0..5 {
        let reply = attempt("olive", &format!("guess-number-{i}")).await;
        assert_eq!(reply.status, 401, "attempt {i}");
    }
    let locked = attempt("olive", "guess-number-5").await;
    assert_eq!(locked.status, 429);
    let retry: u64 = locked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(
        locked.body["error"]
            .as_str()
            .is_some_and(|e| e.contains("try again"))
    );
    // Even the right password waits now: guessing it in the window does not help.
    assert_eq!(attempt("OLIVE", PASSWORD).await.status, 429);
    // Per address: failures across many accounts add up (20 a minute; 5 spent above). The
    // bucket refills one failure every 3 s, so a slow machine (each failure costs an argon2
    // hash) may see a few more 401s before the 429: as many as refilled meanwhile.
    let mut statuses = Vec::new();
    for i in 0..40 {
        let status = attempt(&format!("user{i}"), "not-the-password")
            .await
            .status;
        statuses.push(status);
        if status == 429 {
            break;
        }
    }
    let refilled = (started.elapsed().as_secs() / 3) as usize + 1;
    assert_eq!(&statuses[..15], &[401; 15]);
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert!(
        statuses.len() <= 16 + refilled,
        "no more failures than the bucket held plus its refills ({refilled}): {statuses:?}"
    );
}

#[tokio::test]
async fn forged_expired_and_revoked_credentials_are_401_and_harm_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let owner = server.signup("olive", PASSWORD).await;
    let name = create_room(&server, &owner, "public").await;
    let forged: Vec<Cred> = vec![
        Cred::cookie("peercode_session=forgedforgedforgedforgedforgedforgedforged"),
        Cred::cookie("peercode_session=not base64!"),
        Cred::cookie(&format!("peercode_session={}", "A".repeat(5000))),
        Cred::bearer("pct_forgedforgedforgedforgedforgedforgedforgedf"),
        Cred::bearer("not-even-a-pct-token"),
        Cred::query("token=pct_forgedforgedforgedforgedforgedforged"),
        Cred::query("invite=forgedforgedforgedforgedforgedforgedforged&name=Eve"),
        Cred::query("invite=%00%01&name=Eve"),
    ];
    for cred in &forged {
        for path in [
            "/api/me".to_owned(),
            format!("/api/rooms/{name}/state"),
            format!("/api/rooms/{name}/access"),
        ] {
            let reply = server.call("GET", &path, cred, None).await;
            assert_eq!(reply.status, 401, "{cred:?} {path}: {:?}", reply.body);
            assert!(reply.body["error"].is_string());
        }
        if cred.bearer.is_none() {
            let url = server.ws_url(&name, cred);
            assert_eq!(
                Client::connect_as(&url, 1, cred.cookie.as_deref())
                    .await
                    .err(),
                Some(401),
                "{cred:?}"
            );
        }
    }
    // A stale cookie is cleared by the 401.
    let reply = server.call("GET", "/api/me", &forged[0], None).await;
    let set = reply
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        set.contains("peercode_session=;") && set.contains("Max-Age=0"),
        "{set}"
    );
    // An `Authorization` that is not Bearer, and one that is not text.
    let reply = reqwest::Client::new()
        .get(format!("http://{}/api/me", server.addr))
        .header("authorization", "Basic b2xpdmU6cGFzcw==")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 401);
    let reply = reqwest::Client::new()
        .get(format!("http://{}/api/me", server.addr))
        .header(
            "authorization",
            reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 401);
    // An expired session: a row whose time is up (written as the server would).
    let id = "expiredexpiredexpiredexpiredexpiredexpired";
    {
        use peercode_store::Store;
        use sha2::Digest;
        let store =
            peercode_store::SqliteStore::open(dir.path(), peercode_store::Durability::Process)
                .expect("open the store beside the server");
        let hash: String = sha2::Sha256::digest(id.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        store
            .create_session(&peercode_store::Session {
                id_hash: hash.clone(),
                username: "olive".into(),
                created_ms: 1,
                expires_ms: 2,
            })
            .unwrap();
        let expired = Cred::cookie(&format!("peercode_session={id}"));
        assert_eq!(
            server.call("GET", "/api/me", &expired, None).await.status,
            401
        );
        assert_eq!(
            store.session(&hash).unwrap(),
            None,
            "an expired session is deleted when seen"
        );
    }
    // An invite of another room is no key to this one.
    let other = create_room(&server, &owner, "private").await;
    let (_, link) = invite(&server, &owner, &other, "editor").await;
    let elsewhere = Cred::query(&format!("invite={link}&name=Eve"));
    assert_eq!(
        server
            .call("GET", &format!("/api/rooms/{name}/state"), &elsewhere, None)
            .await
            .status,
        401
    );
    // None of it hurt anything: the server still serves, the real owner still works.
    assert_eq!(server.get("/healthz").await.0, 200);
    assert_eq!(
        server.call("GET", "/api/me", &owner, None).await.status,
        200
    );
    let access = server
        .call("GET", &format!("/api/rooms/{name}/access"), &owner, None)
        .await;
    assert_eq!(access.body["role"], "owner");
}

#[tokio::test]
async fn access_tells_each_caller_their_role() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let owner = server.signup("olive", PASSWORD).await;
    let vera = server.signup("vera", PASSWORD).await;
    let name = create_room(&server, &owner, "private").await;
    set_role(&server, &owner, &name, "vera", "viewer").await;
    let (_, link) = invite(&server, &owner, &name, "editor").await;
    let path = format!("/api/rooms/{name}/access");
    let me = server.call("GET", &path, &owner, None).await;
    assert_eq!(
        me.body,
        json!({ "room": name, "role": "owner", "owned": true, "owner": "olive", "visibility": "private",
                "you": { "kind": "user", "name": "olive" } })
    );
    assert_eq!(
        server.call("GET", &path, &vera, None).await.body["role"],
        "viewer"
    );
    let guest = server
        .call(
            "GET",
            &path,
            &Cred::query(&format!("invite={link}&name=Gwen")),
            None,
        )
        .await;
    assert_eq!(guest.body["role"], "editor");
    assert_eq!(
        guest.body["you"],
        json!({ "kind": "guest", "name": "Gwen" })
    );
    assert_eq!(
        server
            .call("GET", &path, &Cred::default(), None)
            .await
            .status,
        404
    );
    let open = server
        .call(
            "GET",
            "/api/rooms/nobodys-room/access",
            &Cred::default(),
            None,
        )
        .await;
    assert_eq!(open.body["role"], "editor");
    assert_eq!(open.body["owned"], false);
    assert_eq!(
        open.body["you"],
        json!({ "kind": "anonymous", "name": null })
    );
    // Members are listed to members only; invites to the owner only, without tokens.
    let members = server
        .call("GET", &format!("/api/rooms/{name}/members"), &vera, None)
        .await;
    assert_eq!(members.status, 200);
    assert_eq!(members.body["owner"], "olive");
    assert_eq!(members.body["members"][0]["username"], "vera");
    let stan = server.signup("stan", PASSWORD).await;
    assert_eq!(
        server
            .call("GET", &format!("/api/rooms/{name}/members"), &stan, None)
            .await
            .status,
        404
    );
    let invites = server
        .call("GET", &format!("/api/rooms/{name}/invites"), &owner, None)
        .await;
    assert_eq!(invites.body["invites"].as_array().map(Vec::len), Some(1));
    assert!(!invites.body.to_string().contains(&link));
    assert_eq!(
        server
            .call("GET", &format!("/api/rooms/{name}/invites"), &vera, None)
            .await
            .status,
        403
    );
    // My rooms, with my role.
    let mine = server.call("GET", "/api/rooms", &vera, None).await;
    assert_eq!(mine.body["rooms"][0]["room"], name.as_str());
    assert_eq!(mine.body["rooms"][0]["role"], "viewer");
    // The owner's role does not change; unknown users and roles are refused.
    let put = |user: &str, role: &str| {
        let (server, owner, name) = (&server, &owner, &name);
        let (user, role) = (user.to_owned(), role.to_owned());
        async move {
            server
                .call(
                    "PUT",
                    &format!("/api/rooms/{name}/members/{user}"),
                    owner,
                    Some(json!({ "role": role })),
                )
                .await
                .status
        }
    };
    assert_eq!(put("olive", "viewer").await, 400);
    assert_eq!(put("nobody", "viewer").await, 404);
    assert_eq!(put("vera", "owner").await, 400);
    assert_eq!(put("vera", "admin").await, 400);
}

#[tokio::test]
async fn limits_on_rooms_guests_connections_and_messages() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            "--max-rooms-per-user",
            "2",
            "--max-guests-per-room",
            "1",
            "--ws-connections-per-ip-per-second",
            "6",
            "--ws-messages-per-second",
            "50",
        ],
    );
    let owner = server.signup("olive", PASSWORD).await;
    let name = create_room(&server, &owner, "private").await;
    create_room(&server, &owner, "public").await;
    let third = server
        .call(
            "POST",
            "/api/rooms",
            &owner,
            Some(json!({ "visibility": "public" })),
        )
        .await;
    assert_eq!(third.status, 403, "{:?}", third.body);
    let (_, link) = invite(&server, &owner, &name, "editor").await;
    let guest = |n: &str| server.ws_url(&name, &Cred::query(&format!("invite={link}&name={n}")));
    let _first = Client::join_as(&guest("One"), 1, None)
        .await
        .expect("the first guest");
    let mut second = Client::connect_as(&guest("Two"), 2, None)
        .await
        .expect("upgraded");
    assert!(second.pump_until(|c| c.closed.is_some(), WAIT).await);
    assert_eq!(
        second.closed.as_ref().map(|c| c.0),
        Some(1008),
        "{:?}",
        second.closed
    );
    // A guest without a name is a 400.
    let nameless = server.ws_url(&name, &Cred::query(&format!("invite={link}")));
    assert_eq!(
        Client::connect_as(&nameless, 3, None).await.err(),
        Some(400)
    );
    // A message flood is closed, not buffered.
    let mut flood = Client::join_as(&server.ws_url("flood", &Cred::default()), 4, None)
        .await
        .expect("join");
    for i in 0..200 {
        if !flood.try_type_text(&format!("{i}")).await {
            break;
        }
    }
    assert!(flood.pump_until(|c| c.closed.is_some(), WAIT).await);
    assert_eq!(
        flood.closed.as_ref().map(|c| c.0),
        Some(1008),
        "{:?}",
        flood.closed
    );
    // New connections per address: a burst past the limit is a 429.
    let mut statuses = Vec::new();
    for i in 0..12 {
        match Client::connect_as(&server.ws_url("burst", &Cred::default()), 10 + i, None).await {
            Ok(_) => statuses.push(101),
            Err(status) => statuses.push(status),
        }
    }
    assert!(statuses.contains(&429), "{statuses:?}");
}

#[tokio::test]
async fn forks_of_owned_rooms_belong_to_whoever_forks_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let (owner, mut room) = private_room(&server).await;
    let vera = server.signup("vera", PASSWORD).await;
    set_role(&server, &owner, &room.name, "vera", "viewer").await;
    let (_, link) = invite(&server, &owner, &room.name, "viewer").await;
    room.observer.append_file("main.py", "# forked\n").await;
    assert!(wait_for_text(&server, &room, "# forked").await);
    let path = format!("/api/rooms/{}/fork", room.name);
    // A guest has nobody to own the copy; a stranger cannot see the room.
    let guest = server
        .call(
            "POST",
            &path,
            &Cred::query(&format!("invite={link}")),
            Some(json!({})),
        )
        .await;
    assert_eq!(guest.status, 401, "{:?}", guest.body);
    let stan = server.signup("stan", PASSWORD).await;
    assert_eq!(
        server
            .call("POST", &path, &stan, Some(json!({})))
            .await
            .status,
        404
    );
    let fork = server.call("POST", &path, &vera, Some(json!({}))).await;
    assert_eq!(fork.status, 201, "{:?}", fork.body);
    let copy = fork.body["room"].as_str().unwrap().to_owned();
    let access = server
        .call("GET", &format!("/api/rooms/{copy}/access"), &vera, None)
        .await;
    assert_eq!(
        (&access.body["role"], &access.body["visibility"]),
        (&json!("owner"), &json!("private"))
    );
    assert_eq!(
        server
            .call("GET", &format!("/api/rooms/{copy}/state"), &owner, None)
            .await
            .status,
        404
    );
    let state = server
        .call("GET", &format!("/api/rooms/{copy}/state"), &vera, None)
        .await;
    assert!(
        state.body["files"]["main.py"]
            .as_str()
            .unwrap_or_default()
            .contains("# forked")
    );
    // An unowned room forks into an unowned room, as before.
    let mut open = Client::join(&server.url("open-src"), 5).await;
    open.append_file("main.py", "# open\n").await;
    assert!(open.pump_until(|c| c.updates_received >= 1, WAIT).await);
    let fork = server
        .call(
            "POST",
            "/api/rooms/open-src/fork",
            &Cred::default(),
            Some(json!({})),
        )
        .await;
    assert_eq!(fork.status, 201, "{:?}", fork.body);
    let copy = fork.body["room"].as_str().unwrap();
    let access = server
        .call(
            "GET",
            &format!("/api/rooms/{copy}/access"),
            &Cred::default(),
            None,
        )
        .await;
    assert_eq!(access.body["owned"], false);
}

#[tokio::test]
async fn updates_are_recorded_by_account_and_guest_and_named_so_in_the_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let (owner, room) = private_room(&server).await;
    let (id, link) = invite(&server, &owner, &room.name, "editor").await;
    let url = server.ws_url(
        &room.name,
        &Cred::query(&format!("invite={link}&name=Gwen%20G.")),
    );
    let mut g = Client::join_as(&url, 21, None).await.expect("guest joins");
    // The name in the presence is the client's to choose; the recorded author is not.
    g.set_awareness(r##"{"user":{"name":"Admin","color":"#123456"}}"##)
        .await;
    g.append_file("main.py", "# guest\n").await;
    assert!(wait_for_text(&server, &room, "# guest").await);
    let events = server
        .call(
            "GET",
            &format!("/api/rooms/{}/events", room.name),
            &owner,
            None,
        )
        .await;
    let authors: Vec<String> = events.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "update")
        .map(|e| e["author"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(authors.contains(&"user:olive".to_owned()), "{authors:?}");
    assert!(
        authors.contains(&format!("guest:{id}:Gwen G.")),
        "{authors:?}"
    );
    let timeline = server
        .call(
            "GET",
            &format!("/api/rooms/{}/timeline", room.name),
            &owner,
            None,
        )
        .await;
    let names: Vec<&str> = timeline.body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(
        names.contains(&"olive") && names.contains(&"Gwen G."),
        "{names:?}"
    );
    assert!(!names.contains(&"Admin"), "{names:?}");
    let runs = server
        .call(
            "POST",
            &format!("/api/rooms/{}/runs", room.name),
            &owner,
            Some(json!({ "name": "Someone Else" })),
        )
        .await;
    assert_eq!(runs.status, 202);
    let run = runs.body["id"].as_str().unwrap();
    let got = server
        .call(
            "GET",
            &format!("/api/rooms/{}/runs/{run}", room.name),
            &owner,
            None,
        )
        .await;
    assert_eq!(
        got.body["started_by"], "olive",
        "runs are started by who the caller is"
    );
}

fn sha256_hex(secret: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[tokio::test]
async fn invite_links_may_expire_and_an_expired_one_is_refused_like_a_revoked_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let owner = server.signup("olive", PASSWORD).await;
    let name = create_room(&server, &owner, "private").await;
    let path = format!("/api/rooms/{name}/invites");
    let make = |body: serde_json::Value| {
        let (server, owner, path) = (&server, &owner, &path);
        async move { server.call("POST", path, owner, Some(body)).await }
    };
    // Bounds: a minute to 30 days, whole seconds; null or absent: no expiry.
    let before = now_ms();
    let hour = make(json!({ "role": "viewer", "expires_in_s": 3600 })).await;
    assert_eq!(hour.status, 201, "{:?}", hour.body);
    let at = hour.body["expires_ms"].as_i64().expect("expires_ms");
    assert!(
        (before + 3_600_000..=now_ms() + 3_600_000).contains(&at),
        "{at}"
    );
    let minute = make(json!({ "role": "editor", "expires_in_s": 60 })).await;
    assert_eq!(minute.status, 201, "{:?}", minute.body);
    let month = make(json!({ "role": "viewer", "expires_in_s": 30 * 24 * 3600 })).await;
    assert_eq!(month.status, 201, "{:?}", month.body);
    let never = make(json!({ "role": "viewer", "expires_in_s": null })).await;
    assert_eq!(never.status, 201);
    assert_eq!(never.body["expires_ms"], serde_json::Value::Null);
    for bad in [
        json!({ "role": "viewer", "expires_in_s": 59 }),
        json!({ "role": "viewer", "expires_in_s": 30 * 24 * 3600 + 1 }),
        json!({ "role": "viewer", "expires_in_s": -1 }),
        json!({ "role": "viewer", "expires_in_s": i64::MAX }),
        json!({ "role": "viewer", "expires_in_s": 1e300 }),
        json!({ "role": "viewer", "expires_in_s": 90.5 }),
        json!({ "role": "viewer", "expires_in_s": "3600" }),
        json!({ "role": "viewer", "expires_in": 3600 }),
    ] {
        let reply = make(bad.clone()).await;
        assert_eq!(reply.status, 400, "{bad}: {:?}", reply.body);
    }
    // A link whose time is up, written as the server would (the store, beside the server).
    let token = "expiredlinkexpiredlinkexpiredlinkexpiredli";
    {
        use peercode_store::Store;
        let store =
            peercode_store::SqliteStore::open(dir.path(), peercode_store::Durability::Process)
                .expect("open the store beside the server");
        store
            .create_invite(&peercode_store::Invite {
                id: "gone-by".into(),
                room: name.clone(),
                role: peercode_store::Role::Editor,
                token_hash: sha256_hex(token),
                created_by: "olive".into(),
                created_ms: now_ms() - 120_000,
                expires_ms: Some(now_ms() - 1),
            })
            .unwrap();
    }
    let expired = Cred::query(&format!("invite={token}&name=Gwen"));
    for route in ["access", "state", "timeline", "runs"] {
        let reply = server
            .call("GET", &format!("/api/rooms/{name}/{route}"), &expired, None)
            .await;
        assert_eq!(reply.status, 401, "{route}: {:?}", reply.body);
        assert_eq!(reply.body["error"], "this invite link has expired");
    }
    let ws = Client::connect_as(&server.ws_url(&name, &expired), 5, None).await;
    assert_eq!(ws.err(), Some(401));
    // A link still in its time works, over HTTP and the WebSocket.
    let live = Cred::query(&format!(
        "invite={}&name=Gwen",
        minute.body["token"].as_str().unwrap()
    ));
    let access = server
        .call("GET", &format!("/api/rooms/{name}/access"), &live, None)
        .await;
    assert_eq!(access.body["role"], "editor", "{:?}", access.body);
    let mut g = Client::join_as(&server.ws_url(&name, &live), 6, None)
        .await
        .expect("a live link joins");
    assert!(g.pump_until(|c| c.synced, WAIT).await);
    // The owner sees each link's expiry and whether it is over.
    let listed = server.call("GET", &path, &owner, None).await;
    let invites = listed.body["invites"].as_array().expect("invites").clone();
    let by_id = |id: &str| {
        invites
            .iter()
            .find(|i| i["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} listed: {invites:?}"))
    };
    assert_eq!(by_id("gone-by")["expired"], true);
    assert_eq!(
        by_id(hour.body["id"].as_str().unwrap())["expires_ms"],
        json!(at)
    );
    assert_eq!(by_id(hour.body["id"].as_str().unwrap())["expired"], false);
    assert_eq!(
        by_id(never.body["id"].as_str().unwrap())["expires_ms"],
        serde_json::Value::Null
    );
    assert!(!listed.body.to_string().contains(token));
}

#[tokio::test]
async fn a_room_full_of_links_forgets_its_expired_ones_for_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let owner = server.signup("olive", PASSWORD).await;
    let name = create_room(&server, &owner, "private").await;
    {
        use peercode_store::Store;
        let store =
            peercode_store::SqliteStore::open(dir.path(), peercode_store::Durability::Process)
                .expect("open the store beside the server");
        for i in 0..100 {
            store
                .create_invite(&peercode_store::Invite {
                    id: format!("old-{i}"),
                    room: name.clone(),
                    role: peercode_store::Role::Viewer,
                    token_hash: sha256_hex(&format!("token-{i}")),
                    created_by: "olive".into(),
                    created_ms: 1,
                    // Half of them over, half live.
                    expires_ms: Some(if i % 2 == 0 { 2 } else { now_ms() + 3_600_000 }),
                })
                .unwrap();
        }
    }
    let path = format!("/api/rooms/{name}/invites");
    let made = server
        .call("POST", &path, &owner, Some(json!({ "role": "viewer" })))
        .await;
    assert_eq!(made.status, 201, "{:?}", made.body);
    let listed = server.call("GET", &path, &owner, None).await;
    let invites = listed.body["invites"].as_array().expect("invites");
    assert_eq!(invites.len(), 51, "the 50 live ones and the new one");
    assert!(invites.iter().all(|i| i["expired"] == false));
}

#[tokio::test]
async fn people_names_each_present_client_with_its_server_given_role() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let (owner, mut room) = private_room(&server).await;
    let people_path = format!("/api/rooms/{}/people", room.name);
    // Nobody has announced presence yet.
    let empty = server.call("GET", &people_path, &owner, None).await;
    assert_eq!(empty.body, json!({ "people": [] }));
    let (_, link) = invite(&server, &owner, &room.name, "viewer").await;
    let guest = Cred::query(&format!("invite={link}&name=Gwen"));
    let mut g = Client::join_as(&server.ws_url(&room.name, &guest), 7, None)
        .await
        .expect("guest joins");
    // A guest claiming to be the owner in presence is still a viewer guest to the server.
    g.set_awareness(r#"{"user":{"name":"Gwen","role":"owner"}}"#)
        .await;
    room.observer
        .set_awareness(r#"{"user":{"name":"Olive"}}"#)
        .await;
    assert!(
        room.observer
            .pump_until(|o| o.sees(7) && o.sees(1), WAIT)
            .await
    );
    let expected = json!({ "people": [
        { "client": 1, "role": "owner", "kind": "user" },
        { "client": 7, "role": "viewer", "kind": "guest" },
    ] });
    assert_eq!(
        server.call("GET", &people_path, &owner, None).await.body,
        expected
    );
    // Anyone who may read the room may ask (the guest too); strangers learn nothing.
    assert_eq!(
        server.call("GET", &people_path, &guest, None).await.body,
        expected
    );
    let stan = server.signup("stan", PASSWORD).await;
    assert_eq!(
        server.call("GET", &people_path, &stan, None).await.status,
        404
    );
    assert_eq!(
        server
            .call("GET", &people_path, &Cred::default(), None)
            .await
            .status,
        404
    );
    // A role change shows at once; a guest who leaves is gone.
    let vera = server.signup("vera", PASSWORD).await;
    set_role(&server, &owner, &room.name, "vera", "viewer").await;
    let mut v = Client::join_as(
        &server.ws_url(&room.name, &Cred::default()),
        8,
        vera.cookie.as_deref(),
    )
    .await
    .expect("vera joins");
    v.set_awareness(r#"{"user":{"name":"Vera"}}"#).await;
    assert!(room.observer.pump_until(|o| o.sees(8), WAIT).await);
    set_role(&server, &owner, &room.name, "vera", "editor").await;
    g.abort();
    let done = async {
        loop {
            let now = server.call("GET", &people_path, &owner, None).await.body;
            if now
                == json!({ "people": [
                    { "client": 1, "role": "owner", "kind": "user" },
                    { "client": 8, "role": "editor", "kind": "user" },
                ] })
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(WAIT, done)
        .await
        .expect("vera an editor, the guest gone");
    // A room that is not loaded has nobody, and is not loaded for the question.
    let other = create_room(&server, &owner, "public").await;
    let reply = server
        .call("GET", &format!("/api/rooms/{other}/people"), &owner, None)
        .await;
    assert_eq!(reply.body, json!({ "people": [] }));
}

#[tokio::test]
async fn a_link_expiring_under_an_open_connection_ends_its_grant_then() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let (owner, mut room) = private_room(&server).await;
    let vera = server.signup("vera", PASSWORD).await;
    set_role(&server, &owner, &room.name, "vera", "viewer").await;
    let (_, lasting) = invite(&server, &owner, &room.name, "editor").await;
    // A link that expires in a few seconds (written as the server would; the API's shortest
    // is a minute): long enough to join with, short enough to wait for.
    let token = "shortlivedshortlivedshortlivedshortlived12";
    let expires_ms = now_ms() + 5000;
    {
        use peercode_store::Store;
        let store =
            peercode_store::SqliteStore::open(dir.path(), peercode_store::Durability::Process)
                .expect("open the store beside the server");
        store
            .create_invite(&peercode_store::Invite {
                id: "short".into(),
                room: room.name.clone(),
                role: peercode_store::Role::Editor,
                token_hash: sha256_hex(token),
                created_by: "olive".into(),
                created_ms: now_ms(),
                expires_ms: Some(expires_ms),
            })
            .unwrap();
    }
    let short = Cred::query(&format!("invite={token}&name=Gwen"));
    let mut g = Client::join_as(&server.ws_url(&room.name, &short), 9, None)
        .await
        .expect("the guest joins while the link lasts");
    // Vera, a viewer member, opens the room with the same link: an editor while it lasts.
    let vera_url = server.ws_url(&room.name, &Cred::query(&format!("invite={token}")));
    let mut v = Client::join_as(&vera_url, 10, vera.cookie.as_deref())
        .await
        .expect("vera joins");
    let mut o = Client::join_as(
        &server.ws_url(
            &room.name,
            &Cred::query(&format!("invite={lasting}&name=Otto")),
        ),
        11,
        None,
    )
    .await
    .expect("a guest on a lasting link");
    assert!(
        now_ms() < expires_ms,
        "the joins took too long to test this"
    );
    // The guest by the short link is closed when it expires, no sooner.
    assert!(
        g.pump_until(|c| c.closed.is_some(), WAIT).await,
        "closed when the link expired"
    );
    assert!(now_ms() >= expires_ms, "not before it expired");
    let (code, reason) = g.closed.clone().expect("closed");
    assert_eq!(code, 4003, "{reason}");
    assert!(reason.contains("expired"), "{reason}");
    // Vera stays, back to her membership's role: her edits are refused now.
    v.append_file("main.py", "# vera after\n").await;
    assert!(
        v.pump_until(|c| c.denied >= 1, WAIT).await,
        "a viewer again"
    );
    assert!(v.closed.is_none());
    // The lasting link's guest is untouched and still writes.
    o.append_file("main.py", "# otto\n").await;
    assert!(
        room.observer
            .pump_until(
                |c| c
                    .file_text("main.py")
                    .unwrap_or_default()
                    .contains("# otto"),
                WAIT
            )
            .await
    );
    assert!(o.closed.is_none());
    let seen = room.observer.file_text("main.py").unwrap_or_default();
    assert!(!seen.contains("vera after"), "{seen}");
}
