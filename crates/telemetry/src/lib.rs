//! Every Prometheus metric swipewatch exports, defined in one place.
//!
//! Names follow `swipewatch_<what>_<unit>[_total]`. Label values come only
//! from closed enums of the model crate, so cardinality is fixed at startup;
//! a terminal or merchant id is never a label (top-N lists belong to the API).
//! Children for every label value are created up front: the hot path
//! increments a pre-resolved counter and never formats or hashes a label.

use prometheus::{
    Encoder, Gauge, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use swipewatch_model::{Cause, Dim, DroppedField, OutcomeClass, RejectReason, Signal};

/// What an ingested MQTT message or event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Transaction outcome.
    Outcome,
    /// Heartbeat.
    Heartbeat,
}

impl EventKind {
    fn name(self) -> &'static str {
        match self {
            EventKind::Outcome => "outcome",
            EventKind::Heartbeat => "heartbeat",
        }
    }
}

/// Ingest-stage metrics.
#[derive(Clone)]
pub struct IngestMetrics {
    messages: [IntCounter; 2],
    accepted: [IntCounter; 2],
    rejected: Vec<IntCounter>,
    dropped: Vec<IntCounter>,
    /// Payload bytes received.
    pub bytes: IntCounter,
    /// Accepted outcomes whose response code or terminal error no table knew.
    pub unknown_codes: IntCounter,
    /// 1 while the broker connection is up.
    pub connected: IntGauge,
    /// Connection errors followed by a reconnect attempt.
    pub reconnects: IntCounter,
}

impl IngestMetrics {
    /// MQTT messages received on topics of `kind`.
    pub fn messages(&self, kind: EventKind) -> &IntCounter {
        &self.messages[kind as usize]
    }

    /// Events of `kind` accepted.
    pub fn accepted(&self, kind: EventKind) -> &IntCounter {
        &self.accepted[kind as usize]
    }

    /// Messages (or batch elements) rejected for `reason`.
    pub fn rejected(&self, reason: RejectReason) -> &IntCounter {
        &self.rejected[reason.index()]
    }

    /// Malformed optional `field`s dropped from events that were kept.
    pub fn dropped(&self, field: DroppedField) -> &IntCounter {
        &self.dropped[field.index()]
    }
}

/// Window-engine metrics.
#[derive(Clone)]
pub struct EngineMetrics {
    /// Processing time minus the watermark, seconds.
    pub watermark_lag_seconds: Gauge,
    recorded: [IntCounter; 2],
    /// Buckets closed.
    pub buckets_closed: IntCounter,
    /// Outcomes the engine's state holds, since it first started: restored
    /// with its checkpoint, so a restart neither drops nor repeats them.
    pub outcomes_held: IntCounter,
    /// Buckets closed that overlapped a broker disconnection.
    pub data_gap_buckets: IntCounter,
    /// Outcomes that arrived after their bucket closed.
    pub late_events: IntCounter,
    /// Events whose terminal clock was replaced by arrival time.
    pub skew_corrected: IntCounter,
    /// Terminals with state.
    pub tracked_terminals: IntGauge,
    /// Buckets open (waiting for the watermark).
    pub open_buckets: IntGauge,
    outcomes: Vec<IntCounter>,
}

impl EngineMetrics {
    /// Events of `kind` the engine has recorded (accepted minus this is
    /// what waits between decoding and the engine).
    pub fn recorded(&self, kind: EventKind) -> &IntCounter {
        &self.recorded[kind as usize]
    }

    /// Outcomes of `class` in closed buckets.
    pub fn outcomes(&self, class: OutcomeClass) -> &IntCounter {
        &self.outcomes[class.index()]
    }
}

/// Detection metrics.
#[derive(Clone)]
pub struct DiagnoseMetrics {
    /// Closed windows evaluated.
    pub windows: IntCounter,
    findings: Vec<IntGauge>,
}

