//! Is a count of failures abnormal given its expectation?

/// Upper tail of the Poisson distribution: `P(X ≥ observed)` for mean
/// `expected`. Exact summation for moderate means, a continuity-corrected
/// normal approximation (with a Wilson–Hilferty refinement) beyond.
pub fn poisson_upper_tail(observed: u64, expected: f64) -> f64 {
    if observed == 0 {
        return 1.0;
    }
    if expected <= 0.0 {
        return 0.0;
    }
    if expected < 200.0 && observed < 2_000 {
        // P(X ≥ k) = 1 − Σ_{i<k} e^−λ λ^i / i!, summed in log space.
        let mut term = (-expected).exp();
        let mut cdf = term;
        for i in 1..observed {
            term *= expected / i as f64;
            cdf += term;
        }
        return (1.0 - cdf).clamp(0.0, 1.0);
    }
    // Wilson–Hilferty: (X/λ)^(1/3) is close to normal.
    let k = observed as f64;
    let z =
        ((k / expected).cbrt() - (1.0 - 1.0 / (9.0 * expected))) / (1.0 / (9.0 * expected)).sqrt();
    normal_upper_tail(z)
}

/// Lower tail of the Poisson distribution: `P(X ≤ observed)` for mean
/// `expected` (how unusual a drop is). Exact below a mean of 700,
/// Wilson–Hilferty beyond.
pub fn poisson_lower_tail(observed: u64, expected: f64) -> f64 {
    if expected <= 0.0 {
        return 1.0;
    }
    if expected < 700.0 {
        let mut term = (-expected).exp();
        let mut cdf = term;
        for i in 1..=observed {
            term *= expected / i as f64;
            cdf += term;
            if cdf >= 1.0 {
                return 1.0;
            }
        }
        return cdf.clamp(0.0, 1.0);
    }
    let k = observed as f64 + 1.0;
    let z =
        ((k / expected).cbrt() - (1.0 - 1.0 / (9.0 * expected))) / (1.0 / (9.0 * expected)).sqrt();
    normal_upper_tail(-z)
}

/// `P(Z ≥ z)` for a standard normal, by the complementary error function.
pub fn normal_upper_tail(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Complementary error function (Numerical Recipes' Chebyshev fit, |ε| < 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Thresholds of the spike test.
#[derive(Debug, Clone, Copy)]
pub struct SpikeParams {
    /// Tail probability below which the count is abnormal.
    pub p_value: f64,
    /// Fewer failures than this never count as a spike.
    pub min_failures: u64,
    /// Observed must exceed expected by at least this factor.
    pub min_ratio: f64,
}

impl Default for SpikeParams {
    fn default() -> Self {
        SpikeParams {
            p_value: 1e-6,
            min_failures: 10,
            min_ratio: 1.5,
        }
    }
}

/// True when `observed` failures against `expected` are a spike.
pub fn is_spike(observed: u64, expected: f64, p: &SpikeParams) -> bool {
    observed >= p.min_failures
        && observed as f64 >= p.min_ratio * expected
        && poisson_upper_tail(observed, expected) < p.p_value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_lower_tail_matches_known_values() {
        // P(X ≤ 0 | 3) = e^-3; P(X ≤ 2 | 2) = 5e^-2.
        assert!((poisson_lower_tail(0, 3.0) - (-3.0f64).exp()).abs() < 1e-12);
        assert!((poisson_lower_tail(2, 2.0) - 5.0 * (-2.0f64).exp()).abs() < 1e-12);
        assert!(poisson_lower_tail(100, 100.0) > 0.5);
        assert!(poisson_lower_tail(2, 60.0) < 1e-20);
        assert!(poisson_lower_tail(500, 1_000.0) < 1e-30);
        assert!(poisson_lower_tail(1_000, 1_000.0) > 0.4);
    }

    #[test]
    fn poisson_tail_matches_known_values() {
        // P(X ≥ 1 | λ=1) = 1 − e^−1.
        assert!((poisson_upper_tail(1, 1.0) - (1.0 - (-1.0f64).exp())).abs() < 1e-12);
        // P(X ≥ 10 | λ=2) ≈ 4.65e-5.
        assert!((poisson_upper_tail(10, 2.0) - 4.650_4e-5).abs() < 1e-7);
        // Far tail through the normal branch is tiny, the centre is ~0.5.
        assert!(poisson_upper_tail(1_500, 1_000.0) < 1e-30);
        assert!((poisson_upper_tail(1_000, 1_000.0) - 0.5).abs() < 0.03);
    }

    #[test]
    fn a_quiet_merchant_with_two_failures_of_three_never_spikes() {
        // Expected 0.06 failures (2 % of 3 attempts): 2 observed is unlikely, but below the floor.
        assert!(!is_spike(2, 0.06, &SpikeParams::default()));
    }

    #[test]
    fn a_real_outage_spikes_in_one_window() {
        // 2 % of 5,000 attempts expected to fail; 900 did.
        assert!(is_spike(900, 100.0, &SpikeParams::default()));
        // Ordinary noise does not.
        assert!(!is_spike(115, 100.0, &SpikeParams::default()));
    }
}
