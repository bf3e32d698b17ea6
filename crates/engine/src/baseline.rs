//! Baselines: what failure rate is normal for each value and leaf.
//!
//! Each cell is an EWMA of per-bucket counts (attempts and each class), so a
//! rate is a traffic-weighted average and quiet buckets decay it. A sparse
//! value's rate is shrunk toward the fleet rate (empirical Bayes with
//! `shrinkage_attempts` pseudo-attempts): two failures out of three on a
//! quiet merchant look like the fleet, not like an outage. Cells flagged
//! anomalous by detection skip learning, so an outage does not become the
//! new normal.

use crate::bucket::Bucket;
use crate::counts::{ClassCounts, LeafKey};
use crate::latency::{LatencyTable, BINS};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use swipewatch_model::{Dim, FastState, OutcomeClass, Sym};

/// EWMA of counts per bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Attempts per bucket.
    pub attempts: f32,
    /// Heartbeats per bucket (silence of quiet hours is judged on them).
    pub heartbeats: f32,
    /// Chip-to-stripe fallbacks per bucket (dimension values only).
    pub fallbacks: f32,
    /// Outcomes of each class per bucket.
    pub classes: [f32; OutcomeClass::COUNT],
}

/// What one bucket counted for one cell, besides outcomes.
#[derive(Debug, Clone, Copy, Default)]
struct Extra {
    heartbeats: u32,
    fallbacks: u32,
}

impl Cell {
    fn learn(&mut self, c: &ClassCounts, x: Extra, alpha: f32) {
        self.decay(alpha);
        self.add_scaled(c, x, alpha);
    }

    fn decay(&mut self, alpha: f32) {
        self.attempts *= 1.0 - alpha;
        self.heartbeats *= 1.0 - alpha;
        self.fallbacks *= 1.0 - alpha;
        self.classes.iter_mut().for_each(|e| *e *= 1.0 - alpha);
    }

    /// The second half of [`Cell::learn`] after [`Cell::decay`]:
    /// `e + a(n − e) = e(1 − a) + a·n`.
    fn add_scaled(&mut self, c: &ClassCounts, x: Extra, alpha: f32) {
        self.attempts += alpha * c.attempts() as f32;
        self.heartbeats += alpha * x.heartbeats as f32;
        self.fallbacks += alpha * x.fallbacks as f32;
        for (e, &n) in self.classes.iter_mut().zip(&c.0) {
            *e += alpha * n as f32;
        }
    }

    /// Nothing left to remember.
    fn is_faded(&self, floor: f32) -> bool {
        self.attempts <= floor && self.heartbeats <= floor
    }

    /// Chip-to-stripe fallbacks per attempt.
    pub fn fallback_rate(&self) -> f64 {
        if self.attempts <= 0.0 {
            0.0
        } else {
            f64::from(self.fallbacks) / f64::from(self.attempts)
        }
    }

    fn raw_rate(&self, class: OutcomeClass) -> f64 {
        if self.attempts <= 0.0 {
            0.0
        } else {
            f64::from(self.classes[class.index()]) / f64::from(self.attempts)
        }
    }
}

/// What detection found abnormal in a bucket: these cells keep their old
/// baseline instead of learning from it.
#[derive(Debug, Clone, Default)]
pub struct Anomalies {
    /// The fleet as a whole was abnormal.
    pub fleet: bool,
    /// Abnormal dimension values (leaves containing them skip learning too).
    pub values: HashSet<(Dim, Sym)>,
}

/// Baselines for the fleet, every dimension value and every leaf.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Baselines {
    /// The fleet.
    pub fleet: Cell,
    /// Per dimension value, indexed by [`Sym`].
    pub dims: [Vec<Cell>; Dim::COUNT],
    /// Per leaf.
    pub leaves: HashMap<LeafKey, Cell, FastState>,
    /// Latency distributions of the fleet and of each tracked value.
    pub latency: LatencyBaseline,
    /// Buckets learned from.
    pub buckets_learned: u64,
    alpha: f32,
    shrink: f64,
}

