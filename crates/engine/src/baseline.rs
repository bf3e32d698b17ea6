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
use crate::counts::{ClassCounts, LeafId, LeafIndex, PREFETCH_VALUES};
use crate::latency::{LatencyTable, BINS};
use prefetch_index::prefetch_index;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use swipewatch_model::{Dim, OutcomeClass, Sym};

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
        self.scale(1.0 - alpha);
    }

    fn scale(&mut self, f: f32) {
        self.attempts *= f;
        self.heartbeats *= f;
        self.fallbacks *= f;
        self.classes.iter_mut().for_each(|e| *e *= f);
    }

    /// The second half of [`Cell::learn`] after [`Cell::decay`]:
    /// `e + a(n − e) = e(1 − a) + a·n`.
    ///
    /// A failure class's count is learned clipped at what the cell's rate
    /// expects of the bucket's attempts plus three standard deviations and
    /// three (a Huber-style robust EWMA). Detection flags an outage only
    /// after its first windows, and a fault that is never flagged (too
    /// small, or hidden under another) would otherwise be learned whole:
    /// in a story where some fault is always starting, the fleet's rate of
    /// a class climbs to the outage's and the next outage is found late.
    /// A lasting change of the normal is still learned, three deviations a
    /// bucket at a time.
    fn add_scaled(&mut self, c: &ClassCounts, x: Extra, alpha: f32) {
        let attempts = c.attempts() as f32;
        let known = self.attempts > 0.0;
        let per_attempt = if known { attempts / self.attempts } else { 0.0 };
        for (k, (e, &n)) in self.classes.iter_mut().zip(&c.0).enumerate() {
            let mut n = n as f32;
            if known && OutcomeClass::ALL[k].is_failure() {
                let expected = *e * per_attempt;
                if n > expected + 3.0 {
                    n = n.min(expected + 3.0 * expected.sqrt() + 3.0);
                }
            }
            *e += alpha * n;
        }
        self.attempts += alpha * attempts;
        self.heartbeats += alpha * x.heartbeats as f32;
        self.fallbacks += alpha * x.fallbacks as f32;
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
    /// The fleet as a whole was abnormal (its volume): nothing of the
    /// fleet's cell is learned.
    pub fleet: bool,
    /// Classes abnormal fleet-wide: the fleet's rate of each is kept as
    /// it was, while its traffic and its other classes still learn (some
    /// fault is starting somewhere most of the time in a large fleet; a
    /// freeze of the whole cell would learn only from those starts).
    pub fleet_classes: Vec<OutcomeClass>,
    /// Abnormal dimension values (leaves containing them skip learning too).
    pub values: HashSet<(Dim, Sym)>,
}

/// Baselines for the fleet, every dimension value and every leaf.
///
/// Dimension values decay lazily: a value's cell is brought up to date
/// when a bucket counts it (or flags it) and when it is read, by the decay
/// of every bucket since it was last written (`stamps`). Learning therefore
/// costs as much as the values a bucket saw, not every value ever seen (a
/// quarter of a million merchants with a million terminals).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Baselines {
    /// The fleet.
    pub fleet: Cell,
    /// Per dimension value, indexed by [`Sym`], as of `stamps`.
    dims: [Vec<Cell>; Dim::COUNT],
    /// Per dimension value, the `buckets_learned` its cell was written at.
    stamps: [Vec<u64>; Dim::COUNT],
    /// Per leaf, indexed by [`LeafId`], as of the `buckets_learned`
    /// beside it (none: never learned, or forgotten).
    leaves: Vec<Option<(Cell, u64)>>,
    /// Latency distributions of the fleet and of each tracked value.
    pub latency: LatencyBaseline,
    /// Buckets learned from.
    pub buckets_learned: u64,
    alpha: f32,
    shrink: f64,
    /// What `k` buckets of decay leave, for small `k` (read for every
    /// leaf of every window; a `powi` each was a tenth of detection).
    #[serde(skip)]
    keeps: Vec<f32>,
}

impl Baselines {
    /// Empty baselines; `alpha` per bucket, `shrink` pseudo-attempts.
    pub fn new(alpha: f64, shrink: f64) -> Baselines {
        let mut b = Baselines::default();
        b.set_params(alpha, shrink);
        b
    }

