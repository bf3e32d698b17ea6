//! The HTTP API's response bodies as types (`docs/openapi.yaml` documents
//! them). The service fills them in the driver task, which owns the
//! engine; handlers only serialize them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use swipewatch_alert::wire::IncidentView;
use swipewatch_alert::State;

/// Every error: `{"error": "..."}` with a 4xx or 5xx status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    /// What went wrong, in one line.
    pub error: String,
}

/// `GET /api/incidents`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentList {
    /// Open incidents first (firing, then newest), then resolved ones.
    pub incidents: Vec<IncidentView>,
}

/// `GET /api/incidents/{id}`: the incident and those listed under it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentDetail {
    /// The incident.
    #[serde(flatten)]
    pub incident: IncidentView,
    /// Devices and silences listed under it (inhibited by it).
    pub children: Vec<IncidentView>,
}

/// One dimension value in a window, by failures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offender {
    /// The value (`(none)` when not reported).
    pub value: String,
    /// Attempts in the window.
    pub attempts: u64,
    /// Failures in the window.
    pub failures: u64,
    /// Failures per attempt (4 decimals).
    pub failure_rate: f64,
    /// Its failure rate over the fleet's (2 decimals; 0 when the fleet
    /// has none).
    pub lift: f64,
    /// Outcomes by class (only classes that occurred).
    pub classes: BTreeMap<String, u64>,
}

/// One window of the last hour: `[end_ms, approval_rate, attempts]`.
pub type HistoryPoint = (i64, f64, u64);

/// `GET /api/window`: the latest closed window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowView {
    /// Window start, epoch ms.
    pub start_ms: i64,
    /// Window end, epoch ms.
    pub end_ms: i64,
    /// Buckets in the window.
    pub buckets: usize,
    /// Buckets that overlapped a broker disconnection.
    pub gap_buckets: usize,
    /// The engine's watermark, epoch ms.
    pub watermark_ms: i64,
    /// Terminals with an outcome in the window's last bucket.
    pub active_terminals_last_bucket: u32,
    /// Attempts in the window.
    pub attempts: u64,
    /// Approved attempts.
    pub approved: u32,
    /// Failed attempts.
    pub failures: u64,
    /// Approved per attempt (4 decimals).
    pub approval_rate: f64,
    /// Failed per attempt (4 decimals).
    pub failure_rate: f64,
    /// Outcomes by class (only classes that occurred).
    pub classes: BTreeMap<String, u64>,
    /// The last hour of windows, oldest first.
    pub history: Vec<HistoryPoint>,
    /// Per dimension, the values with the most failures (served by
    /// `/api/top`, not here).
    #[serde(skip)]
    pub top: BTreeMap<String, Vec<Offender>>,
}

/// `GET /api/top?dimension=..`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopView {
    /// The dimension asked for.
    pub dimension: String,
    /// End of the window, epoch ms.
    pub window_end_ms: i64,
    /// The fleet's failure rate in it.
    pub fleet_failure_rate: f64,
    /// Values with the most failures, most first.
    pub values: Vec<Offender>,
}

/// One bucket of a terminal's own tallies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketTally {
    /// Bucket start, epoch ms.
    pub bucket_start_ms: i64,
    /// Attempts.
    pub attempts: u8,
    /// Failures.
    pub failures: u8,
    /// Reader and PIN-pad errors.
    pub hw_errors: u8,
    /// Chip-to-stripe fallbacks.
    pub fallbacks: u8,
}

/// What a terminal's heartbeats say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthView {
    /// Restarts in the hour before its last heartbeat.
    pub restarts_last_hour: usize,
    /// Its clock against arrival time, seconds.
    pub clock_offset_s: i32,
    /// Heartbeats lost by gaps in its sequence numbers.
    pub heartbeats_lost: u16,
    /// Heartbeats in a row saying its host is out of reach.
    pub host_unreachable_heartbeats_in_a_row: u8,
    /// Heartbeats in a row with a growing offline queue.
    pub queue_growing_heartbeats_in_a_row: u8,
    /// Fields it fills with noise (no longer read).
    pub noisy_fields: Vec<String>,
}

/// An open incident naming a terminal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentRef {
    /// Incident id.
    pub id: u64,
    /// The side at fault.
    pub cause: String,
    /// Its signal (`failures`, `tamper`, ...).
    pub signal: String,
    /// Pending or firing.
    pub state: State,
}

/// `GET /api/terminals/{id}`: one terminal's health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TerminalView {
    /// Its id.
    pub terminal: String,
    /// Its newest event, epoch ms.
    pub last_seen_ms: i64,
    /// Its newest heartbeat, if any.
    pub last_heartbeat_ms: Option<i64>,
    /// Where it is and what it runs.
    pub place: BTreeMap<String, String>,
    /// Failures in a row.
    pub consecutive_failures: u16,
    /// Reader or PIN-pad errors in a row.
    pub consecutive_hw_errors: u16,
    /// The class of its failures in a row, if any.
    pub last_failure_class: Option<String>,
    /// Battery, percent, when reported.
    pub battery_pct: Option<u8>,
    /// Whether its last heartbeat reached the host, when reported.
    pub host_reachable: Option<bool>,
    /// Transactions queued offline (store and forward).
    pub saf_queue_depth: u16,
    /// A tamper report.
    pub tamper: bool,
    /// What its heartbeats say.
    pub health: HealthView,
    /// Its latest buckets, newest first.
    pub recent_buckets: Vec<BucketTally>,
    /// Open incidents that name it.
    pub open_incidents: Vec<IncidentRef>,
}

/// A missing terminal or place (an open missing incident).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissingRef {
    /// Incident id.
    pub incident: u64,
    /// The terminal, for a lone one.
    pub terminal: Option<String>,
    /// `dim=value&...`.
    pub element: String,
    /// Pending or firing.
    pub state: State,
}

/// `GET /api/inventory`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventoryView {
    /// Terminals in the inventory.
    pub listed: usize,
    /// ... of which never heard from.
    pub never_seen: usize,
    /// Up to 100 of their ids.
    pub never_seen_ids: Vec<String>,
    /// Terminals heard from that the inventory does not list.
    pub not_listed: usize,
    /// Up to 100 of their ids.
    pub not_listed_ids: Vec<String>,
    /// Open missing incidents.
    pub missing: Vec<MissingRef>,
}

/// A silence as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SilenceView {
    /// Its id.
    pub id: u64,
    /// Dimension → value an incident's element (or device's place) must hold.
    pub matchers: BTreeMap<String, String>,
    /// Only this cause, if set.
    pub cause: Option<String>,
    /// In force from, epoch ms.
    pub start_ms: i64,
    /// Until, epoch ms.
    pub end_ms: i64,
    /// Why.
    pub comment: String,
    /// In force now.
    pub active: bool,
}

/// `GET /api/silences`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SilenceList {
    /// In the order created.
    pub silences: Vec<SilenceView>,
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
