//! The PeerCode server: configuration, the axum router and the serve loop.
//!
//! [`serve`] binds, builds the shared state ([`AppShared`]) and runs until SIGINT/SIGTERM,
//! then stops accepting, closes connections, flushes every pending commit and closes the
//! store. [`serve_on`] does the same on a given listener with a given shutdown token.

mod accounts;
mod analyze;
mod auth;
mod cluster;
mod config;
mod error;
mod listener;
mod manage;
mod metrics;
mod pool;
pub mod replay;
mod rooms;
mod runner;
mod runs;
mod web;
mod ws;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{any, delete, get, post, put};
use peercode_collab::Limits;
use peercode_store::{BlobStore, MoveSettings, Persister, SnapshotMover, Store};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::{Config, DurabilityFlag, RunnerKind};
pub use error::ApiError;
use metrics::Metrics;
use rooms::{RoomSettings, Rooms};
pub use runner::worker;

/// State shared by every request and connection. Room tasks do not see it: they get a
/// narrow [`rooms::RoomContext`].
pub struct AppShared {
    pub config: Config,
    metrics: Arc<Metrics>,
    rooms: Rooms,
    /// Where runs execute: the local sandbox or the queue to sandbox workers.
    runner: runner::Runner,
    /// The complexity analyser's pool.
    analyses: pool::BlockingPool,
    /// Replay's pool: rebuilding a moment, timelines, forks.
    replays: pool::BlockingPool,
    persister: Arc<Persister>,
    /// Password hashing and the rate limits of sign-ins and connections.
    auth: auth::Auth,
    /// With blob storage: the thread moving old keyframes there (stopped at close).
    mover: parking_lot::Mutex<Option<SnapshotMover>>,
    /// Rooms with an export to blob storage under way.
    exports: replay::exports::InFlight,
    next_conn_id: AtomicU64,
    /// Connection tasks, awaited briefly at shutdown so clients get a close frame.
    connections: TaskTracker,
    /// The server's one shutdown token, cancelled on SIGINT/SIGTERM.
    shutdown: CancellationToken,
    /// Sharing rooms with other instances (`--redis-url`).
    cluster: Option<Arc<cluster::Cluster>>,
}

impl AppShared {
    /// The whole server's state over `store`, without a socket: pass it to [`router`] and
    /// serve that, then call [`AppShared::close`] once `shutdown` is cancelled.
    pub fn new(config: Config, store: Arc<dyn Store>, shutdown: CancellationToken) -> Arc<Self> {
        Self::with_cluster(config, store, shutdown, None)
    }

    /// The same, for an instance that shares rooms with others through `cluster`.
    pub fn with_cluster(
        config: Config,
        store: Arc<dyn Store>,
        shutdown: CancellationToken,
        cluster: Option<Arc<cluster::Cluster>>,
    ) -> Arc<Self> {
        let metrics = Arc::new(Metrics::default());
        let mover = SnapshotMover::start(
            store.clone(),
            MoveSettings {
                keep: usize::try_from(config.blob_keep_snapshots).unwrap_or(usize::MAX),
                per_pass: 64,
                every: Duration::from_millis(config.blob_move_every_ms.max(1)),
            },
            metrics.blob_moves.clone(),
        )
        .unwrap_or_else(|error| {
            tracing::error!(%error, "could not start the keyframe mover; keyframes stay in the store");
            None
        });
        let persister = Arc::new(Persister::start(
            store,
            4096,
            Duration::from_micros(config.commit_window_us),
        ));
        let settings = RoomSettings {
            limits: Limits {
                max_document_bytes: config.max_document_bytes,
            },
            snapshot_every: config.snapshot_every,
            snapshot_every_bytes: config.snapshot_every_bytes,
            snapshot_every_time: Duration::from_millis(config.snapshot_every_ms),
            idle: config.room_idle(),
            max_guests: config.max_guests_per_room,
        };
        Arc::new(AppShared {
            runner: runner::Runner::from_config(&config),
            analyses: analyze::pool(),
            replays: replay::pool(),
            rooms: Rooms::new(
                persister.clone(),
                metrics.clone(),
                settings,
                shutdown.clone(),
                cluster.clone(),
            ),
            metrics,
            persister,
            auth: auth::Auth::new(&config),
            mover: parking_lot::Mutex::new(mover),
            exports: Default::default(),
            next_conn_id: AtomicU64::new(1),
            connections: TaskTracker::new(),
            shutdown,
            config,
            cluster,
        })
    }

    /// After shutdown: close connections (briefly waiting for their close frames), let
    /// every room flush, commit everything pending and close the store.
    pub async fn close(&self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.connections.close();
        let _ = tokio::time::timeout(Duration::from_secs(3), self.connections.wait()).await;
        self.rooms.wait_closed().await;
        let mover = self.mover.lock().take();
        if let Some(mover) = mover {
            // After the pass under way, before the store closes.
            let _ = tokio::task::spawn_blocking(move || mover.stop()).await;
        }
        let persister = self.persister.clone();
        let flushed = tokio::task::spawn_blocking(move || persister.shutdown())
            .await
            .context("while waiting for the commit thread")?
            .context("while flushing the store");
        // Every room has flushed: other instances may take them over at once.
        if let Some(cluster) = &self.cluster {
            cluster.leave().await;
        }
        flushed
    }
}

