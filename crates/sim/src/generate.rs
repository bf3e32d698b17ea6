//! Traffic: second by second of event time, the outcomes and heartbeats the
//! fleet publishes, with the scenario's faults injected and a ground-truth
//! label for each.

use crate::fleet::{diurnal, Fleet, Terminal, ACQUIRERS, ISSUERS, NET_TYPES};
use crate::payload::{net_json, topic, HeartbeatJson, SwJson, TxnJson};
use crate::rng::Rng;
use crate::scenario::{Fault, FaultKind, Scenario};
pub use crate::stream::{Label, MaintenanceWindow, Message};
use std::collections::BTreeMap;

/// A fault's `terminal` that names the fleet's busiest terminal.
pub const BUSIEST: &str = "@busiest";

/// Entry modes: name and share.
const ENTRY_MODES: [(&str, f64); 5] = [
    ("chip", 0.55),
    ("contactless", 0.38),
    ("swipe", 0.04),
    ("fallback", 0.01),
    ("manual", 0.02),
];

/// Per-terminal mutable state.
#[derive(Debug, Clone, Default)]
struct TermState {
    txn_seq: u64,
    hb_seq: u64,
    reader_errors: u32,
    /// Outcomes held while the link is down: (event time, payload).
    backlog: Vec<(i64, Vec<u8>)>,
}

/// One fault occurrence being tracked for its label.
#[derive(Debug, Clone)]
struct Occurrence {
    fault: usize,
    start_ms: i64,
    end_ms: i64,
    matched: u64,
    total: u64,
}

/// Generates a scenario's traffic, one second of event time per step.
pub struct Generator {
    fleet: Fleet,
    scenario: Scenario,
    rng: Rng,
    origin_ms: i64,
    end_ms: i64,
    now_ms: i64,
    terms: Vec<TermState>,
    /// Terminals heartbeating in each second of the heartbeat period.
    slots: Vec<Vec<u32>>,
    occurrences: Vec<Occurrence>,
    /// Terminals holding a backlog.
    held: Vec<u32>,
    /// Outcomes released from store-and-forward: (arrival, terminal, event time, payload).
    released: Vec<(i64, u32, i64, Vec<u8>)>,
    entry_modes: crate::rng::Alias,
}

impl Generator {
    /// A generator over `scenario` from its start; `origin_ms` overrides
    /// the scenario's event-time origin (the demo starts at wall time).
    pub fn new(scenario: &Scenario, origin_ms: Option<i64>) -> Generator {
        let fleet = Fleet::new(&scenario.fleet_spec());
        let mut scenario = scenario.clone();
        for f in &mut scenario.faults {
            if f.terminal.as_deref() == Some(BUSIEST) {
                f.terminal = fleet.busiest().map(|t| t.id.clone());
            }
        }
        let origin_ms = origin_ms.unwrap_or(scenario.start.timestamp_millis());
        let period = scenario.heartbeat_interval.as_secs().max(1) as usize;
        let mut rng = Rng::new(scenario.seed ^ 0x5157_1E5A);
        let mut slots = vec![Vec::new(); period];
        for i in 0..fleet.terminals.len() {
            slots[rng.below(period)].push(i as u32);
        }
        Generator {
            terms: vec![TermState::default(); fleet.terminals.len()],
            end_ms: origin_ms.saturating_add(scenario.duration.as_millis() as i64),
            fleet,
            scenario,
            rng,
            origin_ms,
            now_ms: origin_ms,
            slots,
            occurrences: Vec::new(),
            held: Vec::new(),
            released: Vec::new(),
            entry_modes: crate::rng::Alias::new(&ENTRY_MODES.map(|e| e.1)),
        }
    }

    /// The fleet.
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// Event-time origin, epoch ms.
    pub fn origin_ms(&self) -> i64 {
        self.origin_ms
    }

    /// Event time the next step starts at, epoch ms.
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// Event time the scenario ends at (for a repeating story: one period
    /// past the last fault still counts), epoch ms.
    pub fn end_ms(&self) -> i64 {
        self.end_ms
    }

    /// The same fleet with other traffic: reseeds the traffic draws (the
    /// fleet stays the one of the scenario's seed).
    pub fn with_traffic_seed(mut self, seed: u64) -> Generator {
        self.rng = Rng::new(seed ^ 0x7A3F_F1C0);
        self
    }

