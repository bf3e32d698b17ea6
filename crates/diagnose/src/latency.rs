//! Latency: the host round trip of a value rising ahead of timeouts.
//!
//! Each tracked value's latency histogram over the window is read against
//! its baseline histogram. The baseline fixes a threshold, the bin holding
//! its `quantile` (p95 by default), and the share of outcomes normally
//! slower than that bin (about 5 %). In the window, the count slower than
//! the threshold is then a count with a known expectation, and the Poisson
//! tail test used for failures applies: a value is slow when that count is
//! improbable, above a floor, and a multiple of its expectation. Every value
//! is judged against its own normal, so a satellite link that is always
//! slow is not slow.
//!
//! One slow issuer also slows every region and carrier its cards are used
//! in, diluted. Candidates are taken most concentrated first (slow count
//! over its expectation); a later one is dropped when a kept one explains
//! its excess: for two leaf dimensions, when its excess is no more than
//! the kept element's excess in proportion to the traffic they share (from
//! the window's leaf counts); otherwise, when its excess is no larger than
//! the kept one's.

use crate::spike::poisson_upper_tail;
use swipewatch_engine::{latency, WindowSnapshot};
use swipewatch_model::{Dim, Sym};

/// Thresholds of the latency test.
#[derive(Debug, Clone, Copy)]
pub struct LatencyParams {
    /// The baseline quantile that sets the "slow" threshold.
    pub quantile: f64,
    /// Tail probability below which the slow count is abnormal.
    pub p_value: f64,
    /// Fewer slow outcomes than this never count.
    pub min_slow: u64,
    /// The slow count must be at least this multiple of its expectation.
    pub min_ratio: f64,
    /// Values whose baseline has fewer outcomes with a latency per bucket
    /// are not tested (their normal is not known yet).
    pub min_baseline: f64,
}

impl Default for LatencyParams {
    fn default() -> Self {
        LatencyParams {
            quantile: 0.95,
            p_value: 1e-6,
            min_slow: 20,
            min_ratio: 3.0,
            min_baseline: 0.5,
        }
    }
}

/// One value slower than its normal.
#[derive(Debug, Clone, PartialEq)]
pub struct Slow {
    /// The dimension.
    pub dim: Dim,
    /// Its value.
    pub sym: Sym,
    /// Outcomes in the window slower than the baseline threshold.
    pub slow: f64,
    /// How many the baseline share predicts.
    pub expected: f64,
    /// The window's p95, ms.
    pub p95_ms: f64,
    /// The baseline's p95, ms.
    pub baseline_p95_ms: f64,
}

impl Slow {
    fn excess(&self) -> f64 {
        self.slow - self.expected
    }
}

/// The `q` quantile of a histogram of per-bucket rates, ms.
fn quantile_f(hist: &[f32], q: f64) -> Option<f64> {
    let total: f64 = hist.iter().map(|&e| f64::from(e)).sum();
    if total <= 0.0 {
        return None;
    }
    let mut seen = 0.0;
    for (i, &e) in hist.iter().enumerate() {
        seen += f64::from(e);
        if seen >= q * total {
            return Some(latency::bin_mid(i));
        }
    }
    None
}

/// Tests one value's window histogram against its baseline.
fn test(dim: Dim, sym: Sym, window: &[u32], base: &[f32], p: &LatencyParams) -> Option<Slow> {
    let base_total: f64 = base.iter().map(|&e| f64::from(e)).sum();
    if base_total < p.min_baseline {
        return None;
    }
    // The threshold bin: where the baseline reaches its quantile.
    let mut seen = 0.0;
    let mut threshold = base.len();
    for (i, &e) in base.iter().enumerate() {
        seen += f64::from(e);
        if seen >= p.quantile * base_total {
            threshold = i;
            break;
        }
    }
    let above: f64 = base.iter().skip(threshold + 1).map(|&e| f64::from(e)).sum();
    // A baseline with (almost) nothing above its threshold bin still allows
    // a fifth of the nominal share: a share of zero would make any slow
    // outcome infinitely improbable.
    let share = (above / base_total).max(0.2 * (1.0 - p.quantile));
    let n: u64 = window.iter().map(|&c| u64::from(c)).sum();
    let slow: u64 = window
        .iter()
        .skip(threshold + 1)
        .map(|&c| u64::from(c))
        .sum();
    let expected = share * n as f64;
    if slow < p.min_slow
        || (slow as f64) < p.min_ratio * expected
        || poisson_upper_tail(slow, expected) >= p.p_value
    {
        return None;
    }
    Some(Slow {
        dim,
        sym,
        slow: slow as f64,
        expected,
        p95_ms: latency::quantile(window, 0.95).unwrap_or(0.0),
        baseline_p95_ms: quantile_f(base, 0.95).unwrap_or(0.0),
    })
}

