//! The live driver: feeds decoded batches into the window engine, advances it
//! by processing time when input is idle, tells it about broker
//! disconnections, and publishes its state as metrics.
//!
//! Time comes from tokio's clock (offset to epoch milliseconds once at
//! start), so tests run this loop with paused time.

use std::time::Duration;
use swipewatch_alert::{Incident, Silence, State, Transition};
use swipewatch_engine::{EngineStats, WindowSnapshot};
use swipewatch_ingest::{Batch, SharedSymbols};
use swipewatch_monitor::{MaintenanceSchedule, Monitor};
use swipewatch_server::Command;

use swipewatch_model::{Cause, OutcomeClass, Signal};
use swipewatch_telemetry::{EventKind, Metrics};
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
    /// Engine, detector and incidents.
    pub monitor: Monitor,
    /// Open and recent incidents, for the HTTP API.
    incidents: watch::Sender<Vec<Incident>>,
    metrics: Metrics,
    clock: Clock,
    /// Where and how often the engine is checkpointed.
    checkpoint: Option<(std::path::PathBuf, Duration, SharedSymbols, Instant)>,
    /// Told the journal position each written checkpoint holds.
    checkpointed: swipewatch_ingest::Checkpointed,
    /// Input counts as idle after this long without events.
    idle_after: Duration,
    /// The incident log and the sinks that follow transitions.
    pub notifier: crate::notify::Notifier,
    /// Silences, for the HTTP API.
    silences: watch::Sender<Vec<Silence>>,
    /// The latest closed window, for the HTTP API.
    window: watch::Sender<serde_json::Value>,
    /// Approval rate of the last hour of windows: `[end_ms, rate, attempts]`.
    history: std::collections::VecDeque<serde_json::Value>,
    /// Changes asked for through the HTTP API.
    commands: Option<mpsc::Receiver<Command>>,
    /// Recurring maintenance windows, and the occurrences already silenced.
    maintenance: MaintenanceSchedule,
    /// Per-dimension and per-code metrics.
    breakdown: crate::breakdown::Breakdown,
    reported: EngineStats,
}

impl Driver {
    /// A driver over `engine`.
    #[cfg(test)]
    pub fn new(
        engine: swipewatch_engine::Engine,
        symbols: swipewatch_ingest::SharedSymbols,
        metrics: Metrics,
        clock: Clock,
    ) -> Driver {
        Driver::with_monitor(Monitor::new(engine, symbols), metrics, clock)
    }

    /// A driver over an existing (e.g. warmed-up) monitor.
    pub fn with_monitor(monitor: Monitor, metrics: Metrics, clock: Clock) -> Driver {
        let idle_after = Duration::from_millis(monitor.engine.settings().bucket_ms as u64);
        let breakdown = crate::breakdown::Breakdown::new(metrics.breakdown.clone(), 50);
        Driver {
            monitor,
            incidents: watch::Sender::new(Vec::new()),
            metrics,
            clock,
            checkpoint: None,
            checkpointed: swipewatch_ingest::Checkpointed::default(),
            idle_after,
            notifier: crate::notify::Notifier::default(),
            silences: watch::Sender::new(Vec::new()),
            window: watch::Sender::new(serde_json::Value::Null),
            history: std::collections::VecDeque::new(),
            commands: None,
            maintenance: MaintenanceSchedule::default(),
            breakdown,
            reported: EngineStats::default(),
        }
    }

    /// Writes a checkpoint to `dir` every `interval` (and on
    /// [`Driver::save_checkpoint`]), then tells `checkpointed` the intake
    /// journal position it holds.
    pub fn checkpoint_to(
        &mut self,
        dir: std::path::PathBuf,
        interval: Duration,
        symbols: SharedSymbols,
        checkpointed: swipewatch_ingest::Checkpointed,
    ) {
        self.checkpoint = Some((dir, interval, symbols, Instant::now()));
        self.checkpointed = checkpointed;
    }

    /// Writes the checkpoint now, if one is configured; a failure is logged.
    pub fn save_checkpoint(&mut self) {
        if let Some((dir, _, symbols, last)) = &mut self.checkpoint {
            let started = Instant::now();
            match crate::checkpoint::save(dir, &self.monitor.engine, symbols) {
                Ok(()) => {
                    self.checkpointed.set(self.monitor.engine.input_position());
                    tracing::debug!(
                        took_ms = started.elapsed().as_millis() as u64,
                        "checkpoint written"
                    );
                }
                Err(e) => tracing::warn!("{e:#}"),
            }
            *last = Instant::now();
        }
    }

    /// Takes changes from the HTTP API (silences) from `commands`.
    pub fn accept_commands(&mut self, commands: mpsc::Receiver<Command>) {
        self.commands = Some(commands);
        self.publish_silences();
    }

    /// At most `cap` values per dimension get their own metric label.
    pub fn metric_values_per_dimension(&mut self, cap: usize) {
        self.breakdown = crate::breakdown::Breakdown::new(self.metrics.breakdown.clone(), cap);
    }

