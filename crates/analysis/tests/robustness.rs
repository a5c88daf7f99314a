//! The analyser must never panic: code in a room is often half-typed, and anyone can send
//! anything to the endpoint. Every prefix of every corpus snippet, garbage, and absurdly
//! deep nesting must still give a report, and the right one.
//!
//! `analyze()` catches a panic of its analysis thread and answers with a report that says
//! the analyser failed, so "it returned" proves nothing: each test checks that no report
//! carries that failure and that the answer is the expected one.

use std::path::Path;

use peercode_analysis::{FunctionReport, Language, Report, analyze};

/// What `analyze` says when its analysis thread panicked (pinned by a unit test in `lib.rs`).
const ANALYSER_FAILED: &str = "the analyser failed on this code";

fn corpus() -> Vec<(String, String, Language)> {
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
            .filter(|p| Language::from_path(p).is_ok())
            .collect();
        files.sort();
        for f in files {
            let name = format!(
                "{dir}/{}",
                f.file_name().unwrap_or_default().to_string_lossy()
            );
            out.push((
                name,
                std::fs::read_to_string(&f).expect("read snippet"),
                lang,
            ));
        }
    }
    out
}

/// Checks what every report must hold, whatever the input: the analyser did not fail, the
/// language is the one asked for, every line range lies within the file, and each function
/// is either `O(...)` or `unknown` with a reason.
fn check_report(what: &str, src: &str, lang: Language, r: &Report) {
    // As an editor counts them: after a final newline comes an empty last line.
    let lines = src.split('\n').count();
    assert_eq!(r.language, lang, "{what}: language");
    let all = r.functions.iter().chain(std::iter::once(&r.top_level));
    for f in all {
        assert_ne!(
            f.unknown_reason.as_deref(),
            Some(ANALYSER_FAILED),
            "{what}: the analyser failed (a panic was caught)"
        );
        check_function(what, lines, f);
    }
    assert_eq!(
        (r.top_level.line_start, r.top_level.line_end),
        (1, src.lines().count().max(1)),
        "{what}: the top level spans the file"
    );
    for e in &r.parse_errors {
        assert!(
            1 <= e.line_start && e.line_start <= e.line_end && e.line_end <= lines,
            "{what}: parse error outside the file: {e:?}"
        );
    }
}

fn check_function(what: &str, lines: usize, f: &FunctionReport) {
    let name = &f.name;
    assert!(
        1 <= f.line_start && f.line_start <= f.line_end && f.line_end <= lines,
        "{what}: `{name}` spans lines {}-{} of {lines}",
        f.line_start,
        f.line_end
    );
    match f.complexity.as_str() {
        "unknown" => assert!(
            f.unknown_reason.as_deref().is_some_and(|w| !w.is_empty()),
            "{what}: `{name}` is unknown without a reason"
        ),
        c => {
            assert!(
                c.starts_with("O(") && c.ends_with(')'),
                "{what}: `{name}` has complexity {c:?}"
            );
            assert_eq!(
                f.unknown_reason, None,
                "{what}: `{name}` is known yet has a reason"
            );
        }
    }
    for why in &f.reasons {
        assert!(
            1 <= why.line_start && why.line_start <= why.line_end && why.line_end <= lines,
            "{what}: `{name}` has a reason outside the file: {why:?}"
        );
    }
}

fn function<'r>(r: &'r Report, name: &str) -> &'r FunctionReport {
    r.function(name)
        .unwrap_or_else(|| panic!("no function `{name}` in {:?}", r.functions))
}

#[test]
fn every_prefix_of_the_corpus_gets_a_report() {
    let mut checked = 0;
    for (name, src, lang) in corpus() {
        let cut_points: Vec<usize> = (0..src.len())
            .step_by(11)
            .filter(|i| src.is_char_boundary(*i))
            .collect();
        for i in cut_points {
            let prefix = &src[..i];
            let r = analyze(prefix, lang);
            check_report(&format!("{name} cut at byte {i}"), prefix, lang, &r);
            checked += 1;
        }
    }
    assert!(checked > 3_000, "only {checked} prefixes checked");
}

#[test]
fn half_typed_code_gets_the_answer_of_what_is_there() {
    // `corpus/python/nested_doubling.py` as it is typed: the inner `while` has no body yet,
    // then a body that does not move `j`, then the doubling.
    let typing = "def count_pairs(n):\n    total = 0\n    for i in range(n):\n        j = 1\n        while j < n:\n";
    let stuck = Some("cannot tell how many times the `while` loop on line 5 runs");
    for (what, src) in [
        ("no body", typing.to_string()),
        (
            "a body that does not move j",
            format!("{typing}            total += 1\n"),
        ),
    ] {
        let r = analyze(&src, Language::Python);
        check_report(what, &src, Language::Python, &r);
        let f = function(&r, "count_pairs");
        assert_eq!(f.complexity, "unknown", "{what}");
        assert_eq!(f.unknown_reason.as_deref(), stuck, "{what}");
        assert_eq!(f.max_loop_depth, 2, "{what}");
    }
    let done = format!("{typing}            total += 1\n            j *= 2\n");
    let r = analyze(&done, Language::Python);
    check_report("doubling", &done, Language::Python, &r);
    assert!(r.parse_errors.is_empty(), "{:?}", r.parse_errors);
    assert_eq!(function(&r, "count_pairs").complexity, "O(n log n)");
}

