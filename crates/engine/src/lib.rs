//! The window engine: turns the outcome stream into per-dimension,
//! per-class counts and baselines that detection can trust.
//!
//! Pure and synchronous: no runtime, no clock. The driver calls
//! [`Engine::record`] for each event, [`Engine::on_idle`] with processing time
//! when input is quiet, [`Engine::set_connected`] on broker state changes, and
//! [`Engine::poll_closed`] to collect the buckets the watermark has passed.
//! Replay and tests drive the same calls with event time only.
//!
//! * Event time is bucketed (default 10 s). The watermark is the newest event
//!   time minus the allowed lateness; a bucket closes once the watermark
//!   passes its end. Empty buckets close too: silence is data.
//! * An event for an already closed bucket is *late*: it is counted in a
//!   separate late tally per dimension value and never touches closed
//!   windows. A terminal clock off by more than the allowed skew is replaced
//!   by the arrival time and counted.
//! * While ingest is connected and input is idle, processing time advances
//!   the watermark so silence is seen; buckets that overlap a disconnection
//!   are marked `data_gap` instead.
//! * Counters exist for every value of every dimension and for the leaf
//!   combinations of the configured low-cardinality dimensions; dimension
//!   values are interned [`swipewatch_model::Sym`]s, so updates index arrays.
//! * Baselines are EWMAs of counts per value and leaf, shrunk toward the fleet
//!   rate for sparse values, and learn only from what detection calls normal.

mod baseline;
mod bucket;
mod counts;
mod engine;
pub mod latency;
mod terminal;

pub use baseline::{Anomalies, Baselines, Cell, LatencyBaseline};
pub use bucket::{Bucket, WindowSums};
pub use counts::{
    ClassCounts, DimTable, LeafId, LeafIndex, LeafKey, LeafTable, PerLeaf, MAX_LEAF_DIMS,
};
pub use engine::checkpoint::CheckpointError;
pub use engine::warm::{BaselineFile, BASELINE_VERSION};
pub use engine::{Engine, EngineStats, Settings, WindowSnapshot, PREFETCH_AHEAD};
pub use latency::LatencyTable;
pub use terminal::{
    is_hw_error, is_own_failure, Health, Recent, Tally, TerminalState, LONG_HALF_LIFE_MS, RECENT,
    RESTARTS_KEPT, RESTART_SPAN_MIN,
};
