//! The live driver: feeds decoded batches into the window engine, advances it
//! by processing time when input is idle, tells it about broker
//! disconnections, and publishes its state as metrics.
//!
//! Time comes from tokio's clock (offset to epoch milliseconds once at
//! start), so tests run this loop with paused time.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use swipewatch_alert::{Incident, IncidentBook, Notice, Silence, Transition};
use swipewatch_config::MaintenanceConfig;
use swipewatch_engine::WindowSnapshot;
use swipewatch_ingest::{Batch, Checkpointed, SharedSymbols};
use swipewatch_monitor::{Export, Monitor, WindowResult};
use swipewatch_notify::Notifier;
pub use swipewatch_rt::Clock;
use swipewatch_server::api::{HistoryPoint, WindowView};
use swipewatch_server::Command;
use swipewatch_telemetry::Metrics;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// How often the driver looks at the clock when no input arrives.
const TICK: Duration = Duration::from_secs(1);

/// Where and how often the monitor is checkpointed.
pub struct CheckpointSchedule {
    /// The checkpoint directory.
    pub dir: PathBuf,
    /// How often it is written (and once more at shutdown).
    pub interval: Duration,
    /// Told the intake journal position each written checkpoint holds.
    pub checkpointed: Checkpointed,
}

/// What the live driver does besides moving the monitor on.
pub struct DriverOptions {
    /// Checkpoints, if configured.
    pub checkpoint: Option<CheckpointSchedule>,
    /// Recurring maintenance windows, silenced two days ahead.
    pub maintenance: Vec<MaintenanceConfig>,
    /// Values per dimension with their own metric label.
    pub metric_values_per_dimension: usize,
    /// Changes asked for through the HTTP API.
    pub commands: Option<mpsc::Receiver<Command>>,
    /// The incident log and the sinks that follow transitions.
    pub notifier: Notifier,
}

impl Default for DriverOptions {
    fn default() -> DriverOptions {
        DriverOptions {
            checkpoint: None,
            maintenance: Vec::new(),
            metric_values_per_dimension: 50,
            commands: None,
            notifier: Notifier::default(),
        }
    }
}

/// The live loop around a [`Monitor`]: batches in, the clock's ticks, the
/// broker's state and API commands; after each, the windows that closed
/// are published (views, metrics, notices).
pub struct Driver {
    monitor: Monitor,
    export: Export,
    clock: Clock,
    checkpoint: Option<(CheckpointSchedule, Instant)>,
    commands: Option<mpsc::Receiver<Command>>,
    notifier: Notifier,
    views: Views,
    /// Input counts as idle after this long without events.
    idle_after: Duration,
    results: Vec<WindowResult>,
}

impl Driver {
    /// A driver over `monitor` (fresh, restored or warmed up).
    pub fn new(
        mut monitor: Monitor,
        metrics: Metrics,
        clock: Clock,
        options: DriverOptions,
    ) -> Driver {
        let idle_after = Duration::from_millis(monitor.engine().settings().bucket_ms as u64);
        monitor.schedule_maintenance(options.maintenance);
        monitor.renew_maintenance(clock.now_ms());
        let driver = Driver {
            export: Export::new(metrics, options.metric_values_per_dimension),
            views: Views::new(monitor.symbols().clone()),
            monitor,
            clock,
            checkpoint: options.checkpoint.map(|c| (c, Instant::now())),
            commands: options.commands,
            notifier: options.notifier,
            idle_after,
            results: Vec::new(),
        };
        driver.views.silences(driver.monitor.book());
        driver
    }

    /// The monitor (its engine and incidents).
    pub fn monitor(&self) -> &Monitor {
        &self.monitor
    }

    /// Incidents as the API lists them: open first (firing, then newest),
    /// then resolved ones, newest first.
    pub fn incidents(&self) -> watch::Receiver<Vec<Incident>> {
        self.views.incidents.subscribe()
    }

    /// Silences as the book has them.
    pub fn silences(&self) -> watch::Receiver<Vec<Silence>> {
        self.views.silences.subscribe()
    }

    /// The latest closed window's view.
    pub fn window(&self) -> watch::Receiver<Option<Arc<WindowView>>> {
        self.views.window.subscribe()
    }

    /// Writes the checkpoint now, if one is configured; a failure is logged.
    pub fn save_checkpoint(&mut self) {
        let Some((schedule, last)) = &mut self.checkpoint else {
            return;
        };
        let started = Instant::now();
        match self.monitor.save_checkpoint(&schedule.dir) {
            Ok(()) => {
                schedule
                    .checkpointed
                    .set(self.monitor.engine().input_position());
                tracing::debug!(
                    took_ms = started.elapsed().as_millis() as u64,
                    "checkpoint written"
                );
            }
            Err(e) => tracing::warn!("{e}"),
        }
        *last = Instant::now();
    }

