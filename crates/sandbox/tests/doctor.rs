//! The self-checks `peercode doctor` prints: on this machine kind (root, cgroup v1
//! with memory/pids/cpu) every protection and every built-in language must work.

mod common;

#[tokio::test]
async fn every_protection_holds_and_every_language_works() {
    let sb = common::sandbox(2_400_000, 2);
    let protections = sb.check_protections().await;
    let names: Vec<&str> = protections.iter().map(|c| c.name.as_str()).collect();
    for want in [
        "namespaces",
        "unprivileged uid",
        "no capabilities",
        "no_new_privs",
        "seccomp",
        "pid isolation",
        "no network",
        "read-only system",
        "fresh tmpfs work dir",
        "memory limit",
        "process limit",
        "cpu limit",
    ] {
        assert!(names.contains(&want), "no check named {want}: {names:?}");
    }
    let failed: Vec<_> = protections.iter().filter(|c| !c.ok).collect();
    assert!(failed.is_empty(), "protections missing: {failed:#?}");
    let uid = protections
        .iter()
        .find(|c| c.name == "unprivileged uid")
        .map(|c| c.detail.clone())
        .unwrap_or_default();
    assert!(
        uid.ends_with("uid 2400000") || uid.ends_with("uid 2400001"),
        "{uid}"
    );

    // The first four (SPEC F4) must work here; the others wherever their toolchain is
    // installed (a language whose toolchain is absent is reported as missing).
    let languages = sb.check_languages().await;
    for c in &languages {
        let required = ["python", "javascript", "c", "cpp"].contains(&c.name.as_str());
        let absent = c.absent;
        assert!(
            c.ok || (!required && absent),
            "{} does not work: {}",
            c.name,
            c.detail
        );
    }
    assert!(languages.len() >= 4);
}

/// `doctor` lists the host-wide kernel pools a run could drain, with their values, and
/// on this machine kind (root, pids and memory cgroups, seccomp) a run is isolated from
/// every one of them.
#[test]
fn host_wide_limits_are_listed_and_isolated() {
    let sb = common::sandbox(2_400_010, 1);
    let limits = sb.host().limits();
    let names: Vec<&str> = limits.iter().map(|l| l.name).collect();
    for want in [
        "fs.aio-max-nr",
        "fs.inotify.max_user_instances, max_user_watches",
        "kernel.keys.maxkeys, maxbytes",
        "fs.mqueue.queues_max, msg_max, msgsize_max",
        "kernel.pid_max, threads-max",
        "fs.file-max",
        "kernel.shmmni, shmall, sem, msgmni (SysV IPC)",
    ] {
        assert!(names.contains(&want), "no limit named {want}: {names:?}");
    }
    let aio = limits
        .iter()
        .find(|l| l.name == "fs.aio-max-nr")
        .map(|l| l.value.clone())
        .unwrap_or_default();
    let max = std::fs::read_to_string("/proc/sys/fs/aio-max-nr").expect("aio-max-nr");
    assert!(aio.ends_with(&format!("of {}", max.trim())), "{aio}");
    let shared: Vec<_> = limits.iter().filter(|l| !l.isolated).collect();
    assert!(shared.is_empty(), "not isolated: {shared:#?}");
    assert!(
        limits
            .iter()
            .all(|l| !l.how.is_empty() && !l.value.is_empty())
    );
}
