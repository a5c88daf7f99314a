//! The sandbox's everyday behaviour: each language runs, output streams while the
//! program runs, stdin works, compile errors and runtime errors are told apart,
//! usage is reported.

mod common;

use peercode_sandbox::{Limits, RunRequest, Stream, Verdict};

const UID_BASE: u32 = 2_200_000;

#[tokio::test]
async fn every_builtin_language_says_hello() {
    let sb = common::sandbox(UID_BASE, 2);
    let cases = [
        (
            "python",
            "import sys\nprint('hello', sys.version_info[0])\n",
            "hello 3\n",
        ),
        ("javascript", "console.log('hello', 1 + 2)\n", "hello 3\n"),
        (
            "c",
            "#include <stdio.h>\n#include <math.h>\nint main(void){printf(\"hello %d\\n\", (int)sqrt(9.0));return 0;}\n",
            "hello 3\n",
        ),
        (
            "cpp",
            "#include <iostream>\n#include <vector>\nint main(){std::vector<int> v{1,2};std::cout<<\"hello \"<<v.size()+1<<std::endl;}\n",
            "hello 3\n",
        ),
    ];
    for (lang, src, want) in cases {
        let out = common::run(&sb, common::req(lang, src)).await;
        assert_eq!(out.verdict, Verdict::Ok, "{lang}: {out:?}");
        assert_eq!(out.stdout, want, "{lang}: {out:?}");
        assert_eq!(out.exit_code, Some(0));
        assert!(out.memory_kb > 0, "{lang}: no peak memory: {out:?}");
        assert!(out.wall_ms < 10_000);
    }
}

#[tokio::test]
async fn stdin_reaches_the_program() {
    let sb = common::sandbox(UID_BASE + 10, 1);
    let out = common::run(
        &sb,
        RunRequest {
            stdin: b"3 4\n".to_vec(),
            ..common::req("python", "a, b = map(int, input().split())\nprint(a * b)")
        },
    )
    .await;
    assert_eq!(out.verdict, Verdict::Ok, "{out:?}");
    assert_eq!(out.stdout, "12\n");
}

#[tokio::test]
async fn compile_errors_carry_the_compilers_output() {
    let sb = common::sandbox(UID_BASE + 20, 1);
    let out = common::run(&sb, common::req("c", "int main(void) { return nope; }\n")).await;
    assert_eq!(out.verdict, Verdict::CompileError, "{out:?}");
    let compiler = out.compile_output.unwrap_or_default();
    assert!(compiler.contains("nope"), "compiler output: {compiler}");
    assert!(compiler.contains("error"), "compiler output: {compiler}");
    assert!(out.stdout.is_empty());
}

#[tokio::test]
async fn runtime_errors_report_exit_code_signal_and_stderr() {
    let sb = common::sandbox(UID_BASE + 30, 2);
    let out = common::run(
        &sb,
        common::req("python", "import sys\nprint('x')\nsys.exit(3)"),
    )
    .await;
    assert_eq!(out.verdict, Verdict::RuntimeError, "{out:?}");
    assert_eq!(out.exit_code, Some(3));
    assert_eq!(out.stdout, "x\n");

    let out = common::run(&sb, common::req("python", "raise ValueError('boom')")).await;
    assert_eq!(out.verdict, Verdict::RuntimeError);
    assert!(out.stderr.contains("ValueError: boom"), "{out:?}");

    let out = common::run(
        &sb,
        common::req("c", "int main(void){ volatile int *p = 0; return *p; }"),
    )
    .await;
    assert_eq!(out.verdict, Verdict::RuntimeError, "{out:?}");
    assert_eq!(out.signal, Some(libc_sigsegv()));
    assert_eq!(out.exit_code, None);
}

fn libc_sigsegv() -> i32 {
    11
}

#[tokio::test]
async fn output_streams_while_the_program_runs() {
    let sb = common::sandbox(UID_BASE + 40, 1);
    let src = "import sys, time\nprint('first')\ntime.sleep(0.5)\nprint('oops', file=sys.stderr)\nprint('second')\n";
    let mut handle = sb.run(common::req("python", src)).expect("accepted");
    let mut chunks = Vec::new();
    while let Some(c) = handle.next_chunk().await {
        chunks.push(c);
    }
    let out = handle.outcome().await.expect("outcome");
    assert_eq!(out.verdict, Verdict::Ok);
    let first = chunks
        .iter()
        .find(|c| c.stream == Stream::Stdout && c.data.starts_with(b"first"))
        .expect("first chunk");
    let second = chunks
        .iter()
        .find(|c| c.stream == Stream::Stdout && c.data.starts_with(b"second"))
        .expect("second chunk");
    assert!(second.at > first.at, "chunks arrive as written: {chunks:?}");
    assert!(
        chunks
            .iter()
            .any(|c| c.stream == Stream::Stderr && c.data.starts_with(b"oops"))
    );
    assert_eq!(out.stdout, "first\nsecond\n");
    assert_eq!(out.stderr, "oops\n");
}

