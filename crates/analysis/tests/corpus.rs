//! Data-driven check of the analyser against the labelled corpus in `corpus/`.
//!
//! Each snippet names the expected answer for every function it defines in header lines:
//! `# expect: NAME COMPLEXITY` (Python) or `// expect: NAME COMPLEXITY` (JavaScript), with
//! `COMPLEXITY` in the canonical notation or `unknown`. Where the analyser is known to
//! answer otherwise, the snippet says what it answers today:
//! `# known disagreement: NAME COMPLEXITY`.
//!
//! The test fails on any change against that record: a new disagreement, a known one whose
//! answer changed, and a known one that now agrees (so the record stays true). It prints
//! every change, then the agreement figure. It also fails when a snippet does not parse or
//! leaves a function without an expected answer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use peercode_analysis::{Language, analyze};

/// The header lines of one snippet.
#[derive(Debug, Default)]
struct Header {
    /// (function, expected complexity), in file order.
    expect: Vec<(String, String)>,
    /// Function → what the analyser answers today where that is not the expected answer.
    known: HashMap<String, String>,
}

/// `NAME COMPLEXITY` after a header prefix; the complexity may contain spaces.
fn name_and_complexity(rest: &str) -> Option<(String, String)> {
    let (name, complexity) = rest.trim().split_once(' ')?;
    Some((name.to_string(), complexity.trim().to_string()))
}

fn header(src: &str) -> Header {
    let mut h = Header::default();
    for line in src.lines() {
        let line = line.trim();
        let Some(comment) = line.strip_prefix('#').or_else(|| line.strip_prefix("//")) else {
            continue;
        };
        let comment = comment.trim_start();
        if let Some(rest) = comment.strip_prefix("expect:") {
            h.expect.extend(name_and_complexity(rest));
        } else if let Some(rest) = comment.strip_prefix("known disagreement:")
            && let Some((name, got)) = name_and_complexity(rest)
        {
            h.known.insert(name, got);
        }
    }
    h
}

/// How one function's answer stands against the expectation and the known disagreements.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Agrees,
    /// Disagrees as recorded.
    KnownDisagreement,
    /// Disagrees and no disagreement is recorded.
    New,
    /// Disagrees, but not with the recorded answer.
    Changed {
        known: String,
    },
    /// A disagreement is recorded but the answer now is the expected one.
    NowAgrees {
        known: String,
    },
}

fn judge(expected: &str, got: &str, known: Option<&str>) -> Outcome {
    match (got == expected, known) {
        (true, None) => Outcome::Agrees,
        (true, Some(k)) => Outcome::NowAgrees { known: k.into() },
        (false, None) => Outcome::New,
        (false, Some(k)) if k == got => Outcome::KnownDisagreement,
        (false, Some(k)) => Outcome::Changed { known: k.into() },
    }
}

fn corpus_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut files = Vec::new();
    for lang in ["python", "javascript"] {
        let dir = root.join(lang);
        let entries =
            std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
        for e in entries.flatten() {
            files.push(e.path());
        }
    }
    files.sort();
    files
}

#[test]
fn corpus_agreement() {
    let files = corpus_files();
    let mut total = 0usize;
    let mut agree = 0usize;
    let mut known = 0usize;
    let mut changes = Vec::new();
    let mut snippets = 0usize;
    for path in &files {
        let lang = Language::from_path(path).unwrap_or_else(|e| panic!("{e}"));
        let src =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let h = header(&src);
        let short = path
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(path)
            .display()
            .to_string();
        assert!(!h.expect.is_empty(), "{short}: no `expect:` lines");
        for name in h.known.keys() {
            assert!(
                h.expect.iter().any(|(n, _)| n == name),
                "{short}: `known disagreement:` for `{name}`, which has no `expect:` line"
            );
        }
        snippets += 1;
        let report = analyze(&src, lang);
        assert!(
            report.parse_errors.is_empty(),
            "{short}: the snippet does not parse: {:?}",
            report.parse_errors
        );
        for f in &report.functions {
            assert!(
                h.expect.iter().any(|(n, _)| *n == f.name),
                "{short}: function `{}` has no expected answer",
                f.name
            );
        }
        for (name, expected) in &h.expect {
            total += 1;
            let got = if name == "<module>" {
                Some(&report.top_level)
            } else {
                report.function(name)
            };
            let Some(f) = got else {
                changes.push(format!("! {short}: no function named `{name}`"));
                continue;
            };
            let why = f
                .unknown_reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            let got = &f.complexity;
            match judge(expected, got, h.known.get(name).map(String::as_str)) {
                Outcome::Agrees => agree += 1,
                Outcome::KnownDisagreement => {
                    known += 1;
                    println!("known: {short}: {name}: expected {expected}, got {got}{why}");
                }
                Outcome::New => changes.push(format!(
                    "+ {short}: {name}: expected {expected}, got {got}{why} (new disagreement)"
                )),
                Outcome::Changed { known } => changes.push(format!(
                    "~ {short}: {name}: expected {expected}, known disagreement {known}, now {got}{why}"
                )),
                Outcome::NowAgrees { known } => {
                    agree += 1;
                    changes.push(format!(
                        "- {short}: {name}: now agrees ({expected}); drop `known disagreement: {name} {known}`"
                    ));
                }
            }
        }
    }
    println!(
        "complexity corpus: {agree}/{total} functions agree ({:.1}%) over {snippets} snippets, {known} known disagreements",
        agree as f64 / total.max(1) as f64 * 100.0
    );
    assert!(
        snippets >= 80,
        "the corpus needs at least 80 snippets, has {snippets}"
    );
    assert!(
        changes.is_empty(),
        "the analyser's answers changed against the corpus (+ new disagreement, ~ changed, - now agrees, ! missing):\n{}",
        changes.join("\n")
    );
}

#[test]
fn header_lines_are_read() {
    let h = header(
        "# expect: f O(n log log n)\n# known disagreement: f O(n^2)\n// expect: A.b unknown\nx = 1  # expect: not a header\n",
    );
    assert_eq!(
        h.expect,
        vec![
            ("f".to_string(), "O(n log log n)".to_string()),
            ("A.b".to_string(), "unknown".to_string()),
        ]
    );
    assert_eq!(h.known.get("f").map(String::as_str), Some("O(n^2)"));
    assert_eq!(h.known.len(), 1);
}

#[test]
fn every_change_against_the_record_is_caught() {
    assert_eq!(judge("O(n)", "O(n)", None), Outcome::Agrees);
    assert_eq!(
        judge("O(n)", "O(n^2)", Some("O(n^2)")),
        Outcome::KnownDisagreement
    );
    assert_eq!(judge("O(n)", "O(n^2)", None), Outcome::New);
    assert_eq!(
        judge("O(n)", "O(n log n)", Some("O(n^2)")),
        Outcome::Changed {
            known: "O(n^2)".into()
        }
    );
    assert_eq!(
        judge("O(n)", "O(n)", Some("O(n^2)")),
        Outcome::NowAgrees {
            known: "O(n^2)".into()
        }
    );
}
