//! `peercode-bench`: the collaboration server's benchmarks, run side by side against PeerCode,
//! the floor (a no-document relay on the same stack, `floor.rs`, served by this binary's
//! `floor-server` subcommand) and the y-websocket reference server in one go (see
//! `bench/run.sh` and BENCHMARKS.md). With `--servers`, PeerCode on PostgreSQL (one
//! instance) and two PeerCode instances sharing rooms through Redis join the table (issue
//! 14; `server.rs` starts and tears down what they need).
//!
//! Every scenario starts each server afresh, so one scenario's leftovers never weigh on the
//! next, and the servers alternate so background noise falls on both alike.

mod bigsync;
mod client;
mod floor;
mod idle;
mod load;
mod queue;
mod replay;
mod report;
mod runs;
mod server;
mod stats;
mod trace;
mod typing;
mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;

use report::{Cell, Report};
use server::{Kind, Server};

#[derive(Parser, Debug)]
#[command(
    name = "peercode-bench",
    about = "Collaboration-server benchmarks, PeerCode vs the floor relay and the y-websocket reference server"
)]
struct Config {
    #[command(subcommand)]
    command: Option<Command>,
    /// The `peercode` binary to benchmark.
    #[arg(long, env = "PEERCODE_BIN")]
    peercode_bin: Option<PathBuf>,
    /// The reference server: `node_modules/y-websocket/bin/server.cjs` of y-websocket 2.x.
    #[arg(long, env = "PEERCODE_BENCH_REFERENCE")]
    reference_server: Option<PathBuf>,
    /// Editing traces (`*.json.gz`); default: `../shared/traces` beside the repo root.
    #[arg(long, env = "PEERCODE_BENCH_TRACES")]
    traces_dir: Option<PathBuf>,
    /// Where server logs and `results.json` go.
    #[arg(long, env = "PEERCODE_BENCH_OUT", default_value = "bench/out")]
    out_dir: PathBuf,
    /// Leave the floor relay out (it runs beside PeerCode by default).
    #[arg(long, env = "PEERCODE_BENCH_NO_FLOOR")]
    no_floor: bool,
    /// Servers to run, in this order, comma-separated: `peercode` (one instance, SQLite),
    /// `peercode-pg` (one instance, `--database-url`), `peercode-cluster` (two instances
    /// sharing rooms: `--database-url` and `--redis-url`, with a redis-server the bench
    /// starts), `floor`, `reference`. Default: peercode, floor and reference, as their
    /// binaries are given (and --no-floor).
    #[arg(long, env = "PEERCODE_BENCH_SERVERS", value_delimiter = ',')]
    servers: Option<Vec<String>>,
    /// PostgreSQL for `peercode-pg` and `peercode-cluster`: each start gets a fresh schema
    /// in this database (dropped at the end), and the run's backends count as the server's CPU.
    #[arg(
        long,
        env = "PEERCODE_BENCH_DATABASE_URL",
        default_value = "postgres://root@127.0.0.1:5432/test"
    )]
    database_url: String,
    /// How `load` and `typing` spread the clients over the instances of
    /// `peercode-cluster`: `clients` (the clients of every room alternate over the
    /// instances, so half of them are forwarded to the room's owner) or `rooms` (all of a
    /// room's clients on one instance, which owns it: nothing forwarded).
    #[arg(
        long,
        env = "PEERCODE_BENCH_SPREAD",
        value_enum,
        default_value = "clients"
    )]
    spread: server::Spread,
    /// Scenarios to run, comma-separated: typing, load, idle, trace, sync, runs, queue and
    /// replay (PeerCode only; queue needs `redis-server` and root).
    #[arg(
        long,
        env = "PEERCODE_BENCH_SCENARIOS",
        default_value = "typing,load,idle,trace,sync",
        value_delimiter = ','
    )]
    scenarios: Vec<String>,
    #[arg(long, env = "PEERCODE_BENCH_ROOMS", default_value_t = 100)]
    rooms: usize,
    #[arg(long, env = "PEERCODE_BENCH_CLIENTS", default_value_t = 10)]
    clients: usize,
    /// Keystrokes per second per client, one load run each.
    #[arg(
        long,
        env = "PEERCODE_BENCH_RATES",
        default_value = "5,10",
        value_delimiter = ','
    )]
    rates: Vec<f64>,
    /// Seconds of typing per load run.
    #[arg(long, env = "PEERCODE_BENCH_LOAD_SECS", default_value_t = 20.0)]
    load_secs: f64,
    /// Seconds receivers keep listening after the typing stops; later arrivals count as undelivered.
    #[arg(long, env = "PEERCODE_BENCH_GRACE_SECS", default_value_t = 2.0)]
    grace_secs: f64,
    #[arg(long, env = "PEERCODE_BENCH_IDLE_CONNS", default_value_t = 1000)]
    idle_conns: usize,
    #[arg(long, env = "PEERCODE_BENCH_SYNC_KIB", default_value_t = 1024)]
    sync_kib: usize,
    #[arg(long, env = "PEERCODE_BENCH_SYNC_REPS", default_value_t = 20)]
    sync_reps: usize,
    /// Give up on a trace replay after this many seconds.
    #[arg(
        long,
        env = "PEERCODE_BENCH_TRACE_TIMEOUT_SECS",
        default_value_t = 120.0
    )]
    trace_timeout_secs: f64,
    /// Moments rebuilt per trace in the replay scenario.
    #[arg(long, default_value_t = 200)]
    replay_points: usize,
    /// Runs per language in the runs scenario.
    #[arg(long, env = "PEERCODE_BENCH_RUN_REPS", default_value_t = 20)]
    run_reps: usize,
    /// `typing` on PeerCode's one-instance kinds: first make one Python run in a room of
    /// its own, so that the sandbox the server then makes ahead for the next run waits
    /// through the whole load (its init shares the server's memory copy-on-write: every
    /// page the server writes meanwhile is copied once). Shows what a waiting sandbox
    /// costs the collaboration server.
    #[arg(long)]
    typing_after_a_run: bool,
    /// Scheduling weight (nice, -20..19) for the sessions of the load generator and of
    /// every server it starts, all alike: on a machine shared with other work, a negative
    /// value keeps them from queueing behind it (needs root). Default: left alone.
    #[arg(
        long,
        env = "PEERCODE_BENCH_AUTOGROUP_NICE",
        allow_hyphen_values = true
    )]
    autogroup_nice: Option<i32>,
    /// Worker threads of the load generator.
    #[arg(long, env = "PEERCODE_BENCH_THREADS", default_value_t = 2)]
    threads: usize,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Serve the floor: a y-websocket relay with no document and no store, on PeerCode's
    /// WebSocket stack (the benchmark starts it itself, like the other servers).
    FloorServer {
        #[arg(long)]
        listen: SocketAddr,
    },
}

