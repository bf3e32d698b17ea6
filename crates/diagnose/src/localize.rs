//! Multi-dimensional root-cause localization.
//!
//! Input: a leaf table, one row per leaf (a combination of dimension
//! values), with the real value `v` and the expected (forecast) value `f`.
//! Output: the smallest set of elements (a value of one dimension, or a
//! combination of values of up to three) whose change, up or down, explains
//! the table's deviation from its forecast.
//!
//! **Model.** A root cause scales the leaves under it by one factor `r`
//! (the ripple effect); everything else stays at its forecast plus noise.
//! The noise of a leaf is `Var = α·f + β·f²`: a counting term (Poisson-like,
//! dominant for small counts) and a forecast term (relative error,
//! dominant for large values). Both are estimated from the table's bulk
//! with medians, so a minority of anomalous leaves does not move them (see
//! [`noise`]); for known counts (the live detector) `α = 1`.
//!
//! **Score.** An element `e` with real total `V` and expected total `M` is
//! scored by the log-likelihood gain of scaling it to fit, a quasi-Poisson
//! deviance: `G(e) = (V·ln(V/M) − (V − M)) / (α + β·Σf²/M)`. It needs only
//! sums over the element's leaves, so every candidate of a cuboid is scored
//! in one pass. By the log-sum inequality the true cause scores above its
//! parents (which dilute the ratio with normal leaves) and its children
//! (which miss part of it), in either direction, and the deviance grows
//! only like `V·ln V` for a few failures on a near-zero forecast, where a
//! squared error would explode.
//!
//! **Search.** Every cuboid of up to `max_layer` dimensions is scored; among
//! elements within `tie` of the best gain the one with fewest dimensions
//! wins (Occam). A chosen element is checked for a cleaner split: if, along
//! one dimension, its deviation sits in a few of its children while the
//! others are at their forecast, those children replace it. The choice is
//! folded into the expectation (`f := f·r` under it) and the search repeats
//! while the best element is significant (gain above `ln K + min_nats` for
//! `K` candidates) and worth at least `min_share` of the first one.
//! Elements above or below a chosen one are not offered again: its
//! leftover unevenness is not a second cause.

pub mod noise;

use crate::localize::noise::{estimate, NoiseModel};
use std::collections::HashMap;
use swipewatch_model::FastState;

/// Codes the live detector reserves: codes are below this, and
/// `MAX_CODE - 1` stands for a value that was not reported.
pub const MAX_CODE: u32 = 1 << 21;
/// Most elements one search can return.
pub const MAX_ELEMENTS: usize = 16;

/// A leaf table in columns.
#[derive(Debug, Clone, Copy)]
pub struct LeafInput<'a> {
    /// Number of dimensions (at least 1).
    pub dims: usize,
    /// Attribute codes, row-major: leaf `i`, dimension `d` at `i * dims + d`.
    /// Any `u32`; codes are compared, never ordered.
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

    fn is_valid(&self) -> bool {
        let n = self.len();
        n > 0
            && self.dims > 0
            && self.values.len() == n * self.dims
            && self.forecast.len() == n
            && self
                .real
                .iter()
                .chain(self.forecast)
                .all(|x| x.is_finite() && *x >= 0.0)
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

    /// True when every pair of `self` is in `other` (`other` is `self` or
    /// lies under it).
    pub fn covers(&self, other: &Element) -> bool {
        self.0.iter().all(|p| other.0.contains(p))
    }
}

/// Which way a root cause may move its leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Up or down (the default).
    Both,
    /// Only above the forecast (failures up).
    Rise,
    /// Only below the forecast (traffic or approvals down).
    Drop,
}

/// How leaf noise is known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Noise {
    /// Estimated from the table (any measure).
    Estimate,
    /// Counts with Poisson noise, plus this relative forecast error
    /// (standard deviation as a share of the forecast).
    Counts {
        /// Relative forecast error.
        forecast_error: f64,
    },
}

/// One localized root cause.
#[derive(Debug, Clone, PartialEq)]
pub struct Localized {
    /// The element.
    pub element: Element,
    /// Its gain when chosen (nats).
    pub score: f64,
    /// Real total under it.
    pub real: f64,
    /// Expected total under it when chosen (after earlier causes were folded in).
    pub expected: f64,
    /// Its share of the table's total deviation `Σv − Σf`: `(real −
    /// expected) / (Σv − Σf)`. The shares and the part left unexplained
    /// add up to one.
    pub excess_share: f64,
}

impl Localized {
    /// Real over expected: above one for a rise, below for a drop.
    pub fn ratio(&self) -> f64 {
        if self.expected > 0.0 {
            self.real / self.expected
        } else {
            f64::INFINITY
        }
    }
}

