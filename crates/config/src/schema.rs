//! The configuration schema.

use crate::defaults;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Broker connection.
    pub mqtt: MqttConfig,
    /// Topics, decoding and validation.
    pub ingest: IngestConfig,
    /// Event-time windows and baselines.
    pub engine: EngineConfig,
    /// HTTP server for /metrics and health.
    pub server: ServerConfig,
    /// Response-code tables.
    pub codes: CodesConfig,
    /// Where incidents are sent.
    pub alerts: AlertsConfig,
    /// How history files (read by `swipetool`) name their columns.
    pub history: HistoryConfig,
    /// The fleet inventory.
    pub fleet: FleetConfig,
    /// Detection thresholds.
    pub detect: DetectConfig,
    /// Incident lifecycle and routing.
    pub incidents: IncidentsConfig,
}

/// Detection thresholds; the defaults are the values the scenario suite
/// is measured with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Fewest failures of an element's classes in a window for its spike
    /// to fire an incident (1–10000).
    pub min_failures: u64,
    /// Fewest failures for a provisional finding, which opens or keeps a
    /// pending incident and never fires one (1–`min_failures`).
    pub min_pending_failures: u64,
    /// Poisson tail probability below which an element's count is a spike
    /// (0 < p < 0.01).
    pub spike_p_value: f64,
    /// Failures must exceed what was expected by at least this factor
    /// (1–100).
    pub min_ratio: f64,
    /// Card-reader or PIN-pad errors in a row that mark a dead device
    /// (2–100).
    pub hw_error_run: u16,
    /// Failures in a row of any other kind that single a terminal out
    /// (2–1000).
    pub failure_run: u16,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            min_failures: 10,
            min_pending_failures: 6,
            spike_p_value: 1e-6,
            min_ratio: 1.5,
            hw_error_run: 3,
            failure_run: 8,
        }
    }
}

/// Incident lifecycle and routing; the defaults are the values the
/// scenario suite is measured with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentsConfig {
    /// Windows in a row with the finding before an incident fires (1–30).
    pub fire_after: u32,
    /// Windows in a row without it before an incident resolves (1–360).
    pub resolve_after: u32,
    /// The same for a single device (1–8640): a broken terminal that is
    /// simply not used for a while is still broken.
    pub device_resolve_after: u32,
    /// A bank or network incident pages from this many excess failures (or
    /// missing transactions) per minute (0.1–1000000)...
    pub page_failed_per_min: f64,
    /// ... or from this many terminals affected (1–10000000).
    pub page_terminals: u64,
    /// Resolved incidents kept for the API (10–100000).
    pub keep_resolved: usize,
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        IncidentsConfig {
            fire_after: 2,
            resolve_after: 3,
            device_resolve_after: 30,
            page_failed_per_min: 5.0,
            page_terminals: 20,
            keep_resolved: 200,
        }
    }
}

/// The fleet inventory: every terminal the provider owns.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FleetConfig {
    /// Inventory CSV (`terminal_id` and optionally `merchant`, `model`,
    /// `region`, `acquirer`, `carrier`, `hours`, `tz`), relative to the
    /// config file; read at start and again on SIGHUP. A bad row is logged
    /// with its row and column and left out.
    pub inventory_file: Option<PathBuf>,
    /// Silence, inside a terminal's trading hours, after which an
    /// inventory terminal is missing (humantime; 1m–24h).
    #[serde(with = "humantime_serde")]
    pub missing_after: Duration,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            inventory_file: None,
            missing_after: Duration::from_secs(600),
        }
    }
}

/// History files, as `swipetool` reads them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryConfig {
    /// Column holding each outcome field, where the provider's own name
    /// differs (`ts = "txn_time"`). Field names are the wire format's,
    /// with `net_type`, `carrier`, `cell_id`, `rssi_dbm`, `fw`, `app`
    /// flattened and `arrival_ms` for the time the outcome was received.
    pub columns: std::collections::BTreeMap<String, String>,
}