fn main() -> Result<()> {
    let config = Config::parse();
    if let Some(Command::FloorServer { listen }) = config.command {
        return floor::main(listen);
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.threads.max(1))
        .enable_all()
        .build()
        .context("while starting the runtime")?
        .block_on(run(config))
}

/// The servers of the run, from `--servers` or the default.
fn select_servers(config: &Config) -> Result<Vec<Kind>> {
    let peercode = || {
        config
            .peercode_bin
            .clone()
            .context("--servers names a PeerCode server: pass --peercode-bin")
    };
    let this = || std::env::current_exe().context("while finding this binary");
    let Some(names) = &config.servers else {
        let mut servers = Vec::new();
        if let Some(bin) = &config.peercode_bin {
            servers.push(Kind::PeerCode { bin: bin.clone() });
            if !config.no_floor {
                servers.push(Kind::Floor { bin: this()? });
            }
        }
        if let Some(script) = &config.reference_server {
            servers.push(Kind::Reference {
                script: script.clone(),
            });
        }
        return Ok(servers);
    };
    let database = config.database_url.clone();
    names
        .iter()
        .map(|name| {
            Ok(match name.as_str() {
                "peercode" => Kind::PeerCode { bin: peercode()? },
                "peercode-pg" => Kind::PeerCodePg {
                    bin: peercode()?,
                    database: database.clone(),
                },
                "peercode-cluster" => Kind::PeerCodeCluster {
                    bin: peercode()?,
                    database: database.clone(),
                },
                "floor" => Kind::Floor { bin: this()? },
                "reference" => Kind::Reference {
                    script: config
                        .reference_server
                        .clone()
                        .context("--servers names reference: pass --reference-server")?,
                },
                other => anyhow::bail!(
                    "unknown server {other:?}: peercode, peercode-pg, peercode-cluster, floor, reference"
                ),
            })
        })
        .collect()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

async fn run(config: Config) -> Result<()> {
    let servers = select_servers(&config)?;
    anyhow::ensure!(
        !servers.is_empty(),
        "nothing to benchmark: pass --peercode-bin and/or --reference-server"
    );
    std::fs::create_dir_all(&config.out_dir)
        .with_context(|| format!("while creating {}", config.out_dir.display()))?;
    if let Some(nice) = config.autogroup_nice {
        server::set_autogroup_nice("/proc/self", nice)?;
    }
    let wants = |s: &str| config.scenarios.iter().any(|x| x == s);
    let spread_note = if config.spread == server::Spread::Rooms
        && servers
            .iter()
            .any(|k| matches!(k, Kind::PeerCodeCluster { .. }))
    {
        " (cluster: each room's clients on one instance)".to_owned()
    } else {
        String::new()
    };
    let has_postgres = servers
        .iter()
        .any(|k| matches!(k, Kind::PeerCodePg { .. } | Kind::PeerCodeCluster { .. }));
    let mut report = Report::new(servers.iter().map(Kind::label).collect());
    let mut json = serde_json::Map::new();
    eprintln!("load average at start: {}", loadavg());

    if wants("typing") {
        for &rate in &config.rates {
            let spec = typing::TypingSpec {
                rooms: config.rooms,
                clients: config.clients,
                rate,
                spread: config.spread,
                duration: Duration::from_secs_f64(config.load_secs),
                grace: Duration::from_secs_f64(config.grace_secs),
            };
            let title = format!(
                "typing together: {} rooms × {} typists × {rate}/s + an observer each, {} s",
                spec.rooms, spec.clients, config.load_secs
            )
            .to_owned()
                + &spread_note;
            let mut cells = Vec::new();
            for kind in &servers {
                eprintln!("{title}: {}", kind.label());
                let run_first = config.typing_after_a_run
                    && matches!(kind, Kind::PeerCode { .. } | Kind::PeerCodePg { .. });
                let r = with_server(kind, &config, &format!("typing-{rate}"), |s| {
                    Box::pin(async move {
                        if run_first {
                            runs::one_run(s)
                                .await
                                .context("the run before the typing")?;
                        }
                        typing::run(s, spec).await
                    })
                })
                .await;
                if let Ok(r) = &r {
                    json.insert(
                        format!("{}/typing-{rate}", kind.label()),
                        serde_json::to_value(r)?,
                    );
                }
                cells.push(r);
            }
            report.section(&title);
            let count = |v: f64| Cell::text(format!("{v:.0}"));
            report.row(
                "keystrokes sent /s",
                "",
                cells_of(&cells, |r| count(r.sent_per_sec)),
            );
            report.row(
                "deliveries /s (to the other typists)",
                "",
                cells_of(&cells, |r| count(r.delivered_per_sec)),
            );
            report.row(
                "undelivered at the end",
                "0",
                cells_of(&cells, |r| {
                    Cell::text(format!("{} ({:.2}%)", r.undelivered, r.undelivered_percent))
                }),
            );
            report.row(
                "delivery latency p50 (ms)",
                "",
                cells_of(&cells, |r| Cell::num(r.latency.p50_ms, 2)),
            );
            report.row(
                "delivery latency p99 (ms)",
                "≤ 1.5× floor",
                cells_of(&cells, |r| Cell::num(r.latency.p99_ms, 2)),
            );
            report.row(
                "delivery latency max (ms)",
                "",
                cells_of(&cells, |r| Cell::num(r.latency.max_ms, 1)),
            );
            report.row(
                "observer: sent → applied, p50 (ms)",
                "",
                cells_of(&cells, |r| Cell::num(r.observer_latency.p50_ms, 2)),
            );
            report.row(
                "observer: sent → applied, p99 (ms)",
                "",
                cells_of(&cells, |r| Cell::num(r.observer_latency.p99_ms, 2)),
            );
            report.row(
                "observer: undelivered",
                "0",
                cells_of(&cells, |r| Cell::text(r.observer_undelivered.to_string())),
            );
            report.row(
                "rooms whose documents all ended alike",
                "all",
                cells_of(&cells, |r| {
                    Cell::text(format!(
                        "{} / {} ({} chars)",
                        r.rooms_converged, r.rooms, r.final_text_chars
                    ))
                }),
            );
            report.row(
                "server CPU (% of one core)",
                if rate <= 5.0 { "≤ 1.3× floor" } else { "" },
                cells_of(&cells, |r| Cell::num(r.server_cpu_percent, 0)),
            );
            cpu_rows(
                &mut report,
                has_postgres,
                &cells,
                |r| (r.postgres_cpu_percent, r.redis_cpu_percent),
                |r| (r.cpu_us_per_keystroke, r.cpu_us_per_delivery),
            );
            report.row(
                "server RSS at end / peak (MiB)",
                "",
                cells_of(&cells, |r| {
                    Cell::text(format!(
                        "{:.0} / {:.0}",
                        r.server_rss_kib as f64 / 1024.0,
                        r.server_hwm_kib as f64 / 1024.0
                    ))
                }),
            );
            report.row(
                "load generator CPU (% of one core)",
                "",
                cells_of(&cells, |r| count(r.generator_cpu_percent)),
            );
            report.row(
                "other processes' CPU meanwhile (% of one core)",
                "",
                cells_of(&cells, |r| count(r.others_cpu_percent)),
            );
        }
    }

    if wants("load") {
        for &rate in &config.rates {
            let spec = load::LoadSpec {
                rooms: config.rooms,
                clients: config.clients,
                rate,
                spread: config.spread,
                duration: Duration::from_secs_f64(config.load_secs),
                grace: Duration::from_secs_f64(config.grace_secs),
            };
            let title = format!(
                "load {} rooms × {} clients × {rate}/s, {} s",
                spec.rooms, spec.clients, config.load_secs
            )
            .to_owned()
                + &spread_note;
            let target_ms = if rate <= 5.0 {
                "< 10"
            } else if rate <= 10.0 {
                "< 25"
            } else {
                ""
            };
            let mut cells = Vec::new();
            for kind in &servers {
                eprintln!("{title}: {}", kind.label());
                let r = with_server(kind, &config, &format!("load-{rate}"), |s| {
                    Box::pin(async move { load::run(s, spec).await })
                })
                .await;
                if let Ok(r) = &r {
                    json.insert(
                        format!("{}/load-{rate}", kind.label()),
                        serde_json::to_value(r)?,
                    );
                }
                cells.push(r);
            }
            report.section(&title);
            let count = |v: f64| Cell::text(format!("{v:.0}"));
            report.row(
                "keystrokes sent /s",
                "",
                cells_of(&cells, |r| count(r.sent_per_sec)),
            );
            report.row(
                "deliveries /s (to the other clients)",
                "",
                cells_of(&cells, |r| count(r.delivered_per_sec)),
            );
            report.row(
                "undelivered at the end",
                "0",
                cells_of(&cells, |r| {
                    Cell::text(format!("{} ({:.2}%)", r.undelivered, r.undelivered_percent))
                }),
            );
            report.row(
                "delivery latency p50 (ms)",
                "",
                cells_of(&cells, |r| Cell::num(r.latency.p50_ms, 2)),
            );
            report.row(
                "delivery latency p99 (ms)",
                target_ms,
                cells_of(&cells, |r| Cell::num(r.latency.p99_ms, 2)),
            );
            report.row(
                "delivery latency max (ms)",
                "",
                cells_of(&cells, |r| Cell::num(r.latency.max_ms, 1)),
            );
            report.row(
                "server: update accepted → committed, mean (ms)",
                "",
                cells_of(&cells, |r| match r.persist_mean_ms {
                    Some(ms) => Cell::num(ms, 2),
                    None => Cell::text(String::new()),
                }),
            );
            report.row(
                "server CPU (% of one core)",
                "",
                cells_of(&cells, |r| Cell::num(r.server_cpu_percent, 0)),
            );
            cpu_rows(
                &mut report,
                has_postgres,
                &cells,
                |r| (r.postgres_cpu_percent, r.redis_cpu_percent),
                |r| (r.cpu_us_per_keystroke, r.cpu_us_per_delivery),
            );
            report.row(
                "server RSS at end / peak (MiB)",
                "",
                cells_of(&cells, |r| {
                    Cell::text(format!(
                        "{:.0} / {:.0}",
                        r.server_rss_kib as f64 / 1024.0,
                        r.server_hwm_kib as f64 / 1024.0
                    ))
                }),
            );
            report.row(
                "load generator CPU (% of one core)",
                "",
                cells_of(&cells, |r| count(r.generator_cpu_percent)),
            );
            report.row(
                "other processes' CPU meanwhile (% of one core)",
                "",
                cells_of(&cells, |r| count(r.others_cpu_percent)),
            );
        }
    }

    if wants("idle") {
        let mut cells = Vec::new();
        for kind in &servers {
            eprintln!("idle connections: {}", kind.label());
            let n = config.idle_conns;
            let per_room = config.clients.max(1);
            let r = with_server(kind, &config, "idle", |s| {
                Box::pin(async move { idle::run(s, n, per_room).await })
            })
            .await;
            if let Ok(r) = &r {
                json.insert(format!("{}/idle", kind.label()), serde_json::to_value(r)?);
            }
            cells.push(r);
        }
        report.section(&format!(
            "{} idle connections ({} per room)",
            config.idle_conns, config.clients
        ));
        report.row(
            "server memory per idle connection (KiB)",
            "< 64",
            cells_of(&cells, |r| Cell::num(r.kib_per_connection, 1)),
        );
        report.row(
            "server RSS before / after (MiB)",
            "",
            cells_of(&cells, |r| {
                Cell::text(format!(
                    "{:.1} / {:.1}",
                    r.rss_before_kib as f64 / 1024.0,
                    r.rss_after_kib as f64 / 1024.0
                ))
            }),
        );
    }

    if wants("trace") {
        for path in trace_paths(&config)? {
            eprintln!("converting {} into updates", path.display());
            let trace = tokio::task::spawn_blocking(move || trace::Trace::load(&path)).await??;
            let trace = std::sync::Arc::new(trace);
            let timeout = Duration::from_secs_f64(config.trace_timeout_secs);
            let mut cells = Vec::new();
            for kind in &servers {
                eprintln!("trace {}: {}", trace.name, kind.label());
                let t = trace.clone();
                let r = with_server(kind, &config, &format!("trace-{}", trace.name), |s| {
                    Box::pin(async move { trace::replay(s, &t, timeout).await })
                })
                .await;
                if let Ok(r) = &r {
                    json.insert(
                        format!("{}/trace-{}", kind.label(), trace.name),
                        serde_json::to_value(r)?,
                    );
                }
                cells.push(r);
            }
            report.section(&format!(
                "trace replay: {} ({} updates)",
                trace.name,
                trace.updates()
            ));
            report.row(
                "updates /s (writer → observer)",
                "≥ 100000; ≥ 0.8× floor",
                cells_of(&cells, |r| Cell::num(r.updates_per_sec, 0)),
            );
            // What yrs alone takes for the same updates bounds what a server holding the
            // document can reach; the floor, holding none, does not pay it.
            let t = trace.clone();
            let alone = tokio::task::spawn_blocking(move || t.applied_alone(512, 3)).await??;
            json.insert(
                format!("yrs-alone/trace-{}", trace.name),
                serde_json::json!({ "updates_per_sec": alone, "per_txn": 512 }),
            );
            report.row(
                "yrs alone in one process: decode + apply, 512 per transaction (updates /s)",
                "",
                servers
                    .iter()
                    .map(|kind| match kind.has_document() {
                        true => Cell::num(alone, 0),
                        false => Cell::text(String::new()),
                    })
                    .collect(),
            );
            let checks: Vec<Result<String>> = servers
                .iter()
                .zip(&cells)
                .map(|(kind, r)| match r {
                    Ok(_) if !kind.has_document() => Ok(NO_DOCUMENT.to_string()),
                    Ok(r) => Ok(if r.verified { "yes" } else { "NO" }.to_string()),
                    Err(e) => Err(anyhow::anyhow!("{}", e.root_cause())),
                })
                .collect();
            report.row(
                "final text matches the trace",
                "yes",
                cells_of(&checks, |v| Cell::text(v.clone())),
            );
        }
    }

    if wants("sync") {
        let mut cells = Vec::new();
        for kind in &servers {
            if !kind.has_document() {
                cells.push(Err(anyhow::Error::new(NotApplicable)));
                continue;
            }
            eprintln!("large-document sync: {}", kind.label());
            let (size, reps) = (config.sync_kib * 1024, config.sync_reps);
            let r = with_server(kind, &config, "sync", |s| {
                Box::pin(async move { bigsync::run(s, size, reps).await })
            })
            .await;
            if let Ok(r) = &r {
                json.insert(format!("{}/sync", kind.label()), serde_json::to_value(r)?);
            }
            cells.push(r);
        }
        report.section(&format!(
            "new client syncs a {} KiB document ({} times)",
            config.sync_kib, config.sync_reps
        ));
        report.row(
            "connect + sync, median (ms)",
            "< 25",
            cells_of(&cells, |r| Cell::num(r.median_ms, 2)),
        );
        report.row(
            "connect + sync, max (ms)",
            "",
            cells_of(&cells, |r| Cell::num(r.max_ms, 2)),
        );
        report.row(
            "sync step 2 size (KiB)",
            "",
            cells_of(&cells, |r| Cell::num(r.step2_bytes as f64 / 1024.0, 0)),
        );
    }

    if wants("runs")
        && let Some(bin) = &config.peercode_bin
    {
        let kind = Kind::PeerCode { bin: bin.clone() };
        eprintln!("runs: {}", kind.label());
        let reps = config.run_reps.max(1);
        let bin = bin.clone();
        let r = with_server(&kind, &config, "runs", move |s| {
            Box::pin(async move { runs::run(s, &bin, reps).await })
        })
        .await;
        match r {
            Ok(times) => {
                json.insert("PeerCode/runs".into(), serde_json::to_value(&times)?);
                for t in &times {
                    let title = format!(
                        "runs: {} hello, {} runs (PeerCode only)",
                        t.language, t.reps
                    );
                    report.section(&title);
                    let pair = |(p50, p90): (f64, f64)| Cell::text(format!("{p50:.1} / {p90:.1}"));
                    let mut row = |name: &str, v: (f64, f64)| {
                        let mut cells = vec![pair(v)];
                        cells.resize_with(servers.len(), || Cell::text(String::new()));
                        report.row(name, "", cells);
                    };
                    row(
                        "POST → first output byte at a client, p50 / p90 (ms)",
                        t.room_first_byte_ms,
                    );
                    row(
                        "POST → verdict at a client, p50 / p90 (ms)",
                        t.room_verdict_ms,
                    );
                    row(
                        "bare `peercode run` → first stdout byte, p50 / p90 (ms)",
                        t.bare_first_byte_ms,
                    );
                    row("bare `peercode run` → exit, p50 / p90 (ms)", t.bare_exit_ms);
                    row(
                        "added by the room at the median: first byte / verdict (ms)",
                        (
                            t.room_first_byte_ms.0 - t.bare_first_byte_ms.0,
                            t.room_verdict_ms.0 - t.bare_exit_ms.0,
                        ),
                    );
                }
            }
            Err(e) => eprintln!("runs failed: {e:#}"),
        }
    }

    if wants("queue")
        && let Some(bin) = &config.peercode_bin
    {
        eprintln!("queue: local runner and --runner queue side by side");
        let reps = config.run_reps.max(1);
        match queue::run(bin, &config.out_dir, config.autogroup_nice, reps).await {
            Ok(t) => {
                json.insert("PeerCode/queue".into(), serde_json::to_value(&t)?);
                let title = format!(
                    "queue: python hello, {} runs each, local runner and through the queue \
                     (PeerCode only)",
                    t.reps
                );
                report.section(&title);
                let pair = |(p50, p99): (f64, f64)| Cell::text(format!("{p50:.1} / {p99:.1}"));
                let mut row = |name: &str, v: (f64, f64)| {
                    let mut cells = vec![pair(v)];
                    cells.resize_with(servers.len(), || Cell::text(String::new()));
                    report.row(name, "", cells);
                };
                row(
                    "local: POST → first output byte, p50 / p99 (ms)",
                    t.local_first_byte_ms,
                );
                row("local: POST → verdict, p50 / p99 (ms)", t.local_verdict_ms);
                row(
                    "queue: POST → first output byte, p50 / p99 (ms)",
                    t.queued_first_byte_ms,
                );
                row("queue: POST → verdict, p50 / p99 (ms)", t.queued_verdict_ms);
                row(
                    "added by the queue: verdict p50 / p99 (ms)",
                    (
                        t.queued_verdict_ms.0 - t.local_verdict_ms.0,
                        t.queued_verdict_ms.1 - t.local_verdict_ms.1,
                    ),
                );
            }
            Err(e) => eprintln!("queue failed: {e:#}"),
        }
    }

    if wants("replay")
        && let Some(bin) = &config.peercode_bin
    {
        let kind = Kind::PeerCode { bin: bin.clone() };
        for path in trace_paths(&config)? {
            let trace = tokio::task::spawn_blocking(move || trace::Trace::load(&path)).await??;
            let trace = std::sync::Arc::new(trace);
            let timeout = Duration::from_secs_f64(config.trace_timeout_secs);
            let points = config.replay_points;
            eprintln!("replay {}: {}", trace.name, kind.label());
            let t = trace.clone();
            let r = with_server(&kind, &config, &format!("replay-{}", trace.name), |s| {
                Box::pin(async move { replay::run(s, &t, timeout, points).await })
            })
            .await;
            if let Ok(r) = &r {
                json.insert(
                    format!("PeerCode/replay-{}", trace.name),
                    serde_json::to_value(r)?,
                );
                report.section(&format!(
                    "replay: {} recorded ({} updates), the state at {} moments (PeerCode only)",
                    r.trace, r.updates, r.points
                ));
                let mut row = |name: &str, target: &str, text: String| {
                    let mut cells = vec![Cell::text(text)];
                    cells.resize_with(servers.len(), || Cell::text(String::new()));
                    report.row(name, target, cells);
                };
                let (p50, p99, max) = r.state_ms;
                row(
                    "state at a moment, p50 / p99 / max (ms)",
                    "< 100",
                    format!("{p50:.1} / {p99:.1} / {max:.1}"),
                );
                row("timeline (ms)", "", format!("{:.0}", r.timeline_ms));
                row(
                    "largest state answer (KiB)",
                    "",
                    format!("{:.0}", r.state_bytes as f64 / 1024.0),
                );
            }
        }
    }

    eprintln!("load average at end: {}", loadavg());
    let path = config.out_dir.join("results.json");
    std::fs::write(&path, serde_json::to_string_pretty(&json)?)
        .with_context(|| format!("while writing {}", path.display()))?;
    println!("{}", report.markdown());
    Ok(())
}

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Starts `kind` afresh, runs `f` against it, and stops it again.
async fn with_server<T>(
    kind: &Kind,
    config: &Config,
    tag: &str,
    f: impl for<'a> FnOnce(&'a Server) -> BoxFuture<'a, Result<T>>,
) -> Result<T> {
    let server = Server::start(
        kind,
        &config.out_dir,
        &format!("{}-{tag}", kind.slug()),
        config.autogroup_nice,
    )
    .await?;
    let r = f(&server).await;
    if let Err(e) = &r {
        eprintln!("  {}: {e:#}", kind.label());
    }
    drop(server);
    r
}

