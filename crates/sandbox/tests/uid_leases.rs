//! Two sandboxes on one host (two `peercode run` processes, a CLI next to a server)
//! never run programs as the same uid: RLIMIT_NPROC and the other per-uid kernel
//! counts are host-wide, so a shared uid would let one run starve the other.

mod common;

use std::time::Duration;

use peercode_sandbox::Verdict;

const UID_BASE: u32 = 2_600_000;

const WHO: &str = "import os, sys, time\nprint(os.getuid(), flush=True)\n\
                   if len(sys.argv) > 0 and os.path.exists('hold'):\n    time.sleep(1000)\n";

#[tokio::test]
async fn a_second_sandbox_with_the_same_uid_base_gets_another_uid() {
    // Both start from slot 0 of the same range, as two CLI processes do (which make no
    // sandbox ahead).
    let cli = || {
        peercode_sandbox::Sandbox::new(peercode_sandbox::SandboxConfig {
            init_ahead: None,
            ..common::config(UID_BASE, 1)
        })
        .expect("sandbox")
    };
    let first = cli();
    let second = cli();
    let mut holder = first
        .run(peercode_sandbox::RunRequest {
            files: vec![("hold".into(), Vec::new())],
            ..common::req("python", WHO)
        })
        .expect("accepted");
    let mut line = Vec::new();
    while !line.ends_with(b"\n") {
        let chunk = tokio::time::timeout(Duration::from_secs(20), holder.next_chunk())
            .await
            .expect("the holder started in time")
            .expect("a chunk");
        line.extend_from_slice(&chunk.data);
    }
    assert_eq!(line, format!("{UID_BASE}\n").into_bytes());

    let out = common::run(&second, common::req("python", WHO)).await;
    assert_eq!(out.verdict, Verdict::Ok, "{out:?}");
    let uid: u32 = out.stdout.trim().parse().expect("a uid");
    assert_ne!(uid, UID_BASE, "the second sandbox ran as the holder's uid");
    assert!(
        (UID_BASE + 1..UID_BASE + 1 + 1024).contains(&uid),
        "uid {uid} outside the range"
    );
    holder.cancel();
    assert!(holder.outcome().await.is_err(), "cancelled");

    // Once the holder is gone, its uid is free again.
    let out = common::run(&second, common::req("python", WHO)).await;
    assert_eq!(out.stdout, format!("{UID_BASE}\n"));
}
