//! Counter types keyed by interned values.

use crate::bucket::Touched;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use swipewatch_model::{Dim, DimValues, FastState, OutcomeClass, Sym};

/// Most dimensions in a leaf.
pub const MAX_LEAF_DIMS: usize = 6;

/// Outcomes per class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassCounts(pub [u32; OutcomeClass::COUNT]);

impl ClassCounts {
    /// Adds one outcome of `class`.
    #[inline]
    pub fn add(&mut self, class: OutcomeClass) {
        self.0[class.index()] += 1;
    }

    /// Outcomes of `class`.
    pub fn get(&self, class: OutcomeClass) -> u32 {
        self.0[class.index()]
    }

    /// Every outcome, cancellations included.
    pub fn total(&self) -> u64 {
        self.0.iter().map(|&c| u64::from(c)).sum()
    }

    /// Payment attempts: every outcome except cancellations.
    pub fn attempts(&self) -> u64 {
        OutcomeClass::ALL
            .iter()
            .filter(|c| c.is_attempt())
            .map(|c| u64::from(self.get(*c)))
            .sum()
    }

    /// Outcomes in failure classes.
    pub fn failures(&self) -> u64 {
        OutcomeClass::ALL
            .iter()
            .filter(|c| c.is_failure())
            .map(|c| u64::from(self.get(*c)))
            .sum()
    }

    /// Adds `other` in.
    pub fn merge(&mut self, other: &ClassCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    /// Takes `other` out (it must have been merged in before).
    pub fn subtract(&mut self, other: &ClassCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a = a.saturating_sub(b);
        }
    }

    /// True when nothing is counted.
    #[inline]
    pub fn is_empty(&self) -> bool {
        // One OR over every counter, no early exit: the compiler makes it
        // a few vector instructions (the hot path asks this per value).
        self.0.iter().fold(0, |acc, &c| acc | c) == 0
    }
}

/// Class counts for every value of every dimension, indexed by [`Sym`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DimTable(pub [Vec<ClassCounts>; Dim::COUNT]);

impl DimTable {
    /// Counts one outcome of `class` for every present value in `dims`.
    #[inline]
    pub fn add(&mut self, dims: &DimValues, class: OutcomeClass) {
        for (table, &sym) in self.0.iter_mut().zip(dims.as_array()) {
            if sym.is_some() {
                let i = sym.index();
                if i >= table.len() {
                    table.resize(i + 1, ClassCounts::default());
                }
                table[i].add(class);
            }
        }
    }

    /// Counts of `dim = sym` (zero if never seen).
    pub fn get(&self, dim: Dim, sym: Sym) -> ClassCounts {
        self.0[dim.index()]
            .get(sym.index())
            .copied()
            .unwrap_or_default()
    }

    /// Every value of `dim` with non-empty counts.
    pub fn values(&self, dim: Dim) -> impl Iterator<Item = (Sym, &ClassCounts)> {
        self.0[dim.index()]
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.is_empty())
            .map(|(i, c)| (Sym(i as u32), c))
    }

    fn combine(&mut self, other: &DimTable, f: impl Fn(&mut ClassCounts, &ClassCounts)) {
        for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
            if mine.len() < theirs.len() {
                mine.resize(theirs.len(), ClassCounts::default());
            }
            for (a, b) in mine.iter_mut().zip(theirs) {
                f(a, b);
            }
        }
    }

    /// Adds `other` in.
    pub fn merge(&mut self, other: &DimTable) {
        self.combine(other, ClassCounts::merge);
    }

    fn combine_touched(
        &mut self,
        other: &DimTable,
        touched: &Touched,
        f: impl Fn(&mut ClassCounts, &ClassCounts),
    ) {
        for ((mine, theirs), touched) in self.0.iter_mut().zip(&other.0).zip(touched) {
            if mine.len() < theirs.len() {
                mine.resize(theirs.len(), ClassCounts::default());
            }
            for i in touched.iter() {
                f(&mut mine[i], &theirs[i]);
            }
        }
    }

    /// Adds `other` in, where it is zero outside `touched`.
    pub(crate) fn merge_touched(&mut self, other: &DimTable, touched: &Touched) {
        self.combine_touched(other, touched, ClassCounts::merge);
    }

    /// Takes `other` out, where it is zero outside `touched`.
    pub(crate) fn subtract_touched(&mut self, other: &DimTable, touched: &Touched) {
        self.combine_touched(other, touched, ClassCounts::subtract);
    }
}

/// The values of the leaf dimensions of one event, [`Sym::NONE`]-padded.
pub type LeafKey = [Sym; MAX_LEAF_DIMS];

/// Class counts per leaf.
pub type LeafTable = HashMap<LeafKey, ClassCounts, FastState>;

/// The leaf of `dims` for `leaf_dims`.
#[inline]
pub fn leaf_key(dims: &DimValues, leaf_dims: &[Dim]) -> LeafKey {
    let mut key = [Sym::NONE; MAX_LEAF_DIMS];
    for (k, d) in key.iter_mut().zip(leaf_dims) {
        *k = dims.get(*d);
    }
    key
}
