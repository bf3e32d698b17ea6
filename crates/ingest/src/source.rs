//! The async shell: the MQTT poller task and the decoder task.

use crate::backoff::Backoff;
use crate::decode::{Decoder, SharedSymbols};
use crate::topic::TopicTemplate;
use bytes::Bytes;
use rand::{rngs::SmallRng, SeedableRng};
use rumqttc::{
    AsyncClient, Event as MqttEvent, MqttOptions, Packet, QoS, TlsConfiguration, Transport,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use swipewatch_config::Config;
use swipewatch_model::{Event, Taxonomy};
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
}

/// Decoded events, in arrival order.
#[derive(Debug, Default)]
pub struct Batch {
    /// Accepted events.
    pub events: Vec<Event>,
}

/// A message as it left the broker, stamped with its arrival time.
struct RawMessage {
    topic: String,
    /// Empty when `len` exceeded the payload limit (dropped at once so an
    /// oversized message never sits in a queue).
    payload: Bytes,
    len: usize,
    arrival_ms: i64,
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

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
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

/// [`spawn`], interning into `symbols` (shared with an engine that was
/// warmed up before ingest started).
pub fn spawn_with_symbols(
    config: &Config,
    taxonomy: Taxonomy,
    metrics: IngestMetrics,
    symbols: SharedSymbols,
) -> Result<IngestHandle, IngestError> {
    let (client, eventloop) = AsyncClient::new(options(config)?, 64);
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
    };
    let decoder = Decoder::new(&config.ingest, taxonomy, symbols.clone(), metrics);
    let poller = tokio::spawn(poller.run(eventloop, raw_tx));
    let decoder = tokio::spawn(decode_loop(
        decoder,
        raw_rx,
        batch_tx,
        config.ingest.batch_max_events,
    ));
    Ok(IngestHandle {
        batches,
        symbols,
        ready,
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

async fn decode_loop(
    mut decoder: Decoder,
    mut raw_rx: mpsc::Receiver<RawMessage>,
    batch_tx: mpsc::Sender<Batch>,
    batch_max: usize,
) {
    let mut raw = Vec::with_capacity(256);
    while raw_rx.recv_many(&mut raw, 256).await > 0 {
        let mut events = Vec::with_capacity(raw.len());
        for m in raw.drain(..) {
            decoder.decode(&m.topic, &m.payload, m.len, m.arrival_ms, &mut events);
            if events.len() >= batch_max {
                let full = std::mem::replace(&mut events, Vec::with_capacity(batch_max));
                if batch_tx.send(Batch { events: full }).await.is_err() {
                    return;
                }
            }
        }
        if !events.is_empty() && batch_tx.send(Batch { events }).await.is_err() {
            return;
        }
    }
}