    /// Runs for ever (the demo), ignoring the scenario's duration.
    pub fn unbounded(mut self) -> Generator {
        self.end_ms = i64::MAX;
        self
    }

    /// The fleet's inventory as a terminal-management system would export
    /// it (CSV: every terminal, its place, trading round the clock).
    pub fn inventory_csv(&self) -> String {
        let mut csv = String::from("terminal_id,merchant,model,region,acquirer,carrier,hours\n");
        for t in &self.fleet.terminals {
            csv.push_str(&format!(
                "{},{},{},{},{},{},24h\n",
                t.id,
                t.merchant_id(),
                t.model_name(),
                t.region_name(),
                t.acquirer_name(),
                t.carrier
            ));
        }
        csv
    }

    /// Fault occurrences begun so far.
    pub fn faults_started(&self) -> usize {
        self.occurrences.len()
    }

    /// Labels of every fault occurrence that has begun so far.
    pub fn labels(&self) -> Vec<Label> {
        self.occurrences
            .iter()
            .map(|o| {
                let f = &self.scenario.faults[o.fault];
                Label {
                    kind: f.kind.name().to_string(),
                    cause: f.kind.cause(),
                    element: element(f),
                    start_ms: o.start_ms,
                    end_ms: o.end_ms,
                    maintenance: self
                        .maintenance_windows(o.end_ms)
                        .iter()
                        .any(|m| covers(m, f, o.start_ms, o.end_ms)),
                    share: if o.total == 0 {
                        0.0
                    } else {
                        o.matched as f64 / o.total as f64
                    },
                    signal: f.kind.signal(),
                }
            })
            .collect()
    }

    /// Maintenance windows that start before `until_ms`.
    pub fn maintenance_windows(&self, until_ms: i64) -> Vec<MaintenanceWindow> {
        let mut out = Vec::new();
        for round in 0.. {
            let base = self.faults_origin_ms() + round * self.period_ms().unwrap_or(0);
            if base >= until_ms || (round > 0 && self.period_ms().is_none()) {
                break;
            }
            for m in &self.scenario.maintenance {
                let (dim, value) = match (&m.acquirer, &m.issuer) {
                    (Some(a), _) => ("acquirer", a),
                    (None, Some(i)) => ("issuer", i),
                    (None, None) => continue,
                };
                let start_ms = base + m.start.as_millis() as i64;
                if start_ms < until_ms {
                    out.push(MaintenanceWindow {
                        dim: dim.to_string(),
                        value: value.clone(),
                        start_ms,
                        end_ms: start_ms + m.duration.as_millis() as i64,
                    });
                }
            }
        }
        out
    }

    /// Where the faults' time line starts: after the lead-in.
    fn faults_origin_ms(&self) -> i64 {
        self.origin_ms + self.scenario.lead_in.as_millis() as i64
    }

    fn period_ms(&self) -> Option<i64> {
        self.scenario.repeat.map(|p| p.as_millis() as i64)
    }

    /// Severity of fault `i` at `t_ms` (0 when inactive), and the start of
    /// its current occurrence.
    fn severity(&self, i: usize, t_ms: i64) -> Option<(f64, i64)> {
        let f = &self.scenario.faults[i];
        let origin = self.faults_origin_ms();
        let since = t_ms - origin;
        if since < 0 {
            return None;
        }
        let (round_start, offset) = match self.period_ms() {
            Some(p) => (origin + since.div_euclid(p) * p, since.rem_euclid(p)),
            None => (origin, since),
        };
        let start = f.start.as_millis() as i64;
        let end = start + f.duration.as_millis() as i64;
        if offset < start || offset >= end {
            return None;
        }
        let ramp = f.ramp.as_millis() as f64;
        let level = if ramp > 0.0 {
            ((offset - start) as f64 / ramp).min(1.0)
        } else {
            1.0
        };
        Some((f.severity * level, round_start + start))
    }

