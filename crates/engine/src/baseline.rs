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
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use swipewatch_model::{Dim, FastState, OutcomeClass, Sym};

/// EWMA of counts per bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Attempts per bucket.
    pub attempts: f32,
    /// Outcomes of each class per bucket.
    pub classes: [f32; OutcomeClass::COUNT],
}

impl Cell {
    fn learn(&mut self, c: &ClassCounts, alpha: f32) {
        self.attempts += alpha * (c.attempts() as f32 - self.attempts);
        for (e, &n) in self.classes.iter_mut().zip(&c.0) {
            *e += alpha * (n as f32 - *e);
        }
    }

    fn decay(&mut self, alpha: f32) {
        self.attempts *= 1.0 - alpha;
        self.classes.iter_mut().for_each(|e| *e *= 1.0 - alpha);
    }

    /// The second half of [`Cell::learn`] after [`Cell::decay`]:
    /// `e + a(n − e) = e(1 − a) + a·n`.
    fn add_scaled(&mut self, c: &ClassCounts, alpha: f32) {
        self.attempts += alpha * c.attempts() as f32;
        for (e, &n) in self.classes.iter_mut().zip(&c.0) {
            *e += alpha * n as f32;
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
            self.fleet.learn(&bucket.fleet, a);
        }
        for dim in Dim::ALL {
            let counts = &bucket.dims.0[dim.index()];
            let cells = &mut self.dims[dim.index()];
            if cells.len() < counts.len() {
                cells.resize(counts.len(), Cell::default());
            }
            let none_skipped = skip.values.is_empty();
            for (i, cell) in cells.iter_mut().enumerate() {
                if !none_skipped && skip.values.contains(&(dim, Sym(i as u32))) {
                    continue;
                }
                match counts.get(i) {
                    Some(c) => cell.learn(c, a),
                    None => cell.decay(a),
                }
            }
        }
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
            cell.attempts > floor || bucket.leaves.contains_key(k)
        });
        for (k, c) in &bucket.leaves {
            if !skipped(k) {
                self.leaves.entry(*k).or_default().add_scaled(c, a);
            }
        }
        self.buckets_learned += 1;
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
}