/// Alert sinks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Alertmanager base URL (`http://host:port`); unset: not sent.
    pub alertmanager_url: Option<String>,
    /// Firing incidents are re-sent this often (Alertmanager resolves an
    /// alert it has not heard of for its `resolve_timeout`).
    #[serde(with = "humantime_serde")]
    pub resend_interval: Duration,
    /// Generic JSON webhook (`http://host:port/path`): every fired and
    /// resolved notice, in order, retried until delivered. Unset: off.
    pub webhook_url: Option<String>,
    /// File holding the webhook's HMAC-SHA256 key (first line). The
    /// environment variable `SWIPEWATCH_WEBHOOK_SECRET` takes precedence.
    pub webhook_secret_file: Option<PathBuf>,
    /// First retry delay of a failed delivery; doubles up to `webhook_retry_max`.
    #[serde(with = "humantime_serde")]
    pub webhook_retry_initial: Duration,
    /// Longest delay between retries.
    #[serde(with = "humantime_serde")]
    pub webhook_retry_max: Duration,
    /// Topic prefix for incident state on the broker
    /// (`<prefix>/<cause>/<id>`, retained). Unset: not published.
    pub mqtt_topic: Option<String>,
    /// The durable incident log. Unset: `incidents.log` in
    /// `engine.checkpoint_dir` when that is set, else no log.
    pub journal: Option<PathBuf>,
    /// The webhook key, filled from the environment or the file at load.
    #[serde(skip)]
    pub webhook_secret: Option<Secret>,
    /// Recurring maintenance windows (e.g. a bank's nightly cut-over):
    /// incidents they cover are kept and shown as silenced, never sent.
    pub maintenance: Vec<MaintenanceConfig>,
}

/// One recurring maintenance window.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceConfig {
    /// Dimension → value pairs an incident's element must hold
    /// (e.g. `{ acquirer = "acq-beta" }`).
    #[serde(default)]
    pub matchers: std::collections::BTreeMap<String, String>,
    /// Only incidents of this cause (kebab-case name), if set.
    #[serde(default)]
    pub cause: Option<String>,
    /// Start time of day, UTC, `HH:MM`.
    pub at: String,
    /// How long each occurrence lasts.
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
    /// Days of the week it happens on (`mon` … `sun`, UTC); empty: daily.
    #[serde(default)]
    pub days: Vec<String>,
    /// Shown with silenced incidents.
    #[serde(default)]
    pub comment: String,
}

impl MaintenanceConfig {
    /// Minutes after midnight UTC of `at`, if it reads as `HH:MM`.
    pub fn minute_of_day(&self) -> Option<u32> {
        let (h, m) = self.at.split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60 && self.at.len() == 5).then_some(h * 60 + m)
    }

    /// Whether it happens on weekday `day` (0 = Monday).
    pub fn on_day(&self, day: u32) -> bool {
        self.days.is_empty()
            || self
                .days
                .iter()
                .any(|d| WEEKDAYS.iter().position(|w| w == d) == Some(day as usize))
    }
}

/// Weekday names, Monday first.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl MaintenanceConfig {
    /// Occurrences `(start_ms, end_ms)` that overlap `[from_ms, to_ms)`.
    pub fn occurrences(&self, from_ms: i64, to_ms: i64) -> Vec<(i64, i64)> {
        const DAY: i64 = 86_400_000;
        let Some(minute) = self.minute_of_day() else {
            return Vec::new();
        };
        let len = self.duration.as_millis().min(DAY as u128) as i64;
        let mut out = Vec::new();
        // Start a day early: yesterday's window may run past midnight.
        let mut day = from_ms.div_euclid(DAY) - 1;
        while day * DAY < to_ms {
            let start = day * DAY + i64::from(minute) * 60_000;
            // 1970-01-01 was a Thursday (weekday 3).
            let weekday = (day + 3).rem_euclid(7) as u32;
            if self.on_day(weekday) && start < to_ms && start + len > from_ms {
                out.push((start, start + len));
            }
            day += 1;
        }
        out
    }
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            alertmanager_url: None,
            resend_interval: defaults::ALERT_RESEND,
            webhook_url: None,
            webhook_secret_file: None,
            webhook_retry_initial: defaults::WEBHOOK_RETRY_INITIAL,
            webhook_retry_max: defaults::WEBHOOK_RETRY_MAX,
            mqtt_topic: None,
            journal: None,
            webhook_secret: None,
            maintenance: Vec::new(),
        }
    }
}

