//! Runs untrusted programs in a throw-away sandbox (work in progress).
