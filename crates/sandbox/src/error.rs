//! Errors of the sandbox library. A program misbehaving is never an error: it is a
//! [`Verdict`](crate::Verdict). These are the cases where no verdict can be given.

use std::path::PathBuf;

/// What went wrong while setting up or running the sandbox.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// Every worker is busy and the queue is full; try again later.
    #[error("the sandbox is busy: {running} runs in progress and {queued} queued")]
    Busy { running: usize, queued: usize },
    /// The request named a language the table does not have (or its toolchain is missing).
    #[error("unknown or unavailable language `{0}`")]
    UnknownLanguage(String),
    /// A limit asked for is above the server's maximum.
    #[error("{name} limit {asked} is above the server's maximum {max}")]
    LimitTooHigh {
        name: &'static str,
        asked: u64,
        max: u64,
    },
    /// The source file is larger than the server accepts.
    #[error("the source is {size} bytes; at most {max} are accepted")]
    SourceTooLarge { size: usize, max: usize },
    /// The request carries more extra files than the server accepts.
    #[error("{count} files given; at most {max} are accepted")]
    TooManyFiles { count: usize, max: usize },
    /// An extra file's path is unsafe or ambiguous.
    #[error("file path `{path}` {why}")]
    BadFilePath { path: String, why: String },
    /// A limit of zero (nothing could run).
    #[error("{0} limit must be positive")]
    ZeroLimit(&'static str),
    /// The run was cancelled by its caller (or its handle was dropped).
    #[error("the run was cancelled")]
    Cancelled,
    /// The host lacks something the sandbox cannot run without.
    #[error("this host cannot run the sandbox: {0}")]
    Unsupported(String),
    /// A language table could not be read.
    #[error("language table {path}: {message}")]
    LanguageTable { path: PathBuf, message: String },
    /// Building the seccomp filter failed.
    #[error("seccomp filter: {0}")]
    Seccomp(String),
    /// A cgroup operation failed.
    #[error("cgroup {path}: {source}")]
    Cgroup {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Another system call in the supervisor failed.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A directory of the sandbox (the mount point of the run's root tmpfs, the uid
    /// lock directory) is unsafe to use.
    #[error("sandbox directory {path}: {problem}")]
    RootDir { path: PathBuf, problem: String },
    /// Every uid the sandbox may use is held by a run of this or another sandbox.
    #[error("all {count} uids from {first} are in use by other sandboxed runs")]
    UidsExhausted { first: u32, count: u32 },
    /// A language's compile or run command is empty.
    #[error("the language table has an empty command")]
    EmptyCommand,
    /// `uid_base + slot` does not fit a uid.
    #[error("uid_base {uid_base} is too large for {slots} slots")]
    UidOutOfRange { uid_base: u32, slots: usize },
    /// The sandbox's own bookkeeping broke (a thread it relies on is gone, a lock was
    /// poisoned by a panic, no uid slot was free although a permit was): a bug, never
    /// the program's doing.
    #[error("sandbox internal failure: {0}")]
    Internal(&'static str),
    /// A path or argument contains a NUL byte.
    #[error("`{0}` contains a NUL byte")]
    Nul(String),
}

impl SandboxError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        SandboxError::Io {
            what: what.into(),
            source,
        }
    }
}
