//! Latency quantiles from a mergeable log-linear histogram.
//!
//! Four bins per power of two from 1 ms to about 9 minutes (72 bins;
//! longer latencies share the last bin): any
//! quantile is known to within 12.5 % of its value, two histograms merge by
//! adding bins, and a window subtracts an expiring bucket exactly. Bins of
//! every value of a dimension live in one flat `Vec`, so an update is two
//! index computations and an increment.

use crate::counts::Touched;
use serde::{Deserialize, Serialize};
use swipewatch_model::{Dim, DimValues, Sym};

/// Bins per histogram.
pub const BINS: usize = 72;

/// The bin of a latency in milliseconds.
#[inline]
pub fn bin(ms: u32) -> usize {
    let v = ms.max(1);
    let o = 31 - v.leading_zeros() as usize; // floor(log2 v)
    if o < 2 {
        v as usize
    } else {
        (4 * (o - 1) + ((v >> (o - 2)) & 3) as usize).min(BINS - 1)
    }
}

/// The middle of bin `i`, in milliseconds.
pub fn bin_mid(i: usize) -> f64 {
    if i < 4 {
        return i.max(1) as f64;
    }
    let o = i / 4 + 1;
    let lower = ((4 + i % 4) << (o - 2)) as f64;
    lower + f64::from(1u32 << (o - 2)) / 2.0
}

/// The `q` quantile (0–1) of a histogram, `None` if it is empty.
pub fn quantile(bins: &[u32], q: f64) -> Option<f64> {
    let total: u64 = bins.iter().map(|&b| u64::from(b)).sum();
    if total == 0 {
        return None;
    }
    let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
    let mut seen = 0u64;
    for (i, &b) in bins.iter().enumerate() {
        seen += u64::from(b);
        if seen >= rank {
            return Some(bin_mid(i));
        }
    }
    None
}

/// Latency histograms for the fleet and for every value of selected dimensions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyTable {
    /// The fleet's histogram.
    pub fleet: Vec<u32>,
    /// Per dimension, `BINS` counters per value, indexed by `sym * BINS + bin`.
    per_dim: [Vec<u32>; Dim::COUNT],
    /// Which dimensions are tracked.
    tracked: [bool; Dim::COUNT],
}

impl LatencyTable {
    /// An empty table tracking `dims`.
    pub fn new(dims: &[Dim]) -> LatencyTable {
        let mut tracked = [false; Dim::COUNT];
        dims.iter().for_each(|d| tracked[d.index()] = true);
        LatencyTable {
            fleet: vec![0; BINS],
            per_dim: Default::default(),
            tracked,
        }
    }

    /// Adds one latency for the fleet and each tracked value in `dims`.
    #[inline]
    pub fn add(&mut self, dims: &DimValues, ms: u32) {
        let b = bin(ms);
        self.fleet[b] += 1;
        for (d, &sym) in dims.as_array().iter().enumerate() {
            if self.tracked[d] && sym.is_some() {
                let i = sym.index() * BINS + b;
                let v = &mut self.per_dim[d];
                if i >= v.len() {
                    v.resize((sym.index() + 1) * BINS, 0);
                }
                v[i] += 1;
            }
        }
    }

    /// Zeroes the bins of value `i` of dimension `d`, if it has any.
    pub(crate) fn clear_value(&mut self, d: usize, i: usize) {
        if let Some(bins) = self.per_dim[d].get_mut(i * BINS..(i + 1) * BINS) {
            bins.fill(0);
        }
    }

    /// The histogram of `dim = sym` (empty if never seen).
    pub fn histogram(&self, dim: Dim, sym: Sym) -> &[u32] {
        let v = &self.per_dim[dim.index()];
        let start = sym.index() * BINS;
        v.get(start..start + BINS).unwrap_or(&[])
    }

    /// Every value's bins of `dim`, `BINS` per value in symbol order.
    pub fn per_dim(&self, dim: Dim) -> &[u32] {
        &self.per_dim[dim.index()]
    }

    /// The `q` quantile of `dim = sym`, milliseconds.
    pub fn quantile(&self, dim: Dim, sym: Sym, q: f64) -> Option<f64> {
        quantile(self.histogram(dim, sym), q)
    }

