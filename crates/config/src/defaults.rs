//! Every default value, in one place.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Broker to connect to when none is configured.
pub const MQTT_URL: &str = "mqtt://127.0.0.1:1883";
/// MQTT client id; must be stable for the persistent session to be found again.
pub const MQTT_CLIENT_ID: &str = "swipewatch";
/// MQTT keep-alive.
pub const MQTT_KEEP_ALIVE: Duration = Duration::from_secs(30);
/// QoS1 messages the broker may have in flight to us before waiting for acks.
pub const MQTT_INFLIGHT: u16 = 256;
/// Largest MQTT packet accepted on the wire. Larger than `max_payload_bytes`
/// on purpose: an oversized payload must be counted and skipped, not kill the
/// connection (the persistent session would then redeliver it forever).
pub const MQTT_MAX_PACKET_BYTES: usize = 16 * 1024 * 1024;
/// First wait after a broker error.
pub const RECONNECT_INITIAL: Duration = Duration::from_millis(200);
/// Longest wait between reconnect attempts.
pub const RECONNECT_MAX: Duration = Duration::from_secs(30);

/// Transaction outcome topic.
pub const TXN_TOPIC: &str = "dt/pos/v1/{region}/{acquirer}/{terminal}/txn";
/// Heartbeat topic.
pub const HB_TOPIC: &str = "dt/pos/v1/{region}/{acquirer}/{terminal}/hb";
/// Subscription QoS.
pub const QOS: u8 = 1;
/// Largest payload decoded; larger ones are rejected as `too_large`.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// Most elements in one JSON array payload.
pub const MAX_BATCH_ELEMENTS: usize = 1000;
/// Raw MQTT messages buffered between the network poller and the decoder.
pub const RAW_CHANNEL_CAPACITY: usize = 4096;
/// Most events in one decoded batch.
pub const BATCH_MAX_EVENTS: usize = 1024;
/// Decoded batches buffered between ingest and the engine.
pub const BATCH_CHANNEL_CAPACITY: usize = 64;
/// Event ids remembered for duplicate detection.
pub const DEDUP_CAPACITY: usize = 2_000_000;
/// Oldest event time accepted, relative to arrival.
pub const MAX_EVENT_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Furthest event time accepted ahead of arrival.
pub const MAX_EVENT_LEAD: Duration = Duration::from_secs(24 * 3600);
/// At most one log line per rejection reason per interval.
pub const REJECT_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// HTTP listen address: loopback, so nothing is exposed unless asked for.
pub const LISTEN: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 9464);

/// Event-time bucket width.
pub const BUCKET: Duration = Duration::from_secs(10);
/// Buckets in the evaluation window (60 s with 10 s buckets).
pub const WINDOW_BUCKETS: usize = 6;
/// How late an event may arrive before its bucket closes.
pub const ALLOWED_LATENESS: Duration = Duration::from_secs(30);
/// A terminal clock further than this from arrival is replaced by arrival time.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(300);
/// Dimensions whose value combinations form the leaves localization works on.
pub const LEAF_DIMS: [&str; 5] = ["region", "carrier", "net_type", "acquirer", "issuer"];
/// Dimensions with latency histograms per value (not merchant or cell: too many values).
pub const LATENCY_DIMS: [&str; 10] = [
    "region",
    "carrier",
    "net_type",
    "acquirer",
    "issuer",
    "scheme",
    "model",
    "firmware",
    "app",
    "entry_mode",
];
/// Half-life of the baseline EWMA, in event time.
pub const BASELINE_HALF_LIFE: Duration = Duration::from_secs(2 * 3600);
/// Pseudo-attempts that pull a sparse value's rate toward its parent's.
pub const SHRINKAGE_ATTEMPTS: f64 = 200.0;

/// Firing incidents are re-sent to Alertmanager this often.
pub const ALERT_RESEND: Duration = Duration::from_secs(60);
/// First retry of a failed webhook delivery.
pub const WEBHOOK_RETRY_INITIAL: Duration = Duration::from_millis(500);
/// Longest wait between webhook retries.
pub const WEBHOOK_RETRY_MAX: Duration = Duration::from_secs(60);

/// How often the engine checkpoint is written (when a directory is set).
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(60);
