//! Where a room's run executes: this server's own sandbox (`--runner local`, the default)
//! or remote sandbox workers through a Redis queue (`--runner queue`, `peercode worker`).
//!
//! The runs driver (`runs.rs`) sees one narrow interface for both: [`Runner::submit`] a
//! job → a [`RunHandle`] giving [`Event`]s (started, output chunks) and finally an
//! [`End`]; stopping is the reservation's cancellation token, handed over at submission.
//! Everything about Redis stays in `queue.rs` (the server's side) and `worker.rs` (the
//! worker's), which share the key names and scripts of `keys.rs` and the codec.

pub mod codec;
mod keys;
mod local;
mod queue;
pub mod worker;

use std::sync::Arc;

use peercode_collab::RoomFiles;
use peercode_sandbox::{LanguageTable, OutputChunk, RunRequest, SandboxError};
use tokio_util::sync::CancellationToken;

pub use codec::End;

use crate::config::{Config, RunnerKind};

/// The runner of this server, chosen by `--runner`.
pub(crate) enum Runner {
    Local(local::Local),
    Queue(Box<queue::Queue>),
    /// The configuration cannot work (checked again at start-up, which refuses it).
    Broken(String),
}

/// A run to execute: the room's files as its document holds them, and stdin.
pub(crate) struct Submission {
    pub run: Arc<str>,
    pub room: String,
    pub files: RoomFiles,
    pub stdin: Vec<u8>,
}

/// What happens to a run before its end.
#[derive(Debug)]
pub(crate) enum Event {
    /// A worker took a queued run (local runs start at once and never say so).
    Started,
    Output(OutputChunk),
}

/// Why a run was not accepted.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SubmitError {
    /// Too much is waiting, or runs cannot be served now (503).
    #[error("{0}")]
    Unavailable(String),
    /// The room's files cannot run as they are (400).
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Internal(anyhow::Error),
}

impl From<SandboxError> for SubmitError {
    fn from(error: SandboxError) -> Self {
        match error {
            SandboxError::Busy { .. } => {
                SubmitError::Unavailable(format!("{error}; try again in a moment"))
            }
            SandboxError::UnknownLanguage(_)
            | SandboxError::SourceTooLarge { .. }
            | SandboxError::TooManyFiles { .. }
            | SandboxError::BadFilePath { .. }
            | SandboxError::LimitTooHigh { .. }
            | SandboxError::ZeroLimit(_) => SubmitError::BadRequest(error.to_string()),
            other => SubmitError::Internal(other.into()),
        }
    }
}

impl Runner {
    pub(crate) fn from_config(config: &Config) -> Runner {
        match config.runner {
            RunnerKind::Local => Runner::Local(local::Local::default()),
            RunnerKind::Queue => match queue::Queue::new(config) {
                Ok(queue) => Runner::Queue(Box::new(queue)),
                Err(why) => Runner::Broken(format!("{why:#}")),
            },
        }
    }

    /// At start-up: start the sandbox (so a missing protection is reported now), or reach
    /// Redis and make sure the queue's consumer group exists.
    pub(crate) async fn warm_up(&self) {
        match self {
            Runner::Local(local) => {
                let _ = local.sandbox().await;
            }
            Runner::Queue(queue) => queue.warm_up().await,
            Runner::Broken(_) => {}
        }
    }

    /// Hand a run over; `cancel` stops it.
    pub(crate) async fn submit(
        &self,
        submission: Submission,
        cancel: CancellationToken,
    ) -> Result<RunHandle, SubmitError> {
        match self {
            Runner::Local(local) => local.submit(submission, cancel).await,
            Runner::Queue(queue) => queue.submit(submission, cancel).await,
            Runner::Broken(why) => Err(SubmitError::Unavailable(format!(
                "runs are unavailable on this server: {why}"
            ))),
        }
    }

    /// `/healthz`'s line for the runner (the Redis round trip with `--runner queue`).
    pub(crate) async fn health(&self) -> Result<Option<String>, String> {
        match self {
            Runner::Queue(queue) => queue.health().await.map(Some),
            Runner::Local(_) => Ok(None),
            Runner::Broken(why) => Err(why.clone()),
        }
    }

    /// `/metrics`' lines for the runner (queue depth with `--runner queue`).
    pub(crate) async fn metrics(&self) -> String {
        match self {
            Runner::Queue(queue) => queue.metrics().await,
            Runner::Local(_) | Runner::Broken(_) => String::new(),
        }
    }
}

/// A run handed to a runner.
pub(crate) enum RunHandle {
    Local(local::LocalRun),
    Remote(Box<queue::RemoteRun>),
}

impl RunHandle {
    /// Whether the run waits for a worker (status `queued`) rather than running already.
    pub(crate) fn queued(&self) -> bool {
        matches!(self, RunHandle::Remote(_))
    }

    /// The next event; `None` once the run has ended (then [`RunHandle::end`]).
    pub(crate) async fn next(&mut self) -> Option<Event> {
        match self {
            RunHandle::Local(run) => run.next().await,
            RunHandle::Remote(run) => run.next().await,
        }
    }

    /// How the run ended.
    pub(crate) async fn end(self) -> End {
        match self {
            RunHandle::Local(run) => run.end().await,
            RunHandle::Remote(run) => run.end(),
        }
    }
}

/// The sandbox request for the room's files: the entry file runs as `meta.language` (the
/// sandbox writes it under the language's source name, e.g. `main.py`), every other file
/// of the room is written next to it, so a multi-file program works.
pub(crate) fn to_request(
    languages: &LanguageTable,
    files: &RoomFiles,
    stdin: Vec<u8>,
) -> Result<RunRequest, SandboxError> {
    let language = languages
        .get(&files.language)
        .ok_or_else(|| SandboxError::UnknownLanguage(files.language.clone()))?;
    let source = files
        .files
        .iter()
        .find(|(path, _)| *path == files.entry)
        .map(|(_, text)| text.clone().into_bytes())
        .ok_or_else(|| SandboxError::BadFilePath {
            path: files.entry.clone(),
            why: "is the room's entry file (meta.entry) but not one of its files".into(),
        })?;
    let mut others = Vec::with_capacity(files.files.len());
    for (path, text) in &files.files {
        if *path == files.entry {
            continue;
        }
        if *path == language.source {
            return Err(SandboxError::BadFilePath {
                path: path.clone(),
                why: format!(
                    "is where the entry file {} is written to run as {}; rename one of them",
                    files.entry, language.name
                ),
            });
        }
        others.push((path.clone(), text.clone().into_bytes()));
    }
    Ok(RunRequest {
        language: files.language.clone(),
        source,
        stdin,
        files: others,
        ..RunRequest::default()
    })
}
