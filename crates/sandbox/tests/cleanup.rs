//! Nothing outlives a run: processes, cgroups and work dirs are gone after a normal
//! end, a cancellation, a dropped handle, a panicking caller and a runtime shutdown;
//! the queue is bounded; concurrent runs do not see each other.

mod common;

use std::time::Duration;

use peercode_sandbox::{CleanupOrder, Limits, Sandbox, SandboxConfig, SandboxError, Verdict};

const SLEEPER: &str = "import time\nprint('started', flush=True)\ntime.sleep(1000)\n";

async fn wait_started(handle: &mut peercode_sandbox::RunHandle) {
    let chunk = tokio::time::timeout(Duration::from_secs(20), handle.next_chunk())
        .await
        .expect("program started in time")
        .expect("a chunk");
    assert!(chunk.data.starts_with(b"started"), "{chunk:?}");
}

/// Nothing of a run is left: no process of its uids, no init, no cgroup, but for the
/// sandbox `sb` made ahead for its next run (with no `sb`, nothing at all).
async fn assert_all_gone_but_ahead(sb: Option<&Sandbox>, uid_base: u32, slots: u32) {
    let inits = || sb.map_or_else(common::live_inits, common::live_inits_but_ahead);
    let cgroups = || sb.map_or_else(common::leftover_cgroups, common::leftover_cgroups_but_ahead);
    let ok = common::eventually(|| {
        common::processes_of(uid_base, slots).is_empty()
            && inits().is_empty()
            && cgroups().is_empty()
    })
    .await;
    assert!(
        ok,
        "left behind: processes {:?}, inits {:?}, cgroups {:?}",
        common::processes_of(uid_base, slots),
        inits(),
        cgroups()
    );
}

async fn assert_all_gone(sb: &Sandbox, uid_base: u32, slots: u32) {
    assert_all_gone_but_ahead(Some(sb), uid_base, slots).await;
}

// The checks look at every sandbox init and cgroup of this test process, so the tests
// of this file run one after another inside one test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_outlives_a_run() {
    a_finished_run_has_no_cgroup_left_when_its_outcome_arrives().await;
    a_servers_run_removes_its_cgroups_after_the_outcome().await;
    cancel_kills_the_run().await;
    dropping_the_handle_kills_the_run().await;
    a_panicking_caller_kills_the_run().await;
    runtime_shutdown_kills_the_run().await;
    the_queue_is_bounded().await;
    concurrent_runs_are_isolated().await;
}

/// The outcome of a run that ended normally comes as soon as the init reports that every
/// process of the run is gone, before the init itself has exited. With
/// [`CleanupOrder::BeforeOutcome`] (`peercode run`, which exits right after the outcome
/// and must not leave them behind) its cgroups are removed by then, not later.
async fn a_finished_run_has_no_cgroup_left_when_its_outcome_arrives() {
    let base = 2_300_100;
    let sb = Sandbox::new(SandboxConfig {
        uid_base: base,
        concurrency: 1,
        cleanup: CleanupOrder::BeforeOutcome,
        // As `peercode run`'s: no sandbox made ahead, whose cgroups would be left.
        init_ahead: None,
        ..SandboxConfig::default()
    })
    .expect("sandbox");
    for i in 0..5 {
        let out = common::run(&sb, common::req("python", &format!("print({i})"))).await;
        assert_eq!(out.verdict, Verdict::Ok, "{out:?}");
        assert_eq!(
            common::leftover_cgroups(),
            Vec::<std::path::PathBuf>::new(),
            "run {i}: cgroups left when the outcome arrived"
        );
        assert!(common::processes_of(base, 1).is_empty(), "run {i}");
    }
    assert_all_gone(&sb, base, 1).await;
}

/// A server's sandbox ([`CleanupOrder::AfterOutcome`], the default) hands the outcome over
/// first and removes the cgroups after it: runs back to back on one slot each get fresh
/// cgroups, and nothing is left once they are done.
async fn a_servers_run_removes_its_cgroups_after_the_outcome() {
    let base = 2_300_110;
    let sb = common::sandbox(base, 1);
    for i in 0..5 {
        let out = common::run(&sb, common::req("python", &format!("print({i})"))).await;
        assert_eq!(out.verdict, Verdict::Ok, "{out:?}");
        assert_eq!(out.stdout, format!("{i}\n"), "run {i}");
    }
    assert_all_gone(&sb, base, 1).await;
}

