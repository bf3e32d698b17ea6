//! From a closed window to findings.
//!
//! For each failure class: the window's leaves give `v` (failures of the
//! class) and `f` (the leaf's baseline rate × its attempts). If the fleet
//! total is above its expectation (Poisson tail < `fleet_p`, a loose gate:
//! the localizer's own significance test decides), the excess is
//! localized; elements found for several classes are merged, and each is
//! classified. Findings also say what the baselines must not learn from.
//! Nothing is reported while the baselines are still learning.

use crate::classify::{cause_of_dim, classify, Spread};
pub use crate::finding::Finding;
use crate::health::HealthParams;
use crate::latency::{slow, LatencyParams};
use crate::localize::{localize, Element, LeafInput, Params, MAX_CODE};
use crate::missing::MissingParams;
use crate::silence::{silent, SilenceParams, Volume};
use crate::spike::{beta_binomial_upper_tail, poisson_upper_tail, SpikeParams};
use std::collections::BTreeMap;
use swipewatch_engine::{is_own_failure, Anomalies, LeafId, LeafKey, WindowSnapshot};
use swipewatch_model::{Cause, Dim, OutcomeClass, Sym};

/// Classes detection looks at (the failure classes with a known side).
pub const CLASSES: [OutcomeClass; 7] = [
    OutcomeClass::IssuerUnavailable,
    OutcomeClass::IssuerPolicyDecline,
    OutcomeClass::AcquirerSwitchError,
    OutcomeClass::HostTimeout,
    OutcomeClass::Comms,
    OutcomeClass::TerminalConfig,
    OutcomeClass::DeviceFault,
];

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

/// Cohort dimensions tested value by value (they are usually not leaf
/// dimensions: too many values), with the failure class that implicates them.
pub const COHORTS: [(Dim, OutcomeClass); 5] = [
    (Dim::Firmware, OutcomeClass::DeviceFault),
    (Dim::App, OutcomeClass::DeviceFault),
    (Dim::Model, OutcomeClass::DeviceFault),
    (Dim::EntryMode, OutcomeClass::DeviceFault),
    (Dim::Merchant, OutcomeClass::TerminalConfig),
];

pub use swipewatch_model::Signal;

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

/// Detection parameters.
#[derive(Debug, Clone)]
pub struct Detector {
    /// Leaf dimensions, in the engine's order.
    pub leaf_dims: Vec<Dim>,
    /// Fleet-level tail probability that triggers localization (loose: an
    /// outage of a small element barely moves the fleet total, and the
    /// localizer's own test corrects for every element it tries).
    pub fleet_p: f64,
    /// Buckets the baselines must have learned before anything is reported.
    pub warmup_buckets: u64,
    /// Localization parameters.
    pub localize: Params,
    /// Floor and ratio for a finding's own excess.
    pub spike: SpikeParams,
    /// Consecutive card-reader / PIN-pad errors that mark a dead device.
    pub hw_error_run: u16,
    /// Consecutive failures of any other kind that single a terminal out
    /// (at least the engine's listing run).
    pub failure_run: u16,
    /// Failing terminals reported per window, longest runs first: in a
    /// large outage thousands of terminals fail everything, and the outage
    /// itself is the finding that matters.
    pub max_failing_terminals: usize,
    /// Volume-drop thresholds.
    pub silence: SilenceParams,
    /// Latency thresholds.
    pub latency: LatencyParams,
    /// Per-terminal rate tests.
    pub device: DeviceParams,
    /// Device-health tests on heartbeats.
    pub health: HealthParams,
    /// Terminals of the inventory silent in their trading hours (run by
    /// the monitor, which holds the inventory).
    pub missing: MissingParams,
}

impl Detector {
    /// A detector for the engine's leaf dimensions with default thresholds.
    pub fn new(leaf_dims: Vec<Dim>) -> Detector {
        Detector {
            leaf_dims,
            fleet_p: 0.05,
            warmup_buckets: 30,
            localize: Params::live(),
            spike: SpikeParams::default(),
            hw_error_run: 3,
            failure_run: 8,
            max_failing_terminals: 100,
            silence: SilenceParams::default(),
            latency: LatencyParams::default(),
            device: DeviceParams::default(),
            health: HealthParams::default(),
            missing: MissingParams::default(),
        }
    }