    /// Learns from one closed bucket, except where `skip` says not to.
    /// `index` holds the keys of the bucket's leaves.
    pub fn learn(
        &mut self,
        bucket: &Bucket,
        skip: &Anomalies,
        leaf_dims: &[Dim],
        index: &LeafIndex,
    ) {
        let a = self.alpha;
        if !skip.fleet {
            let x = Extra {
                heartbeats: bucket.heartbeat_total,
                fallbacks: bucket.fallback_total,
            };
            let before = self.fleet;
            self.fleet.learn(&bucket.fleet, x, a);
            if before.attempts > 0.0 {
                let scale = self.fleet.attempts / before.attempts;
                for c in &skip.fleet_classes {
                    self.fleet.classes[c.index()] = before.classes[c.index()] * scale;
                }
            }
        }
        let none = ClassCounts::default();
        let now = self.buckets_learned + 1;
        for dim in Dim::ALL {
            let d = dim.index();
            let (counts, beats, falls) = (
                &bucket.dims.0[d],
                &bucket.heartbeats[d],
                &bucket.fallbacks[d],
            );
            let len = counts.len().max(beats.len());
            if self.dims[d].len() < len {
                self.dims[d].resize(len, Cell::default());
            }
            let known = self.dims[d].len();
            if self.stamps[d].len() < known {
                self.stamps[d].resize(known, now);
            }
            let skipped = |i: u32| !skip.values.is_empty() && skip.values.contains(&(dim, Sym(i)));
            let listed = || bucket.touched[d].union(&bucket.beat_touched[d]);
            let mut ahead = listed().skip(PREFETCH_VALUES);
            for i in listed() {
                if let Some(j) = ahead.next() {
                    prefetch_index(&self.dims[d], j);
                    prefetch_index(&self.stamps[d], j);
                    prefetch_index(counts, j);
                }
                if skipped(i as u32) {
                    continue;
                }
                let c = counts.get(i).unwrap_or(&none);
                let x = Extra {
                    heartbeats: beats.get(i).copied().unwrap_or(0),
                    fallbacks: falls.get(i).copied().unwrap_or(0),
                };
                let f = self.decay_over(now.saturating_sub(self.stamp(d, i)));
                let cell = &mut self.dims[d][i];
                cell.scale(f);
                cell.add_scaled(c, x, a);
                self.stamps[d][i] = now;
            }
        }
        // Flagged values keep what they had: brought up to the bucket
        // before, then marked as written now.
        for &(dim, sym) in &skip.values {
            let (d, i) = (dim.index(), sym.index());
            let f = self.decay_over((now - 1).saturating_sub(self.stamp(d, i)));
            if let Some(cell) = self.dims[d].get_mut(i) {
                cell.scale(f);
                self.stamps[d][i] = now;
            }
        }
        self.latency.learn(&bucket.latency, skip, a);
        let skipped = |i: usize| {
            !skip.values.is_empty()
                && index.key(LeafId(i as u32)).is_some_and(|k| {
                    leaf_dims
                        .iter()
                        .zip(k)
                        .any(|(d, s)| skip.values.contains(&(*d, *s)))
                })
        };
        // Leaves decay lazily too: a leaf's cell is brought up to date
        // when its bucket counts it (a heartbeat after the outcomes of the
        // same leaf finds it current and only adds).
        let keeps = &self.keeps;
        let decay = |cell: &mut Cell, stamp: &mut u64, to: u64| {
            cell.scale(decay_over(keeps, a, to.saturating_sub(*stamp)));
            *stamp = to;
        };
        for i in bucket.leaf_touched.iter() {
            if !skipped(i) {
                let c = bucket.leaves.get(LeafId(i as u32));
                let (cell, stamp) = leaf_slot(&mut self.leaves, i, now);
                decay(cell, stamp, now);
                cell.add_scaled(&c, Extra::default(), a);
            }
        }
        for i in bucket.leaf_beat_touched.iter() {
            if !skipped(i) {
                let x = Extra {
                    heartbeats: bucket.leaf_heartbeats.get(LeafId(i as u32)),
                    fallbacks: 0,
                };
                let (cell, stamp) = leaf_slot(&mut self.leaves, i, now);
                decay(cell, stamp, now);
                cell.add_scaled(&none, x, a);
            }
        }
        // Leaves with a flagged value keep what they had (a scan of every
        // leaf, in anomalous buckets only).
        if !skip.values.is_empty() {
            for (i, slot) in self.leaves.iter_mut().enumerate() {
                if let Some((cell, stamp)) = slot {
                    if *stamp < now && skipped(i) {
                        decay(cell, stamp, now - 1);
                        *stamp = now;
                    }
                }
            }
        }
        // Leaves decayed to nothing are forgotten now and then (bounded
        // memory). The floor is a hundredth of what one event adds, so a
        // leaf that just appeared is kept while it learns (a fixed floor
        // dropped sparse leaves after their first bucket at small `alpha`,
        // and skewed the leaves' shares of traffic toward the busy ones).
        if now % PRUNE_EVERY == 0 {
            let floor = self.alpha * 1e-2;
            for slot in &mut self.leaves {
                if let Some((cell, stamp)) = slot {
                    decay(cell, stamp, now);
                    if cell.is_faded(floor) {
                        *slot = None;
                    }
                }
            }
        }
        self.buckets_learned = now;
    }

    /// When value `i` of dimension `d` was last written (now if never).
    fn stamp(&self, d: usize, i: usize) -> u64 {
        self.stamps[d]
            .get(i)
            .copied()
            .unwrap_or(self.buckets_learned)
    }

