//! Single terminals: a reader or PIN pad that keeps failing, a terminal
//! failing run after run, and beta-binomial tests of a terminal's own
//! failures and chip-to-stripe fallbacks against its model's rate. The
//! side follows the kind of its own failures; an outage or a failing
//! cohort found in the same window explains a terminal's share of it.

use crate::detect::{Detector, Finding, Signal};
use crate::spike::beta_binomial_upper_tail;
use swipewatch_engine::{is_own_failure, WindowSnapshot};
use swipewatch_model::{Cause, Dim, OutcomeClass, Sym};

/// A terminal's tallies summed over a window.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sums {
    pub(crate) attempts: u32,
    own_failures: u32,
    pub(crate) hw_errors: u32,
    config_failures: u32,
    comms_failures: u32,
    fallbacks: u32,
    pub(crate) unreachable: u32,
}

/// The side a terminal's own failures point at, from what they were:
/// refusals of its setup, lost links, or device faults (its reader and PIN
/// pad when most of them are reader errors, its software otherwise). The
/// largest share decides, so a terminal whose memory holds an outage's
/// lost links or its merchant's refused setup is not blamed on its reader
/// for one ordinary reader error.
fn own_side(own: f64, hw: f64, config: f64, comms: f64) -> (OutcomeClass, Cause) {
    let device = (own - config - comms).max(0.0);
    if config >= comms && config >= device {
        (OutcomeClass::TerminalConfig, Cause::MerchantConfig)
    } else if comms >= device {
        (OutcomeClass::Comms, Cause::DeviceHardware)
    } else if 2.0 * hw < device {
        (OutcomeClass::DeviceFault, Cause::DeviceSoftware)
    } else {
        (OutcomeClass::DeviceFault, Cause::DeviceHardware)
    }
}

/// A device's error run at least this likely at its failing cohort's rate
/// is the cohort's; a longer one is the device's own.
const PLAUSIBLE_RUN: f64 = 1e-6;

/// Thresholds of the per-terminal rate tests.
#[derive(Debug, Clone, Copy)]
pub struct DeviceParams {
    /// Beta-binomial tail probability below which a terminal is odd (many
    /// terminals are tested every window: it is small).
    pub p_value: f64,
    /// Fewer own failures (or fallbacks) than this never count.
    pub min_count: f64,
    /// The terminal's rate must be at least this multiple of its model's.
    pub min_ratio: f64,
    /// Strength of the beta prior in pseudo-attempts: how far a healthy
    /// terminal's rate may stray from its model's.
    pub prior_attempts: f64,
}

impl Default for DeviceParams {
    fn default() -> Self {
        DeviceParams {
            p_value: 1e-8,
            min_count: 6.0,
            min_ratio: 3.0,
            prior_attempts: 500.0,
        }
    }
}

impl Detector {
    /// The finding for one terminal whose reader or PIN pad failed
    /// `consecutive_hw_errors` times in a row, at `at_ms`.
    pub fn device_finding(
        &self,
        terminal: Sym,
        state: &swipewatch_engine::TerminalState,
        at_ms: i64,
    ) -> Finding {
        let run = f64::from(state.consecutive_hw_errors);
        let confidence = (run / f64::from(2 * self.hw_error_run)).clamp(0.5, 1.0);
        Finding::device(
            Signal::Failures,
            Cause::DeviceHardware,
            terminal,
            state,
            (run, 0.0),
            confidence,
            at_ms,
        )
        .with_classes(vec![(OutcomeClass::DeviceFault, run)])
    }

