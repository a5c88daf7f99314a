//! `peercode analyze FILE [--json]`: the static complexity report of one file (SPEC F5).
//! The language comes from `--lang` or the file's extension.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use peercode_analysis::{FunctionReport, Language, Report, analyze};

#[derive(clap::Args)]
pub struct Args {
    /// The Python or JavaScript file to analyse.
    file: PathBuf,
    /// `python` or `javascript`; by default taken from the file's extension.
    #[arg(long)]
    lang: Option<String>,
    /// Print the report as one JSON object (the shape `POST /api/analyze` returns).
    #[arg(long)]
    json: bool,
}

pub fn main(args: Args) -> anyhow::Result<ExitCode> {
    let language = match &args.lang {
        Some(name) => Language::from_name(name)?,
        None => Language::from_path(&args.file)?,
    };
    let source = std::fs::read_to_string(&args.file)
        .with_context(|| format!("while reading {}", args.file.display()))?;
    let report = analyze(&source, language);
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report).context("while writing the JSON report")?;
        writeln!(out).context("while writing the JSON report")?;
    } else {
        write_human(&mut out, &report).context("while writing the report")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn write_human(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    for e in &report.parse_errors {
        writeln!(
            out,
            "line {}: {} (analysed what could be parsed)",
            e.line_start, e.text
        )?;
    }
    for f in report
        .functions
        .iter()
        .chain(std::iter::once(&report.top_level))
    {
        write_function(out, f)?;
    }
    Ok(())
}

fn write_function(out: &mut impl Write, f: &FunctionReport) -> std::io::Result<()> {
    writeln!(
        out,
        "{} (lines {}-{}): {}, loop depth {}",
        f.name, f.line_start, f.line_end, f.complexity, f.max_loop_depth
    )?;
    if let Some(why) = &f.unknown_reason {
        writeln!(out, "  unknown: {why}")?;
    }
    for r in &f.reasons {
        if r.line_start == r.line_end {
            writeln!(out, "  line {}: {}", r.line_start, r.text)?;
        } else {
            writeln!(out, "  lines {}-{}: {}", r.line_start, r.line_end, r.text)?;
        }
    }
    for v in &f.variables {
        writeln!(out, "  {} = {}", v.name, v.meaning)?;
    }
    Ok(())
}
