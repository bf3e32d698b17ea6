//! Multi-dimensional root-cause localization.
//!
//! Input: a leaf table, one row per combination of the low-cardinality
//! dimensions, with the real failures `v` and the expected failures `f`.
//! Output: the smallest set of elements (a value of one dimension, or a
//! combination of values of up to three) whose anomaly explains the excess.
//!
//! The score of a candidate element `e` follows the ripple effect (a root
//! cause scales every leaf under it by the same factor): inside `e` the
//! model predicts `f·r` with `r = V_e / F_e`, outside `e` it predicts `f`.
//! The score is the share of the table's total absolute deviation that this
//! prediction removes:
//!
//! ```text
//! score(e) = ( Σ_{ℓ∈e} |v−f| − Σ_{ℓ∈e} |v − f·r| ) / Σ_ℓ |v−f|
//! ```
//!
//! A coarser element than the true cause dilutes `r` with normal leaves and
//! leaves a residual inside; a finer one misses anomalous leaves. Both score
//! lower than the cause itself. Among elements scoring within `tie` of the
//! best, the one with fewest dimensions wins (Occam). The chosen element is
//! folded into the expectation (`f := f·r` under it) and the search repeats
//! for further causes while the best remaining element is statistically
//! significant (Poisson tail of its excess), so what is left is noise.
//!
//! When failures are sparse (a few per failing leaf, as in the first seconds
//! of an outage), counting noise swamps the L1 residual, and the score is
//! the Poisson log-likelihood gain of the element instead (see
//! [`poisson_gain`]); the search is the same. This combines
//! Squeeze's ripple-effect potential score with RiskLoc's layer-by-layer,
//! explain-and-repeat search, and needs no clustering threshold.

use crate::spike::poisson_upper_tail;
use std::collections::HashMap;
use swipewatch_model::FastState;

/// Largest number of dimensions in a leaf table.
pub const MAX_DIMS: usize = 6;
/// Attribute codes must be below this (21 bits, three fit in a key).
pub const MAX_CODE: u32 = 1 << 21;

/// A leaf table in columns.
#[derive(Debug, Clone, Copy)]
pub struct LeafInput<'a> {
    /// Number of dimensions (1–6).
    pub dims: usize,
    /// Attribute codes, row-major: leaf `i`, dimension `d` at `i * dims + d`.
    pub values: &'a [u32],
    /// Real value per leaf.
    pub real: &'a [f64],
    /// Expected (forecast) value per leaf.
    pub forecast: &'a [f64],
}

impl LeafInput<'_> {
    fn len(&self) -> usize {
        self.real.len()
    }
}

/// A set of `(dimension, value)` pairs, sorted by dimension.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Element(pub Vec<(usize, u32)>);

impl Element {
    /// True when leaf `i` of `t` lies under this element.
    pub fn contains(&self, t: &LeafInput, i: usize) -> bool {
        self.0.iter().all(|&(d, v)| t.values[i * t.dims + d] == v)
    }

    /// Number of dimensions fixed (the layer).
    pub fn layer(&self) -> usize {
        self.0.len()
    }
}

/// One localized root cause.
#[derive(Debug, Clone, PartialEq)]
pub struct Localized {
    /// The element.
    pub element: Element,
    /// Its score when chosen.
    pub score: f64,
    /// Real total under it.
    pub real: f64,
    /// Expected total under it when chosen (after earlier causes were folded in).
    pub expected: f64,
    /// Its share of the table's total excess `Σv − Σf`.
    pub excess_share: f64,
}

/// Search parameters.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Most dimensions in one element.
    pub max_layer: usize,
    /// Most elements returned.
    pub max_elements: usize,
    /// Elements scoring within this fraction of the best (relative) prefer
    /// fewer dimensions.
    pub tie: f64,
    /// Stop when the best element explains less than this share of the
    /// original total deviation.
    pub min_gain: f64,
    /// Stop when the best element's excess is this likely under Poisson noise.
    pub significance: f64,
    /// An element must scale its leaves by at least this factor.
    pub min_ratio: f64,
    /// Below this many real failures per failing leaf, counting noise
    /// swamps the L1 ripple score and the Poisson likelihood-ratio score is
    /// used instead.
    pub sparse_below: f64,
    /// With the Poisson score, an element with more dimensions must gain at
    /// least this much more log-likelihood than a coarser one to be preferred.
    pub tie_nats: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            max_layer: 3,
            max_elements: 3,
            tie: 0.02,
            min_gain: 0.0005,
            significance: 1e-6,
            min_ratio: 1.2,
            sparse_below: 5.0,
            tie_nats: 3.0,
        }
    }
}

#[derive(Default, Clone, Copy)]
struct Agg {
    real: f64,
    expected: f64,
    dev: f64,
    resid: f64,
}

fn key(codes: &[u32], combo: &[usize]) -> u64 {
    combo
        .iter()
        .fold(0u64, |k, &d| (k << 21) | u64::from(codes[d]))
}

/// Every combination of `1..=max_layer` dimensions out of `dims`.
fn cuboids(dims: usize, max_layer: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    for mask in 1u32..(1 << dims) {
        let c: Vec<usize> = (0..dims).filter(|d| mask & (1 << d) != 0).collect();
        if c.len() <= max_layer {
            out.push(c);
        }
    }
    out.sort_by_key(|c| (c.len(), c.clone()));
    out
}

struct Best {
    score: f64,
    element: Element,
    agg: Agg,
}

