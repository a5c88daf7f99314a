//! The host-wide kernel limits a sandboxed run could touch, their current values, and
//! what keeps a run from draining each (for `peercode doctor`): a pool shared by the
//! whole host, or by every process of a uid, is a way for one run to starve the host or
//! the next run unless a namespace, a cgroup, an rlimit or the seccomp filter stands in
//! front of it.

use serde::Serialize;

use crate::host::HostReport;

/// One host-wide kernel limit.
#[derive(Debug, Clone, Serialize)]
pub struct HostLimit {
    /// The sysctl(s), e.g. `fs.aio-max-nr`.
    pub name: &'static str,
    /// Current values as the host shows them (`aio-nr 0 of 65536`).
    pub value: String,
    /// Whether a run is kept from draining it on this host.
    pub isolated: bool,
    /// What keeps it from doing so (or why nothing does).
    pub how: String,
}

fn sysctl(name: &str) -> String {
    let path = format!("/proc/sys/{}", name.replace('.', "/"));
    std::fs::read_to_string(path)
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".to_owned())
}

fn values(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("{} {}", n.rsplit('.').next().unwrap_or(n), sysctl(n)))
        .collect::<Vec<_>>()
        .join(", ")
}

impl HostReport {
    /// The host-wide limits a run could touch, and whether it is isolated from each.
    pub fn limits(&self) -> Vec<HostLimit> {
        let cg = &self.cgroups;
        let seccomp = |what: &str| format!("seccomp denies {what}");
        let limit = |name, value, isolated, how: String| HostLimit {
            name,
            value,
            isolated,
            how,
        };
        let own_uid = self.mode == Some(crate::host::Mode::Root);
        let processes_bounded = cg.has_pids() || own_uid;
        let pids = if cg.has_pids() {
            "the run's pids cgroup caps its processes and threads (pids.max)".to_owned()
        } else if own_uid {
            "no pids cgroup: RLIMIT_NPROC on the run's own uid, reserved host-wide for it"
                .to_owned()
        } else {
            "no pids cgroup: RLIMIT_NPROC on the invoking user's uid, shared with all of \
             that user's processes"
                .to_owned()
        };
        let memory = if cg.has_memory() {
            "charged to the run's memory cgroup"
        } else {
            "not charged to any memory cgroup (RLIMIT_DATA per process only)"
        };
        vec![
            limit(
                "fs.aio-max-nr",
                format!(
                    "aio-nr {} of {}",
                    sysctl("fs.aio-nr"),
                    sysctl("fs.aio-max-nr")
                ),
                self.seccomp,
                seccomp("io_setup, io_submit and the other kernel AIO calls"),
            ),
            limit(
                "fs.inotify.max_user_instances, max_user_watches",
                values(&[
                    "fs.inotify.max_user_instances",
                    "fs.inotify.max_user_watches",
                ]),
                self.seccomp,
                seccomp("inotify_init, inotify_init1 and inotify_add_watch (counted per uid)"),
            ),
            limit(
                "fs.fanotify.max_user_groups, max_user_marks",
                values(&["fs.fanotify.max_user_groups", "fs.fanotify.max_user_marks"]),
                self.seccomp,
                seccomp("fanotify_init and fanotify_mark"),
            ),
            limit(
                "kernel.keys.maxkeys, maxbytes",
                values(&["kernel.keys.maxkeys", "kernel.keys.maxbytes"]),
                self.seccomp,
                seccomp("add_key, request_key and keyctl"),
            ),
            limit(
                "fs.mqueue.queues_max, msg_max, msgsize_max",
                values(&[
                    "fs.mqueue.queues_max",
                    "fs.mqueue.msg_max",
                    "fs.mqueue.msgsize_max",
                ]),
                self.seccomp,
                "the run's own IPC namespace; seccomp denies mq_open and the other mq \
                 calls; RLIMIT_MSGQUEUE is 0"
                    .to_owned(),
            ),
            limit(
                "kernel.shmmni, shmall, sem, msgmni (SysV IPC)",
                values(&[
                    "kernel.shmmni",
                    "kernel.shmall",
                    "kernel.sem",
                    "kernel.msgmni",
                ]),
                true,
                format!(
                    "the run's own IPC namespace has its own copies, freed with the run; \
                     segments and messages are {memory}"
                ),
            ),
            limit(
                "kernel.pid_max, threads-max",
                values(&["kernel.pid_max", "kernel.threads-max"]),
                processes_bounded,
                pids,
            ),
            limit(
                "fs.file-max",
                format!(
                    "file-nr {} of {}",
                    sysctl("fs.file-nr")
                        .split_whitespace()
                        .next()
                        .unwrap_or("n/a"),
                    sysctl("fs.file-max")
                ),
                processes_bounded,
                "RLIMIT_NOFILE 512 per process, times the run's process limit".to_owned(),
            ),
            limit(
                "fs.epoll.max_user_watches",
                sysctl("fs.epoll.max_user_watches"),
                processes_bounded && own_uid,
                "counted per uid; bounded by RLIMIT_NOFILE 512 per process and the \
                 run's process limit"
                    .to_owned(),
            ),
            limit(
                "fs.pipe-user-pages-soft, hard",
                values(&["fs.pipe-user-pages-soft", "fs.pipe-user-pages-hard"]),
                cg.has_memory() && own_uid,
                format!(
                    "pipe buffers are {memory}; the per-uid page count is the run's own \
                     uid's (root mode)"
                ),
            ),
            limit(
                "user.max_user_namespaces and the other user.max_*",
                values(&["user.max_user_namespaces", "user.max_net_namespaces"]),
                self.seccomp,
                seccomp("unshare, setns and clone with namespace flags (clone3 entirely)"),
            ),
            limit(
                "kernel.pty.max",
                sysctl("kernel.pty.max"),
                true,
                "the run's /dev has no ptmx or pts".to_owned(),
            ),
        ]
    }
}
