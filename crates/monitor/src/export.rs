//! The monitor's state as Prometheus metrics: events recorded, windows
//! and findings, the engine's counters (exported as deltas of
//! [`EngineStats`], which is restored with the checkpoint) and gauges, open
//! incidents by cause, severity and state, terminals unwell by signal.

use crate::{Breakdown, Monitor, WindowResult};
use std::collections::HashMap;
use swipewatch_alert::{IncidentBook, Severity, State};
use swipewatch_engine::EngineStats;
use swipewatch_model::{Cause, Event, OutcomeClass, Signal};
use swipewatch_telemetry::{EventKind, Metrics};

/// Exports what the monitor does to the metrics registry.
pub struct Export {
    metrics: Metrics,
    breakdown: Breakdown,
    reported: EngineStats,
}

impl Export {
    /// Exports into `metrics`, with at most `values_per_dimension` values
    /// of each dimension labelled on their own.
    pub fn new(metrics: Metrics, values_per_dimension: usize) -> Export {
        let breakdown = Breakdown::new(metrics.breakdown.clone(), values_per_dimension);
        Export {
            metrics,
            breakdown,
            reported: EngineStats::default(),
        }
    }

    /// A decoded batch was recorded: events by kind, response codes.
    pub fn batch(&mut self, events: &[Event]) {
        let mut outcomes = 0;
        for e in events {
            if let Event::Outcome(o) = e {
                outcomes += 1;
                if let Some(rc) = o.rc {
                    self.breakdown.code(rc);
                }
            }
        }
        let engine = &self.metrics.engine;
        engine.recorded(EventKind::Outcome).inc_by(outcomes);
        engine
            .recorded(EventKind::Heartbeat)
            .inc_by(events.len() as u64 - outcomes);
    }

    /// A window was processed: its outcomes per dimension value and class,
    /// and its findings by cause.
    pub fn window(&mut self, result: &WindowResult, monitor: &Monitor) {
        let snap = &result.snapshot;
        self.breakdown.bucket(snap, &monitor.symbols);
        for class in OutcomeClass::ALL {
            self.metrics
                .engine
                .outcomes(class)
                .inc_by(u64::from(snap.bucket.fleet.get(class)));
        }
        self.metrics.diagnose.windows.inc();
        for cause in Cause::ALL {
            let n = result.findings.iter().filter(|f| f.cause == cause).count();
            self.metrics.diagnose.findings(cause).set(n as i64);
        }
    }

    /// The engine's counters since the last call, and its gauges; the
    /// watermark's lag behind `now_ms`.
    pub fn engine(&mut self, monitor: &Monitor, now_ms: i64) {
        let engine = monitor.engine();
        let (s, was) = (engine.stats(), &self.reported);
        let m = &self.metrics.engine;
        m.buckets_closed
            .inc_by(s.buckets_closed - was.buckets_closed);
        m.data_gap_buckets.inc_by(s.gap_buckets - was.gap_buckets);
        m.late_events.inc_by(s.late - was.late);
        m.outcomes_held
            .inc_by((s.outcomes + s.late) - (was.outcomes + was.late));
        m.skew_corrected
            .inc_by(s.skew_corrected - was.skew_corrected);
        self.reported = s;
        m.open_buckets.set(engine.open_buckets() as i64);
        m.tracked_terminals.set(engine.tracked_terminals() as i64);
        let wm = engine.watermark_ms();
        if wm != i64::MIN {
            m.watermark_lag_seconds.set((now_ms - wm) as f64 / 1000.0);
        }
    }

    /// Open incidents by cause, severity and state; terminals with an open
    /// health incident by signal.
    pub fn incidents(&self, book: &IncidentBook) {
        // One pass over the open incidents; every label set is then set,
        // zero included, so a series drops to 0 when its last one closes.
        let mut open: HashMap<(Cause, Severity, State), i64> = HashMap::new();
        let mut unwell: HashMap<Signal, i64> = HashMap::new();
        for i in book.open() {
            *open.entry((i.key.cause, i.severity, i.state)).or_default() += 1;
            if let Some(signal) = i.key.health {
                *unwell.entry(signal).or_default() += 1;
            }
        }
        let m = &self.metrics.breakdown;
        for cause in Cause::ALL {
            for severity in Severity::ALL {
                for state in [State::Pending, State::Firing] {
                    let n = open.get(&(cause, severity, state)).copied().unwrap_or(0);
                    m.set_incidents(cause, severity.name(), state_name(state), n);
                }
            }
        }
        for signal in Signal::ALL.into_iter().filter(|s| s.is_health()) {
            m.set_unwell(signal, unwell.get(&signal).copied().unwrap_or(0));
        }
    }
}

fn state_name(state: State) -> &'static str {
    match state {
        State::Pending => "pending",
        State::Firing => "firing",
        State::Resolved => "resolved",
    }
}
