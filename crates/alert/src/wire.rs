//! The incident as the outside world reads it. The HTTP API, the webhook
//! body and the MQTT incident topics share [`IncidentView`]; the durable
//! incident log keeps the internal serde form of [`Incident`], which may
//! change between releases without breaking a receiver. A webhook body
//! carries its format version.

use crate::{Incident, NoticeKind, Severity, State};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of [`WebhookBody`]; raised when a field changes meaning or goes.
pub const WEBHOOK_VERSION: u32 = 1;

/// A latency finding's p95, ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct P95 {
    /// In the window.
    pub window: f64,
    /// The element's own normal.
    pub baseline: f64,
}

/// A response code or terminal error and how often it came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeCount {
    /// The code (`91`, `host_timeout`).
    pub code: String,
    /// Failures with it.
    pub count: u64,
}

/// What the failures under an incident show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceView {
    /// Most frequent codes of the implicated classes, most frequent first.
    pub top_codes: Vec<CodeCount>,
    /// Distinct terminals with such a failure.
    pub terminals: u64,
    /// Distinct merchants with such a failure.
    pub merchants: u64,
    /// Failed transactions of the implicated classes.
    pub failed: u64,
    /// Their amount in minor units, all currencies summed (read `amounts`).
    pub amount_minor: u64,
    /// Their amount per ISO 4217 currency, minor units, largest first.
    pub amounts: Vec<(String, u64)>,
    /// The same in major units with each currency's decimals.
    pub amounts_text: String,
    /// Event time the tally started, epoch ms.
    pub since_ms: i64,
}

/// An incident as the API lists it and sinks receive it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentView {
    /// Stable within a run, increasing.
    pub id: u64,
    /// `pending`, `firing` or `resolved`.
    pub state: State,
    /// The side at fault (`bank-issuer`, `network`, ...).
    pub cause: String,
    /// What the finding is based on (`failures`, `missing`, `latency`, a
    /// health signal).
    pub signal: String,
    /// The unit of `observed` and `expected`.
    pub unit: String,
    /// For a latency finding.
    pub p95_ms: Option<P95>,
    /// `dim=value&...` (and `terminal=...`).
    pub summary: String,
    /// The element, dimension → value.
    pub element: BTreeMap<String, String>,
    /// The terminal, for a single device.
    pub terminal: Option<String>,
    /// `ticket`, `warning` or `page`.
    pub severity: Severity,
    /// Whether it pages now (a page, neither silenced nor listed under
    /// another incident).
    pub pages: bool,
    /// A silence covers it.
    pub silenced: bool,
    /// The incident it is listed under.
    pub inhibited_by: Option<u64>,
    /// Sinks have been told it fired.
    pub notified: bool,
    /// End of the first window with the finding, epoch ms.
    pub first_ms: i64,
    /// End of the window it fired in.
    pub fired_ms: Option<i64>,
    /// End of the latest window with the finding.
    pub last_ms: i64,
    /// End of the window it resolved in.
    pub resolved_ms: Option<i64>,
    /// Windows with the finding.
    pub windows: u32,
    /// The latest window's count under the element.
    pub observed: f64,
    /// What the baselines expected (one decimal).
    pub expected: f64,
    /// Failures beyond expectation over the windows seen.
    pub excess_failures: f64,
    /// Excess per failure class.
    pub classes: BTreeMap<String, f64>,
    /// 0–1, two decimals.
    pub confidence: f64,
    /// What to check, in order.
    pub runbook: String,
    /// Codes, reach and amounts of the failures under it.
    pub evidence: EvidenceView,
}

