//! Multi-dimensional root-cause localization.
//!
//! Input: a leaf table, one row per leaf (a combination of dimension
//! values), with the real value `v` and the expected (forecast) value `f`.
//! Output: the smallest set of elements (a value of one dimension, or a
//! combination of values of several) whose change, up or down, explains
//! the table's deviation from its forecast.
//!
//! **Model.** A root cause scales the leaves under it by about one factor
//! `r` (the ripple effect); everything else stays at its forecast plus
//! noise. The noise of a leaf is `Var = α·f + β·f²`: a counting term
//! (Poisson-like, dominant for small counts) and a forecast term (relative
//! error, dominant for large values), estimated from the table's bulk with
//! medians so that a minority of anomalous leaves does not move them (see
//! [`noise`]); for known counts (the live detector) `α = 1`.
//!
//! **Score.** An element's gain (nats) is how much better the data fit with
//! the element scaled than without. Where counting noise dominates it is
//! the quasi-Poisson deviance of the element's totals `V`, `M`:
//! `(V·ln(V/M) − (V − M)) / (α + β·Σf²/M)`, which grows only like `V·ln V`
//! for a few failures on a near-zero forecast. Where forecast error
//! dominates it is read leaf by leaf from log ratios, each capped at four
//! standard deviations, so that one leaf with an outlying forecast is never
//! a cause alone (see [`noise::NoiseModel::evidence`]). Both need only sums
//! over an element's leaves, so every candidate of a cuboid is scored in
//! one pass. The true cause scores above its parents (which dilute it with
//! normal leaves) and its children (which miss part of it), either way.
//!
//! **Search.** Every cuboid of up to `max_layer` dimensions is scored.
//! Among the significant elements (gain above `ln K + min_nats` for `K`
//! candidates, a move of at least `min_mass` of the largest significant
//! move) within `tie` of the best gain, the one with fewest dimensions wins
//! (Occam). Two checks then set the granularity, each in terms of what the
//! data show, not of a fixed layer:
//! * **climb**: if the rest of a parent (the parent without the element)
//!   moved the same way, significantly and by more than `split_rest` of the
//!   element's change, the parent is the cause and the element only its
//!   most extreme part;
//! * **split**: if, along one dimension, the element's change sits in a few
//!   of its children while the others are known to be at their forecast
//!   (they would have shown the change), and the children gain more than
//!   each extra element costs, those children replace it.
//!
//! The choice is folded into the expectation (`f := f·r` under it), its
//! leaves leave the search (what one ratio leaves uneven in them is not
//! another cause; an overlapping cause is judged on the rest of its
//! leaves), elements above or below it are not offered again, and the
//! search repeats while a significant element remains.

pub mod noise;
pub mod series;

use crate::localize::noise::{estimate, NoiseModel};
use std::collections::HashMap;
use swipewatch_model::FastState;

/// Codes the live detector reserves: codes are below this, and
/// `MAX_CODE - 1` stands for a value that was not reported.
pub const MAX_CODE: u32 = 1 << 21;
/// Most cuboids (combinations of dimensions) one search scores: all
/// layers up to 6 for up to 10 dimensions, up to 3 for up to 18.
pub const MAX_CUBOIDS: usize = 1024;
/// Leaf group numbers kept between the steps of one search (16 M, 64 MB);
/// beyond, cuboids are grouped anew at each step.
const CACHED_GROUPS: usize = 1 << 24;
/// Candidates kept per layer in one pass.
const KEPT: usize = 8;
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
    /// A cause must move its total by at least this share of the largest
    /// move among the significant elements of the first pass: a cause is
    /// material, not only significant (an outlying forecast on one small
    /// leaf is not a root cause).
    pub min_mass: f64,
    /// A cause must move its leaves by at least this factor (`r ≥ 1 +
    /// min_effect` or `r ≤ 1 / (1 + min_effect)`).
    pub min_effect: f64,
    /// A cause is split into some of its children when the others, taken
    /// together, moved by at most this share of the cause's own change.
    pub split_rest: f64,
    /// A split must gain this share more than the cause it replaces, after
    /// paying for each extra element.
    pub split_margin: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            max_layer: 6,
            max_elements: 10,
            direction: Direction::Both,
            noise: Noise::Estimate,
            tie: 0.05,
            min_nats: 8.0,
            min_share: 0.01,
            min_mass: 0.05,
            min_effect: 0.05,
            split_rest: 0.25,
            split_margin: 0.25,
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
            max_layer: 3,
            max_elements: 3,
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
    /// Weighted, capped log ratios and their weights (see [`NoiseModel::evidence`]).
    wx: f64,
    w: f64,
    leaves: u32,
}

impl Agg {
    fn add(&mut self, v: f64, m: f64, (wx, w): (f64, f64)) {
        self.real += v;
        self.expected += m;
        self.expected_sq += m * m;
        self.wx += wx;
        self.w += w;
        self.leaves += 1;
    }

    fn plus(mut self, o: &Agg) -> Agg {
        self.real += o.real;
        self.expected += o.expected;
        self.expected_sq += o.expected_sq;
        self.wx += o.wx;
        self.w += o.w;
        self.leaves += o.leaves;
        self
    }

