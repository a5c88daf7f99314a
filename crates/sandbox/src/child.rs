//! The child side of a spawn: `clone` into fresh namespaces and everything the
//! sandbox's processes do before `execve` (one of the two modules allowed `unsafe`, with
//! [`crate::sys`]).
//!
//! Process tree of one run:
//!
//! ```text
//! server thread ──clone(NEWPID|NEWNS|NEWNET|NEWIPC|NEWUTS)──▶ init (pid 1 of the run)
//!                                                              ├─ compile step (optional)
//!                                                              └─ run step ──▶ the program
//! ```
//!
//! The init builds the file system, then forks each step, waits for it, kills whatever
//! it left behind and reports on the status pipe. When the init exits, the kernel kills
//! every process left in the PID namespace, so nothing outlives a run.
//!
//! Invariant: between `clone` and `execve` nothing allocates, takes a lock or calls a
//! glibc function that does (the server is multithreaded; a lock held by another thread
//! at fork time stays locked forever in the child). Everything is prepared in a
//! [`Plan`]; the child uses raw syscalls (for credentials, `clone`, `seccomp`) and
//! async-signal-safe libc wrappers only. `clone` is called raw, not through glibc's
//! `fork`, so no atfork handler runs.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_int};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::ptr;

use crate::plan::{FsOp, Plan, ProcAreas, Record, Stage, StepPlan, record};

/// The init process of a started sandbox.
pub(crate) struct Spawned {
    /// Host pid of the init (for logs).
    pub pid: libc::pid_t,
    /// A pidfd for the init: signals and waiting through it cannot hit a recycled pid.
    pub pidfd: OwnedFd,
}

/// `argv` and `envp` arrays of one step, as the NULL-terminated pointer arrays `execve`
/// wants. Built by the parent before `clone`; they point into the [`Plan`]'s strings.
struct ExecPtrs {
    argv: Vec<*const c_char>,
    envp: Vec<*const c_char>,
}

const NAMESPACES: c_int = libc::CLONE_NEWPID
    | libc::CLONE_NEWNS
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUTS;

/// Starts the sandbox described by `plan`. The calling thread becomes the init's parent:
/// the init gets SIGKILL when that thread exits, so call this from a thread that lives
/// as long as the sandbox may run.
pub(crate) fn spawn(plan: &Plan) -> io::Result<Spawned> {
    let ptrs: Vec<ExecPtrs> = plan
        .steps
        .iter()
        .map(|s| ExecPtrs {
            argv: s
                .argv
                .iter()
                .map(|a| a.as_ptr())
                .chain([ptr::null()])
                .collect(),
            envp: s
                .envp
                .iter()
                .map(|a| a.as_ptr())
                .chain([ptr::null()])
                .collect(),
        })
        .collect();
    let mut flags = NAMESPACES | libc::CLONE_PIDFD | libc::SIGCHLD;
    if plan.userns_map.is_some() {
        flags |= libc::CLONE_NEWUSER;
    }
    if plan.netns.is_some() {
        // A fresh namespace made ahead of time; the init enters it first thing.
        flags &= !libc::CLONE_NEWNET;
    }
    let mut pidfd: c_int = -1;
    // SAFETY: a raw `clone` with a NULL stack behaves like `fork`: the child runs on a
    // copy of this thread's stack. The child never returns from `init_main` (it ends in
    // `_exit`), so it never unwinds into frames of the parent's runtime. `pidfd` is a
    // valid `int` the kernel writes the pidfd into (CLONE_PIDFD uses the parent_tid slot,
    // which is the third argument on every architecture).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags as libc::c_ulong,
            0 as libc::c_ulong,
            &mut pidfd as *mut c_int,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    if ret == 0 {
        // SAFETY: we are the freshly cloned child; see `init_main`.
        unsafe { init_main(plan, &ptrs) }
    }
    // SAFETY: the kernel returned a new, owned pidfd for the child.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    Ok(Spawned {
        pid: ret as libc::pid_t,
        pidfd,
    })
}

/// `errno` of the last failed call, without allocating.
fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Writes one record on the status pipe. Never allocates.
unsafe fn send(fd: RawFd, rec: Record) {
    let bytes = rec.to_bytes();
    // SAFETY (caller): fd is the status pipe; a short write of < PIPE_BUF cannot happen.
    unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
}

