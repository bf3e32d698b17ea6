//! Sinks that follow incident transitions, in order, exactly as they
//! happened: a generic JSON webhook and retained incident state on an MQTT
//! topic. Each notice is numbered and written to the durable incident log
//! before any sink sees it; a sink delivers its queue front to back,
//! retrying with backoff, and records each delivery in the log, so after a
//! restart it resumes where it stopped. A sink that is down only grows its
//! queue: detection never waits for it.

use crate::sinks::post;
use hmac::{Hmac, Mac};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use swipewatch_alert::journal::{self, Journal, Recovered};
use swipewatch_alert::{Incident, Notice, NoticeKind, Transition};
use swipewatch_telemetry::AlertMetrics;
use tokio::sync::{watch, Notify};

/// Notices kept per sink while it is down; beyond this the oldest are
/// dropped (and counted), never the service's memory.
const MAX_QUEUED: usize = 100_000;

/// The incident log, shared by the driver (writes incidents and notices)
/// and the sinks (write deliveries).
pub type SharedJournal = Arc<Mutex<Journal>>;

fn lock(journal: &SharedJournal) -> std::sync::MutexGuard<'_, Journal> {
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

    fn pop(&self, seq: u64) {
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
    async fn next(&self, stop: &mut watch::Receiver<bool>) -> Option<(u64, Notice)> {
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
    journal: Option<SharedJournal>,
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
    ) -> anyhow::Result<(Notifier, Recovered)> {
        let recovered = journal::read(path, sinks, keep_resolved)?;
        if recovered.skipped_lines > 0 {
            tracing::warn!(
                lines = recovered.skipped_lines,
                path = %path.display(),
                "unreadable lines in the incident log were skipped (a torn write at a crash)"
            );
        }
        let journal = Journal::create(path, &recovered)?;
        let notifier = Notifier {
            journal: Some(Arc::new(Mutex::new(journal))),
            outboxes: Vec::new(),
            last_seq: 0,
        };
        Ok((notifier, recovered))
    }

    /// The log, for sinks to record deliveries in.
    pub fn journal(&self) -> Option<SharedJournal> {
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
fn delivered(journal: Option<&SharedJournal>, sink: &str, seq: u64) {
    if let Some(j) = journal {
        if let Err(e) = lock(j).delivered(sink, seq) {
            tracing::error!("{e}");
        }
    }
}

/// The JSON a webhook receives for notice `seq`.
pub fn webhook_body(seq: u64, notice: &Notice, console_url: &str) -> serde_json::Value {
    let i = &notice.incident;
    serde_json::json!({
        "seq": seq,
        "event": match notice.kind {
            NoticeKind::Fired => "fired",
            NoticeKind::Resolved => "resolved",
        },
        "summary": format!("{}: {}", i.key.cause.name(), i.key.describe()),
        "severity": i.severity.name(),
        "runbook": i.runbook(),
        "console": console_url,
        "incident": i,
    })
}

/// `sha256=<hex HMAC-SHA256 of body under key>`.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Webhook settings.
pub struct Webhook {
    /// `http://host:port/path`.
    pub url: String,
    /// HMAC key, if any.
    pub secret: Option<String>,
    /// First retry delay.
    pub retry_initial: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// Link to the console, in each body.
    pub console_url: String,
}

/// Delivers the queue to the webhook, in order, each notice until a 2xx.
pub async fn webhook(
    hook: Webhook,
    outbox: Arc<Outbox>,
    journal: Option<SharedJournal>,
    metrics: AlertMetrics,
    mut stop: watch::Receiver<bool>,
) {
    let rest = hook.url.trim_start_matches("http://");
    let (host_port, path) = match rest.find('/') {
        Some(i) => (rest[..i].to_string(), rest[i..].to_string()),
        None => (rest.to_string(), "/".to_string()),
    };
    let mut failures = 0u64;
    while let Some((seq, notice)) = outbox.next(&mut stop).await {
        let body = webhook_body(seq, &notice, &hook.console_url).to_string();
        let mut headers = vec![("X-Swipewatch-Delivery", seq.to_string())];
        if let Some(key) = &hook.secret {
            headers.push((
                "X-Swipewatch-Signature",
                signature(key.as_bytes(), body.as_bytes()),
            ));
        }
        let mut delay = hook.retry_initial;
        loop {
            let result = post(&host_port, &path, &headers, body.as_bytes()).await;
            let ok = matches!(result, Ok(status) if (200..300).contains(&status));
            metrics.delivery("webhook", ok);
            if ok {
                failures = 0;
                break;
            }
            failures += 1;
            if failures == 1 || failures % 20 == 0 {
                match result {
                    Ok(status) => {
                        tracing::warn!(status, seq, url = %hook.url, "webhook refused a notice; retrying")
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, seq, url = %hook.url, "cannot reach the webhook; retrying")
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            delay = (delay * 2).min(hook.retry_max);
        }
        outbox.pop(seq);
        delivered(journal.as_ref(), "webhook", seq);
    }
}

/// Topic of an incident's state: `<prefix>/<cause>/<id>`.
pub fn incident_topic(prefix: &str, i: &Incident) -> String {
    format!("{prefix}/{}/{}", i.key.cause.name(), i.id)
}

/// Publishes each notice to the broker: a firing incident's state
/// retained at its topic; on resolution the resolved state once, then the
/// retained message cleared, so the topic tree holds what is firing now.
pub async fn mqtt(
    options: rumqttc::MqttOptions,
    prefix: String,
    outbox: Arc<Outbox>,
    journal: Option<SharedJournal>,
    metrics: AlertMetrics,
    mut stop: watch::Receiver<bool>,
) {
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 16);
    let (acks_tx, mut acks) = tokio::sync::mpsc::channel::<()>(64);
    let mut poll_stop = stop.clone();
    let poller = tokio::spawn(async move {
        let mut failures = 0u32;
        loop {
            let event = tokio::select! {
                e = eventloop.poll() => e,
                _ = poll_stop.wait_for(|s| *s) => return,
            };
            match event {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) => {
                    failures = 0;
                    let _ = acks_tx.try_send(());
                }
                Ok(_) => failures = 0,
                Err(e) => {
                    failures += 1;
                    if failures == 1 || failures % 20 == 0 {
                        tracing::warn!(error = %e, "incident topic: broker connection failed; retrying");
                    }
                    let backoff = Duration::from_millis(200 * u64::from(failures.min(50)));
                    tokio::time::sleep(backoff).await;
                }
            }
        }
    });
    while let Some((seq, notice)) = outbox.next(&mut stop).await {
        let topic = incident_topic(&prefix, &notice.incident);
        let state = serde_json::to_vec(&webhook_body(seq, &notice, "")).unwrap_or_default();
        let publishes: Vec<(Vec<u8>, bool)> = match notice.kind {
            NoticeKind::Fired => vec![(state, true)],
            NoticeKind::Resolved => vec![(state, false), (Vec::new(), true)],
        };
        let mut delay = Duration::from_millis(500);
        loop {
            while acks.try_recv().is_ok() {}
            let mut ok = true;
            for (payload, retain) in &publishes {
                let sent = client
                    .publish(&topic, rumqttc::QoS::AtLeastOnce, *retain, payload.clone())
                    .await;
                let acked = sent.is_ok()
                    && tokio::time::timeout(Duration::from_secs(10), acks.recv())
                        .await
                        .is_ok_and(|a| a.is_some());
                if !acked {
                    ok = false;
                    break;
                }
            }
            metrics.delivery("mqtt", ok);
            if ok {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                _ = stop.wait_for(|s| *s) => {
                    poller.abort();
                    return;
                }
            }
            delay = (delay * 2).min(Duration::from_secs(30));
        }
        outbox.pop(seq);
        delivered(journal.as_ref(), "mqtt", seq);
    }
    let _ = client.disconnect().await;
    poller.abort();
}