/// Install the global `tracing` subscriber (honours `RUST_LOG`, defaults to `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Serve until SIGINT/SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("while binding {}", config.listen))?;
    let shutdown = CancellationToken::new();
    tokio::spawn(shutdown_on_signal(shutdown.clone()));
    serve_on(listener, config, shutdown).await
}

/// Serve on `listener` until `shutdown` is cancelled, then drain and flush.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    config.check()?;
    // Opening blocks (files, connections, migrations): off the async threads.
    let blobs = match config.blob_url.clone() {
        Some(url) => Some(open_blobs(url).await?),
        None => None,
    };
    let (url, dir) = (config.database_url.clone(), config.data_dir.clone());
    let durability = config.durability.into();
    let store = tokio::task::spawn_blocking(move || {
        peercode_store::open_with_blobs(url.as_deref(), &dir, durability, blobs)
    })
    .await
    .context("while waiting for the store to open")?
    .with_context(|| match &config.database_url {
        Some(_) => "while opening the PostgreSQL store".to_string(),
        None => format!("while opening the store in {}", config.data_dir.display()),
    })?;
    let addr = listener.local_addr()?;
    let cluster = match (&config.redis_url, &config.database_url) {
        (Some(url), Some(_)) => Some(join_cluster(&config, url, addr).await?),
        (Some(_), None) => {
            // Without a shared database there is no shared history to serve rooms from.
            tracing::warn!(
                "--redis-url without --database-url: rooms are not shared with other \
                 instances (each has its own SQLite store); Redis serves the run queue only"
            );
            None
        }
        (None, _) => None,
    };
    let app = AppShared::with_cluster(config, store, shutdown.clone(), cluster.clone());
    if let Some(cluster) = cluster {
        let rooms = app.rooms.local();
        tokio::spawn(cluster.maintain(rooms, shutdown.clone()));
    }
    // One line on stdout so scripts and tests can find a port picked by `:0`.
    println!("peercode listening on http://{addr}");
    // Start the sandbox (or reach the run queue) now, in the background, so a host that
    // lacks a protection is reported at start-up (and the first run does not pay for it).
    let warm = app.clone();
    tokio::spawn(async move { warm.runner.warm_up().await });
    tracing::info!(%addr, data_dir = %app.config.data_dir.display(), "serving");
    let limits = listener::ListenLimits {
        header_read_timeout: Duration::from_millis(app.config.header_read_timeout_ms.max(1)),
        max_connections_per_ip: app.config.max_connections_per_ip.max(1),
    };
    listener::serve(
        listener,
        router(app.clone()),
        limits,
        shutdown.clone(),
        Duration::from_secs(3),
    )
    .await;
    app.close().await?;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Connect to the instances sharing rooms through Redis at `url`.
async fn join_cluster(
    config: &Config,
    url: &str,
    listening: std::net::SocketAddr,
) -> anyhow::Result<Arc<cluster::Cluster>> {
    let advertise = match &config.advertise_addr {
        Some(addr) => addr.clone(),
        None if listening.ip().is_unspecified() => anyhow::bail!(
            "listening on {listening}: give --advertise-addr HOST:PORT, the address other \
             instances reach this one at"
        ),
        None => listening.to_string(),
    };
    cluster::Cluster::connect(
        url,
        advertise,
        Duration::from_millis(config.room_lease_ms.max(300)),
        Duration::from_millis(config.instance_ttl_ms.max(300)),
    )
    .await
}

/// Open the blob storage of `--blob-url`, and say at start-up when it does not answer
/// (the server still starts: keyframes stay in the store until it does).
async fn open_blobs(url: String) -> anyhow::Result<Arc<BlobStore>> {
    let blobs = tokio::task::spawn_blocking(move || BlobStore::open(&url))
        .await
        .context("while waiting for blob storage to open")?
        .context("while opening blob storage (--blob-url)")?;
    let blobs = Arc::new(blobs);
    let probe = blobs.clone();
    match tokio::task::spawn_blocking(move || probe.check()).await {
        Ok(Ok(())) => tracing::info!(blobs = blobs.target(), "blob storage answers"),
        Ok(Err(error)) => {
            tracing::warn!(%error, "blob storage does not answer; keyframes stay in the store until it does")
        }
        Err(error) => tracing::warn!(%error, "checking blob storage"),
    }
    Ok(blobs)
}

