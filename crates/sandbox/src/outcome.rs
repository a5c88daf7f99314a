//! What a run produces: live output chunks while it runs, one [`RunOutcome`] at the end.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The verdict of a run (SPEC §3). Serialised in snake_case: `ok`, `compile_error`, …
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The program exited with status 0 within every limit.
    Ok,
    /// The compile step failed; its output is in [`RunOutcome::compile_output`].
    CompileError,
    /// Non-zero exit status or killed by a signal.
    RuntimeError,
    /// CPU time or wall time limit exceeded.
    TimeLimit,
    /// The memory limit was reached and the program was killed or failed.
    MemoryLimit,
    /// stdout or stderr exceeded the output limit, or the file size limit was hit.
    OutputLimit,
    /// The sandbox itself failed; the program's behaviour tells nothing.
    InternalError,
}

impl Verdict {
    /// The wire name (`ok`, `compile_error`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::CompileError => "compile_error",
            Verdict::RuntimeError => "runtime_error",
            Verdict::TimeLimit => "time_limit",
            Verdict::MemoryLimit => "memory_limit",
            Verdict::OutputLimit => "output_limit",
            Verdict::InternalError => "internal_error",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which stream a chunk of output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// The compiler's combined stdout and stderr (compiled languages only).
    Compile,
    Stdout,
    Stderr,
}

/// A piece of output, delivered while the program runs (for live display).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputChunk {
    pub stream: Stream,
    /// Time since the run started (its first step was spawned).
    #[serde(with = "millis")]
    pub at: Duration,
    /// Raw bytes as the program wrote them (not necessarily UTF-8, not line-aligned).
    pub data: Vec<u8>,
}

/// The result of a run: the JSON object `peercode run --json` prints (SPEC §2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunOutcome {
    pub verdict: Verdict,
    /// Exit status of the program, when it exited normally.
    pub exit_code: Option<i32>,
    /// Signal that ended the program, when it was killed.
    pub signal: Option<i32>,
    /// Captured stdout, lossily decoded as UTF-8, at most the output limit.
    pub stdout: String,
    /// Captured stderr, lossily decoded as UTF-8, at most the output limit.
    pub stderr: String,
    /// CPU time of every process of the run step (user + system).
    pub cpu_ms: u64,
    /// Wall time of the run step.
    pub wall_ms: u64,
    /// Peak memory of the run step, from the cgroup (or the largest process's max RSS
    /// where the host has no memory cgroup).
    pub memory_kb: u64,
    /// The compile step's output, for compiled languages.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub compile_output: Option<String>,
    /// Whether stdout or stderr was cut at the output limit.
    #[serde(default)]
    pub truncated: bool,
    /// Why the verdict is `internal_error`, or which limit ended the run.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub message: Option<String>,
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}
