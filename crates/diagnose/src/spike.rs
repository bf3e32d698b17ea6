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
    /// An element's excess with at least this many failures, significant
    /// but under `min_failures`, is reported provisionally: its incident
    /// opens pending (the first of the windows that confirm it) and fires
    /// only from a window that reaches the floor.
    pub min_pending_failures: u64,
    /// Observed must exceed expected by at least this factor.
    pub min_ratio: f64,
}

impl Default for SpikeParams {
    fn default() -> Self {
        SpikeParams {
            p_value: 1e-6,
            min_failures: 10,
            min_pending_failures: 6,
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

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, nine terms; relative error
/// below 1e-13 over the range used here).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// Upper tail of the beta-binomial distribution: `P(X ≥ k)` out of `n`
/// trials whose success rate is itself drawn from Beta(`alpha`, `beta`).
/// A terminal's own rate varies around its model's; the beta prior says by
/// how much, so a terminal is only odd when it is odd beyond that spread.
pub fn beta_binomial_upper_tail(k: u64, n: u64, alpha: f64, beta: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n || alpha <= 0.0 || beta <= 0.0 {
        return 0.0;
    }
    let nf = n as f64;
    let kf = k as f64;
    // P(X = k), then each next term from the previous one:
    // P(x+1)/P(x) = (n−x)/(x+1) · (x+α)/(n−x−1+β).
    let mut term = (ln_gamma(nf + 1.0) - ln_gamma(kf + 1.0) - ln_gamma(nf - kf + 1.0)
        + ln_beta(kf + alpha, nf - kf + beta)
        - ln_beta(alpha, beta))
    .exp();
    let mut tail = 0.0;
    for x in k..=n {
        tail += term;
        let x = x as f64;
        if x >= nf {
            break;
        }
        let next = term * (nf - x) / (x + 1.0) * (x + alpha) / (nf - x - 1.0 + beta);
        // Past the mode the terms only shrink: stop once they no longer count.
        if next < term && next < tail * 1e-15 {
            break;
        }
        term = next;
    }
    tail.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_matches_factorials() {
        for (x, fact) in [(1.0, 1.0f64), (2.0, 1.0), (5.0, 24.0), (11.0, 3_628_800.0)] {
            assert!((ln_gamma(x) - fact.ln()).abs() < 1e-10, "{x}");
        }
        // Γ(1/2) = √π.
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-10);
    }

    #[test]
    fn beta_binomial_tail_sums_to_one_and_is_wider_than_binomial() {
        let (n, a, b) = (30, 2.0, 8.0);
        assert!((beta_binomial_upper_tail(0, n, a, b) - 1.0).abs() < 1e-12);
        let all: f64 = (0..=n)
            .map(|k| {
                beta_binomial_upper_tail(k, n, a, b) - beta_binomial_upper_tail(k + 1, n, a, b)
            })
            .sum();
        assert!((all - 1.0).abs() < 1e-9, "{all}");
        // Mean rate 0.2: 15 of 30 is rarer under a strong prior (near
        // binomial, ~2e-4) than under a weak one.
        let strong = beta_binomial_upper_tail(15, n, 2_000.0, 8_000.0);
        let weak = beta_binomial_upper_tail(15, n, a, b);
        assert!(strong < 1e-3 && weak > 10.0 * strong, "{strong} {weak}");
    }

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