    /// Silences the occurrences of recurring maintenance windows, two days
    /// ahead, renewed every hour.
    pub fn schedule_maintenance(&mut self, windows: Vec<swipewatch_config::MaintenanceConfig>) {
        self.maintenance = MaintenanceSchedule::new(windows);
        self.renew_maintenance();
    }

    fn renew_maintenance(&mut self) {
        let now = self.clock.now_ms();
        if self.maintenance.renew(now, &mut self.monitor.book) {
            self.publish_silences();
        }
    }

    /// The latest closed window's view.
    pub fn window(&self) -> watch::Receiver<serde_json::Value> {
        self.window.subscribe()
    }

    /// Silences as the book has them.
    pub fn silences(&self) -> watch::Receiver<Vec<Silence>> {
        self.silences.subscribe()
    }

    fn publish_silences(&mut self) {
        self.silences
            .send_replace(self.monitor.book.silences().to_vec());
    }

    /// Applies one change asked for through the HTTP API.
    fn apply(&mut self, command: Command) {
        match command {
            Command::AddSilence(silence, reply) => {
                let created = self.monitor.book.silence(silence);
                self.notifier.silence(&created);
                tracing::info!(
                    id = created.id,
                    matchers = ?created.matchers,
                    cause = ?created.cause,
                    comment = %created.comment,
                    "silence created"
                );
                let _ = reply.send(created);
            }
            Command::Terminal(id, reply) => {
                let incidents = self.incidents.borrow().clone();
                let view = crate::views::terminal(
                    &self.monitor.engine,
                    self.monitor.symbols(),
                    &id,
                    &incidents,
                );
                let _ = reply.send(view);
                return;
            }
            Command::Inventory(reply) => {
                let _ = reply.send(crate::views::inventory(&self.monitor));
                return;
            }
            Command::SetInventory(inventory) => {
                self.monitor.set_inventory(&inventory);
                tracing::info!(
                    terminals = self.monitor.inventory_len(),
                    "inventory reloaded"
                );
                return;
            }
            Command::ExpireSilence(id, reply) => {
                let expired = self.monitor.book.expire_silence(id, self.clock.now_ms());
                if let Some(s) = &expired {
                    self.notifier.silence(s);
                    tracing::info!(id, "silence expired");
                }
                let _ = reply.send(expired);
            }
        }
        self.publish_silences();
    }

    /// Open incidents first (newest first), then resolved ones, newest first.
    pub fn incidents(&self) -> watch::Receiver<Vec<Incident>> {
        self.incidents.subscribe()
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
        self.monitor
            .engine
            .set_connected(*ready.borrow(), self.clock.now_ms());
        let mut closed = Vec::new();
        loop {
            tokio::select! {
                batch = batches.recv() => match batch {
                    Some(batch) => {
                        let mut outcomes = 0;
                        for (i, e) in batch.events.iter().enumerate() {
                            self.monitor.engine.prefetch_for(&batch.events, i);
                            if let swipewatch_model::Event::Outcome(o) = e {
                                outcomes += 1;
                                if let Some(rc) = o.rc {
                                    self.breakdown.code(rc);
                                }
                            }
                            let raised = self.monitor.record(e);
                            if !raised.is_empty() {
                                self.report(&raised, false);
                            }
                        }
                        if batch.position > 0 {
                            self.monitor.engine.set_input_position(batch.position);
                        }
                        let engine = &self.metrics.engine;
                        engine.recorded(EventKind::Outcome).inc_by(outcomes);
                        engine
                            .recorded(EventKind::Heartbeat)
                            .inc_by(batch.events.len() as u64 - outcomes);
                        last_input = Instant::now();
                    }
                    None => break,
                },
                changed = ready.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let up = *ready.borrow_and_update();
                    self.monitor.engine.set_connected(up, self.clock.now_ms());
                }
                _ = tick.tick() => {
                    if last_input.elapsed() >= self.idle_after {
                        self.monitor.engine.on_idle(self.clock.now_ms());
                    }
                    self.renew_maintenance();
                    if self.checkpoint.as_ref().is_some_and(|c| c.3.elapsed() >= c.1) {
                        self.save_checkpoint();
                    }
                }
                Some(command) = next_command(&mut self.commands) => self.apply(command),
                _ = stop.wait_for(|s| *s) => break,
            }
            self.monitor.engine.poll_closed(&mut closed);
            self.finish(&mut closed, &mut on_snapshot);
        }
    }

    /// Hands closed snapshots on, lets the baselines learn, updates metrics.
    fn finish(
        &mut self,
        closed: &mut Vec<WindowSnapshot>,
        on_snapshot: &mut impl FnMut(&WindowSnapshot),
    ) {
        for mut snap in closed.drain(..) {
            on_snapshot(&snap);
            self.breakdown.bucket(&snap, self.monitor.symbols());
            let mut view = crate::views::window(&snap, self.monitor.symbols());
            self.history.push_back(serde_json::json!([
                view["end_ms"],
                view["approval_rate"],
                view["attempts"]
            ]));
            while self.history.len() > 360 {
                self.history.pop_front();
            }
            view["history"] = serde_json::Value::Array(self.history.iter().cloned().collect());
            self.window.send_replace(view);
            for class in OutcomeClass::ALL {
                self.metrics
                    .engine
                    .outcomes(class)
                    .inc_by(u64::from(snap.bucket.fleet.get(class)));
            }
            let result = self.monitor.process(&mut snap);
            self.metrics.diagnose.windows.inc();
            for cause in Cause::ALL {
                let n = result.findings.iter().filter(|f| f.cause == cause).count();
                self.metrics.diagnose.findings(cause).set(n as i64);
            }
            self.report(&result.transitions, true);
        }
        let s = self.monitor.engine.stats();
        let m = &self.metrics.engine;
        m.buckets_closed
            .inc_by(s.buckets_closed - self.reported.buckets_closed);
        m.data_gap_buckets
            .inc_by(s.gap_buckets - self.reported.gap_buckets);
        m.late_events.inc_by(s.late - self.reported.late);
        m.outcomes_held
            .inc_by((s.outcomes + s.late) - (self.reported.outcomes + self.reported.late));
        m.skew_corrected
            .inc_by(s.skew_corrected - self.reported.skew_corrected);
        self.reported = s;
        m.open_buckets
            .set(self.monitor.engine.open_buckets() as i64);
        m.tracked_terminals
            .set(self.monitor.engine.tracked_terminals() as i64);
        let wm = self.monitor.engine.watermark_ms();
        if wm != i64::MIN {
            m.watermark_lag_seconds
                .set((self.clock.now_ms() - wm) as f64 / 1000.0);
        }
    }
}

