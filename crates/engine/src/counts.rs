//! Counter types keyed by interned values.

use prefetch_index::prefetch_index;
use serde::{Deserialize, Serialize};
use std::hash::BuildHasher;
use swipewatch_model::{Dim, DimValues, FastState, OutcomeClass, Sym};

/// Most dimensions in a leaf.
pub const MAX_LEAF_DIMS: usize = 6;

/// How many values ahead per-bucket loops over a dimension's listed values
/// ask for the next value's memory.
pub(crate) const PREFETCH_VALUES: usize = 8;

/// A set of value indexes, one bit each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueSet(Vec<u64>);

impl ValueSet {
    /// Adds `i`.
    #[inline]
    pub fn insert(&mut self, i: usize) {
        let w = i / 64;
        if w >= self.0.len() {
            self.0.resize(w + 1, 0);
        }
        self.0[w] |= 1 << (i % 64);
    }

    /// Empties the set, keeping its allocation.
    pub fn clear(&mut self) {
        self.0.fill(0);
    }

    /// The members, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        static EMPTY: ValueSet = ValueSet(Vec::new());
        self.union(&EMPTY)
    }

    /// The members of `self` or `other`, in increasing order.
    pub fn union<'a>(&'a self, other: &'a ValueSet) -> impl Iterator<Item = usize> + 'a {
        let words = self.0.len().max(other.0.len());
        (0..words).flat_map(move |w| {
            let mut bits =
                self.0.get(w).copied().unwrap_or(0) | other.0.get(w).copied().unwrap_or(0);
            std::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let b = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    w * 64 + b
                })
            })
        })
    }
}

/// Per dimension, the values a bucket counted. Work per closed bucket
/// (window sums, learning, reuse) follows these sets instead of every
/// value a dimension ever had: with a million terminals, a bucket sees a
/// few percent of 250,000 merchants. A bit per value keeps the hot path
/// free of branches, and the members come out in index order, so that
/// work reads each table front to back.
pub type Touched = [ValueSet; Dim::COUNT];

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
        for ((mine, theirs), set) in self.0.iter_mut().zip(&other.0).zip(touched) {
            combine_listed(mine, theirs, set, &f);
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

/// Applies `f` to `mine[i]` and `theirs[i]` for every `i` of `set` (where
/// `theirs` is zero elsewhere), growing `mine` to `theirs`' length. The
/// members come in increasing order but far apart in tables of a quarter
/// of a million merchants: each is asked for a few members early.
fn combine_listed(
    mine: &mut Vec<ClassCounts>,
    theirs: &[ClassCounts],
    set: &ValueSet,
    f: &impl Fn(&mut ClassCounts, &ClassCounts),
) {
    if mine.len() < theirs.len() {
        mine.resize(theirs.len(), ClassCounts::default());
    }
    let mut ahead = set.iter().skip(PREFETCH_VALUES);
    for i in set.iter() {
        if let Some(j) = ahead.next() {
            prefetch_index(&*mine, j);
            prefetch_index(theirs, j);
        }
        if let (Some(a), Some(b)) = (mine.get_mut(i), theirs.get(i)) {
            f(a, b);
        }
    }
}

/// The values of the leaf dimensions of one event, [`Sym::NONE`]-padded.
pub type LeafKey = [Sym; MAX_LEAF_DIMS];

/// The leaf of `dims` for `leaf_dims`.
#[inline]
pub fn leaf_key(dims: &DimValues, leaf_dims: &[Dim]) -> LeafKey {
    let mut key = [Sym::NONE; MAX_LEAF_DIMS];
    for (k, d) in key.iter_mut().zip(leaf_dims) {
        *k = dims.get(*d);
    }
    key
}

/// A leaf's number in the engine's [`LeafIndex`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LeafId(pub u32);

impl LeafId {
    /// Position in per-leaf tables.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Every leaf the engine has seen, numbered densely in order of first
/// sight. The key is looked up once per event, here; buckets, window sums
/// and baselines keep per-leaf tables as arrays indexed by [`LeafId`], so
/// closing a bucket adds, subtracts and learns by position (three hash
/// lookups per leaf and bucket before). Numbers are never reused: the
/// leaf dimensions are the low-cardinality ones, so the index holds the
/// combinations the fleet has, tens of thousands at most.
///
/// The lookup table is its own (open addressing, linear probing, at most
/// half full, the key stored in its slot) so that [`LeafIndex::prefetch`]
/// can ask for a key's slot a few events before it is looked up: with
/// tens of thousands of leaves the table is larger than the core's cache.
#[derive(Clone, Default)]
pub struct LeafIndex {
    keys: Vec<LeafKey>,
    /// A key and its number + 1 (0: empty slot); the length is zero or a
    /// power of two.
    slots: Vec<(LeafKey, u32)>,
    state: FastState,
}

impl std::fmt::Debug for LeafIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeafIndex")
            .field("leaves", &self.keys.len())
            .finish()
    }
}

