//! Spawning is safe inside a busy multithreaded server: while other threads allocate,
//! free and hold locks all the time, many runs start and finish. A child that took the
//! allocator's or any other lock between `clone` and `execve` could inherit it held
//! and hang forever; this test would then time out.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use peercode_sandbox::Verdict;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runs_start_while_other_threads_hammer_the_allocator_and_locks() {
    let stop = Arc::new(AtomicBool::new(false));
    let shared = Arc::new(Mutex::new(Vec::<Vec<u8>>::new()));
    let mut hammers = Vec::new();
    for t in 0..3 {
        let stop = Arc::clone(&stop);
        let shared = Arc::clone(&shared);
        hammers.push(std::thread::spawn(move || {
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let v = vec![t as u8; 1 + (n % 4096)];
                if let Ok(mut guard) = shared.lock() {
                    guard.push(v);
                    if guard.len() > 256 {
                        guard.clear();
                    }
                }
                n += 1;
            }
        }));
    }

    let sb = common::sandbox(2_600_000, 4);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let sb = sb.clone();
        tasks.push(tokio::spawn(async move {
            let src = format!("print({i} * 2)");
            let out = common::run(&sb, common::req("python", &src)).await;
            (i, out)
        }));
    }
    let all = async {
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.expect("task"));
        }
        results
    };
    let results = tokio::time::timeout(Duration::from_secs(120), all)
        .await
        .expect("every run finished: no child hung on an inherited lock");
    stop.store(true, Ordering::Relaxed);
    for h in hammers {
        h.join().expect("hammer thread");
    }
    for (i, out) in results {
        assert_eq!(out.verdict, Verdict::Ok, "{out:?}");
        assert_eq!(out.stdout, format!("{}\n", i * 2));
    }
}
