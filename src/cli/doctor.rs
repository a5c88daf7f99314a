//! `peercode doctor`: which sandbox protections and language toolchains this host has
//! (SPEC §2). Each protection is checked from inside a real sandboxed run.
//!
//! Exit status: 0 when every protection holds and every language whose toolchain is
//! installed works; 1 otherwise.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use peercode_sandbox::{Check, HostLimit, Sandbox, SandboxConfig};

#[derive(clap::Args)]
pub struct Args {
    /// A TOML language table that adds to or overrides the built-in one.
    #[arg(long, env = "PEERCODE_LANGUAGES")]
    pub languages: Option<PathBuf>,
    /// Programs run as uid/gid from this one up (one per concurrent run); must be unused
    /// on the host.
    #[arg(long, env = "PEERCODE_SANDBOX_UID_BASE", default_value_t = 2_000_000)]
    pub sandbox_uid_base: u32,
    /// Print one JSON object with the protections and languages.
    #[arg(long)]
    pub json: bool,
}

pub fn main(args: Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("while starting the async runtime")?;
    runtime.block_on(doctor(args))
}

async fn doctor(args: Args) -> anyhow::Result<ExitCode> {
    let languages = super::run::language_table(args.languages.as_ref())?;
    let sandbox = match Sandbox::new(SandboxConfig {
        languages,
        uid_base: args.sandbox_uid_base,
        concurrency: 2,
        // It runs its probes and exits: nothing to make ahead for a next run.
        init_ahead: None,
        ..SandboxConfig::default()
    }) {
        Ok(s) => s,
        Err(e) => {
            println!("sandbox: NOT AVAILABLE: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let protections = sandbox.check_protections().await;
    let langs = sandbox.check_languages().await;
    let host_limits = sandbox.host().limits();
    // A language whose toolchain is not installed is reported, not a failure.
    let all_ok = protections.iter().chain(&langs).all(|c| c.ok || c.absent);
    if args.json {
        let report = serde_json::json!({
            "ok": all_ok,
            "cgroup": sandbox.host().cgroups.version(),
            "notes": sandbox.host().cgroups.notes,
            "missing": sandbox.host().missing,
            "protections": protections,
            "languages": langs,
            "host_limits": host_limits,
        });
        println!("{report:#}");
    } else {
        println!("Sandbox protections");
        print_checks(&protections);
        for note in &sandbox.host().cgroups.notes {
            println!("  · {note}");
        }
        println!("\nLanguages");
        print_checks(&langs);
        println!("\nHost-wide kernel limits a run could touch");
        print_limits(&host_limits);
        if !sandbox.host().missing.is_empty() {
            println!("\nMissing on this host:");
            for m in &sandbox.host().missing {
                println!("  - {m}");
            }
        }
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_checks(checks: &[Check]) {
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for c in checks {
        let mark = match (c.ok, c.absent) {
            (true, _) => "ok",
            (false, true) => "absent",
            (false, false) => "MISSING",
        };
        println!("  {:width$}  {mark:7}  {}", c.name, c.detail);
    }
}

fn print_limits(limits: &[HostLimit]) {
    for l in limits {
        let mark = if l.isolated { "isolated" } else { "SHARED" };
        println!("  {mark:8}  {}: {}", l.name, l.value);
        println!("            {}", l.how);
    }
}
