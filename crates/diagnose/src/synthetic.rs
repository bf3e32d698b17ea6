//! Synthetic leaf tables with injected root causes, in the style of the
//! public root-cause-localization benchmarks (RiskLoc's and Squeeze's
//! generators): all leaves of a few dimensions, forecasts drawn log-normal,
//! real values Poisson around the truth, 1–3 root causes of layers 1–3 whose
//! leaves are scaled up, and optional forecast noise. Deterministic from a seed.

use crate::localize::{Element, LeafInput};

/// A tiny deterministic generator (xorshift64*), enough for test data.
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
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-300);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
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
}

/// How to generate one case.
#[derive(Debug, Clone)]
pub struct Setting {
    /// Cardinality of each dimension; the table has every combination.
    pub cardinalities: Vec<u32>,
    /// Median expected value per leaf.
    pub median: f64,
    /// Root causes to inject.
    pub causes: usize,
    /// Dimensions per root cause.
    pub layer: usize,
    /// Real values under a cause are `truth · (1 + severity)`, severity drawn from this range.
    pub severity: (f64, f64),
    /// Relative standard deviation of forecast error.
    pub forecast_noise: f64,
}

/// One generated case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Number of dimensions.
    pub dims: usize,
    /// Attribute codes, row-major.
    pub values: Vec<u32>,
    /// Real values.
    pub real: Vec<f64>,
    /// Forecasts.
    pub forecast: Vec<f64>,
    /// The injected root causes.
    pub truth: Vec<Element>,
}

impl Case {
    /// The case as localization input.
    pub fn input(&self) -> LeafInput<'_> {
        LeafInput {
            dims: self.dims,
            values: &self.values,
            real: &self.real,
            forecast: &self.forecast,
        }
    }
}

/// Generates one case.
pub fn generate(s: &Setting, rng: &mut Rng) -> Case {
    let dims = s.cardinalities.len();
    let n: usize = s.cardinalities.iter().map(|&c| c as usize).product();
    let mut values = Vec::with_capacity(n * dims);
    for i in 0..n {
        let mut rest = i;
        for &c in &s.cardinalities {
            values.push((rest % c as usize) as u32);
            rest /= c as usize;
        }
    }
    let truth_mean: Vec<f64> = (0..n)
        .map(|_| s.median * (rng.normal() * 0.8).exp())
        .collect();
    // Pick disjoint root causes: an element from a random leaf's values on
    // random dimensions, kept only if no leaf falls under two causes.
    let mut truth: Vec<Element> = Vec::new();
    let mut tries = 0;
    while truth.len() < s.causes && tries < 1000 {
        tries += 1;
        let leaf = rng.below(n);
        let mut ds: Vec<usize> = (0..dims).collect();
        for i in (1..ds.len()).rev() {
            ds.swap(i, rng.below(i + 1));
        }
        let mut chosen: Vec<usize> = ds[..s.layer].to_vec();
        chosen.sort_unstable();
        let e = Element(
            chosen
                .iter()
                .map(|&d| (d, values[leaf * dims + d]))
                .collect(),
        );
        let input = LeafInput {
            dims,
            values: &values,
            real: &truth_mean,
            forecast: &truth_mean,
        };
        let overlaps =
            (0..n).any(|i| e.contains(&input, i) && truth.iter().any(|t| t.contains(&input, i)));
        if !overlaps && !truth.contains(&e) {
            truth.push(e);
        }
    }
    let input = LeafInput {
        dims,
        values: &values,
        real: &truth_mean,
        forecast: &truth_mean,
    };
    let factors: Vec<f64> = truth
        .iter()
        .map(|_| 1.0 + s.severity.0 + (s.severity.1 - s.severity.0) * rng.unit())
        .collect();
    let mut real = Vec::with_capacity(n);
    let mut forecast = Vec::with_capacity(n);
    for (i, &m) in truth_mean.iter().enumerate() {
        let factor = truth
            .iter()
            .zip(&factors)
            .find(|(e, _)| e.contains(&input, i))
            .map_or(1.0, |(_, f)| *f);
        real.push(rng.poisson(m * factor));
        forecast.push((m * (1.0 + s.forecast_noise * rng.normal())).max(0.0));
    }
    Case {
        dims,
        values,
        real,
        forecast,
        truth,
    }
}
