//! Incidents and what they are made of: findings, keys, lifecycle states,
//! severities, notices and the hysteresis policy.

use serde::{Deserialize, Serialize};
use swipewatch_model::{Cause, Dim, OutcomeClass, Signal};

pub use crate::evidence::Evidence;

/// One window's finding, with interned values already resolved to text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingView {
    /// Blamed side.
    pub cause: Cause,
    /// Where.
    pub element: Vec<(Dim, String)>,
    /// The terminal, for a single-device finding.
    pub terminal: Option<String>,
    /// Failures of the implicated classes under the element.
    pub observed: f64,
    /// What the baselines expected.
    pub expected: f64,
    /// Excess per class, largest first.
    pub classes: Vec<(OutcomeClass, f64)>,
    /// 0–1.
    pub confidence: f64,
    /// What the finding is based on: failures, missing traffic, latency,
    /// fallbacks.
    pub signal: Signal,
    /// Below the failure floor: opens or keeps a pending incident, never
    /// fires one.
    #[serde(default)]
    pub provisional: bool,
    /// For a latency finding: the window's p95 and the baseline's, ms.
    #[serde(default)]
    pub p95_ms: Option<(f64, f64)>,
    /// For a single device: where the terminal is (region, carrier, link,
    /// acquirer, merchant, model, software), to tell which outage explains it.
    #[serde(default)]
    pub context: Vec<(Dim, String)>,
}

/// What identifies an incident across windows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    /// Blamed side.
    pub cause: Cause,
    /// Where.
    pub element: Vec<(Dim, String)>,
    /// The terminal, for a single device.
    pub terminal: Option<String>,
    /// The element got slow (a latency finding): an early warning kept
    /// apart from the failures that may follow, which page on their own.
    #[serde(default)]
    pub slow: bool,
    /// For a terminal's health signal (tamper, restarts, its host out of
    /// reach, ...): which one. Each is an incident of its own beside the
    /// terminal's failures, so a tamper report is never folded into them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Signal>,
}

impl Key {
    /// `dim=value&...` (and `terminal=...`), for logs and the API.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .element
            .iter()
            .map(|(d, v)| format!("{d}={v}"))
            .collect();
        if let Some(t) = &self.terminal {
            parts.push(format!("terminal={t}"));
        }
        let mut text = parts.join("&");
        if self.slow {
            text.push_str(" (slow)");
        }
        if let Some(signal) = self.health {
            text.push_str(&format!(" ({})", signal.name()));
        }
        text
    }
}

/// Lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Seen, not yet confirmed.
    Pending,
    /// Confirmed; sinks are told.
    Firing,
    /// Over.
    Resolved,
}

/// Who is told: the pager, the ops channel, or the field-service queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// One terminal: a field-service ticket, never the pager.
    Ticket,
    /// Worth a look in working hours (small impact, or the merchant's own setup).
    Warning,
    /// Wake someone up: a bank or network problem with real impact.
    Page,
}

impl Severity {
    /// Every severity, least urgent first.
    pub const ALL: [Severity; 3] = [Severity::Ticket, Severity::Warning, Severity::Page];

    /// snake_case name, as in labels.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Ticket => "ticket",
            Severity::Warning => "warning",
            Severity::Page => "page",
        }
    }
}

/// An incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Stable within a run, increasing.
    pub id: u64,
    /// Cause and element.
    pub key: Key,
    /// Lifecycle state.
    pub state: State,
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
    /// Windows in a row with (while pending) or without (while firing) it.
    pub(crate) streak: u32,
    /// The first window's observation.
    pub first_observed: f64,
    /// The latest window's finding.
    pub latest: FindingView,
    /// Failures beyond expectation, summed over the windows seen.
    pub excess: f64,
    /// A maintenance window covers it: it is kept and shown, never sent.
    pub silenced: bool,
    /// Codes, reach and impact of the failures under it.
    pub evidence: Evidence,
    /// Routing from impact; fixed once sinks have been told.
    pub severity: Severity,
    /// The bank or network incident that explains it: it is listed under
    /// that one and not sent on its own.
    pub inhibited_by: Option<u64>,
    /// Sinks have been told it fired (so they will be told it resolved).
    pub notified: bool,
}