/// What the floor shows where a figure needs a document.
const NO_DOCUMENT: &str = "n/a (no document)";

/// A scenario that does not apply to a server (the floor has no document to sync).
#[derive(Debug)]
struct NotApplicable;

impl std::fmt::Display for NotApplicable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(NO_DOCUMENT)
    }
}

impl std::error::Error for NotApplicable {}

/// The CPU rows after "server CPU": with a PostgreSQL server in the run, how much of it
/// PostgreSQL and Redis took; always, the server's CPU time per keystroke and per delivered
/// update.
fn cpu_rows<T>(
    report: &mut Report,
    has_postgres: bool,
    cells: &[Result<T>],
    parts: impl Fn(&T) -> (f64, f64),
    per_update: impl Fn(&T) -> (f64, f64),
) {
    if has_postgres {
        report.row(
            "of which PostgreSQL / Redis (% of one core)",
            "",
            cells_of(cells, |r| {
                let (pg, redis) = parts(r);
                Cell::text(format!("{pg:.0} / {redis:.0}"))
            }),
        );
    }
    report.row(
        "server CPU per keystroke (µs)",
        "",
        cells_of(cells, |r| Cell::num(per_update(r).0, 1)),
    );
    report.row(
        "server CPU per delivered update (µs)",
        "",
        cells_of(cells, |r| Cell::num(per_update(r).1, 2)),
    );
}

