//! Leaves grouped by cuboid: codes renumbered densely per dimension, each
//! leaf's group in a combination of dimensions, and which combinations a
//! search scores.

use super::{LeafInput, MAX_CUBOIDS};
use std::collections::HashMap;
use swipewatch_model::FastState;

/// A leaf table with codes renumbered densely per dimension.
pub(super) struct Dense<'a> {
    pub(super) t: &'a LeafInput<'a>,
    codes: Vec<u32>,
    card: Vec<u32>,
    /// Per dimension, dense code → original code.
    pub(super) original: Vec<Vec<u32>>,
}

impl<'a> Dense<'a> {
    pub(super) fn new(t: &'a LeafInput<'a>) -> Self {
        let (n, dims) = (t.len(), t.dims);
        let mut codes = vec![0u32; n * dims];
        let mut original = vec![Vec::new(); dims];
        let mut seen: HashMap<u32, u32, FastState> = HashMap::default();
        for d in 0..dims {
            seen.clear();
            for i in 0..n {
                let v = t.values[i * dims + d];
                let next = original[d].len() as u32;
                let c = *seen.entry(v).or_insert(next);
                if c == next {
                    original[d].push(v);
                }
                codes[i * dims + d] = c;
            }
        }
        let card = original.iter().map(|o| o.len() as u32).collect();
        Dense {
            t,
            codes,
            card,
            original,
        }
    }

    pub(super) fn code(&self, i: usize, d: usize) -> u32 {
        self.codes[i * self.t.dims + d]
    }

    /// Values of dimension `d`.
    pub(super) fn card(&self, d: usize) -> usize {
        self.card[d] as usize
    }
}

/// A leaf whose group is too small to matter.
pub(super) const DROPPED: u32 = u32::MAX;

/// Groups leaves by their values on a cuboid's dimensions: each leaf's
/// group number, and the first leaf of every group (whose values on the
/// cuboid's dimensions are the group's element). Groups with fewer than
/// `min_leaves` leaves are dropped (their leaves get [`DROPPED`]): where a
/// leaf can gain only so much, they can never be significant.
#[derive(Default)]
pub(super) struct Grouping {
    pub(super) group: Vec<u32>,
    pub(super) first: Vec<u32>,
    /// Groups, dropped ones included (a leaf of a group dropped in the
    /// prefix counts as one).
    pub(super) total: usize,
}

/// Scratch space reused from one grouping to the next.
#[derive(Default)]
pub(super) struct Scratch {
    index: HashMap<u128, u32, FastState>,
    slot: Vec<u32>,
    sizes: Vec<u32>,
}

impl Grouping {
    /// Empty, keeping its allocations.
    fn clear(&mut self) {
        self.group.clear();
        self.first.clear();
        self.total = 0;
    }

    /// Drops the groups smaller than `min_leaves` and renumbers the rest.
    fn compact(&mut self, min_leaves: u32, scratch: &mut Scratch) {
        self.total += self.first.len();
        if min_leaves <= 1 {
            return;
        }
        let sizes = &mut scratch.sizes;
        sizes.clear();
        sizes.resize(self.first.len(), 0);
        for &g in &self.group {
            if g != DROPPED {
                sizes[g as usize] += 1;
            }
        }
        let mut kept = 0u32;
        let mut first = Vec::new();
        for (g, size) in sizes.iter_mut().enumerate() {
            if *size >= min_leaves {
                first.push(self.first[g]);
                *size = kept;
                kept += 1;
            } else {
                *size = DROPPED;
            }
        }
        for g in &mut self.group {
            if *g != DROPPED {
                *g = sizes[*g as usize];
            }
        }
        self.first = first;
    }
}

/// Assigns leaf `i` to the group of key `k`: a dense slot when `dense`, a
/// hash otherwise.
fn assign(out: &mut Grouping, scratch: &mut Scratch, dense: bool, i: usize, k: u128) {
    let next = out.first.len() as u32;
    let g = if dense {
        let slot = &mut scratch.slot[k as usize];
        if *slot == DROPPED {
            *slot = next;
        }
        *slot
    } else {
        *scratch.index.entry(k).or_insert(next)
    };
    if g == next {
        out.first.push(i as u32);
    }
    out.group.push(g);
}