impl Baselines {
    /// Empty baselines; `alpha` per bucket, `shrink` pseudo-attempts.
    pub fn new(alpha: f64, shrink: f64) -> Baselines {
        Baselines {
            alpha: alpha as f32,
            shrink,
            ..Baselines::default()
        }
    }

    /// Learns from one closed bucket, except where `skip` says not to.
    pub fn learn(&mut self, bucket: &Bucket, skip: &Anomalies, leaf_dims: &[Dim]) {
        let a = self.alpha;
        if !skip.fleet {
            let x = Extra {
                heartbeats: bucket.heartbeat_total,
                fallbacks: bucket.fallback_total,
            };
            self.fleet.learn(&bucket.fleet, x, a);
        }
        let none = ClassCounts::default();
        for dim in Dim::ALL {
            let d = dim.index();
            let (counts, beats, falls) = (
                &bucket.dims.0[d],
                &bucket.heartbeats[d],
                &bucket.fallbacks[d],
            );
            let cells = &mut self.dims[d];
            let len = counts.len().max(beats.len());
            if cells.len() < len {
                cells.resize(len, Cell::default());
            }
            let none_skipped = skip.values.is_empty();
            for (i, cell) in cells.iter_mut().enumerate() {
                if !none_skipped && skip.values.contains(&(dim, Sym(i as u32))) {
                    continue;
                }
                let x = Extra {
                    heartbeats: beats.get(i).copied().unwrap_or(0),
                    fallbacks: falls.get(i).copied().unwrap_or(0),
                };
                cell.learn(counts.get(i).unwrap_or(&none), x, a);
            }
        }
        self.latency.learn(&bucket.latency, skip, a);
        let skipped = |k: &LeafKey| {
            !skip.values.is_empty()
                && leaf_dims
                    .iter()
                    .zip(k)
                    .any(|(d, s)| skip.values.contains(&(*d, *s)))
        };
        // Every leaf decays in one pass over the table, and the bucket's
        // leaves then add their share (`learn` = decay + add), so no leaf
        // of the baselines is looked up by key. Leaves decayed to nothing
        // are forgotten in the same pass (bounded memory). The floor is a
        // hundredth of what one event adds, so a leaf that just appeared
        // is kept while it learns (a fixed floor dropped sparse leaves
        // after their first bucket at small `alpha`, and skewed the
        // leaves' shares of traffic toward the busy ones).
        let floor = self.alpha * 1e-2;
        self.leaves.retain(|k, cell| {
            if !skipped(k) {
                cell.decay(a);
            }
            !cell.is_faded(floor)
                || bucket.leaves.contains_key(k)
                || bucket.leaf_heartbeats.contains_key(k)
        });
        for (k, c) in &bucket.leaves {
            if !skipped(k) {
                let cell = self.leaves.entry(*k).or_default();
                cell.add_scaled(c, Extra::default(), a);
            }
        }
        for (k, &n) in &bucket.leaf_heartbeats {
            if !skipped(k) {
                let x = Extra {
                    heartbeats: n,
                    fallbacks: 0,
                };
                let cell = self.leaves.entry(*k).or_default();
                cell.add_scaled(&none, x, a);
            }
        }
        self.buckets_learned += 1;
    }

    /// The cell of `dim = sym`, if it was ever learned.
    pub fn cell(&self, dim: Dim, sym: Sym) -> Option<&Cell> {
        self.dims[dim.index()].get(sym.index())
    }

    /// Applies current settings (after a restore).
    pub(crate) fn set_params(&mut self, alpha: f64, shrink: f64) {
        self.alpha = alpha as f32;
        self.shrink = shrink;
    }

    /// Fleet rate of `class` (per attempt).
    pub fn fleet_rate(&self, class: OutcomeClass) -> f64 {
        self.fleet.raw_rate(class)
    }

