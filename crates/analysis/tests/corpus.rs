//! Data-driven check of the analyser against the labelled corpus in `corpus/`.
//!
//! Each snippet names the expected answer for every function it defines in header lines:
//! `# expect: NAME COMPLEXITY` (Python) or `// expect: NAME COMPLEXITY` (JavaScript), with
//! `COMPLEXITY` in the canonical notation or `unknown`. The test prints each disagreement
//! and the agreement figure, and fails below 90% exact agreement, or when a snippet leaves
//! a function without an expected answer.

use std::path::{Path, PathBuf};

use peercode_analysis::{Language, analyze};

const THRESHOLD: f64 = 0.90;

struct Expectation {
    name: String,
    complexity: String,
}

fn expectations(src: &str) -> Vec<Expectation> {
    src.lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l
                .strip_prefix("# expect:")
                .or_else(|| l.strip_prefix("// expect:"))?;
            let rest = rest.trim();
            let (name, complexity) = rest.split_once(' ')?;
            Some(Expectation {
                name: name.to_string(),
                complexity: complexity.trim().to_string(),
            })
        })
        .collect()
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
    let mut problems = Vec::new();
    let mut snippets = 0usize;
    for path in &files {
        let lang = Language::from_path(path).unwrap_or_else(|e| panic!("{e}"));
        let src =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let expected = expectations(&src);
        let short = path
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(path)
            .display()
            .to_string();
        assert!(!expected.is_empty(), "{short}: no `expect:` lines");
        snippets += 1;
        let report = analyze(&src, lang);
        assert!(
            report.parse_errors.is_empty(),
            "{short}: the snippet does not parse: {:?}",
            report.parse_errors
        );
        for f in &report.functions {
            assert!(
                expected.iter().any(|e| e.name == f.name),
                "{short}: function `{}` has no expected answer",
                f.name
            );
        }
        for e in &expected {
            total += 1;
            let got = if e.name == "<module>" {
                Some(&report.top_level)
            } else {
                report.function(&e.name)
            };
            match got {
                Some(f) if f.complexity == e.complexity => agree += 1,
                Some(f) => problems.push(format!(
                    "{short}: {}: expected {}, got {}{}",
                    e.name,
                    e.complexity,
                    f.complexity,
                    f.unknown_reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                )),
                None => problems.push(format!("{short}: no function named `{}`", e.name)),
            }
        }
    }
    for p in &problems {
        println!("disagree: {p}");
    }
    let ratio = agree as f64 / total.max(1) as f64;
    println!(
        "complexity corpus: {agree}/{total} functions agree ({:.1}%) over {snippets} snippets",
        ratio * 100.0
    );
    assert!(
        snippets >= 80,
        "the corpus needs at least 80 snippets, has {snippets}"
    );
    assert!(
        ratio >= THRESHOLD,
        "agreement {:.1}% is below {:.0}%",
        ratio * 100.0,
        THRESHOLD * 100.0
    );
}
