//! Replay (SPEC F6): the routes a player uses to watch a room's recording — its timeline,
//! the document at any moment, the events of a time range — and forking a moment into a
//! new room; plus the recording file format behind `peercode replay export` / `import`
//! and, with blob storage, recordings exported there (`exports.rs`).
//!
//! Everything is read from the store: a moment is rebuilt from the nearest keyframe
//! snapshot at or before it plus the updates after that keyframe, on a bounded pool.

pub mod exports;
pub mod recording;
pub mod timeline;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use peercode_collab::{Limits, Room};
use peercode_store::{EventKind, Record, RecordKind, Store, StoredEvent, StoredUpdate};
use serde::Deserialize;
use serde_json::{Value, json};

use peercode_store::Role;

use crate::auth::Caller;
use crate::pool::BlockingPool;
use crate::runs::require;
use crate::{ApiError, AppShared};

/// Rebuilds running at once, and waiting beyond those before a 503.
pub fn pool() -> BlockingPool {
    BlockingPool::new("replay", 2, 32)
}

/// Presence older than this before a moment is not looked at: every y-protocols client
/// renews its state every 15 s, so anyone still there has spoken within it.
const PRESENCE_LOOKBACK_MS: i64 = 120_000;
/// About this many events per `events` response; the rest come with the next request.
const EVENTS_PER_PAGE: usize = 2_000;

/// The room's document as it stood after update `seq`: the keyframe at or before it, then
/// the updates after that keyframe.
pub fn rebuild(store: &dyn Store, room: &str, seq: u64, limits: Limits) -> anyhow::Result<Room> {
    let snapshot = if seq == 0 {
        None
    } else {
        store.snapshot_at(room, seq)?
    };
    let after = snapshot.as_ref().map_or(0, |(s, _)| *s);
    let updates = if seq > after {
        store.updates(room, after + 1, seq)?
    } else {
        Vec::new()
    };
    let room = Room::restore(
        limits,
        snapshot.as_ref().map(|(_, data)| data.as_slice()),
        updates.iter().map(|u| u.data.as_slice()),
    )?;
    Ok(room)
}

fn internal(error: impl Into<anyhow::Error>) -> ApiError {
    ApiError::Internal(error.into())
}

/// The first and last recorded time of a room; 404 when nothing is recorded.
fn span(store: &dyn Store, room: &str) -> Result<(i64, i64), ApiError> {
    store
        .time_span(room)
        .map_err(internal)?
        .ok_or_else(|| ApiError::NotFound(format!("room {room} has no recording")))
}

type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

/// A millisecond query parameter.
fn ms_param(params: &HashMap<String, String>, key: &str) -> Result<Option<i64>, ApiError> {
    params
        .get(key)
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                ApiError::BadRequest(format!("`{key}` must be a time in Unix milliseconds"))
            })
        })
        .transpose()
}

fn params(params: Params) -> Result<HashMap<String, String>, ApiError> {
    params
        .map(|Query(p)| p)
        .map_err(|e| ApiError::BadRequest(e.body_text()))
}

/// `GET /api/rooms/{room}/timeline`.
pub async fn timeline(
    State(app): State<Arc<AppShared>>,
    Path(room): Path<String>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    require(&app, &room, &caller, Role::Viewer).await?;
    let store = app.persister.store().clone();
    app.replays
        .run(move || {
            span(&*store, &room)?;
            let last_seq = store.last_seq(&room).map_err(internal)?;
            let updates = store.updates(&room, 1, last_seq).map_err(internal)?;
            let events = store.events(&room, 0, last_seq).map_err(internal)?;
            let marks: Vec<timeline::UpdateMark<'_>> = updates
                .iter()
                .map(|u| timeline::UpdateMark {
                    ts_ms: u.ts_ms,
                    author: &u.author,
                })
                .collect();
            let timeline = timeline::build(&marks, &events)
                .ok_or_else(|| ApiError::NotFound(format!("room {room} has no recording")))?;
            let mut body = serde_json::to_value(timeline).map_err(internal)?;
            body["room"] = json!(room);
            body["last_seq"] = json!(last_seq);
            Ok(Json(body))
        })
        .await?
}

