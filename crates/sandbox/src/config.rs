//! Limits of a run and the server-side configuration of the sandbox.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::SandboxError;
use crate::language::LanguageTable;

/// Resource limits of one step (compile or run) of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Memory of all processes together (cgroup), MiB.
    pub memory_mb: u64,
    /// CPU time of all processes together, ms.
    pub cpu_time_ms: u64,
    /// Wall time, ms.
    pub wall_time_ms: u64,
    /// CPU bandwidth, percent of one CPU (CFS quota per 100 ms period).
    pub cpu_quota_percent: u64,
    /// Processes and threads alive at once.
    pub processes: u64,
    /// Bytes of stdout, and separately of stderr, kept; more ends the run.
    pub output_bytes: u64,
    /// Bytes of files the program may write (work dir, /tmp and /dev/shm together).
    pub file_bytes: u64,
}

impl Default for Limits {
    /// SPEC §3 defaults (Judge0's): 128 MiB, 5 s CPU, 10 s wall, half a CPU, 64
    /// processes, 1 MiB per output stream, 16 MiB of files.
    fn default() -> Self {
        Limits {
            memory_mb: 128,
            cpu_time_ms: 5_000,
            wall_time_ms: 10_000,
            cpu_quota_percent: 50,
            processes: 64,
            output_bytes: 1 << 20,
            file_bytes: 16 << 20,
        }
    }
}

impl Limits {
    /// Limits of the compile step: compilers need more memory and time than the programs
    /// they build.
    pub fn compile_default() -> Self {
        Limits {
            memory_mb: 512,
            cpu_time_ms: 15_000,
            wall_time_ms: 30_000,
            cpu_quota_percent: 100,
            processes: 64,
            output_bytes: 256 << 10,
            file_bytes: 64 << 20,
        }
    }

    /// Upper bounds a run may ask for, unless the server configures others.
    pub fn max_default() -> Self {
        Limits {
            memory_mb: 1024,
            cpu_time_ms: 30_000,
            wall_time_ms: 60_000,
            cpu_quota_percent: 100,
            processes: 256,
            output_bytes: 16 << 20,
            file_bytes: 256 << 20,
        }
    }

    /// Checks every limit is positive and at most `max`.
    pub fn check_within(&self, max: &Limits) -> Result<(), SandboxError> {
        let pairs = [
            ("memory_mb", self.memory_mb, max.memory_mb),
            ("cpu_time_ms", self.cpu_time_ms, max.cpu_time_ms),
            ("wall_time_ms", self.wall_time_ms, max.wall_time_ms),
            (
                "cpu_quota_percent",
                self.cpu_quota_percent,
                max.cpu_quota_percent,
            ),
            ("processes", self.processes, max.processes),
            ("output_bytes", self.output_bytes, max.output_bytes),
            ("file_bytes", self.file_bytes, max.file_bytes),
        ];
        for (name, asked, max) in pairs {
            if asked > max {
                return Err(SandboxError::LimitTooHigh { name, asked, max });
            }
            if asked == 0 {
                return Err(SandboxError::ZeroLimit(name));
            }
        }
        Ok(())
    }
}

/// How the server sets up its sandbox.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Largest limits a run may ask for.
    pub max_limits: Limits,
    /// Limits of every compile step.
    pub compile_limits: Limits,
    /// Runs executing at once.
    pub concurrency: usize,
    /// Runs waiting for a free slot; one more is refused with [`SandboxError::Busy`].
    pub queue: usize,
    pub languages: LanguageTable,
    /// Programs run as uid/gid `uid_base + slot`, one uid per concurrent run, so that
    /// runs cannot signal or `RLIMIT_NPROC`-starve each other. Must not be used on the host.
    pub uid_base: u32,
    /// Host directory the per-run root tmpfs is mounted on, inside each run's private
    /// mount namespace (the host only ever sees an empty directory).
    pub root_dir: PathBuf,
    /// cgroup v2: a delegated cgroup to create run cgroups under (default: the server's
    /// own cgroup). Ignored for v1.
    pub cgroup_parent: Option<PathBuf>,
    /// Largest source file accepted, with every extra file of the request (they are
    /// written into the run's tmpfs by the sandbox itself, outside the run's memory
    /// cgroup).
    pub max_source_bytes: usize,
    /// Most extra files a request may carry besides its source.
    pub max_files: usize,
    /// Root mode: fresh network namespaces a background thread makes ahead of runs, so
    /// that a run enters one instead of making it in `clone` (about 0.5 ms of a run).
    pub netns_ahead: NetnsAhead,
    /// Whether a run's outcome waits for its cgroups to be removed.
    pub cleanup: CleanupOrder,
    /// Root mode: after each run, make the next one's sandbox for the same language and
    /// limits (cgroups, pipes, namespaces, file system; everything but the files, which
    /// are written when a run takes it), so that a run like the last one starts by
    /// writing its files and saying "go" (about 1 ms of a run). A run of another
    /// language or other limits discards it and starts its own. It holds a uid slot of
    /// its own (one past `concurrency`) while it waits, and at most this long: its init
    /// is a copy of this process, sharing its memory copy-on-write, so every page this
    /// process writes meanwhile is copied once. `None`: make none.
    pub init_ahead: Option<Duration>,
}