impl Incident {
    /// What on-call does first: by its side, the signal of its latest
    /// finding and the class leading that finding's excess.
    pub fn runbook(&self) -> &'static str {
        let lead = self
            .latest
            .classes
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|c| c.0);
        swipewatch_model::runbook::runbook(self.key.cause, self.latest.signal, lead)
    }

    /// Failures beyond expectation per minute in the latest window (for a
    /// silence: transactions missing per minute; for latency: slow ones).
    pub fn impact_per_min(&self, window_ms: i64) -> f64 {
        let minutes = (window_ms as f64 / 60_000.0).max(1e-9);
        let f = &self.latest;
        (f.observed - f.expected).abs() / minutes
    }
}

/// What sinks that follow transitions (webhook, MQTT) are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// The incident fired (and is neither silenced nor inhibited).
    Fired,
    /// A notified incident resolved.
    Resolved,
}

/// One notification, in the order they happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// Fired or resolved.
    pub kind: NoticeKind,
    /// The incident as it was then.
    pub incident: Incident,
}

/// A lifecycle step to act on (log, send).
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// A new pending incident.
    Opened(Incident),
    /// Confirmed.
    Fired(Incident),
    /// Over (or, if it never fired, dropped).
    Resolved(Incident),
    /// A pending incident took the element of a nested finding (a part or
    /// a whole of the element it opened with): the first window of a fault
    /// holds few failures, and they may all fall in one part of it.
    Refined(Incident),
}

impl Transition {
    /// The incident as it is after the step.
    pub fn incident(&self) -> &Incident {
        match self {
            Transition::Opened(i)
            | Transition::Fired(i)
            | Transition::Resolved(i)
            | Transition::Refined(i) => i,
        }
    }
}

/// Hysteresis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Windows in a row with the finding before an incident fires.
    pub fire_after: u32,
    /// The same for a dead card reader or PIN pad (its own test already
    /// needs a run of errors); other single-terminal findings wait
    /// `fire_after` windows.
    pub device_fire_after: u32,
    /// Other single-terminal findings also wait this long after they
    /// opened, ms. A terminal's run of failures is read live, as far as
    /// the newest event, while the window that would show the outage
    /// behind it still lags by the allowed lateness: the hold (lateness
    /// plus a bucket) lets that window close and list the terminal under
    /// the outage before the terminal is sent as a ticket of its own.
    pub device_hold_ms: i64,
    /// Windows in a row without the finding before an incident resolves.
    pub resolve_after: u32,
    /// The same for a single device: a broken terminal that is simply not
    /// used for a while is still broken.
    pub device_resolve_after: u32,
    /// Resolved incidents kept for the API.
    pub keep_resolved: usize,
    /// How long after it resolved an outage still explains terminals that
    /// fail inside it with its classes (their long memory holds it).
    pub aftermath_ms: i64,
    /// Evaluation window, ms (impact per minute is taken over it).
    pub window_ms: i64,
    /// A bank or network incident pages from this many excess failures
    /// (or missing transactions) per minute...
    pub page_failed_per_min: f64,
    /// ... or this many terminals affected.
    pub page_terminals: u64,
    /// A silence still covers findings this long after it ends: windows
    /// reach back in time, so the tail of a cut-over that ended on schedule
    /// would otherwise page just after its maintenance window.
    pub silence_grace_ms: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            fire_after: 2,
            device_fire_after: 1,
            device_hold_ms: 40_000,
            resolve_after: 3,
            device_resolve_after: 30,
            keep_resolved: 200,
            aftermath_ms: 30 * 60_000,
            window_ms: 60_000,
            page_failed_per_min: 5.0,
            page_terminals: 20,
            silence_grace_ms: 120_000,
        }
    }
}
