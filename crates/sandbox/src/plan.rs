//! Everything the child side of a spawn needs, computed in the parent beforehand.
//!
//! Between `clone` and `execve` the child may not allocate or take a lock (the parent is
//! a multithreaded server), so every path, argument and BPF program is built here, as
//! owned C strings, and the child only reads them.

use std::collections::BTreeSet;
use std::ffi::{CString, c_int};
use std::os::fd::RawFd;
use std::path::Path;

use crate::config::Limits;
use crate::error::SandboxError;
use crate::language::Language;
use crate::rootfs;
use crate::seccomp::Bpf;

/// One step of building the program's file system, run by the sandbox's init process
/// inside its fresh mount namespace. Every path is absolute on the new root tmpfs
/// (before `pivot_root`), so it starts with [`Plan::root`].
pub(crate) enum FsOp {
    /// `mkdir(path, mode)`; an existing directory is fine.
    Mkdir { path: CString, mode: u32 },
    /// Create an empty file to bind a host file onto.
    Touch { path: CString },
    /// Bind-mount `src` on `dst`, then remount it with `flags` (read-only, nosuid, …;
    /// includes the source mount's locked flags).
    Bind {
        src: CString,
        dst: CString,
        flags: libc::c_ulong,
    },
    /// `symlink(target, path)`.
    Symlink { target: CString, path: CString },
    /// A fresh procfs for the new PID namespace.
    Proc { path: CString },
    /// A small file with fixed contents (`/etc/passwd`, the program's source).
    WriteFile {
        path: CString,
        data: Vec<u8>,
        mode: u32,
    },
    /// `chown(path, uid, gid)`.
    Chown { path: CString, uid: u32, gid: u32 },
}

/// One process the init runs to completion: the compile step or the run step.
pub(crate) struct StepPlan {
    /// Path given to `execve` (absolute, or relative to the work dir).
    pub program: CString,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
    /// Becomes fd 0, 1, 2 of the step.
    pub stdin: RawFd,
    pub stdout: RawFd,
    pub stderr: RawFd,
    /// Write end of every `cgroup.procs` file of this step's cgroup(s); the child writes
    /// "0" into each to move itself there before dropping privileges.
    pub cgroup_procs: Vec<RawFd>,
    /// v2: the step's cgroup directory; init forks the step straight into it with
    /// `clone3(CLONE_INTO_CGROUP)` (no migration), falling back to `cgroup_procs`.
    pub cgroup_dir: Option<RawFd>,
    /// `(resource, soft, hard)`.
    pub rlimits: Vec<(libc::c_int, u64, u64)>,
    /// Descriptors init closes once the step is forked, so the host sees EOF when the
    /// step's processes are gone.
    pub close_after_fork: Vec<RawFd>,
    /// Before the step starts, resize the root tmpfs to what is used plus this many
    /// bytes (the run step after a compile step gets its own file budget).
    pub resize_tmpfs: Option<u64>,
}

/// The complete recipe for one sandbox: namespaces, file system, steps, filters.
pub(crate) struct Plan {
    /// Host directory the new root tmpfs is mounted on (inside the private mount
    /// namespace only; the host never sees the mount).
    pub root: CString,
    /// `mount` data for the root tmpfs (`size=…,mode=755`).
    pub root_tmpfs_data: CString,
    pub ops: Vec<FsOp>,
    /// What each of `ops` does, in words, for the message of a setup failure.
    pub op_names: Vec<String>,
    pub hostname: CString,
    pub steps: Vec<StepPlan>,
    /// Write end of the status pipe (records, see [`Record`]).
    pub status_fd: RawFd,
    /// Descriptors the init keeps; every other inherited one is closed. Sorted.
    pub keep_fds: Vec<RawFd>,
    /// Descriptors held only by the parent side, which init closes first thing.
    pub parent_only_fds: Vec<RawFd>,
    pub seccomp: Vec<Bpf>,
    /// The uid/gid the program runs as (root mode), or `None` in user-namespace mode,
    /// where the program is uid 0 of its own namespace with every capability dropped.
    pub run_as: Option<(u32, u32)>,
    /// A fresh network namespace made ahead of time (root mode), entered by the init
    /// instead of creating one in `clone`: that takes ~0.5 ms off every run.
    pub netns: Option<RawFd>,
    /// The server's argv/environ memory, wiped in the init's copy.
    pub proc_areas: Option<ProcAreas>,
    /// In user-namespace mode: the host uid and gid to map to 0.
    pub userns_map: Option<(CString, CString)>,
    /// A sandbox made ahead of its run (see [`Ahead`]): once its file system is built,
    /// the init waits on this pipe for the size its root tmpfs must have (a native-endian
    /// `u64`, see [`root_tmpfs_size`]), sent once the run's files are in; and at most
    /// this many milliseconds. End of file or time up: it exits.
    pub go: Option<(RawFd, c_int)>,
}