/// When a finished run's cgroups are removed, relative to its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CleanupOrder {
    /// After the outcome is handed over: a server, whose caller need not wait for the
    /// `rmdir`s (a few tenths of a millisecond a run). The run holds its concurrency
    /// permit and uid slot until they are done, so no run starts on its leftovers.
    #[default]
    AfterOutcome,
    /// Before: a process that exits right after the outcome (`peercode run`) and must
    /// leave nothing behind.
    BeforeOutcome,
}

/// How many network namespaces the sandbox makes ahead of its runs (root mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetnsAhead {
    /// Keep `concurrency + 1` ready at all times: a server.
    #[default]
    Pool,
    /// Make this many as soon as the sandbox is created (while it probes the host), then
    /// stop: a sandbox for one run and an exit (`peercode run`), whose run finds its
    /// namespace ready and which makes none that nobody uses. A run that finds none left
    /// makes its own in `clone`.
    Once(usize),
}

impl Default for SandboxConfig {
    /// One run per CPU this process may use, 64 waiting.
    fn default() -> Self {
        let cpus = std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(2);
        SandboxConfig::with(LanguageTable::builtin(), cpus, 64)
    }
}

impl SandboxConfig {
    /// A sandbox for one run and an exit (`peercode run`): one run at a time and none
    /// waiting, its network namespace made while the host is probed (no pool), its cgroups
    /// removed before the outcome, no sandbox prepared for a next run. Unlike
    /// `..SandboxConfig::default()` it does not ask how many CPUs this process may use
    /// (std reads the cgroup files for that), which a single run does not need.
    pub fn one_run(languages: LanguageTable) -> Self {
        SandboxConfig {
            netns_ahead: NetnsAhead::Once(1),
            cleanup: CleanupOrder::BeforeOutcome,
            init_ahead: None,
            ..SandboxConfig::with(languages, 1, 0)
        }
    }

    fn with(languages: LanguageTable, concurrency: usize, queue: usize) -> Self {
        SandboxConfig {
            max_limits: Limits::max_default(),
            compile_limits: Limits::compile_default(),
            concurrency,
            queue,
            languages,
            uid_base: 2_000_000,
            root_dir: default_root_dir(),
            cgroup_parent: None,
            max_source_bytes: 4 << 20,
            max_files: 256,
            netns_ahead: NetnsAhead::Pool,
            cleanup: CleanupOrder::AfterOutcome,
            init_ahead: Some(Duration::from_secs(60)),
        }
    }
}

/// Where the per-run root tmpfs is mounted by default: a root-owned directory under
/// `/run` for root (no other user can create or replace it, unlike a fixed name in
/// `/tmp`), the user's private runtime dir otherwise.
fn default_root_dir() -> PathBuf {
    let (euid, _) = crate::sys::euid_egid();
    if euid == 0 {
        return PathBuf::from("/run/peercode-sandbox/root");
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("peercode-sandbox-root"),
        _ => std::env::temp_dir().join(format!("peercode-sandbox-root-{euid}")),
    }
}

/// One run: which language, the code, its input and limits.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// Language name or alias from the table.
    pub language: String,
    /// The program's source, written to the language's `source` file in the work dir.
    pub source: Vec<u8>,
    /// Given to the program on stdin.
    pub stdin: Vec<u8>,
    pub limits: Limits,
    /// More files written into the work dir next to the source (a room's other files):
    /// `(relative path, contents)`. Paths are `/`-separated and relative, without `.` or
    /// `..` components; at most [`SandboxConfig::max_files`] of them, and the source and
    /// files together at most [`SandboxConfig::max_source_bytes`].
    pub files: Vec<(String, Vec<u8>)>,
}

