//! The one retry policy of every delivery and connection: capped
//! exponential backoff with jitter, and a log throttle (the first failure
//! in a row and every 20th after it get a line), so a receiver that is
//! down for an hour neither floods the log nor goes unreported.

use crate::Backoff;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use std::time::Duration;

/// Failures in a row between two log lines after the first.
const LOG_EVERY: u64 = 20;

/// A retry schedule and its failure count.
#[derive(Debug)]
pub struct Retry {
    backoff: Backoff,
    failures: u64,
    rng: SmallRng,
}

/// What to do after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failed {
    /// Wait this long before the next attempt.
    pub delay: Duration,
    /// Failures in a row so far (this one included).
    pub failures: u64,
    /// Whether this failure deserves a log line.
    pub log: bool,
}

impl Retry {
    /// Delays from `initial` doubling up to `max`, each drawn in the upper
    /// half of its bound.
    pub fn new(initial: Duration, max: Duration) -> Retry {
        Retry {
            backoff: Backoff::new(initial, max),
            failures: 0,
            rng: SmallRng::from_entropy(),
        }
    }

    /// As [`Retry::new`], with jitter drawn from `seed` (tests).
    pub fn seeded(initial: Duration, max: Duration, seed: u64) -> Retry {
        Retry {
            rng: SmallRng::seed_from_u64(seed),
            ..Retry::new(initial, max)
        }
    }

    /// An attempt failed: how long to wait, and whether to say so.
    pub fn failed(&mut self) -> Failed {
        self.failures += 1;
        Failed {
            delay: self.backoff.next_delay(&mut self.rng),
            failures: self.failures,
            log: self.failures == 1 || self.failures % LOG_EVERY == 0,
        }
    }

    /// An attempt succeeded: the schedule starts over.
    pub fn succeeded(&mut self) {
        self.failures = 0;
        self.backoff.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_log_the_first_and_every_twentieth_and_success_starts_over() {
        let mut r = Retry::seeded(Duration::from_millis(100), Duration::from_secs(1), 3);
        let logged: Vec<u64> = (0..45)
            .map(|_| r.failed())
            .filter(|f| f.log)
            .map(|f| f.failures)
            .collect();
        assert_eq!(logged, vec![1, 20, 40]);
        r.succeeded();
        let next = r.failed();
        assert!(next.log && next.failures == 1);
        assert!(next.delay <= Duration::from_millis(100));
    }

    #[test]
    fn delays_never_exceed_the_cap() {
        let mut r = Retry::seeded(Duration::from_millis(100), Duration::from_secs(1), 9);
        assert!((0..100).all(|_| r.failed().delay <= Duration::from_secs(1)));
    }
}
