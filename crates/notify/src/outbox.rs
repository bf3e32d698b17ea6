//! Each notice is numbered and written to the durable incident log before
//! any sink sees it; each sink has its own queue (an [`Outbox`]) that it
//! delivers front to back, recording each delivery in the log, so after a
//! restart it resumes where it stopped. A sink that is down only grows its
//! queue: detection never waits for it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use swipewatch_alert::incident_log::{self, IncidentLog, IncidentLogError, Recovered};
use swipewatch_alert::{Notice, Transition};
use swipewatch_telemetry::AlertMetrics;
use tokio::sync::{watch, Notify};

/// Notices kept per sink while it is down; beyond this the oldest are
/// dropped (and counted), never the service's memory.
const MAX_QUEUED: usize = 100_000;

/// The incident log, shared by the driver (writes incidents and notices)
/// and the sinks (write deliveries).
pub type SharedLog = Arc<Mutex<IncidentLog>>;

fn lock(journal: &SharedLog) -> std::sync::MutexGuard<'_, IncidentLog> {
    journal.lock().unwrap_or_else(|p| p.into_inner())
}

/// One sink's queue of numbered notices.
pub struct Outbox {
    sink: &'static str,
    queue: Mutex<VecDeque<(u64, Notice)>>,
    wake: Notify,
    metrics: AlertMetrics,
}

impl Outbox {
    /// An empty queue for `sink`.
    pub fn new(sink: &'static str, metrics: AlertMetrics) -> Arc<Outbox> {
        Arc::new(Outbox {
            sink,
            queue: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
            metrics,
        })
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<(u64, Notice)>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues notice `seq`.
    pub fn push(&self, seq: u64, notice: Notice) {
        let len = {
            let mut q = self.queue();
            q.push_back((seq, notice));
            if q.len() > MAX_QUEUED {
                q.pop_front();
                tracing::error!(
                    sink = self.sink,
                    "sink queue full; the oldest notice was dropped"
                );
            }
            q.len()
        };
        self.metrics.set_queued(self.sink, len);
        self.wake.notify_one();
    }

    fn front(&self) -> Option<(u64, Notice)> {
        self.queue().front().cloned()
    }

    pub(crate) fn pop(&self, seq: u64) {
        let len = {
            let mut q = self.queue();
            if q.front().is_some_and(|(s, _)| *s == seq) {
                q.pop_front();
            }
            q.len()
        };
        self.metrics.set_queued(self.sink, len);
    }

    /// The next notice, waiting for one; `None` once `stop` is set.
    pub(crate) async fn next(&self, stop: &mut watch::Receiver<bool>) -> Option<(u64, Notice)> {
        loop {
            if *stop.borrow() {
                return None;
            }
            if let Some(front) = self.front() {
                return Some(front);
            }
            tokio::select! {
                () = self.wake.notified() => {}
                _ = stop.wait_for(|s| *s) => return None,
            }
        }
    }
}

/// What the driver holds: the log and every transition-following sink.
#[derive(Default)]
pub struct Notifier {
    journal: Option<SharedLog>,
    outboxes: Vec<Arc<Outbox>>,
    /// The last notice number handed out when there is no log (the log
    /// numbers them otherwise).
    last_seq: u64,
}

impl Notifier {
    /// Opens (and compacts) the incident log at `path`, returning what it
    /// held for `sinks` (their names).
    pub fn open(
        path: &std::path::Path,
        sinks: &[&str],
        keep_resolved: usize,
    ) -> Result<(Notifier, Recovered), IncidentLogError> {
        let recovered = incident_log::read(path, sinks, keep_resolved)?;
        if recovered.skipped_lines > 0 {
            tracing::warn!(
                lines = recovered.skipped_lines,
                path = %path.display(),
                "unreadable lines in the incident log were skipped (a torn write at a crash)"
            );
        }
        let journal = IncidentLog::create(path, &recovered)?;
        let notifier = Notifier {
            journal: Some(Arc::new(Mutex::new(journal))),
            outboxes: Vec::new(),
            last_seq: 0,
        };
        Ok((notifier, recovered))
    }

    /// The log, for sinks to record deliveries in.
    pub fn journal(&self) -> Option<SharedLog> {
        self.journal.clone()
    }

    /// Adds a sink's queue, primed with what it had not delivered.
    pub fn attach(&mut self, outbox: Arc<Outbox>, pending: Vec<(u64, Notice)>) {
        for (seq, notice) in pending {
            outbox.push(seq, notice);
        }
        self.outboxes.push(outbox);
    }

    /// Logs a silence's current state.
    pub fn silence(&self, silence: &swipewatch_alert::Silence) {
        if let Some(j) = &self.journal {
            if let Err(e) = lock(j).silence(silence) {
                tracing::error!("{e}");
            }
        }
    }

    /// Logs the incidents `transitions` touched and numbers, logs and
    /// queues `notices`.
    pub fn record(&mut self, transitions: &[Transition], notices: Vec<Notice>) {
        if let Some(j) = &self.journal {
            let mut j = lock(j);
            for t in transitions {
                if let Err(e) = j.incident(t.incident()) {
                    tracing::error!("{e}");
                }
            }
        }
        for notice in notices {
            let seq = match &self.journal {
                Some(j) => match lock(j).notice(&notice) {
                    Ok(seq) => seq,
                    Err(e) => {
                        tracing::error!("{e}");
                        continue;
                    }
                },
                None => {
                    self.last_seq += 1;
                    self.last_seq
                }
            };
            for o in &self.outboxes {
                o.push(seq, notice.clone());
            }
        }
    }
}

/// Marks `seq` delivered by `sink` in the log, if there is one.
pub(crate) fn delivered(journal: Option<&SharedLog>, sink: &str, seq: u64) {
    if let Some(j) = journal {
        if let Err(e) = lock(j).delivered(sink, seq) {
            tracing::error!("{e}");
        }
    }
}
