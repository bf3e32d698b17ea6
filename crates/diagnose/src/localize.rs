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
//!   moved the same way, gaining at least `min_nats` and by more than
//!   `split_rest` of the element's change, the parent is the cause and the element only its
//!   most extreme part;
//! * **split**: if, along one dimension, the element's change sits in a few
//!   of its children while the others are known to be at their forecast
//!   (they would have shown the change), and the children gain more than
//!   each extra element costs, those children replace it.
//!
//! The chosen element's leaves then leave the search: what its one ratio
//! leaves uneven in them is not another cause, and an overlapping cause is
//! judged on the rest of its leaves. Elements above or below it are not
//! offered again, and the search repeats while a significant element
//! remains. Near-equal gains are decided by the size of the move, then the
//! layer, then the values' codes; never by hash order.

mod cuboid;
pub mod noise;
mod search;
pub mod series;

use search::Search;

/// Codes the live detector reserves: codes are below this, and
/// `MAX_CODE - 1` stands for a value that was not reported.
pub const MAX_CODE: u32 = 1 << 21;
/// Most cuboids (combinations of dimensions) one search scores: all
/// layers up to 6 for up to 10 dimensions, up to 3 for up to 18.
pub const MAX_CUBOIDS: usize = 1024;
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
    /// Real total under it, over the leaves no earlier cause took.
    pub real: f64,
    /// Expected total under it when chosen, over the leaves no earlier cause
    /// took (zero forecasts read at the noise model's floor).
    pub expected: f64,
    /// Its share of the table's total deviation `Σv − Σf` (zero forecasts
    /// read at the floor): `(real − expected) / (Σv − Σf)`. The shares and
    /// the part left unexplained add up to one.
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
    /// A cause is widened to its parent when the rest of the parent, too
    /// small to show either way, fits the cause's change within this many
    /// nats of fitting its forecast: with few counts, the failures of a
    /// whole element may all fall in its larger part, and nothing says the
    /// smaller part was spared.
    pub occam_nats: f64,
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
            occam_nats: 2.0,
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
    Search::new(t, p).run()
}

#[cfg(test)]
#[path = "localize_tests.rs"]
mod tests;
