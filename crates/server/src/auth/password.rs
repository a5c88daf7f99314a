//! Password hashing with argon2id (OWASP's recommended parameters: 19 MiB, 2 passes, one
//! lane — the `argon2` crate's defaults). A hash costs tens of milliseconds of CPU and
//! 19 MiB, so it runs on a blocking thread, a few at a time, with a bounded queue: a
//! flood of sign-ins waits or gets a 503, it never takes the whole machine.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tokio::sync::Semaphore;

use crate::ApiError;

/// Hashes running at once, and waiting beyond those before a 503.
const WORKERS: usize = 2;
const QUEUE: usize = 64;

pub struct Passwords {
    workers: Semaphore,
    /// Jobs admitted (running or waiting).
    admitted: AtomicUsize,
}

impl Default for Passwords {
    fn default() -> Self {
        Passwords {
            workers: Semaphore::new(WORKERS),
            admitted: AtomicUsize::new(0),
        }
    }
}

struct Admission<'a>(&'a AtomicUsize);

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Passwords {
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let admitted = self.admitted.fetch_add(1, Ordering::AcqRel);
        let _admission = Admission(&self.admitted);
        if admitted >= WORKERS + QUEUE {
            return Err(ApiError::Unavailable(
                "too many sign-ins at once; try again in a moment".into(),
            ));
        }
        let _worker = self
            .workers
            .acquire()
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
        tokio::task::spawn_blocking(job)
            .await
            .map_err(|e| ApiError::Internal(e.into()))
    }

    /// The PHC string of a new hash of `password`.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.run(move || hash_now(&password))
            .await?
            .map_err(ApiError::Internal)
    }

    /// Whether `password` matches `stored`. With no stored hash (no such account) a dummy
    /// hash is checked instead, so the answer takes as long either way.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, ApiError> {
        self.run(move || match stored {
            Some(stored) => verify_now(&password, &stored),
            None => {
                let _ = verify_now(&password, dummy_hash());
                false
            }
        })
        .await
    }
}

fn hash_now(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

fn verify_now(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(error) => {
            tracing::error!(%error, "a stored password hash does not parse");
            false
        }
    }
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_now("not anyone's password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash_now("correct horse").expect("hash");
        let b = hash_now("correct horse").expect("hash");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(!a.contains("correct horse"));
        assert!(verify_now("correct horse", &a));
        assert!(!verify_now("correct horsE", &a));
        assert!(!verify_now("correct horse", "not a hash"));
    }
}