impl LeafIndex {
    /// Where the probe for `key` starts.
    #[inline]
    fn home(&self, key: &LeafKey) -> usize {
        self.state.hash_one(key) as usize & (self.slots.len() - 1)
    }

    /// The number of `key`, if it was seen.
    #[inline]
    pub fn get(&self, key: &LeafKey) -> Option<LeafId> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        // Bounded: at most half the slots are taken.
        for _ in 0..self.slots.len() {
            let (k, n) = &self.slots[i];
            if *n == 0 {
                return None;
            }
            if k == key {
                return Some(LeafId(n - 1));
            }
            i = (i + 1) & mask;
        }
        None
    }

    /// Asks the CPU to load the slot where the lookup of `key` starts.
    #[inline]
    pub fn prefetch(&self, key: &LeafKey) {
        if !self.slots.is_empty() {
            prefetch_index(&self.slots, self.home(key));
        }
    }

    /// The number of `key`, given now if it is new.
    pub fn insert(&mut self, key: LeafKey) -> LeafId {
        if let Some(id) = self.get(&key) {
            return id;
        }
        if (self.keys.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let id = LeafId(self.keys.len() as u32);
        self.keys.push(key);
        self.place(key, id);
        id
    }

    /// Puts `key` in the first free slot from its home.
    fn place(&mut self, key: LeafKey, id: LeafId) {
        let mask = self.slots.len() - 1;
        let mut i = self.home(&key);
        while self.slots[i].1 != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = (key, id.0 + 1);
    }

    /// Doubles the table (1,024 slots at first) and places every key again.
    fn grow(&mut self) {
        let len = (self.slots.len() * 2).max(1024);
        self.slots = vec![([Sym::NONE; MAX_LEAF_DIMS], 0); len];
        for i in 0..self.keys.len() {
            self.place(self.keys[i], LeafId(i as u32));
        }
    }

    /// The key numbered `id`.
    pub fn key(&self, id: LeafId) -> Option<&LeafKey> {
        self.keys.get(id.index())
    }

    /// Leaves numbered.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True before the first leaf.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl PartialEq for LeafIndex {
    fn eq(&self, other: &LeafIndex) -> bool {
        self.keys == other.keys
    }
}

// Saved as the keys in order; the lookup table is rebuilt on load.
impl Serialize for LeafIndex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.keys.serialize(s)
    }
}

impl<'de> Deserialize<'de> for LeafIndex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<LeafIndex, D::Error> {
        let keys = Vec::<LeafKey>::deserialize(d)?;
        let mut index = LeafIndex::default();
        for key in keys {
            if index.insert(key).index() + 1 != index.len() {
                return Err(serde::de::Error::custom("leaf index repeats a key"));
            }
        }
        Ok(index)
    }
}

/// A count per leaf, indexed by [`LeafId`] (zero past the end).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerLeaf<T>(Vec<T>);

impl<T> Default for PerLeaf<T> {
    fn default() -> Self {
        PerLeaf(Vec::new())
    }
}

impl<T: Copy + Default + PartialEq> PerLeaf<T> {
    /// The count of `id`, grown to hold it.
    #[inline]
    pub(crate) fn get_mut(&mut self, id: LeafId) -> &mut T {
        let i = id.index();
        if i >= self.0.len() {
            self.0.resize(i + 1, T::default());
        }
        &mut self.0[i]
    }