    /// Appends the messages arriving in the next second of event time;
    /// false (and nothing appended) once the scenario is over.
    pub fn step(&mut self, out: &mut Vec<Message>) -> bool {
        if self.now_ms >= self.end_ms {
            return false;
        }
        let tick = self.now_ms;
        let mut active: Vec<(usize, f64)> = Vec::new();
        for i in 0..self.scenario.faults.len() {
            if let Some((s, start)) = self.severity(i, tick) {
                self.note_occurrence(i, start);
                active.push((i, s));
            }
        }
        self.release_backlogs(tick, &active);

        let hour = ((tick / 1000).rem_euclid(86_400)) as f64 / 3600.0;
        let share = if self.scenario.diurnal {
            diurnal(hour)
        } else {
            1.0
        };
        let lambda = self.fleet.peak_rate / 3600.0 * share;
        let n = self.rng.poisson(lambda);
        for _ in 0..n {
            let ti = self.fleet.by_traffic.sample(&mut self.rng);
            let ts = tick + self.rng.below(1000) as i64;
            self.transaction(ti, ts, &active, out);
        }
        let slot = ((tick - self.origin_ms) / 1000).rem_euclid(self.slots.len() as i64) as usize;
        for k in 0..self.slots[slot].len() {
            let ti = self.slots[slot][k] as usize;
            let ts = tick + self.rng.below(1000) as i64;
            self.heartbeat(ti, ts, &active, out);
        }
        let next = tick + 1000;
        self.released.sort_by_key(|r| r.0);
        let due = self.released.partition_point(|r| r.0 < next);
        for (arrival, ti, ts, payload) in self.released.drain(..due) {
            out.push(Message {
                topic: topic(&self.fleet.terminals[ti as usize], "txn"),
                payload,
                ts_ms: ts,
                arrival_ms: arrival,
            });
        }
        self.now_ms = next;
        true
    }

    fn note_occurrence(&mut self, fault: usize, start_ms: i64) {
        if self
            .occurrences
            .iter()
            .any(|o| o.fault == fault && o.start_ms == start_ms)
        {
            return;
        }
        let f = &self.scenario.faults[fault];
        self.occurrences.push(Occurrence {
            fault,
            start_ms,
            end_ms: start_ms + f.duration.as_millis() as i64,
            matched: 0,
            total: 0,
        });
    }

    /// Terminals whose link came back send what they held, spread over a minute.
    fn release_backlogs(&mut self, tick: i64, active: &[(usize, f64)]) {
        let held = std::mem::take(&mut self.held);
        for ti in held {
            if self.link_down(ti as usize, active) || self.host_down(ti as usize, active) {
                self.held.push(ti);
                continue;
            }
            for (ts, payload) in std::mem::take(&mut self.terms[ti as usize].backlog) {
                let arrival = tick + self.rng.below(60_000) as i64;
                self.released.push((arrival, ti, ts, payload));
            }
        }
    }

    /// A silent network outage holds this terminal's link down.
    fn link_down(&self, ti: usize, active: &[(usize, f64)]) -> bool {
        let t = &self.fleet.terminals[ti];
        active.iter().any(|&(i, sev)| {
            let f = &self.scenario.faults[i];
            f.kind == FaultKind::NetworkOutage
                && f.silence
                && hits_terminal(f, t)
                && stable_unit(ti as u64, i as u64) < sev
        })
    }

    /// The terminal is off (its own fault, or its region's power cut): it
    /// sends nothing and takes no payments.
    fn dark(&self, ti: usize, active: &[(usize, f64)]) -> bool {
        let t = &self.fleet.terminals[ti];
        active.iter().any(|&(i, sev)| {
            let f = &self.scenario.faults[i];
            match f.kind {
                FaultKind::TerminalOff => hits_terminal(f, t),
                FaultKind::PowerCut => {
                    hits_terminal(f, t) && stable_unit(ti as u64, i as u64) < sev
                }
                _ => false,
            }
        })
    }

    /// The severity of the active fault of `kind` on this terminal, and
    /// when its occurrence started.
    fn own_fault(&self, ti: usize, kind: FaultKind, active: &[(usize, f64)]) -> Option<(f64, i64)> {
        let t = &self.fleet.terminals[ti];
        active.iter().find_map(|&(i, sev)| {
            let f = &self.scenario.faults[i];
            (f.kind == kind && hits_terminal(f, t)).then(|| {
                (
                    sev,
                    self.severity(i, self.now_ms).map_or(self.now_ms, |s| s.1),
                )
            })
        })
    }