/// `GET /api/rooms/{room}/state?at=MS[&include=update,presence]`.
pub async fn state(
    State(app): State<Arc<AppShared>>,
    Path(room): Path<String>,
    caller: Caller,
    query: Params,
) -> Result<Json<Value>, ApiError> {
    require(&app, &room, &caller, Role::Viewer).await?;
    let query = params(query)?;
    let at = ms_param(&query, "at")?;
    let include: Vec<String> = query
        .get("include")
        .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect())
        .unwrap_or_default();
    for part in &include {
        if !matches!(part.as_str(), "update" | "presence" | "runs" | "") {
            return Err(ApiError::BadRequest(format!(
                "unknown `include` part {part:?} (update, presence, runs)"
            )));
        }
    }
    let wants = |part: &str| include.iter().any(|p| p == part);
    let (with_update, with_presence, with_runs) =
        (wants("update"), wants("presence"), wants("runs"));
    let store = app.persister.store().clone();
    let limits = app.rooms.limits();
    app.replays
        .run(move || {
            let (_, end) = span(&*store, &room)?;
            let at = at.unwrap_or(end);
            let seq = store.seq_at(&room, at).map_err(internal)?;
            let doc = rebuild(&*store, &room, seq, limits).map_err(internal)?;
            let files: serde_json::Map<String, Value> = doc
                .files()
                .files
                .into_iter()
                .map(|(path, text)| (path, Value::String(text)))
                .collect();
            let mut body = json!({
                "at_ms": at,
                "seq": seq,
                "files": files,
                "meta": doc.meta(),
            });
            if with_update {
                body["update"] = json!(BASE64.encode(doc.encode_state()));
            }
            if with_runs {
                let runs: serde_json::Map<String, Value> = doc
                    .runs()
                    .into_iter()
                    .map(|(id, run)| (id, Value::Object(run)))
                    .collect();
                body["runs"] = Value::Object(runs);
            }
            if with_presence {
                body["presence"] = presence_at(&*store, &room, at).map_err(internal)?;
            }
            Ok(Json(body))
        })
        .await?
}

/// Who was present at `at` and their last presence state: `[{"client", "state",
/// "author"}]`, `author` being the connection that announced it (`conn:N`), whose recorded
/// leave removes it.
fn presence_at(store: &dyn Store, room: &str, at: i64) -> anyhow::Result<Value> {
    let from = at.saturating_sub(PRESENCE_LOOKBACK_MS);
    let events = events_between(store, room, from, at)?;
    // (client, state, the author of the presence event: the connection that announced it).
    let mut states: Vec<(u64, Value, String)> = Vec::new();
    let mut conn_clients: HashMap<u64, Vec<u64>> = HashMap::new();
    for event in &events {
        match event.kind {
            EventKind::Presence => {
                let Ok(entries) = peercode_protocol::decode_awareness(&event.data) else {
                    continue;
                };
                for entry in entries {
                    let client = entry.client_id;
                    states.retain(|(c, ..)| *c != client);
                    if let Some(conn) = timeline::conn_of(&event.author) {
                        conn_clients.entry(conn).or_default().push(client);
                    }
                    match serde_json::from_str::<Value>(entry.state) {
                        Ok(Value::Null) | Err(_) => {}
                        Ok(state) => states.push((client, state, event.author.clone())),
                    }
                }
            }
            EventKind::Leave => {
                if let Some(conn) = timeline::conn_of(&event.author) {
                    let gone = conn_clients.remove(&conn).unwrap_or_default();
                    states.retain(|(c, ..)| !gone.contains(c));
                } else if let Some(client) = timeline::client_of(&event.author) {
                    states.retain(|(c, ..)| *c != client);
                }
            }
            _ => {}
        }
    }
    Ok(Value::Array(
        states
            .into_iter()
            .map(|(client, state, author)| {
                json!({ "client": client, "state": state, "author": author })
            })
            .collect(),
    ))
}

/// Events recorded with `from <= ts_ms <= to`. An event is tagged with the last update
/// before it and times never decrease in record order, so its seq lies between the seqs
/// at those two times.
fn events_between(
    store: &dyn Store,
    room: &str,
    from: i64,
    to: i64,
) -> anyhow::Result<Vec<StoredEvent>> {
    let lo = store.seq_at(room, from.saturating_sub(1))?;
    let hi = store.seq_at(room, to)?;
    let mut events = store.events(room, lo, hi)?;
    events.retain(|e| (from..=to).contains(&e.ts_ms));
    Ok(events)
}