/// Reports a setup failure and exits. Never returns.
unsafe fn fail(fd: RawFd, step: usize, stage: Stage, index: usize) -> ! {
    let rec = Record {
        kind: record::FAILED,
        step: step as u8,
        stage: stage as u16,
        value: errno(),
        a: index as u64,
        ..Record::default()
    };
    // SAFETY: see `send`; `_exit` skips every atexit handler and destructor.
    unsafe {
        send(fd, rec);
        libc::_exit(127)
    }
}

/// Body of the sandbox's init process (pid 1 of the run's PID namespace).
///
/// # Safety
/// Only to be called in the child right after `clone`. Never allocates.
unsafe fn init_main(p: &Plan, ptrs: &[ExecPtrs]) -> ! {
    let st = p.status_fd;
    // SAFETY: every call below is a system call (or a thin async-signal-safe wrapper)
    // on memory owned by `p`, which the child has a private copy of.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        // A session of its own: the program must not share the CLI's or server's session
        // and process group (its controlling terminal, job-control signals).
        if libc::setsid() < 0 {
            fail(st, 0, Stage::Session, 0);
        }
        // Before hiding: a non-dumpable process cannot write its own uid_map.
        if let Some((uid_map, gid_map)) = &p.userns_map
            && (!write_file(c"/proc/self/setgroups", b"deny")
                || !write_file(c"/proc/self/uid_map", uid_map.to_bytes())
                || !write_file(c"/proc/self/gid_map", gid_map.to_bytes()))
        {
            fail(st, 0, Stage::UserNs, 0);
        }
        if let Some(fd) = p.netns {
            if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                fail(st, 0, Stage::Netns, 0);
            }
            libc::close(fd);
        }
        hide_parent_identity(p.proc_areas);
        reset_signals();
        libc::umask(0);
        for &fd in &p.parent_only_fds {
            libc::close(fd);
        }
        close_all_but(&p.keep_fds);

        if libc::mount(
            ptr::null(),
            c"/".as_ptr(),
            ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            ptr::null(),
        ) != 0
        {
            fail(st, 0, Stage::MountPrivate, 0);
        }
        if libc::mount(
            c"tmpfs".as_ptr(),
            p.root.as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV,
            p.root_tmpfs_data.as_ptr().cast(),
        ) != 0
        {
            fail(st, 0, Stage::RootTmpfs, 0);
        }
        for (i, op) in p.ops.iter().enumerate() {
            if !run_op(op) {
                fail(st, 0, Stage::FsOp, i);
            }
        }
        if libc::chdir(p.root.as_ptr()) != 0
            || libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) != 0
            || libc::umount2(c".".as_ptr(), libc::MNT_DETACH) != 0
            || libc::chdir(c"/".as_ptr()) != 0
        {
            fail(st, 0, Stage::PivotRoot, 0);
        }
        let host = p.hostname.to_bytes();
        if libc::sethostname(p.hostname.as_ptr(), host.len()) != 0 {
            fail(st, 0, Stage::Hostname, 0);
        }
        if let Some((go, wait_ms)) = p.go {
            // Made ahead: wait for a run, which has written its files into /work by now
            // and sends the size the root tmpfs must have (what a sandbox made for it
            // would have had). End of file (discarded unused) or no run in time: exit.
            let mut fds = [libc::pollfd {
                fd: go,
                events: libc::POLLIN,
                revents: 0,
            }];
            loop {
                let n = libc::poll(fds.as_mut_ptr(), 1, wait_ms);
                if n > 0 {
                    break;
                }
                if n < 0 && errno() == libc::EINTR {
                    continue;
                }
                libc::_exit(0);
            }
            let mut size = [0u8; 8];
            let mut got = 0usize;
            while got < size.len() {
                let n = libc::read(go, size[got..].as_mut_ptr().cast(), size.len() - got);
                if n > 0 {
                    got += n as usize;
                } else if n < 0 && errno() == libc::EINTR {
                    continue;
                } else {
                    libc::_exit(0);
                }
            }
            libc::close(go);
            if !remount_root_tmpfs(u64::from_ne_bytes(size)) {
                fail(st, 0, Stage::ResizeTmpfs, 0);
            }
        }
        for (i, step) in p.steps.iter().enumerate() {
            if let Some(extra) = step.resize_tmpfs
                && !resize_root_tmpfs(extra)
            {
                fail(st, i, Stage::ResizeTmpfs, 0);
            }
            let mut joined = false;
            let mut pid = -1;
            if let Some(dir) = step.cgroup_dir {
                let args = CloneArgs {
                    flags: CLONE_INTO_CGROUP,
                    exit_signal: libc::SIGCHLD as u64,
                    cgroup: dir as u64,
                    ..CloneArgs::default()
                };
                pid = libc::syscall(
                    libc::SYS_clone3,
                    &args as *const CloneArgs,
                    std::mem::size_of::<CloneArgs>(),
                );
                joined = pid >= 0;
            }
            if pid < 0 {
                pid = libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_ulong, 0, 0, 0, 0);
            }
            if pid < 0 {
                fail(st, i, Stage::Fork, 0);
            }
            if pid == 0 {
                step_main(p, step, i, &ptrs[i], joined);
            }
            let pid = pid as libc::pid_t;
            for &fd in &step.close_after_fork {
                libc::close(fd);
            }
            send(
                st,
                Record {
                    kind: record::STARTED,
                    step: i as u8,
                    value: pid,
                    ..Record::default()
                },
            );
            let mut status: c_int = 0;
            let mut usage: libc::rusage = std::mem::zeroed();
            loop {
                let r = libc::wait4(-1, &mut status, libc::__WALL, &mut usage);
                if r == pid {
                    break;
                }
                if r < 0 && errno() != libc::EINTR {
                    // No children left without having seen the step: cannot happen,
                    // report as killed.
                    status = libc::SIGKILL;
                    break;
                }
            }
            // Whatever the step left running (background processes, daemons) dies now.
            libc::kill(-1, libc::SIGKILL);
            loop {
                let r = libc::wait4(-1, ptr::null_mut(), libc::__WALL, ptr::null_mut());
                if r < 0 && errno() != libc::EINTR {
                    break;
                }
            }
            let micros = |t: libc::timeval| (t.tv_sec as u64) * 1_000_000 + t.tv_usec as u64;
            send(
                st,
                Record {
                    kind: record::EXITED,
                    step: i as u8,
                    value: status,
                    a: micros(usage.ru_utime),
                    b: micros(usage.ru_stime),
                    c: usage.ru_maxrss as u64,
                    ..Record::default()
                },
            );
            let success = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
            if !success {
                break;
            }
        }
        // Every step's processes were killed and reaped above (`wait4` until ECHILD):
        // nothing of the run is left but this process.
        send(
            st,
            Record {
                kind: record::DONE,
                ..Record::default()
            },
        );
        libc::_exit(0)
    }
}

