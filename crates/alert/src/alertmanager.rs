//! The Alertmanager API v2 view of incidents (`POST /api/v2/alerts`).
//!
//! The sink sends the whole current state each time: every firing incident
//! sinks were told of (not silenced, not inhibited when it fired) without
//! `endsAt`, and every such incident that resolved recently with `endsAt`
//! set to its resolution. Alertmanager
//! identifies an alert by its label set (cause + element here, never a
//! run-local id), so re-sending is idempotent: a restart or a retry neither
//! loses nor duplicates a notification.

use crate::{Incident, State};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One alert of `POST /api/v2/alerts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// Identity and routing: `alertname`, `cause`, `severity`, `signal`,
    /// `element`, one label per element dimension, and for a device its
    /// `terminal` and place.
    pub labels: BTreeMap<String, String>,
    /// What on-call reads.
    pub annotations: Annotations,
    /// When it fired, RFC 3339.
    pub starts_at: String,
    /// When it resolved, RFC 3339 (absent while firing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
    /// The console's address.
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
}

/// An alert's annotations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Annotations {
    /// `<cause>: <element>`.
    pub summary: String,
    /// Observed against expected, reach, amounts and top codes.
    pub description: String,
    /// What to check, in order.
    pub runbook: String,
}

/// Alert name of every incident.
pub const ALERT_NAME: &str = "SwipewatchIncident";

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The alerts to post for `incidents`: firing ones, and those resolved at
/// or after `resolved_since_ms`. `console_url` becomes each alert's
/// `generatorURL`.
pub fn alerts(incidents: &[Incident], resolved_since_ms: i64, console_url: &str) -> Vec<Alert> {
    incidents
        .iter()
        .filter(|i| i.notified)
        .filter(|i| match i.state {
            State::Firing => true,
            State::Resolved => i.resolved_ms.is_some_and(|r| r >= resolved_since_ms),
            State::Pending => false,
        })
        .map(|i| alert(i, console_url))
        .collect()
}

fn alert(i: &Incident, console_url: &str) -> Alert {
    let mut labels = BTreeMap::new();
    labels.insert("alertname".into(), ALERT_NAME.into());
    labels.insert("cause".into(), i.key.cause.name().into());
    labels.insert("severity".into(), i.severity.name().into());
    labels.insert("element".into(), i.key.describe());
    for (d, v) in &i.key.element {
        labels.insert(d.name().into(), v.clone());
    }
    if let Some(t) = &i.key.terminal {
        labels.insert("terminal".into(), t.clone());
        // Where the device stands (merchant, acquirer, region, ...), for
        // routing its ticket to the team that serves it.
        for (d, v) in &i.latest.context {
            labels
                .entry(d.name().to_string())
                .or_insert_with(|| v.clone());
        }
    }
    labels.insert(
        "signal".into(),
        i.key.health.unwrap_or(i.latest.signal).name().into(),
    );
    let e = &i.evidence;
    let codes: Vec<String> = e
        .top_codes
        .iter()
        .map(|(c, n)| format!("{c}×{n}"))
        .collect();
    let latency = match i.latest.p95_ms {
        Some((now, normal)) => format!(" (p95 {now:.0} ms, normally {normal:.0} ms)"),
        None => String::new(),
    };
    let description = format!(
        "{} {} where {:.1} were expected in the latest window{latency}. {} failed transactions so far, {} terminals, {} merchants, amount {}; top codes: {}.",
        i.latest.observed,
        i.latest.signal.unit(),
        i.latest.expected,
        e.failed,
        e.terminals,
        e.merchants,
        e.amounts_text(),
        if codes.is_empty() { "-".to_string() } else { codes.join(", ") }
    );
    Alert {
        labels,
        annotations: Annotations {
            summary: format!("{}: {}", i.key.cause.name(), i.key.describe()),
            description,
            runbook: i.runbook().to_string(),
        },
        starts_at: rfc3339(i.fired_ms.unwrap_or(i.first_ms)),
        ends_at: match (i.state, i.resolved_ms) {
            (State::Resolved, Some(end)) => Some(rfc3339(end)),
            _ => None,
        },
        generator_url: console_url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::issuer_finding as finding;
    use crate::{IncidentBook, Policy};
    use serde_json::{json, Value};

    fn all(book: &IncidentBook) -> Vec<Incident> {
        book.open().chain(book.resolved()).cloned().collect()
    }

    /// The body as JSON, as Alertmanager reads it.
    fn body(incidents: &[Incident], resolved_since_ms: i64) -> Value {
        serde_json::to_value(alerts(incidents, resolved_since_ms, "http://x/")).expect("JSON")
    }

    #[test]
    fn only_fired_incidents_are_sent_and_a_resolution_carries_ends_at() {
        let mut book = IncidentBook::new(Policy::default());
        book.update(10_000, &[finding("northbank")]);
        assert_eq!(body(&all(&book), 0), json!([]), "pending is not sent");
        book.update(20_000, &[finding("northbank")]);
        let firing = body(&all(&book), 0);
        assert_eq!(firing.as_array().map(Vec::len), Some(1));
        let a = &firing[0];
        assert_eq!(a["labels"]["alertname"], ALERT_NAME);
        assert_eq!(a["labels"]["cause"], "bank-issuer");
        assert_eq!(a["labels"]["severity"], "page");
        assert_eq!(a["labels"]["issuer"], "northbank");
        assert_eq!(a["labels"]["signal"], "failures");
        assert_eq!(a["startsAt"], "1970-01-01T00:00:20.000Z");
        assert!(a.get("endsAt").is_none());
        assert!(a["annotations"]["runbook"]
            .as_str()
            .is_some_and(|r| !r.is_empty()));
        for t in [30_000, 40_000, 50_000] {
            book.update(t, &[]);
        }
        let resolved = body(&all(&book), 0);
        assert_eq!(resolved[0]["endsAt"], "1970-01-01T00:00:50.000Z");
        // Long resolved ones are no longer sent.
        assert_eq!(body(&all(&book), 60_000), json!([]));
    }

    #[test]
    fn a_device_ticket_carries_where_it_stands_and_a_tamper_page_its_signal() {
        use swipewatch_model::{Cause, Dim, Signal};
        let mut book = IncidentBook::new(Policy::default());
        let tamper = crate::FindingView {
            cause: Cause::DeviceHardware,
            element: vec![(Dim::Model, "a920".into())],
            terminal: Some("T1".into()),
            observed: 1.0,
            expected: 0.0,
            classes: Vec::new(),
            confidence: 1.0,
            signal: Signal::Tamper,
            provisional: false,
            p95_ms: None,
            context: vec![
                (Dim::Merchant, "m-7".into()),
                (Dim::Acquirer, "acq-alpha".into()),
                (Dim::Model, "other".into()),
            ],
        };
        book.update(10_000, &[tamper]);
        let sent = body(&all(&book), 0);
        let labels = &sent[0]["labels"];
        assert_eq!(labels["signal"], "tamper");
        assert_eq!(labels["severity"], "page");
        assert_eq!(labels["merchant"], "m-7");
        assert_eq!(labels["acquirer"], "acq-alpha");
        // The element's own value wins over the context's.
        assert_eq!(labels["model"], "a920");
    }
}