impl DiagnoseMetrics {
    /// Findings of `cause` in the latest evaluated window.
    pub fn findings(&self, cause: Cause) -> &IntGauge {
        &self.findings[cause as usize]
    }
}

/// Alert sink metrics.
#[derive(Clone)]
pub struct AlertMetrics {
    /// Posts to Alertmanager accepted (2xx).
    pub alertmanager_ok: IntCounter,
    /// Posts to Alertmanager that failed (connection error or non-2xx); retried.
    pub alertmanager_failed: IntCounter,
    /// Deliveries by sink (`webhook`, `mqtt`) and result (`ok`, `error`).
    deliveries: IntCounterVec,
    /// Notices waiting for delivery, by sink.
    queued: prometheus::IntGaugeVec,
}

impl AlertMetrics {
    /// Counts one delivery attempt of `sink` (a fixed sink name).
    pub fn delivery(&self, sink: &'static str, ok: bool) {
        self.deliveries
            .with_label_values(&[sink, if ok { "ok" } else { "error" }])
            .inc();
    }

    /// Sets how many notices wait for `sink`.
    pub fn set_queued(&self, sink: &'static str, n: usize) {
        self.queued.with_label_values(&[sink]).set(n as i64);
    }
}

/// Breakdowns with bounded labels: per dimension value (capped by the
/// caller), per response code, open incidents.
#[derive(Clone)]
pub struct BreakdownMetrics {
    dimension_outcomes: IntCounterVec,
    response_codes: IntCounterVec,
    incidents: prometheus::IntGaugeVec,
    unwell: prometheus::IntGaugeVec,
}

impl BreakdownMetrics {
    /// The counter of `class` outcomes where `dim` = `value` (a value the
    /// caller has admitted under its cap, or `other`).
    pub fn dimension_outcomes(&self, dim: Dim, value: &str, class: OutcomeClass) -> IntCounter {
        self.dimension_outcomes
            .with_label_values(&[dim.name(), value, class.name()])
    }

    /// The counter of response code `code` (admitted under the cap, or `other`).
    pub fn response_code(&self, code: &str) -> IntCounter {
        self.response_codes.with_label_values(&[code])
    }

    /// Sets the number of terminals with an open incident of the health
    /// `signal` (tamper, host-unreachable, ...).
    pub fn set_unwell(&self, signal: Signal, n: i64) {
        self.unwell.with_label_values(&[signal.name()]).set(n);
    }

    /// Sets the number of open incidents of `cause`, `severity`, `state`.
    pub fn set_incidents(&self, cause: Cause, severity: &str, state: &str, n: i64) {
        self.incidents
            .with_label_values(&[cause.name(), severity, state])
            .set(n);
    }
}

