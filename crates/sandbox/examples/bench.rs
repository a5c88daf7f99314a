//! Sandbox benchmark (not a test): median overhead of a sandboxed run over the same
//! program run bare, and runs per second with 2 and 8 concurrent runs.
//!
//! Run as root: `cargo run --release -p peercode-sandbox --example sandbox-bench [N]`
//! (N runs per latency figure, default 100). Results go to BENCHMARKS.md by hand.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use peercode_sandbox::{LanguageTable, RunRequest, Sandbox, SandboxConfig, Verdict};

const PY_HELLO: &str = "print('hello')\n";
const C_HELLO: &str = "#include <stdio.h>\nint main(void){puts(\"hello\");return 0;}\n";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// SPEC §3 default limits; `BENCH_CPU_QUOTA=100` measures with a whole CPU instead of
/// half of one.
fn limits() -> peercode_sandbox::Limits {
    let mut l = peercode_sandbox::Limits::default();
    if let Some(q) = std::env::var("BENCH_CPU_QUOTA")
        .ok()
        .and_then(|q| q.parse().ok())
    {
        l.cpu_quota_percent = q;
    }
    l
}

fn bare_once(argv: &[&str]) -> Duration {
    let t = Instant::now();
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .current_dir("/tmp")
        .output()
        .expect("bare run");
    assert!(out.status.success());
    t.elapsed()
}

async fn sandboxed_once(sb: &Sandbox, language: &str, source: &str) -> Duration {
    let t = Instant::now();
    let out = sb
        .run(RunRequest {
            language: language.into(),
            source: source.as_bytes().to_vec(),
            limits: limits(),
            ..RunRequest::default()
        })
        .expect("accepted")
        .outcome()
        .await
        .expect("outcome");
    let took = t.elapsed();
    assert_eq!(out.verdict, Verdict::Ok, "{out:?}");
    assert_eq!(out.stdout, "hello\n");
    took
}

/// Bare and sandboxed runs alternate, so both see the same background load; the
/// overhead is the median of the paired differences.
async fn paired(
    sb: &Sandbox,
    argv: &[&str],
    language: &str,
    source: &str,
    n: usize,
) -> (Duration, Duration, f64) {
    let (mut bare, mut boxed, mut diff) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let b = bare_once(argv);
        let s = sandboxed_once(sb, language, source).await;
        bare.push(b);
        boxed.push(s);
        diff.push(ms(s) - ms(b));
    }
    diff.sort_by(f64::total_cmp);
    (median(bare), median(boxed), diff[diff.len() / 2])
}

async fn throughput(sb: &Sandbox, language: &str, source: &str, total: usize) -> f64 {
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..total {
        let sb = sb.clone();
        let source = source.as_bytes().to_vec();
        let language = language.to_owned();
        tasks.push(tokio::spawn(async move {
            let out = sb
                .run(RunRequest {
                    language,
                    source,
                    ..RunRequest::default()
                })
                .expect("accepted")
                .outcome()
                .await
                .expect("outcome");
            assert_eq!(out.verdict, Verdict::Ok);
        }));
    }
    for task in tasks {
        task.await.expect("run");
    }
    total as f64 / t.elapsed().as_secs_f64()
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100);
    let dir = Path::new("/tmp/peercode-sandbox-bench");
    std::fs::create_dir_all(dir).expect("bench dir");
    std::fs::write(dir.join("hello.c"), C_HELLO).expect("write hello.c");
    std::fs::write(dir.join("hello.py"), PY_HELLO).expect("write hello.py");
    let status = Command::new("gcc")
        .args(["-O2", "-o"])
        .arg(dir.join("hello"))
        .arg(dir.join("hello.c"))
        .status()
        .expect("gcc");
    assert!(status.success());
    // The prebuilt C binary as a "language", so the run step alone is compared.
    let table = LanguageTable::builtin()
        .with_overrides(
            r#"
            [c-prebuilt]
            source = "unused.txt"
            run = ["/tmp/peercode-sandbox-bench/hello"]
            mounts = ["/tmp/peercode-sandbox-bench"]
            "#,
            Path::new("bench"),
        )
        .expect("table");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let one = Sandbox::new(SandboxConfig {
            languages: table.clone(),
            concurrency: 1,
            ..SandboxConfig::default()
        })
        .expect("sandbox");
        // Warm up page cache and allocator.
        let py = ["/usr/bin/python3", "/tmp/peercode-sandbox-bench/hello.py"];
        let c = ["/tmp/peercode-sandbox-bench/hello"];
        paired(&one, &py, "python", PY_HELLO, 5).await;
        paired(&one, &c, "c-prebuilt", "", 5).await;

        let (py_bare, py_sb, py_over) = paired(&one, &py, "python", PY_HELLO, n).await;
        let (c_bare, c_sb, c_over) = paired(&one, &c, "c-prebuilt", "", n).await;
        let mut full = Vec::new();
        for _ in 0..(n / 5).max(5) {
            full.push(sandboxed_once(&one, "c", C_HELLO).await);
        }
        println!("median over {n} runs (ms)      bare   sandboxed   overhead");
        println!(
            "Python hello               {:7.2}   {:9.2}   {:8.2}",
            ms(py_bare),
            ms(py_sb),
            py_over
        );
        println!(
            "C hello (prebuilt binary)  {:7.2}   {:9.2}   {:8.2}",
            ms(c_bare),
            ms(c_sb),
            c_over
        );
        println!(
            "C hello incl. gcc compile in the sandbox: {:.1} ms",
            ms(median(full))
        );
        for conc in [2usize, 8] {
            let sb = Sandbox::new(SandboxConfig {
                languages: table.clone(),
                concurrency: conc,
                queue: 10_000,
                uid_base: 2_010_000,
                ..SandboxConfig::default()
            })
            .expect("sandbox");
            let total = (n * 2).max(20);
            let py = throughput(&sb, "python", PY_HELLO, total).await;
            let c = throughput(&sb, "c-prebuilt", "", total).await;
            println!(
                "concurrency {conc}: {py:.0} Python runs/s, {c:.0} C runs/s ({total} runs each)"
            );
        }
    });
}
