//! A fresh PostgreSQL schema per test, so tests run in parallel in one database and never
//! see each other's rows. PostgreSQL must be running: a test fails (never skips) without it.

#![allow(dead_code)] // each test file uses its own part of this module

pub mod moto;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use peercode_store::PgStore;

/// The database the tests use (`PEERCODE_TEST_DATABASE_URL`; the machine's local server
/// with trust auth by default).
pub fn test_database_url() -> String {
    std::env::var("PEERCODE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into())
}

/// A schema of its own in the test database, dropped (with everything in it) on drop.
pub struct PgSchema {
    base: String,
    /// The schema's name; also the `application_name` of the store's connections, so a
    /// test can find them in `pg_stat_activity`.
    pub name: String,
}

impl PgSchema {
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "peercode_test_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let schema = PgSchema {
            base: test_database_url(),
            name,
        };
        // Fail here, loudly, when there is no PostgreSQL: CI has one.
        schema.admin();
        schema
    }

    /// The URL a store of this schema opens.
    pub fn url(&self) -> String {
        let separator = if self.base.contains('?') { '&' } else { '?' };
        format!(
            "{}{separator}schema={name}&application_name={name}",
            self.base,
            name = self.name
        )
    }

    pub fn open(&self) -> PgStore {
        PgStore::open(&self.url())
            .unwrap_or_else(|e| panic!("opening a PgStore on {}: {e}", self.url()))
    }

    /// A plain connection to the test database, outside the schema.
    pub fn admin(&self) -> postgres::Client {
        postgres::Client::connect(&self.base, postgres::NoTls).unwrap_or_else(|e| {
            let cause = std::error::Error::source(&e).map(|c| c.to_string());
            panic!(
                "PostgreSQL is not reachable at {} ({e}: {}): start it (scripts/setup does) \
                 or point PEERCODE_TEST_DATABASE_URL at one",
                self.base,
                cause.unwrap_or_default()
            )
        })
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.base, postgres::NoTls) {
            // The name is ours (letters, digits, underscores), not user input.
            let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}
