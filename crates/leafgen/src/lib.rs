//! Semi-synthetic leaf tables with labelled root causes, in the style of
//! the public root-cause-localization benchmarks, for measuring the
//! localizer. It knows nothing of how the localizer works and is kept in a
//! crate of its own so that it is not tuned together with it.
//!
//! A case is made as the published generators make theirs:
//!
//! * 4–6 dimensions of 5–30 values each; all combinations when they number
//!   at most `max_leaves`, otherwise `max_leaves` distinct combinations
//!   drawn at random (a sparse table, as real fleets are);
//! * a true value per leaf, heavy-tailed (Weibull with shape 0.5–1, as
//!   RiskLoc's generator) or a small count (Poisson); a share of leaves is
//!   empty (zero real and zero forecast);
//! * a forecast off the truth by a relative error drawn per case;
//! * 1–3 root-cause elements in one layer (1–3 dimensions fixed), either in
//!   one cuboid or each in its own, sharing no leaf; each changes its leaves
//!   by its own severity (plus the forecast error, so that an anomaly is not
//!   just noise), varied per leaf, down (a drop) or up (a rise) — one
//!   direction per case — and optionally on only part of its leaves.
//!
//! Deterministic from a seed.

use std::collections::HashSet;

/// A tiny deterministic generator (xorshift64*).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in `[lo, hi]`.
    pub fn between(&mut self, (lo, hi): (f64, f64)) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-300);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    /// Weibull with shape `k` and scale 1.
    pub fn weibull(&mut self, k: f64) -> f64 {
        (-(1.0 - self.unit()).ln()).powf(1.0 / k)
    }
    /// Poisson with mean `lambda` (Knuth below 30, normal approximation above).
    pub fn poisson(&mut self, lambda: f64) -> f64 {
        if lambda <= 0.0 {
            return 0.0;
        }
        if lambda < 30.0 {
            let l = (-lambda).exp();
            let mut k = 0.0;
            let mut p = 1.0;
            loop {
                p *= self.unit();
                if p <= l {
                    return k;
                }
                k += 1.0;
            }
        }
        (lambda + lambda.sqrt() * self.normal()).round().max(0.0)
    }
    /// A random order of `0..n`.
    pub fn shuffled(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            v.swap(i, self.below(i + 1));
        }
        v
    }
}

/// What a leaf's true value looks like.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Values {
    /// Continuous and heavy-tailed: `scale` × Weibull(shape 0.5–1).
    Heavy {
        /// Scale.
        scale: f64,
    },
    /// Counts: the real value is Poisson around a log-normal mean with this
    /// median.
    Counts {
        /// Median expected count per leaf.
        median: f64,
    },
}

/// How to generate cases.
#[derive(Debug, Clone)]
pub struct Setting {
    /// Number of dimensions, drawn in this range.
    pub dims: (usize, usize),
    /// Values per dimension, drawn in this range.
    pub cardinality: (u32, u32),
    /// Most leaves in a table.
    pub max_leaves: usize,
    /// Dimensions fixed by each root-cause element.
    pub layer: usize,
    /// Root-cause elements.
    pub elements: usize,
    /// True values.
    pub values: Values,
    /// Relative forecast error σ, drawn per case.
    pub forecast_noise: (f64, f64),
    /// Share of empty leaves, drawn per case.
    pub zero_rate: (f64, f64),
    /// Relative change of a root cause, drawn per element (σ is added).
    pub severity: (f64, f64),
    /// Standard deviation of the change across one element's leaves,
    /// drawn per case.
    pub spread: (f64, f64),
    /// Share of an element's leaves that change, drawn per element.
    pub affected: (f64, f64),
    /// `Some(true)`: rises only; `Some(false)`: drops only; `None`: each
    /// case one or the other with equal chance.
    pub rise: Option<bool>,
}

