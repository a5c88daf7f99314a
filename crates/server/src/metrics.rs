//! Process-wide counters exported at `GET /metrics` in the Prometheus text format.
//!
//! Hand-rolled atomics rather than a metrics crate: the set is small and fixed, and the
//! hot path (every update, every frame) must cost one relaxed atomic add.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Upper bounds of the persist-latency buckets, in seconds.
const PERSIST_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

#[derive(Default)]
pub struct Metrics {
    pub rooms_loaded: AtomicI64,
    pub connections: AtomicI64,
    /// Document updates accepted from clients.
    pub updates_in: AtomicU64,
    /// Document update frames delivered to connections (one per recipient).
    pub updates_out: AtomicU64,
    pub messages_in: AtomicU64,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    /// Connections closed for sending something malformed or oversized.
    pub rejected_connections: AtomicU64,
    /// Connections dropped because they could not keep up.
    pub slow_connections: AtomicU64,
    /// Client updates refused for writing into server-owned state (the `runs` map).
    pub refused_updates: AtomicU64,
    /// Keyframes moved to blob storage (`--blob-url`), and failed attempts.
    pub blob_moves: Arc<peercode_store::MoveCounters>,
    persist_buckets: [AtomicU64; PERSIST_BUCKETS.len()],
    persist_count: AtomicU64,
    persist_sum_ns: AtomicU64,
}

impl Metrics {
    pub fn observe_persist(&self, latency: Duration) {
        let secs = latency.as_secs_f64();
        if let Some(i) = PERSIST_BUCKETS.iter().position(|&b| secs <= b) {
            self.persist_buckets[i].fetch_add(1, Relaxed);
        }
        self.persist_count.fetch_add(1, Relaxed);
        self.persist_sum_ns
            .fetch_add(latency.as_nanos() as u64, Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        let gauges = [
            (
                "peercode_rooms_loaded",
                "Rooms whose document is in memory.",
                &self.rooms_loaded,
            ),
            (
                "peercode_connections",
                "Open WebSocket connections.",
                &self.connections,
            ),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}",
                value.load(Relaxed)
            );
        }
        let counters = [
            (
                "peercode_updates_in_total",
                "Document updates accepted from clients.",
                &self.updates_in,
            ),
            (
                "peercode_updates_out_total",
                "Document update frames delivered to connections.",
                &self.updates_out,
            ),
            (
                "peercode_messages_in_total",
                "Protocol messages received.",
                &self.messages_in,
            ),
            (
                "peercode_bytes_in_total",
                "WebSocket payload bytes received.",
                &self.bytes_in,
            ),
            (
                "peercode_bytes_out_total",
                "WebSocket payload bytes sent.",
                &self.bytes_out,
            ),
            (
                "peercode_rejected_connections_total",
                "Connections closed for malformed or oversized input.",
                &self.rejected_connections,
            ),
            (
                "peercode_slow_connections_total",
                "Connections dropped for not keeping up.",
                &self.slow_connections,
            ),
            (
                "peercode_refused_updates_total",
                "Client updates refused for writing into server-owned state.",
                &self.refused_updates,
            ),
            (
                "peercode_blob_snapshots_moved_total",
                "Keyframe snapshots moved from the store to blob storage.",
                &self.blob_moves.moved,
            ),
            (
                "peercode_blob_snapshot_move_failures_total",
                "Keyframe moves that failed (the snapshot stays in the store).",
                &self.blob_moves.failed,
            ),
            (
                "peercode_blob_move_passes_total",
                "Passes of the keyframe mover.",
                &self.blob_moves.passes,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Relaxed)
            );
        }
        let name = "peercode_persist_latency_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time from accepting an update to its being durable (in the journal, or committed).\n# TYPE {name} histogram"
        );
        let mut cumulative = 0;
        for (bound, count) in PERSIST_BUCKETS.iter().zip(&self.persist_buckets) {
            cumulative += count.load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let total = self.persist_count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {total}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.persist_sum_ns.load(Relaxed) as f64 / 1e9
        );
        let _ = writeln!(out, "{name}_count {total}");
        out
    }
}
