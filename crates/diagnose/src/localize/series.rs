//! Expected failures of each leaf from its own past, as the live detector
//! expects them: the leaf's failure rate over the history, shrunk toward the
//! whole table's rate by `shrink` pseudo-attempts, times the attempts now.

/// Failures and attempts of one leaf over some span.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    /// Failures.
    pub failures: f64,
    /// Attempts.
    pub attempts: f64,
}

/// Expected failures per leaf: `now[i].attempts × (past[i].failures + shrink
/// × p) / (past[i].attempts + shrink)`, where `p` is the failure rate of
/// all leaves' past together. A leaf with no past gets `p`.
pub fn expected_failures(past: &[Tally], now: &[Tally], shrink: f64) -> Vec<f64> {
    let (f, a) = past
        .iter()
        .fold((0.0, 0.0), |(f, a), t| (f + t.failures, a + t.attempts));
    let fleet = if a > 0.0 { f / a } else { 0.0 };
    past.iter()
        .zip(now)
        .map(|(p, n)| {
            let weight = p.attempts + shrink;
            let rate = if weight > 0.0 {
                (p.failures + shrink * fleet) / weight
            } else {
                fleet
            };
            n.attempts * rate
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(failures: f64, attempts: f64) -> Tally {
        Tally { failures, attempts }
    }

    #[test]
    fn a_busy_leaf_keeps_its_own_rate_and_a_new_one_takes_the_fleets() {
        let past = [t(100.0, 10_000.0), t(0.0, 0.0), t(900.0, 10_000.0)];
        let now = [t(0.0, 1_000.0), t(0.0, 1_000.0), t(0.0, 100.0)];
        let e = expected_failures(&past, &now, 200.0);
        // Own rate 1 %, fleet 5 %: mostly its own.
        assert!((e[0] - 1_000.0 * (100.0 + 200.0 * 0.05) / 10_200.0).abs() < 1e-9);
        assert!((e[1] - 50.0).abs() < 1e-9);
        assert!(e[2] > 8.0 && e[2] < 9.0);
    }
}