impl Setting {
    /// The default regime: RiskLoc-like heavy-tailed values, ~20,000
    /// leaves, forecast error up to 10 %, every leaf of a cause changed.
    pub fn standard(layer: usize, elements: usize) -> Setting {
        Setting {
            dims: (4, 6),
            cardinality: (5, 30),
            max_leaves: 20_000,
            layer,
            elements,
            values: Values::Heavy { scale: 100.0 },
            forecast_noise: (0.0, 0.1),
            zero_rate: (0.0, 0.25),
            severity: (0.2, 0.9),
            spread: (0.0, 0.1),
            affected: (1.0, 1.0),
            rise: None,
        }
    }

    /// Small counts (a few per leaf), forecast error up to 25 %, and causes
    /// that change only 70–100 % of their leaves.
    pub fn small(layer: usize, elements: usize) -> Setting {
        Setting {
            values: Values::Counts { median: 3.0 },
            forecast_noise: (0.05, 0.25),
            severity: (0.5, 0.9),
            affected: (0.7, 1.0),
            ..Setting::standard(layer, elements)
        }
    }
}

/// One generated case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Number of dimensions.
    pub dims: usize,
    /// Values per dimension.
    pub cardinalities: Vec<u32>,
    /// Attribute codes, row-major: leaf `i`, dimension `d` at `i * dims + d`.
    pub values: Vec<u32>,
    /// Real values.
    pub real: Vec<f64>,
    /// Forecasts.
    pub forecast: Vec<f64>,
    /// The root-cause elements: `(dimension, code)` pairs sorted by dimension.
    pub truth: Vec<Vec<(usize, u32)>>,
    /// True when the causes raised their leaves.
    pub rise: bool,
}

impl Case {
    /// Leaves and no values yet.
    fn empty(dims: usize, cardinalities: Vec<u32>, values: Vec<u32>, rise: bool) -> Case {
        Case {
            dims,
            cardinalities,
            values,
            real: Vec::new(),
            forecast: Vec::new(),
            truth: Vec::new(),
            rise,
        }
    }

    /// True when leaf `i` lies under `element`.
    pub fn under(&self, element: &[(usize, u32)], i: usize) -> bool {
        element
            .iter()
            .all(|&(d, v)| self.values[i * self.dims + d] == v)
    }
}

/// Generates one case.
pub fn generate(s: &Setting, rng: &mut Rng) -> Case {
    let dims = s.dims.0 + rng.below(s.dims.1 - s.dims.0 + 1);
    let cardinalities: Vec<u32> = (0..dims)
        .map(|_| {
            s.cardinality.0 + rng.below((s.cardinality.1 - s.cardinality.0 + 1) as usize) as u32
        })
        .collect();
    let values = leaves(&cardinalities, s.max_leaves, rng);
    let n = values.len() / dims;
    let zero_rate = rng.between(s.zero_rate);
    let sigma = rng.between(s.forecast_noise);
    let shape = rng.between((0.5, 1.0));
    let log_sd = 0.8;
    let mean: Vec<f64> = (0..n)
        .map(|_| {
            if rng.unit() < zero_rate {
                return 0.0;
            }
            match s.values {
                Values::Heavy { scale } => scale * rng.weibull(shape),
                Values::Counts { median } => median * (log_sd * rng.normal()).exp(),
            }
        })
        .collect();
    let rise = s.rise.unwrap_or_else(|| rng.unit() < 0.5);
    let mut case = Case::empty(dims, cardinalities, values, rise);
    case.truth = causes(&case, &mean, s, rng);
    let spread = rng.between(s.spread);
    let mut factor = vec![1.0; n];
    for e in &case.truth {
        let severity = (rng.between(s.severity) + sigma).min(0.95);
        let affected = rng.between(s.affected);
        for (i, f) in factor.iter_mut().enumerate() {
            if !case.under(e, i) || rng.unit() >= affected {
                continue;
            }
            let r = (severity + spread * rng.normal()).clamp(0.05, 1.0);
            *f = if case.rise {
                1.0 / (1.0 - r.min(0.8))
            } else {
                1.0 - r
            };
        }
    }
    for i in 0..n {
        let truth = mean[i] * factor[i];
        case.real.push(match s.values {
            Values::Heavy { .. } => truth,
            Values::Counts { .. } => rng.poisson(truth),
        });
        case.forecast
            .push((mean[i] * (1.0 + sigma * rng.normal())).max(0.0));
    }
    case
}