#[tokio::test]
async fn usage_is_measured() {
    let sb = common::sandbox(UID_BASE + 50, 1);
    // ~40 MiB touched, some CPU.
    let src = "b = bytearray(40 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\nx = sum(range(3_000_000))\nprint('done')";
    let out = common::run(&sb, common::req("python", src)).await;
    assert_eq!(out.verdict, Verdict::Ok, "{out:?}");
    assert!(
        out.memory_kb > 40 * 1024,
        "peak memory {} KiB",
        out.memory_kb
    );
    assert!(out.memory_kb < 128 * 1024);
    assert!(out.cpu_ms > 0, "{out:?}");
}

#[tokio::test]
async fn limits_above_the_maximum_are_refused() {
    let sb = common::sandbox(UID_BASE + 60, 1);
    let err = sb
        .run(common::req_limits(
            "python",
            "print(1)",
            Limits {
                memory_mb: 1 << 20,
                ..Limits::default()
            },
        ))
        .err()
        .expect("refused");
    assert!(err.to_string().contains("memory_mb"), "{err}");
    assert!(sb.run(common::req("cobol", "")).is_err());
    let huge = "#".repeat(5 << 20);
    let err = sb.run(common::req("python", &huge)).err().expect("refused");
    assert!(err.to_string().contains("at most"), "{err}");
}

#[tokio::test]
async fn language_table_override_runs_pyenv_python() {
    // The machine's pyenv Python lives outside /usr: the table entry must mount it.
    let prefix = std::path::Path::new("/root/.pyenv/versions/3.11.7");
    if !prefix.exists() {
        eprintln!("skipped: no pyenv Python 3.11.7 on this host");
        return;
    }
    let table = peercode_sandbox::LanguageTable::builtin()
        .with_overrides(
            r#"
            [python]
            source = "main.py"
            run = ["/root/.pyenv/versions/3.11.7/bin/python3.11", "main.py"]
            mounts = ["/root/.pyenv/versions/3.11.7"]
            "#,
            std::path::Path::new("test"),
        )
        .expect("valid table");
    let sb = peercode_sandbox::Sandbox::new(peercode_sandbox::SandboxConfig {
        languages: table,
        uid_base: UID_BASE + 70,
        concurrency: 1,
        ..peercode_sandbox::SandboxConfig::default()
    })
    .expect("sandbox");
    let out = common::run(
        &sb,
        common::req(
            "python",
            "import sys, os\nprint(sys.prefix)\nprint(os.listdir('/root'))",
        ),
    )
    .await;
    assert_eq!(out.verdict, Verdict::Ok, "{out:?}");
    assert_eq!(out.stdout, "/root/.pyenv/versions/3.11.7\n['.pyenv']\n");
}

#[tokio::test]
async fn output_is_cut_at_the_limit() {
    let sb = common::sandbox(UID_BASE + 80, 1);
    let out = common::run(
        &sb,
        common::req_limits(
            "python",
            "import sys\nsys.stderr.write('e' * 10)\nwhile True: print('x' * 99)",
            Limits {
                output_bytes: 1000,
                ..Limits::default()
            },
        ),
    )
    .await;
    assert_eq!(out.verdict, Verdict::OutputLimit, "{out:?}");
    assert_eq!(out.stdout.len(), 1000);
    assert!(out.stdout.starts_with(&"x".repeat(99)));
    assert_eq!(out.stderr, "e".repeat(10));
    assert!(out.truncated);
    assert_eq!(out.signal, Some(9));
}

