//! `peercode analyze` against the real binary: human output, `--json` in the shape the web
//! app reads, and a file that does not parse.

use std::process::Command;

fn peercode() -> Command {
    Command::new(env!("CARGO_BIN_EXE_peercode"))
}

fn write(dir: &tempfile::TempDir, name: &str, body: &str) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, body).expect("write the snippet");
    p
}

const TWO_SUM: &str = "def two_sum(nums, target):\n    for i in range(len(nums)):\n        for j in range(i + 1, len(nums)):\n            if nums[i] + nums[j] == target:\n                return [i, j]\n    return []\n";

#[test]
fn human_output_names_each_function() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(&dir, "two_sum.py", TWO_SUM);
    let out = peercode()
        .arg("analyze")
        .arg(&file)
        .output()
        .expect("run peercode");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("two_sum (lines 1-6): O(n^2), loop depth 2"),
        "{text}"
    );
    assert!(text.contains("line"), "{text}");
}

#[test]
fn json_has_the_documented_shape() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(
        &dir,
        "fib.js",
        "function fib(n) {\n  if (n < 2) return n;\n  return fib(n - 1) + fib(n - 2);\n}\n",
    );
    let out = peercode()
        .args(["analyze", "--json"])
        .arg(&file)
        .output()
        .expect("run peercode");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(v["language"], "javascript");
    let f = &v["functions"][0];
    assert_eq!(f["name"], "fib");
    assert_eq!(f["line_start"], 1);
    assert_eq!(f["line_end"], 4);
    assert_eq!(f["complexity"], "O(2^n)");
    assert!(f["unknown_reason"].is_null());
    assert_eq!(f["max_loop_depth"], 0);
    assert!(
        f["reasons"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("O(2^n)")),
        "{f}"
    );
    assert_eq!(v["top_level"]["name"], "<module>");
    assert!(v["parse_errors"].as_array().is_some_and(|a| a.is_empty()));
}

#[test]
fn broken_code_still_gets_a_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(
        &dir,
        "broken.py",
        "def f(xs):\n    for x in xs:\n        print(x\n\ndef g(n):\n    return n\n",
    );
    let out = peercode()
        .args(["analyze", "--json"])
        .arg(&file)
        .output()
        .expect("run peercode");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert!(
        v["parse_errors"].as_array().is_some_and(|a| !a.is_empty()),
        "{v}"
    );
}

#[test]
fn unknown_extension_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(&dir, "notes.txt", "hello");
    let out = peercode()
        .arg("analyze")
        .arg(&file)
        .output()
        .expect("run peercode");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("extension"));
}
