//! Single devices from what their heartbeats say: a tamper switch, a host
//! out of reach, an offline queue that keeps growing, restarts over and
//! over, a battery nearly empty, a clock far off. And places whose
//! terminals cannot reach their host: many terminals of one acquirer,
//! carrier or region saying so is that place's fault, one finding instead
//! of a ticket per terminal.
//!
//! The per-terminal tests ask for a run of heartbeats (or a restart whose
//! uptime fits the time since the heartbeat before), so that a sender whose
//! fields jitter is not read as a broken device; a signal shown by more
//! terminals in one window than a healthy fleet has (`max_share` of the
//! terminals heartbeating, at least `min_cap`) is a fleet-wide artefact (a
//! shifted clock on the sending side, a field a vendor fills with noise)
//! and names nobody. A tamper report is never capped or grouped.

use crate::detect::{Detector, Finding};
use std::collections::BTreeMap;
use swipewatch_engine::{TerminalState, WindowSnapshot, RESTARTS_KEPT};
use swipewatch_model::{Cause, Dim, OutcomeClass, Signal, Sym};

/// Thresholds of the device-health tests.
#[derive(Debug, Clone, Copy)]
pub struct HealthParams {
    /// Heartbeats in a row saying the host is out of reach.
    pub unreachable_run: u8,
    /// Terminals out of reach under one value that make it the value's
    /// fault (when they are also `group_share` of its heartbeats).
    pub group_terminals: usize,
    /// Share of a value's expected heartbeats in the window that said the
    /// host is out of reach.
    pub group_share: f64,
    /// Heartbeats in a row with a deeper offline queue than the one before
    /// (and none of the terminal's payments arriving in the window: it
    /// trades offline).
    pub queue_growth_run: u8,
    /// Queued outcomes at least.
    pub queue_depth: u16,
    /// Restarts within the hour (at most the engine keeps, 3).
    pub restarts: usize,
    /// Battery at or below, percent ...
    pub battery_pct: u8,
    /// ... for this many heartbeats in a row without charging.
    pub battery_run: u8,
    /// Terminal clock this far from arrival, seconds (the engine's default
    /// `max_clock_skew`: beyond it the engine replaces the terminal's time).
    pub clock_offset_s: i32,
    /// Heartbeats a terminal must have sent before its battery, queue and
    /// uptime are read (time for a noisy field to show itself).
    pub min_beats: u8,
    /// A signal shown by more than this share of the terminals
    /// heartbeating in the window names nobody ...
    pub max_share: f64,
    /// ... unless no more than this many terminals show it.
    pub min_cap: usize,
}

impl Default for HealthParams {
    fn default() -> Self {
        HealthParams {
            unreachable_run: 2,
            group_terminals: 3,
            group_share: 0.25,
            queue_growth_run: 3,
            queue_depth: 5,
            restarts: RESTARTS_KEPT,
            battery_pct: 10,
            battery_run: 2,
            clock_offset_s: 300,
            min_beats: 10,
            max_share: 0.002,
            min_cap: 20,
        }
    }
}

/// Terminals out of reach, each on its own (observed: its run).
fn lone(terminals: Vec<(Sym, &TerminalState, u32)>) -> Vec<(Sym, &TerminalState, f64)> {
    terminals
        .into_iter()
        .map(|(t, s, _)| (t, s, f64::from(s.health.unreachable_run)))
        .collect()
}

/// Dimensions (one or a pair) whose terminals out of reach are grouped.
const PLACES: [&[Dim]; 4] = [
    &[Dim::Acquirer],
    &[Dim::Carrier],
    &[Dim::Region],
    &[Dim::Carrier, Dim::Region],
];

