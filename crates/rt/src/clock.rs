//! Wall time as epoch milliseconds, and a clock the live driver reads that
//! follows tokio's (pausable) time, so tests run the loop with paused time.

use tokio::time::Instant;

/// Now, epoch milliseconds of the system clock (0 before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Epoch milliseconds from tokio's clock, offset to epoch once at start.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base_ms: i64,
    base: Instant,
}

impl Clock {
    /// A clock reading `epoch_ms` now.
    pub fn starting_at(epoch_ms: i64) -> Clock {
        Clock {
            base_ms: epoch_ms,
            base: Instant::now(),
        }
    }

    /// A clock on wall time.
    pub fn wall() -> Clock {
        Clock::starting_at(now_ms())
    }

    /// Now, epoch ms.
    pub fn now_ms(&self) -> i64 {
        self.base_ms + self.base.elapsed().as_millis() as i64
    }
}
