//! `peercode run`: run one file in the sandbox, print its output live, then its verdict
//! and usage (SPEC §2).
//!
//! Exit status: 0 when the verdict is `ok`; 1 for any other verdict of the program
//! (`compile_error`, `runtime_error`, `time_limit`, `memory_limit`, `output_limit`);
//! 2 when the run could not be judged (`internal_error`, bad arguments, a host that
//! cannot sandbox).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use peercode_sandbox::{
    LanguageTable, Limits, RunOutcome, RunRequest, Sandbox, SandboxConfig, Stream, Verdict,
};

#[derive(clap::Args)]
pub struct Args {
    /// The program to run; its extension picks the language unless --lang is given.
    pub file: PathBuf,
    /// Language name or alias from the language table (python, javascript, c, cpp, …).
    #[arg(long)]
    pub lang: Option<String>,
    /// File whose contents are the program's standard input.
    #[arg(long)]
    pub stdin: Option<PathBuf>,
    /// Memory limit in MiB (default 128).
    #[arg(long)]
    pub memory: Option<u64>,
    /// CPU time limit in seconds (default 5); the wall-time limit is twice this.
    #[arg(long)]
    pub time: Option<f64>,
    /// Print one JSON object (verdict, exit_code, signal, stdout, stderr, cpu_ms,
    /// wall_ms, memory_kb) instead of live output and a summary.
    #[arg(long)]
    pub json: bool,
    /// A TOML language table that adds to or overrides the built-in one.
    #[arg(long, env = "PEERCODE_LANGUAGES")]
    pub languages: Option<PathBuf>,
    /// Programs run as uid/gid from this one up (one per concurrent run); must be unused
    /// on the host.
    #[arg(long, env = "PEERCODE_SANDBOX_UID_BASE", default_value_t = 2_000_000)]
    pub sandbox_uid_base: u32,
}

pub fn main(args: Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("while starting the async runtime")?;
    runtime.block_on(run(args))
}

pub(crate) fn language_table(path: Option<&PathBuf>) -> anyhow::Result<LanguageTable> {
    match path {
        Some(p) => LanguageTable::from_file(p)
            .with_context(|| format!("while reading the language table {}", p.display())),
        None => Ok(LanguageTable::builtin()),
    }
}

async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let languages = language_table(args.languages.as_ref())?;
    let language = match &args.lang {
        Some(l) => languages
            .get(l)
            .with_context(|| format!("unknown language `{l}`"))?,
        None => languages.for_path(&args.file).with_context(|| {
            format!(
                "cannot tell the language of {} from its extension; pass --lang",
                args.file.display()
            )
        })?,
    }
    .name
    .clone();
    let source = std::fs::read(&args.file)
        .with_context(|| format!("while reading {}", args.file.display()))?;
    let stdin = match &args.stdin {
        Some(p) => std::fs::read(p).with_context(|| format!("while reading {}", p.display()))?,
        None => piped_stdin()?,
    };
    let mut limits = Limits::default();
    if let Some(mb) = args.memory {
        limits.memory_mb = mb;
    }
    if let Some(secs) = args.time {
        if !(secs.is_finite() && secs > 0.0) {
            bail!("--time must be a positive number of seconds");
        }
        let ms = (secs * 1000.0).ceil() as u64;
        limits.cpu_time_ms = ms;
        limits.wall_time_ms = ms.saturating_mul(2);
    }
    let sandbox = Sandbox::new(SandboxConfig {
        uid_base: args.sandbox_uid_base,
        ..SandboxConfig::one_run(languages)
    })
    .context("while setting up the sandbox")?;
    for missing in &sandbox.host().missing {
        eprintln!("peercode: warning: {missing}");
    }

    let mut handle = sandbox
        .run(RunRequest {
            language,
            source,
            stdin,
            limits,
            ..RunRequest::default()
        })
        .context("while starting the run")?;

    if !args.json {
        // Live output: the program's stdout to ours, its stderr to ours.
        let mut out = std::io::stdout();
        let mut err = std::io::stderr();
        while let Some(chunk) = handle.next_chunk().await {
            let _ = match chunk.stream {
                Stream::Stdout => out.write_all(&chunk.data).and_then(|()| out.flush()),
                Stream::Stderr | Stream::Compile => {
                    err.write_all(&chunk.data).and_then(|()| err.flush())
                }
            };
        }
    }
    let outcome = handle
        .outcome()
        .await
        .context("while running the program")?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&outcome).context("while encoding the outcome")?
        );
    } else {
        eprintln!("{}", summary(&outcome));
    }
    Ok(match outcome.verdict {
        Verdict::Ok => ExitCode::SUCCESS,
        Verdict::InternalError => ExitCode::from(2),
        _ => ExitCode::from(1),
    })
}

fn summary(o: &RunOutcome) -> String {
    let mut s = format!("--- {}", o.verdict);
    if let Some(code) = o.exit_code {
        s.push_str(&format!(" · exit {code}"));
    }
    if let Some(sig) = o.signal {
        s.push_str(&format!(" · signal {sig}"));
    }
    if let Some(m) = &o.message {
        s.push_str(&format!(" · {m}"));
    }
    s.push_str(&format!(
        " · cpu {} ms · wall {} ms · memory {:.1} MiB",
        o.cpu_ms,
        o.wall_ms,
        o.memory_kb as f64 / 1024.0
    ));
    if o.truncated {
        s.push_str(" · output truncated");
    }
    s
}

/// Largest stdin read from a pipe or file when `--stdin` is absent.
const MAX_PIPED_STDIN: u64 = 64 << 20;

/// Our own stdin when it is a pipe or a file (`echo 5 | peercode run a.py`); nothing when
/// it is a terminal or `/dev/null`, so an interactive call never waits for input.
fn piped_stdin() -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = std::fs::metadata("/dev/stdin") else {
        return Ok(Vec::new());
    };
    let kind = meta.file_type();
    if !(kind.is_fifo() || kind.is_file() || kind.is_socket()) {
        return Ok(Vec::new());
    }
    let mut input = Vec::new();
    std::io::stdin()
        .take(MAX_PIPED_STDIN + 1)
        .read_to_end(&mut input)
        .context("while reading stdin")?;
    if input.len() as u64 > MAX_PIPED_STDIN {
        bail!("stdin is larger than {MAX_PIPED_STDIN} bytes; pass a file with --stdin");
    }
    Ok(input)
}