async fn cancel_kills_the_run() {
    let base = 2_300_000;
    let sb = common::sandbox(base, 1);
    let mut handle = sb.run(common::req("python", SLEEPER)).expect("accepted");
    wait_started(&mut handle).await;
    assert_eq!(common::processes_of(base, 1).len(), 1, "the program runs");
    handle.cancel();
    let err = handle.outcome().await.expect_err("cancelled");
    assert!(matches!(err, SandboxError::Cancelled), "{err}");
    assert_all_gone(&sb, base, 1).await;
    // The slot is free again and works.
    let out = common::run(&sb, common::req("python", "print('next')")).await;
    assert_eq!(out.stdout, "next\n");
}

async fn dropping_the_handle_kills_the_run() {
    let base = 2_300_010;
    let sb = common::sandbox(base, 1);
    let mut handle = sb.run(common::req("python", SLEEPER)).expect("accepted");
    wait_started(&mut handle).await;
    drop(handle);
    assert_all_gone(&sb, base, 1).await;
}

async fn a_panicking_caller_kills_the_run() {
    let base = 2_300_020;
    let sb = common::sandbox(base, 1);
    let task_sb = sb.clone();
    let task = tokio::spawn(async move {
        let mut handle = task_sb
            .run(common::req("python", SLEEPER))
            .expect("accepted");
        wait_started(&mut handle).await;
        panic!("the caller panics while the program runs");
    });
    assert!(task.await.is_err_and(|e| e.is_panic()));
    assert_all_gone(&sb, base, 1).await;
}

async fn runtime_shutdown_kills_the_run() {
    let base = 2_300_030;
    tokio::task::spawn_blocking(move || {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            let sb = common::sandbox(base, 1);
            let mut handle = sb.run(common::req("python", SLEEPER)).expect("accepted");
            wait_started(&mut handle).await;
            // The handle is leaked into a task that never finishes: only the runtime's
            // shutdown can end the run.
            tokio::spawn(async move {
                let _keep = handle;
                std::future::pending::<()>().await;
            });
        });
        drop(rt);
    })
    .await
    .expect("runtime thread");
    assert_all_gone_but_ahead(None, base, 1).await;
}

async fn the_queue_is_bounded() {
    let base = 2_300_040;
    let sb = Sandbox::new(peercode_sandbox::SandboxConfig {
        uid_base: base,
        concurrency: 1,
        queue: 1,
        ..peercode_sandbox::SandboxConfig::default()
    })
    .expect("sandbox");
    let mut running = sb.run(common::req("python", SLEEPER)).expect("first runs");
    wait_started(&mut running).await;
    let queued = sb
        .run(common::req("python", "print('queued')"))
        .expect("second queues");
    let busy = sb
        .run(common::req("python", "print(3)"))
        .err()
        .expect("third refused");
    assert!(matches!(busy, SandboxError::Busy { .. }), "{busy}");
    assert!(busy.to_string().contains("busy"));
    running.cancel();
    let out = queued.outcome().await.expect("queued run completes");
    assert_eq!(out.stdout, "queued\n");
    assert!(sb.run(common::req("python", "print(4)")).is_ok());
    assert_all_gone(&sb, base, 1).await;
}

async fn concurrent_runs_are_isolated() {
    let base = 2_300_050;
    let sb = common::sandbox(base, 4);
    let mut tasks = Vec::new();
    for i in 0..12 {
        let sb = sb.clone();
        tasks.push(tokio::spawn(async move {
            let src = format!(
                "import os, time\nopen('/tmp/mine', 'w').write('{i}')\ntime.sleep(0.2)\n\
                 print(open('/tmp/mine').read(), len(os.listdir('/tmp')), os.getpid())"
            );
            let out = common::run(&sb, common::req_limits("python", &src, Limits::default())).await;
            (i, out)
        }));
    }
    for t in tasks {
        let (i, out) = t.await.expect("task");
        assert_eq!(out.verdict, Verdict::Ok, "{out:?}");
        // Own file, alone in its /tmp, pid 2 in its own PID namespace (init is 1).
        assert_eq!(out.stdout, format!("{i} 1 2\n"));
    }
    assert_all_gone(&sb, base, 4).await;
}
