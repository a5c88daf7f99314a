//! Helpers shared by the sandbox's integration tests: a sandbox per test with its own
//! uid range, and checks that a run left nothing behind on the host.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use peercode_sandbox::{Limits, RunOutcome, RunRequest, Sandbox, SandboxConfig};

/// A sandbox whose programs run as uids `uid_base..uid_base + concurrency`, distinct
/// per test so that leftover checks of parallel tests do not see each other.
pub fn sandbox(uid_base: u32, concurrency: usize) -> Sandbox {
    Sandbox::new(config(uid_base, concurrency))
        .expect("this host can run the sandbox (run the tests as root on Linux)")
}

/// The configuration of [`sandbox`]: a server's, with its own uids and root dir.
pub fn config(uid_base: u32, concurrency: usize) -> SandboxConfig {
    SandboxConfig {
        uid_base,
        concurrency,
        queue: 256,
        root_dir: std::env::temp_dir().join(format!("peercode-sandbox-test-{uid_base}")),
        ..SandboxConfig::default()
    }
}

pub fn req(language: &str, source: &str) -> RunRequest {
    RunRequest {
        language: language.into(),
        source: source.as_bytes().to_vec(),
        ..RunRequest::default()
    }
}

pub fn req_limits(language: &str, source: &str, limits: Limits) -> RunRequest {
    RunRequest {
        limits,
        ..req(language, source)
    }
}

pub async fn run(sb: &Sandbox, request: RunRequest) -> RunOutcome {
    sb.run(request)
        .expect("run accepted")
        .outcome()
        .await
        .expect("run finished")
}

/// Host pids of processes running as one of the sandbox's uids.
pub fn processes_of(uid_base: u32, count: u32) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let uid = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u32>().ok());
        if let Some(uid) = uid
            && (uid_base..uid_base + count).contains(&uid)
        {
            let name = status
                .lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("Name:")
                .trim()
                .to_owned();
            found.push((pid, name));
        }
    }
    found
}

/// Sandbox init processes (children of this test process) still alive.
pub fn live_inits() -> Vec<u32> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in dir.flatten() {
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let ppid = status
            .lines()
            .find_map(|l| l.strip_prefix("PPid:"))
            .map(str::trim);
        let name = status.lines().next().unwrap_or_default();
        if ppid == Some(me.as_str())
            && name.contains("peercode-init")
            && let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok())
        {
            found.push(pid);
        }
    }
    found
}

/// Run cgroups this test process created that still exist.
pub fn leftover_cgroups() -> Vec<PathBuf> {
    let prefix = format!("peercode-run-{}-", std::process::id());
    let mut found = Vec::new();
    let mut stack = vec![PathBuf::from("/sys/fs/cgroup")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if !ft.is_dir() {
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(&prefix) {
                found.push(e.path());
            } else if stack.len() < 10_000 {
                stack.push(e.path());
            }
        }
    }
    found
}

/// [`leftover_cgroups`] but for those of the sandbox `sb` made ahead for its next run
/// (see `SandboxConfig::init_ahead`), which it holds until a run takes it or it is
/// dropped.
pub fn leftover_cgroups_but_ahead(sb: &Sandbox) -> Vec<PathBuf> {
    let held = sb.made_ahead().map(|m| m.cgroups).unwrap_or_default();
    leftover_cgroups()
        .into_iter()
        .filter(|c| !held.contains(c))
        .collect()
}

/// [`live_inits`] but for the init of the sandbox `sb` made ahead for its next run.
pub fn live_inits_but_ahead(sb: &Sandbox) -> Vec<u32> {
    let held = sb.made_ahead().map(|m| m.init_pid);
    live_inits()
        .into_iter()
        .filter(|&pid| Some(pid) != held)
        .collect()
}

/// Whether `path` is a mount point in this (the host's) mount namespace.
pub fn is_mounted(path: &Path) -> bool {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let p = path.to_string_lossy();
    text.lines()
        .any(|l| l.split(' ').nth(4).is_some_and(|m| m == p))
}

/// Polls `f` until it returns true or ~5 s pass (cleanup of a killed run is
/// asynchronous in the kernel, but quick).
pub async fn eventually(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..100 {
        if f() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    f()
}
