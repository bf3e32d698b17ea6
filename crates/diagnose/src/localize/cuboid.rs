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
}

/// Groups leaves by their values on a cuboid's dimensions: each leaf's
/// group number, and the element of every group.
#[derive(Default)]
pub(super) struct Grouping {
    pub(super) group: Vec<u32>,
    pub(super) elements: Vec<Vec<u32>>,
}

pub(super) fn group_by(
    dense: &Dense,
    combo: &[usize],
    out: &mut Grouping,
    index: &mut HashMap<u128, u32, FastState>,
) {
    let n = dense.t.len();
    out.group.clear();
    out.elements.clear();
    let span: u64 = combo
        .iter()
        .map(|&d| u64::from(dense.card[d]))
        .try_fold(1u64, |acc, c| acc.checked_mul(c))
        .unwrap_or(u64::MAX);
    index.clear();
    let mut slot: Vec<u32> = Vec::new();
    let dense_slots = span <= (4 * n as u64).max(4096);
    if dense_slots {
        slot.resize(span as usize, u32::MAX);
    }
    let bits: Vec<u32> = combo
        .iter()
        .map(|&d| (32 - dense.card[d].saturating_sub(1).leading_zeros()).max(1))
        .collect();
    let packed = bits.iter().sum::<u32>() <= 128;
    let mut wide: HashMap<Vec<u32>, u32, FastState> = HashMap::default();
    for i in 0..n {
        let codes = || combo.iter().map(|&d| dense.code(i, d));
        let next = out.elements.len() as u32;
        let g = if dense_slots {
            let k = combo.iter().fold(0usize, |k, &d| {
                k * dense.card[d] as usize + dense.code(i, d) as usize
            });
            if slot[k] == u32::MAX {
                slot[k] = next;
            }
            slot[k]
        } else if packed {
            let k = codes()
                .zip(&bits)
                .fold(0u128, |k, (c, &b)| (k << b) | u128::from(c));
            *index.entry(k).or_insert(next)
        } else {
            *wide.entry(codes().collect()).or_insert(next)
        };
        if g == next {
            out.elements.push(codes().collect());
        }
        out.group.push(g);
    }
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
