//! Why a message or an element of a batch was refused.

use serde::{Deserialize, Serialize};

/// A bounded rejection reason; the label of `swipewatch_ingest_rejected_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// Not JSON, or not an object / array of objects, or not UTF-8.
    MalformedJson,
    /// A required field is absent (and no topic level fills it).
    MissingField,
    /// A field has the wrong type or an impossible value.
    BadType,
    /// The payload, or the array in it, is larger than allowed.
    TooLarge,
    /// The event time is unparseable or absurdly far from arrival.
    BadTimestamp,
    /// The payload carries something that looks like a full card number.
    CardNumberPresent,
    /// An `event_id` already seen within the dedup horizon.
    Duplicate,
}

impl RejectReason {
    /// Every reason, in declaration order.
    pub const ALL: [RejectReason; 7] = [
        RejectReason::MalformedJson,
        RejectReason::MissingField,
        RejectReason::BadType,
        RejectReason::TooLarge,
        RejectReason::BadTimestamp,
        RejectReason::CardNumberPresent,
        RejectReason::Duplicate,
    ];

    /// Position in [`RejectReason::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The label value.
    pub fn name(self) -> &'static str {
        match self {
            RejectReason::MalformedJson => "malformed_json",
            RejectReason::MissingField => "missing_field",
            RejectReason::BadType => "bad_type",
            RejectReason::TooLarge => "too_large",
            RejectReason::BadTimestamp => "bad_timestamp",
            RejectReason::CardNumberPresent => "card_number_present",
            RejectReason::Duplicate => "duplicate",
        }
    }
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
