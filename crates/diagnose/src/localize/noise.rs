//! How noisy a leaf is: `Var(v − f) = α·f + β·f²`, estimated from the bulk
//! of the table.
//!
//! Leaves with a positive forecast are cut into up to 16 bins of equal
//! size by forecast. In each bin the spread of `v − f` is read robustly
//! (1.4826 × the median absolute residual, so up to half the bin may be
//! anomalous without moving it). `α` and `β` are then chosen, from values
//! each bin alone would imply, to fit all bins in log scale with the least
//! absolute error. Floors keep the search sane: `β ≥ 10⁻⁴` (a forecast is
//! never trusted beyond 1 %), and when every real value is whole `α ≥ 1`
//! (counts are at least Poisson). A leaf whose forecast is zero is read at a small floor
//! forecast (the 5th percentile of the positive ones), so a value appearing
//! from nothing counts without dividing by zero.

use super::Noise;

/// The fitted noise model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoiseModel {
    /// Counting term.
    pub alpha: f64,
    /// Relative forecast term (squared relative error).
    pub beta: f64,
    /// Forecast used where the forecast is zero.
    pub floor: f64,
    /// True when forecast error, not counting noise, dominates at the
    /// median leaf: evidence is then read leaf by leaf from log ratios.
    pub relative: bool,
}

/// A leaf's log ratio is capped at this many of its standard deviations:
/// one leaf alone can never gain more than `CAP² / 2` nats.
pub const CAP: f64 = 4.0;

impl NoiseModel {
    /// A leaf's evidence for a change: `(w·x, w)` with `x = ln((v + c) /
    /// (m + c))` capped at ±[`CAP`] standard deviations and `w = 1 / (β +
    /// α / (m + c))` its precision (`Var ln v ≈ α/m + β`); `c` is the floor.
    pub fn evidence(&self, v: f64, m: f64) -> (f64, f64) {
        let c = self.floor;
        let w = 1.0 / (self.beta + self.alpha / (m + c));
        let x = ((v + c) / (m + c)).ln();
        let limit = CAP / w.sqrt();
        (w * x.clamp(-limit, limit), w)
    }
}

const MIN_BETA: f64 = 1e-4;
const BINS: usize = 16;
/// Expected counts from which a bin's spread tells forecast error.
const COUNTED: f64 = 5.0;

/// Estimates the noise model of a table.
pub fn estimate(real: &[f64], forecast: &[f64], how: Noise) -> NoiseModel {
    let mut positive: Vec<f64> = forecast.iter().copied().filter(|f| *f > 0.0).collect();
    positive.sort_by(f64::total_cmp);
    let floor = if positive.is_empty() {
        1.0
    } else {
        positive[positive.len() / 20]
    };
    match how {
        Noise::Counts { forecast_error } => NoiseModel {
            alpha: 1.0,
            beta: (forecast_error * forecast_error).max(MIN_BETA),
            floor: floor.min(1.0),
            relative: false,
        },
        Noise::Estimate => {
            // Whole real values are counts (a forecast of counts need not be whole).
            let counts = real.iter().all(|x| x.fract() == 0.0);
            let (alpha, beta) = if counts {
                fit_counts(real, forecast)
            } else {
                fit(real, forecast)
            };
            let beta = beta.max(MIN_BETA);
            let median = positive.get(positive.len() / 2).copied().unwrap_or(0.0);
            NoiseModel {
                alpha,
                beta,
                floor: if counts { floor.min(1.0) } else { floor },
                relative: beta * median > alpha,
            }
        }
    }
}