/// `GET /api/rooms/{room}/events?after=MS&until=MS`: updates and events with
/// `after < t_ms <= until`, about [`EVENTS_PER_PAGE`] at a time.
pub async fn events(
    State(app): State<Arc<AppShared>>,
    Path(room): Path<String>,
    caller: Caller,
    query: Params,
) -> Result<Json<Value>, ApiError> {
    require(&app, &room, &caller, Role::Viewer).await?;
    let query = params(query)?;
    let after = ms_param(&query, "after")?;
    let until = ms_param(&query, "until")?;
    let store = app.persister.store().clone();
    app.replays
        .run(move || {
            let (start, end) = span(&*store, &room)?;
            let after = after.unwrap_or(start - 1);
            let until = until.unwrap_or(end);
            if until < after {
                return Err(ApiError::BadRequest("`until` is before `after`".into()));
            }
            page(&*store, &room, after, until).map_err(internal)
        })
        .await?
}

fn page(store: &dyn Store, room: &str, after: i64, until: i64) -> anyhow::Result<Json<Value>> {
    let lo = store.seq_at(room, after)?;
    let hi = store.seq_at(room, until)?;
    // At most a page of updates (and one more, to see where the page must end).
    let take = (EVENTS_PER_PAGE as u64).min(hi.saturating_sub(lo));
    let mut updates = if take > 0 {
        store.updates(room, lo + 1, lo + take + 1)?
    } else {
        Vec::new()
    };
    let mut until_here = until;
    if updates.len() as u64 > take
        && let Some(next) = updates.pop()
    {
        // More updates than a page: end the page before the ms of the first left out,
        // unless everything fetched shares that ms (then take that ms whole).
        until_here = next.ts_ms - 1;
        if updates.iter().all(|u| u.ts_ms > until_here) {
            until_here = next.ts_ms;
            let mut rest = store.updates(room, next.seq, hi)?;
            rest.retain(|u| u.ts_ms == next.ts_ms);
            updates.extend(rest);
        }
    }
    updates.retain(|u| u.ts_ms <= until_here);
    let last_seq = updates.last().map_or(lo, |u| u.seq);
    let mut events = store.events(room, lo, last_seq.max(lo))?;
    events.retain(|e| e.ts_ms > after && e.ts_ms <= until_here);

    // In record order: update s, then the events tagged s.
    let mut out: Vec<(i64, Value)> = recording::in_order(updates, events)
        .into_iter()
        .map(|item| match item {
            recording::Item::Update(u) => (u.ts_ms, update_json(&u)),
            recording::Item::Event(e) => (e.ts_ms, event_json(&e)),
        })
        .collect();
    out.retain(|(t, _)| *t > after);

    // Many events (presence) between few updates: cut at a whole ms.
    if out.len() > 2 * EVENTS_PER_PAGE {
        let cut_ms = out[2 * EVENTS_PER_PAGE].0;
        let keep = out.iter().take_while(|(t, _)| *t < cut_ms).count();
        if keep > 0 {
            out.truncate(keep);
            until_here = cut_ms - 1;
        }
    }
    let more = until_here < until;
    Ok(Json(json!({
        "after_ms": after,
        "until_ms": until_here,
        "more": more,
        "next_after": more.then_some(until_here),
        "events": out.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
    })))
}

fn update_json(update: &StoredUpdate) -> Value {
    json!({
        "t_ms": update.ts_ms,
        "seq": update.seq,
        "type": "update",
        "author": update.author,
        "update": BASE64.encode(&update.data),
    })
}

fn event_json(event: &StoredEvent) -> Value {
    let mut v = json!({
        "t_ms": event.ts_ms,
        "seq": event.seq,
        "type": event.kind.as_str(),
        "author": event.author,
    });
    let data = || serde_json::from_slice::<Value>(&event.data).unwrap_or(Value::Null);
    match event.kind {
        EventKind::Presence => {
            let states: Vec<Value> = peercode_protocol::decode_awareness(&event.data)
                .map(|entries| {
                    entries
                        .into_iter()
                        .map(|e| {
                            let state =
                                serde_json::from_str::<Value>(e.state).unwrap_or(Value::Null);
                            json!({ "client": e.client_id, "clock": e.clock, "state": state })
                        })
                        .collect()
                })
                .unwrap_or_default();
            v["states"] = Value::Array(states);
        }
        EventKind::RunStart
        | EventKind::RunEnd
        | EventKind::Paste
        | EventKind::Files
        | EventKind::Language => {
            if let Value::Object(fields) = data() {
                for (key, value) in fields {
                    v[key] = value;
                }
            }
        }
        EventKind::Join | EventKind::Leave => {}
    }
    v
}

