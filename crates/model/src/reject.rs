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

/// An optional field that was malformed, so it was dropped and the rest of
/// its outcome or heartbeat kept; the label of
/// `swipewatch_ingest_fields_dropped_total`. Only the fields detection needs
/// (`event_id`, `terminal_id`, `ts`, `outcome`) reject the whole element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)] // each variant is the wire field of the same name
pub enum DroppedField {
    MerchantId,
    Acquirer,
    Issuer,
    Bin,
    Scheme,
    Seq,
    Rc,
    RcSource,
    TermError,
    EntryMode,
    LatencyMs,
    Saf,
    Net,
    NetType,
    Carrier,
    CellId,
    Rssi,
    Sw,
    Firmware,
    App,
    Model,
    Region,
    AmountMinor,
    Currency,
    UptimeS,
    BatteryPct,
    HostReachable,
    SafQueueDepth,
    ReaderCounts,
    Tamper,
    TxnType,
}

impl DroppedField {
    /// Every field, in declaration order.
    pub const ALL: [DroppedField; 31] = [
        DroppedField::MerchantId,
        DroppedField::Acquirer,
        DroppedField::Issuer,
        DroppedField::Bin,
        DroppedField::Scheme,
        DroppedField::Seq,
        DroppedField::Rc,
        DroppedField::RcSource,
        DroppedField::TermError,
        DroppedField::EntryMode,
        DroppedField::LatencyMs,
        DroppedField::Saf,
        DroppedField::Net,
        DroppedField::NetType,
        DroppedField::Carrier,
        DroppedField::CellId,
        DroppedField::Rssi,
        DroppedField::Sw,
        DroppedField::Firmware,
        DroppedField::App,
        DroppedField::Model,
        DroppedField::Region,
        DroppedField::AmountMinor,
        DroppedField::Currency,
        DroppedField::UptimeS,
        DroppedField::BatteryPct,
        DroppedField::HostReachable,
        DroppedField::SafQueueDepth,
        DroppedField::ReaderCounts,
        DroppedField::Tamper,
        DroppedField::TxnType,
    ];

    /// Position in [`DroppedField::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The label value: the field's path in the payload.
    pub fn name(self) -> &'static str {
        match self {
            DroppedField::MerchantId => "merchant_id",
            DroppedField::Acquirer => "acquirer",
            DroppedField::Issuer => "issuer",
            DroppedField::Bin => "bin",
            DroppedField::Scheme => "scheme",
            DroppedField::Seq => "seq",
            DroppedField::Rc => "rc",
            DroppedField::RcSource => "rc_source",
            DroppedField::TermError => "term_error",
            DroppedField::EntryMode => "entry_mode",
            DroppedField::LatencyMs => "latency_ms",
            DroppedField::Saf => "saf",
            DroppedField::Net => "net",
            DroppedField::NetType => "net.type",
            DroppedField::Carrier => "net.carrier",
            DroppedField::CellId => "net.cell_id",
            DroppedField::Rssi => "net.rssi",
            DroppedField::Sw => "sw",
            DroppedField::Firmware => "sw.fw",
            DroppedField::App => "sw.app",
            DroppedField::Model => "model",
            DroppedField::Region => "region",
            DroppedField::AmountMinor => "amount_minor",
            DroppedField::Currency => "currency",
            DroppedField::UptimeS => "uptime_s",
            DroppedField::BatteryPct => "battery_pct",
            DroppedField::HostReachable => "host_reachable",
            DroppedField::SafQueueDepth => "saf_queue_depth",
            DroppedField::ReaderCounts => "reader_counts",
            DroppedField::Tamper => "tamper",
            DroppedField::TxnType => "txn_type",
        }
    }
}
