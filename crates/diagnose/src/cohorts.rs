//! Value-by-value tests of the cohort dimensions that are not leaves
//! (firmware, app, model, entry mode, merchant).

use crate::classify::classify;
use crate::detect::{Detector, Finding, Signal, COHORTS};
use crate::spike::is_spike;
use swipewatch_engine::{Anomalies, WindowSnapshot};
use swipewatch_model::{Dim, OutcomeClass, Sym};

impl Detector {
    /// Value-by-value tests of the cohort dimensions that are not leaves. A
    /// broken firmware also raises the model that mostly runs it, with the
    /// same excess at a diluted ratio: per class, the most concentrated value
    /// wins and values whose excess it covers are dropped.
    pub(crate) fn cohorts(
        &self,
        snap: &WindowSnapshot,
        findings: &mut Vec<Finding>,
        anomalies: &mut Anomalies,
    ) {
        let w = &snap.window;
        // Terminals whose reader is dead on its own (a run of errors now, or
        // a run's worth of errors inside this window, as a reader that has
        // just been replaced has): the errors they made in the window must
        // not make their cohort look broken.
        let dead: Vec<(&swipewatch_engine::TerminalState, u32)> = snap
            .devices
            .iter()
            .map(|(_, s)| (s, self.window_tallies(snap, s).hw_errors))
            .filter(|(s, errors)| {
                s.consecutive_hw_errors >= self.hw_error_run
                    || *errors >= u32::from(self.hw_error_run)
            })
            .collect();
        for class in [OutcomeClass::DeviceFault, OutcomeClass::TerminalConfig] {
            let mut spikes: Vec<(Dim, Sym, f64, f64)> = Vec::new();
            for (dim, c) in COHORTS {
                if c != class || self.leaf_dims.contains(&dim) {
                    continue;
                }
                for (sym, counts) in w.dims.values(dim) {
                    let mut v = counts.get(class);
                    if class == OutcomeClass::DeviceFault {
                        // The entry mode is the transaction's, not the
                        // terminal's: a dead reader's errors may lie under
                        // any of them.
                        let per_transaction = dim == Dim::EntryMode;
                        for (_, errors) in dead
                            .iter()
                            .filter(|(s, _)| per_transaction || s.dims.get(dim) == sym)
                        {
                            v = v.saturating_sub(*errors);
                        }
                    }
                    // Too few to be a spike at any rate: the baseline of
                    // each of a quarter of a million merchants is not read.
                    if u64::from(v) < self.spike.min_failures {
                        continue;
                    }
                    let f = snap.baselines.rate(dim, sym, class) * counts.attempts() as f64;
                    if is_spike(u64::from(v), f, &self.spike) {
                        spikes.push((dim, sym, f64::from(v), f));
                    }
                }
            }
            // Most concentrated first (ratio with a floor on tiny expectations).
            spikes.sort_by(|a, b| {
                (b.2 / b.3.max(0.5))
                    .total_cmp(&(a.2 / a.3.max(0.5)))
                    .then(a.0.cmp(&b.0))
                    .then(a.1.cmp(&b.1))
            });
            let mut kept: Vec<(Dim, Sym, f64, f64)> = Vec::new();
            for s in spikes {
                let excess = s.2 - s.3;
                if kept.iter().any(|k| excess <= (k.2 - k.3) * 1.1) {
                    continue;
                }
                kept.push(s);
            }
            for (dim, sym, v, f) in kept {
                let classes = vec![(class, v - f)];
                let Some(verdict) = classify(&[dim], &classes, &[]) else {
                    continue;
                };
                anomalies.values.insert((dim, sym));
                let element = vec![(dim, sym)];
                let (signal, confidence) = (Signal::Failures, verdict.confidence);
                findings.push(
                    Finding::element(signal, verdict.cause, element, (v, f), confidence, w.end_ms)
                        .with_classes(classes),
                );
            }
        }
    }
}
