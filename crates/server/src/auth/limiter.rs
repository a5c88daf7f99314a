//! Rate limits: token buckets keyed by client address or account, in bounded memory.
//!
//! A bucket holds up to `capacity` tokens and refills at `capacity / window`; each event
//! takes one. Keys live in two generations: when the current one is full the previous is
//! dropped whole and the current becomes the previous, so memory is bounded and a key
//! touched within a generation is kept (a key that was untouched that long has refilled
//! anyway, unless a flood of new keys pushed it out — which costs the flooder the same).

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

/// One bucket; also used alone (a connection's message rate).
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
}

/// A bucket's shape: how many events at once, refilled over how long.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    /// Events allowed in a burst (0: unlimited).
    pub capacity: u32,
    /// Time to refill from empty.
    pub window: Duration,
}

impl Rate {
    pub fn new(capacity: u32, window: Duration) -> Self {
        Rate { capacity, window }
    }

    fn per_sec(&self) -> f64 {
        f64::from(self.capacity) / self.window.as_secs_f64().max(1e-9)
    }

    pub fn unlimited(&self) -> bool {
        self.capacity == 0
    }
}

impl Bucket {
    pub fn full(rate: &Rate, now: Instant) -> Self {
        Bucket {
            tokens: f64::from(rate.capacity),
            at: now,
        }
    }

    fn refill(&mut self, rate: &Rate, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate.per_sec()).min(f64::from(rate.capacity));
        self.at = now;
    }

    /// `Err(wait)` when no token is left: how long until one is.
    pub fn check(&mut self, rate: &Rate, now: Instant) -> Result<(), Duration> {
        if rate.unlimited() {
            return Ok(());
        }
        self.refill(rate, now);
        if self.tokens >= 1.0 {
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / rate.per_sec(),
            ))
        }
    }

    /// Take a token (down to zero).
    pub fn charge(&mut self, rate: &Rate, now: Instant) {
        if rate.unlimited() {
            return;
        }
        self.refill(rate, now);
        self.tokens = (self.tokens - 1.0).max(0.0);
    }

    /// Check, and take a token when there is one.
    pub fn take(&mut self, rate: &Rate, now: Instant) -> Result<(), Duration> {
        self.check(rate, now)?;
        self.charge(rate, now);
        Ok(())
    }
}

/// Buckets by key, at most `max_keys` of them.
pub struct Limiter<K> {
    rate: Rate,
    max_keys: usize,
    generations: Mutex<(HashMap<K, Bucket>, HashMap<K, Bucket>)>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    pub fn new(rate: Rate, max_keys: usize) -> Self {
        Limiter {
            rate,
            max_keys: max_keys.max(2),
            generations: Mutex::new((HashMap::new(), HashMap::new())),
        }
    }

    fn with<T>(&self, key: &K, now: Instant, f: impl FnOnce(&mut Bucket, &Rate) -> T) -> T {
        let mut guard = self.generations.lock();
        let (current, previous) = &mut *guard;
        if !current.contains_key(key) {
            let bucket = previous
                .remove(key)
                .unwrap_or_else(|| Bucket::full(&self.rate, now));
            if current.len() >= self.max_keys / 2 {
                *previous = std::mem::take(current);
            }
            current.insert(key.clone(), bucket);
        }
        let bucket = current
            .get_mut(key)
            .unwrap_or_else(|| unreachable!("inserted above"));
        f(bucket, &self.rate)
    }

    pub fn check(&self, key: &K) -> Result<(), Duration> {
        if self.rate.unlimited() {
            return Ok(());
        }
        self.with(key, Instant::now(), |b, rate| b.check(rate, Instant::now()))
    }

    pub fn charge(&self, key: &K) {
        if self.rate.unlimited() {
            return;
        }
        self.with(key, Instant::now(), |b, rate| {
            b.charge(rate, Instant::now())
        });
    }

    pub fn take(&self, key: &K) -> Result<(), Duration> {
        if self.rate.unlimited() {
            return Ok(());
        }
        self.with(key, Instant::now(), |b, rate| b.take(rate, Instant::now()))
    }

    /// Keys held now (for tests).
    #[cfg(test)]
    pub fn keys(&self) -> usize {
        let guard = self.generations.lock();
        guard.0.len() + guard.1.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_bucket_allows_its_capacity_then_refills_over_its_window() {
        let limiter = Limiter::new(Rate::new(5, Duration::from_secs(60)), 100);
        for _ in 0..5 {
            assert!(limiter.take(&"ada").is_ok());
        }
        let wait = limiter.take(&"ada").expect_err("the sixth is refused");
        assert!(
            wait > Duration::from_secs(11) && wait <= Duration::from_secs(12),
            "{wait:?}"
        );
        // Other keys have their own bucket.
        assert!(limiter.take(&"bob").is_ok());
        tokio::time::advance(Duration::from_secs(12)).await;
        assert!(limiter.take(&"ada").is_ok(), "one token back after 12 s");
        assert!(limiter.take(&"ada").is_err());
        tokio::time::advance(Duration::from_secs(600)).await;
        for _ in 0..5 {
            assert!(limiter.take(&"ada").is_ok(), "never more than the capacity");
        }
        assert!(limiter.take(&"ada").is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn check_does_not_spend_and_charge_does() {
        let limiter = Limiter::new(Rate::new(2, Duration::from_secs(60)), 100);
        for _ in 0..10 {
            assert!(limiter.check(&1).is_ok());
        }
        limiter.charge(&1);
        limiter.charge(&1);
        assert!(limiter.check(&1).is_err());
        limiter.charge(&1); // stays at zero, does not go into debt
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(limiter.check(&1).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn memory_is_bounded_and_recent_keys_survive() {
        let limiter = Limiter::new(Rate::new(1, Duration::from_secs(3600)), 1000);
        assert!(limiter.take(&0u32).is_ok());
        for key in 1..100_000u32 {
            let _ = limiter.take(&key);
            // A key used all along keeps its (empty) bucket.
            if key % 100 == 0 {
                assert!(limiter.take(&0).is_err(), "at {key}");
            }
            assert!(limiter.keys() <= 1000);
        }
    }

    #[test]
    fn zero_means_unlimited() {
        let limiter = Limiter::new(Rate::new(0, Duration::from_secs(1)), 10);
        for _ in 0..1000 {
            assert!(limiter.take(&"x").is_ok());
        }
        assert_eq!(limiter.keys(), 0);
    }
}