    /// Asks the CPU to load the count of `id`.
    #[inline]
    pub(crate) fn prefetch(&self, id: LeafId) {
        prefetch_index(&self.0, id.index());
    }

    /// The count of `id` (zero if never counted).
    pub fn get(&self, id: LeafId) -> T {
        self.0.get(id.index()).copied().unwrap_or_default()
    }

    /// Every leaf with a non-zero count, in number order.
    pub fn iter(&self) -> impl Iterator<Item = (LeafId, &T)> {
        let zero = T::default();
        self.0
            .iter()
            .enumerate()
            .filter(move |(_, c)| **c != zero)
            .map(|(i, c)| (LeafId(i as u32), c))
    }

    /// Zeroes the leaves of `set` (zero elsewhere already).
    pub(crate) fn clear(&mut self, set: &ValueSet) {
        for i in set.iter() {
            if let Some(c) = self.0.get_mut(i) {
                *c = T::default();
            }
        }
    }
}

/// Class counts per leaf.
pub type LeafTable = PerLeaf<ClassCounts>;

impl LeafTable {
    /// Counts one outcome of `class` for leaf `id`.
    #[inline]
    pub(crate) fn add(&mut self, id: LeafId, class: OutcomeClass) {
        self.get_mut(id).add(class);
    }

    fn combine_touched(
        &mut self,
        other: &LeafTable,
        set: &ValueSet,
        f: impl Fn(&mut ClassCounts, &ClassCounts),
    ) {
        combine_listed(&mut self.0, &other.0, set, &f);
    }

    /// Adds `other` in, where it is zero outside `set`.
    pub(crate) fn merge_touched(&mut self, other: &LeafTable, set: &ValueSet) {
        self.combine_touched(other, set, ClassCounts::merge);
    }

    /// Takes `other` out, where it is zero outside `set`.
    pub(crate) fn subtract_touched(&mut self, other: &LeafTable, set: &ValueSet) {
        self.combine_touched(other, set, ClassCounts::subtract);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(a: u32, b: u32) -> LeafKey {
        let mut k = [Sym::NONE; MAX_LEAF_DIMS];
        k[0] = Sym(a);
        k[1] = Sym(b);
        k
    }

    #[test]
    fn leaves_keep_their_numbers_through_save_and_load() {
        let mut index = LeafIndex::default();
        let ids: Vec<LeafId> = [(3, 1), (0, 2), (3, 1), (7, 7)]
            .iter()
            .map(|&(a, b)| index.insert(key(a, b)))
            .collect();
        assert_eq!(ids, [LeafId(0), LeafId(1), LeafId(0), LeafId(2)]);
        let bytes = postcard::to_stdvec(&index).expect("encode");
        let loaded: LeafIndex = postcard::from_bytes(&bytes).expect("decode");
        assert_eq!(loaded, index);
        assert_eq!(loaded.get(&key(7, 7)), Some(LeafId(2)));
        assert_eq!(loaded.key(LeafId(1)), Some(&key(0, 2)));
        assert_eq!(loaded.key(LeafId(3)), None);
    }

    #[test]
    fn a_saved_index_that_repeats_a_key_is_refused() {
        let keys = vec![key(1, 1), key(2, 2), key(1, 1)];
        let bytes = postcard::to_stdvec(&keys).expect("encode");
        assert!(postcard::from_bytes::<LeafIndex>(&bytes).is_err());
    }

    #[test]
    fn window_leaf_sums_follow_the_listed_leaves() {
        let mut bucket = LeafTable::default();
        let mut listed = ValueSet::default();
        for (id, class) in [(4, OutcomeClass::Approved), (1, OutcomeClass::Comms)] {
            bucket.add(LeafId(id), class);
            listed.insert(id as usize);
        }
        let mut sums = LeafTable::default();
        sums.merge_touched(&bucket, &listed);
        sums.merge_touched(&bucket, &listed);
        assert_eq!(sums.get(LeafId(4)).get(OutcomeClass::Approved), 2);
        sums.subtract_touched(&bucket, &listed);
        let left: Vec<_> = sums.iter().map(|(id, c)| (id, c.total())).collect();
        assert_eq!(left, [(LeafId(1), 1), (LeafId(4), 1)]);
    }
}
