//! Capped exponential backoff with jitter for broker reconnects.

use rand::Rng;
use std::time::Duration;

/// Reconnect delays: `initial · 2^n`, capped at `max`, each drawn uniformly
/// from the upper half of that bound so a fleet of clients does not retry in
/// lockstep.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    /// A backoff starting at `initial` and never exceeding `max`.
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max: max.max(initial),
            attempt: 0,
        }
    }

    /// The next delay.
    pub fn next_delay(&mut self, rng: &mut impl Rng) -> Duration {
        let bound = self
            .initial
            .saturating_mul(1u32 << self.attempt.min(20))
            .min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let half = bound / 2;
        half + bound.saturating_sub(half).mul_f64(rng.gen::<f64>())
    }

    /// Back to `initial` after a successful connection.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};

    #[test]
    fn delays_grow_then_stay_under_the_cap() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let d: Vec<Duration> = (0..10).map(|_| b.next_delay(&mut rng)).collect();
        assert!(d[0] >= Duration::from_millis(50) && d[0] <= Duration::from_millis(100));
        assert!(d[3] >= Duration::from_millis(400));
        assert!(d.iter().all(|x| *x <= Duration::from_secs(2)));
        assert!(
            d[9] >= Duration::from_secs(1),
            "capped bound is reached, jitter keeps the upper half"
        );
    }

    #[test]
    fn reset_starts_over() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        for _ in 0..6 {
            b.next_delay(&mut rng);
        }
        b.reset();
        assert!(b.next_delay(&mut rng) <= Duration::from_millis(100));
    }
}