/// Localizes the excess of `t`. Deterministic: equal inputs give equal output.
pub fn localize(t: &LeafInput, p: &Params) -> Vec<Localized> {
    let n = t.len();
    if n == 0
        || t.dims == 0
        || t.dims > MAX_DIMS
        || t.values.len() != n * t.dims
        || t.forecast.len() != n
    {
        return Vec::new();
    }
    let total_excess: f64 = t.real.iter().sum::<f64>() - t.forecast.iter().sum::<f64>();
    let mut expected: Vec<f64> = t.forecast.to_vec();
    let failing = t.real.iter().filter(|v| **v > 0.0).count();
    let sparse = failing > 0 && t.real.iter().sum::<f64>() < p.sparse_below * failing as f64;
    let deviation = |expected: &[f64]| -> f64 {
        (0..n)
            .map(|i| {
                if sparse {
                    poisson_gain(t.real[i], expected[i])
                } else {
                    (t.real[i] - expected[i]).abs()
                }
            })
            .sum()
    };
    let dev0 = deviation(&expected);
    let mut found: Vec<Localized> = Vec::new();
    let combos = cuboids(t.dims, p.max_layer.min(3));
    let mut slot = vec![0u32; n];
    let mut index: HashMap<u64, u32, FastState> = HashMap::default();
    let mut aggs: Vec<Agg> = Vec::new();

    for _ in 0..p.max_elements {
        let dev = deviation(&expected);
        if dev <= f64::EPSILON {
            break;
        }
        let mut best_per_layer: [Option<Best>; 4] = [None, None, None, None];
        let mut tested = 0usize;
        for combo in &combos {
            index.clear();
            aggs.clear();
            for i in 0..n {
                let codes = &t.values[i * t.dims..(i + 1) * t.dims];
                let k = key(codes, combo);
                let next = aggs.len() as u32;
                let s = *index.entry(k).or_insert(next);
                if s == next {
                    aggs.push(Agg::default());
                }
                slot[i] = s;
                let a = &mut aggs[s as usize];
                a.real += t.real[i];
                a.expected += expected[i];
                a.dev += (t.real[i] - expected[i]).abs();
            }
            for i in 0..n {
                if sparse {
                    break;
                }
                let a = &mut aggs[slot[i] as usize];
                if a.expected > 0.0 && a.real >= p.min_ratio * a.expected {
                    let r = a.real / a.expected;
                    a.resid += (t.real[i] - expected[i] * r).abs();
                }
            }
            tested += aggs.len();
            for (k, a) in index.iter() {
                let a = aggs[*a as usize];
                if a.expected <= 0.0 || a.real < p.min_ratio * a.expected {
                    continue;
                }
                let score = if sparse {
                    poisson_gain(a.real, a.expected) / dev
                } else {
                    (a.dev - a.resid) / dev
                };
                let layer = combo.len();
                let better = match &best_per_layer[layer] {
                    None => true,
                    Some(b) => {
                        score > b.score + 1e-12
                            || ((score - b.score).abs() <= 1e-12
                                && element_of(*k, combo) < b.element)
                    }
                };
                if better {
                    best_per_layer[layer] = Some(Best {
                        score,
                        element: element_of(*k, combo),
                        agg: a,
                    });
                }
            }
        }
        // Only significant, useful candidates; then the fewest dimensions
        // among those within `tie` (relative) of the best score. The
        // likelihood score picks the most extreme of many candidates, so in
        // the sparse regime the significance is corrected for their number.
        let level = if sparse {
            p.significance / tested.max(1) as f64
        } else {
            p.significance
        };
        let significant = |b: &&Best| {
            b.score * dev >= p.min_gain * dev0
                && poisson_upper_tail(b.agg.real.round().max(0.0) as u64, b.agg.expected) <= level
        };
        let candidates: Vec<&Best> = best_per_layer
            .iter()
            .flatten()
            .filter(significant)
            .collect();
        let top = candidates.iter().map(|b| b.score).fold(f64::MIN, f64::max);
        let Some(choice) = candidates.into_iter().find(|b| {
            if sparse {
                (top - b.score) * dev <= p.tie_nats
            } else {
                b.score >= top * (1.0 - p.tie)
            }
        }) else {
            break;
        };
        let r = choice.agg.real / choice.agg.expected;
        for (i, e) in expected.iter_mut().enumerate() {
            if choice.element.contains(t, i) {
                *e *= r;
            }
        }
        found.push(Localized {
            element: choice.element.clone(),
            score: choice.score,
            real: choice.agg.real,
            expected: choice.agg.expected,
            excess_share: if total_excess.abs() > f64::EPSILON {
                (choice.agg.real - choice.agg.expected) / total_excess
            } else {
                0.0
            },
        });
    }
    found
}

/// Log-likelihood gain of scaling a Poisson expectation `f` to fit `v`
/// (half the Poisson deviance): `v·ln(v/f) − (v − f)`. Summed over an
/// element's leaves with one common factor it is the element's own
/// `V·ln(V/F) − (V − F)`, which the true cause maximizes: a coarser element
/// dilutes the ratio (log-sum inequality), a finer one misses part of `F`.
fn poisson_gain(v: f64, f: f64) -> f64 {
    let f = f.max(1e-9);
    if v <= 0.0 {
        f
    } else {
        v * (v / f).ln() - (v - f)
    }
}

fn element_of(k: u64, combo: &[usize]) -> Element {
    let mut out = Vec::with_capacity(combo.len());
    for (j, &d) in combo.iter().enumerate() {
        let shift = 21 * (combo.len() - 1 - j);
        out.push((d, ((k >> shift) & u64::from(MAX_CODE - 1)) as u32));
    }
    Element(out)
}

#[cfg(test)]
#[path = "localize_tests.rs"]
mod tests;