impl Driver {
    /// Logs incident transitions, hands them and the notices they caused
    /// to the log and sinks, and publishes the incident list (always after
    /// a window, for fresh evidence; else only if something changed).
    fn report(&mut self, transitions: &[Transition], window: bool) {
        for t in transitions {
            match t {
                Transition::Opened(i) => tracing::info!(
                    id = i.id,
                    cause = %i.key.cause,
                    element = %i.key.describe(),
                    observed = i.latest.observed,
                    expected = format!("{:.1}", i.latest.expected),
                    "incident pending"
                ),
                Transition::Fired(i) => tracing::warn!(
                    id = i.id,
                    cause = %i.key.cause,
                    element = %i.key.describe(),
                    observed = i.latest.observed,
                    expected = format!("{:.1}", i.latest.expected),
                    confidence = format!("{:.2}", i.latest.confidence),
                    silenced = i.silenced,
                    runbook = i.runbook(),
                    "incident firing"
                ),
                Transition::Resolved(i) if i.fired_ms.is_some() => {
                    tracing::info!(id = i.id, cause = %i.key.cause, element = %i.key.describe(), "incident resolved")
                }
                Transition::Resolved(_) => {}
                Transition::Refined(i) => tracing::info!(
                    id = i.id,
                    cause = %i.key.cause,
                    element = %i.key.describe(),
                    "pending incident refined"
                ),
            }
        }
        if window || !transitions.is_empty() {
            let m = &self.metrics.breakdown;
            let mut counts: std::collections::HashMap<(Cause, &str, &str), i64> =
                std::collections::HashMap::new();
            for cause in Cause::ALL {
                for severity in ["ticket", "warning", "page"] {
                    for state in ["pending", "firing"] {
                        counts.insert((cause, severity, state), 0);
                    }
                }
            }
            for i in self.monitor.book.open() {
                let state = if i.state == State::Firing {
                    "firing"
                } else {
                    "pending"
                };
                *counts
                    .entry((i.key.cause, i.severity.name(), state))
                    .or_default() += 1;
            }
            for ((cause, severity, state), n) in counts {
                m.set_incidents(cause, severity, state, n);
            }
            for signal in Signal::ALL.into_iter().filter(|s| s.is_health()) {
                let n = self
                    .monitor
                    .book
                    .open()
                    .filter(|i| i.key.health == Some(signal))
                    .count();
                m.set_unwell(signal, n as i64);
            }
        }
        let notices = self.monitor.book.take_notices();
        let changed = !transitions.is_empty() || !notices.is_empty();
        self.notifier.record(transitions, notices);
        if changed || (window && self.monitor.book.open().next().is_some()) {
            let book = &self.monitor.book;
            let mut list: Vec<Incident> = book.open().cloned().collect();
            list.sort_by(|a, b| {
                (b.state == State::Firing, b.id).cmp(&(a.state == State::Firing, a.id))
            });
            list.extend(book.resolved().rev().cloned());
            self.incidents.send_replace(list);
        }
    }
}

/// The next API command, or never if there is no command channel (or it
/// closed).
async fn next_command(commands: &mut Option<mpsc::Receiver<Command>>) -> Option<Command> {
    match commands {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