/// Values of the tracked dimensions slower than their normal over the
/// snapshot's window, most concentrated first, explained ones dropped.
pub fn slow(snap: &WindowSnapshot, leaf_dims: &[Dim], p: &LatencyParams) -> Vec<Slow> {
    let w = &snap.window;
    let base = &snap.baselines.latency;
    let mut found = Vec::new();
    for dim in Dim::ALL {
        let bins = w.latency.per_dim(dim);
        for (i, hist) in bins.chunks_exact(latency::BINS).enumerate() {
            let sym = Sym(i as u32);
            if hist.iter().all(|&c| c == 0) {
                continue;
            }
            if let Some(s) = test(dim, sym, hist, base.histogram(dim, sym), p) {
                found.push(s);
            }
        }
    }
    found.sort_by(|a, b| {
        (b.slow / b.expected.max(0.5))
            .total_cmp(&(a.slow / a.expected.max(0.5)))
            .then(b.excess().total_cmp(&a.excess()))
            .then(a.dim.cmp(&b.dim))
            .then(a.sym.cmp(&b.sym))
    });
    let pos = |d: Dim| leaf_dims.iter().position(|x| *x == d);
    // Attempts in the window under both `a` and `b`, and under `b`.
    let shared = |a: (Dim, Sym), b: (Dim, Sym)| -> Option<(f64, f64)> {
        let (ia, ib) = (pos(a.0)?, pos(b.0)?);
        let (mut both, mut under_b) = (0.0, 0.0);
        let keyed = w
            .leaves
            .iter()
            .filter_map(|(id, c)| Some((snap.leaves.key(id)?, c)));
        for (key, c) in keyed {
            if key[ib] == b.1 {
                let n = c.attempts() as f64;
                under_b += n;
                if key[ia] == a.1 {
                    both += n;
                }
            }
        }
        Some((both, under_b))
    };
    let mut kept: Vec<Slow> = Vec::new();
    for s in found {
        let explained = kept.iter().any(|k| {
            if k.dim == s.dim {
                return false; // values of one dimension are disjoint
            }
            match shared((s.dim, s.sym), (k.dim, k.sym)) {
                Some((both, under_k)) if under_k > 0.0 => {
                    let carried = k.excess() * both / under_k;
                    s.excess() <= 1.5 * carried + 3.0 * carried.max(1.0).sqrt()
                }
                Some(_) => false,
                None => s.excess() <= k.excess() * 1.1,
            }
        });
        if !explained {
            kept.push(s);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use swipewatch_engine::latency::bin;

    fn hist(latencies: &[(u32, u32)]) -> Vec<u32> {
        let mut h = vec![0; latency::BINS];
        for &(ms, n) in latencies {
            h[bin(ms)] += n;
        }
        h
    }

    fn base(latencies: &[(u32, f32)]) -> Vec<f32> {
        let mut h = vec![0.0; latency::BINS];
        for &(ms, n) in latencies {
            h[bin(ms)] += n;
        }
        h
    }

    #[test]
    fn a_value_whose_slow_share_triples_is_slow() {
        // Normal: 95 % around 400 ms, 5 % around 900 ms.
        let b = base(&[(400, 19.0), (900, 1.0)]);
        let normal = hist(&[(400, 570), (900, 30)]);
        let p = LatencyParams::default();
        assert_eq!(test(Dim::Issuer, Sym(1), &normal, &b, &p), None);
        let slow = hist(&[(400, 300), (900, 30), (2_800, 270)]);
        let s = test(Dim::Issuer, Sym(1), &slow, &b, &p).expect("slow");
        assert!(s.slow >= 270.0 && s.expected < 40.0, "{s:?}");
        assert!(s.p95_ms > 2_000.0 && s.baseline_p95_ms < 1_200.0, "{s:?}");
    }

    #[test]
    fn a_value_that_is_always_slow_is_judged_against_its_own_normal() {
        let b = base(&[(2_000, 19.0), (4_000, 1.0)]);
        let same = hist(&[(2_000, 560), (4_000, 40)]);
        assert_eq!(
            test(Dim::NetType, Sym(2), &same, &b, &LatencyParams::default()),
            None
        );
    }

    #[test]
    fn a_few_slow_outcomes_on_a_quiet_value_are_not_a_spike() {
        let b = base(&[(400, 1.9), (900, 0.1)]);
        let quiet = hist(&[(400, 3), (5_000, 8)]);
        assert_eq!(
            test(Dim::Issuer, Sym(3), &quiet, &b, &LatencyParams::default()),
            None
        );
    }
}
