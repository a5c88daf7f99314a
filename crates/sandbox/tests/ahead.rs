//! Work the sandbox does ahead of its runs: network namespaces made in the background
//! (kept as a pool for a server, one batch for `peercode run`), the cgroups made to probe
//! the host kept for the first run, and the cgroups a crashed process left behind, swept
//! before the first run.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use peercode_sandbox::{CgroupKind, LanguageTable, Sandbox, SandboxConfig, Verdict};

fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|n| n.trim().to_owned())
        .collect()
}

const INTERFACES: &str = "import socket\nprint(sorted(n for _, n in socket.if_nameindex()))\n";

/// `SandboxConfig::one_run` (`NetnsAhead::Once(1)`): the first run enters the namespace made while the sandbox started, the
/// second makes its own in `clone`; both see nothing but their own loopback, and no
/// thread is left making namespaces nobody uses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_off_batch_serves_the_first_run_and_then_the_thread_is_gone() {
    let sb = Sandbox::new(SandboxConfig {
        uid_base: 2_400_000,
        root_dir: std::env::temp_dir().join("peercode-sandbox-test-2400000"),
        ..SandboxConfig::one_run(LanguageTable::builtin())
    })
    .expect("this host can run the sandbox (run the tests as root on Linux)");
    for _ in 0..2 {
        let out = common::run(&sb, common::req("python", INTERFACES)).await;
        assert_eq!(out.verdict, Verdict::Ok, "{out:?}");
        assert_eq!(out.stdout, "['lo']\n", "only its own loopback");
    }
    assert!(
        common::eventually(|| !thread_names().iter().any(|n| n == "sandbox-netns")).await,
        "the namespace thread ended after its batch: {:?}",
        thread_names()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_keeps_a_thread_making_namespaces() {
    let sb = common::sandbox(2_400_010, 2);
    for _ in 0..4 {
        let out = common::run(&sb, common::req("python", INTERFACES)).await;
        assert_eq!(out.stdout, "['lo']\n", "only its own loopback");
    }
    assert!(
        common::eventually(|| thread_names().iter().any(|n| n == "sandbox-netns")).await,
        "{:?}",
        thread_names()
    );
}

/// A run cgroup named for a process that no longer exists is gone once a sandbox has
/// started; a live process's is not touched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cgroups_of_dead_processes_are_swept() {
    let probe = common::sandbox(2_400_020, 1);
    let parent = match &probe.host().cgroups.kind {
        CgroupKind::V2 { parent } => parent.clone(),
        CgroupKind::V1 { pids: Some(p), .. } => p.clone(),
        other => panic!("this host has no usable cgroup: {other:?}"),
    };
    drop(probe);
    let mut gone = std::process::Command::new("true").spawn().expect("true");
    let dead = gone.id();
    gone.wait().expect("wait");
    let stale = parent.join(format!("peercode-run-{dead}-7"));
    let alive = parent.join(format!("peercode-run-{}-7", std::process::id()));
    std::fs::create_dir(&stale).expect("a stale cgroup");
    std::fs::create_dir(&alive).expect("a live process's cgroup");
    let _sb = common::sandbox(2_400_030, 1);
    let swept = !stale.exists();
    let kept = alive.exists();
    let _ = std::fs::remove_dir(&stale);
    let _ = std::fs::remove_dir(&alive);
    assert!(swept, "{} was not swept", stale.display());
    assert!(kept, "a live process's cgroup was removed");
}

/// The cgroups made to find out whether each hierarchy is writable are the first run's:
/// its program sits in them; once it has ended they are gone, and later runs get new ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probed_cgroups_become_the_first_runs() {
    let base = 2_400_040;
    let sb = common::sandbox(base, 1);
    let probed = common::leftover_cgroups();
    assert!(
        !probed.is_empty(),
        "the probe keeps its cgroups for the first run"
    );
    let mut handle = sb
        .run(common::req(
            "python",
            "import time\nprint('started', flush=True)\ntime.sleep(30)\n",
        ))
        .expect("accepted");
    let first = tokio::time::timeout(Duration::from_secs(20), handle.next_chunk())
        .await
        .expect("started in time")
        .expect("a chunk");
    assert!(first.data.starts_with(b"started"), "{first:?}");
    let program = common::processes_of(base, 1);
    assert_eq!(program.len(), 1, "{program:?}");
    let joined = cgroups_of(program[0].0);
    for dir in &probed {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        assert!(
            joined.iter().any(|c| c.ends_with(name)),
            "the program is not in {}: {joined:?}",
            dir.display()
        );
    }
    handle.cancel();
    let _ = handle.outcome().await;
    assert!(
        common::eventually(|| common::leftover_cgroups().is_empty()).await,
        "{:?}",
        common::leftover_cgroups()
    );
    let out = common::run(&sb, common::req("python", "print(2)")).await;
    assert_eq!(out.verdict, Verdict::Ok, "{out:?}");
    // A server's sandbox removes them just after the outcome.
    assert!(
        common::eventually(|| common::leftover_cgroups().is_empty()).await,
        "{:?}",
        common::leftover_cgroups()
    );
}

/// A sandbox that never ran anything leaves none of the cgroups it probed with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unused_sandbox_removes_its_probed_cgroups() {
    let sb = common::sandbox(2_400_050, 1);
    assert!(!common::leftover_cgroups().is_empty());
    drop(sb);
    assert_eq!(common::leftover_cgroups(), Vec::<PathBuf>::new());
}

/// The cgroup paths of host process `pid`, from `/proc/PID/cgroup` (as the host sees them).
fn cgroups_of(pid: u32) -> Vec<String> {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.splitn(3, ':').nth(2))
        .map(str::to_owned)
        .collect()
}