/// Robust spread of `v − f` in bins of forecast: `(median f, variance)`.
fn bins(real: &[f64], forecast: &[f64]) -> Vec<(f64, f64)> {
    let mut leaves: Vec<(f64, f64)> = forecast
        .iter()
        .zip(real)
        .filter(|(f, _)| **f > 0.0)
        .map(|(f, v)| (*f, (v - f).abs()))
        .collect();
    if leaves.len() < 8 {
        return Vec::new();
    }
    leaves.sort_by(|a, b| a.0.total_cmp(&b.0));
    let bins = BINS.min(leaves.len() / 8).max(1);
    let per = leaves.len() / bins;
    let mut points: Vec<(f64, f64)> = Vec::with_capacity(bins);
    for b in 0..bins {
        let chunk = &leaves[b * per..if b + 1 == bins {
            leaves.len()
        } else {
            (b + 1) * per
        }];
        let mut f: Vec<f64> = chunk.iter().map(|x| x.0).collect();
        let mut r: Vec<f64> = chunk.iter().map(|x| x.1).collect();
        let fm = median(&mut f);
        let s = 1.4826 * median(&mut r);
        if fm > 0.0 {
            points.push((fm, s * s));
        }
    }
    points
}

/// For counts: Poisson (`α = 1`) plus the relative error the bins with at
/// least [`COUNTED`] expected show beyond Poisson (their median); sparser
/// bins say nothing of it (a median residual of counts near zero is
/// discreteness, not forecast error).
fn fit_counts(real: &[f64], forecast: &[f64]) -> (f64, f64) {
    let mut excess: Vec<f64> = bins(real, forecast)
        .into_iter()
        .filter(|&(f, _)| f >= COUNTED)
        .map(|(f, s2)| ((s2 - f) / (f * f)).max(0.0))
        .collect();
    (1.0, median(&mut excess).max(MIN_BETA))
}

/// Least-absolute-log-error fit of `(α, β)` to per-bin robust variances.
fn fit(real: &[f64], forecast: &[f64]) -> (f64, f64) {
    let points = bins(real, forecast);
    if points.is_empty() {
        return (0.0, MIN_BETA);
    }
    let tiny = points.iter().map(|p| p.1).fold(0.0, f64::max) * 1e-9 + f64::MIN_POSITIVE;
    let mut alphas = vec![0.0];
    let mut betas = vec![MIN_BETA];
    for &(f, s2) in &points {
        alphas.push(s2 / f);
        betas.push((s2 / (f * f)).max(MIN_BETA));
    }
    let cost = |a: f64, b: f64| -> f64 {
        points
            .iter()
            .map(|&(f, s2)| ((a * f + b * f * f + tiny).ln() - (s2 + tiny).ln()).abs())
            .sum()
    };
    let mut best = (f64::INFINITY, 0.0, MIN_BETA);
    for &a in &alphas {
        for &b in &betas {
            for (a, b) in [(a, b), (a, MIN_BETA), (0.0, b)] {
                let c = cost(a, b);
                if c < best.0 {
                    best = (c, a, b);
                }
            }
        }
    }
    (best.1, best.2)
}

fn median(x: &mut [f64]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    let mid = x.len() / 2;
    x.select_nth_unstable_by(mid, f64::total_cmp);
    x[mid]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_forecast_error_is_read_as_beta() {
        // Forecasts off by ±10 % alternately: a relative error of 10 %.
        let forecast: Vec<f64> = (0..400).map(|i| 10.0 + f64::from(i)).collect();
        let real: Vec<f64> = forecast
            .iter()
            .enumerate()
            .map(|(i, f)| if i % 2 == 0 { f * 1.1 } else { f * 0.9 })
            .collect();
        let m = estimate(&real, &forecast, Noise::Estimate);
        assert!((m.beta.sqrt() - 0.1 * 1.4826).abs() < 0.02, "{m:?}");
    }

    #[test]
    fn exact_integer_forecasts_are_at_least_poisson() {
        let forecast: Vec<f64> = (0..100).map(|i| f64::from(i % 7 + 1) * 100.0).collect();
        let m = estimate(&forecast, &forecast, Noise::Estimate);
        assert_eq!(m.alpha, 1.0);
        assert_eq!(m.beta, MIN_BETA);
    }

    #[test]
    fn a_zero_forecast_is_read_at_a_small_positive_floor() {
        let forecast: Vec<f64> = (0..100).map(f64::from).collect();
        let m = estimate(&forecast, &forecast, Noise::Estimate);
        assert!(m.floor > 0.0 && m.floor < 10.0, "{m:?}");
    }
}