#[tokio::test]
async fn wall_and_cpu_time_limits_tell_what_happened() {
    let sb = common::sandbox(UID_BASE + 90, 2);
    let limits = Limits {
        cpu_time_ms: 300,
        wall_time_ms: 600,
        ..Limits::default()
    };
    let sleep = common::run(
        &sb,
        common::req_limits("python", "import time\ntime.sleep(30)", limits),
    );
    let spin_limits = Limits {
        wall_time_ms: 5_000,
        ..limits
    };
    let spin = common::run(
        &sb,
        common::req_limits("c", "int main(void){for(;;);}", spin_limits),
    );
    let (sleep, spin) = tokio::join!(sleep, spin);
    assert_eq!(sleep.verdict, Verdict::TimeLimit, "{sleep:?}");
    assert!(
        sleep
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("wall"),
        "{sleep:?}"
    );
    assert!(sleep.wall_ms >= 600, "{sleep:?}");
    assert_eq!(spin.verdict, Verdict::TimeLimit, "{spin:?}");
    assert!(spin.cpu_ms >= 300, "{spin:?}");
    assert!(
        spin.message.as_deref().unwrap_or_default().contains("CPU"),
        "{spin:?}"
    );
}

#[tokio::test]
async fn c_output_streams_line_by_line() {
    let sb = common::sandbox(UID_BASE + 100, 1);
    let src = "#include <stdio.h>\n#include <unistd.h>\nint main(void){puts(\"first\");usleep(300000);puts(\"second\");return 0;}\n";
    let mut handle = sb.run(common::req("c", src)).expect("accepted");
    let mut chunks = Vec::new();
    while let Some(c) = handle.next_chunk().await {
        chunks.push(c);
    }
    let out = handle.outcome().await.expect("outcome");
    assert_eq!(out.stdout, "first\nsecond\n");
    let stdout: Vec<_> = chunks
        .iter()
        .filter(|c| c.stream == Stream::Stdout)
        .collect();
    assert_eq!(stdout.len(), 2, "one chunk per line as printed: {chunks:?}");
    assert!(stdout[1].at >= stdout[0].at + std::time::Duration::from_millis(250));
}

/// A run can carry a room's other files: written next to the source, in
/// subdirectories too, owned by the program; unsafe or ambiguous paths are refused
/// before anything runs.
#[tokio::test]
async fn extra_files_are_written_next_to_the_source_and_bad_paths_are_refused() {
    let sb = common::sandbox(UID_BASE + 110, 1);
    let main = "import os\nfrom lib.helper import twice\n\
                print(twice(int(open('data/n.txt').read())))\n\
                open('lib/new.txt', 'w').write('ok')\nprint(sorted(os.listdir('.')))\n";
    let out = common::run(
        &sb,
        RunRequest {
            files: vec![
                ("lib/__init__.py".into(), Vec::new()),
                (
                    "lib/helper.py".into(),
                    b"def twice(x):\n    return 2 * x\n".to_vec(),
                ),
                ("data/n.txt".into(), b"21".to_vec()),
            ],
            ..common::req("python", main)
        },
    )
    .await;
    assert_eq!(out.verdict, Verdict::Ok, "{out:?}");
    assert_eq!(out.stdout, "42\n['data', 'lib', 'main.py']\n");

    let refused = |files: Vec<(&str, &[u8])>| {
        let request = RunRequest {
            files: files
                .into_iter()
                .map(|(p, d)| (p.to_owned(), d.to_vec()))
                .collect(),
            ..common::req("python", "print(1)")
        };
        match sb.run(request) {
            Err(e) => e.to_string(),
            Ok(_) => "accepted".to_owned(),
        }
    };
    for (path, why) in [
        ("../escape.py", "component"),
        ("a/../../b", "component"),
        ("/etc/passwd", "relative"),
        ("", "1 to 1024"),
        ("a//b", "component"),
        ("./a", "component"),
        ("main.py", "the program's source"),
    ] {
        let e = refused(vec![(path, b"x")]);
        assert!(e.contains(why), "`{path}`: {e}");
    }
    let e = refused(vec![("a", b"x"), ("a/b", b"y")]);
    assert!(e.contains("to be a directory"), "{e}");
    let e = refused(vec![("a", b"x"), ("a", b"y")]);
    assert!(e.contains("given twice"), "{e}");
    let many: Vec<(String, &[u8])> = (0..300).map(|i| (format!("f{i}"), &b""[..])).collect();
    let e = refused(many.iter().map(|(p, d)| (p.as_str(), *d)).collect());
    assert!(e.contains("at most 256"), "{e}");
    let big = vec![0u8; 5 << 20];
    let e = refused(vec![("big.bin", &big)]);
    assert!(e.contains("at most 4194304"), "{e}");
}