/// A sandbox made ahead of its run: the init builds everything but the run's files, then
/// waits on `go` (the read end of a pipe), at most `wait_ms`. Its root tmpfs holds up to
/// `files_bytes` for the files until then.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ahead {
    pub go: RawFd,
    pub wait_ms: c_int,
    pub files_bytes: u64,
}

pub(crate) fn cstring(s: impl Into<Vec<u8>>) -> Result<CString, SandboxError> {
    let bytes = s.into();
    CString::new(bytes.clone())
        .map_err(|_| SandboxError::Nul(String::from_utf8_lossy(&bytes).into_owned()))
}

/// Record kinds written by the init on the status pipe.
pub(crate) mod record {
    /// A step was forked; `value` is its pid inside the namespace.
    pub const STARTED: u8 = 1;
    /// A step ended; `value` is its wait status; `a`, `b` are user and system CPU µs of
    /// the step's process tree as far as it was reaped, `c` its max RSS in KiB.
    pub const EXITED: u8 = 2;
    /// Setting up failed; `stage` says where (see [`super::Stage`]), `a` is the index
    /// of the file-system op, `value` the errno.
    pub const FAILED: u8 = 3;
    /// The init's last word: every step is over and every process of the run is killed
    /// and reaped; the init exits next. Its own exit (tearing down the namespaces, the
    /// mounts, the root tmpfs) takes milliseconds nobody needs to wait for.
    pub const DONE: u8 = 4;
}

/// Where a setup failure happened.
#[derive(Debug, Clone, Copy)]
#[repr(u16)]
pub(crate) enum Stage {
    UserNs = 1,
    MountPrivate,
    RootTmpfs,
    FsOp,
    PivotRoot,
    Hostname,
    Fork,
    Stdio,
    Cgroup,
    Rlimit,
    Chdir,
    Credentials,
    NoNewPrivs,
    Seccomp,
    Exec,
    ResizeTmpfs,
    Netns,
    Session,
}

impl Stage {
    pub(crate) fn from_u16(v: u16) -> &'static str {
        const NAMES: &[&str] = &[
            "?",
            "user namespace mapping",
            "making mounts private",
            "mounting the root tmpfs",
            "building the file system",
            "pivot_root",
            "sethostname",
            "forking the step",
            "setting up stdio",
            "joining the cgroup",
            "setting rlimits",
            "entering the work dir",
            "dropping privileges",
            "no_new_privs",
            "installing seccomp",
            "execve",
            "resizing the work tmpfs",
            "entering the network namespace",
            "starting a new session",
        ];
        NAMES.get(usize::from(v)).copied().unwrap_or("?")
    }
}

/// A fixed-size record on the status pipe (written atomically: smaller than PIPE_BUF).
#[derive(Debug, Clone, Copy, Default)]
#[repr(C)]
pub(crate) struct Record {
    pub kind: u8,
    pub step: u8,
    pub stage: u16,
    pub value: i32,
    pub a: u64,
    pub b: u64,
    pub c: u64,
}

impl Record {
    pub const SIZE: usize = 32;

    pub fn to_bytes(self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        out[0] = self.kind;
        out[1] = self.step;
        out[2..4].copy_from_slice(&self.stage.to_ne_bytes());
        out[4..8].copy_from_slice(&self.value.to_ne_bytes());
        out[8..16].copy_from_slice(&self.a.to_ne_bytes());
        out[16..24].copy_from_slice(&self.b.to_ne_bytes());
        out[24..32].copy_from_slice(&self.c.to_ne_bytes());
        out
    }

    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Self {
        let u64_at = |i: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[i..i + 8]);
            u64::from_ne_bytes(x)
        };
        Record {
            kind: b[0],
            step: b[1],
            stage: u16::from_ne_bytes([b[2], b[3]]),
            value: i32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
            a: u64_at(8),
            b: u64_at(16),
            c: u64_at(24),
        }
    }
}

/// Where this process's command line and environment strings are (fields 48–51 of
/// /proc/self/stat).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProcAreas {
    pub arg_start: usize,
    pub arg_end: usize,
    pub env_start: usize,
    pub env_end: usize,
}

