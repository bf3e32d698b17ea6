//! One event-time bucket, and running sums over the evaluation window.

use crate::counts::{ClassCounts, DimTable, LeafId, LeafTable, PerLeaf, Touched, ValueSet};
use crate::latency::LatencyTable;
use serde::{Deserialize, Serialize};
use swipewatch_model::{Dim, DimValues, OutcomeClass, Sym};

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
    pub leaf_heartbeats: PerLeaf<u32>,
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
    /// Values with outcomes (`dims`, `fallbacks` and `latency` are zero
    /// elsewhere), listed when the bucket closes.
    pub touched: Touched,
    /// Values with heartbeats (`heartbeats` is zero elsewhere).
    pub beat_touched: Touched,
    /// Leaves with outcomes (`leaves` is zero elsewhere).
    pub leaf_touched: ValueSet,
    /// Leaves with heartbeats (`leaf_heartbeats` is zero elsewhere).
    pub leaf_beat_touched: ValueSet,
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

    /// Empties the bucket for reuse as `[start_ms, start_ms + width_ms)`,
    /// keeping its allocations: only the values it counted are zeroed.
    pub(crate) fn reset(&mut self, start_ms: i64, width_ms: i64) {
        for d in 0..Dim::COUNT {
            for i in self.touched[d].iter() {
                self.dims.0[d][i] = ClassCounts::default();
                if let Some(n) = self.fallbacks[d].get_mut(i) {
                    *n = 0;
                }
                self.latency.clear_value(d, i);
            }
            for i in self.beat_touched[d].iter() {
                self.heartbeats[d][i] = 0;
            }
            self.touched[d].clear();
            self.beat_touched[d].clear();
        }
        self.latency.fleet.fill(0);
        self.leaves.clear(&self.leaf_touched);
        self.leaf_heartbeats.clear(&self.leaf_beat_touched);
        self.leaf_touched.clear();
        self.leaf_beat_touched.clear();
        self.listed_terminals.clear();
        self.start_ms = start_ms;
        self.end_ms = start_ms + width_ms;
        self.fleet = ClassCounts::default();
        self.heartbeat_total = 0;
        self.fallback_total = 0;
        self.active_terminals = 0;
        self.data_gap = false;
    }

    /// Counts one outcome of `class` for every present value in `dims`
    /// (`touched` is filled in by [`Bucket::seal`]).
    #[inline]
    pub(crate) fn count_outcome(&mut self, dims: &DimValues, class: OutcomeClass) {
        self.dims.add(dims, class);
    }

    /// Counts one outcome of `class` for leaf `id`. Leaves are few beside
    /// the values of twelve dimensions, so they are listed as they are
    /// counted (cheaper than a pass over the table at close).
    #[inline]
    pub(crate) fn count_leaf(&mut self, id: LeafId, class: OutcomeClass) {
        self.leaves.add(id, class);
        self.leaf_touched.insert(id.index());
    }

    /// Counts one heartbeat for leaf `id`.
    #[inline]
    pub(crate) fn count_leaf_heartbeat(&mut self, id: LeafId) {
        *self.leaf_heartbeats.get_mut(id) += 1;
        self.leaf_beat_touched.insert(id.index());
    }

    /// Lists the values with outcomes, once the bucket is closed: one
    /// front-to-back pass over each table, where marking values as they
    /// were counted made the hot path slower (measured).
    pub(crate) fn seal(&mut self) {
        for (table, touched) in self.dims.0.iter().zip(&mut self.touched) {
            touched.clear();
            for (i, c) in table.iter().enumerate() {
                if !c.is_empty() {
                    touched.insert(i);
                }
            }
        }
    }

    /// Counts one heartbeat for every present value in `dims`.
    #[inline]
    pub(crate) fn count_heartbeat(&mut self, dims: &DimValues) {
        let tables = self.heartbeats.iter_mut().zip(&mut self.beat_touched);
        for ((counts, touched), &sym) in tables.zip(dims.as_array()) {
            if sym.is_some() {
                let i = sym.index();
                if i >= counts.len() {
                    counts.resize(i + 1, 0);
                }
                counts[i] += 1;
                touched.insert(i);
            }
        }
    }

    /// Counts one chip-to-stripe fallback for every present value in `dims`
    /// (after [`Bucket::count_outcome`] counted the outcome).
    #[inline]
    pub(crate) fn count_fallback(&mut self, dims: &DimValues) {
        for (counts, &sym) in self.fallbacks.iter_mut().zip(dims.as_array()) {
            if sym.is_some() {
                let i = sym.index();
                if i >= counts.len() {
                    counts.resize(i + 1, 0);
                }
                counts[i] += 1;
            }
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
        self.dims.merge_touched(&b.dims, &b.touched);
        self.latency.merge_touched(&b.latency, &b.touched);
        self.leaves.merge_touched(&b.leaves, &b.leaf_touched);
    }

    pub(crate) fn remove(&mut self, b: &Bucket, next_start_ms: i64) {
        self.start_ms = next_start_ms;
        self.buckets -= 1;
        self.gap_buckets -= usize::from(b.data_gap);
        self.fleet.subtract(&b.fleet);
        self.dims.subtract_touched(&b.dims, &b.touched);
        self.latency.subtract_touched(&b.latency, &b.touched);
        self.leaves.subtract_touched(&b.leaves, &b.leaf_touched);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts `n` outcomes (every third a fallback with a latency) and `n`
    /// heartbeats, over values starting at `first`.
    fn fill(b: &mut Bucket, first: u32, n: u32) {
        for i in 0..n {
            let mut dims = DimValues::default();
            dims.set(Dim::Merchant, Sym(first + i));
            dims.set(Dim::Carrier, Sym((first + i) % 3));
            b.count_outcome(&dims, OutcomeClass::Approved);
            if i % 3 == 0 {
                b.count_fallback(&dims);
                b.latency.add(&dims, 100 + i);
            }
            dims.set(Dim::Merchant, Sym(first + 2 * i));
            b.count_heartbeat(&dims);
            b.count_leaf(LeafId(i), OutcomeClass::Approved);
            b.count_leaf_heartbeat(LeafId(first + i));
        }
        b.seal();
    }

    #[test]
    fn a_reused_bucket_reads_like_a_new_one() {
        let mut reused = Bucket::new(0, 10_000, &[Dim::Carrier]);
        fill(&mut reused, 0, 50);
        reused.reset(10_000, 10_000);
        fill(&mut reused, 7, 20);
        let mut fresh = Bucket::new(10_000, 10_000, &[Dim::Carrier]);
        fill(&mut fresh, 7, 20);
        assert_eq!((reused.start_ms, reused.end_ms), (10_000, 20_000));
        for dim in [Dim::Merchant, Dim::Carrier] {
            let values = |b: &Bucket| b.dims.values(dim).map(|(s, c)| (s, *c)).collect::<Vec<_>>();
            assert_eq!(values(&reused), values(&fresh), "{dim:?}");
            let nonzero = |v: &[u32]| {
                v.iter()
                    .enumerate()
                    .filter(|(_, &n)| n > 0)
                    .map(|(i, &n)| (i, n))
                    .collect::<Vec<_>>()
            };
            let d = dim.index();
            assert_eq!(
                nonzero(&reused.heartbeats[d]),
                nonzero(&fresh.heartbeats[d])
            );
            assert_eq!(nonzero(&reused.fallbacks[d]), nonzero(&fresh.fallbacks[d]));
        }
        for c in 0..3 {
            let h = |b: &Bucket| b.latency.histogram(Dim::Carrier, Sym(c)).to_vec();
            assert_eq!(h(&reused), h(&fresh));
        }
        assert_eq!(reused.latency.fleet, fresh.latency.fleet);
        let leaves = |b: &Bucket| b.leaves.iter().map(|(k, c)| (k, *c)).collect::<Vec<_>>();
        assert_eq!(leaves(&reused), leaves(&fresh));
        let beats = |b: &Bucket| {
            b.leaf_heartbeats
                .iter()
                .map(|(k, n)| (k, *n))
                .collect::<Vec<_>>()
        };
        assert_eq!(beats(&reused), beats(&fresh));
        assert_eq!(
            reused.leaf_touched.iter().collect::<Vec<_>>(),
            fresh.leaf_touched.iter().collect::<Vec<_>>()
        );
        let members = |t: &Touched| {
            t.iter()
                .map(|s| s.iter().collect())
                .collect::<Vec<Vec<_>>>()
        };
        assert_eq!(members(&reused.touched), members(&fresh.touched));
        assert_eq!(members(&reused.beat_touched), members(&fresh.beat_touched));
    }

    #[test]
    fn window_sums_follow_the_touched_values() {
        let (mut a, mut b) = (Bucket::default(), Bucket::default());
        fill(&mut a, 0, 40);
        fill(&mut b, 30, 40);
        let mut sums = WindowSums::default();
        sums.add(&a);
        sums.add(&b);
        let mut whole = a.dims.clone();
        whole.merge(&b.dims);
        assert_eq!(
            sums.dims.values(Dim::Merchant).count(),
            whole.values(Dim::Merchant).count()
        );
        for (sym, c) in whole.values(Dim::Merchant) {
            assert_eq!(sums.dims.get(Dim::Merchant, sym), *c);
        }
        sums.remove(&a, b.start_ms);
        for (sym, c) in b.dims.values(Dim::Merchant) {
            assert_eq!(sums.dims.get(Dim::Merchant, sym), *c);
        }
        assert_eq!(sums.dims.values(Dim::Merchant).count(), 40);
        let leaves = |t: &LeafTable| t.iter().map(|(k, c)| (k, *c)).collect::<Vec<_>>();
        assert_eq!(leaves(&sums.leaves), leaves(&b.leaves));
        sums.remove(&b, b.end_ms);
        assert_eq!(sums.leaves.iter().count(), 0);
    }
}
