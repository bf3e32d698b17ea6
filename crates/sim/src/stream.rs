//! What the simulator hands out: the fleet's MQTT messages, the ground
//! truth of each fault occurrence, and the maintenance windows ops declared.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use swipewatch_model::Cause;

/// One MQTT message of the simulated fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Topic, e.g. `dt/pos/v1/north/acq-alpha/pos-000042/txn`.
    pub topic: String,
    /// JSON payload.
    pub payload: Vec<u8>,
    /// Event time on the terminal, epoch ms.
    pub ts_ms: i64,
    /// When the message reaches the broker, epoch ms.
    pub arrival_ms: i64,
}

impl swipewatch_model::RawMessage for Message {
    fn topic(&self) -> &str {
        &self.topic
    }
    fn payload(&self) -> &[u8] {
        &self.payload
    }
    fn arrival_ms(&self) -> i64 {
        self.arrival_ms
    }
}

/// Ground truth for one fault occurrence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    /// Fault kind (snake_case).
    pub kind: String,
    /// Side at fault; absent for a decline surge (nobody's fault).
    pub cause: Option<Cause>,
    /// Where: dimension name → value (`terminal` for a single device).
    pub element: BTreeMap<String, String>,
    /// Onset, epoch ms.
    pub start_ms: i64,
    /// End, epoch ms.
    pub end_ms: i64,
    /// Covered by a declared maintenance window: must not page.
    pub maintenance: bool,
    /// Share of the fleet's transactions during the fault that the target
    /// carried (the fault's reach, not its failure count).
    pub share: f64,
    /// The signal a right finding rests on, where only one does (a
    /// device's health from its heartbeats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<swipewatch_model::Signal>,
}

/// A maintenance window on one acquirer or issuer, in event time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaintenanceWindow {
    /// `acquirer` or `issuer`.
    pub dim: String,
    /// Its value.
    pub value: String,
    /// Start, epoch ms.
    pub start_ms: i64,
    /// End, epoch ms.
    pub end_ms: i64,
}

impl MaintenanceWindow {
    /// The silence ops would declare for it: every incident on its
    /// acquirer or issuer while it lasts.
    pub fn to_silence(&self, comment: &str) -> swipewatch_alert::Silence {
        let dim = if self.dim == "acquirer" {
            swipewatch_model::Dim::Acquirer
        } else {
            swipewatch_model::Dim::Issuer
        };
        swipewatch_alert::Silence {
            id: 0,
            matchers: vec![(dim, self.value.clone())],
            cause: None,
            start_ms: self.start_ms,
            end_ms: self.end_ms,
            comment: comment.to_string(),
        }
    }
}