impl ProcAreas {
    pub(crate) fn of_self() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let rest = &stat[stat.rfind(')')? + 1..];
        // `rest` starts at field 3 (state).
        let f: Vec<usize> = rest
            .split_whitespace()
            .skip(45)
            .take(4)
            .map(|v| v.parse().ok())
            .collect::<Option<_>>()?;
        match f.as_slice() {
            [a, b, c, d] if a < b && c <= d => Some(ProcAreas {
                arg_start: *a,
                arg_end: *b,
                env_start: *c,
                env_end: *d,
            }),
            _ => None,
        }
    }
}

/// Who the program runs as.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Identity {
    /// Root mode: a dedicated unprivileged uid/gid (`uid_base + slot`).
    Uid { uid: u32, gid: u32 },
    /// User-namespace mode: uid 0 of its own namespace, mapped to this host uid/gid.
    UserNs { host_uid: u32, host_gid: u32 },
}

/// The descriptors of one step, as numbers the child uses.
pub(crate) struct StepFds {
    pub stdin: RawFd,
    pub stdout: RawFd,
    pub stderr: RawFd,
    /// Files the step writes "0" into to join its cgroup(s).
    pub cgroup_procs: Vec<RawFd>,
    /// v2: the step's cgroup directory.
    pub cgroup_dir: Option<RawFd>,
    /// Host-side ends (readers, the stdin writer) the init closes first thing.
    pub parent_only: Vec<RawFd>,
}

/// One step as the plan needs it.
pub(crate) struct StepInput<'a> {
    pub argv: &'a [String],
    pub limits: Limits,
    pub fds: StepFds,
}

/// Everything a [`Plan`] is computed from.
pub(crate) struct PlanInput<'a> {
    pub root_dir: &'a Path,
    pub language: &'a Language,
    /// `(name, contents)` written into the work dir.
    pub files: &'a [(&'a str, &'a [u8])],
    pub identity: Identity,
    pub has_memory_cgroup: bool,
    pub has_pids_cgroup: bool,
    pub steps: Vec<StepInput<'a>>,
    pub status_read: RawFd,
    pub status_write: RawFd,
    pub seccomp: Vec<Bpf>,
    pub proc_areas: Option<ProcAreas>,
    pub netns: Option<RawFd>,
    pub ahead: Option<Ahead>,
}

impl Plan {
    /// Computes the whole recipe of a sandbox before anything is forked.
    pub(crate) fn build(input: PlanInput<'_>) -> Result<Plan, SandboxError> {
        let (run_as, userns_map, uid, gid) = match input.identity {
            Identity::Uid { uid, gid } => (Some((uid, gid)), None, uid, gid),
            Identity::UserNs { host_uid, host_gid } => (
                None,
                Some((
                    cstring(format!("0 {host_uid} 1"))?,
                    cstring(format!("0 {host_gid} 1"))?,
                )),
                0,
                0,
            ),
        };
        let (op_names, ops): (Vec<String>, Vec<FsOp>) =
            rootfs::fs_ops(input.root_dir, input.language, uid, gid, input.files)?
                .into_iter()
                .unzip();

        let mut env: Vec<CString> = vec![
            cstring("PATH=/usr/local/bin:/usr/bin:/bin")?,
            cstring("HOME=/work")?,
            cstring("TMPDIR=/tmp")?,
            cstring("LANG=C.UTF-8")?,
            cstring("USER=sandbox")?,
        ];
        for (k, v) in &input.language.env {
            env.push(cstring(format!("{k}={v}"))?);
        }

        let mut keep: BTreeSet<RawFd> = BTreeSet::new();
        keep.insert(input.status_write);
        keep.extend(input.netns);
        keep.extend(input.ahead.map(|a| a.go));
        let mut parent_only = vec![input.status_read];
        let mut steps = Vec::new();
        for (i, step) in input.steps.iter().enumerate() {
            let fds = &step.fds;
            let child_fds = [fds.stdin, fds.stdout, fds.stderr];
            keep.extend(child_fds);
            keep.extend(fds.cgroup_procs.iter().copied());
            keep.extend(fds.cgroup_dir);
            parent_only.extend(fds.parent_only.iter().copied());
            let program = step.argv.first().ok_or(SandboxError::EmptyCommand)?;
            let mut close_after_fork: Vec<RawFd> = child_fds.to_vec();
            close_after_fork.dedup();
            close_after_fork.extend(fds.cgroup_procs.iter().copied());
            close_after_fork.extend(fds.cgroup_dir);
            steps.push(StepPlan {
                program: cstring(program.as_str())?,
                argv: step
                    .argv
                    .iter()
                    .map(|a| cstring(a.as_str()))
                    .collect::<Result<_, _>>()?,
                envp: env.clone(),
                stdin: fds.stdin,
                stdout: fds.stdout,
                stderr: fds.stderr,
                cgroup_procs: fds.cgroup_procs.clone(),
                cgroup_dir: fds.cgroup_dir,
                rlimits: rlimits(&step.limits, input.has_memory_cgroup, input.has_pids_cgroup),
                close_after_fork,
                resize_tmpfs: (i > 0).then_some(step.limits.file_bytes),
            });
        }
        let first_files = input
            .steps
            .first()
            .map(|s| s.limits.file_bytes)
            .unwrap_or(0);
        let file_total: u64 = match input.ahead {
            Some(a) => a.files_bytes,
            None => input.files.iter().map(|(_, d)| d.len() as u64).sum(),
        };
        let size = root_tmpfs_size(first_files, file_total);
        Ok(Plan {
            root: cstring(input.root_dir.as_os_str().as_encoded_bytes())?,
            root_tmpfs_data: cstring(format!("size={size},nr_inodes=8192,mode=755"))?,
            ops,
            op_names,
            hostname: cstring("peercode")?,
            steps,
            status_fd: input.status_write,
            keep_fds: keep.into_iter().collect(),
            parent_only_fds: parent_only,
            seccomp: input.seccomp,
            run_as,
            userns_map,
            proc_areas: input.proc_areas,
            netns: input.netns,
            go: input.ahead.map(|a| (a.go, a.wait_ms)),
        })
    }

