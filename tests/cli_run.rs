//! `peercode run` and `peercode doctor` as a user calls them (SPEC §2).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn peercode() -> Command {
    Command::new(env!("CARGO_BIN_EXE_peercode"))
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write test file");
    p
}

fn run(args: &[&str], uid_base: u32) -> Output {
    peercode()
        .arg("run")
        .args(args)
        .env("PEERCODE_SANDBOX_UID_BASE", uid_base.to_string())
        .output()
        .expect("peercode runs")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn run_prints_output_then_verdict_and_usage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(
        dir.path(),
        "hello.py",
        "import sys\nprint(input().upper())\nprint('warn', file=sys.stderr)\n",
    );
    let input = write(dir.path(), "in.txt", "shout\n");
    let args = [
        file.to_str().unwrap_or_default(),
        "--stdin",
        input.to_str().unwrap_or_default(),
    ];
    let out = run(&args, 2_500_000);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "SHOUT\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("warn\n"), "{err}");
    assert!(err.contains("--- ok"), "{err}");
    assert!(
        err.contains("cpu ") && err.contains("wall ") && err.contains("memory "),
        "{err}"
    );

    let mut with_json = args.to_vec();
    with_json.push("--json");
    let out = run(&with_json, 2_500_000);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["verdict"], "ok");
    assert_eq!(v["exit_code"], 0);
    assert!(v["signal"].is_null());
    assert_eq!(v["stdout"], "SHOUT\n");
    assert_eq!(v["stderr"], "warn\n");
    for field in ["cpu_ms", "wall_ms", "memory_kb"] {
        assert!(v[field].is_u64(), "{field} missing: {v}");
    }
}

#[test]
fn run_flags_set_the_limits_and_verdicts_set_the_exit_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spin = write(dir.path(), "spin.c", "int main(void){ for(;;); }\n");
    let out = run(
        &[spin.to_str().unwrap_or_default(), "--time", "0.3", "--json"],
        2_500_010,
    );
    assert_eq!(json(&out)["verdict"], "time_limit");
    assert_eq!(out.status.code(), Some(1));

    let hog = write(
        dir.path(),
        "hog.js",
        "const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1));\n",
    );
    let out = run(
        &[hog.to_str().unwrap_or_default(), "--memory", "64", "--json"],
        2_500_010,
    );
    assert_eq!(json(&out)["verdict"], "memory_limit", "{:?}", json(&out));
    assert_eq!(out.status.code(), Some(1));

    let bad = write(dir.path(), "bad.txt", "int main() { return }\n");
    let out = run(
        &[bad.to_str().unwrap_or_default(), "--lang", "cpp", "--json"],
        2_500_010,
    );
    let v = json(&out);
    assert_eq!(v["verdict"], "compile_error");
    assert!(
        v["compile_output"]
            .as_str()
            .unwrap_or_default()
            .contains("error"),
        "{v}"
    );
    assert_eq!(out.status.code(), Some(1));

    let unknown = run(&[bad.to_str().unwrap_or_default()], 2_500_010);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("--lang"));
}

/// Killing `peercode run` with SIGKILL takes its sandbox with it, and the next start
/// removes the dead run's cgroups.
#[test]
fn the_sandbox_dies_with_its_parent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sleeper = write(
        dir.path(),
        "sleep.py",
        "import time\nprint('started', flush=True)\ntime.sleep(1000)\n",
    );
    let uid = 2_500_020;
    let mut child = peercode()
        .arg("run")
        .arg(&sleeper)
        .env("PEERCODE_SANDBOX_UID_BASE", uid.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn peercode run");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    assert_eq!(line, "started\n");
    assert!(!processes_of(uid).is_empty(), "the program runs");
    let pid = child.id();
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !processes_of(uid).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        processes_of(uid).is_empty(),
        "left running: {:?}",
        processes_of(uid)
    );

    let stale = format!("peercode-run-{pid}-");
    let hello = write(dir.path(), "hello.py", "print('hi')\n");
    let out = run(&[hello.to_str().unwrap_or_default()], uid);
    assert_eq!(out.status.code(), Some(0));
    let left = find_cgroups(&stale);
    assert!(left.is_empty(), "stale cgroups not swept: {left:?}");
}

#[test]
fn doctor_lists_protections_and_languages() {
    let out = peercode()
        .arg("doctor")
        .env("PEERCODE_SANDBOX_UID_BASE", "2500030")
        .output()
        .expect("doctor runs");
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "namespaces",
        "seccomp",
        "no_new_privs",
        "memory limit",
        "python",
        "javascript",
        "cpp",
        "go",
        "typescript",
        "Host-wide kernel limits",
        "fs.aio-max-nr",
    ] {
        assert!(text.contains(want), "doctor output lacks {want}:\n{text}");
    }
    assert_eq!(out.status.code(), Some(0), "{text}");

    let out = peercode()
        .args(["doctor", "--json"])
        .env("PEERCODE_SANDBOX_UID_BASE", "2500030")
        .output()
        .expect("doctor runs");
    let v = json(&out);
    assert_eq!(v["ok"], true);
    assert!(v["protections"].as_array().is_some_and(|a| a.len() >= 10));
    let limits = v["host_limits"].as_array().cloned().unwrap_or_default();
    assert!(
        limits
            .iter()
            .any(|l| l["name"] == "fs.aio-max-nr" && l["isolated"] == true),
        "{limits:?}"
    );
}