/// Search parameters.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Most dimensions in one element.
    pub max_layer: usize,
    /// Most elements returned (at most [`MAX_ELEMENTS`]).
    pub max_elements: usize,
    /// Which way causes may move their leaves.
    pub direction: Direction,
    /// How leaf noise is known.
    pub noise: Noise,
    /// Elements whose gain is within this share of the best prefer fewer
    /// dimensions.
    pub tie: f64,
    /// A cause must gain this many nats beyond `ln K` (`K` candidates).
    pub min_nats: f64,
    /// Later causes must gain at least this share of the first one's.
    pub min_share: f64,
    /// Later causes must move their total by at least this share of what
    /// the first one moved: a cause is material, not only significant.
    pub min_mass: f64,
    /// A cause must move its leaves by at least this factor (`r ≥ 1 +
    /// min_effect` or `r ≤ 1 / (1 + min_effect)`).
    pub min_effect: f64,
    /// A cause is split into some of its children when the others, taken
    /// together, moved by at most this share of the cause's own change.
    pub split_rest: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            max_layer: 3,
            max_elements: 3,
            direction: Direction::Both,
            noise: Noise::Estimate,
            tie: 0.05,
            min_nats: 10.0,
            min_share: 0.01,
            min_mass: 0.05,
            min_effect: 0.05,
            split_rest: 0.25,
        }
    }
}

impl Params {
    /// The live detector's: failure counts against baseline rates, only
    /// rises (a drop in failures is not an incident), Poisson noise with a
    /// 10 % error in the learned rates.
    pub fn live() -> Params {
        Params {
            direction: Direction::Rise,
            noise: Noise::Counts {
                forecast_error: 0.1,
            },
            min_nats: 12.0,
            ..Params::default()
        }
    }
}

/// Sums over an element's leaves.
#[derive(Default, Clone, Copy, Debug)]
struct Agg {
    real: f64,
    expected: f64,
    expected_sq: f64,
    leaves: u32,
}

impl Agg {
    fn add(&mut self, v: f64, m: f64) {
        self.real += v;
        self.expected += m;
        self.expected_sq += m * m;
        self.leaves += 1;
    }

    fn plus(mut self, o: &Agg) -> Agg {
        self.real += o.real;
        self.expected += o.expected;
        self.expected_sq += o.expected_sq;
        self.leaves += o.leaves;
        self
    }

    fn ratio(&self) -> f64 {
        self.real / self.expected
    }

    /// Quasi-Poisson deviance gain of scaling the element to fit.
    fn gain(&self, noise: &NoiseModel) -> f64 {
        let (v, m) = (self.real, self.expected);
        if m <= 0.0 {
            return 0.0;
        }
        let dev = if v > 0.0 {
            v * (v / m).ln() - (v - m)
        } else {
            m
        };
        dev / (noise.alpha + noise.beta * self.expected_sq / m)
    }
}

/// A scored candidate.
#[derive(Clone, Debug)]
struct Candidate {
    gain: f64,
    element: Element,
    agg: Agg,
}

impl Candidate {
    /// Strictly better by gain, then by spelling-free features, then by codes.
    fn beats(&self, other: &Candidate) -> bool {
        let close = (self.gain - other.gain).abs() <= 1e-9 * self.gain.abs().max(other.gain.abs());
        if !close {
            return self.gain > other.gain;
        }
        let dev = |c: &Candidate| (c.agg.real - c.agg.expected).abs();
        if (dev(self) - dev(other)).abs() > 1e-9 * dev(self).max(dev(other)) {
            return dev(self) > dev(other);
        }
        (self.element.layer(), &self.element) < (other.element.layer(), &other.element)
    }
}

/// A leaf table with codes renumbered densely per dimension.
struct Dense<'a> {
    t: &'a LeafInput<'a>,
    codes: Vec<u32>,
    card: Vec<u32>,
    /// Per dimension, dense code → original code.
    original: Vec<Vec<u32>>,
}