#[derive(Deserialize)]
struct ForkRequest {
    at: Option<i64>,
}

/// `POST /api/rooms/{room}/fork {"at"}` → `201 {"room"}`: a new room holding the document
/// as it stood at that moment (its files, meta and runs), with a history of its own. A
/// fork of an owned room is owned by the caller, private, and needs them signed in; a fork
/// of an unowned room is unowned like its source.
pub async fn fork(
    State(app): State<Arc<AppShared>>,
    Path(room): Path<String>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let access = require(&app, &room, &caller, Role::Viewer).await?;
    // Before any work: a fork of an owned room needs an owner for the copy.
    let owner = match &access.owned {
        Some(_) => Some(caller.require_user().map_err(|_| {
            ApiError::Unauthorized("sign in to fork this room (the copy will be yours)".into())
        })?),
        None => None,
    };
    if let Some(owner) = owner {
        // Fail early on the room limit, before the rebuild.
        let (owner, max) = (owner.to_owned(), app.config.max_rooms_per_user);
        let count = crate::accounts::db(&app, move |store| store.owned_room_count(&owner)).await?;
        if count >= max {
            return Err(ApiError::Forbidden(format!(
                "an account owns at most {max} rooms; delete one first"
            )));
        }
    }
    let body = body.map_err(ApiError::from_body)?;
    let request: ForkRequest = if body.is_empty() {
        ForkRequest { at: None }
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?
    };
    let store = app.persister.store().clone();
    let limits = app.rooms.limits();
    let (_, end) = {
        let (store, room) = (store.clone(), room.clone());
        app.replays.run(move || span(&*store, &room)).await??
    };
    // The copy's owner record comes first, so it is never an open room for a moment.
    let target = match owner {
        Some(owner) => Some(
            crate::manage::create_owned(&app, owner, peercode_store::Visibility::Private)
                .await?
                .room,
        ),
        None => None,
    };
    let name = app
        .replays
        .run(move || {
            let at = request.at.unwrap_or(end);
            let seq = store.seq_at(&room, at).map_err(internal)?;
            if seq == 0 {
                return Err(ApiError::BadRequest(format!(
                    "room {room} has no document yet at {at}; pick a later moment"
                )));
            }
            let mut doc = rebuild(&*store, &room, seq, limits).map_err(internal)?;
            let name = match target {
                Some(name) => name,
                None => free_room_name(&*store).map_err(internal)?,
            };
            let author: Arc<str> = format!("fork:{room}@{at}").into();
            let ts_ms = crate::rooms::now_ms();
            let room: Arc<str> = name.as_str().into();
            let record = |kind, data: Vec<u8>| Record {
                room: room.clone(),
                seq: 1,
                ts_ms,
                author: author.clone(),
                kind,
                data: data.into(),
            };
            let records = [
                record(RecordKind::Update, doc.encode_state()),
                record(RecordKind::Snapshot, doc.snapshot()),
            ];
            let failures = store.append(&records).map_err(internal)?;
            if let Some(failure) = failures.into_iter().next() {
                return Err(internal(failure.error));
            }
            Ok(name)
        })
        .await??;
    Ok((StatusCode::CREATED, Json(json!({ "room": name }))))
}

/// A new random room id (`k7p-m2xq-9rd`, as the web app makes them) with no history.
pub fn free_room_name(store: &dyn Store) -> anyhow::Result<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    for _ in 0..16 {
        let mut bytes = [0u8; 10];
        getrandom::fill(&mut bytes)?;
        let mut name = String::with_capacity(12);
        for (i, b) in bytes.iter().enumerate() {
            if i == 3 || i == 7 {
                name.push('-');
            }
            name.push(ALPHABET[*b as usize % ALPHABET.len()] as char);
        }
        if store.time_span(&name)?.is_none() && store.last_seq(&name)? == 0 {
            return Ok(name);
        }
    }
    anyhow::bail!("no free room name found")
}