impl Detector {
    /// Device-health findings of the window's listed terminals.
    pub(crate) fn health(&self, snap: &WindowSnapshot, findings: &mut Vec<Finding>) {
        let p = &self.health;
        let w = &snap.window;
        let end = w.end_ms;
        let minute = end.div_euclid(60_000) as i32;
        // Terminals heartbeating in the window, from the fleet's learned
        // heartbeats (a terminal beats about once a minute; none learned
        // yet in the first minutes: the floor applies).
        let buckets = w.buckets.max(1) as f64;
        let beating = f64::from(snap.baselines.fleet.heartbeats) * buckets;
        let cap = ((beating * p.max_share) as usize).max(p.min_cap);
        // Only terminals whose newest heartbeat lies in the window: an old
        // state is not news.
        let fresh = snap
            .devices
            .iter()
            .filter(|(_, s)| s.last_heartbeat_ms >= w.start_ms && s.last_heartbeat_ms < end);
        let mut by_signal: BTreeMap<Signal, Vec<(Sym, &TerminalState, f64)>> = BTreeMap::new();
        let mut unreachable = Vec::new();
        for (t, s) in fresh {
            let h = &s.health;
            let sums = self.window_tallies(snap, s);
            let mut add = |signal, observed: f64| {
                by_signal.entry(signal).or_default().push((*t, s, observed));
            };
            if s.tamper {
                add(Signal::Tamper, 1.0);
            }
            let settled = h.beats >= p.min_beats;
            if h.unreachable_run >= p.unreachable_run {
                unreachable.push((*t, s, sums.unreachable));
            } else if settled
                && h.queue_growth_run >= p.queue_growth_run
                && s.saf_queue_depth >= p.queue_depth
                && sums.attempts == 0
            {
                add(Signal::OfflineQueue, f64::from(s.saf_queue_depth));
            }
            let restarts = h.restarts_within_span(minute);
            if settled && restarts >= p.restarts.min(RESTARTS_KEPT) {
                add(Signal::RebootLoop, restarts as f64);
            }
            if settled && h.battery_low_run >= p.battery_run && s.battery_pct <= p.battery_pct {
                add(Signal::BatteryLow, f64::from(s.battery_pct));
            }
            if h.clock_offset_s.abs() >= p.clock_offset_s {
                add(Signal::ClockDrift, f64::from(h.clock_offset_s));
            }
        }
        let lone = self.places_out_of_reach(snap, unreachable, findings);
        if !lone.is_empty() {
            by_signal.insert(Signal::HostUnreachable, lone);
        }
        for (signal, terminals) in by_signal {
            if signal != Signal::Tamper && terminals.len() > cap {
                continue;
            }
            for (t, s, observed) in terminals {
                findings.push(self.health_finding(signal, t, s, observed, end));
            }
        }
    }

    /// Groups terminals out of reach by place: a place where enough of
    /// them are (in number and in share of its heartbeats) gets one
    /// finding, the most concentrated place first; the terminals no place
    /// holds are returned, each on its own.
    fn places_out_of_reach<'a>(
        &self,
        snap: &WindowSnapshot,
        mut terminals: Vec<(Sym, &'a TerminalState, u32)>,
        findings: &mut Vec<Finding>,
    ) -> Vec<(Sym, &'a TerminalState, f64)> {
        let p = &self.health;
        let base = &snap.baselines;
        let buckets = snap.window.buckets.max(1) as f64;
        if base.fleet.heartbeats <= 0.0 {
            // No heartbeats learned yet: no place's share can be told.
            return lone(terminals);
        }
        let fleet_beats = f64::from(base.fleet.heartbeats).max(1e-9);
        let beats = |dim: Dim, v: Sym| base.cell(dim, v).map_or(0.0, |c| f64::from(c.heartbeats));
        loop {
            let mut groups: BTreeMap<Vec<(Dim, Sym)>, (usize, u32)> = BTreeMap::new();
            for (_, s, n) in &terminals {
                for dims in PLACES {
                    let element: Vec<(Dim, Sym)> =
                        dims.iter().map(|&d| (d, s.dims.get(d))).collect();
                    if element.iter().any(|(_, v)| !v.is_some()) {
                        continue;
                    }
                    let g = groups.entry(element).or_default();
                    g.0 += 1;
                    g.1 += n;
                }
            }
            let best = groups
                .into_iter()
                .filter(|(_, (count, _))| *count >= p.group_terminals)
                .map(|(element, (count, beats_out))| {
                    // Expected heartbeats of the place in the window; a
                    // pair's from its two values' shares of the fleet.
                    let expected = element
                        .iter()
                        .map(|&(d, v)| beats(d, v) / fleet_beats)
                        .product::<f64>()
                        * fleet_beats
                        * buckets;
                    let share = f64::from(beats_out) / expected.max(1.0);
                    (element, count, f64::from(beats_out), expected, share)
                })
                .filter(|g| g.4 >= p.group_share)
                .max_by(|a, b| a.4.total_cmp(&b.4).then(a.0.len().cmp(&b.0.len())));
            let Some((element, count, observed, expected, share)) = best else {
                break;
            };
            let cause = if element.iter().any(|(d, _)| *d == Dim::Acquirer) {
                Cause::BankAcquirer
            } else {
                Cause::Network
            };
            let counts = (observed, expected - observed.min(expected));
            let (signal, confidence) = (Signal::HostUnreachable, share.clamp(0.5, 1.0));
            let at_ms = snap.window.end_ms;
            findings.push(
                Finding::element(signal, cause, element.clone(), counts, confidence, at_ms)
                    .with_classes(vec![(OutcomeClass::Comms, count as f64)]),
            );
            terminals.retain(|(_, s, _)| !element.iter().all(|&(d, v)| s.dims.get(d) == v));
        }
        lone(terminals)
    }

    /// The finding for one terminal's health signal.
    fn health_finding(
        &self,
        signal: Signal,
        terminal: Sym,
        state: &TerminalState,
        observed: f64,
        at_ms: i64,
    ) -> Finding {
        let cause = match signal {
            Signal::RebootLoop | Signal::OfflineQueue | Signal::ClockDrift => Cause::DeviceSoftware,
            _ => Cause::DeviceHardware,
        };
        Finding::device(signal, cause, terminal, state, (observed, 0.0), 1.0, at_ms)
    }
}
