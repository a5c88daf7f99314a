//! Runs in rooms (SPEC F3, §2 runs routes): start the room's code in the sandbox as the
//! server's copy of the document holds it, stream the output into the room's `runs` map
//! so every participant sees it live, stop it, list and read past runs.
//!
//! The room task owns the document and the room's one run slot; this module drives each
//! run: reserve the slot (409 when taken) → hand the files to the runner (`runner/`: the
//! local sandbox or the queue to sandbox workers; 503 when its queue is full) → forward
//! coalesced output → report the verdict.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use peercode_collab::{RunStream, RunValue};
use peercode_sandbox::{OutputChunk, Stream};
use serde::Deserialize;

use peercode_store::Role;

use crate::auth::access::RoomAccess;
use crate::auth::{Caller, CallerKind};
use crate::rooms::{JoinError, RoomMsg, RunMsg, RunRefusal, valid_room_name};
use crate::runner::{End, Event, RunHandle, Submission, SubmitError};
use crate::{ApiError, AppShared};

/// Largest stdin a run accepts, in bytes.
pub const MAX_STDIN_BYTES: usize = 1 << 20;
/// Longest `started_by` name kept.
const MAX_NAME_CHARS: usize = 64;
/// Output is written into the document at most this often per run, so a chatty program
/// costs a bounded number of updates.
const COALESCE: Duration = Duration::from_millis(50);

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// Given to the program on stdin.
    #[serde(default)]
    stdin: String,
    /// Display name of an anonymous caller starting the run (accounts and guests are
    /// named by who they are instead).
    #[serde(default)]
    name: Option<String>,
}

/// The caller's role in `room` if it is at least `needed` (else 401, 403 or 404).
pub(crate) async fn require(
    app: &AppShared,
    room: &str,
    caller: &Caller,
    needed: Role,
) -> Result<RoomAccess, ApiError> {
    check_room(room)?;
    let access = RoomAccess::resolve(app, room, caller).await?;
    access.require(needed)?;
    Ok(access)
}

/// `POST /api/rooms/{room}/runs` → `202 {"id", "status"}` (editors and the owner).
pub async fn start(
    State(app): State<Arc<AppShared>>,
    Path(room): Path<String>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    require(&app, &room, &caller, Role::Editor).await?;
    let body = body.map_err(ApiError::from_body)?;
    let request: StartRequest = if body.iter().all(u8::is_ascii_whitespace) {
        StartRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?
    };
    if request.stdin.len() > MAX_STDIN_BYTES {
        return Err(ApiError::TooLarge(format!(
            "stdin is {} bytes; a run takes at most {MAX_STDIN_BYTES}",
            request.stdin.len()
        )));
    }
    let started_by = match caller.kind() {
        CallerKind::User => caller.user.clone().unwrap_or_default(),
        CallerKind::Guest => display_name(caller.name.as_deref().or(Some("guest"))),
        CallerKind::Anonymous => display_name(request.name.as_deref()),
    };
    let reservation = app
        .rooms
        .request(&room, |reply| {
            RoomMsg::Run(RunMsg::Reserve {
                started_by: started_by.clone(),
                reply,
            })
        })
        .await
        .map_err(room_error)?
        .map_err(refusal)?;
    let id = reservation.id.clone();
    let submission = Submission {
        run: id.clone(),
        room: room.clone(),
        files: reservation.files,
        stdin: request.stdin.into_bytes(),
    };
    let cancel = reservation.cancel;
    let handle = match app.runner.submit(submission, cancel.clone()).await {
        Ok(handle) => handle,
        Err(error) => {
            tell(&app, &room, RunMsg::Refused { id }).await;
            return Err(match error {
                SubmitError::Unavailable(why) => ApiError::Unavailable(why),
                SubmitError::BadRequest(why) => ApiError::BadRequest(why),
                SubmitError::Internal(error) => ApiError::Internal(error),
            });
        }
    };
    let queued = handle.queued();
    tell(
        &app,
        &room,
        RunMsg::Accepted {
            id: id.clone(),
            started_by,
            queued,
        },
    )
    .await;
    let driver = drive(app.clone(), room, id.clone(), handle, cancel);
    app.connections.spawn(driver);
    let status = if queued { "queued" } else { "running" };
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "id": &*id, "status": status })),
    ))
}