    /// What `buckets` buckets of decay leave of a count.
    fn decay_over(&self, buckets: u64) -> f32 {
        decay_over(&self.keeps, self.alpha, buckets)
    }

    /// The cell of `dim = sym` as of now, if it was ever learned.
    pub fn cell(&self, dim: Dim, sym: Sym) -> Option<Cell> {
        let d = dim.index();
        let cell = *self.dims[d].get(sym.index())?;
        Some(self.current(cell, self.stamp(d, sym.index())))
    }

    /// Every value of `dim` ever learned, with its cell as of now.
    pub fn cells(&self, dim: Dim) -> impl Iterator<Item = (Sym, Cell)> + '_ {
        (0..self.dims[dim.index()].len()).filter_map(move |i| {
            let sym = Sym(i as u32);
            self.cell(dim, sym).map(|c| (sym, c))
        })
    }

    /// Sets the cell of `dim = sym` as of now (a warm start).
    pub(crate) fn set_cell(&mut self, dim: Dim, sym: Sym, cell: Cell) {
        let (d, i) = (dim.index(), sym.index());
        if self.dims[d].len() <= i {
            self.dims[d].resize(i + 1, Cell::default());
            self.stamps[d].resize(i + 1, self.buckets_learned);
        }
        self.dims[d][i] = cell;
        self.stamps[d][i] = self.buckets_learned;
    }

    /// Applies current settings (after a restore).
    pub(crate) fn set_params(&mut self, alpha: f64, shrink: f64) {
        self.alpha = alpha as f32;
        self.shrink = shrink;
        let keep = 1.0 - self.alpha;
        self.keeps = (0..KEEPS).map(|k| keep.powi(k)).collect();
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
        self.shrunk(self.cell(dim, sym).as_ref(), class)
    }

    /// Expected rate of `class` for a leaf, shrunk toward the fleet.
    pub fn leaf_rate(&self, id: LeafId, class: OutcomeClass) -> f64 {
        self.shrunk(self.leaf_cell(id).as_ref(), class)
    }

    /// A leaf's cell as of now, to read several classes' rates with one
    /// lookup ([`Baselines::cell_rate`]).
    pub fn leaf_cell(&self, id: LeafId) -> Option<Cell> {
        let (cell, stamp) = (*self.leaves.get(id.index())?)?;
        Some(self.current(cell, stamp))
    }

    /// Every leaf learned (and not yet forgotten), with its cell as of now.
    pub fn leaves(&self) -> impl Iterator<Item = (LeafId, Cell)> + '_ {
        self.leaves.iter().enumerate().filter_map(|(i, slot)| {
            let (cell, stamp) = (*slot)?;
            Some((LeafId(i as u32), self.current(cell, stamp)))
        })
    }

    /// Sets a leaf's cell as of now (a warm start).
    pub(crate) fn set_leaf(&mut self, id: LeafId, cell: Cell) {
        let i = id.index();
        if self.leaves.len() <= i {
            self.leaves.resize(i + 1, None);
        }
        self.leaves[i] = Some((cell, self.buckets_learned));
    }

    /// `cell` written at `stamp`, decayed to now.
    fn current(&self, mut cell: Cell, stamp: u64) -> Cell {
        cell.scale(self.decay_over(self.buckets_learned.saturating_sub(stamp)));
        cell
    }

    /// Expected rate of `class` for `cell` (none: never seen), shrunk
    /// toward the fleet; `leaf_rate(k, c) == cell_rate(leaf_cell(k), c)`.
    pub fn cell_rate(&self, cell: Option<&Cell>, class: OutcomeClass) -> f64 {
        self.shrunk(cell, class)
    }
}

/// Leaf `i`'s cell and stamp, a new one (as of `now`) if it has none.
fn leaf_slot(leaves: &mut Vec<Option<(Cell, u64)>>, i: usize, now: u64) -> &mut (Cell, u64) {
    if leaves.len() <= i {
        leaves.resize(i + 1, None);
    }
    leaves[i].get_or_insert((Cell::default(), now))
}

/// Decays looked up rather than computed: up to this many buckets.
const KEEPS: i32 = 256;

/// What `buckets` buckets of decay at `alpha` leave of a count (`keeps`:
/// the first powers of `1 − alpha`, as [`Baselines::set_params`] makes).
fn decay_over(keeps: &[f32], alpha: f32, buckets: u64) -> f32 {
    match usize::try_from(buckets).ok().and_then(|k| keeps.get(k)) {
        Some(&f) => f,
        None => (1.0 - alpha).powi(pow(buckets)),
    }
}

/// Leaves decayed to nothing are dropped every this many buckets.
const PRUNE_EVERY: u64 = 64;

/// A bucket count as an exponent (decay beyond `i32::MAX` buckets is the
/// same as none left).
fn pow(buckets: u64) -> i32 {
    i32::try_from(buckets).unwrap_or(i32::MAX)
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
#[path = "baseline_tests.rs"]
mod tests;
