//! A sandbox made for one run (`peercode run`) keeps no pool of ready network namespaces
//! (`netns_pool: Some(0)`): no background thread makes any, and every run still gets a
//! network namespace of its own, from its `clone`.

mod common;

use peercode_sandbox::{Sandbox, SandboxConfig, Verdict};

fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|n| n.trim().to_owned())
        .collect()
}

const INTERFACES: &str = "import socket\nprint(sorted(n for _, n in socket.if_nameindex()))\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_pool_each_run_still_gets_its_own_network_namespace() {
    let sb = Sandbox::new(SandboxConfig {
        uid_base: 2_400_000,
        concurrency: 1,
        queue: 0,
        netns_pool: Some(0),
        root_dir: std::env::temp_dir().join("peercode-sandbox-test-2400000"),
        ..SandboxConfig::default()
    })
    .expect("this host can run the sandbox (run the tests as root on Linux)");
    for _ in 0..2 {
        let out = common::run(&sb, common::req("python", INTERFACES)).await;
        assert_eq!(out.verdict, Verdict::Ok, "{out:?}");
        assert_eq!(out.stdout, "['lo']\n", "only its own loopback");
    }
    // Checked after the runs: a thread started with the sandbox has its name by now.
    assert!(
        !thread_names().iter().any(|n| n == "sandbox-netns"),
        "no thread makes namespaces ahead: {:?}",
        thread_names()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_a_thread_keeps_namespaces_ready() {
    let sb = common::sandbox(2_400_010, 2);
    let out = common::run(&sb, common::req("python", INTERFACES)).await;
    assert_eq!(out.stdout, "['lo']\n", "only its own loopback");
    assert!(
        common::eventually(|| thread_names().iter().any(|n| n == "sandbox-netns")).await,
        "{:?}",
        thread_names()
    );
}