/// Body of one step's process, forked by the init: stdio, cgroup, limits, privileges,
/// seccomp, then `execve`.
///
/// # Safety
/// Only in the child of the init's `clone`. Never allocates.
unsafe fn step_main(p: &Plan, s: &StepPlan, i: usize, ptrs: &ExecPtrs, joined: bool) -> ! {
    let st = p.status_fd;
    // SAFETY: system calls on memory owned by the child's private copy of `p`.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        if libc::dup2(s.stdin, 0) < 0 || libc::dup2(s.stdout, 1) < 0 || libc::dup2(s.stderr, 2) < 0
        {
            fail(st, i, Stage::Stdio, 0);
        }
        if !joined {
            for &fd in &s.cgroup_procs {
                if libc::write(fd, c"0".as_ptr().cast(), 1) != 1 {
                    fail(st, i, Stage::Cgroup, 0);
                }
            }
        }
        if !s.cgroup_procs.is_empty() {
            // Hide the host's cgroup paths from /proc/self/cgroup. Best effort.
            libc::unshare(libc::CLONE_NEWCGROUP);
        }
        for &(resource, soft, hard) in &s.rlimits {
            let lim = libc::rlimit {
                rlim_cur: soft,
                rlim_max: hard,
            };
            if libc::setrlimit(resource as _, &lim) != 0 {
                fail(st, i, Stage::Rlimit, resource as usize);
            }
        }
        if libc::chdir(c"/work".as_ptr()) != 0 {
            fail(st, i, Stage::Chdir, 0);
        }
        // Every other descriptor closes at execve (the status pipe stays usable until then).
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
        for cap in 0..64 {
            libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0);
        }
        match p.run_as {
            Some((uid, gid)) => {
                // Raw syscalls: glibc's wrappers would try to synchronise the other
                // (non-existent in this child) threads of the server.
                if libc::syscall(libc::SYS_setgroups, 0, ptr::null::<libc::gid_t>()) != 0
                    || libc::syscall(libc::SYS_setresgid, gid, gid, gid) != 0
                    || libc::syscall(libc::SYS_setresuid, uid, uid, uid) != 0
                {
                    fail(st, i, Stage::Credentials, 0);
                }
            }
            None => {
                // uid 0 of our own user namespace: drop every capability now; the empty
                // bounding set keeps execve from granting them back.
                let mut header = CapHeader {
                    version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
                    pid: 0,
                };
                let data = [CapData::default(); 2];
                if libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) != 0 {
                    fail(st, i, Stage::Credentials, 1);
                }
            }
        }
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            fail(st, i, Stage::NoNewPrivs, 0);
        }
        libc::umask(0o022);
        for (n, bpf) in p.seccomp.iter().enumerate() {
            let prog = libc::sock_fprog {
                len: bpf.len() as u16,
                filter: bpf.as_ptr().cast_mut(),
            };
            if libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &prog as *const libc::sock_fprog,
            ) != 0
            {
                fail(st, i, Stage::Seccomp, n);
            }
        }
        libc::execve(s.program.as_ptr(), ptrs.argv.as_ptr(), ptrs.envp.as_ptr());
        fail(st, i, Stage::Exec, 0)
    }
}