    /// Says in words where the setup failure `f` happened, with the errno.
    pub(crate) fn describe_failure(&self, f: &Record) -> String {
        let stage = Stage::from_u16(f.stage);
        let errno = std::io::Error::from_raw_os_error(f.value);
        let detail = match f.stage {
            s if s == Stage::FsOp as u16 => usize::try_from(f.a)
                .ok()
                .and_then(|i| self.op_names.get(i))
                .map(|name| format!(" ({name})"))
                .unwrap_or_default(),
            s if s == Stage::Exec as u16 => self
                .steps
                .get(usize::from(f.step))
                .map(|st| format!(" ({})", st.program.to_string_lossy()))
                .unwrap_or_default(),
            _ => String::new(),
        };
        format!("sandbox setup failed while {stage}{detail}: {errno}")
    }
}

/// The size of a run's root tmpfs: the first step's file budget, the run's files, and
/// 256 KiB for the generated `/etc` and the directories.
pub(crate) fn root_tmpfs_size(first_step_file_bytes: u64, files_bytes: u64) -> u64 {
    first_step_file_bytes + files_bytes + (256 << 10)
}

/// The rlimits of a step. `RLIMIT_NPROC` counts the processes of a uid across the whole
/// host (every run of another `peercode` process with the same uid slot, too), so it
/// is set only where no pids cgroup bounds the run's processes on its own.
fn rlimits(lim: &Limits, has_memory_cgroup: bool, has_pids_cgroup: bool) -> Vec<(c_int, u64, u64)> {
    let cpu_s = lim.cpu_time_ms.div_ceil(1000) + 1;
    let mem = lim.memory_mb << 20;
    // Deep recursion is common in contest code; the memory cgroup still counts every
    // page. Without it, RLIMIT_DATA (which counts thread stacks) would make a large stack
    // rlimit starve thread creation: keep Linux's 8 MiB.
    let stack = if has_memory_cgroup {
        mem.min(64 << 20)
    } else {
        mem.min(8 << 20)
    };
    let mut out = vec![
        (libc::RLIMIT_CPU as c_int, cpu_s, cpu_s + 1),
        (libc::RLIMIT_FSIZE as c_int, lim.file_bytes, lim.file_bytes),
        (libc::RLIMIT_CORE as c_int, 0, 0),
        (libc::RLIMIT_NOFILE as c_int, 512, 512),
        (libc::RLIMIT_STACK as c_int, stack, stack),
        (libc::RLIMIT_MSGQUEUE as c_int, 0, 0),
        (libc::RLIMIT_MEMLOCK as c_int, 64 << 10, 64 << 10),
    ];
    if !has_pids_cgroup {
        out.push((libc::RLIMIT_NPROC as c_int, lim.processes, lim.processes));
    }
    if !has_memory_cgroup {
        out.push((libc::RLIMIT_DATA as c_int, mem, mem));
    }
    out
}