    fn minus(mut self, o: &Agg) -> Agg {
        self.real -= o.real;
        self.expected -= o.expected;
        self.expected_sq -= o.expected_sq;
        self.wx -= o.wx;
        self.w -= o.w;
        self.leaves -= o.leaves;
        self
    }

    fn ratio(&self) -> f64 {
        self.real / self.expected
    }

    /// Gain of scaling the element to fit: where forecast error dominates,
    /// from the leaves' capped log ratios (so that one leaf with an
    /// outlying forecast is never a cause alone); where counting noise
    /// dominates, the quasi-Poisson deviance of the element's totals.
    fn gain(&self, noise: &NoiseModel) -> f64 {
        let (v, m) = (self.real, self.expected);
        if m <= 0.0 {
            return 0.0;
        }
        if noise.relative {
            return if self.w > 0.0 {
                self.wx * self.wx / (2.0 * self.w)
            } else {
                0.0
            };
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
#[derive(Default)]
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
fn cuboids(dims: usize, max_layer: usize) -> Vec<Vec<usize>> {
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

/// The search's state: the current expectation and what was chosen.
struct Search<'a> {
    dense: Dense<'a>,
    p: Params,
    noise: NoiseModel,
    expected: Vec<f64>,
    /// Per leaf, its weighted capped log ratio and weight.
    evidence: Vec<(f64, f64)>,
    /// Leaves not yet explained: a chosen cause takes its leaves out of
    /// the search, so that what its ratio leaves uneven in them is not
    /// mistaken for another cause (and an overlapping cause is judged on
    /// the rest of its leaves).
    open: Vec<bool>,
    chosen: Vec<Localized>,
    total: f64,
    first_gain: Option<f64>,
    /// Causes must move their total by at least this much.
    mass_floor: f64,
}

/// What one pass over the cuboids found.
struct Scan {
    best: Vec<Vec<Candidate>>,
    tested: usize,
    largest_move: f64,
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
        let up = r >= 1.0 + self.p.min_effect && (!self.noise.relative || a.wx > 0.0);
        let down = r <= 1.0 / (1.0 + self.p.min_effect) && (!self.noise.relative || a.wx < 0.0);
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
    /// Groupings are kept in `cache` from one scan to the next when they
    /// fit in [`CACHED_GROUPS`].
    /// The best candidates of each layer ([`KEPT`] of each, best first),
    /// how many were scored, and the largest move of a significant one.
    /// Groupings are kept in `cache` from one scan to the next when they fit
    /// in [`CACHED_GROUPS`].
    fn scan(&self, combos: &[Vec<usize>], cache: &mut Vec<Grouping>) -> Scan {
        let mut out = Scan {
            best: vec![Vec::new(); self.p.max_layer + 1],
            tested: 0,
            largest_move: 0.0,
        };
        let mut scratch = Grouping::default();
        let mut index = HashMap::default();
        let mut aggs: Vec<Agg> = Vec::new();
        let keep = combos.len() * self.dense.t.len() <= CACHED_GROUPS;
        for (c, combo) in combos.iter().enumerate() {
            let grouping = if keep {
                if cache.len() <= c {
                    let mut g = Grouping::default();
                    group_by(&self.dense, combo, &mut g, &mut index);
                    cache.push(g);
                }
                &cache[c]
            } else {
                group_by(&self.dense, combo, &mut scratch, &mut index);
                &scratch
            };
            aggs.clear();
            aggs.resize(grouping.elements.len(), Agg::default());
            for (i, &g) in grouping.group.iter().enumerate() {
                if !self.open[i] {
                    continue;
                }
                aggs[g as usize].add(self.real(i), self.expected[i], self.evidence[i]);
            }
            out.tested += aggs.len();
            let threshold = (out.tested as f64).ln() + self.p.min_nats;
            let best = &mut out.best[combo.len()];
            for (g, a) in aggs.iter().enumerate() {
                if !self.allowed(a) {
                    continue;
                }
                let gain = a.gain(&self.noise);
                if gain >= threshold {
                    out.largest_move = out.largest_move.max((a.real - a.expected).abs());
                }
                if best.len() == KEPT && best.last().is_some_and(|b| gain < b.gain * (1.0 - 1e-9)) {
                    continue;
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
                let at = best.iter().position(|b| c.beats(b)).unwrap_or(best.len());
                best.insert(at, c);
                best.truncate(KEPT);
            }
        }
        out
    }

    fn significant(&self, c: &Candidate, tested: usize) -> bool {
        c.gain >= (tested.max(1) as f64).ln() + self.p.min_nats
            && (c.agg.real - c.agg.expected).abs() >= self.mass_floor
            && self
                .first_gain
                .is_none_or(|gain| c.gain >= self.p.min_share * gain)
    }

    fn agg_of(&self, e: &Element) -> Agg {
        let t = self.dense.t;
        let mut a = Agg::default();
        for i in 0..t.len() {
            if self.open[i] && e.contains(t, i) {
                a.add(self.real(i), self.expected[i], self.evidence[i]);
            }
        }
        a
    }

    /// The coarsest ancestor of `c` all of whose parts moved: while the
    /// rest of a parent (the parent without `c`) moved the same way,
    /// significantly and by more than `split_rest` of `c`'s change, the
    /// parent is the cause and `c` only its most extreme part.
    fn climb(&self, mut c: Candidate, tested: usize) -> Candidate {
        loop {
            let change = c.agg.ratio() - 1.0;
            let mut best: Option<(f64, Candidate)> = None;
            for drop in 0..c.element.layer() {
                if c.element.layer() == 1 {
                    break;
                }
                let mut pairs = c.element.0.clone();
                pairs.remove(drop);
                let parent = Element(pairs);
                if self.related_to_chosen(&parent) {
                    continue;
                }
                let agg = self.agg_of(&parent);
                let rest = agg.minus(&c.agg);
                if rest.expected <= 0.0 || rest.leaves == 0 || !self.allowed(&agg) {
                    continue;
                }
                let rest_change = rest.ratio() - 1.0;
                let rest_gain = rest.gain(&self.noise);
                let moved = rest_change * change > 0.0
                    && rest_change.abs() > self.p.split_rest * change.abs()
                    && rest_gain >= self.p.min_nats;
                if moved && best.as_ref().is_none_or(|(g, _)| rest_gain > *g) {
                    let gain = agg.gain(&self.noise);
                    let candidate = Candidate {
                        gain,
                        element: parent,
                        agg,
                    };
                    if self.significant(&candidate, tested) {
                        best = Some((rest_gain, candidate));
                    }
                }
            }
            match best {
                Some((_, parent)) => c = parent,
                None => return c,
            }
        }
    }

    /// If the deviation of `c` sits in some of its children along one
    /// dimension while the rest are at their forecast, those children.
    fn split(&self, c: &Candidate, slots: usize, tested: usize) -> Option<Vec<Candidate>> {
        let t = self.dense.t;
        if c.element.layer() >= self.p.max_layer || slots < 1 {
            return None;
        }
        let inside: Vec<usize> = (0..t.len())
            .filter(|&i| self.open[i] && c.element.contains(t, i))
            .collect();
        let change = c.agg.ratio() - 1.0;
        let mut best: Option<(f64, Vec<Candidate>)> = None;
        for d in 0..t.dims {
            if c.element.0.iter().any(|&(e, _)| e == d) {
                continue;
            }
            let mut children: HashMap<u32, Agg, FastState> = HashMap::default();
            for &i in &inside {
                children.entry(self.dense.code(i, d)).or_default().add(
                    self.real(i),
                    self.expected[i],
                    self.evidence[i],
                );
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
            // The rest must be large enough that, had it moved with the
            // cause, it would have shown: otherwise it is not known to be
            // at its forecast.
            let as_cause = Agg {
                real: rest.expected * c.agg.ratio(),
                wx: rest.w * c.agg.ratio().ln(),
                ..rest
            };
            if as_cause.gain(&self.noise) < (tested.max(1) as f64).ln() + self.p.min_nats {
                continue;
            }
            // Each element beyond the first must pay for itself as a cause
            // of its own would.
            let gained: f64 = moved.iter().map(|m| m.gain).sum();
            let price = (moved.len() - 1) as f64 * ((tested.max(1) as f64).ln() + self.p.min_nats);
            if gained - price <= c.gain * (1.0 + self.p.split_margin) {
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
            if self.open[i] && c.element.contains(t, i) {
                self.expected[i] *= r;
                self.open[i] = false;
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
    p.max_layer = p.max_layer.min(t.dims);
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
    let evidence = t
        .real
        .iter()
        .zip(&expected)
        .map(|(&v, &m)| noise.evidence(v, m))
        .collect();
    let mut s = Search {
        dense: Dense::new(t),
        p,
        noise,
        open: vec![true; t.len()],
        expected,
        evidence,
        chosen: Vec::new(),
        total,
        first_gain: None,
        mass_floor: 0.0,
    };
    let combos = cuboids(t.dims, p.max_layer);
    s.p.max_layer = combos.last().map_or(1, Vec::len);
    let mut cache = Vec::new();
    while s.chosen.len() < p.max_elements {
        let scan = s.scan(&combos, &mut cache);
        let tested = scan.tested;
        if s.first_gain.is_none() {
            s.mass_floor = p.min_mass * scan.largest_move;
        }
        let candidates: Vec<&Candidate> = scan
            .best
            .iter()
            .flatten()
            .filter(|c| s.significant(c, tested))
            .collect();
        let top = candidates.iter().map(|c| c.gain).fold(f64::MIN, f64::max);
        // The fewest dimensions among the significant candidates close to
        // the best (each layer's list is best first).
        let Some(pick) = candidates
            .into_iter()
            .find(|c| c.gain >= top * (1.0 - p.tie))
            .cloned()
        else {
            break;
        };
        let slots = p.max_elements - s.chosen.len();
        let pick = s.climb(pick, tested);
        let picks = s.split(&pick, slots, tested).unwrap_or_else(|| vec![pick]);
        s.first_gain.get_or_insert(picks[0].gain);
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
