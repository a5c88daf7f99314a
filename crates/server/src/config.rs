//! Server configuration: every flag also reads a `PEERCODE_*` environment variable.

use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "PEERCODE_LISTEN", default_value = "127.0.0.1:4000")]
    pub listen: String,
    /// Directory for the embedded database and local files.
    #[arg(long, env = "PEERCODE_DATA_DIR", default_value = "./peercode-data")]
    pub data_dir: PathBuf,
}