/// `GET /api/rooms/{room}/runs` → `{"runs": [...]}`, newest first.
pub async fn list(
    State(app): State<Arc<AppShared>>,
    Path(room): Path<String>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    require(&app, &room, &caller, Role::Viewer).await?;
    let runs = room_runs(&app, &room).await?;
    Ok(Json(serde_json::json!({ "runs": runs })))
}

/// `GET /api/rooms/{room}/runs/{id}` → one run.
pub async fn get(
    State(app): State<Arc<AppShared>>,
    Path((room, id)): Path<(String, String)>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    require(&app, &room, &caller, Role::Viewer).await?;
    room_runs(&app, &room)
        .await?
        .into_iter()
        .find(|run| run["id"] == id.as_str())
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("no such run in this room".into()))
}

/// `POST /api/rooms/{room}/runs/{id}/stop` → the run ends with verdict `cancelled`.
pub async fn stop(
    State(app): State<Arc<AppShared>>,
    Path((room, id)): Path<(String, String)>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    require(&app, &room, &caller, Role::Editor).await?;
    if !room_exists(&app, &room).await? {
        return Err(ApiError::NotFound("no such room".into()));
    }
    app.rooms
        .request(&room, |reply| {
            RoomMsg::Run(RunMsg::Stop {
                id: id.clone(),
                reply,
            })
        })
        .await
        .map_err(room_error)?
        .map_err(refusal)?;
    Ok(Json(serde_json::json!({ "id": id, "status": "stopping" })))
}

async fn room_runs(app: &Arc<AppShared>, room: &str) -> Result<Vec<serde_json::Value>, ApiError> {
    check_room(room)?;
    // Reading runs must not create the room.
    if !room_exists(app, room).await? {
        return Err(ApiError::NotFound("no such room".into()));
    }
    app.rooms
        .request(room, |reply| RoomMsg::Run(RunMsg::List { reply }))
        .await
        .map_err(room_error)
}

async fn room_exists(app: &Arc<AppShared>, room: &str) -> Result<bool, ApiError> {
    let store = app.rooms.store().clone();
    let room = room.to_owned();
    let seq = tokio::task::spawn_blocking(move || store.last_seq(&room))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(seq > 0)
}

pub(crate) fn check_room(room: &str) -> Result<(), ApiError> {
    if valid_room_name(room) {
        Ok(())
    } else {
        Err(ApiError::BadRequest("invalid room name".into()))
    }
}

fn display_name(name: Option<&str>) -> String {
    let name: String = name
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    match name.trim() {
        "" => "anonymous".into(),
        name => name.to_owned(),
    }
}

fn room_error(error: JoinError) -> ApiError {
    match error {
        JoinError::ShuttingDown => ApiError::Unavailable("the server is shutting down".into()),
        JoinError::Deleted => ApiError::NotFound("no such room".into()),
        JoinError::Moved => ApiError::Unavailable("the room moved to another server; retry".into()),
        other => ApiError::Internal(anyhow::anyhow!("room unavailable: {other}")),
    }
}

fn refusal(refusal: RunRefusal) -> ApiError {
    match refusal {
        RunRefusal::Busy(_) | RunRefusal::Finished => ApiError::Conflict(refusal.to_string()),
        RunRefusal::NotFound => ApiError::NotFound(refusal.to_string()),
    }
}

async fn tell(app: &AppShared, room: &str, msg: RunMsg) {
    app.rooms.tell(room, RoomMsg::Run(msg)).await;
}