    /// Records what ingest still held at shutdown (nothing is processed
    /// after it: the checkpoint keeps it).
    pub fn record_rest(&mut self, batch: &Batch) {
        self.monitor.record_batch(&batch.events, batch.position);
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
            .set_connected(*ready.borrow(), self.clock.now_ms());
        loop {
            tokio::select! {
                batch = batches.recv() => match batch {
                    Some(batch) => {
                        let raised = self.monitor.record_batch(&batch.events, batch.position);
                        self.export.batch(&batch.events);
                        if !raised.is_empty() {
                            let notices = self.monitor.take_notices();
                            self.report(&raised, notices, false);
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
                    self.monitor.set_connected(up, self.clock.now_ms());
                }
                _ = tick.tick() => self.on_tick(last_input),
                Some(command) = next_command(&mut self.commands) => self.apply(command),
                _ = stop.wait_for(|s| *s) => break,
            }
            self.publish(&mut on_snapshot);
        }
    }

    /// Once a second: processing time closes windows while input is idle,
    /// maintenance silences are renewed, the checkpoint is written when due.
    fn on_tick(&mut self, last_input: Instant) {
        let now_ms = self.clock.now_ms();
        if last_input.elapsed() >= self.idle_after {
            self.monitor.on_idle(now_ms);
        }
        if self.monitor.renew_maintenance(now_ms) {
            self.views.silences(self.monitor.book());
        }
        if self
            .checkpoint
            .as_ref()
            .is_some_and(|(c, last)| last.elapsed() >= c.interval)
        {
            self.save_checkpoint();
        }
    }

    /// Processes the windows that closed and publishes each: the snapshot
    /// to `on_snapshot`, the window view, metrics, transitions and notices.
    fn publish(&mut self, on_snapshot: &mut impl FnMut(&WindowSnapshot)) {
        let mut results = std::mem::take(&mut self.results);
        self.monitor.advance(&mut results);
        for result in results.drain(..) {
            on_snapshot(&result.snapshot);
            self.views.window(&result.snapshot);
            self.export.window(&result, &self.monitor);
            self.report(&result.transitions, result.notices, true);
        }
        self.results = results;
        self.export.engine(&self.monitor, self.clock.now_ms());
    }

    /// Applies one change asked for through the HTTP API.
    fn apply(&mut self, command: Command) {
        match command {
            Command::AddSilence(silence, reply) => {
                let created = self.monitor.silence(silence);
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
            Command::ExpireSilence(id, reply) => {
                let expired = self.monitor.expire_silence(id, self.clock.now_ms());
                if let Some(s) = &expired {
                    self.notifier.silence(s);
                    tracing::info!(id, "silence expired");
                }
                let _ = reply.send(expired);
            }
            Command::Terminal(id, reply) => {
                let incidents = self.views.incidents.borrow().clone();
                let _ = reply.send(crate::views::terminal(&self.monitor, &id, &incidents));
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
        }
        self.views.silences(self.monitor.book());
    }

    /// Logs incident transitions, hands them and the notices they caused
    /// to the log and sinks, and publishes the incident list (always after
    /// a window, for fresh evidence; else only if something changed).
    fn report(&mut self, transitions: &[Transition], notices: Vec<Notice>, window: bool) {
        transitions.iter().for_each(log_transition);
        let book = self.monitor.book();
        if window || !transitions.is_empty() {
            self.export.incidents(book);
        }
        let changed = !transitions.is_empty() || !notices.is_empty();
        self.notifier.record(transitions, notices);
        if changed || (window && book.open().next().is_some()) {
            self.views.incidents.send_replace(book.listing());
        }
    }
}

/// One log line per incident transition.
fn log_transition(t: &Transition) {
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

/// What the HTTP API reads: the incident list, the silences and the latest
/// window (with the last hour's approval rate).
struct Views {
    incidents: watch::Sender<Vec<Incident>>,
    silences: watch::Sender<Vec<Silence>>,
    window: watch::Sender<Option<Arc<WindowView>>>,
    /// Approval rate of the last hour of windows.
    history: VecDeque<HistoryPoint>,
    symbols: SharedSymbols,
}

impl Views {
    fn new(symbols: SharedSymbols) -> Views {
        Views {
            incidents: watch::Sender::new(Vec::new()),
            silences: watch::Sender::new(Vec::new()),
            window: watch::Sender::new(None),
            history: VecDeque::new(),
            symbols,
        }
    }

    fn silences(&self, book: &IncidentBook) {
        self.silences.send_replace(book.silences().to_vec());
    }

    fn window(&mut self, snap: &WindowSnapshot) {
        let mut view = crate::views::window(snap, &self.symbols);
        self.history
            .push_back((view.end_ms, view.approval_rate, view.attempts));
        while self.history.len() > 360 {
            self.history.pop_front();
        }
        view.history = self.history.iter().copied().collect();
        self.window.send_replace(Some(Arc::new(view)));
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
