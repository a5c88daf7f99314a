//! `peercode serve`: start the server with the configuration from flags and environment.

use std::process::ExitCode;

pub use peercode_server::Config as Args;

pub fn main(config: Args) -> anyhow::Result<ExitCode> {
    peercode_server::init_tracing();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(peercode_server::serve(config))?;
    Ok(ExitCode::SUCCESS)
}