/// The HTTP routes, without a socket (tests can drive it directly).
pub fn router(app: Arc<AppShared>) -> Router {
    let small = || DefaultBodyLimit::max(accounts::MAX_BODY_BYTES);
    Router::new()
        .route("/ws/{room}", get(ws::upgrade))
        .route("/api/auth/signup", post(accounts::signup).layer(small()))
        .route("/api/auth/login", post(accounts::login).layer(small()))
        .route("/api/auth/logout", post(accounts::logout).layer(small()))
        .route("/api/me", get(accounts::me))
        .route(
            "/api/tokens",
            post(accounts::create_token)
                .get(accounts::list_tokens)
                .layer(small()),
        )
        .route("/api/tokens/{id}", delete(accounts::delete_token))
        .route(
            "/api/rooms",
            post(manage::create).get(manage::mine).layer(small()),
        )
        .route("/api/rooms/{room}", delete(manage::delete))
        .route("/api/rooms/{room}/access", get(manage::room_access))
        .route("/api/rooms/{room}/people", get(manage::people))
        .route(
            "/api/rooms/{room}/invites",
            post(manage::create_invite)
                .get(manage::list_invites)
                .layer(small()),
        )
        .route(
            "/api/rooms/{room}/invites/{id}",
            delete(manage::delete_invite),
        )
        .route("/api/rooms/{room}/members", get(manage::members))
        .route(
            "/api/rooms/{room}/members/{username}",
            put(manage::set_member)
                .delete(manage::remove_member)
                .layer(small()),
        )
        .route(
            "/api/analyze",
            post(analyze::analyze).layer(DefaultBodyLimit::max(analyze::MAX_BODY_BYTES)),
        )
        .route("/api/rooms/{room}/runs", post(runs::start).get(runs::list))
        .route("/api/rooms/{room}/runs/{id}", get(runs::get))
        .route("/api/rooms/{room}/runs/{id}/stop", post(runs::stop))
        .route("/api/rooms/{room}/timeline", get(replay::timeline))
        .route("/api/rooms/{room}/state", get(replay::state))
        .route("/api/rooms/{room}/events", get(replay::events))
        .route(
            "/api/rooms/{room}/fork",
            post(replay::fork).layer(DefaultBodyLimit::max(4096)),
        )
        .route(
            "/api/rooms/{room}/recordings",
            post(replay::exports::create)
                .get(replay::exports::list)
                .layer(DefaultBodyLimit::max(4096)),
        )
        .route(
            "/api/rooms/{room}/recordings/{name}",
            get(replay::exports::download),
        )
        .route("/api/{*rest}", any(api_not_found))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(web::static_file)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            cluster::route_layer,
        ))
        .with_state(app)
}

/// A round trip to every backend the server uses: the store, Redis with `--redis-url`,
/// the run queue with `--runner queue`, blob storage with `--blob-url`. `ok` alone when the store is all there is, else `ok` and
/// a line per backend (`store: ok`, `redis: ok`, `blobs: ok`); 503 naming the first one
/// that does not answer within [`HEALTH_TIMEOUT`].
async fn healthz(State(app): State<Arc<AppShared>>) -> Result<String, ApiError> {
    let store = app.persister.store().clone();
    let blobs = store.blobs().cloned();
    let mut report = String::from("ok\n");
    let store_check = async move {
        tokio::task::spawn_blocking(move || store.check().map_err(|e| e.to_string()))
            .await
            .map_err(|e| e.to_string())?
    };
    health_check("store", "the store", store_check, &mut report).await?;
    if let Some(cluster) = &app.cluster {
        let redis = async { cluster.check().await.map_err(|e| e.to_string()) };
        health_check("redis", "Redis", redis, &mut report).await?;
    }
    match app.runner.health().await {
        Ok(None) => {}
        Ok(Some(line)) => report.push_str(&format!("queue: ok ({line})\n")),
        Err(why) => return Err(ApiError::Unavailable(why)),
    }
    if let Some(blobs) = blobs {
        let check = async move {
            tokio::task::spawn_blocking(move || blobs.check().map_err(|e| e.to_string()))
                .await
                .map_err(|e| e.to_string())?
        };
        health_check("blobs", "blob storage", check, &mut report).await?;
    }
    Ok(if report.lines().count() == 2 {
        "ok".into()
    } else {
        report
    })
}

/// One backend's round trip for `/healthz`: a line in `report`, or the 503.
async fn health_check(
    name: &str,
    what: &str,
    check: impl std::future::Future<Output = Result<(), String>>,
    report: &mut String,
) -> Result<(), ApiError> {
    match tokio::time::timeout(HEALTH_TIMEOUT, check).await {
        Ok(Ok(())) => {
            report.push_str(name);
            report.push_str(": ok\n");
            Ok(())
        }
        Ok(Err(error)) => {
            tracing::error!(backend = name, %error, "health check failed");
            Err(ApiError::Unavailable(format!("{what} is not answering")))
        }
        Err(_) => {
            tracing::error!(backend = name, "health check timed out");
            Err(ApiError::Unavailable(format!("{what} is not answering")))
        }
    }
}

/// How long `/healthz` waits for each backend.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(10);

async fn api_not_found() -> ApiError {
    ApiError::NotFound("no such API endpoint".into())
}

async fn metrics(State(app): State<Arc<AppShared>>) -> impl IntoResponse {
    let mut text = app.metrics.render();
    if let Some(cluster) = &app.cluster {
        cluster.render_metrics(&mut text);
    }
    text.push_str(&app.runner.metrics().await);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// Cancel `token` on SIGINT or SIGTERM.
pub async fn shutdown_on_signal(token: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutdown requested; flushing");
    token.cancel();
}