/// `CLONE_INTO_CGROUP` (the libc constant is an `int` too narrow for it).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args` of `clone3(2)` (version 2, with `cgroup`).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The init is a copy of the server process: make its /proc entries say nothing about
/// the server. Non-dumpable makes /proc/1/{environ,mem,maps,…} root-only (and no
/// ptrace); the command line and environment areas of its (private, copy-on-write)
/// memory are overwritten, so /proc/1/cmdline reads "peercode-init".
unsafe fn hide_parent_identity(areas: Option<ProcAreas>) {
    const NAME: &[u8] = b"peercode-init\0";
    // SAFETY: PR_SET_NAME reads a NUL-terminated constant. The areas come from this
    // process's /proc/self/stat (read by the parent before clone): they are mapped,
    // writable stack memory, and this child's copy of it is private.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        libc::prctl(libc::PR_SET_NAME, NAME.as_ptr(), 0, 0, 0);
        if let Some(a) = areas {
            if a.arg_end > a.arg_start {
                let len = a.arg_end - a.arg_start;
                ptr::write_bytes(a.arg_start as *mut u8, 0, len);
                let n = NAME.len().min(len);
                ptr::copy_nonoverlapping(NAME.as_ptr(), a.arg_start as *mut u8, n);
            }
            if a.env_end > a.env_start {
                ptr::write_bytes(a.env_start as *mut u8, 0, a.env_end - a.env_start);
            }
        }
    }
}

/// Restores default dispositions and an empty signal mask: the server's handlers (and
/// Rust's ignored SIGPIPE) must not leak into the program.
unsafe fn reset_signals() {
    // SAFETY: sigaction/sigprocmask with stack-allocated, zero-initialised structs.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = libc::SIG_DFL;
        for sig in 1..65 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::sigaction(sig, &sa, ptr::null_mut());
            }
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, ptr::null_mut());
    }
}

/// Closes every descriptor above 2 that is not in `keep` (sorted).
unsafe fn close_all_but(keep: &[RawFd]) {
    let mut next: u32 = 3;
    for &fd in keep {
        let fd = fd as u32;
        if fd > next {
            // SAFETY: closing descriptors this child does not use.
            unsafe { libc::syscall(libc::SYS_close_range, next, fd - 1, 0u32) };
        }
        next = next.max(fd + 1);
    }
    // SAFETY: as above.
    unsafe { libc::syscall(libc::SYS_close_range, next, u32::MAX, 0u32) };
}