fn cells_of<T>(results: &[Result<T>], f: impl Fn(&T) -> Cell) -> Vec<Cell> {
    results
        .iter()
        .map(|r| match r {
            Ok(v) => f(v),
            Err(e) if e.is::<NotApplicable>() => Cell::text(NO_DOCUMENT.to_string()),
            Err(e) => Cell::text(format!("failed: {}", e.root_cause())),
        })
        .collect()
}

/// The editing traces (`*.json.gz`) of `--traces-dir`, sorted.
fn trace_paths(config: &Config) -> Result<Vec<PathBuf>> {
    let dir = config.traces_dir.clone().unwrap_or_else(default_traces_dir);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("while listing the traces in {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".json.gz"))
        .collect();
    paths.sort();
    Ok(paths)
}

/// `../shared/traces` relative to the repo root this crate was built from.
fn default_traces_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers(args: &[&str]) -> Result<Vec<&'static str>> {
        let config = Config::try_parse_from(
            ["peercode-bench", "--peercode-bin", "/bin/peercode"]
                .iter()
                .chain(args),
        )?;
        Ok(select_servers(&config)?.iter().map(Kind::label).collect())
    }

    #[test]
    fn the_default_servers_are_peercode_and_the_floor() {
        assert_eq!(servers(&[]).unwrap(), [report::PEERCODE, report::FLOOR]);
        assert_eq!(servers(&["--no-floor"]).unwrap(), [report::PEERCODE]);
    }

    #[test]
    fn servers_names_the_postgresql_kinds_in_order() {
        assert_eq!(
            servers(&["--servers", "peercode-cluster,peercode,peercode-pg"]).unwrap(),
            [
                report::PEERCODE_CLUSTER,
                report::PEERCODE,
                report::PEERCODE_PG
            ]
        );
        assert!(servers(&["--servers", "peercode,nginx"]).is_err());
        // The reference server needs its script.
        assert!(servers(&["--servers", "reference"]).is_err());
    }
}
