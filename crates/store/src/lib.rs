//! Durable room history: the Store trait and its SQLite backend.
