//! `peercode doctor` (being built; see the open issue).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {}

pub fn main(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`peercode doctor` is not built yet")
}