/// Forward a run's output to its room, coalesced, then its verdict.
async fn drive(
    app: Arc<AppShared>,
    room: String,
    id: Arc<str>,
    mut handle: RunHandle,
    cancel: tokio_util::sync::CancellationToken,
) {
    let mut output = Coalescer::default();
    let mut next_flush: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            event = handle.next() => match event {
                Some(Event::Started) => tell(&app, &room, RunMsg::Started { id: id.clone() }).await,
                Some(Event::Output(chunk)) => {
                    output.push(&chunk);
                    let now = tokio::time::Instant::now();
                    // Nothing written lately: this is the first output of a burst, so it
                    // goes out now; the rest of the burst waits for the window.
                    if next_flush.is_none() {
                        flush(&app, &room, &id, &mut output).await;
                        next_flush = Some(now + COALESCE);
                    }
                }
                None => break,
            },
            () = sleep_until(next_flush) => {
                if output.is_empty() {
                    next_flush = None;
                } else {
                    flush(&app, &room, &id, &mut output).await;
                    next_flush = Some(tokio::time::Instant::now() + COALESCE);
                }
            }
        }
    }
    let cancelled = cancel.is_cancelled();
    let end = handle.end().await;
    output.finish();
    flush(&app, &room, &id, &mut output).await;
    let fields = final_fields(end, cancelled, &output);
    tell(&app, &room, RunMsg::Finished { id, fields }).await;
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

async fn flush(app: &AppShared, room: &str, id: &Arc<str>, output: &mut Coalescer) {
    for (stream, text) in output.take() {
        let msg = RunMsg::Output {
            id: id.clone(),
            stream,
            text,
        };
        tell(app, room, msg).await;
    }
}

/// The run's fields once it ended.
fn final_fields(end: End, cancelled: bool, output: &Coalescer) -> Vec<(&'static str, RunValue)> {
    let num = |n: u64| RunValue::Int(i64::try_from(n).unwrap_or(i64::MAX));
    let opt = |n: Option<i32>| n.map_or(RunValue::Null, |n| RunValue::Int(n.into()));
    let verdict = |v: &str| ("verdict", RunValue::Str(v.into()));
    match end {
        End::Judged(outcome) => {
            let mut fields = vec![
                verdict(if cancelled {
                    "cancelled"
                } else {
                    outcome.verdict.as_str()
                }),
                ("exit_code", opt(outcome.exit_code)),
                ("signal", opt(outcome.signal)),
                ("cpu_ms", num(outcome.cpu_ms)),
                ("wall_ms", num(outcome.wall_ms)),
                ("memory_kb", num(outcome.memory_kb)),
                (
                    "truncated",
                    RunValue::Bool(outcome.truncated || output.truncated),
                ),
            ];
            if let Some(message) = outcome.message {
                fields.push(("message", RunValue::Str(message)));
            }
            fields
        }
        End::Cancelled => vec![verdict("cancelled")],
        End::Failed(why) => vec![
            verdict(if cancelled {
                "cancelled"
            } else {
                "internal_error"
            }),
            ("message", RunValue::Str(why)),
        ],
    }
}

/// Output waiting to be written into the document: raw bytes per stream, turned into text
/// only at whole UTF-8 characters (a chunk may end inside one), capped per stream.
#[derive(Default)]
struct Coalescer {
    pending: HashMap<&'static str, Vec<u8>>,
    written: HashMap<&'static str, usize>,
    /// Whether a stream reached the cap (a marker was appended).
    truncated: bool,
    /// The run ended: an incomplete character left over goes out as a replacement.
    ended: bool,
}

/// Per-stream cap on what a run writes into the document (the sandbox's output limit).
const STREAM_CAP: usize = 1 << 20;
const TRUNCATED: &str = "\n[output truncated at 1 MiB]\n";