unsafe fn write_file(path: &CStr, data: &[u8]) -> bool {
    // SAFETY: open/write/close on a NUL-terminated path and a borrowed buffer.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return false;
        }
        let ok = libc::write(fd, data.as_ptr().cast(), data.len()) == data.len() as isize;
        libc::close(fd);
        ok
    }
}

unsafe fn run_op(op: &FsOp) -> bool {
    // SAFETY: system calls on NUL-terminated paths owned by the plan.
    unsafe {
        match op {
            FsOp::Mkdir { path, mode } => {
                libc::mkdir(path.as_ptr(), *mode) == 0 || errno() == libc::EEXIST
            }
            FsOp::Touch { path } => {
                let fd = libc::open(
                    path.as_ptr(),
                    libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                    0o644,
                );
                fd >= 0 && libc::close(fd) == 0
            }
            FsOp::Bind { src, dst, flags } => {
                libc::mount(
                    src.as_ptr(),
                    dst.as_ptr(),
                    ptr::null(),
                    libc::MS_BIND | libc::MS_REC,
                    ptr::null(),
                ) == 0
                    && libc::mount(
                        ptr::null(),
                        dst.as_ptr(),
                        ptr::null(),
                        libc::MS_BIND | libc::MS_REMOUNT | *flags,
                        ptr::null(),
                    ) == 0
            }
            FsOp::Symlink { target, path } => libc::symlink(target.as_ptr(), path.as_ptr()) == 0,
            FsOp::Proc { path } => {
                libc::mount(
                    c"proc".as_ptr(),
                    path.as_ptr(),
                    c"proc".as_ptr(),
                    libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                    ptr::null(),
                ) == 0
            }
            FsOp::WriteFile { path, data, mode } => {
                let fd = libc::open(
                    path.as_ptr(),
                    libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC | libc::O_CLOEXEC,
                    *mode,
                );
                if fd < 0 {
                    return false;
                }
                let mut done = 0usize;
                while done < data.len() {
                    let n = libc::write(fd, data[done..].as_ptr().cast(), data.len() - done);
                    if n <= 0 {
                        libc::close(fd);
                        return false;
                    }
                    done += n as usize;
                }
                libc::close(fd) == 0
            }
            FsOp::Chown { path, uid, gid } => libc::chown(path.as_ptr(), *uid, *gid) == 0,
        }
    }
}

/// Remounts the root tmpfs with room for `extra` more bytes than it now holds.
unsafe fn resize_root_tmpfs(extra: u64) -> bool {
    // SAFETY: statfs into a zeroed struct.
    unsafe {
        let mut sfs: libc::statfs = std::mem::zeroed();
        if libc::statfs(c"/".as_ptr(), &mut sfs) != 0 {
            return false;
        }
        let used = (sfs.f_blocks - sfs.f_bfree) * sfs.f_bsize as u64;
        remount_root_tmpfs(used + extra)
    }
}

/// Remounts the root tmpfs with a size of `size` bytes.
unsafe fn remount_root_tmpfs(size: u64) -> bool {
    let mut buf = [0u8; 48];
    let prefix = b"size=";
    buf[..prefix.len()].copy_from_slice(prefix);
    let end = prefix.len() + write_decimal(&mut buf[prefix.len()..], size);
    buf[end] = 0;
    // SAFETY: mount with a stack buffer holding "size=N\0".
    unsafe {
        libc::mount(
            ptr::null(),
            c"/".as_ptr(),
            ptr::null(),
            libc::MS_REMOUNT | libc::MS_NOSUID | libc::MS_NODEV,
            buf.as_ptr().cast(),
        ) == 0
    }
}

/// Writes `n` in decimal into `out`; returns the number of bytes written.
fn write_decimal(out: &mut [u8], mut n: u64) -> usize {
    let mut digits = [0u8; 20];
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for k in 0..len {
        out[k] = digits[len - 1 - k];
    }
    len
}

#[cfg(test)]
mod tests {
    #[test]
    fn decimal() {
        let mut b = [0u8; 20];
        let n = super::write_decimal(&mut b, 16_777_216);
        assert_eq!(&b[..n], b"16777216");
        let n = super::write_decimal(&mut b, 0);
        assert_eq!(&b[..n], b"0");
    }
}
