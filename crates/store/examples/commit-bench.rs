//! The store's commit path on its own, SQLite against PostgreSQL: batches of updates as the
//! persister hands them over, without a server in front.
//!
//! ```sh
//! cargo run --release -p peercode-store --example commit-bench -- [BATCHES] [BATCH] [BYTES] [sqlite|pg|both]
//! ```
//! PostgreSQL from `PEERCODE_TEST_DATABASE_URL` (default `postgres://root@127.0.0.1:5432/test`),
//! in a schema of its own that is dropped afterwards.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use peercode_store::{Durability, PgStore, Record, RecordKind, SqliteStore, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = |i: usize, default: usize| -> usize {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
    };
    let (batches, batch, bytes) = (arg(1, 60), arg(2, 4000), arg(3, 140));
    let only = std::env::args().nth(4).unwrap_or_else(|| "both".into());
    let base = std::env::var("PEERCODE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into());
    let schema = format!("peercode_commit_bench_{}", std::process::id());
    let separator = if base.contains('?') { '&' } else { '?' };
    let dir = tempfile::tempdir()?;
    println!("{batches} batches of {batch} updates of {bytes} bytes, one room");
    if only != "pg" {
        let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path(), Durability::Process)?);
        run(
            "SQLite (synchronous=NORMAL)",
            &*sqlite,
            batches,
            batch,
            bytes,
        )?;
        // A commit that waits for the disk, as PostgreSQL's does.
        let dir = tempfile::tempdir()?;
        let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path(), Durability::Power)?);
        run("SQLite (synchronous=FULL)", &*sqlite, batches, batch, bytes)?;
    }
    if only == "sqlite" {
        return Ok(());
    }
    let pg = PgStore::open(&format!("{base}{separator}schema={schema}"))?;
    let result = run("PostgreSQL", &pg, batches, batch, bytes);
    let trips = pg.round_trips();
    pg.close()?;
    let mut admin = postgres::Client::connect(&base, postgres::NoTls)?;
    admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))?;
    result?;
    println!("PostgreSQL round trips: {} for commits", trips.commits);
    Ok(())
}

fn run(
    label: &str,
    store: &dyn Store,
    batches: usize,
    batch: usize,
    bytes: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let room: Arc<str> = "trace-automerge-paper".into();
    let author: Arc<str> = "conn:1".into();
    let data = Bytes::from(vec![7u8; bytes]);
    let mut times = Vec::with_capacity(batches);
    let mut seq = 0u64;
    for _ in 0..batches {
        let records: Vec<Record> = (0..batch)
            .map(|_| {
                seq += 1;
                Record {
                    room: room.clone(),
                    seq,
                    ts_ms: 1_700_000_000_000 + seq as i64,
                    author: author.clone(),
                    kind: RecordKind::Update,
                    data: data.clone(),
                }
            })
            .collect();
        let started = Instant::now();
        let failures = store.append(&records)?;
        times.push(started.elapsed());
        assert!(failures.is_empty(), "{failures:?}");
    }
    times.sort();
    let total: Duration = times.iter().sum();
    println!(
        "{label}: {:.0} updates/s, per commit median {:.1} ms, p90 {:.1} ms",
        (batches * batch) as f64 / total.as_secs_f64(),
        ms(times[times.len() / 2]),
        ms(times[times.len() * 9 / 10]),
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