/// Two `peercode run` processes at once use the same uid slot (each CLI has its own
/// slot pool), and RLIMIT_NPROC counts a uid's processes across the host: a fork bomb
/// holding its 64 processes in one run must not keep the other run from forking. The
/// pids cgroup bounds each run on its own.
#[test]
fn a_fork_bomb_in_one_cli_run_does_not_starve_another() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bomb = write(
        dir.path(),
        "bomb.c",
        "#include <stdio.h>\n#include <unistd.h>\n\
         int main(void){for(;;){pid_t p=fork();if(p==0){pause();_exit(0);}\
         if(p<0){puts(\"holding\");fflush(stdout);for(;;)pause();}}}\n",
    );
    let forker = write(
        dir.path(),
        "forker.py",
        "import os\nkids = []\nfor _ in range(8):\n    pid = os.fork()\n    if pid == 0:\n        os._exit(0)\n    kids.append(pid)\nfor k in kids:\n    os.waitpid(k, 0)\nprint('forked', len(kids))\n",
    );
    let uid = 2_500_040;
    let mut holder = peercode()
        .args(["run", "--time", "2"])
        .arg(&bomb)
        .env("PEERCODE_SANDBOX_UID_BASE", uid.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn peercode run");
    let mut line = String::new();
    BufReader::new(holder.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    assert_eq!(line, "holding\n", "the bomb filled its process limit");
    assert!(
        processes_of(uid).len() >= 60,
        "the bomb holds its processes: {}",
        processes_of(uid).len()
    );
    let out = run(&["--json", forker.to_str().unwrap_or_default()], uid);
    let v = json(&out);
    assert_eq!(v["verdict"], "ok", "{v}");
    assert_eq!(v["stdout"], "forked 8\n");
    holder.kill().expect("SIGKILL");
    holder.wait().expect("reaped");
}

fn processes_of(uid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let owner = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u32>().ok());
        if owner == Some(uid)
            && let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok())
        {
            found.push(pid);
        }
    }
    found
}

fn find_cgroups(prefix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![PathBuf::from("/sys/fs/cgroup")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if e.file_name().to_string_lossy().starts_with(prefix) {
                found.push(e.path());
            } else {
                stack.push(e.path());
            }
        }
    }
    found
}

/// Not root: the sandbox uses a user namespace, still isolates, and says what it lacks.
#[test]
fn without_root_a_user_namespace_sandbox_reports_what_is_missing() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    // Sticky like /tmp: the sandbox refuses a root dir in a parent where others could
    // rename it.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    let bin = dir.path().join("peercode");
    std::fs::copy(env!("CARGO_BIN_EXE_peercode"), &bin).expect("copy binary");
    let prog = write(
        dir.path(),
        "who.py",
        "import os\nprint('uid', os.getuid(), 'pid', os.getpid(), 'ifaces', len(os.listdir('/proc/self/net/dev_snmp6')) if os.path.exists('/proc/self/net/dev_snmp6') else 0)\n",
    );
    std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let as_nobody = |args: &[&str]| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin)
            .args(args)
            .env("TMPDIR", dir.path())
            .output()
            .expect("setpriv runs")
    };
    let out = as_nobody(&["run", prog.to_str().unwrap_or_default(), "--json"]);
    let v = json(&out);
    assert_eq!(v["verdict"], "ok", "{v}");
    // uid 0 of its own user namespace, pid 2 of its own PID namespace.
    assert!(
        v["stdout"]
            .as_str()
            .unwrap_or_default()
            .starts_with("uid 0 pid 2"),
        "{v}"
    );
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(warnings.contains("not root"), "{warnings}");
    assert!(warnings.contains("no memory cgroup"), "{warnings}");

    let out = as_nobody(&["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("namespaces            ok"), "{text}");
    assert!(text.contains("seccomp               ok"), "{text}");
    assert!(text.contains("memory limit          MISSING"), "{text}");
}

/// `echo 5 | peercode run a.py`: without `--stdin`, a pipe is the program's stdin.
#[test]
fn stdin_comes_from_a_pipe_when_no_file_is_given() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "double.py", "print(int(input()) * 2)\n");
    let mut child = peercode()
        .arg("run")
        .arg(&file)
        .env("PEERCODE_SANDBOX_UID_BASE", "2500060")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("peercode runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"21\n")
        .expect("write stdin");
    let out = child.wait_with_output().expect("peercode ends");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("42\n"),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0));
    // Without a pipe (stdin is /dev/null here) the program reads end-of-file at once.
    let file = write(
        dir.path(),
        "eof.py",
        "import sys\nprint(len(sys.stdin.read()))\n",
    );
    let out = run(&[file.to_str().unwrap()], 2500070);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("0\n"));
}
