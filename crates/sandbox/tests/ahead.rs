//! Work the sandbox does ahead of its runs: network namespaces made in the background
//! (kept as a pool for a server, one batch for `peercode run`), the cgroups made to probe
//! the host kept for the first run, the cgroups a crashed process left behind, swept
//! before the first run, and a server's sandbox made ahead for the next run like the last.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use peercode_sandbox::{CgroupKind, LanguageTable, Limits, Sandbox, SandboxConfig, Verdict};

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
    let handle = sleeper_in(&sb, Limits::default(), base, &probed).await;
    handle.cancel();
    let _ = handle.outcome().await;
    // Gone, but for the cgroups of the sandbox made ahead for the next run.
    assert!(
        common::eventually(|| common::leftover_cgroups_but_ahead(&sb).is_empty()).await,
        "{:?}",
        common::leftover_cgroups_but_ahead(&sb)
    );
    let out = common::run(&sb, common::req("python", "print(2)")).await;
    assert_eq!(out.verdict, Verdict::Ok, "{out:?}");
    // A server's sandbox removes them just after the outcome.
    assert!(
        common::eventually(|| common::leftover_cgroups_but_ahead(&sb).is_empty()).await,
        "{:?}",
        common::leftover_cgroups_but_ahead(&sb)
    );
    drop(sb);
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
    assert!(
        common::eventually(|| common::leftover_cgroups().is_empty()).await,
        "{:?}",
        common::leftover_cgroups()
    );
}

/// Starts a Python program that sleeps, once it has started checks that it sits in
/// `cgroups` (the program runs as one of the uids from `uid_base`), and hands it back.
async fn sleeper_in(
    sb: &Sandbox,
    limits: Limits,
    uid_base: u32,
    cgroups: &[PathBuf],
) -> peercode_sandbox::RunHandle {
    let mut handle = sb
        .run(common::req_limits(
            "python",
            "import time\nprint('started', flush=True)\ntime.sleep(30)\n",
            limits,
        ))
        .expect("accepted");
    let first = tokio::time::timeout(Duration::from_secs(20), handle.next_chunk())
        .await
        .expect("started in time")
        .expect("a chunk");
    assert!(first.data.starts_with(b"started"), "{first:?}");
    let program = common::processes_of(uid_base, 2);
    assert_eq!(program.len(), 1, "{program:?}");
    let joined = cgroups_of(program[0].0);
    for dir in cgroups {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        assert!(
            joined.iter().any(|c| c.ends_with(name)),
            "the program is not in {}: {joined:?}",
            dir.display()
        );
    }
    handle
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

/// Lists the work dir with owners and modes, echoes stdin and a nested file, and fills
/// the file budget with 300 KiB files until the root tmpfs refuses one: everything a
/// run's file system is made of.
const LOOK_AROUND: &str = r#"
import os, sys
def desc(p):
    st = os.stat(p)
    return f"{p}:{st.st_uid == os.getuid()}:{oct(st.st_mode & 0o7777)}"
print(*(desc(p) for p in ['.', 'lib', 'lib/deep', 'lib/deep/util.py', 'main.py']))
print(open('lib/deep/util.py').read().strip(), sys.stdin.read().strip())
print(sorted(os.listdir('.')), sorted(os.listdir('/tmp')), os.getpid())
n = 0
try:
    while n < 64:
        with open(f'/tmp/fill{n}', 'wb') as f:
            f.write(b'x' * (300 << 10))
        n += 1
except OSError as e:
    print('files of 300 KiB written:', n, e.errno)
"#;

/// Default limits but a file budget of 1 MiB.
fn small_budget() -> Limits {
    Limits {
        file_bytes: 1 << 20,
        ..Limits::default()
    }
}

fn look_around() -> peercode_sandbox::RunRequest {
    peercode_sandbox::RunRequest {
        files: vec![("lib/deep/util.py".into(), b"X = 1\n".to_vec())],
        stdin: b"from stdin".to_vec(),
        ..common::req_limits("python", LOOK_AROUND, small_budget())
    }
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// A server's sandbox makes the next run's sandbox while the last one runs; a run of the
/// same language and limits starts in it, and sees exactly what it would have seen in a
/// sandbox made for it: its files with their owner and modes, its stdin, the same file
/// budget, pid 2 of its own namespace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_like_the_last_starts_in_the_sandbox_made_ahead_and_sees_the_same() {
    let base = 2_400_060;
    let sb = common::sandbox(base, 1);
    assert_eq!(sb.made_ahead(), None, "nothing is made before a first run");
    let fresh = common::run(&sb, look_around()).await;
    assert_eq!(fresh.verdict, Verdict::Ok, "{fresh:?}");
    assert!(
        fresh.stdout.contains("files of 300 KiB written: 4 28"),
        "the budget of 1 MiB (+ 256 KiB) holds 4 such files: {fresh:?}"
    );
    assert!(
        common::eventually(|| sb.made_ahead().is_some()).await,
        "no sandbox was made ahead"
    );
    let ahead = sb.made_ahead().expect("made ahead");
    assert_eq!(ahead.language, "python");
    assert!(alive(ahead.init_pid));
    assert!(!ahead.cgroups.is_empty());

    // The next run like it starts in it: its program sits in the cgroups made ahead.
    let handle = sleeper_in(&sb, small_budget(), base, &ahead.cgroups).await;
    handle.cancel();
    let _ = handle.outcome().await;

    // And it sees what a run in a sandbox made for it saw.
    assert!(common::eventually(|| sb.made_ahead().is_some()).await);
    let again = common::run(&sb, look_around()).await;
    assert_eq!(again.verdict, Verdict::Ok, "{again:?}");
    assert_eq!(again.stdout, fresh.stdout);
    assert_eq!(again.stderr, fresh.stderr);
}

/// A sandbox made for another language, or for other limits, is of no use to a run: the
/// run gets its own, and what was made ahead is killed, reaped and removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_language_or_other_limits_discard_the_sandbox_made_ahead() {
    let base = 2_400_070;
    let sb = common::sandbox(base, 1);
    let out = common::run(&sb, common::req("python", "print('py')")).await;
    assert_eq!(out.stdout, "py\n", "{out:?}");
    assert!(common::eventually(|| sb.made_ahead().is_some()).await);
    let python = sb.made_ahead().expect("made ahead");

    let out = common::run(&sb, common::req("javascript", "console.log('js')")).await;
    assert_eq!(out.stdout, "js\n", "{out:?}");
    assert!(
        common::eventually(|| !alive(python.init_pid)
            && python.cgroups.iter().all(|c| !c.exists()))
        .await,
        "the sandbox made for python is still there"
    );
    assert!(
        common::eventually(|| sb.made_ahead().is_some_and(|m| m.language == "javascript")).await
    );
    let js = sb.made_ahead().expect("made ahead");

    let limits = Limits {
        memory_mb: 96,
        ..Limits::default()
    };
    let out = common::run(
        &sb,
        common::req_limits("javascript", "console.log('js, 96 MiB')", limits),
    )
    .await;
    assert_eq!(out.stdout, "js, 96 MiB\n", "{out:?}");
    assert!(
        common::eventually(|| !alive(js.init_pid)).await,
        "the sandbox made for other limits is still there"
    );
    assert!(
        common::eventually(|| common::live_inits_but_ahead(&sb).is_empty()
            && common::leftover_cgroups_but_ahead(&sb).is_empty())
        .await
    );
}