/// The registry and every metric in it.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Ingest-stage metrics.
    pub ingest: IngestMetrics,
    /// Window-engine metrics.
    pub engine: EngineMetrics,
    /// Detection metrics.
    pub diagnose: DiagnoseMetrics,
    /// Alert sink metrics.
    pub alerts: AlertMetrics,
    /// Outcomes by bounded dimension value, response codes, open incidents.
    pub breakdown: BreakdownMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        // CPU, memory, file descriptors and start time of this process
        // (`process_*`, Linux).
        #[cfg(target_os = "linux")]
        registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("unique metric");
        let by_kind = |name: &str, help: &str| {
            let vec = IntCounterVec::new(Opts::new(name, help), &["kind"]).expect("valid metric");
            registry
                .register(Box::new(vec.clone()))
                .expect("unique metric");
            [EventKind::Outcome, EventKind::Heartbeat].map(|k| vec.with_label_values(&[k.name()]))
        };
        let messages = by_kind(
            "swipewatch_ingest_messages_total",
            "MQTT messages received, by the kind of topic they arrived on.",
        );
        let accepted = by_kind(
            "swipewatch_ingest_accepted_total",
            "Events accepted after decoding, validation and dedup.",
        );
        let rejected_vec = IntCounterVec::new(
            Opts::new(
                "swipewatch_ingest_rejected_total",
                "Messages (or elements of a JSON array) rejected, by reason.",
            ),
            &["reason"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(rejected_vec.clone()))
            .expect("unique metric");
        let rejected = RejectReason::ALL
            .iter()
            .map(|r| rejected_vec.with_label_values(&[r.name()]))
            .collect();
        let dropped_vec = IntCounterVec::new(
            Opts::new(
                "swipewatch_ingest_fields_dropped_total",
                "Malformed optional fields dropped from outcomes and heartbeats that were kept, by field.",
            ),
            &["field"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(dropped_vec.clone()))
            .expect("unique metric");
        let dropped = DroppedField::ALL
            .iter()
            .map(|f| dropped_vec.with_label_values(&[f.name()]))
            .collect();
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("valid metric");
            registry
                .register(Box::new(c.clone()))
                .expect("unique metric");
            c
        };
        let bytes = counter(
            "swipewatch_ingest_bytes_total",
            "MQTT payload bytes received.",
        );
        let unknown_codes = counter(
            "swipewatch_ingest_unknown_codes_total",
            "Accepted outcomes whose response code or terminal error no code table knew (class unknown).",
        );
        let reconnects = counter(
            "swipewatch_mqtt_reconnects_total",
            "Broker connection errors followed by a reconnect attempt.",
        );
        let connected = IntGauge::new(
            "swipewatch_mqtt_connected",
            "1 while the broker connection is up.",
        )
        .expect("valid metric");
        registry
            .register(Box::new(connected.clone()))
            .expect("unique metric");
        let outcomes_vec = IntCounterVec::new(
            Opts::new(
                "swipewatch_fleet_outcomes_total",
                "Outcomes counted in closed event-time buckets, by normalized class.",
            ),
            &["class"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(outcomes_vec.clone()))
            .expect("unique metric");
        let recorded = by_kind(
            "swipewatch_engine_events_total",
            "Events recorded by the engine; accepted minus recorded is the queue between decoding and the engine.",
        );
        let engine = EngineMetrics {
            recorded,
            watermark_lag_seconds: {
                let g = Gauge::new(
                    "swipewatch_engine_watermark_lag_seconds",
                    "Processing time minus the event-time watermark.",
                )
                .expect("valid metric");
                registry.register(Box::new(g.clone())).expect("unique metric");
                g
            },
            buckets_closed: counter("swipewatch_engine_buckets_closed_total", "Event-time buckets closed."),
            outcomes_held: counter(
                "swipewatch_engine_outcomes_held_total",
                "Outcomes counted into the engine's state (buckets and late tally) since it first started; continues from the checkpoint after a restart.",
            ),
            data_gap_buckets: counter(
                "swipewatch_engine_data_gap_buckets_total",
                "Buckets closed that overlapped a broker disconnection (data gap, not silence).",
            ),
            late_events: counter(
                "swipewatch_engine_late_events_total",
                "Outcomes that arrived after their bucket closed (kept in the late tally).",
            ),
            skew_corrected: counter(
                "swipewatch_engine_skew_corrected_total",
                "Events whose terminal clock was off by more than the allowed skew and was replaced by arrival time.",
            ),
            tracked_terminals: gauge(&registry, "swipewatch_engine_tracked_terminals", "Terminals with state in the engine."),
            open_buckets: gauge(&registry, "swipewatch_engine_open_buckets", "Event-time buckets waiting for the watermark."),
            outcomes: OutcomeClass::ALL
                .iter()
                .map(|c| outcomes_vec.with_label_values(&[c.name()]))
                .collect(),
        };
        let findings_vec = prometheus::IntGaugeVec::new(
            Opts::new(
                "swipewatch_diagnose_findings",
                "Localized, classified anomalies in the latest evaluated window, by cause.",
            ),
            &["cause"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(findings_vec.clone()))
            .expect("unique metric");
        let diagnose = DiagnoseMetrics {
            windows: counter(
                "swipewatch_diagnose_windows_total",
                "Closed windows evaluated by detection.",
            ),
            findings: Cause::ALL
                .iter()
                .map(|c| findings_vec.with_label_values(&[c.name()]))
                .collect(),
        };
        let posts = IntCounterVec::new(
            Opts::new(
                "swipewatch_alert_deliveries_total",
                "Deliveries of the incident state to a sink, by sink and result.",
            ),
            &["sink", "result"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(posts.clone()))
            .expect("unique metric");
        let queued = prometheus::IntGaugeVec::new(
            Opts::new(
                "swipewatch_alert_queue_depth",
                "Incident notices waiting for delivery, by sink.",
            ),
            &["sink"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(queued.clone()))
            .expect("unique metric");
        for sink in ["webhook", "mqtt"] {
            queued.with_label_values(&[sink]).set(0);
        }
        let alerts = AlertMetrics {
            alertmanager_ok: posts.with_label_values(&["alertmanager", "ok"]),
            alertmanager_failed: posts.with_label_values(&["alertmanager", "error"]),
            deliveries: posts.clone(),
            queued,
        };
        let vec = |name: &str, help: &str, labels: &[&str]| {
            let v = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry
                .register(Box::new(v.clone()))
                .expect("unique metric");
            v
        };
        let incidents = prometheus::IntGaugeVec::new(
            Opts::new(
                "swipewatch_incidents_open",
                "Open incidents by cause, severity and state (pending or firing).",
            ),
            &["cause", "severity", "state"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(incidents.clone()))
            .expect("unique metric");
        for cause in Cause::ALL {
            for severity in ["ticket", "warning", "page"] {
                for state in ["pending", "firing"] {
                    incidents
                        .with_label_values(&[cause.name(), severity, state])
                        .set(0);
                }
            }
        }
        let unwell = prometheus::IntGaugeVec::new(
            Opts::new(
                "swipewatch_terminals_unwell",
                "Terminals with an open incident of a device-health signal read off their heartbeats (tamper, host-unreachable, offline-queue, reboot-loop, battery-low, clock-drift).",
            ),
            &["signal"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(unwell.clone()))
            .expect("unique metric");
        for signal in Signal::ALL.into_iter().filter(|s| s.is_health()) {
            unwell.with_label_values(&[signal.name()]).set(0);
        }
        let breakdown = BreakdownMetrics {
            dimension_outcomes: vec(
                "swipewatch_dimension_outcomes_total",
                "Outcomes in closed buckets by dimension, value and class. Values per dimension are capped (server.metric_values_per_dimension); the rest count as value=\"other\".",
                &["dimension", "value", "class"],
            ),
            response_codes: vec(
                "swipewatch_response_codes_total",
                "Outcomes by response code (the first 100 distinct codes; the rest count as code=\"other\").",
                &["code"],
            ),
            incidents,
            unwell,
        };
        Metrics {
            registry,
            engine,
            diagnose,
            alerts,
            breakdown,
            ingest: IngestMetrics {
                messages,
                accepted,
                rejected,
                dropped,
                bytes,
                unknown_codes,
                connected,
                reconnects,
            },
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut buf = Vec::new();
        // Encoding into a Vec cannot fail for well-formed families.
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("valid metric");
    registry
        .register(Box::new(g.clone()))
        .expect("unique metric");
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reject_reason_is_exported_from_the_start() {
        let m = Metrics::new();
        m.ingest.rejected(RejectReason::Duplicate).inc();
        let text = m.encode();
        for r in RejectReason::ALL {
            assert!(
                text.contains(&format!(
                    "swipewatch_ingest_rejected_total{{reason=\"{}\"}}",
                    r.name()
                )),
                "{r}"
            );
        }
        assert!(text.contains("swipewatch_ingest_rejected_total{reason=\"duplicate\"} 1"));
        assert!(text.contains("swipewatch_mqtt_connected 0"));
    }
}
