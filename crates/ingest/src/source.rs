//! The async shell: the MQTT poller task and the decoder task.

use crate::intake::{Checkpointed, IntakeError, IntakeJournal, Reader};
use bytes::Bytes;
use rand::{rngs::SmallRng, SeedableRng};
use rumqttc::{
    AsyncClient, Event as MqttEvent, MqttOptions, Packet, Publish, QoS, TlsConfiguration, Transport,
};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use swipewatch_config::Config;
use swipewatch_decode::{Decoder, Retention, SharedBins, SharedSymbols, TopicTemplate};
use swipewatch_model::{Event, Taxonomy};
use swipewatch_rt::{now_ms, Backoff};
use swipewatch_telemetry::IngestMetrics;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Why ingest could not start.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The broker URL is unusable (validated config prevents this).
    #[error("broker url: {0}")]
    Url(String),
    /// TLS material could not be loaded.
    #[error("tls: {0}")]
    Tls(String),
    /// The intake journal could not be opened.
    #[error(transparent)]
    IntakeJournal(#[from] IntakeError),
    /// The BIN table could not be read (validated config prevents this).
    #[error(transparent)]
    Config(#[from] swipewatch_config::ConfigError),
}

/// Decoded events, in arrival order.
#[derive(Debug, Default)]
pub struct Batch {
    /// Accepted events.
    pub events: Vec<Event>,
    /// IntakeJournal sequence number of the last message decoded into this
    /// batch (0 without a journal): once the batch is recorded, the
    /// engine holds every journaled message up to it.
    pub position: u64,
}

/// Where the intake journal lives and where the restored engine stands.
#[derive(Debug, Clone)]
pub struct JournalStart {
    /// IntakeJournal directory.
    pub dir: PathBuf,
    /// IntakeJournal position the restored engine holds (0 for a fresh one):
    /// later messages are decoded again; earlier ones only refill dedup.
    pub position: u64,
    /// Set by the driver after each checkpoint; old files are then dropped.
    pub checkpointed: Checkpointed,
}

/// A message as it left the broker, stamped with its arrival time.
struct RawMessage {
    topic: String,
    /// Empty when `len` exceeded the payload limit (dropped at once so an
    /// oversized message never sits in a queue).
    payload: Bytes,
    len: usize,
    arrival_ms: i64,
    /// What acknowledges it, when the broker waits for that (manual acks:
    /// only after the message is journaled).
    ack: Option<Publish>,
}

/// The running ingest: batches to consume, connection state, shutdown.
pub struct IngestHandle {
    /// Decoded batches. Closed when ingest stops.
    pub batches: mpsc::Receiver<Batch>,
    /// Interned values of the events in the batches.
    pub symbols: SharedSymbols,
    /// True while the broker connection is up and every subscription has
    /// been acknowledged: data can flow. False marks a data gap.
    pub ready: watch::Receiver<bool>,
    /// The BIN table the decoder reads: store a new one to reload it.
    pub bins: SharedBins,
    client: AsyncClient,
    stopping: Arc<AtomicBool>,
    poller: JoinHandle<()>,
    decoder: JoinHandle<()>,
}

impl IngestHandle {
    /// Disconnects from the broker and stops both tasks. Batches already
    /// decoded stay readable from `batches` until it reports closed.
    pub async fn shutdown(self) -> mpsc::Receiver<Batch> {
        self.stopping.store(true, Ordering::Release);
        // Best effort: the broker also drops the connection when we go away.
        let _ = self.client.try_disconnect();
        let abort = self.poller.abort_handle();
        if tokio::time::timeout(Duration::from_secs(2), self.poller)
            .await
            .is_err()
        {
            abort.abort();
        }
        let _ = self.decoder.await;
        self.batches
    }
}

fn qos(level: u8) -> QoS {
    match level {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

/// Builds rumqttc options from a validated config (no setter can panic).
fn options(config: &Config) -> Result<MqttOptions, IngestError> {
    mqtt_options(config, &config.mqtt.client_id)
}

/// rumqttc options for the configured broker (address, TLS, credentials,
/// session) under client id `client_id`.
pub fn mqtt_options(config: &Config, client_id: &str) -> Result<MqttOptions, IngestError> {
    let m = &config.mqtt;
    let url = m.broker().map_err(IngestError::Url)?;
    let mut o = MqttOptions::new(client_id.to_string(), url.host.clone(), url.port);
    o.set_clean_session(m.clean_session)
        .set_keep_alive(m.keep_alive)
        .set_inflight(m.inflight)
        .set_max_packet_size(m.max_packet_bytes, 64 * 1024)
        .set_request_channel_capacity(64);
    if let Some(user) = &m.username {
        let password = m.password.as_ref().map(|p| p.0.clone()).unwrap_or_default();
        o.set_credentials(user.clone(), password);
    }
    if url.tls {
        let tls = crate::tls::client_config(m)?;
        o.set_transport(Transport::Tls(TlsConfiguration::Rustls(Arc::new(tls))));
    }
    Ok(o)
}

/// Connects to the broker and starts the poller and decoder tasks.
pub fn spawn(
    config: &Config,
    taxonomy: Taxonomy,
    metrics: IngestMetrics,
) -> Result<IngestHandle, IngestError> {
    spawn_with_symbols(config, taxonomy, metrics, SharedSymbols::default())
}

/// [`spawn_with_symbols`], first decoding again what the journal holds
/// after `journal.position`, then journaling every message before it is
/// acknowledged (QoS 1 and 2).
pub fn spawn_journaled(
    config: &Config,
    taxonomy: Taxonomy,
    metrics: IngestMetrics,
    symbols: SharedSymbols,
    journal: JournalStart,
) -> Result<IngestHandle, IngestError> {
    start(config, taxonomy, metrics, symbols, Some(journal))
}

/// [`spawn`], interning into `symbols` (shared with an engine that was
/// warmed up before ingest started).
pub fn spawn_with_symbols(
    config: &Config,
    taxonomy: Taxonomy,
    metrics: IngestMetrics,
    symbols: SharedSymbols,
) -> Result<IngestHandle, IngestError> {
    start(config, taxonomy, metrics, symbols, None)
}

fn start(
    config: &Config,
    taxonomy: Taxonomy,
    metrics: IngestMetrics,
    symbols: SharedSymbols,
    journal: Option<JournalStart>,
) -> Result<IngestHandle, IngestError> {
    let mut mqtt = options(config)?;
    let manual_acks = journal.is_some() && config.ingest.qos > 0;
    mqtt.set_manual_acks(manual_acks);
    // Room for an acknowledgement of every message that can be queued
    // between the poller and the decoder, so acknowledging never waits.
    let requests = 64 + config.ingest.raw_channel_capacity + RAW_BATCH;
    let (client, eventloop) = AsyncClient::new(mqtt, requests);
    let journal = match journal {
        Some(j) => Some(JournalResume::open(j)?),
        None => None,
    };
    let (raw_tx, raw_rx) = mpsc::channel(config.ingest.raw_channel_capacity);
    let (batch_tx, batches) = mpsc::channel(config.ingest.batch_channel_capacity);
    let (ready_tx, ready) = watch::channel(false);
    let stopping = Arc::new(AtomicBool::new(false));
    let filters: Vec<String> = config
        .ingest
        .topics
        .iter()
        .map(|t| TopicTemplate::parse(&t.template, t.kind).filter())
        .collect();
    let poller = Poller {
        client: client.clone(),
        filters,
        qos: qos(config.ingest.qos),
        max_payload: config.ingest.max_payload_bytes,
        backoff: Backoff::new(config.mqtt.reconnect_initial, config.mqtt.reconnect_max),
        metrics: metrics.clone(),
        ready: ready_tx,
        awaiting_suback: 0,
        stopping: stopping.clone(),
        manual_acks,
    };
    let decoder = Decoder::new(&config.ingest, taxonomy, symbols.clone(), metrics);
    let bins = decoder.bins().clone();
    if let Some(path) = &config.codes.bin_table {
        bins.store(swipewatch_config::load_bin_table(path)?);
    }
    let poller = tokio::spawn(poller.run(eventloop, raw_tx));
    let decoder = tokio::spawn(decode_loop(
        decoder,
        raw_rx,
        batch_tx,
        config.ingest.batch_max_events,
        journal.map(|j| (j, client.clone())),
    ));
    Ok(IngestHandle {
        batches,
        symbols,
        ready,
        bins,
        client,
        stopping,
        poller,
        decoder,
    })
}

struct Poller {
    client: AsyncClient,
    filters: Vec<String>,
    qos: QoS,
    max_payload: usize,
    backoff: Backoff,
    metrics: IngestMetrics,
    ready: watch::Sender<bool>,
    /// Subscriptions sent on this connection and not yet acknowledged.
    awaiting_suback: usize,
    /// Set by [`IngestHandle::shutdown`]: do not reconnect.
    stopping: Arc<AtomicBool>,
    /// The decoder acknowledges QoS 1/2 messages once journaled.
    manual_acks: bool,
}

impl Poller {
    async fn run(mut self, mut eventloop: rumqttc::EventLoop, raw_tx: mpsc::Sender<RawMessage>) {
        let mut rng = SmallRng::from_entropy();
        loop {
            match eventloop.poll().await {
                Ok(MqttEvent::Incoming(Packet::ConnAck(ack))) => {
                    tracing::info!(session_present = ack.session_present, "connected to broker");
                    self.backoff.reset();
                    self.metrics.connected.set(1);
                    // Subscribing again on a resumed session is harmless and
                    // covers a broker that lost its session store.
                    self.awaiting_suback = 0;
                    for f in &self.filters {
                        match self.client.try_subscribe(f.clone(), self.qos) {
                            Ok(()) => self.awaiting_suback += 1,
                            Err(e) => {
                                tracing::error!(filter = %f, error = %e, "cannot queue subscription")
                            }
                        }
                    }
                }
                Ok(MqttEvent::Incoming(Packet::SubAck(ack))) => {
                    let refused = ack
                        .return_codes
                        .iter()
                        .any(|c| matches!(c, rumqttc::SubscribeReasonCode::Failure));
                    if refused {
                        tracing::error!(
                            pkid = ack.pkid,
                            "broker refused a subscription (check its ACL)"
                        );
                    }
                    self.awaiting_suback = self.awaiting_suback.saturating_sub(1);
                    if self.awaiting_suback == 0 {
                        tracing::info!(filters = ?self.filters, "subscribed");
                        self.ready.send_replace(true);
                    }
                }
                Ok(MqttEvent::Incoming(Packet::Publish(p))) => {
                    let len = p.payload.len();
                    let ack = (self.manual_acks && p.qos != QoS::AtMostOnce).then(|| {
                        let mut ack = Publish::new("", p.qos, Vec::<u8>::new());
                        ack.pkid = p.pkid;
                        ack
                    });
                    let payload = if len > self.max_payload {
                        Bytes::new()
                    } else {
                        p.payload
                    };
                    let msg = RawMessage {
                        topic: p.topic,
                        payload,
                        len,
                        arrival_ms: now_ms(),
                        ack,
                    };
                    if raw_tx.send(msg).await.is_err() {
                        return; // decoder gone: shutting down
                    }
                }
                Ok(MqttEvent::Incoming(Packet::Disconnect)) => self.down(),
                Ok(_) => {}
                Err(_) if self.stopping.load(Ordering::Acquire) => {
                    self.down();
                    return;
                }
                Err(e) => {
                    self.down();
                    self.metrics.reconnects.inc();
                    let delay = self.backoff.next_delay(&mut rng);
                    tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "broker connection error");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}

impl Poller {
    fn down(&mut self) {
        self.metrics.connected.set(0);
        self.ready.send_replace(false);
    }
}

/// Raw messages taken from the poller at a time.
const RAW_BATCH: usize = 256;

/// The journal at start: the reader of what it holds, and the writer.
struct JournalResume {
    reader: Reader,
    position: u64,
    journal: IntakeJournal,
}

impl JournalResume {
    fn open(start: JournalStart) -> Result<JournalResume, IntakeError> {
        // Appending starts after everything already journaled (and after
        // what the engine holds, should the files be gone).
        let last = crate::intake::last_seq(&start.dir)?.max(start.position);
        Ok(JournalResume {
            reader: Reader::open(&start.dir)?,
            position: start.position,
            journal: IntakeJournal::open(&start.dir, last, start.checkpointed)?,
        })
    }
}

/// Sends `events` on as a batch at `position`; false when the consumer is
/// gone.
async fn send(batch_tx: &mpsc::Sender<Batch>, events: Vec<Event>, position: u64) -> bool {
    batch_tx.send(Batch { events, position }).await.is_ok()
}

/// Decodes again what the journal holds after the restored position (into
/// the real counters: the restored engine never saw it), after refilling
/// dedup with what it holds up to there (into throwaway counters). Returns
/// false when the consumer is gone.
async fn resume(
    decoder: &mut Decoder,
    resume: &mut JournalResume,
    batch_tx: &mpsc::Sender<Batch>,
    batch_max: usize,
) -> bool {
    // The real counters, put back at the first record after the position.
    let mut real = Some(decoder.replace_metrics(swipewatch_telemetry::Metrics::new().ingest));
    let mut scratch = Vec::new();
    let mut events = Vec::with_capacity(batch_max);
    let (mut again, mut last) = (0u64, 0u64);
    loop {
        let record = match resume.reader.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                tracing::error!(error = %e, "intake journal unreadable; replay stopped");
                break;
            }
        };
        if record.seq <= resume.position {
            let _ = decoder.decode(
                &record.topic,
                &record.payload,
                record.len,
                record.arrival_ms,
                &mut scratch,
            );
            scratch.clear();
            continue;
        }
        if let Some(m) = real.take() {
            decoder.replace_metrics(m);
        }
        let _ = decoder.decode(
            &record.topic,
            &record.payload,
            record.len,
            record.arrival_ms,
            &mut events,
        );
        again += 1;
        last = record.seq;
        if events.len() >= batch_max {
            let full = std::mem::replace(&mut events, Vec::with_capacity(batch_max));
            if !send(batch_tx, full, last).await {
                return false;
            }
        }
    }
    if let Some(m) = real {
        decoder.replace_metrics(m);
    }
    if again > 0 {
        tracing::info!(
            messages = again,
            after = resume.position,
            "decoded again from the intake journal"
        );
        if !send(batch_tx, events, last).await {
            return false;
        }
    }
    true
}

async fn decode_loop(
    mut decoder: Decoder,
    mut raw_rx: mpsc::Receiver<RawMessage>,
    batch_tx: mpsc::Sender<Batch>,
    batch_max: usize,
    mut journal: Option<(JournalResume, AsyncClient)>,
) {
    if let Some((r, _)) = journal.as_mut() {
        if !resume(&mut decoder, r, &batch_tx, batch_max).await {
            return;
        }
    }
    let mut raw = Vec::with_capacity(RAW_BATCH);
    // Acknowledgements the client could not queue yet, oldest first.
    let mut unacked: std::collections::VecDeque<Publish> = std::collections::VecDeque::new();
    let mut synced = Instant::now();
    let mut failed_at = None;
    // IntakeJournal position of the last message journaled.
    let mut position = 0;
    loop {
        // With acknowledgements waiting, wake up to retry them even when
        // nothing arrives (the broker sends nothing more until they go).
        let closed = if unacked.is_empty() {
            raw_rx.recv_many(&mut raw, RAW_BATCH).await == 0
        } else {
            // recv_many is cancel-safe: nothing is lost when the timer wins.
            tokio::select! {
                n = raw_rx.recv_many(&mut raw, RAW_BATCH) => n == 0,
                () = tokio::time::sleep(Duration::from_millis(5)) => false,
            }
        };
        if closed {
            break;
        }
        // Decoded first: a message carrying a card number is never
        // journaled (it is only counted).
        let mut batches = Vec::new();
        let mut events = Vec::with_capacity(raw.len());
        for m in &mut raw {
            let retention = decoder.decode(&m.topic, &m.payload, m.len, m.arrival_ms, &mut events);
            let keep = retention == Retention::Journal;
            if let Some((r, _)) = journal.as_mut().filter(|_| keep) {
                position = r.journal.append(&m.topic, &m.payload, m.len, m.arrival_ms);
            }
            if events.len() >= batch_max {
                let full = std::mem::replace(&mut events, Vec::with_capacity(batch_max));
                batches.push((full, position));
            }
        }
        if !events.is_empty() {
            batches.push((events, position));
        }
        if let Some((r, client)) = journal.as_mut() {
            if let Err(e) = r.journal.write() {
                // Ingest goes on: stalling the broker would lose more than
                // a crash before the next checkpoint could.
                if failed_at.is_none_or(|t: Instant| t.elapsed() >= Duration::from_secs(10)) {
                    tracing::error!(error = %e, "cannot write the intake journal; acknowledging without it");
                    failed_at = Some(Instant::now());
                }
            }
            if synced.elapsed() >= Duration::from_secs(1) {
                if let Err(e) = r.journal.sync() {
                    tracing::warn!(error = %e, "cannot sync the intake journal");
                }
                synced = Instant::now();
            }
            unacked.extend(raw.iter_mut().filter_map(|m| m.ack.take()));
            while let Some(p) = unacked.front() {
                if client.try_ack(p).is_err() {
                    break;
                }
                unacked.pop_front();
            }
            if let Err(e) = r.journal.rotate_if_checkpointed() {
                tracing::warn!(error = %e, "cannot start a new intake journal file");
            }
        }
        raw.clear();
        for (events, position) in batches {
            if !send(&batch_tx, events, position).await {
                return;
            }
        }
    }
    if let Some((r, _)) = journal.as_mut() {
        if let Err(e) = r.journal.write().and_then(|()| r.journal.sync()) {
            tracing::warn!(error = %e, "cannot flush the intake journal");
        }
    }
}
