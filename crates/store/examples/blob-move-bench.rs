//! The keyframe mover on its own: how long a pass's query takes over many rooms, how fast
//! keyframes move, and what reading a moved keyframe costs against one in the database.
//!
//! ```sh
//! cargo run --release -p peercode-store --example blob-move-bench -- [ROOMS] [SNAPSHOTS] [BYTES] [sqlite|pg] [BLOB_URL]
//! ```
//! BLOB_URL defaults to a temp directory (`file://…`); for S3 give `s3://…` with the usual
//! AWS variables. PostgreSQL from `PEERCODE_TEST_DATABASE_URL` (default
//! `postgres://root@127.0.0.1:5432/test`), in a schema of its own dropped afterwards.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use peercode_store::mover::move_pass;
use peercode_store::{
    BlobStore, Durability, MoveCounters, MoveSettings, PgStore, Record, RecordKind, SqliteStore,
    Store,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = |i: usize, default: usize| -> usize {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
    };
    let (rooms, snapshots, bytes) = (arg(1, 2000), arg(2, 20), arg(3, 20_000));
    let backend = std::env::args().nth(4).unwrap_or_else(|| "sqlite".into());
    let blob_dir = tempfile::tempdir()?;
    let blob_url = std::env::args()
        .nth(5)
        .unwrap_or_else(|| format!("file://{}", blob_dir.path().display()));
    let blobs = Arc::new(BlobStore::open(&blob_url)?);
    let dir = tempfile::tempdir()?;
    let base = std::env::var("PEERCODE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into());
    let schema = format!("peercode_blob_bench_{}", std::process::id());
    let store: Arc<dyn Store> = if backend == "pg" {
        let separator = if base.contains('?') { '&' } else { '?' };
        Arc::new(
            PgStore::open(&format!("{base}{separator}schema={schema}"))?
                .with_blobs(Some(blobs.clone())),
        )
    } else {
        Arc::new(
            SqliteStore::open(dir.path(), Durability::Process)?.with_blobs(Some(blobs.clone())),
        )
    };
    println!(
        "{backend}, {rooms} rooms × {snapshots} keyframes of {bytes} bytes, blobs in {}",
        blobs.target()
    );
    let result = run(&*store, &blobs, rooms, snapshots, bytes);
    store.close()?;
    if backend == "pg" {
        let mut admin = postgres::Client::connect(&base, postgres::NoTls)?;
        admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))?;
    }
    result
}

fn run(
    store: &dyn Store,
    blobs: &BlobStore,
    rooms: usize,
    snapshots: usize,
    bytes: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    for r in 0..rooms {
        let room: Arc<str> = format!("room-{r:05}").into();
        let records: Vec<Record> = (1..=snapshots as u64)
            .map(|s| Record {
                room: room.clone(),
                seq: s * 1000,
                ts_ms: 1_700_000_000_000 + s as i64,
                author: "bench".into(),
                kind: RecordKind::Snapshot,
                data: Bytes::from(vec![(r as u64 + s) as u8; bytes]),
            })
            .collect();
        store.append(&records)?;
    }
    let keep = 4;
    let settings = MoveSettings {
        keep,
        per_pass: 64,
        every: Duration::ZERO,
    };
    let started = Instant::now();
    let found = store.snapshots_to_move(keep, None, 64)?;
    println!(
        "a pass's query over {} keyframes: {:.1} ms ({} found)",
        rooms * snapshots,
        started.elapsed().as_secs_f64() * 1e3,
        found.len()
    );
    let (inline_room, inline_seq) = (found[0].0.clone(), snapshots as u64 * 1000);
    let (moved_room, moved_seq) = found[0].clone();

    // Move a bounded number, as passes would (the whole set can be large).
    let counters = MoveCounters::default();
    let mut cursor = None;
    let started = Instant::now();
    let mut passes = 0;
    while passes < 20 {
        move_pass(store, blobs, &settings, &mut cursor, &counters)?;
        passes += 1;
        if cursor.is_none() {
            break;
        }
    }
    let moved = counters.moved.load(std::sync::atomic::Ordering::Relaxed);
    let took = started.elapsed().as_secs_f64();
    println!(
        "moved {moved} keyframes in {passes} passes: {:.1} ms each, {:.1} MB/s",
        took * 1e3 / moved.max(1) as f64,
        (moved as f64 * bytes as f64) / took / 1e6
    );
    // The first read of a moved keyframe goes to blob storage; later ones come from the
    // blob store's cache of recent keyframes.
    let mut first = Duration::ZERO;
    let found = store.snapshots_to_move(0, None, 1_000_000)?;
    let moved_ones: Vec<_> = (1..=snapshots as u64)
        .map(|n| (moved_room.clone(), n * 1000))
        .filter(|(room, seq)| !found.contains(&(room.clone(), *seq)))
        .take(10)
        .collect();
    for (room, seq) in &moved_ones {
        let started = Instant::now();
        store.snapshot_at(room, *seq)?;
        first += started.elapsed();
    }
    println!(
        "snapshot_at, keyframe moved to blobs, first read: {:.2} ms",
        first.as_secs_f64() * 1e3 / moved_ones.len().max(1) as f64
    );
    for (label, room, seq) in [
        ("in the database", &inline_room, inline_seq),
        ("moved to blobs, read again", &moved_room, moved_seq),
    ] {
        let n = 100;
        let started = Instant::now();
        for _ in 0..n {
            store.snapshot_at(room, seq)?;
        }
        println!(
            "snapshot_at, keyframe {label}: {:.2} ms",
            started.elapsed().as_secs_f64() * 1e3 / n as f64
        );
    }
    Ok(())
}