impl RunRequest {
    /// Bytes of the source and every extra file together: what the run's files take in
    /// its root tmpfs.
    pub(crate) fn files_bytes(&self) -> usize {
        self.source.len() + self.files.iter().map(|(_, d)| d.len()).sum::<usize>()
    }

    /// What [`crate::Sandbox::run`] refuses up front, without a sandbox: the language is in
    /// `config`'s table, the limits within its maxima, the source and files within its
    /// bounds and their paths safe. For a caller that hands the run to a sandbox elsewhere
    /// (the server's run queue), so a bad request is refused before it travels.
    pub fn check(&self, config: &SandboxConfig) -> Result<(), SandboxError> {
        let language = config
            .languages
            .get(&self.language)
            .ok_or_else(|| SandboxError::UnknownLanguage(self.language.clone()))?;
        self.limits.check_within(&config.max_limits)?;
        if self.source.len() > config.max_source_bytes {
            return Err(SandboxError::SourceTooLarge {
                size: self.source.len(),
                max: config.max_source_bytes,
            });
        }
        self.check_files(&language.source, config)
    }

    /// Checks the extra files: safe relative paths, distinct, not the source's name,
    /// within the count and size bounds.
    pub(crate) fn check_files(
        &self,
        source_name: &str,
        config: &SandboxConfig,
    ) -> Result<(), SandboxError> {
        if self.files.len() > config.max_files {
            return Err(SandboxError::TooManyFiles {
                count: self.files.len(),
                max: config.max_files,
            });
        }
        let size = self.files_bytes();
        if size > config.max_source_bytes {
            return Err(SandboxError::SourceTooLarge {
                size,
                max: config.max_source_bytes,
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for (path, _) in &self.files {
            let bad = |why: &str| SandboxError::BadFilePath {
                path: path.clone(),
                why: why.to_owned(),
            };
            if path.is_empty() || path.len() > 1024 {
                return Err(bad("must be 1 to 1024 bytes long"));
            }
            if path.starts_with('/') {
                return Err(bad("must be relative to the work dir"));
            }
            if path.contains('\0') {
                return Err(bad("contains a NUL byte"));
            }
            if path
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == ".." || c.len() > 255)
            {
                return Err(bad(
                    "has an empty, `.` or `..` component, or one over 255 bytes",
                ));
            }
            if path == source_name {
                return Err(bad("is the program's source file"));
            }
            if !seen.insert(path.as_str()) {
                return Err(bad("is given twice"));
            }
        }
        // A file may not be a directory another file needs (`a` and `a/b`).
        for (path, _) in &self.files {
            let mut prefix = String::new();
            for comp in path.split('/') {
                if !prefix.is_empty() && (seen.contains(prefix.as_str()) || prefix == source_name) {
                    return Err(SandboxError::BadFilePath {
                        path: path.clone(),
                        why: format!("needs `{prefix}` to be a directory, but it is a file"),
                    });
                }
                if !prefix.is_empty() {
                    prefix.push('/');
                }
                prefix.push_str(comp);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_run_config_is_the_default_for_a_single_run() {
        let one = SandboxConfig::one_run(LanguageTable::builtin());
        let d = SandboxConfig::default();
        assert_eq!((one.concurrency, one.queue), (1, 0));
        assert_eq!(one.netns_ahead, NetnsAhead::Once(1));
        assert_eq!(d.netns_ahead, NetnsAhead::Pool);
        assert!(d.concurrency >= 1);
        assert_eq!(d.queue, 64);
        assert_eq!(one.max_limits, d.max_limits);
        assert_eq!(one.compile_limits, d.compile_limits);
        assert_eq!(one.languages, d.languages);
        assert_eq!(one.uid_base, d.uid_base);
        assert_eq!(one.root_dir, d.root_dir);
        assert_eq!(one.cgroup_parent, d.cgroup_parent);
        assert_eq!(
            (one.max_source_bytes, one.max_files),
            (d.max_source_bytes, d.max_files)
        );
    }
}
