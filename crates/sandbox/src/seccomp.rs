//! The seccomp filters every sandboxed program runs under: deny what a program never
//! needs (SPEC §3), and keep the rest so that any language runtime works unchanged.
//!
//! Three filters are stacked; the kernel applies the most restrictive answer:
//! 1. an x32-ABI guard (x86_64 only), since x32 syscall numbers would bypass filter 2;
//! 2. the deny list, answering `EPERM`;
//! 3. `clone3` answering `ENOSYS`, so glibc falls back to `clone`, whose flags filter 2
//!    can inspect (it cannot look inside `clone3`'s struct).

use std::collections::BTreeMap;

use seccompiler::{
    SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
    TargetArch,
};

use crate::error::SandboxError;

/// One compiled BPF program, ready for `seccomp(SECCOMP_SET_MODE_FILTER)`.
pub(crate) type Bpf = Vec<libc::sock_filter>;

/// `io_pgetevents` (not in the libc crate).
#[cfg(target_arch = "x86_64")]
const SYS_IO_PGETEVENTS: i64 = 333;
#[cfg(target_arch = "aarch64")]
const SYS_IO_PGETEVENTS: i64 = 292;

/// Syscalls a sandboxed program never needs: debugging other processes, changing the
/// mount table or namespaces, loading kernel code, kernel keyrings, perf, userfaultfd,
/// io_uring (a large attack surface that bypasses seccomp), clocks, reboot, swap, quotas;
/// and every call that takes from a kernel pool shared by the whole host (or by every
/// run of a uid) that no cgroup bounds: kernel AIO contexts (`fs.aio-max-nr`: one
/// `io_setup(65536)` starves the host), inotify instances and watches
/// (`fs.inotify.max_user_*`, per uid), fanotify groups and marks, POSIX message queues
/// (`fs.mqueue.*`, also held at zero bytes by RLIMIT_MSGQUEUE), keyrings
/// (`kernel.keys.*`). SysV IPC stays: it lives in the run's own IPC namespace, is
/// charged to its memory cgroup and is freed with it.
const DENIED: &[i64] = &[
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_kcmp,
    libc::SYS_pidfd_getfd,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_move_mount,
    libc::SYS_open_tree,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_mount_setattr,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_bpf,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_perf_event_open,
    libc::SYS_userfaultfd,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_acct,
    libc::SYS_quotactl,
    libc::SYS_syslog,
    libc::SYS_settimeofday,
    libc::SYS_clock_settime,
    libc::SYS_clock_adjtime,
    libc::SYS_adjtimex,
    libc::SYS_sethostname,
    libc::SYS_setdomainname,
    libc::SYS_open_by_handle_at,
    libc::SYS_name_to_handle_at,
    libc::SYS_lookup_dcookie,
    libc::SYS_fanotify_init,
    libc::SYS_fanotify_mark,
    libc::SYS_io_setup,
    libc::SYS_io_destroy,
    libc::SYS_io_submit,
    libc::SYS_io_cancel,
    libc::SYS_io_getevents,
    SYS_IO_PGETEVENTS,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_inotify_init,
    libc::SYS_inotify_init1,
    libc::SYS_inotify_add_watch,
    libc::SYS_mq_open,
    libc::SYS_mq_unlink,
    libc::SYS_mq_timedsend,
    libc::SYS_mq_timedreceive,
    libc::SYS_mq_notify,
    libc::SYS_mq_getsetattr,
    libc::SYS_vhangup,
    libc::SYS_personality,
    libc::SYS_move_pages,
    libc::SYS_migrate_pages,
    libc::SYS_mbind,
    libc::SYS_set_mempolicy,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_iopl,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_ioperm,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_uselib,
];

/// `clone` flags that would create a namespace (a new user namespace is the classic
/// way to regain capabilities).
const CLONE_NAMESPACE_FLAGS: &[u64] = &[
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
    libc::CLONE_NEWCGROUP as u64,
];

/// Names of the denied syscalls, for `peercode doctor`.
pub const DENIED_NAMES: &str = "ptrace, process_vm_*, kcmp, pidfd_getfd, mount and the new \
mount API, pivot_root, chroot, unshare, setns, clone/clone3 with namespace flags, kexec, \
module loading, bpf, keyctl, perf_event_open, userfaultfd, io_uring, reboot, swap, acct, \
quotactl, syslog, clock setting, sethostname, open_by_handle_at, fanotify, kernel AIO \
(io_setup, …), inotify, POSIX message queues, personality, NUMA policy, iopl/ioperm, \
x32 ABI, sockets other than unix (stream/dgram/seqpacket), inet/inet6 (stream/dgram) \
and netlink NETLINK_ROUTE";

fn arch() -> Result<TargetArch, SandboxError> {
    std::env::consts::ARCH
        .try_into()
        .map_err(|e| SandboxError::Seccomp(format!("unsupported architecture: {e:?}")))
}

fn compile(filter: SeccompFilter) -> Result<Bpf, SandboxError> {
    let prog: seccompiler::BpfProgram = filter
        .try_into()
        .map_err(|e| SandboxError::Seccomp(format!("{e}")))?;
    Ok(prog
        .into_iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect())
}