/// Broker connection settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    /// `mqtt://host:port` or `mqtts://host:port` (TLS, server verified).
    pub url: String,
    /// Client id; stable so the broker finds the persistent session again.
    pub client_id: String,
    /// `false` keeps a persistent session: QoS1 messages published while
    /// swipewatch is away are delivered when it comes back.
    pub clean_session: bool,
    /// MQTT keep-alive (humantime, e.g. `30s`).
    #[serde(with = "humantime_serde")]
    pub keep_alive: Duration,
    /// Unacknowledged QoS1 messages the broker may send ahead.
    pub inflight: u16,
    /// Largest MQTT packet accepted on the wire, bytes.
    pub max_packet_bytes: usize,
    /// PEM CA bundle to verify the broker (mqtts). Unset: system roots.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate chain for mutual TLS.
    pub client_cert_file: Option<PathBuf>,
    /// PEM private key of `client_cert_file`.
    pub client_key_file: Option<PathBuf>,
    /// Username; `SWIPEWATCH_MQTT_USERNAME` overrides it.
    pub username: Option<String>,
    /// File holding the password (first line). `SWIPEWATCH_MQTT_PASSWORD`
    /// overrides it. The password itself is never in this file.
    pub password_file: Option<PathBuf>,
    /// First wait after a connection error (humantime).
    #[serde(with = "humantime_serde")]
    pub reconnect_initial: Duration,
    /// Cap of the exponential reconnect backoff (humantime).
    #[serde(with = "humantime_serde")]
    pub reconnect_max: Duration,
    /// The password, filled from the environment or `password_file` at load.
    #[serde(skip)]
    pub password: Option<Secret>,
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            url: defaults::MQTT_URL.into(),
            client_id: defaults::MQTT_CLIENT_ID.into(),
            clean_session: false,
            keep_alive: defaults::MQTT_KEEP_ALIVE,
            inflight: defaults::MQTT_INFLIGHT,
            max_packet_bytes: defaults::MQTT_MAX_PACKET_BYTES,
            ca_file: None,
            client_cert_file: None,
            client_key_file: None,
            username: None,
            password_file: None,
            reconnect_initial: defaults::RECONNECT_INITIAL,
            reconnect_max: defaults::RECONNECT_MAX,
            password: None,
        }
    }
}

impl MqttConfig {
    /// The parsed broker URL. Valid after [`Config::validate`].
    pub fn broker(&self) -> Result<BrokerUrl, String> {
        BrokerUrl::parse(&self.url)
    }
}

/// A parsed `mqtt://` or `mqtts://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    /// TLS (`mqtts`).
    pub tls: bool,
    /// Host name or IP address (without brackets).
    pub host: String,
    /// TCP port (default 1883, or 8883 with TLS).
    pub port: u16,
}

impl BrokerUrl {
    /// Parses `mqtt[s]://host[:port]`.
    pub fn parse(url: &str) -> Result<BrokerUrl, String> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("mqtt://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("mqtts://") {
            (true, r)
        } else {
            return Err(format!("'{url}' must start with mqtt:// or mqtts://"));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') || rest.contains('@') {
            return Err(
                "only host and port are allowed (credentials come from the environment)".into(),
            );
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| "unclosed '[' in IPv6 host".to_string())?;
            (h, after.strip_prefix(':'))
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            }
        };
        if host.is_empty() {
            return Err("host is empty".into());
        }
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("port '{p}' is not 1-65535"))?,
            None if tls => 8883,
            None => 1883,
        };
        Ok(BrokerUrl {
            tls,
            host: host.into(),
            port,
        })
    }
}

/// A secret string: never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// What a topic carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TopicKind {
    /// Transaction outcomes (one object or an array).
    Txn,
    /// Heartbeats (one object or an array).
    Heartbeat,
}

/// One subscription.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    /// Topic template; a whole level `{name}` fills dimension `name` (or
    /// `{terminal}` the terminal id) when the payload lacks it.
    pub template: String,
    /// What the topic carries.
    pub kind: TopicKind,
}

/// Decoding and validation settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Subscriptions.
    pub topics: Vec<TopicConfig>,
    /// Subscription QoS (0, 1 or 2); 1 gives at-least-once with dedup.
    pub qos: u8,
    /// Largest payload decoded, bytes; larger ones are rejected `too_large`.
    pub max_payload_bytes: usize,
    /// Most elements in one JSON array payload.
    pub max_batch_elements: usize,
    /// Raw messages buffered between the network poller and the decoder.
    pub raw_channel_capacity: usize,
    /// Most events in one decoded batch.
    pub batch_max_events: usize,
    /// Decoded batches buffered before the engine.
    pub batch_channel_capacity: usize,
    /// Event ids remembered for duplicate detection (the dedup horizon).
    pub dedup_capacity: usize,
    /// Events older than this before arrival are rejected `bad_timestamp` (humantime).
    #[serde(with = "humantime_serde")]
    pub max_event_age: Duration,
    /// Events further than this ahead of arrival are rejected `bad_timestamp` (humantime).
    #[serde(with = "humantime_serde")]
    pub max_event_lead: Duration,
    /// At most one log line per rejection reason per interval (humantime).
    #[serde(with = "humantime_serde")]
    pub reject_log_interval: Duration,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            topics: vec![
                TopicConfig {
                    template: defaults::TXN_TOPIC.into(),
                    kind: TopicKind::Txn,
                },
                TopicConfig {
                    template: defaults::HB_TOPIC.into(),
                    kind: TopicKind::Heartbeat,
                },
            ],
            qos: defaults::QOS,
            max_payload_bytes: defaults::MAX_PAYLOAD_BYTES,
            max_batch_elements: defaults::MAX_BATCH_ELEMENTS,
            raw_channel_capacity: defaults::RAW_CHANNEL_CAPACITY,
            batch_max_events: defaults::BATCH_MAX_EVENTS,
            batch_channel_capacity: defaults::BATCH_CHANNEL_CAPACITY,
            dedup_capacity: defaults::DEDUP_CAPACITY,
            max_event_age: defaults::MAX_EVENT_AGE,
            max_event_lead: defaults::MAX_EVENT_LEAD,
            reject_log_interval: defaults::REJECT_LOG_INTERVAL,
        }
    }
}

