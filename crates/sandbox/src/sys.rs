//! Thin wrappers over the system calls the supervisor side of the sandbox needs (pipes,
//! pidfds, network namespaces, mount flags), so that `unsafe` stays out of every other
//! module. The code that runs inside the sandbox, between `clone` and `execve`, is in
//! [`crate::child`].
#![allow(unsafe_code)]

use std::ffi::{CStr, c_int};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr;

/// Registers the init's pidfd with tokio: it becomes readable when the init exits.
pub(crate) fn watch(pidfd: OwnedFd) -> io::Result<tokio::io::unix::AsyncFd<OwnedFd>> {
    // SAFETY: the OwnedFd is open and moves into the AsyncFd, which owns it until it is
    // dropped or `into_inner` returns it; its raw fd never changes.
    unsafe {
        tokio::io::unix::AsyncFd::register_with_interest(pidfd, tokio::io::Interest::READABLE)
    }
    .map_err(|e| e.into_parts().1)
}

/// Makes a new, empty network namespace and returns a descriptor for it. Moves the
/// calling thread into it: call only from a thread that does nothing else.
pub(crate) fn make_netns() -> io::Result<OwnedFd> {
    // SAFETY: unshare affects only the calling thread's network namespace.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    std::fs::File::open("/proc/thread-self/ns/net").map(OwnedFd::from)
}

/// Sends SIGKILL to the init (and so to the whole PID namespace). Harmless if it is gone.
pub(crate) fn kill(pidfd: &OwnedFd) {
    // SAFETY: plain syscall on a descriptor we own; no memory is passed.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            libc::SIGKILL,
            ptr::null::<libc::siginfo_t>(),
            0,
        );
    }
}

/// SIGKILL to a host pid (cgroup cleanup fallback for a process that escaped the PID
/// namespace's teardown, which should never happen).
pub(crate) fn kill_pid(pid: libc::pid_t) {
    if pid > 0 {
        // SAFETY: plain syscall, no memory passed.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// Reaps the init if it has exited. `Ok(true)` once reaped (or already gone).
pub(crate) fn try_reap(pidfd: &OwnedFd) -> io::Result<bool> {
    match wait_nohang(pidfd, 0) {
        Err(err) if err.raw_os_error() == Some(libc::ECHILD) => Ok(true),
        other => other,
    }
}

/// Whether the process has exited, without reaping it.
pub(crate) fn has_exited(pidfd: &OwnedFd) -> bool {
    wait_nohang(pidfd, libc::WNOWAIT).unwrap_or(true)
}

/// `waitid(P_PIDFD, WEXITED | WNOHANG | flags)`: whether the process had exited.
fn wait_nohang(pidfd: &OwnedFd, flags: libc::c_int) -> io::Result<bool> {
    // SAFETY: `info` is a zeroed siginfo_t the kernel fills in.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to `info`, a pidfd we own.
    let r = unsafe {
        libc::waitid(
            libc::P_PIDFD,
            pidfd.as_raw_fd() as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::__WALL | flags,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: si_pid is valid to read for SIGCHLD-style results; 0 means "not yet".
    Ok(unsafe { info.si_pid() } != 0)
}

/// Blocking reap, for cleanup paths that cannot await.
pub(crate) fn reap_blocking(pidfd: &OwnedFd) {
    // SAFETY: as in `wait_nohang`.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: as in `wait_nohang`.
        let r = unsafe {
            libc::waitid(
                libc::P_PIDFD,
                pidfd.as_raw_fd() as libc::id_t,
                &mut info,
                libc::WEXITED | libc::__WALL,
            )
        };
        if r == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
}

/// A close-on-exec pipe `(read, write)` whose descriptors are both above 2, so that
/// `dup2` onto 0/1/2 in the child can never clobber another pipe end.
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1 as c_int; 2];
    // SAFETY: `fds` has room for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 returned two new descriptors we now own.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((above_stdio(r)?, above_stdio(w)?))
}

fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor we own; `fd` is dropped after.
    let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fcntl returned a new descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// Flags of the mount `path` is on, as `MS_*` bits (the `ST_*` bits of `statvfs` have
/// the same values). A read-only bind remount must repeat the locked ones.
pub(crate) fn mount_flags(path: &CStr) -> io::Result<libc::c_ulong> {
    // SAFETY: statvfs into a zeroed struct, NUL-terminated path.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::statvfs(path.as_ptr(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let keep = libc::ST_RDONLY
        | libc::ST_NOSUID
        | libc::ST_NODEV
        | libc::ST_NOEXEC
        | libc::ST_NOATIME
        | libc::ST_NODIRATIME
        | libc::ST_RELATIME;
    Ok(st.f_flag & keep)
}

/// Effective uid and gid of this process.
pub(crate) fn euid_egid() -> (u32, u32) {
    // SAFETY: getters without arguments; they cannot fail.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

/// Grows a pipe's buffer to at least `bytes` (rounded up by the kernel), as far as this
/// process may: root beyond `fs.pipe-max-size`, others up to it. Returns the new size.
pub(crate) fn set_pipe_size(fd: &OwnedFd, bytes: usize) -> io::Result<usize> {
    let want = c_int::try_from(bytes).unwrap_or(c_int::MAX);
    // SAFETY: fcntl on a descriptor we own; no memory is passed.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, want) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r as usize)
}

/// A pidfd for process `pid` (tests stand in an ordinary child for a sandbox's init).
#[cfg(test)]
pub(crate) fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a new descriptor we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as c_int) })
}