    fn shrunk(&self, cell: Option<&Cell>, class: OutcomeClass) -> f64 {
        let parent = self.fleet_rate(class);
        match cell {
            Some(c) => {
                let n = f64::from(c.attempts);
                (f64::from(c.classes[class.index()]) + self.shrink * parent)
                    / (n + self.shrink).max(f64::MIN_POSITIVE)
            }
            None => parent,
        }
    }

    /// Expected rate of `class` for `dim = sym`, shrunk toward the fleet.
    pub fn rate(&self, dim: Dim, sym: Sym, class: OutcomeClass) -> f64 {
        self.shrunk(self.dims[dim.index()].get(sym.index()), class)
    }

    /// Expected rate of `class` for a leaf, shrunk toward the fleet.
    pub fn leaf_rate(&self, key: &LeafKey, class: OutcomeClass) -> f64 {
        self.shrunk(self.leaves.get(key), class)
    }

    /// A leaf's cell, to read several classes' rates with one lookup
    /// ([`Baselines::cell_rate`]).
    pub fn leaf_cell(&self, key: &LeafKey) -> Option<&Cell> {
        self.leaves.get(key)
    }

    /// Expected rate of `class` for `cell` (none: never seen), shrunk
    /// toward the fleet; `leaf_rate(k, c) == cell_rate(leaf_cell(k), c)`.
    pub fn cell_rate(&self, cell: Option<&Cell>, class: OutcomeClass) -> f64 {
        self.shrunk(cell, class)
    }
}

/// EWMA latency histograms: per bucket, how many outcomes fell in each bin,
/// for the fleet and for every value of the tracked dimensions. Compared
/// with the window's histograms, they tell whether a value got slower than
/// it normally is (`latency` detection).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyBaseline {
    /// The fleet, `BINS` entries.
    pub fleet: Vec<f32>,
    /// Per dimension, `BINS` entries per value, indexed by `sym * BINS + bin`.
    per_dim: [Vec<f32>; Dim::COUNT],
}

impl LatencyBaseline {
    fn learn(&mut self, t: &LatencyTable, skip: &Anomalies, a: f32) {
        let blend = |mine: &mut [f32], theirs: &[u32]| {
            for (e, &n) in mine.iter_mut().zip(theirs) {
                *e += a * (n as f32 - *e);
            }
        };
        if self.fleet.len() < BINS {
            self.fleet.resize(BINS, 0.0);
        }
        if !skip.fleet {
            blend(&mut self.fleet, &t.fleet);
        }
        for dim in Dim::ALL {
            let theirs = t.per_dim(dim);
            let mine = &mut self.per_dim[dim.index()];
            if mine.len() < theirs.len() {
                mine.resize(theirs.len(), 0.0);
            }
            for (i, hist) in mine.chunks_exact_mut(BINS).enumerate() {
                if !skip.values.is_empty() && skip.values.contains(&(dim, Sym(i as u32))) {
                    continue;
                }
                match theirs.get(i * BINS..(i + 1) * BINS) {
                    Some(counts) => blend(hist, counts),
                    None => hist.iter_mut().for_each(|e| *e *= 1.0 - a),
                }
            }
        }
    }

    /// The histogram of `dim = sym`, outcomes per bucket in each bin
    /// (empty if the value was never tracked).
    pub fn histogram(&self, dim: Dim, sym: Sym) -> &[f32] {
        let v = &self.per_dim[dim.index()];
        let start = sym.index() * BINS;
        v.get(start..start + BINS).unwrap_or(&[])
    }

    /// Every tracked value of `dim`, with its histogram.
    pub fn values(&self, dim: Dim) -> impl Iterator<Item = (Sym, &[f32])> {
        self.per_dim[dim.index()]
            .chunks_exact(BINS)
            .enumerate()
            .map(|(i, h)| (Sym(i as u32), h))
    }

