//! Benchmark: how long `analyze` takes on a 300-line file (the budget is 20 ms).
//!
//! `cargo run --release -p peercode-analysis --example bench`
//!
//! The files are built from the labelled corpus, snippet after snippet, until they are 300
//! lines long: realistic interview code with loops, recursion and helper calls.

use std::path::Path;
use std::time::{Duration, Instant};

use peercode_analysis::{Language, analyze};

const LINES: usize = 300;
const RUNS: usize = 200;

fn build(dir: &Path, ext: &str) -> String {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().and_then(|e| e.to_str()) == Some(ext));
    files.sort();
    let mut out = String::new();
    let mut lines = 0;
    'fill: loop {
        for f in &files {
            let Ok(text) = std::fs::read_to_string(f) else {
                continue;
            };
            for line in text.lines() {
                out.push_str(line);
                out.push('\n');
                lines += 1;
                if lines >= LINES {
                    break 'fill;
                }
            }
            out.push('\n');
            lines += 1;
        }
        if files.is_empty() {
            break;
        }
    }
    out
}

fn measure(name: &str, src: &str, lang: Language) {
    let lines = src.lines().count();
    // Warm up once (first-use costs of the parser).
    let report = analyze(src, lang);
    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        let r = analyze(src, lang);
        times.push(t.elapsed());
        std::hint::black_box(r);
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name}: {lines} lines, {} functions, {RUNS} runs: median {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        report.functions.len(),
        ms(times[RUNS / 2]),
        ms(times[RUNS * 95 / 100]),
        ms(times[RUNS - 1]),
    );
}

/// A harder shape: 60 functions, each calling the previous one inside a loop, so every
/// call site substitutes a cost that keeps growing.
fn chain() -> String {
    let mut out = String::from("def f0(xs):\n    return len(xs)\n\n");
    let mut i = 1;
    while out.lines().count() < LINES {
        out.push_str(&format!(
            "def f{i}(xs, k):\n    for x in xs:\n        f{}(xs, k)\n    return sorted(xs)[:k]\n\n",
            i - 1
        ));
        i += 1;
    }
    out
}

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let py = build(&corpus.join("python"), "py");
    let js = build(&corpus.join("javascript"), "js");
    measure("python", &py, Language::Python);
    measure("javascript", &js, Language::JavaScript);
    measure("python call chain", &chain(), Language::Python);
    // The fixed cost: parser set-up and the analysis thread.
    measure("empty file", "", Language::Python);
}