#[test]
fn garbage_and_the_wrong_language() {
    // None of these defines a function; all but the empty file are syntax errors, and what
    // is left has no loop: constant.
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
            let what = format!("{src:?} as {}", lang.name());
            let r = analyze(src, lang);
            check_report(&what, src, lang, &r);
            assert!(r.functions.is_empty(), "{what}: {:?}", r.functions);
            assert_eq!(r.top_level.complexity, "O(1)", "{what}");
            assert_eq!(r.parse_errors.is_empty(), src.is_empty(), "{what}");
        }
    }
    // Each corpus snippet read as the other language: full of syntax errors.
    for (name, src, lang) in corpus() {
        let other = match lang {
            Language::Python => Language::JavaScript,
            Language::JavaScript => Language::Python,
        };
        let what = format!("{name} read as {}", other.name());
        let r = analyze(&src, other);
        check_report(&what, &src, other, &r);
        assert!(!r.parse_errors.is_empty(), "{what}: parsed without errors");
    }
}

#[test]
fn absurd_nesting_does_not_overflow_the_stack() {
    // Run on a thread with the default 2 MiB stack, as the server's blocking pool does.
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let deep_parens = format!("x = {}1{}\n", "(".repeat(20_000), ")".repeat(20_000));
            let r = analyze(&deep_parens, Language::Python);
            check_report("deep parentheses", &deep_parens, Language::Python, &r);
            assert_eq!(r.top_level.complexity, "O(1)");
            assert!(r.parse_errors.is_empty(), "{:?}", r.parse_errors);
            let deep_js = format!("const x = {}1{};\n", "[".repeat(20_000), "]".repeat(20_000));
            let r = analyze(&deep_js, Language::JavaScript);
            check_report("deep brackets", &deep_js, Language::JavaScript, &r);
            assert_eq!(r.top_level.complexity, "O(1)");
            assert!(r.parse_errors.is_empty(), "{:?}", r.parse_errors);
            let mut nested = String::new();
            for i in 0..300 {
                nested.push_str(&" ".repeat(i));
                nested.push_str(&format!("for i{i} in range(n):\n"));
            }
            nested.push_str(&" ".repeat(300));
            nested.push_str("pass\n");
            let r = analyze(&nested, Language::Python);
            check_report("300 nested loops", &nested, Language::Python, &r);
            // `n` is not defined at the top level: constant loops. The walk follows the
            // first 101 of them and leaves the deeper code out (the depth cap).
            assert_eq!(r.top_level.complexity, "O(1)");
            assert_eq!(r.top_level.max_loop_depth, 101);
            let blocks = format!(
                "function f(n) {{ {} }}",
                "if (n) { ".repeat(5_000) + &"}".repeat(5_000)
            );
            let r = analyze(&blocks, Language::JavaScript);
            check_report("5,000 nested ifs", &blocks, Language::JavaScript, &r);
            assert_eq!(function(&r, "f").complexity, "O(1)");
            // Each function calls the next one, defined later, from deep inside loops: the
            // analysis follows calls depth-first, up to a cap on the call depth.
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
            check_report("call chain", &chain, Language::Python, &r);
            assert_eq!(r.functions.len(), 201);
            assert_eq!(function(&r, "g200").complexity, "O(1)");
            assert_eq!(function(&r, "g199").complexity, "O(n^10)");
            assert_eq!(function(&r, "g187").complexity, "O(n^130)");
            let g186 = function(&r, "g186");
            assert_eq!(
                g186.unknown_reason.as_deref(),
                Some("calls nest too deeply to follow"),
                "{g186:?}"
            );
            let g0 = function(&r, "g0");
            assert_eq!(
                g0.unknown_reason.as_deref(),
                Some("calls `g1`, whose cost is unknown"),
                "{g0:?}"
            );
        })
        .expect("spawn");
    // A stack overflow aborts the whole test binary; a failed assertion fails here.
    if let Err(panic) = handle.join() {
        std::panic::resume_unwind(panic);
    }
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
    // The unclosed `print(` on line 3; what comes before it is still analysed.
    assert_eq!(r.parse_errors[0].line_start, 3, "{:?}", r.parse_errors);
    assert_eq!(function(&r, "f").complexity, "O(n)");
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
    check_report("pathological costs", &src, Language::Python, &r);
    assert_eq!(r.functions.len(), 40);
    assert_eq!(function(&r, "f0").complexity, "O(n·m·k·p·q·r·s)");
    assert!(
        function(&r, "f1")
            .complexity
            .starts_with("O(n^9·m^9·k·p·q^27·s^16 + ")
    );
    // Putting f1's cost into f2's call grows past the substitution budget: unknown, and
    // every caller after it says why.
    assert_eq!(
        function(&r, "f2").unknown_reason.as_deref(),
        Some("cannot put the arguments of `f1` into its cost")
    );
    for i in 3..40 {
        assert_eq!(
            function(&r, &format!("f{i}")).unknown_reason,
            Some(format!("calls `f{}`, whose cost is unknown", i - 1))
        );
    }
}