    /// Findings of one closed window, and what the baselines must skip.
    pub fn detect(&self, snap: &WindowSnapshot) -> (Vec<Finding>, Anomalies) {
        let mut anomalies = Anomalies::default();
        if snap.baselines.buckets_learned < self.warmup_buckets {
            // A device's health needs no baselines: a tamper report in the
            // first minutes after a fresh start is told.
            let mut findings = Vec::new();
            self.health(snap, &mut findings);
            return (findings, anomalies);
        }
        let w = &snap.window;
        let dims = self.leaf_dims.len();
        let mut values = Vec::with_capacity(snap.leaves.len() * dims);
        // Each leaf's counts and baseline cell, looked up once for every
        // class (a lookup per leaf and class took half the time of engine
        // plus detection in a profile of the scale bench).
        let mut keys = Vec::with_capacity(snap.leaves.len());
        let mut counts = Vec::with_capacity(snap.leaves.len());
        let mut cells = Vec::with_capacity(snap.leaves.len());
        for (id, c) in w.leaves.iter() {
            let Some(key) = snap.leaves.key(id) else {
                continue;
            };
            keys.push((id, *key));
            counts.push(*c);
            cells.push(snap.baselines.leaf_cell(id));
            values.extend(key[..dims].iter().map(|&s| code_of(s)));
        }
        // element → (class → (real, expected))
        let mut hits: BTreeMap<Element, BTreeMap<OutcomeClass, (f64, f64)>> = BTreeMap::new();
        for class in CLASSES {
            let real: Vec<f64> = counts.iter().map(|c| f64::from(c.get(class))).collect();
            let forecast: Vec<f64> = cells
                .iter()
                .zip(&counts)
                .map(|(cell, c)| {
                    snap.baselines.cell_rate(cell.as_ref(), class) * c.attempts() as f64
                })
                .collect();
            let (v, f): (f64, f64) = (real.iter().sum(), forecast.iter().sum());
            if v < self.spike.min_pending_failures as f64
                || poisson_upper_tail(v as u64, f) > self.fleet_p
            {
                continue;
            }
            let input = LeafInput {
                dims,
                values: &values,
                real: &real,
                forecast: &forecast,
            };
            for l in localize(&input, &self.localize) {
                // The floor on failures applies to the element's classes
                // together (below): an outage splits its failures between
                // classes (a carrier's lost links and timeouts), and each
                // class alone reaches the floor seconds later.
                if l.real < self.spike.min_ratio * l.expected {
                    continue;
                }
                hits.entry(l.element)
                    .or_default()
                    .insert(class, (l.real, l.expected));
            }
        }
        let mut findings = Vec::new();
        for (element, by_class) in hits {
            let total: f64 = by_class.values().map(|x| x.0).sum();
            if total < self.spike.min_pending_failures as f64 {
                continue;
            }
            for class in by_class.keys() {
                if !anomalies.fleet_classes.contains(class) {
                    anomalies.fleet_classes.push(*class);
                }
            }
            let pairs: Vec<(Dim, Sym)> = element
                .0
                .iter()
                .map(|&(d, code)| (self.leaf_dims[d], sym_of(code)))
                .collect();
            let mut classes: Vec<(OutcomeClass, f64)> =
                by_class.iter().map(|(c, (v, f))| (*c, v - f)).collect();
            classes.sort_by(|a, b| b.1.total_cmp(&a.1));
            let spread = self.spread(snap, &keys, &element, &classes);
            let dims_only: Vec<Dim> = pairs.iter().map(|p| p.0).collect();
            let Some(verdict) = classify(&dims_only, &classes, &spread) else {
                continue;
            };
            for &(d, s) in &pairs {
                anomalies.values.insert((d, s));
            }
            let observed = by_class.values().map(|x| x.0).sum();
            let expected = by_class.values().map(|x| x.1).sum();
            findings.push(Finding {
                spread,
                provisional: total < self.spike.min_failures as f64,
                ..Finding::element(
                    Signal::Failures,
                    verdict.cause,
                    pairs,
                    (observed, expected),
                    verdict.confidence,
                    w.end_ms,
                )
                .with_classes(classes)
            });
        }
        // A provisional part of an element failing in full in this window
        // (its few failures of another class, as a carrier's outage shows a
        // few timeouts at one acquirer) is that element's shadow.
        let wholes: Vec<Vec<(Dim, Sym)>> = findings
            .iter()
            .filter(|f| !f.provisional)
            .map(|f| f.element.clone())
            .collect();
        findings.retain(|f| {
            !f.provisional
                || !wholes
                    .iter()
                    .any(|w| w.len() < f.element.len() && w.iter().all(|p| f.element.contains(p)))
        });
        self.cohorts(snap, &mut findings, &mut anomalies);
        for s in silent(snap, &self.leaf_dims, &self.silence) {
            for &pair in &s.element {
                anomalies.values.insert(pair);
            }
            anomalies.fleet |= s.element.is_empty();
            let signal = match s.volume {
                Volume::Outcomes => Signal::Silence,
                Volume::Heartbeats => Signal::MissingHeartbeats,
            };
            let confidence = (1.0 - s.observed / s.expected.max(1.0)).clamp(0.5, 1.0);
            findings.push(Finding::element(
                signal,
                Cause::Network,
                s.element,
                (s.observed, s.expected),
                confidence,
                snap.window.end_ms,
            ));
        }
        for s in slow(snap, &self.leaf_dims, &self.latency) {
            let Some(cause) = cause_of_dim(s.dim) else {
                continue;
            };
            // A value already failing says more than its being slow.
            let failing = findings.iter().any(|f| {
                f.signal == Signal::Failures
                    && f.terminal.is_none()
                    && f.element.contains(&(s.dim, s.sym))
            });
            if failing {
                continue;
            }
            anomalies.values.insert((s.dim, s.sym));
            let confidence = (1.0 - s.expected / s.slow.max(1.0)).clamp(0.5, 1.0);
            findings.push(Finding {
                p95_ms: Some((s.p95_ms, s.baseline_p95_ms)),
                ..Finding::element(
                    Signal::Latency,
                    cause,
                    vec![(s.dim, s.sym)],
                    (s.slow, s.expected),
                    confidence,
                    snap.window.end_ms,
                )
            });
        }
        // Single terminals last: an outage found above explains theirs.
        self.devices(snap, &mut findings);
        self.health(snap, &mut findings);
        (findings, anomalies)
    }

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
    fn devices(&self, snap: &WindowSnapshot, findings: &mut Vec<Finding>) {
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

    /// Distinct values of the other leaf dimensions among the element's
    /// leaves that carry excess in its classes.
    fn spread(
        &self,
        snap: &WindowSnapshot,
        keys: &[(LeafId, LeafKey)],
        element: &Element,
        classes: &[(OutcomeClass, f64)],
    ) -> Vec<Spread> {
        let w = &snap.window;
        let fixed: Vec<usize> = element.0.iter().map(|p| p.0).collect();
        let mut seen: Vec<std::collections::BTreeSet<Sym>> =
            vec![Default::default(); self.leaf_dims.len()];
        for (id, k) in keys {
            let under = element.0.iter().all(|&(d, code)| code_of(k[d]) == code);
            if !under {
                continue;
            }
            let c = w.leaves.get(*id);
            let excess = classes.iter().any(|(class, _)| {
                f64::from(c.get(*class))
                    > snap.baselines.leaf_rate(*id, *class) * c.attempts() as f64 + 1.0
            });
            if excess {
                for (d, set) in seen.iter_mut().enumerate() {
                    if !fixed.contains(&d) && k[d].is_some() {
                        set.insert(k[d]);
                    }
                }
            }
        }
        seen.into_iter()
            .enumerate()
            .filter(|(d, _)| !fixed.contains(d))
            .map(|(d, set)| Spread {
                dim: self.leaf_dims[d],
                values: set.len() as u32,
            })
            .collect()
    }
}

/// The localizer's code for a leaf value: its symbol, or `MAX_CODE - 1`
/// for a value that was not reported (symbols at or above `MAX_CODE - 2`
/// share the last code; interners never grow that far).
fn code_of(s: Sym) -> u32 {
    if s.is_some() {
        s.0.min(MAX_CODE - 2)
    } else {
        MAX_CODE - 1
    }
}

/// The value a localizer code stands for (see [`code_of`]).
fn sym_of(code: u32) -> Sym {
    if code == MAX_CODE - 1 {
        Sym::NONE
    } else {
        Sym(code)
    }
}

#[cfg(test)]
#[path = "golden_tests.rs"]
mod golden;
