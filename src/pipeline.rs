//! The live driver: feeds decoded batches into the window engine, advances it
//! by processing time when input is idle, tells it about broker
//! disconnections, and publishes its state as metrics.
//!
//! Time comes from tokio's clock (offset to epoch milliseconds once at
//! start), so tests run this loop with paused time.

use std::collections::BTreeSet;
use std::time::Duration;
use swipewatch_diagnose::{Detector, Finding};
use swipewatch_engine::{Engine, EngineStats, WindowSnapshot};
use swipewatch_ingest::{Batch, SharedSymbols};
use swipewatch_model::{Cause, Dim, OutcomeClass, Sym};
use swipewatch_telemetry::Metrics;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// How often the driver looks at the clock when no input arrives.
const TICK: Duration = Duration::from_secs(1);

/// Epoch milliseconds from tokio's (pausable) clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base_ms: i64,
    base: Instant,
}

impl Clock {
    /// A clock reading `epoch_ms` now.
    pub fn starting_at(epoch_ms: i64) -> Clock {
        Clock {
            base_ms: epoch_ms,
            base: Instant::now(),
        }
    }

    /// A clock on wall time.
    pub fn wall() -> Clock {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        Clock::starting_at(now)
    }

    /// Now, epoch ms.
    pub fn now_ms(&self) -> i64 {
        self.base_ms + self.base.elapsed().as_millis() as i64
    }
}

/// Drives `engine` until `batches` closes or `stop` turns true; returns
/// every snapshot it closed to `on_snapshot` as it goes.
pub struct Driver {
    /// The engine.
    pub engine: Engine,
    detector: Detector,
    symbols: SharedSymbols,
    /// (cause, element) of the findings of the latest window.
    active: BTreeSet<(Cause, Vec<(Dim, Sym)>)>,
    metrics: Metrics,
    clock: Clock,
    /// Input counts as idle after this long without events.
    idle_after: Duration,
    reported: EngineStats,
}

impl Driver {
    /// A driver over `engine`.
    pub fn new(engine: Engine, symbols: SharedSymbols, metrics: Metrics, clock: Clock) -> Driver {
        let idle_after = Duration::from_millis(engine.settings().bucket_ms as u64);
        let detector = Detector::new(engine.settings().leaf_dims.clone());
        Driver {
            engine,
            detector,
            symbols,
            active: BTreeSet::new(),
            metrics,
            clock,
            idle_after,
            reported: EngineStats::default(),
        }
    }

    /// Runs the loop. `on_snapshot` sees each closed bucket, oldest first.
    pub async fn run(
        &mut self,
        batches: &mut mpsc::Receiver<Batch>,
        mut ready: watch::Receiver<bool>,
        mut stop: watch::Receiver<bool>,
        mut on_snapshot: impl FnMut(&WindowSnapshot),
    ) {
        let mut last_input = Instant::now();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        self.engine
            .set_connected(*ready.borrow(), self.clock.now_ms());
        let mut closed = Vec::new();
        loop {
            tokio::select! {
                batch = batches.recv() => match batch {
                    Some(batch) => {
                        for e in &batch.events {
                            self.engine.record(e);
                        }
                        last_input = Instant::now();
                    }
                    None => break,
                },
                changed = ready.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let up = *ready.borrow_and_update();
                    self.engine.set_connected(up, self.clock.now_ms());
                }
                _ = tick.tick() => {
                    if last_input.elapsed() >= self.idle_after {
                        self.engine.on_idle(self.clock.now_ms());
                    }
                }
                _ = stop.wait_for(|s| *s) => break,
            }
            self.engine.poll_closed(&mut closed);
            self.finish(&mut closed, &mut on_snapshot);
        }
    }

    /// Hands closed snapshots on, lets the baselines learn, updates metrics.
    fn finish(
        &mut self,
        closed: &mut Vec<WindowSnapshot>,
        on_snapshot: &mut impl FnMut(&WindowSnapshot),
    ) {
        for snap in closed.drain(..) {
            on_snapshot(&snap);
            for class in OutcomeClass::ALL {
                self.metrics
                    .engine
                    .outcomes(class)
                    .inc_by(u64::from(snap.bucket.fleet.get(class)));
            }
            let (findings, anomalies) = self.detector.detect(&snap);
            self.report(&findings);
            self.engine.learn(&snap, &anomalies);
        }
        let s = self.engine.stats();
        let m = &self.metrics.engine;
        m.buckets_closed
            .inc_by(s.buckets_closed - self.reported.buckets_closed);
        m.data_gap_buckets
            .inc_by(s.gap_buckets - self.reported.gap_buckets);
        m.late_events.inc_by(s.late - self.reported.late);
        m.skew_corrected
            .inc_by(s.skew_corrected - self.reported.skew_corrected);
        self.reported = s;
        m.open_buckets.set(self.engine.open_buckets() as i64);
        m.tracked_terminals
            .set(self.engine.tracked_terminals() as i64);
        let wm = self.engine.watermark_ms();
        if wm != i64::MIN {
            m.watermark_lag_seconds
                .set((self.clock.now_ms() - wm) as f64 / 1000.0);
        }
    }
}

impl Driver {
    /// Logs findings that start or clear and sets the per-cause gauge.
    /// (Incidents with hysteresis, grouping and sinks are the alert stage's job.)
    fn report(&mut self, findings: &[Finding]) {
        self.metrics.diagnose.windows.inc();
        for cause in Cause::ALL {
            let n = findings.iter().filter(|f| f.cause == cause).count();
            self.metrics.diagnose.findings(cause).set(n as i64);
        }
        let now: BTreeSet<(Cause, Vec<(Dim, Sym)>)> = findings
            .iter()
            .map(|f| (f.cause, f.element.clone()))
            .collect();
        for f in findings {
            if !self.active.contains(&(f.cause, f.element.clone())) {
                let terminal = f.terminal.map(|t| {
                    let symbols = self.symbols.read().unwrap_or_else(|p| p.into_inner());
                    symbols.terminals.resolve(t).unwrap_or("?").to_string()
                });
                tracing::warn!(
                    cause = %f.cause,
                    element = %self.describe(&f.element),
                    terminal = terminal.as_deref().unwrap_or("-"),
                    observed = f.observed,
                    expected = format!("{:.1}", f.expected),
                    confidence = format!("{:.2}", f.confidence),
                    runbook = f.cause.runbook(),
                    "finding started"
                );
            }
        }
        for (cause, element) in self.active.difference(&now) {
            tracing::info!(cause = %cause, element = %self.describe(element), "finding cleared");
        }
        self.active = now;
    }

    fn describe(&self, element: &[(Dim, Sym)]) -> String {
        let symbols = self.symbols.read().unwrap_or_else(|p| p.into_inner());
        element
            .iter()
            .map(|&(d, s)| format!("{d}={}", symbols.resolve(d, s).unwrap_or("?")))
            .collect::<Vec<_>>()
            .join("&")
    }
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