    /// Single terminals: a reader or PIN pad that keeps failing (unless a
    /// device-software finding on its firmware, app or model explains it);
    /// failures of its own or chip-to-stripe fallbacks far above its model's
    /// rate; or every transaction failing. A terminal inside the element of
    /// a finding of the same window, or failing with the classes a failing
    /// bank answers with, is left to that finding: it is not opened as an
    /// incident of its own, which in a large outage would be one per
    /// terminal. The outage's evidence counts its terminals.
    pub(crate) fn devices(&self, snap: &WindowSnapshot, findings: &mut Vec<Finding>) {
        let inside = |state: &swipewatch_engine::TerminalState, f: &Finding| {
            f.terminal.is_none()
                && !f.element.is_empty()
                && f.element.iter().all(|&(d, s)| state.dims.get(d) == s)
        };
        // Reader errors are explained only by the terminal's software, and
        // only while the run is one the software's failure rate makes
        // plausible: past that, the reader is dead on its own (and the
        // cohort test has left its errors out).
        let w = &snap.window;
        let cohort = |state: &swipewatch_engine::TerminalState, found: &[Finding]| {
            found
                .iter()
                .filter(|f| f.cause == Cause::DeviceSoftware && inside(state, f))
                .any(|f| {
                    let attempts = f
                        .element
                        .iter()
                        .map(|&(d, s)| w.dims.get(d, s).attempts())
                        .min()
                        .unwrap_or(0)
                        .max(1);
                    let rate = (f.observed / attempts as f64).min(1.0);
                    rate.powi(i32::from(state.consecutive_hw_errors)) >= PLAUSIBLE_RUN
                })
        };
        let explained = |state: &swipewatch_engine::TerminalState, found: &[Finding]| {
            found
                .iter()
                .any(|f| f.signal != Signal::Latency && inside(state, f))
        };
        // A run of failures is also explained by a failing bank that
        // answers with the run's newest class: a terminal has no issuer of
        // its own, and an acquirer's trouble shows in every card it takes.
        let bank_run = |state: &swipewatch_engine::TerminalState, found: &[Finding]| {
            found.iter().any(|f| {
                matches!(f.cause, Cause::BankIssuer | Cause::BankAcquirer)
                    && f.terminal.is_none()
                    && f.signal == Signal::Failures
                    && f.classes.iter().any(|(c, _)| *c == state.last_failure)
            })
        };
        let mut new = Vec::new();
        let mut failing = Vec::new();
        for (terminal, state) in &snap.devices {
            if state.consecutive_hw_errors >= self.hw_error_run {
                if !cohort(state, findings) {
                    new.push(self.device_finding(*terminal, state, snap.window.end_ms));
                }
            } else if state.consecutive_failures >= self.failure_run {
                if !explained(state, findings) && !bank_run(state, findings) {
                    failing.push((*terminal, state));
                }
            } else if !explained(state, findings) {
                new.extend(self.rate_findings(snap, *terminal, state));
            }
        }
        failing.sort_by_key(|(t, s)| (std::cmp::Reverse(s.consecutive_failures), *t));
        for (terminal, state) in failing.into_iter().take(self.max_failing_terminals) {
            new.push(self.failing_terminal(terminal, state, snap.window.end_ms));
        }
        findings.extend(new);
    }

    /// The beta-binomial tests of one terminal against its model's baseline
    /// (the fleet's when the model is unknown): failures of its own, and
    /// chip-to-stripe fallbacks (a worn chip reader: the card still pays by
    /// stripe, so nothing fails, but the reader is going). Each is tested
    /// over two spans: the window's buckets, which catch a busy terminal
    /// breaking at once, and the terminal's long memory, which gathers
    /// enough of a quiet terminal's traffic (and in which a sudden fault is
    /// diluted by the healthy past).
    pub fn rate_findings(
        &self,
        snap: &WindowSnapshot,
        terminal: Sym,
        state: &swipewatch_engine::TerminalState,
    ) -> Vec<Finding> {
        let p = &self.device;
        let base = &snap.baselines;
        let model = state.dims.get(Dim::Model);
        let cell = base.cell(Dim::Model, model).filter(|_| model.is_some());
        let long = &state.long;
        let short = self.window_tallies(snap, state);
        // (observed, expected) over the first span where `k` of `n` is odd.
        // The long memory is only read while the window shows the same kind
        // of event (`ongoing`): after a fault ends, the memory still holds
        // it for a while, but the terminal is no longer failing that way.
        let odd = |spans: [(f64, f64); 2], rate: f64, ongoing: bool| {
            let rate = rate.clamp(1e-4, 0.5);
            spans
                .into_iter()
                .enumerate()
                .take(if ongoing { 2 } else { 1 })
                .find_map(|(span, (k, n))| {
                    let (k, n) = (k.round().max(0.0), n.round().max(0.0));
                    let expected = rate * n;
                    // The cheap tests first: most listed terminals fail them.
                    let odd = k >= p.min_count
                        && k >= p.min_ratio * expected
                        && beta_binomial_upper_tail(
                            k as u64,
                            n as u64,
                            rate * p.prior_attempts,
                            (1.0 - rate) * p.prior_attempts,
                        ) < p.p_value;
                    odd.then_some((span, (k, expected)))
                })
        };
        let finding = |signal, cause, (observed, expected): (f64, f64), class: Option<_>| {
            let confidence = (1.0 - expected / f64::max(observed, 1.0)).clamp(0.5, 1.0);
            let at_ms = snap.window.end_ms;
            Finding::device(
                signal,
                cause,
                terminal,
                state,
                (observed, expected),
                confidence,
                at_ms,
            )
            .with_classes(
                class
                    .map(|c| (c, observed - expected))
                    .into_iter()
                    .collect(),
            )
        };
        let mut out = Vec::new();
        let own_rate: f64 = OutcomeClass::ALL
            .into_iter()
            .filter(|c| is_own_failure(*c))
            .map(|c| base.cell_rate(cell.as_ref(), c))
            .sum();
        let spans = [
            (f64::from(short.own_failures), f64::from(short.attempts)),
            (f64::from(long.own_failures), f64::from(long.attempts)),
        ];
        // The side from what each span holds.
        let short_side = own_side(
            f64::from(short.own_failures),
            f64::from(short.hw_errors.min(short.own_failures)),
            f64::from(short.config_failures),
            f64::from(short.comms_failures),
        );
        let long_side = own_side(
            f64::from(long.own_failures),
            f64::from(long.hw_errors),
            f64::from(long.config_failures),
            f64::from(long.comms_failures),
        );
        let of_kind = match long_side.0 {
            OutcomeClass::TerminalConfig => short.config_failures,
            OutcomeClass::Comms => short.comms_failures,
            _ => short
                .own_failures
                .saturating_sub(short.config_failures + short.comms_failures),
        };
        if let Some((span, counts)) = odd(spans, own_rate, of_kind >= 1) {
            let (class, cause) = if span == 0 { short_side } else { long_side };
            out.push(finding(Signal::Failures, cause, counts, Some(class)));
        }
        let fallback_rate = match cell {
            Some(c) if c.attempts > 0.0 => c.fallback_rate(),
            _ => base.fleet.fallback_rate(),
        };
        let spans = [
            (f64::from(short.fallbacks), f64::from(short.attempts)),
            (f64::from(long.fallbacks), f64::from(long.attempts)),
        ];
        if let Some((_, counts)) = odd(spans, fallback_rate, spans[0].0 >= 1.0) {
            out.push(finding(
                Signal::Fallbacks,
                Cause::DeviceHardware,
                counts,
                None,
            ));
        }
        out
    }