/// Nothing made ahead outlives its sandbox; `peercode run`'s sandbox makes none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_made_ahead_goes_with_its_sandbox_and_a_cli_makes_none() {
    let sb = common::sandbox(2_400_080, 1);
    let out = common::run(&sb, common::req("python", "print(1)")).await;
    assert_eq!(out.verdict, Verdict::Ok, "{out:?}");
    assert!(common::eventually(|| sb.made_ahead().is_some()).await);
    let ahead = sb.made_ahead().expect("made ahead");
    drop(sb);
    assert!(
        common::eventually(|| !alive(ahead.init_pid)
            && common::live_inits().is_empty()
            && common::leftover_cgroups().is_empty())
        .await,
        "left: inits {:?}, cgroups {:?}",
        common::live_inits(),
        common::leftover_cgroups()
    );

    let cli = Sandbox::new(SandboxConfig {
        uid_base: 2_400_090,
        ..SandboxConfig::one_run(LanguageTable::builtin())
    })
    .expect("sandbox");
    // The spawner thread takes its jobs in order: a sandbox made ahead after the first
    // run would be there by the time the second has started.
    for _ in 0..2 {
        let out = common::run(&cli, common::req("python", "print(1)")).await;
        assert_eq!(out.verdict, Verdict::Ok, "{out:?}");
    }
    assert_eq!(cli.made_ahead(), None);
    assert_eq!(common::leftover_cgroups(), Vec::<PathBuf>::new());
}

/// A sandbox made ahead waits only so long (its init shares this process's memory
/// copy-on-write): then its init exits, and the next run, finding it gone, makes its own
/// and removes what was left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_made_ahead_waits_only_so_long() {
    let sb = Sandbox::new(SandboxConfig {
        init_ahead: Some(Duration::from_millis(300)),
        ..common::config(2_400_100, 1)
    })
    .expect("sandbox");
    let out = common::run(&sb, common::req("python", "print(1)")).await;
    assert_eq!(out.stdout, "1\n", "{out:?}");
    assert!(common::eventually(|| sb.made_ahead().is_some()).await);
    let ahead = sb.made_ahead().expect("made ahead");
    assert!(
        common::eventually(|| sb.made_ahead().is_none()).await,
        "still waiting after its time"
    );
    assert_eq!(state_of(ahead.init_pid), Some('Z'), "its init has exited");
    let out = common::run(&sb, common::req("python", "print(2)")).await;
    assert_eq!(out.stdout, "2\n", "{out:?}");
    assert!(
        common::eventually(
            || state_of(ahead.init_pid).is_none() && ahead.cgroups.iter().all(|c| !c.exists())
        )
        .await,
        "what was left of it is still there"
    );
}

/// The state letter of host process `pid` (`Z` for a zombie), `None` once it is gone.
fn state_of(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}
