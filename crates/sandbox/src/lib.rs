//! Runs untrusted programs from strangers in a throw-away sandbox (SPEC F3/F4).
//!
//! This crate exists so that the one part of PeerCode trusted with hostile code is
//! small, self-contained and testable on its own: it takes a language, a source file,
//! stdin and limits, and gives back live output chunks and a [`RunOutcome`] with a
//! [`Verdict`]. The native Linux backend needs no Docker engine: each run gets fresh
//! PID, mount, network, IPC and UTS namespaces, a read-only view of the runtime only,
//! a size-limited tmpfs as work dir and `/tmp`, an unprivileged uid without
//! capabilities under `no_new_privs` and a seccomp filter, cgroup (v2 or v1) and
//! rlimit limits; every process of a run is killed when it ends.
//!
//! ```no_run
//! # async fn demo() -> Result<(), peercode_sandbox::SandboxError> {
//! use peercode_sandbox::{RunRequest, Sandbox, SandboxConfig};
//! let sandbox = Sandbox::new(SandboxConfig::default())?; // once, at start-up
//! let mut run = sandbox.run(RunRequest {
//!     language: "python".into(),
//!     source: b"print('hi')".to_vec(),
//!     ..RunRequest::default()
//! })?; // Err(Busy) when the queue is full
//! while let Some(chunk) = run.next_chunk().await {
//!     // forward chunk.stream / chunk.data / chunk.at to the room, live
//! }
//! let outcome = run.outcome().await?; // verdict, exit code, usage, output
//! # Ok(()) }
//! ```
//!
//! Architecture invariant: the sandbox knows nothing about rooms, users or the network
//! protocol. Its callers (`peercode run`, the server's run queue) pass plain requests.
//!
//! Architecture invariant: `unsafe` lives in two modules only: `child` (the code between
//! `clone` and `execve`, where nothing allocates or takes a lock, so spawning is safe
//! inside a multithreaded tokio server) and `sys` (thin syscall wrappers for the host
//! side). Neither depends on the rest of the crate except the plan it executes.
//!
//! Architecture invariant: the sandbox never runs code silently without a protection.
//! [`Sandbox::new`] refuses hosts without namespaces or seccomp and logs every other
//! missing protection; [`Sandbox::host`] lists them for `peercode doctor`.

mod cgroup;
mod check;
mod child;
mod config;
mod error;
mod host;
mod host_limits;
mod judge;
mod language;
mod outcome;
mod plan;
mod rootfs;
mod sandbox;
mod seccomp;
mod supervise;
mod sys;
mod text;

pub use cgroup::{CgroupKind, CgroupReport};
pub use check::Check;
pub use config::{CleanupOrder, Limits, NetnsAhead, RunRequest, SandboxConfig};
pub use error::SandboxError;
pub use host::{HostReport, Mode};
pub use host_limits::HostLimit;
pub use language::{Language, LanguageTable};
pub use outcome::{OutputChunk, RunOutcome, Stream, Verdict};
pub use sandbox::{MadeAhead, RunHandle, Sandbox};
pub use seccomp::DENIED_NAMES as SECCOMP_DENIED;
pub use tokio_util::sync::CancellationToken;
