//! One event-time bucket, and running sums over the evaluation window.

use crate::counts::{ClassCounts, DimTable, LeafKey, LeafTable};
use crate::latency::LatencyTable;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use swipewatch_model::Dim;
use swipewatch_model::Sym;
use swipewatch_model::{DimValues, FastState};

/// Everything counted for one event-time bucket `[start_ms, end_ms)`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// Start, epoch ms (inclusive).
    pub start_ms: i64,
    /// End, epoch ms (exclusive).
    pub end_ms: i64,
    /// Whole-fleet counts.
    pub fleet: ClassCounts,
    /// Counts per dimension value.
    pub dims: DimTable,
    /// Counts per leaf of the leaf dimensions.
    pub leaves: LeafTable,
    /// Host round-trip latency histograms (fleet and tracked dimensions).
    pub latency: LatencyTable,
    /// Heartbeats per dimension value.
    pub heartbeats: [Vec<u32>; Dim::COUNT],
    /// Heartbeats in the bucket.
    pub heartbeat_total: u32,
    /// Heartbeats per leaf of the leaf dimensions (silence of carrier ×
    /// region pairs when few transactions flow).
    pub leaf_heartbeats: HashMap<LeafKey, u32, FastState>,
    /// Chip-to-stripe fallbacks per dimension value.
    pub fallbacks: [Vec<u32>; Dim::COUNT],
    /// Chip-to-stripe fallbacks in the bucket.
    pub fallback_total: u32,
    /// Distinct terminals that sent an outcome or heartbeat in the bucket.
    pub active_terminals: u32,
    /// Terminals for detection to test on their own: with card-reader or
    /// PIN-pad errors, failures of their own, fallbacks, or within a run of
    /// failures in the bucket (each listed a few times at most).
    pub listed_terminals: Vec<Sym>,
    /// The bucket overlaps a broker disconnection: absence of data here is
    /// swipewatch's own gap, not silence of the fleet.
    pub data_gap: bool,
}

impl Bucket {
    pub(crate) fn new(start_ms: i64, width_ms: i64, latency_dims: &[Dim]) -> Bucket {
        Bucket {
            start_ms,
            end_ms: start_ms + width_ms,
            latency: LatencyTable::new(latency_dims),
            ..Bucket::default()
        }
    }
}

/// Adds one to the counter of every present value in `dims`.
#[inline]
pub(crate) fn count_values(counts: &mut [Vec<u32>; Dim::COUNT], dims: &DimValues) {
    for (counts, &sym) in counts.iter_mut().zip(dims.as_array()) {
        if sym.is_some() {
            let i = sym.index();
            if i >= counts.len() {
                counts.resize(i + 1, 0);
            }
            counts[i] += 1;
        }
    }
}

/// Counts summed over the last closed buckets (the evaluation window),
/// maintained incrementally as buckets enter and leave.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowSums {
    /// Start of the oldest bucket in the window.
    pub start_ms: i64,
    /// End of the newest bucket in the window.
    pub end_ms: i64,
    /// Buckets in the window.
    pub buckets: usize,
    /// Buckets in the window marked as data gap.
    pub gap_buckets: usize,
    /// Whole-fleet counts.
    pub fleet: ClassCounts,
    /// Counts per dimension value.
    pub dims: DimTable,
    /// Counts per leaf.
    pub leaves: LeafTable,
    /// Latency histograms.
    pub latency: LatencyTable,
}

impl WindowSums {
    pub(crate) fn add(&mut self, b: &Bucket) {
        if self.buckets == 0 {
            self.start_ms = b.start_ms;
        }
        self.end_ms = b.end_ms;
        self.buckets += 1;
        self.gap_buckets += usize::from(b.data_gap);
        self.fleet.merge(&b.fleet);
        self.dims.merge(&b.dims);
        self.latency.merge(&b.latency);
        for (k, c) in &b.leaves {
            self.leaves.entry(*k).or_default().merge(c);
        }
    }

    pub(crate) fn remove(&mut self, b: &Bucket, next_start_ms: i64) {
        self.start_ms = next_start_ms;
        self.buckets -= 1;
        self.gap_buckets -= usize::from(b.data_gap);
        self.fleet.subtract(&b.fleet);
        self.dims.subtract(&b.dims);
        self.latency.subtract(&b.latency);
        for (k, c) in &b.leaves {
            if let Some(w) = self.leaves.get_mut(k) {
                w.subtract(c);
                if w.is_empty() {
                    self.leaves.remove(k);
                }
            }
        }
    }
}