impl Coalescer {
    fn push(&mut self, chunk: &OutputChunk) {
        let key = match chunk.stream {
            Stream::Stdout => "stdout",
            // Compiler messages are for the person who wrote the code: show them with stderr.
            Stream::Stderr | Stream::Compile => "stderr",
        };
        let written = self.written.get(key).copied().unwrap_or(0);
        let pending = self.pending.entry(key).or_default();
        let room = STREAM_CAP.saturating_sub(written + pending.len());
        pending.extend_from_slice(&chunk.data[..chunk.data.len().min(room)]);
    }

    fn is_empty(&self) -> bool {
        self.pending.values().all(Vec::is_empty)
    }

    fn finish(&mut self) {
        self.ended = true;
    }

    /// Whole characters ready to write, per stream.
    fn take(&mut self) -> Vec<(RunStream, String)> {
        let mut out = Vec::new();
        for (key, stream) in [("stdout", RunStream::Stdout), ("stderr", RunStream::Stderr)] {
            let Some(pending) = self.pending.get_mut(key) else {
                continue;
            };
            let written = self.written.entry(key).or_default();
            let at_cap = *written + pending.len() >= STREAM_CAP;
            let ready = if self.ended || at_cap {
                pending.len()
            } else {
                complete_utf8(pending)
            };
            if ready == 0 {
                continue;
            }
            let bytes: Vec<u8> = pending.drain(..ready).collect();
            let mut text = String::from_utf8_lossy(&bytes).into_owned();
            *written += bytes.len();
            if *written >= STREAM_CAP && !self.truncated {
                text.push_str(TRUNCATED);
                self.truncated = true;
            }
            out.push((stream, text));
        }
        out
    }
}

/// How many leading bytes of `bytes` to write now: all, unless they end inside a
/// multi-byte UTF-8 character that the next chunk will complete.
fn complete_utf8(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for i in (len.saturating_sub(3)..len).rev() {
        let lead = bytes[i];
        let needed = match lead {
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf7 => 4,
            _ => continue,
        };
        return if len - i < needed { i } else { len };
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(stream: Stream, data: &[u8]) -> OutputChunk {
        OutputChunk {
            stream,
            at: Duration::ZERO,
            data: data.to_vec(),
        }
    }

    #[test]
    fn output_is_cut_at_whole_characters_and_capped() {
        let mut c = Coalescer::default();
        let euro = "€".as_bytes(); // three bytes
        c.push(&chunk(Stream::Stdout, &[b'a', euro[0], euro[1]]));
        assert_eq!(c.take(), [(RunStream::Stdout, "a".to_owned())]);
        c.push(&chunk(Stream::Stdout, &[euro[2], b'b']));
        assert_eq!(c.take(), [(RunStream::Stdout, "€b".to_owned())]);
        c.push(&chunk(Stream::Compile, b"warning"));
        assert_eq!(c.take(), [(RunStream::Stderr, "warning".to_owned())]);
        // Past the cap: cut, with a marker, once.
        c.push(&chunk(Stream::Stdout, &vec![b'x'; STREAM_CAP + 10]));
        let out = c.take();
        assert_eq!(out.len(), 1);
        assert!(out[0].1.ends_with(TRUNCATED));
        assert_eq!(out[0].1.len(), STREAM_CAP - "a€b".len() + TRUNCATED.len());
        c.push(&chunk(Stream::Stdout, b"more"));
        assert!(c.take().is_empty() && c.truncated);
        // A character cut by the end of the run comes out replaced, not lost.
        c.push(&chunk(Stream::Stderr, &euro[..2]));
        assert!(c.take().is_empty());
        c.finish();
        assert_eq!(c.take(), [(RunStream::Stderr, "\u{fffd}".to_owned())]);
    }

    #[test]
    fn names_are_bounded_and_never_empty() {
        assert_eq!(display_name(None), "anonymous");
        assert_eq!(display_name(Some(" \u{7} ")), "anonymous");
        assert_eq!(
            display_name(Some(&"é".repeat(100))).chars().count(),
            MAX_NAME_CHARS
        );
    }
}