/// Leaf codes, row-major: every combination, or `max` distinct ones.
fn leaves(cardinalities: &[u32], max: usize, rng: &mut Rng) -> Vec<u32> {
    let dims = cardinalities.len();
    let all = cardinalities
        .iter()
        .try_fold(1usize, |acc, &c| acc.checked_mul(c as usize))
        .unwrap_or(usize::MAX);
    let mut out = Vec::new();
    if all <= max {
        for i in 0..all {
            let mut rest = i;
            for &c in cardinalities {
                out.push((rest % c as usize) as u32);
                rest /= c as usize;
            }
        }
        return out;
    }
    let mut seen: HashSet<Vec<u32>> = HashSet::with_capacity(max);
    while seen.len() < max {
        let leaf: Vec<u32> = cardinalities
            .iter()
            .map(|&c| rng.below(c as usize) as u32)
            .collect();
        if seen.insert(leaf.clone()) {
            out.extend(leaf);
        }
    }
    debug_assert_eq!(out.len(), max * dims);
    out
}

/// Root-cause elements sharing no leaf, each over at least five non-empty
/// leaves (one at the leaf level), in one cuboid or each in its own.
fn causes(case: &Case, mean: &[f64], s: &Setting, rng: &mut Rng) -> Vec<Vec<(usize, u32)>> {
    let n = mean.len();
    let one_cuboid = rng.unit() < 0.5;
    let pick_dims = |rng: &mut Rng| {
        let mut d: Vec<usize> = rng.shuffled(case.dims)[..s.layer.min(case.dims)].to_vec();
        d.sort_unstable();
        d
    };
    let mut cuboid = pick_dims(rng);
    let mut truth: Vec<Vec<(usize, u32)>> = Vec::new();
    let mut taken = vec![false; n];
    for _ in 0..2000 {
        if truth.len() == s.elements {
            break;
        }
        if !one_cuboid {
            cuboid = pick_dims(rng);
        }
        let leaf = rng.below(n);
        let e: Vec<(usize, u32)> = cuboid
            .iter()
            .map(|&d| (d, case.values[leaf * case.dims + d]))
            .collect();
        let inside: Vec<usize> = (0..n).filter(|&i| case.under(&e, i)).collect();
        let live = inside.iter().filter(|&&i| mean[i] > 0.0).count();
        // A cause at the leaf level is one non-empty leaf; above, five.
        let need = if cuboid.len() == case.dims { 1 } else { 5 };
        if live < need || inside.iter().any(|&i| taken[i]) {
            continue;
        }
        for &i in &inside {
            taken[i] = true;
        }
        truth.push(e);
    }
    truth
}

/// A per-minute regime: counts of failures and attempts per leaf, a history
/// before the incident and the incident's minutes, as a fleet's
/// transaction log summed by leaf.
#[derive(Debug, Clone)]
pub struct Minutes {
    /// Dimensions fixed by each root-cause element.
    pub layer: usize,
    /// Root-cause elements.
    pub elements: usize,
    /// Minutes of history.
    pub history: u32,
    /// Minutes of the incident.
    pub incident: u32,
    /// Median attempts per leaf and minute.
    pub attempts: f64,
}

/// One per-minute case: per leaf, failures and attempts before and during.
#[derive(Debug, Clone)]
pub struct MinuteCase {
    /// Number of dimensions.
    pub dims: usize,
    /// Attribute codes, row-major.
    pub values: Vec<u32>,
    /// Per leaf, `(failures, attempts)` over the history.
    pub past: Vec<(f64, f64)>,
    /// Per leaf, `(failures, attempts)` over the incident.
    pub now: Vec<(f64, f64)>,
    /// The root-cause elements.
    pub truth: Vec<Vec<(usize, u32)>>,
}