    pub(crate) fn set_histogram(&mut self, dim: Dim, sym: Sym, hist: &[f32]) {
        let v = &mut self.per_dim[dim.index()];
        let start = sym.index() * BINS;
        if v.len() < start + BINS {
            v.resize(start + BINS, 0.0);
        }
        let n = hist.len().min(BINS);
        v[start..start + n].copy_from_slice(&hist[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use swipewatch_model::DimValues;

    fn bucket(carrier: u32, attempts: u32, failures: u32) -> Bucket {
        let mut b = Bucket::default();
        let mut dims = DimValues::default();
        dims.set(Dim::Carrier, Sym(carrier));
        for i in 0..attempts {
            let class = if i < failures {
                OutcomeClass::Comms
            } else {
                OutcomeClass::Approved
            };
            b.fleet.add(class);
            b.dims.add(&dims, class);
        }
        b
    }

    #[test]
    fn a_sparse_value_is_shrunk_toward_the_fleet() {
        let mut bl = Baselines::new(0.5, 200.0);
        let mut b = bucket(0, 10_000, 100); // fleet: 1 % comms
        let quiet = bucket(1, 3, 2); // a quiet value: 2 of 3
        b.fleet.merge(&quiet.fleet);
        b.dims.merge(&quiet.dims);
        for _ in 0..20 {
            bl.learn(&b, &Anomalies::default(), &[]);
        }
        let quiet_rate = bl.rate(Dim::Carrier, Sym(1), OutcomeClass::Comms);
        assert!(
            quiet_rate < 0.03,
            "2/3 on a quiet value must not become its normal: {quiet_rate}"
        );
        let busy = bl.rate(Dim::Carrier, Sym(0), OutcomeClass::Comms);
        assert!((busy - 0.01).abs() < 0.002, "{busy}");
    }

    #[test]
    fn anomalous_values_do_not_learn_the_outage() {
        let mut bl = Baselines::new(0.5, 0.0);
        for _ in 0..20 {
            bl.learn(&bucket(0, 1000, 10), &Anomalies::default(), &[]);
        }
        let skip = Anomalies {
            fleet: true,
            values: [(Dim::Carrier, Sym(0))].into_iter().collect(),
        };
        for _ in 0..20 {
            bl.learn(&bucket(0, 1000, 900), &skip, &[]);
        }
        let rate = bl.rate(Dim::Carrier, Sym(0), OutcomeClass::Comms);
        assert!(
            (rate - 0.01).abs() < 1e-3,
            "outage leaked into the baseline: {rate}"
        );
        bl.learn(&bucket(0, 1000, 900), &Anomalies::default(), &[]);
        assert!(
            bl.rate(Dim::Carrier, Sym(0), OutcomeClass::Comms) > 0.3,
            "learning resumes when not flagged"
        );
    }

    #[test]
    fn latency_baselines_learn_per_value_and_skip_anomalous_ones() {
        let mut bl = Baselines::new(0.5, 0.0);
        let mut b = Bucket::new(0, 10_000, &[Dim::Issuer]);
        let mut dims = DimValues::default();
        for (issuer, ms) in [(0, 400), (1, 400)] {
            dims.set(Dim::Issuer, Sym(issuer));
            for _ in 0..10 {
                b.latency.add(&dims, ms);
            }
        }
        for _ in 0..20 {
            bl.learn(&b, &Anomalies::default(), &[]);
        }
        let bin400 = crate::latency::bin(400);
        let normal = bl.latency.histogram(Dim::Issuer, Sym(1))[bin400];
        assert!((normal - 10.0).abs() < 1e-3, "{normal}");
        // Issuer 1 turns slow; flagged, it keeps its normal; issuer 0 learns.
        let mut slow = Bucket::new(0, 10_000, &[Dim::Issuer]);
        for issuer in [0, 1] {
            dims.set(Dim::Issuer, Sym(issuer));
            for _ in 0..10 {
                slow.latency.add(&dims, 3_000);
            }
        }
        let skip = Anomalies {
            fleet: false,
            values: [(Dim::Issuer, Sym(1))].into_iter().collect(),
        };
        bl.learn(&slow, &skip, &[]);
        assert_eq!(bl.latency.histogram(Dim::Issuer, Sym(1))[bin400], normal);
        assert!(bl.latency.histogram(Dim::Issuer, Sym(0))[bin400] < 6.0);
    }
}