    /// The terminal cannot reach its host (its link to swipewatch works).
    fn host_down(&self, ti: usize, active: &[(usize, f64)]) -> bool {
        self.own_fault(ti, FaultKind::HostUnreachable, active)
            .is_some()
    }

    fn transaction(&mut self, ti: usize, ts: i64, active: &[(usize, f64)], out: &mut Vec<Message>) {
        let issuer = self.fleet.issuers.sample(&mut self.rng);
        let mut mode = ENTRY_MODES[self.entry_modes.sample(&mut self.rng)].0;
        let t = &self.fleet.terminals[ti];
        for &(i, sev) in active {
            let f = &self.scenario.faults[i];
            if f.kind == FaultKind::ReaderWear
                && mode == "chip"
                && hits_terminal(f, t)
                && self.rng.chance(sev)
            {
                mode = "fallback";
            }
        }
        for o in self.occurrences.iter_mut() {
            if ts >= o.start_ms && ts < o.end_ms {
                o.total += 1;
                if hits(&self.scenario.faults[o.fault], t, ti, issuer) {
                    o.matched += 1;
                }
            }
        }
        // A terminal that is off takes no payment (counted above as what
        // the fault's place would have carried).
        if self.dark(ti, active) {
            return;
        }
        let down = self.link_down(ti, active) || self.host_down(ti, active);
        let result = if down {
            // Offline: approved under the floor limit or declined offline; held.
            if self.rng.chance(0.7) {
                Result::code("approved", "Y3", "terminal", 0.0)
            } else {
                Result::code("declined", "Z3", "terminal", 0.0)
            }
        } else {
            outcome(
                &mut self.rng,
                &self.scenario.faults,
                t,
                ti,
                issuer,
                mode,
                active,
            )
        };
        if matches!(
            result.term_error,
            Some("chip_read_error" | "swipe_error" | "ctls_error")
        ) {
            self.terms[ti].reader_errors += 1;
        }
        let state = &mut self.terms[ti];
        state.txn_seq += 1;
        let seq = state.txn_seq;
        let event_id = format!("{}-{seq}", t.id);
        let (name, scheme, bin_head) = ISSUERS[issuer];
        let bin = format!("{bin_head}{:02}", self.rng.below(100));
        let amount = self.rng.log_normal(2_500.0, 1.0).clamp(50.0, 500_000.0) as u64;
        let payload = serde_json::to_vec(&TxnJson {
            event_id: &event_id,
            terminal_id: &t.id,
            merchant_id: &t.merchant_id(),
            issuer: name,
            bin: &bin,
            scheme,
            ts,
            seq,
            outcome: result.status,
            rc: result.rc,
            rc_source: result.rc_source,
            term_error: result.term_error,
            entry_mode: mode,
            latency_ms: result.latency_ms.filter(|_| !down),
            saf: down,
            net: net_json(t),
            sw: SwJson {
                fw: t.firmware_name(),
                app: t.app_name(),
            },
            model: t.model_name(),
            amount_minor: amount,
            currency: "EUR",
        })
        .unwrap_or_default();
        if down {
            if self.terms[ti].backlog.is_empty() {
                self.held.push(ti as u32);
            }
            self.terms[ti].backlog.push((ts, payload));
        } else {
            let arrival = ts + 20 + self.rng.below(300) as i64;
            out.push(Message {
                topic: topic(t, "txn"),
                payload,
                ts_ms: ts,
                arrival_ms: arrival,
            });
        }
    }
}

