//! The hostile-program suite: every program in `hostile/` gets its expected verdict,
//! leaves the host untouched, and the next run in the sandbox is normal.

mod common;

use std::path::{Path, PathBuf};

use peercode_sandbox::{Limits, RunRequest, Verdict};

const UID_BASE: u32 = 2_100_000;
const CONCURRENCY: usize = 4;

/// Runs after every hostile program: it must see a clean slate and work normally.
const CANARY: &str = r#"
import os
dirty = {p: os.listdir(p) for p in ["/tmp", "/dev/shm"] if os.listdir(p)}
work = sorted(os.listdir("/work"))
if dirty or work != ["main.py"]:
    print("DIRTY", dirty, work)
print("canary ok", sum(range(1000)))
"#;

struct Case {
    path: PathBuf,
    language: &'static str,
    source: String,
    expect: Verdict,
    limits: Limits,
    stdout: Vec<String>,
    stderr: Vec<String>,
}

fn parse_verdict(s: &str) -> Verdict {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .unwrap_or_else(|_| panic!("unknown verdict `{s}`"))
}

fn load(path: &Path) -> Case {
    let source = std::fs::read_to_string(path).expect("readable case");
    let (language, comment) = match path.extension().and_then(|e| e.to_str()) {
        Some("py") => ("python", "#"),
        Some("js") => ("javascript", "//"),
        Some("c") => ("c", "//"),
        Some("cpp") => ("cpp", "//"),
        other => panic!("{}: unsupported extension {other:?}", path.display()),
    };
    let mut case = Case {
        path: path.to_path_buf(),
        language,
        source: source.clone(),
        expect: Verdict::InternalError,
        limits: Limits::default(),
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    let mut has_expect = false;
    for line in source.lines() {
        let Some(rest) = line.strip_prefix(comment).map(str::trim) else {
            break;
        };
        if let Some(v) = rest.strip_prefix("expect:") {
            case.expect = parse_verdict(v.trim());
            has_expect = true;
        } else if let Some(v) = rest.strip_prefix("limits:") {
            for kv in v.split_whitespace() {
                let (k, v) = kv.split_once('=').expect("key=value");
                let v: u64 = v.parse().expect("number");
                match k {
                    "cpu_time_ms" => case.limits.cpu_time_ms = v,
                    "wall_time_ms" => case.limits.wall_time_ms = v,
                    "memory_mb" => case.limits.memory_mb = v,
                    "processes" => case.limits.processes = v,
                    "output_bytes" => case.limits.output_bytes = v,
                    "file_bytes" => case.limits.file_bytes = v,
                    _ => panic!("{}: unknown limit {k}", path.display()),
                }
            }
        } else if let Some(v) = rest.strip_prefix("stdout:") {
            case.stdout.push(v.trim().to_owned());
        } else if let Some(v) = rest.strip_prefix("stderr:") {
            case.stderr.push(v.trim().to_owned());
        }
    }
    assert!(has_expect, "{}: no `expect:` header", path.display());
    case
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_programs_get_their_verdicts_and_leave_nothing_behind() {
    // A file on the host that programs try to read (they must not see it).
    let secret_dir = Path::new("/tmp/peercode-hostile-secret");
    std::fs::create_dir_all(secret_dir).expect("secret dir");
    std::fs::write(secret_dir.join("secret.txt"), "top secret").expect("secret file");

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("hostile");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("hostile dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 20, "hostile suite has {} cases", paths.len());
    let cases: Vec<Case> = paths.iter().map(|p| load(p)).collect();

    let sb = common::sandbox(UID_BASE, CONCURRENCY);
    let mut tasks = Vec::new();
    for case in cases {
        let sb = sb.clone();
        tasks.push(tokio::spawn(async move {
            let mut problems = Vec::new();
            let out = common::run(
                &sb,
                RunRequest {
                    language: case.language.into(),
                    source: case.source.into_bytes(),
                    limits: case.limits,
                    ..RunRequest::default()
                },
            )
            .await;
            let name = case
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned());
            let name = name.unwrap_or_default();
            if out.verdict != case.expect {
                problems.push(format!(
                    "verdict {} (expected {})",
                    out.verdict, case.expect
                ));
            }
            for what in [&out.stdout, &out.stderr] {
                if what.contains("ESCAPED") {
                    problems.push("a protection did not hold".into());
                }
            }
            for s in &case.stdout {
                if !out.stdout.contains(s.as_str()) {
                    problems.push(format!("stdout lacks `{s}`"));
                }
            }
            for s in &case.stderr {
                if !out.stderr.contains(s.as_str()) {
                    problems.push(format!("stderr lacks `{s}`"));
                }
            }
            let canary = common::run(&sb, common::req("python", CANARY)).await;
            if canary.verdict != Verdict::Ok
                || !canary.stdout.contains("canary ok 499500")
                || canary.stdout.contains("DIRTY")
            {
                problems.push(format!("the next run was not normal: {canary:?}"));
            }
            if problems.is_empty() {
                Ok(name)
            } else {
                let mut short = out.clone();
                short.stdout = short.stdout.chars().take(2000).collect();
                short.stderr = short.stderr.chars().take(2000).collect();
                Err(format!("{name}: {}\n    {short:?}", problems.join("; ")))
            }
        }));
    }
    let mut failures = Vec::new();
    let mut passed = 0;
    for t in tasks {
        match t.await.expect("case task") {
            Ok(_) => passed += 1,
            Err(e) => failures.push(e),
        }
    }

    // The host is untouched.
    let leftovers = common::processes_of(UID_BASE, CONCURRENCY as u32);
    if !leftovers.is_empty() {
        failures.push(format!("processes left running: {leftovers:?}"));
    }
    // An outcome comes once the init reports every process of the run gone; the init
    // itself may still be exiting (its namespaces torn down) for a few milliseconds.
    // Only the sandbox made ahead for the next run stays, waiting.
    if !common::eventually(|| common::live_inits_but_ahead(&sb).is_empty()).await {
        failures.push(format!(
            "sandbox inits left: {:?}",
            common::live_inits_but_ahead(&sb)
        ));
    }
    // A server's sandbox removes a run's cgroups just after its outcome.
    if !common::eventually(|| common::leftover_cgroups_but_ahead(&sb).is_empty()).await {
        failures.push(format!(
            "cgroups left: {:?}",
            common::leftover_cgroups_but_ahead(&sb)
        ));
    }
    let root = sb.config().root_dir.clone();
    let root = &root;
    // Nothing at all outlives the sandbox.
    drop(sb);
    if !common::eventually(|| {
        common::live_inits().is_empty() && common::leftover_cgroups().is_empty()
    })
    .await
    {
        failures.push(format!(
            "left after the sandbox was dropped: inits {:?}, cgroups {:?}",
            common::live_inits(),
            common::leftover_cgroups()
        ));
    }
    if common::is_mounted(root) {
        failures.push(format!("{} is mounted on the host", root.display()));
    }
    if std::fs::read_dir(root).map(|d| d.count()).unwrap_or(0) != 0 {
        failures.push(format!("{} is not empty on the host", root.display()));
    }
    for p in [
        "/peercode-pwned",
        "/usr/peercode-pwned",
        "/etc/peercode-pwned",
    ] {
        if Path::new(p).exists() {
            failures.push(format!("{p} was created on the host"));
        }
    }
    let secret = std::fs::read_to_string(secret_dir.join("secret.txt")).unwrap_or_default();
    if secret != "top secret" {
        failures.push("the host secret file was changed".into());
    }
    let _ = std::fs::remove_dir_all(secret_dir);
    assert!(
        failures.is_empty(),
        "{passed} cases passed, {} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