    /// The tallies of `state` summed over the window's buckets.
    pub(crate) fn window_tallies(
        &self,
        snap: &WindowSnapshot,
        state: &swipewatch_engine::TerminalState,
    ) -> Sums {
        let width = (snap.bucket.end_ms - snap.bucket.start_ms).max(1);
        let (first, last) = (snap.window.start_ms / width, snap.window.end_ms / width);
        (first..last)
            .filter_map(|b| state.tally(b))
            .fold(Sums::default(), |sum, t| Sums {
                attempts: sum.attempts + u32::from(t.attempts),
                own_failures: sum.own_failures + u32::from(t.own_failures),
                hw_errors: sum.hw_errors + u32::from(t.hw_errors),
                config_failures: sum.config_failures + u32::from(t.config_failures),
                comms_failures: sum.comms_failures + u32::from(t.comms_failures),
                fallbacks: sum.fallbacks + u32::from(t.fallbacks),
                unreachable: sum.unreachable + u32::from(t.unreachable),
            })
    }

    /// The finding for one terminal whose transactions have all failed
    /// lately (`failure_run` or more in a row, the newest of class
    /// `last_failure`). On its own, the side is read off that class: its
    /// own link (modem, SIM, router) for comms and timeouts, its setup
    /// (parameters, keys, routing) when hosts reject it, its software
    /// otherwise. During a bank or network outage many terminals look like
    /// this; the incident book lists them under that outage.
    pub fn failing_terminal(
        &self,
        terminal: Sym,
        state: &swipewatch_engine::TerminalState,
        at_ms: i64,
    ) -> Finding {
        let class = state.last_failure;
        let cause = match class {
            OutcomeClass::Comms | OutcomeClass::HostTimeout => Cause::DeviceHardware,
            OutcomeClass::TerminalConfig
            | OutcomeClass::AcquirerSwitchError
            | OutcomeClass::IssuerUnavailable
            | OutcomeClass::IssuerPolicyDecline => Cause::MerchantConfig,
            _ => Cause::DeviceSoftware,
        };
        let run = f64::from(state.consecutive_failures);
        let confidence = (run / f64::from(2 * self.failure_run)).clamp(0.5, 1.0);
        let signal = Signal::Failures;
        Finding::device(
            signal,
            cause,
            terminal,
            state,
            (run, 0.0),
            confidence,
            at_ms,
        )
        .with_classes(vec![(class, run)])
    }
}