impl Generator {
    fn heartbeat(&mut self, ti: usize, ts: i64, active: &[(usize, f64)], out: &mut Vec<Message>) {
        if self.link_down(ti, active) || self.dark(ti, active) {
            return;
        }
        let mut uptime_s =
            ((ts - self.origin_ms) / 1000).max(0) as u64 + 3_600 + ti as u64 % 86_400;
        if let Some((sev, start)) = self.own_fault(ti, FaultKind::RebootLoop, active) {
            let period = (180_000.0 / sev.max(0.05)) as i64;
            uptime_s = ((ts - start).rem_euclid(period) / 1000) as u64 + 20;
        }
        let mut battery_pct = 40 + (ti % 61) as u8;
        if let Some((sev, _)) = self.own_fault(ti, FaultKind::BatteryDrain, active) {
            battery_pct = (f64::from(battery_pct) * (1.0 - sev)).round() as u8;
        }
        let drift_ms = self
            .own_fault(ti, FaultKind::ClockDrift, active)
            .map_or(0, |(sev, _)| (sev * 900_000.0) as i64);
        let tamper = self.own_fault(ti, FaultKind::Tamper, active).is_some();
        let host_reachable = !self.host_down(ti, active);
        let t = &self.fleet.terminals[ti];
        let state = &mut self.terms[ti];
        state.hb_seq += 1;
        let errors = std::mem::take(&mut state.reader_errors);
        let payload = serde_json::to_vec(&HeartbeatJson {
            terminal_id: &t.id,
            merchant_id: &t.merchant_id(),
            ts: ts + drift_ms,
            seq: state.hb_seq,
            uptime_s,
            battery_pct,
            host_reachable,
            saf_queue_depth: state.backlog.len() as u32,
            chip_read_err: errors,
            swipe_err: 0,
            ctls_err: 0,
            fallback: 0,
            tamper,
            net: net_json(t),
            sw: SwJson {
                fw: t.firmware_name(),
                app: t.app_name(),
            },
            model: t.model_name(),
        })
        .unwrap_or_default();
        out.push(Message {
            topic: topic(t, "hb"),
            payload,
            ts_ms: ts,
            arrival_ms: ts + 20 + self.rng.below(300) as i64,
        });
    }
}

/// A uniform number fixed per (terminal, fault): the same terminals stay
/// affected for a whole occurrence.
fn stable_unit(terminal: u64, fault: u64) -> f64 {
    let mut rng = Rng::new(terminal.wrapping_mul(0x1000_0000_01B3) ^ fault);
    rng.unit()
}

/// Does the fault's target cover this terminal (ignoring the card's issuer)?
fn hits_terminal(f: &Fault, t: &Terminal) -> bool {
    let is = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
    match f.kind {
        k if k.is_single_terminal() => f.terminal.as_deref() == Some(t.id.as_str()),
        FaultKind::FirmwareRegression => f.firmware.as_deref() == Some(t.firmware_name()),
        FaultKind::NetworkOutage => is(&f.carrier, t.carrier) && is(&f.region, t.region_name()),
        FaultKind::PowerCut => f.region.as_deref() == Some(t.region_name()),
        FaultKind::AcquirerMalfunction
        | FaultKind::AcquirerUnreachable
        | FaultKind::BankCutover => f.acquirer.as_deref() == Some(ACQUIRERS[t.acquirer as usize]),
        FaultKind::MerchantMisconfig => f.merchant.as_deref() == Some(t.merchant_id().as_str()),
        FaultKind::IssuerOutage
        | FaultKind::IssuerMalfunction
        | FaultKind::DeclineSurge
        | FaultKind::IssuerSlowdown => true,
        _ => false,
    }
}

/// Does the fault's target cover this transaction?
fn hits(f: &Fault, t: &Terminal, _ti: usize, issuer: usize) -> bool {
    let issuer_ok = f.issuer.as_deref().is_none_or(|i| i == ISSUERS[issuer].0);
    match f.kind {
        FaultKind::IssuerOutage
        | FaultKind::IssuerMalfunction
        | FaultKind::DeclineSurge
        | FaultKind::IssuerSlowdown => issuer_ok,
        _ => hits_terminal(f, t),
    }
}

/// The label element of a fault.
fn element(f: &Fault) -> BTreeMap<String, String> {
    let fields = [
        ("terminal", &f.terminal),
        ("firmware", &f.firmware),
        ("carrier", &f.carrier),
        ("region", &f.region),
        ("issuer", &f.issuer),
        ("acquirer", &f.acquirer),
        ("merchant", &f.merchant),
    ];
    fields
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), v.clone())))
        .collect()
}

fn covers(m: &MaintenanceWindow, f: &Fault, start_ms: i64, end_ms: i64) -> bool {
    let target = match m.dim.as_str() {
        "acquirer" => &f.acquirer,
        _ => &f.issuer,
    };
    target.as_deref() == Some(m.value.as_str()) && m.start_ms <= start_ms && m.end_ms >= end_ms
}

#[path = "outcome.rs"]
mod outcome;
use outcome::{outcome, Result};

#[cfg(test)]
#[path = "generate_tests.rs"]
mod tests;
