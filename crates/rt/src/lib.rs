//! Runtime support shared by swipewatch's async shells (ingest, delivery,
//! the live driver): one backoff with jitter, one retry policy that also
//! decides which failures are worth a log line, and the clocks. Nothing
//! here knows about payments; the pure crates (engine, diagnose, alert)
//! take time as an argument and never depend on this one.

mod backoff;
mod clock;
mod retry;

pub use backoff::Backoff;
pub use clock::{now_ms, Clock};
pub use retry::{Failed, Retry};
