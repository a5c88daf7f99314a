//! `peercode worker`: a sandbox worker that takes run jobs from the Redis queue of servers
//! started with `--runner queue`, runs them in this host's sandbox and streams their
//! output back. Stops taking jobs on SIGINT/SIGTERM and lets running ones finish (within
//! `--grace-ms`, then stops them).

use std::process::ExitCode;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

#[derive(clap::Args)]
pub struct Args {
    /// The Redis the servers queue runs in: `redis://[:password@]host:6379[/db]`.
    #[arg(long, env = "PEERCODE_REDIS_URL", hide_env_values = true)]
    pub redis_url: String,
    /// Runs executing at once (default: one per CPU this process may use).
    #[arg(long, env = "PEERCODE_WORKER_CONCURRENCY")]
    pub concurrency: Option<usize>,
    /// On SIGINT/SIGTERM, how long running jobs may take to finish before they are
    /// stopped, in milliseconds.
    #[arg(long, env = "PEERCODE_WORKER_GRACE_MS", default_value_t = 15_000)]
    pub grace_ms: u64,
    /// How long a run's output stream stays in Redis after the run, in seconds.
    #[arg(long, env = "PEERCODE_QUEUE_TTL_SECS", default_value_t = 600)]
    pub queue_ttl_secs: u64,
}

pub fn main(args: Args) -> anyhow::Result<ExitCode> {
    peercode_server::init_tracing();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let concurrency = args.concurrency.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1)
    });
    let options = peercode_server::worker::WorkerOptions {
        redis_url: args.redis_url,
        concurrency,
        grace: Duration::from_millis(args.grace_ms),
        ttl_secs: args.queue_ttl_secs,
    };
    runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        tokio::spawn(peercode_server::shutdown_on_signal(shutdown.clone()));
        peercode_server::worker::run(options, shutdown).await
    })?;
    Ok(ExitCode::SUCCESS)
}