/// HTTP server settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Listen address; loopback by default.
    pub listen: SocketAddr,
    /// File holding the API's bearer token (first line). The environment
    /// variable `SWIPEWATCH_API_TOKEN` takes precedence. No token: the API
    /// refuses every mutation.
    pub api_token_file: Option<PathBuf>,
    /// The token, filled from the environment or the file at load.
    #[serde(skip)]
    pub api_token: Option<Secret>,
    /// Values per dimension with their own label in
    /// `swipewatch_dimension_outcomes_total`; later ones count as `other`.
    pub metric_values_per_dimension: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: defaults::LISTEN,
            api_token_file: None,
            api_token: None,
            metric_values_per_dimension: 50,
        }
    }
}

/// Response-code tables.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CodesConfig {
    /// TOML table files, relative to the config file. Empty: the built-in
    /// tables (`config/codes/*.toml` compiled in).
    pub tables: Vec<PathBuf>,
    /// BIN range table (CSV: `low,high,issuer[,scheme,country,card_type]`),
    /// relative to the config file; read at start and again on SIGHUP. An
    /// outcome without `issuer` takes its issuer (and, without `scheme`,
    /// its scheme) from the range holding its `bin`.
    pub bin_table: Option<PathBuf>,
}

/// Event-time windows, lateness and baselines.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Bucket width (humantime); 1s–5m, dividing one hour.
    #[serde(with = "humantime_serde")]
    pub bucket: Duration,
    /// Buckets summed into the evaluation window.
    pub window_buckets: usize,
    /// Watermark = newest event time − this (humantime).
    #[serde(with = "humantime_serde")]
    pub allowed_lateness: Duration,
    /// Terminal clocks further than this from arrival are corrected to arrival (humantime).
    #[serde(with = "humantime_serde")]
    pub max_clock_skew: Duration,
    /// Dimensions (at most 6, low cardinality) whose combinations are the
    /// leaves for localization.
    pub leaf_dims: Vec<String>,
    /// Dimensions with host-latency histograms per value.
    pub latency_dims: Vec<String>,
    /// Baseline EWMA half-life in event time (humantime).
    #[serde(with = "humantime_serde")]
    pub baseline_half_life: Duration,
    /// Pseudo-attempts pulling a sparse value's baseline rate toward its parent.
    pub shrinkage_attempts: f64,
    /// Directory for the engine checkpoint (windows, baselines, terminal
    /// state and interned values); unset: no checkpoint. Restored at start,
    /// written every `checkpoint_interval` and at shutdown.
    pub checkpoint_dir: Option<PathBuf>,
    /// Baselines to start from when no checkpoint is restored (written by
    /// `swipetool baseline` from history); unset: learn from scratch, and
    /// detect only after the learning period.
    pub baseline_file: Option<PathBuf>,
    /// How often the checkpoint is written.
    #[serde(with = "humantime_serde")]
    pub checkpoint_interval: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            bucket: defaults::BUCKET,
            window_buckets: defaults::WINDOW_BUCKETS,
            allowed_lateness: defaults::ALLOWED_LATENESS,
            max_clock_skew: defaults::MAX_CLOCK_SKEW,
            leaf_dims: defaults::LEAF_DIMS.iter().map(|s| s.to_string()).collect(),
            latency_dims: defaults::LATENCY_DIMS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            baseline_half_life: defaults::BASELINE_HALF_LIFE,
            shrinkage_attempts: defaults::SHRINKAGE_ATTEMPTS,
            checkpoint_dir: None,
            baseline_file: None,
            checkpoint_interval: defaults::CHECKPOINT_INTERVAL,
        }
    }
}

impl EngineConfig {
    /// The latency dimensions, parsed. Valid after [`Config::validate`].
    pub fn latency_dims(&self) -> Vec<swipewatch_model::Dim> {
        self.latency_dims
            .iter()
            .filter_map(|d| swipewatch_model::Dim::from_name(d))
            .collect()
    }

    /// The leaf dimensions, parsed. Valid after [`Config::validate`].
    pub fn leaf_dims(&self) -> Vec<swipewatch_model::Dim> {
        self.leaf_dims
            .iter()
            .filter_map(|d| swipewatch_model::Dim::from_name(d))
            .collect()
    }
}
