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
use crate::devices::DeviceParams;
pub use crate::finding::Finding;
use crate::health::HealthParams;
use crate::latency::{slow, LatencyParams};
use crate::localize::{localize, Element, LeafInput, Params, MAX_CODE};
use crate::missing::MissingParams;
use crate::silence::{silent, SilenceParams, Volume};
use crate::spike::{poisson_upper_tail, SpikeParams};
use std::collections::BTreeMap;
use swipewatch_engine::{Anomalies, LeafId, LeafKey, WindowSnapshot};
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
        let mut findings = Vec::new();
        if snap.baselines.buckets_learned < self.warmup_buckets {
            // A device's health needs no baselines: a tamper report in the
            // first minutes after a fresh start is told.
            self.health(snap, &mut findings);
            return (findings, anomalies);
        }
        let leaves = Leaves::gather(snap, self.leaf_dims.len());
        let hits = self.spikes(snap, &leaves);
        self.failures(snap, &leaves, hits, &mut findings, &mut anomalies);
        drop_shadows(&mut findings);
        self.cohorts(snap, &mut findings, &mut anomalies);
        self.silences(snap, &mut findings, &mut anomalies);
        self.slowdowns(snap, &mut findings, &mut anomalies);
        // Single terminals last: an outage found above explains theirs.
        self.devices(snap, &mut findings);
        self.health(snap, &mut findings);
        (findings, anomalies)
    }

    /// Per failure class, the elements the localizer finds behind a
    /// fleet-level spike: element → (class → (real, expected)).
    fn spikes(&self, snap: &WindowSnapshot, leaves: &Leaves) -> Hits {
        let mut hits = Hits::new();
        for class in CLASSES {
            let real: Vec<f64> = leaves
                .counts
                .iter()
                .map(|c| f64::from(c.get(class)))
                .collect();
            let forecast: Vec<f64> = leaves
                .cells
                .iter()
                .zip(&leaves.counts)
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
                dims: self.leaf_dims.len(),
                values: &leaves.values,
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
        hits
    }

    /// One failure finding per element with enough failures over its
    /// classes together, classified by side.
    fn failures(
        &self,
        snap: &WindowSnapshot,
        leaves: &Leaves,
        hits: Hits,
        findings: &mut Vec<Finding>,
        anomalies: &mut Anomalies,
    ) {
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
            let spread = self.spread(snap, &leaves.keys, &element, &classes);
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
                    snap.window.end_ms,
                )
                .with_classes(classes)
            });
        }
    }

    /// Outcomes or heartbeats of a value, or of a carrier in a region,
    /// gone quiet.
    fn silences(
        &self,
        snap: &WindowSnapshot,
        findings: &mut Vec<Finding>,
        anomalies: &mut Anomalies,
    ) {
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
    }

    /// Values slower than their own normal (unless already failing).
    fn slowdowns(
        &self,
        snap: &WindowSnapshot,
        findings: &mut Vec<Finding>,
        anomalies: &mut Anomalies,
    ) {
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

/// element → (class → (real, expected)).
type Hits = BTreeMap<Element, BTreeMap<OutcomeClass, (f64, f64)>>;

/// The window's leaves as the localizer reads them: each leaf's key,
/// counts and baseline cell, looked up once for every class (a lookup per
/// leaf and class took half the time of engine plus detection in a
/// profile of the scale bench), and its values as localizer codes.
struct Leaves {
    keys: Vec<(LeafId, LeafKey)>,
    counts: Vec<swipewatch_engine::ClassCounts>,
    cells: Vec<Option<swipewatch_engine::Cell>>,
    values: Vec<u32>,
}

impl Leaves {
    fn gather(snap: &WindowSnapshot, dims: usize) -> Leaves {
        let n = snap.leaves.len();
        let mut leaves = Leaves {
            keys: Vec::with_capacity(n),
            counts: Vec::with_capacity(n),
            cells: Vec::with_capacity(n),
            values: Vec::with_capacity(n * dims),
        };
        for (id, c) in snap.window.leaves.iter() {
            let Some(key) = snap.leaves.key(id) else {
                continue;
            };
            leaves.keys.push((id, *key));
            leaves.counts.push(*c);
            leaves.cells.push(snap.baselines.leaf_cell(id));
            leaves
                .values
                .extend(key[..dims].iter().map(|&s| code_of(s)));
        }
        leaves
    }
}

/// A provisional part of an element failing in full in this window (its
/// few failures of another class, as a carrier's outage shows a few
/// timeouts at one acquirer) is that element's shadow.
fn drop_shadows(findings: &mut Vec<Finding>) {
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