/// Generates one per-minute case: 4–5 dimensions of 3–12 values, a sparse
/// set of leaves (as a real fleet has: not every carrier in every region),
/// attempts per leaf log-normal around `attempts` a minute, each leaf's own
/// background failure rate (0.5–6 %), and causes that make 20–90 % of
/// their leaves' attempts fail during the incident, on 70–100 % of their
/// leaves.
pub fn minutes(m: &Minutes, rng: &mut Rng) -> MinuteCase {
    let s = Setting {
        dims: (4, 5),
        cardinality: (3, 12),
        max_leaves: 3_000,
        ..Setting::standard(m.layer, m.elements)
    };
    let dims = s.dims.0 + rng.below(s.dims.1 - s.dims.0 + 1);
    let cardinalities: Vec<u32> = (0..dims)
        .map(|_| {
            s.cardinality.0 + rng.below((s.cardinality.1 - s.cardinality.0 + 1) as usize) as u32
        })
        .collect();
    let all: usize = cardinalities.iter().map(|&c| c as usize).product();
    let values = leaves(&cardinalities, all.min(s.max_leaves).min(all / 2 + 1), rng);
    let n = values.len() / dims;
    let rate: Vec<f64> = (0..n)
        .map(|_| 0.005 * (1.0 + 11.0 * rng.unit() * rng.unit()))
        .collect();
    let load: Vec<f64> = (0..n)
        .map(|_| m.attempts * (1.0 * rng.normal()).exp())
        .collect();
    let shell = Case::empty(dims, cardinalities, values, true);
    let truth = causes(&shell, &load, &s, rng);
    let mut extra = vec![0.0; n];
    for e in &truth {
        let severity = rng.between((0.2, 0.9));
        let affected = rng.between((0.7, 1.0));
        for (i, x) in extra.iter_mut().enumerate() {
            if shell.under(e, i) && rng.unit() < affected {
                *x = severity;
            }
        }
    }
    let mut past = Vec::with_capacity(n);
    let mut now = Vec::with_capacity(n);
    for i in 0..n {
        let mut tally = |minutes: u32, p: f64| {
            let attempts = rng.poisson(load[i] * f64::from(minutes));
            let failures = (0..attempts as u64).filter(|_| rng.unit() < p).count() as f64;
            (failures, attempts)
        };
        past.push(tally(m.history, rate[i]));
        let p = rate[i] + (1.0 - rate[i]) * extra[i];
        now.push(tally(m.incident, p));
    }
    MinuteCase {
        dims,
        values: shell.values,
        past,
        now,
        truth,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_share_no_leaf_and_sit_in_the_asked_layer() {
        let mut rng = Rng::new(7);
        for layer in 1..=3 {
            let case = generate(&Setting::standard(layer, 3), &mut rng);
            assert_eq!(case.truth.len(), 3);
            for e in &case.truth {
                assert_eq!(e.len(), layer);
            }
            for i in 0..case.real.len() {
                let hits = case.truth.iter().filter(|e| case.under(e, i)).count();
                assert!(hits <= 1);
            }
        }
    }

    #[test]
    fn a_drop_lowers_and_a_rise_raises_the_cause_against_its_forecast() {
        let mut rng = Rng::new(3);
        for rise in [false, true] {
            let s = Setting {
                rise: Some(rise),
                forecast_noise: (0.0, 0.0),
                ..Setting::standard(1, 1)
            };
            let case = generate(&s, &mut rng);
            let (mut v, mut f) = (0.0, 0.0);
            for i in 0..case.real.len() {
                if case.under(&case.truth[0], i) {
                    v += case.real[i];
                    f += case.forecast[i];
                }
            }
            assert_eq!(v > f, rise, "real {v} forecast {f}");
        }
    }

    #[test]
    fn a_large_table_is_sampled_down_to_distinct_leaves() {
        let mut rng = Rng::new(5);
        let s = Setting {
            dims: (6, 6),
            cardinality: (20, 20),
            ..Setting::standard(1, 1)
        };
        let case = generate(&s, &mut rng);
        assert_eq!(case.real.len(), 20_000);
        let distinct: HashSet<&[u32]> = case.values.chunks(6).collect();
        assert_eq!(distinct.len(), 20_000);
    }
}