impl<'a> Dense<'a> {
    fn new(t: &'a LeafInput<'a>) -> Self {
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

    fn code(&self, i: usize, d: usize) -> u32 {
        self.codes[i * self.t.dims + d]
    }
}

/// Groups leaves by their values on a cuboid's dimensions: each leaf's
/// group number, and the element of every group.
struct Grouping {
    group: Vec<u32>,
    elements: Vec<Vec<u32>>,
}

fn group_by(
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
    for i in 0..n {
        let g = if dense_slots {
            let k = combo.iter().fold(0usize, |k, &d| {
                k * dense.card[d] as usize + dense.code(i, d) as usize
            });
            if slot[k] == u32::MAX {
                slot[k] = out.elements.len() as u32;
                out.elements
                    .push(combo.iter().map(|&d| dense.code(i, d)).collect());
            }
            slot[k]
        } else {
            let k = combo
                .iter()
                .fold(0u128, |k, &d| (k << 32) | u128::from(dense.code(i, d)));
            let next = out.elements.len() as u32;
            let g = *index.entry(k).or_insert(next);
            if g == next {
                out.elements
                    .push(combo.iter().map(|&d| dense.code(i, d)).collect());
            }
            g
        };
        out.group.push(g);
    }
}

/// Every combination of `1..=max_layer` dimensions out of `dims`, by layer.
fn cuboids(dims: usize, max_layer: usize) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut layer: Vec<Vec<usize>> = (0..dims).map(|d| vec![d]).collect();
    for _ in 0..max_layer.min(dims) {
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

/// The search's state: the current expectation and what was chosen.
struct Search<'a> {
    dense: Dense<'a>,
    p: Params,
    noise: NoiseModel,
    expected: Vec<f64>,
    chosen: Vec<Localized>,
    total: f64,
    first: Option<(f64, f64)>,
}

impl Search<'_> {
    fn real(&self, i: usize) -> f64 {
        self.dense.t.real[i]
    }

    fn allowed(&self, a: &Agg) -> bool {
        if a.expected <= 0.0 || a.leaves == 0 {
            return false;
        }
        let r = a.ratio();
        let up = r >= 1.0 + self.p.min_effect;
        let down = r <= 1.0 / (1.0 + self.p.min_effect);
        match self.p.direction {
            Direction::Both => up || down,
            Direction::Rise => up,
            Direction::Drop => down,
        }
    }

    fn related_to_chosen(&self, e: &Element) -> bool {
        self.chosen
            .iter()
            .any(|c| c.element.covers(e) || e.covers(&c.element))
    }

    fn to_element(&self, combo: &[usize], dense_codes: &[u32]) -> Element {
        Element(
            combo
                .iter()
                .zip(dense_codes)
                .map(|(&d, &c)| (d, self.dense.original[d][c as usize]))
                .collect(),
        )
    }

    /// The best candidate of each layer, and how many were scored.
    fn scan(&self, combos: &[Vec<usize>]) -> (Vec<Option<Candidate>>, usize) {
        let mut best: Vec<Option<Candidate>> = vec![None; self.p.max_layer + 1];
        let mut grouping = Grouping {
            group: Vec::new(),
            elements: Vec::new(),
        };
        let mut index = HashMap::default();
        let mut aggs: Vec<Agg> = Vec::new();
        let mut tested = 0usize;
        for combo in combos {
            group_by(&self.dense, combo, &mut grouping, &mut index);
            aggs.clear();
            aggs.resize(grouping.elements.len(), Agg::default());
            for (i, &g) in grouping.group.iter().enumerate() {
                aggs[g as usize].add(self.real(i), self.expected[i]);
            }
            tested += aggs.len();
            let layer = combo.len();
            for (g, a) in aggs.iter().enumerate() {
                if !self.allowed(a) {
                    continue;
                }
                let gain = a.gain(&self.noise);
                if let Some(b) = &best[layer] {
                    if gain < b.gain * (1.0 - 1e-9) {
                        continue;
                    }
                }
                let element = self.to_element(combo, &grouping.elements[g]);
                if self.related_to_chosen(&element) {
                    continue;
                }
                let c = Candidate {
                    gain,
                    element,
                    agg: *a,
                };
                if best[layer].as_ref().is_none_or(|b| c.beats(b)) {
                    best[layer] = Some(c);
                }
            }
        }
        (best, tested)
    }

    fn significant(&self, c: &Candidate, tested: usize) -> bool {
        c.gain >= (tested.max(1) as f64).ln() + self.p.min_nats
            && self.first.is_none_or(|(gain, moved)| {
                c.gain >= self.p.min_share * gain
                    && (c.agg.real - c.agg.expected).abs() >= self.p.min_mass * moved
            })
    }

    fn agg_of(&self, e: &Element) -> Agg {
        let t = self.dense.t;
        let mut a = Agg::default();
        for i in 0..t.len() {
            if e.contains(t, i) {
                a.add(self.real(i), self.expected[i]);
            }
        }
        a
    }

