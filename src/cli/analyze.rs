//! `peercode analyze` (being built; see the open issue).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {}

pub fn main(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`peercode analyze` is not built yet")
}
