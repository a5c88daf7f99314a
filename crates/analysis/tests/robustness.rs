//! The analyser must never panic: code in a room is often half-typed, and anyone can send
//! anything to the endpoint. Every prefix of every corpus snippet, garbage, and absurdly
//! deep nesting must still give a report.

use std::path::Path;

use peercode_analysis::{Language, analyze};

fn corpus() -> Vec<(String, Language)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut out = Vec::new();
    for (dir, lang) in [
        ("python", Language::Python),
        ("javascript", Language::JavaScript),
    ] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .expect("corpus folder")
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for f in files {
            out.push((std::fs::read_to_string(&f).expect("read snippet"), lang));
        }
    }
    out
}

#[test]
fn every_prefix_of_the_corpus_gets_a_report() {
    for (src, lang) in corpus() {
        let cut_points: Vec<usize> = (0..src.len())
            .step_by(11)
            .filter(|i| src.is_char_boundary(*i))
            .collect();
        for i in cut_points {
            let r = analyze(&src[..i], lang);
            assert!(r.top_level.line_end >= 1);
        }
    }
}

#[test]
fn garbage_and_the_wrong_language() {
    let inputs = [
        "",
        "\0\0\0",
        "}}}{{{)))(((",
        "def def def class ::: ->",
        "function (((( => => => {",
        "for for for in in in while",
        "ÿþ\u{1F600} 漢字 \r\n\r\n\t",
        "x = [i for i in range(n) for j in range(i) if",
    ];
    for src in inputs {
        for lang in [Language::Python, Language::JavaScript] {
            let _ = analyze(src, lang);
        }
    }
    // Each corpus snippet read as the other language.
    for (src, lang) in corpus() {
        let other = match lang {
            Language::Python => Language::JavaScript,
            Language::JavaScript => Language::Python,
        };
        let _ = analyze(&src, other);
    }
}

#[test]
fn absurd_nesting_does_not_overflow_the_stack() {
    // Run on a thread with the default 2 MiB stack, as the server's blocking pool does.
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let deep_parens = format!("x = {}1{}\n", "(".repeat(20_000), ")".repeat(20_000));
            let _ = analyze(&deep_parens, Language::Python);
            let deep_js = format!("const x = {}1{};\n", "[".repeat(20_000), "]".repeat(20_000));
            let _ = analyze(&deep_js, Language::JavaScript);
            let mut nested = String::new();
            for i in 0..300 {
                nested.push_str(&" ".repeat(i));
                nested.push_str(&format!("for i{i} in range(n):\n"));
            }
            nested.push_str(&" ".repeat(300));
            nested.push_str("pass\n");
            let r = analyze(&nested, Language::Python);
            assert!(!r.top_level.complexity.is_empty());
            let blocks = format!(
                "function f(n) {{ {} }}",
                "if (n) { ".repeat(5_000) + &"}".repeat(5_000)
            );
            let _ = analyze(&blocks, Language::JavaScript);
            // Each function calls the next one, defined later, from deep inside loops: the
            // analysis follows calls depth-first.
            let mut chain = String::new();
            for i in 0..200 {
                chain.push_str(&format!("def g{i}(xs):\n"));
                for d in 0..10 {
                    chain.push_str(&format!("{}for x{d} in xs:\n", "    ".repeat(d + 1)));
                }
                chain.push_str(&format!("{}g{}(xs)\n", "    ".repeat(11), i + 1));
            }
            chain.push_str("def g200(xs):\n    return xs\n");
            let r = analyze(&chain, Language::Python);
            assert_eq!(r.functions.len(), 201);
        })
        .expect("spawn");
    assert!(
        handle.join().is_ok(),
        "the analyser overflowed a 2 MiB stack or panicked"
    );
}

#[test]
fn language_names_and_paths() {
    assert_eq!(Language::from_name("py"), Ok(Language::Python));
    assert_eq!(Language::from_name("JavaScript"), Ok(Language::JavaScript));
    assert_eq!(Language::from_name("js"), Ok(Language::JavaScript));
    assert!(Language::from_name("cobol").is_err());
    assert_eq!(
        Language::from_path(Path::new("a/b.py")),
        Ok(Language::Python)
    );
    assert_eq!(
        Language::from_path(Path::new("x.mjs")),
        Ok(Language::JavaScript)
    );
    assert!(Language::from_path(Path::new("x.rs")).is_err());
}

#[test]
fn report_serializes_to_the_documented_shape() {
    let src = "def two_sum(nums, target):\n    seen = {}\n    for i, x in enumerate(nums):\n        if target - x in seen:\n            return [seen[target - x], i]\n        seen[x] = i\n";
    let r = analyze(src, Language::Python);
    let v = serde_json::to_value(&r).expect("serialize");
    assert_eq!(v["language"], "python");
    let f = &v["functions"][0];
    assert_eq!(f["name"], "two_sum");
    assert_eq!(f["line_start"], 1);
    assert_eq!(f["line_end"], 6);
    assert_eq!(f["complexity"], "O(n)");
    assert!(f["unknown_reason"].is_null());
    assert_eq!(f["max_loop_depth"], 1);
    assert_eq!(f["reasons"][0]["line_start"], 3);
    assert_eq!(f["reasons"][0]["line_end"], 6);
    assert_eq!(f["reasons"][0]["text"], "loop over `enumerate(nums)`: O(n)");
    assert_eq!(v["top_level"]["name"], "<module>");
    assert_eq!(v["top_level"]["complexity"], "O(1)");
    assert!(v["parse_errors"].as_array().is_some_and(|a| a.is_empty()));
}

#[test]
fn unknown_comes_with_a_reason() {
    let r = analyze(
        "def f(n):\n    while n != 1:\n        n = 3 * n + 1 if n % 2 else n // 2\n",
        Language::Python,
    );
    let f = r.function("f").expect("f");
    assert_eq!(f.complexity, "unknown");
    assert!(
        f.unknown_reason
            .as_deref()
            .is_some_and(|w| w.contains("line 2")),
        "{f:?}"
    );
}

#[test]
fn syntax_errors_are_reported_with_lines() {
    let r = analyze(
        "def f(xs):\n    for x in xs:\n        print(x\n\ndef g(ys):\n    return sorted(ys)\n",
        Language::Python,
    );
    assert!(!r.parse_errors.is_empty());
    assert!(r.parse_errors.iter().all(|e| e.line_start >= 1));
}

#[test]
fn pathological_costs_stay_bounded() {
    // Sums of many sizes raised through chains of calls and nested comprehensions.
    let mut src = String::from(
        "def f0(a, b, c, d, e, g, h):\n    return [x for x in a for y in b for z in c for w in d for v in e for u in g for t in h]\n",
    );
    for i in 1..40 {
        src.push_str(&format!(
            "def f{i}(a, b, c, d, e, g, h):\n    xs = f{}(a + b + c, b + c + d, c + d + e, d + e + g, e + g + h, g + h + a, h + a + b)\n    for x in xs:\n        for y in xs:\n            f{}(xs, xs, xs, xs, xs, xs, xs)\n    return xs\n",
            i - 1,
            i - 1
        ));
    }
    let start = std::time::Instant::now();
    let r = analyze(&src, Language::Python);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(r.functions.len(), 40);
}
