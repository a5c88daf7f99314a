//! What this host can provide: privileges, namespaces, seccomp, cgroups. Read once when
//! a [`Sandbox`](crate::Sandbox) is built; shown by `peercode doctor` and logged at start-up.

use std::fs;
use std::path::Path;

use serde::Serialize;

use crate::cgroup::{self, CgroupReport, Spares};
use crate::sys;

/// How the sandbox gets its privileges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Running as root: programs run as a dedicated unprivileged uid per slot.
    Root,
    /// Not root: a user namespace provides the other namespaces; the program is uid 0
    /// of that namespace (the invoking user outside) with every capability dropped.
    UserNamespace,
}

/// The host's sandboxing abilities.
#[derive(Debug, Clone)]
pub struct HostReport {
    pub mode: Option<Mode>,
    pub seccomp: bool,
    pub cgroups: CgroupReport,
    /// Protections this host cannot give, in words (empty: all of SPEC §3).
    pub missing: Vec<String>,
}

impl HostReport {
    /// Also returns the empty cgroups made to probe the hierarchies (see [`Spares`]).
    pub(crate) fn probe(cgroup_parent: Option<&Path>) -> (Self, Spares) {
        let (euid, _) = sys::euid_egid();
        let userns = fs::read_to_string("/proc/sys/user/max_user_namespaces")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .is_some_and(|n| n > 0)
            && fs::read_to_string("/proc/sys/kernel/unprivileged_userns_clone")
                .map(|s| s.trim() != "0")
                .unwrap_or(true);
        let mode = if euid == 0 {
            Some(Mode::Root)
        } else if userns {
            Some(Mode::UserNamespace)
        } else {
            None
        };
        let seccomp = fs::read_to_string("/proc/self/status")
            .map(|s| s.lines().any(|l| l.starts_with("Seccomp:")))
            .unwrap_or(false);
        let (cgroups, spares) = cgroup::detect(cgroup_parent);
        let mut missing = Vec::new();
        match mode {
            None => missing.push(
                "not root and user namespaces are disabled: no namespaces can be created"
                    .to_owned(),
            ),
            Some(Mode::UserNamespace) => missing.push(
                "not root: programs run as the invoking user (uid 0 of a user namespace, \
                 no capabilities) instead of a dedicated unprivileged uid"
                    .to_owned(),
            ),
            Some(Mode::Root) => {}
        }
        if !seccomp {
            missing.push("the kernel has no seccomp".to_owned());
        }
        if !cgroups.has_memory() {
            missing.push(
                "no memory cgroup: memory is limited by RLIMIT_DATA per process only, \
                 and peak memory is the largest process's RSS"
                    .to_owned(),
            );
        }
        if !cgroups.has_pids() {
            missing.push("no pids cgroup: processes are limited by RLIMIT_NPROC only (per run: a uid reserved host-wide, or the invoking user's in a user namespace)".to_owned());
        }
        if !cgroups.has_cpu() {
            missing.push(
                "no cpu/cpuacct cgroup: no CPU quota; CPU time is limited per process by \
                 RLIMIT_CPU only"
                    .to_owned(),
            );
        }
        let report = HostReport {
            mode,
            seccomp,
            cgroups,
            missing,
        };
        (report, spares)
    }
}
