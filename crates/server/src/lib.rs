//! The PeerCode server: configuration, the axum router and the serve loop.
//!
//! [`serve`] binds, builds the shared state ([`AppShared`]) and runs until SIGINT/SIGTERM,
//! then stops accepting, closes connections, flushes every pending commit and closes the
//! store. [`serve_on`] does the same on a given listener with a given shutdown token.

mod accounts;
mod analyze;
mod auth;
mod config;
mod error;
mod listener;
mod manage;
mod metrics;
mod pool;
pub mod replay;
mod rooms;
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
use peercode_store::{Persister, Store};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::{Config, DurabilityFlag};
pub use error::ApiError;
use metrics::Metrics;
use rooms::{RoomSettings, Rooms};

/// State shared by every request and connection. Room tasks do not see it: they get a
/// narrow [`rooms::RoomContext`].
pub struct AppShared {
    pub config: Config,
    metrics: Arc<Metrics>,
    rooms: Rooms,
    /// The sandbox behind the runs routes.
    runner: runs::Runner,
    /// The complexity analyser's pool.
    analyses: pool::BlockingPool,
    /// Replay's pool: rebuilding a moment, timelines, forks.
    replays: pool::BlockingPool,
    persister: Arc<Persister>,
    /// Password hashing and the rate limits of sign-ins and connections.
    auth: auth::Auth,
    next_conn_id: AtomicU64,
    /// Connection tasks, awaited briefly at shutdown so clients get a close frame.
    connections: TaskTracker,
    /// The server's one shutdown token, cancelled on SIGINT/SIGTERM.
    shutdown: CancellationToken,
}

impl AppShared {
    /// The whole server's state over `store`, without a socket: pass it to [`router`] and
    /// serve that, then call [`AppShared::close`] once `shutdown` is cancelled.
    pub fn new(config: Config, store: Arc<dyn Store>, shutdown: CancellationToken) -> Arc<Self> {
        let persister = Arc::new(Persister::start(
            store,
            4096,
            Duration::from_micros(config.commit_window_us),
        ));
        let metrics = Arc::new(Metrics::default());
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
            runner: runs::Runner::default(),
            analyses: analyze::pool(),
            replays: replay::pool(),
            rooms: Rooms::new(
                persister.clone(),
                metrics.clone(),
                settings,
                shutdown.clone(),
            ),
            metrics,
            persister,
            auth: auth::Auth::new(&config),
            next_conn_id: AtomicU64::new(1),
            connections: TaskTracker::new(),
            shutdown,
            config,
        })
    }

    /// After shutdown: close connections (briefly waiting for their close frames), let
    /// every room flush, commit everything pending and close the store.
    pub async fn close(&self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.connections.close();
        let _ = tokio::time::timeout(Duration::from_secs(3), self.connections.wait()).await;
        self.rooms.wait_closed().await;
        let persister = self.persister.clone();
        tokio::task::spawn_blocking(move || persister.shutdown())
            .await
            .context("while waiting for the commit thread")?
            .context("while flushing the store")
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
    tokio::spawn(signal_shutdown(shutdown.clone()));
    serve_on(listener, config, shutdown).await
}

/// Serve on `listener` until `shutdown` is cancelled, then drain and flush.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // Opening blocks (files, connections, migrations): off the async threads.
    let (url, dir) = (config.database_url.clone(), config.data_dir.clone());
    let durability = config.durability.into();
    let store =
        tokio::task::spawn_blocking(move || peercode_store::open(url.as_deref(), &dir, durability))
            .await
            .context("while waiting for the store to open")?
            .with_context(|| match &config.database_url {
                Some(_) => "while opening the PostgreSQL store".to_string(),
                None => format!("while opening the store in {}", config.data_dir.display()),
            })?;
    let app = AppShared::new(config, store, shutdown.clone());
    let addr = listener.local_addr()?;
    // One line on stdout so scripts and tests can find a port picked by `:0`.
    println!("peercode listening on http://{addr}");
    // Start the sandbox now, in the background, so a host that lacks a protection is
    // reported at start-up (and the first run does not pay for probing the host).
    let warm = app.clone();
    tokio::spawn(async move {
        let _ = warm.runner.sandbox().await;
    });
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
        .route("/api/{*rest}", any(api_not_found))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(web::static_file)
        .with_state(app)
}

async fn healthz(State(app): State<Arc<AppShared>>) -> Result<&'static str, ApiError> {
    let store = app.persister.store().clone();
    tokio::task::spawn_blocking(move || store.check())
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| {
            tracing::error!(error = %e, "health check failed");
            ApiError::Unavailable("the store is not answering".into())
        })?;
    Ok("ok")
}

async fn api_not_found() -> ApiError {
    ApiError::NotFound("no such API endpoint".into())
}

async fn metrics(State(app): State<Arc<AppShared>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(),
    )
}

async fn signal_shutdown(token: CancellationToken) {
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