    fn combine(&mut self, other: &LatencyTable, f: impl Fn(&mut u32, u32)) {
        for (a, &b) in self.fleet.iter_mut().zip(&other.fleet) {
            f(a, b);
        }
        for (mine, theirs) in self.per_dim.iter_mut().zip(&other.per_dim) {
            if mine.len() < theirs.len() {
                mine.resize(theirs.len(), 0);
            }
            for (a, &b) in mine.iter_mut().zip(theirs) {
                f(a, b);
            }
        }
    }

    /// Adds `other` in.
    pub fn merge(&mut self, other: &LatencyTable) {
        self.combine(other, |a, b| *a += b);
    }

    /// Takes `other` out (it must have been merged in before).
    pub fn subtract(&mut self, other: &LatencyTable) {
        self.combine(other, |a, b| *a = a.saturating_sub(b));
    }

    /// Like [`LatencyTable::combine`], for an `other` whose values outside
    /// `touched` have empty histograms.
    fn combine_touched(
        &mut self,
        other: &LatencyTable,
        touched: &Touched,
        f: impl Fn(&mut u32, u32),
    ) {
        for (a, &b) in self.fleet.iter_mut().zip(&other.fleet) {
            f(a, b);
        }
        let dims = self.per_dim.iter_mut().zip(&other.per_dim).zip(touched);
        for ((mine, theirs), touched) in dims {
            if theirs.is_empty() {
                continue;
            }
            if mine.len() < theirs.len() {
                mine.resize(theirs.len(), 0);
            }
            for i in touched.iter() {
                let bins = i * BINS..(i + 1) * BINS;
                if let (Some(a), Some(b)) = (mine.get_mut(bins.clone()), theirs.get(bins)) {
                    a.iter_mut().zip(b).for_each(|(a, &b)| f(a, b));
                }
            }
        }
    }

    /// Adds `other` in, where it is empty outside `touched`.
    pub(crate) fn merge_touched(&mut self, other: &LatencyTable, touched: &Touched) {
        self.combine_touched(other, touched, |a, b| *a += b);
    }

    /// Takes `other` out, where it is empty outside `touched`.
    pub(crate) fn subtract_touched(&mut self, other: &LatencyTable, touched: &Touched) {
        self.combine_touched(other, touched, |a, b| *a = a.saturating_sub(b));
    }
}

impl Default for LatencyTable {
    fn default() -> Self {
        LatencyTable::new(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bins_are_contiguous_and_monotonic() {
        let mut last = 0;
        for ms in 1..600_000u32 {
            let b = bin(ms);
            assert!(b == last || b == last + 1, "{ms} jumps from {last} to {b}");
            last = b;
        }
        assert_eq!(last, BINS - 1);
    }

    proptest! {
        #[test]
        fn a_quantile_is_within_an_eighth_of_the_true_value(mut xs in proptest::collection::vec(1u32..200_000, 1..500), q in 0.01f64..1.0) {
            let mut h = vec![0u32; BINS];
            xs.iter().for_each(|&x| h[bin(x)] += 1);
            xs.sort_unstable();
            let rank = ((q * xs.len() as f64).ceil() as usize).max(1) - 1;
            let truth = f64::from(xs[rank]);
            let est = quantile(&h, q).expect("non-empty");
            prop_assert!((est - truth).abs() <= truth * 0.125 + 0.5, "q{q}: est {est} truth {truth}");
        }

        #[test]
        fn merging_then_subtracting_restores_a_table(a in proptest::collection::vec((0u32..5, 1u32..10_000), 0..100), b in proptest::collection::vec((0u32..5, 1u32..10_000), 0..100)) {
            let fill = |xs: &[(u32, u32)]| {
                let mut t = LatencyTable::new(&[Dim::Carrier]);
                for &(c, ms) in xs {
                    let mut d = DimValues::default();
                    d.set(Dim::Carrier, Sym(c));
                    t.add(&d, ms);
                }
                t
            };
            let (ta, tb) = (fill(&a), fill(&b));
            let mut both = ta.clone();
            both.merge(&tb);
            prop_assert_eq!(both.fleet.iter().map(|&x| u64::from(x)).sum::<u64>(), (a.len() + b.len()) as u64);
            both.subtract(&tb);
            for c in 0..5 {
                prop_assert_eq!(both.histogram(Dim::Carrier, Sym(c)).iter().sum::<u32>(), ta.histogram(Dim::Carrier, Sym(c)).iter().sum::<u32>());
            }
            prop_assert_eq!(&both.fleet, &ta.fleet);
        }
    }
}
