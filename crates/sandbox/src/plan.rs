//! Everything the child side of a spawn needs, computed in the parent beforehand.
//!
//! Between `clone` and `execve` the child may not allocate or take a lock (the parent is
//! a multithreaded server), so every path, argument and BPF program is built here, as
//! owned C strings, and the child only reads them.

use std::ffi::CString;
use std::os::fd::RawFd;

use crate::error::SandboxError;
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
    pub proc_areas: Option<crate::spawn::ProcAreas>,
    /// In user-namespace mode: the host uid and gid to map to 0.
    pub userns_map: Option<(CString, CString)>,
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