    /// If the deviation of `c` sits in some of its children along one
    /// dimension while the rest are at their forecast, those children.
    fn split(&self, c: &Candidate, slots: usize, tested: usize) -> Option<Vec<Candidate>> {
        let t = self.dense.t;
        if c.element.layer() >= self.p.max_layer || slots < 1 {
            return None;
        }
        let inside: Vec<usize> = (0..t.len()).filter(|&i| c.element.contains(t, i)).collect();
        let change = c.agg.ratio() - 1.0;
        let mut best: Option<(f64, Vec<Candidate>)> = None;
        for d in 0..t.dims {
            if c.element.0.iter().any(|&(e, _)| e == d) {
                continue;
            }
            let mut children: HashMap<u32, Agg, FastState> = HashMap::default();
            for &i in &inside {
                children
                    .entry(self.dense.code(i, d))
                    .or_default()
                    .add(self.real(i), self.expected[i]);
            }
            if children.len() < 2 {
                continue;
            }
            let mut moved: Vec<Candidate> = Vec::new();
            let mut rest = Agg::default();
            for (&code, a) in &children {
                let mut pairs = c.element.0.clone();
                pairs.push((d, self.dense.original[d][code as usize]));
                pairs.sort_unstable();
                let child = Candidate {
                    gain: a.gain(&self.noise),
                    element: Element(pairs),
                    agg: *a,
                };
                let same_way = (a.ratio() - 1.0) * change > 0.0;
                if self.allowed(a) && same_way && self.significant(&child, tested) {
                    moved.push(child);
                } else {
                    rest = rest.plus(a);
                }
            }
            if moved.is_empty() || moved.len() > slots || rest.leaves == 0 || rest.expected <= 0.0 {
                continue;
            }
            let rest_change = rest.ratio() - 1.0;
            if rest_change.abs() > self.p.split_rest * change.abs() {
                continue;
            }
            let gained: f64 = moved.iter().map(|m| m.gain).sum();
            if gained <= c.gain {
                continue;
            }
            if best.as_ref().is_none_or(|(g, _)| gained > *g) {
                moved.sort_by(|a, b| {
                    if a.beats(b) {
                        std::cmp::Ordering::Less
                    } else {
                        std::cmp::Ordering::Greater
                    }
                });
                best = Some((gained, moved));
            }
        }
        best.map(|(_, m)| m)
    }

    fn fold(&mut self, c: &Candidate) {
        let t = self.dense.t;
        let r = c.agg.ratio();
        for i in 0..t.len() {
            if c.element.contains(t, i) {
                self.expected[i] *= r;
            }
        }
        self.chosen.push(Localized {
            element: c.element.clone(),
            score: c.gain,
            real: c.agg.real,
            expected: c.agg.expected,
            excess_share: if self.total.abs() > f64::EPSILON {
                (c.agg.real - c.agg.expected) / self.total
            } else {
                0.0
            },
        });
    }
}

/// Localizes the deviation of `t` from its forecast. Deterministic, and
/// independent of row order and of how values are coded. A table that is
/// empty, ragged, or holds a negative or non-finite value gives nothing.
pub fn localize(t: &LeafInput, p: &Params) -> Vec<Localized> {
    if !t.is_valid() || p.max_layer == 0 || p.max_elements == 0 {
        return Vec::new();
    }
    let mut p = *p;
    p.max_layer = p.max_layer.min(t.dims).min(3);
    p.max_elements = p.max_elements.min(MAX_ELEMENTS);
    let noise = estimate(t.real, t.forecast, p.noise);
    // A value appearing from a zero forecast is read against a small floor;
    // nothing expected and nothing seen is no evidence either way.
    let expected: Vec<f64> = t
        .forecast
        .iter()
        .zip(t.real)
        .map(|(&f, &v)| if f <= 0.0 && v > 0.0 { noise.floor } else { f })
        .collect();
    let total = t.real.iter().sum::<f64>() - expected.iter().sum::<f64>();
    let mut s = Search {
        dense: Dense::new(t),
        p,
        noise,
        expected,
        chosen: Vec::new(),
        total,
        first: None,
    };
    let combos = cuboids(t.dims, p.max_layer);
    while s.chosen.len() < p.max_elements {
        let (best, tested) = s.scan(&combos);
        let top = best
            .iter()
            .flatten()
            .map(|c| c.gain)
            .fold(f64::MIN, f64::max);
        // The fewest dimensions among the significant candidates close to the best.
        let Some(pick) = best
            .iter()
            .flatten()
            .find(|c| c.gain >= top * (1.0 - p.tie) && s.significant(c, tested))
            .cloned()
        else {
            break;
        };
        let slots = p.max_elements - s.chosen.len();
        let picks = s.split(&pick, slots, tested).unwrap_or_else(|| vec![pick]);
        s.first.get_or_insert((
            picks[0].gain,
            (picks[0].agg.real - picks[0].agg.expected).abs(),
        ));
        for c in picks {
            // Earlier folds may overlap this element; re-read its sums.
            let agg = s.agg_of(&c.element);
            if agg.expected <= 0.0 {
                continue;
            }
            let c = Candidate { agg, ..c };
            s.fold(&c);
        }
    }
    s.chosen
}

#[cfg(test)]
#[path = "localize_tests.rs"]
mod tests;