/// Builds the filters, in the order they must be installed.
pub(crate) fn filters() -> Result<Vec<Bpf>, SandboxError> {
    let arch = arch()?;
    let mut out = Vec::new();
    #[cfg(target_arch = "x86_64")]
    out.push(x32_guard());

    let mut rules: BTreeMap<i64, Vec<SeccompRule>> =
        DENIED.iter().map(|&nr| (nr, Vec::new())).collect();
    let clone_rules = CLONE_NAMESPACE_FLAGS
        .iter()
        .map(|&flag| {
            let cond = SeccompCondition::new(
                0,
                SeccompCmpArgLen::Qword,
                SeccompCmpOp::MaskedEq(flag),
                flag,
            )
            .map_err(|e| SandboxError::Seccomp(format!("{e}")))?;
            SeccompRule::new(vec![cond]).map_err(|e| SandboxError::Seccomp(format!("{e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    rules.insert(libc::SYS_clone, clone_rules);
    for nr in [libc::SYS_socket, libc::SYS_socketpair] {
        rules.insert(nr, socket_rules()?);
    }
    let deny = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|e| SandboxError::Seccomp(format!("{e}")))?;
    out.push(compile(deny)?);

    let clone3 = SeccompFilter::new(
        [(libc::SYS_clone3, Vec::new())].into_iter().collect(),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch,
    )
    .map_err(|e| SandboxError::Seccomp(format!("{e}")))?;
    out.push(compile(clone3)?);
    Ok(out)
}

/// Socket families a program can use inside its empty network namespace, with the types
/// each may have. Others are not all namespaced: AF_VSOCK, for one, reaches the
/// hypervisor host; SOCK_PACKET and raw inet sockets reach below IP.
const SOCKET_TYPES: &[(libc::c_int, &[libc::c_int])] = &[
    (
        libc::AF_UNIX,
        &[libc::SOCK_STREAM, libc::SOCK_DGRAM, libc::SOCK_SEQPACKET],
    ),
    (libc::AF_INET, &[libc::SOCK_STREAM, libc::SOCK_DGRAM]),
    (libc::AF_INET6, &[libc::SOCK_STREAM, libc::SOCK_DGRAM]),
    (libc::AF_NETLINK, &[libc::SOCK_RAW, libc::SOCK_DGRAM]),
];

/// The only netlink protocol allowed: NETLINK_ROUTE (a runtime asking for its own,
/// namespaced interfaces and addresses). Every other one is host-wide or privileged:
/// NETLINK_KOBJECT_UEVENT, for one, delivers the host's device events.
const NETLINK_PROTOCOLS: &[libc::c_int] = &[libc::NETLINK_ROUTE];

/// Rules for `socket(domain, type, protocol)` and `socketpair`, each one a way to be
/// denied: an unknown family; a known family with a type it may not have (the type
/// argument may carry SOCK_NONBLOCK and SOCK_CLOEXEC, so every combination of those
/// flags with an allowed type is allowed); netlink with another protocol.
fn socket_rules() -> Result<Vec<SeccompRule>, SandboxError> {
    let err = |e: seccompiler::BackendError| SandboxError::Seccomp(format!("{e}"));
    let dword = |arg: u8, op: SeccompCmpOp, v: libc::c_int| {
        SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, v as u32 as u64).map_err(err)
    };
    let flags = [
        0,
        libc::SOCK_NONBLOCK,
        libc::SOCK_CLOEXEC,
        libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
    ];
    let mut rules = Vec::new();
    let unknown_family = SOCKET_TYPES
        .iter()
        .map(|&(family, _)| dword(0, SeccompCmpOp::Ne, family))
        .collect::<Result<Vec<_>, _>>()?;
    rules.push(SeccompRule::new(unknown_family).map_err(err)?);
    for &(family, types) in SOCKET_TYPES {
        let mut conds = vec![dword(0, SeccompCmpOp::Eq, family)?];
        for &t in types {
            for f in flags {
                conds.push(dword(1, SeccompCmpOp::Ne, t | f)?);
            }
        }
        rules.push(SeccompRule::new(conds).map_err(err)?);
    }
    let mut netlink = vec![dword(0, SeccompCmpOp::Eq, libc::AF_NETLINK)?];
    for &p in NETLINK_PROTOCOLS {
        netlink.push(dword(2, SeccompCmpOp::Ne, p)?);
    }
    rules.push(SeccompRule::new(netlink).map_err(err)?);
    Ok(rules)
}

/// Fails every syscall whose number has the x32 bit set, and kills on a foreign
/// architecture (i386 `int 0x80` calls use other numbers than the deny list).
#[cfg(target_arch = "x86_64")]
fn x32_guard() -> Bpf {
    const AUDIT_ARCH_X86_64: u32 = 62 | 0x8000_0000 | 0x4000_0000;
    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
    const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
    const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
    let ld = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    let jeq = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    let jge = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
    let ret = (libc::BPF_RET | libc::BPF_K) as u16;
    let i = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    vec![
        // seccomp_data.arch is at offset 4, seccomp_data.nr at offset 0.
        i(ld, 0, 0, 4),
        i(jeq, 1, 0, AUDIT_ARCH_X86_64),
        i(ret, 0, 0, SECCOMP_RET_KILL_PROCESS),
        i(ld, 0, 0, 0),
        i(jge, 0, 1, X32_SYSCALL_BIT),
        i(ret, 0, 0, SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
        i(ret, 0, 0, SECCOMP_RET_ALLOW),
    ]
}