/// Prepares the scratch space for keys below `span` (dense slots when the
/// span is small against the table).
fn prepare(scratch: &mut Scratch, span: u64, n: usize) -> bool {
    scratch.index.clear();
    let dense = span <= (4 * n as u64).max(4096);
    if dense {
        scratch.slot.clear();
        scratch.slot.resize(span as usize, DROPPED);
    }
    dense
}

pub(super) fn group_by(
    dense: &Dense,
    combo: &[usize],
    min_leaves: impl Fn(usize) -> u32,
    out: &mut Grouping,
    scratch: &mut Scratch,
) {
    let n = dense.t.len();
    out.clear();
    let span: u64 = combo
        .iter()
        .map(|&d| u64::from(dense.card[d]))
        .try_fold(1u64, |acc, c| acc.checked_mul(c))
        .unwrap_or(u64::MAX);
    let slots = prepare(scratch, span, n);
    let bits: Vec<u32> = combo
        .iter()
        .map(|&d| (32 - dense.card[d].saturating_sub(1).leading_zeros()).max(1))
        .collect();
    let packed = bits.iter().sum::<u32>() <= 128;
    let mut wide: HashMap<Vec<u32>, u32, FastState> = HashMap::default();
    for i in 0..n {
        let codes = || combo.iter().map(|&d| dense.code(i, d));
        if slots || packed {
            let k = if slots {
                combo.iter().fold(0u128, |k, &d| {
                    k * u128::from(dense.card[d]) + u128::from(dense.code(i, d))
                })
            } else {
                codes()
                    .zip(&bits)
                    .fold(0u128, |k, (c, &b)| (k << b) | u128::from(c))
            };
            assign(out, scratch, slots, i, k);
        } else {
            let next = out.first.len() as u32;
            let g = *wide.entry(codes().collect()).or_insert(next);
            if g == next {
                out.first.push(i as u32);
            }
            out.group.push(g);
        }
    }
    out.compact(min_leaves(out.first.len()), scratch);
}

/// Groups leaves by a cuboid whose grouping without its last dimension,
/// `prefix`, is known: a leaf's group follows from its prefix group and its
/// value on `last`, a dense slot where they span little (most cuboids) and
/// a hash of one integer otherwise. A leaf dropped in the prefix stays
/// dropped (a child group is no larger than its parent).
pub(super) fn group_by_prefix(
    dense: &Dense,
    prefix: &Grouping,
    last: usize,
    min_leaves: impl Fn(usize) -> u32,
    out: &mut Grouping,
    scratch: &mut Scratch,
) {
    let n = dense.t.len();
    out.clear();
    let card = dense.card[last] as usize;
    let span = prefix.first.len().saturating_mul(card);
    let slots = prepare(scratch, span as u64, n);
    for i in 0..n {
        let p = prefix.group[i];
        if p == DROPPED {
            out.total += 1;
            out.group.push(DROPPED);
            continue;
        }
        let k = p as usize * card + dense.code(i, last) as usize;
        assign(out, scratch, slots, i, k as u128);
    }
    let groups = out.total + out.first.len();
    out.compact(min_leaves(groups), scratch);
}

/// Every combination of `1..=max_layer` dimensions out of `dims`, by layer,
/// while whole layers fit in [`MAX_CUBOIDS`] (the first always does).
pub(super) fn cuboids(dims: usize, max_layer: usize) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut layer: Vec<Vec<usize>> = (0..dims).map(|d| vec![d]).collect();
    for _ in 0..max_layer.min(dims) {
        if !out.is_empty() && out.len() + layer.len() > MAX_CUBOIDS {
            break;
        }
        out.extend(layer.iter().cloned());
        let mut next = Vec::new();
        for c in &layer {
            let last = *c.last().unwrap_or(&0);
            for d in last + 1..dims {
                let mut e = c.clone();
                e.push(d);
                next.push(e);
            }
        }
        layer = next;
    }
    out
}