impl From<&Incident> for IncidentView {
    fn from(i: &Incident) -> IncidentView {
        let e = &i.evidence;
        IncidentView {
            id: i.id,
            state: i.state,
            cause: i.key.cause.name().to_string(),
            signal: i.latest.signal.name().to_string(),
            unit: i.latest.signal.unit().to_string(),
            p95_ms: i
                .latest
                .p95_ms
                .map(|(window, baseline)| P95 { window, baseline }),
            summary: i.key.describe(),
            element: i
                .key
                .element
                .iter()
                .map(|(d, v)| (d.name().to_string(), v.clone()))
                .collect(),
            terminal: i.key.terminal.clone(),
            severity: i.severity,
            pages: i.severity == Severity::Page && !i.silenced && i.inhibited_by.is_none(),
            silenced: i.silenced,
            inhibited_by: i.inhibited_by,
            notified: i.notified,
            first_ms: i.first_ms,
            fired_ms: i.fired_ms,
            last_ms: i.last_ms,
            resolved_ms: i.resolved_ms,
            windows: i.windows,
            observed: i.latest.observed,
            expected: (i.latest.expected * 10.0).round() / 10.0,
            excess_failures: i.excess.round(),
            classes: i
                .latest
                .classes
                .iter()
                .map(|(c, x)| (c.name().to_string(), x.round()))
                .collect(),
            confidence: (i.latest.confidence * 100.0).round() / 100.0,
            runbook: i.runbook().to_string(),
            evidence: EvidenceView {
                top_codes: e
                    .top_codes
                    .iter()
                    .map(|(code, count)| CodeCount {
                        code: code.clone(),
                        count: *count,
                    })
                    .collect(),
                terminals: e.terminals,
                merchants: e.merchants,
                failed: e.failed,
                amount_minor: e.amount_minor,
                amounts: e.amounts.clone(),
                amounts_text: e.amounts_text(),
                since_ms: e.since_ms,
            },
        }
    }
}

/// What a webhook receives for one notice (and what an MQTT incident topic
/// holds): `docs/webhook-example.json` is an example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookBody {
    /// Format version ([`WEBHOOK_VERSION`]).
    pub version: u32,
    /// The notice's number: increasing, the same on a retry (an
    /// idempotency key; also in `X-Swipewatch-Delivery`).
    pub seq: u64,
    /// `fired` or `resolved`.
    pub event: NoticeKind,
    /// `<cause>: <element>`.
    pub summary: String,
    /// `ticket`, `warning` or `page`.
    pub severity: Severity,
    /// What to check, in order.
    pub runbook: String,
    /// The console's address.
    pub console: String,
    /// The incident.
    pub incident: IncidentView,
}

impl WebhookBody {
    /// The body for notice `seq` about `incident`.
    pub fn new(seq: u64, kind: NoticeKind, incident: &Incident, console: &str) -> WebhookBody {
        WebhookBody {
            version: WEBHOOK_VERSION,
            seq,
            event: kind,
            summary: format!("{}: {}", incident.key.cause.name(), incident.key.describe()),
            severity: incident.severity,
            runbook: incident.runbook().to_string(),
            console: console.to_string(),
            incident: IncidentView::from(incident),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::issuer_finding;
    use crate::{IncidentBook, Policy};
    use serde_json::Value;

    /// The checked-in example of the webhook contract.
    const EXAMPLE: &str = include_str!("../../../docs/webhook-example.json");

    /// Every key path of a JSON value (`incident.evidence.top_codes[].code`).
    fn paths(v: &Value, prefix: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    // Maps keyed by data (element, classes) are not schema.
                    let here = format!("{prefix}{k}");
                    out.push(here.clone());
                    if !matches!(k.as_str(), "element" | "classes") {
                        paths(child, &format!("{here}."), out);
                    }
                }
            }
            Value::Array(items) => {
                if let Some(first) = items.first() {
                    paths(first, &format!("{}[].", prefix.trim_end_matches('.')), out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn a_webhook_body_has_exactly_the_fields_of_the_documented_example() {
        let mut book = IncidentBook::new(Policy::default());
        let finding = issuer_finding("northbank");
        let mut t = 60_000;
        let mut fired = loop {
            let transitions = book.update(t, std::slice::from_ref(&finding));
            if let Some(crate::Transition::Fired(i)) = transitions
                .into_iter()
                .find(|x| matches!(x, crate::Transition::Fired(_)))
            {
                break i;
            }
            t += 10_000;
            assert!(t < 600_000, "the incident never fired");
        };
        fired.evidence.top_codes = vec![("91".to_string(), 3)];
        fired.evidence.amounts = vec![("CNY".to_string(), 100)];
        let body = serde_json::to_value(WebhookBody::new(9, NoticeKind::Fired, &fired, "x"))
            .expect("serializes");
        let example: Value = serde_json::from_str(EXAMPLE).expect("the example is JSON");
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        paths(&body, "", &mut ours);
        paths(&example, "", &mut theirs);
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs);
        let parsed: WebhookBody = serde_json::from_str(EXAMPLE).expect("the example reads back");
        assert_eq!(parsed.version, WEBHOOK_VERSION);
        assert_eq!(parsed.incident.state, State::Firing);
    }
}
