//! Validated transaction outcomes and heartbeats.
//!
//! These are the types the ingest stage produces and the engine consumes. They
//! hold no heap strings: dimension values and terminal ids are interned
//! [`Sym`]s, codes are packed, times are epoch milliseconds.

use crate::dims::DimValues;
use crate::intern::Sym;
use crate::taxonomy::OutcomeClass;
use serde::{Deserialize, Serialize};

pub use crate::resp_code::RespCode;

/// What the terminal reported about the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxnStatus {
    /// Authorised.
    Approved,
    /// Refused by the host (issuer, acquirer or network), with a response code.
    Declined,
    /// Could not complete (local error, no answer).
    Failed,
    /// No response from the host in time.
    Timeout,
    /// Abandoned by the cardholder or merchant.
    Cancelled,
    /// Not final yet (a QR or wallet payment waiting for the customer to
    /// confirm): not an attempt until its final outcome arrives.
    Pending,
    /// Undone after the fact (a reversal or void): not a new attempt.
    Reversed,
}

impl TxnStatus {
    /// Every status, in declaration order.
    pub const ALL: [TxnStatus; 7] = [
        TxnStatus::Approved,
        TxnStatus::Declined,
        TxnStatus::Failed,
        TxnStatus::Timeout,
        TxnStatus::Cancelled,
        TxnStatus::Pending,
        TxnStatus::Reversed,
    ];

    /// Name as on the wire.
    pub fn name(self) -> &'static str {
        match self {
            TxnStatus::Approved => "approved",
            TxnStatus::Declined => "declined",
            TxnStatus::Failed => "failed",
            TxnStatus::Timeout => "timeout",
            TxnStatus::Cancelled => "cancelled",
            TxnStatus::Pending => "pending",
            TxnStatus::Reversed => "reversed",
        }
    }

    /// Parses a wire name; `None` for anything else.
    pub fn from_name(name: &str) -> Option<TxnStatus> {
        TxnStatus::ALL.into_iter().find(|s| s.name() == name)
    }

    /// True for statuses that end an attempt: everything but a payment
    /// still pending and one undone afterwards.
    pub fn is_final(self) -> bool {
        !matches!(self, TxnStatus::Pending | TxnStatus::Reversed)
    }
}

/// What the transaction was. Voids and reversals undo an earlier
/// transaction and are not new attempts; everything else is an attempt of
/// its own (a failed sign-on, settlement or balance inquiry is a host or
/// terminal failure like a failed sale).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnType {
    /// A purchase.
    Sale,
    /// An authorisation hold (pre-authorisation).
    PreAuth,
    /// Completion of a pre-authorisation.
    Completion,
    /// Cancellation of an earlier transaction before settlement.
    Void,
    /// Money back to the card.
    Refund,
    /// Automatic or manual reversal of an earlier transaction.
    Reversal,
    /// Balance inquiry.
    BalanceInquiry,
    /// Terminal sign-on (key exchange, session start with the host).
    SignOn,
    /// Batch settlement / end of day.
    Settlement,
    /// Any other type the terminal named.
    Other,
}

impl TxnType {
    /// The type a wire name stands for (common spellings, any case);
    /// [`TxnType::Other`] for anything else.
    pub fn from_wire(name: &str) -> TxnType {
        let lower = name.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        match lower.as_str() {
            "sale" | "purchase" | "payment" | "pay" | "consume" => TxnType::Sale,
            "pre_auth" | "preauth" | "pre_authorization" | "authorization" | "auth" => {
                TxnType::PreAuth
            }
            "completion" | "pre_auth_completion" | "capture" => TxnType::Completion,
            "void" | "cancel" | "revoke" => TxnType::Void,
            "refund" | "return" => TxnType::Refund,
            "reversal" | "reverse" => TxnType::Reversal,
            "balance_inquiry" | "balance" | "inquiry" => TxnType::BalanceInquiry,
            "sign_on" | "signon" | "logon" | "login" => TxnType::SignOn,
            "settlement" | "settle" | "batch_upload" | "end_of_day" => TxnType::Settlement,
            _ => TxnType::Other,
        }
    }

    /// True for a type that undoes an earlier transaction.
    pub fn undoes(self) -> bool {
        matches!(self, TxnType::Void | TxnType::Reversal)
    }
}

/// Who produced the response code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RcSource {
    /// The card issuer.
    Issuer,
    /// The card network / scheme.
    Network,
    /// The acquirer or switch.
    Acquirer,
    /// The terminal itself (stand-in or local decline).
    Terminal,
}

impl RcSource {
    /// Every source, in declaration order.
    pub const ALL: [RcSource; 4] = [
        RcSource::Issuer,
        RcSource::Network,
        RcSource::Acquirer,
        RcSource::Terminal,
    ];

    /// The snake_case name used in payloads and config.
    pub fn name(self) -> &'static str {
        match self {
            RcSource::Issuer => "issuer",
            RcSource::Network => "network",
            RcSource::Acquirer => "acquirer",
            RcSource::Terminal => "terminal",
        }
    }
}

/// How the card was read, or the payment presented.
///
/// The set is open on the wire: a name outside it decodes to
/// [`EntryMode::Other`], so a new mode never rejects an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryMode {
    /// EMV contact chip.
    Chip,
    /// Contactless (NFC).
    Contactless,
    /// Magnetic stripe.
    Swipe,
    /// Magnetic stripe after a failed chip read.
    Fallback,
    /// Key-entered.
    Manual,
    /// A QR code: the merchant's shown to the customer, or the customer's
    /// scanned by the terminal (UnionPay QR, Alipay, WeChat Pay).
    Qr,
    /// A wallet or in-app payment (a phone wallet not read as a card).
    Wallet,
    /// Any other mode the terminal named.
    Other,
}

impl EntryMode {
    /// Every mode, in declaration order.
    pub const ALL: [EntryMode; 8] = [
        EntryMode::Chip,
        EntryMode::Contactless,
        EntryMode::Swipe,
        EntryMode::Fallback,
        EntryMode::Manual,
        EntryMode::Qr,
        EntryMode::Wallet,
        EntryMode::Other,
    ];

    /// The snake_case name used in payloads.
    pub fn name(self) -> &'static str {
        match self {
            EntryMode::Chip => "chip",
            EntryMode::Contactless => "contactless",
            EntryMode::Swipe => "swipe",
            EntryMode::Fallback => "fallback",
            EntryMode::Manual => "manual",
            EntryMode::Qr => "qr",
            EntryMode::Wallet => "wallet",
            EntryMode::Other => "other",
        }
    }

    /// The mode a wire name stands for: the names above, the spellings
    /// fleets also send (`emv`, `nfc`, `magstripe`, `keyed`, `qr_mpm`,
    /// `qr_cpm`, `in_app`, ...; case does not matter), and
    /// [`EntryMode::Other`] for anything else.
    pub fn from_wire(name: &str) -> EntryMode {
        // The documented names first, without allocating: nearly every
        // message uses one.
        if let Some(m) = EntryMode::ALL.into_iter().find(|m| m.name() == name) {
            return m;
        }
        let lower = name.trim().to_ascii_lowercase();
        match lower.as_str() {
            "chip" | "emv" | "icc" | "contact" => EntryMode::Chip,
            "contactless" | "ctls" | "nfc" | "tap" | "paywave" | "paypass" => {
                EntryMode::Contactless
            }
            "swipe" | "magstripe" | "mag_stripe" | "msr" | "stripe" => EntryMode::Swipe,
            "fallback" | "chip_fallback" | "fallback_swipe" => EntryMode::Fallback,
            "manual" | "keyed" | "key_entered" | "moto" => EntryMode::Manual,
            "qr" | "qr_mpm" | "qr_cpm" | "qrcode" | "qr_code" | "scan" | "barcode"
            | "merchant_presented" | "customer_presented" => EntryMode::Qr,
            "wallet" | "in_app" | "inapp" | "app" | "mobile_wallet" => EntryMode::Wallet,
            _ => EntryMode::Other,
        }
    }
}

impl<'de> Deserialize<'de> for EntryMode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(EntryMode::from_wire(&s))
    }
}

/// Kind of link the terminal uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetType {
    /// 2G (GPRS/EDGE).
    #[serde(rename = "2g")]
    G2,
    /// 3G.
    #[serde(rename = "3g")]
    G3,
    /// 4G / LTE.
    #[serde(rename = "4g")]
    G4,
    /// 5G.
    #[serde(rename = "5g")]
    G5,
    /// Wi-Fi.
    Wifi,
    /// Wired Ethernet.
    Ethernet,
    /// Dial-up / PSTN.
    Dialup,
}

impl NetType {
    /// The name used in payloads.
    pub fn name(self) -> &'static str {
        match self {
            NetType::G2 => "2g",
            NetType::G3 => "3g",
            NetType::G4 => "4g",
            NetType::G5 => "5g",
            NetType::Wifi => "wifi",
            NetType::Ethernet => "ethernet",
            NetType::Dialup => "dialup",
        }
    }
}

/// An error the terminal raised locally (no host response code).
///
/// The set is closed so it can label metrics; strings outside it decode to
/// [`TermError::Other`] and are counted as unknown codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TermError {
    /// The link to the host dropped.
    CommLost,
    /// The host did not answer in time while the link was up.
    HostTimeout,
    /// The host could not be reached (link down).
    HostUnavailable,
    /// Message authentication failed (keys out of sync).
    MacError,
    /// Key management error (missing or expired keys).
    KeyError,
    /// The chip could not be read.
    ChipReadError,
    /// The magnetic stripe could not be read.
    SwipeError,
    /// The contactless reader failed.
    CtlsError,
    /// The PIN pad failed.
    PinpadError,
    /// The payment application crashed or threw.
    AppException,
    /// Terminal configuration is wrong (parameters, merchant setup).
    ConfigError,
    /// Anything else the terminal reported.
    Other,
}

impl TermError {
    /// Every known terminal error, in declaration order.
    pub const ALL: [TermError; 12] = [
        TermError::CommLost,
        TermError::HostTimeout,
        TermError::HostUnavailable,
        TermError::MacError,
        TermError::KeyError,
        TermError::ChipReadError,
        TermError::SwipeError,
        TermError::CtlsError,
        TermError::PinpadError,
        TermError::AppException,
        TermError::ConfigError,
        TermError::Other,
    ];

    /// The snake_case name used in payloads and config.
    pub fn name(self) -> &'static str {
        match self {
            TermError::CommLost => "comm_lost",
            TermError::HostTimeout => "host_timeout",
            TermError::HostUnavailable => "host_unavailable",
            TermError::MacError => "mac_error",
            TermError::KeyError => "key_error",
            TermError::ChipReadError => "chip_read_error",
            TermError::SwipeError => "swipe_error",
            TermError::CtlsError => "ctls_error",
            TermError::PinpadError => "pinpad_error",
            TermError::AppException => "app_exception",
            TermError::ConfigError => "config_error",
            TermError::Other => "other",
        }
    }

    /// Parses a payload value; unknown strings give `None`.
    pub fn from_name(name: &str) -> Option<TermError> {
        TermError::ALL
            .into_iter()
            .find(|e| *e != TermError::Other && e.name() == name)
    }
}

/// One validated transaction outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// 64-bit fingerprint of `event_id`, the dedup key.
    pub event_fp: u64,
    /// Interned terminal id.
    pub terminal: Sym,
    /// Event time from the terminal clock, epoch milliseconds.
    pub ts_ms: i64,
    /// When swipewatch received it, epoch milliseconds.
    pub arrival_ms: i64,
    /// Per-terminal sequence number, when sent.
    pub seq: Option<u64>,
    /// What the terminal reported.
    pub status: TxnStatus,
    /// Normalized class from the response-code tables.
    pub class: OutcomeClass,
    /// Raw response code, kept beside the class.
    pub rc: Option<RespCode>,
    /// Who produced `rc`.
    pub rc_source: Option<RcSource>,
    /// Local terminal error, when there was no host answer.
    pub term_error: Option<TermError>,
    /// How the card was read (also a dimension value).
    pub entry_mode: Option<EntryMode>,
    /// What the transaction was, when sent.
    pub txn_type: Option<TxnType>,
    /// Host round trip.
    pub latency_ms: Option<u32>,
    /// Sent late from the store-and-forward queue.
    pub saf: bool,
    /// Signal strength, when reported.
    pub rssi_dbm: Option<i16>,
    /// Amount in minor units of `currency`.
    pub amount_minor: Option<u64>,
    /// ISO 4217 alphabetic currency code.
    pub currency: Option<[u8; 3]>,
    /// Dimension values (entry mode included).
    pub dims: DimValues,
}

impl Outcome {
    /// An outcome with only the essentials: received at its event time, the
    /// status implied by `class`, no optional field set. Simulators, replay
    /// and tests fill in the rest.
    pub fn new(terminal: Sym, ts_ms: i64, class: OutcomeClass, dims: DimValues) -> Outcome {
        let status = match class {
            OutcomeClass::Approved => TxnStatus::Approved,
            OutcomeClass::Cancelled => TxnStatus::Cancelled,
            OutcomeClass::HostTimeout => TxnStatus::Timeout,
            _ => TxnStatus::Declined,
        };
        Outcome {
            event_fp: 0,
            terminal,
            ts_ms,
            arrival_ms: ts_ms,
            seq: None,
            status,
            class,
            rc: None,
            rc_source: None,
            term_error: None,
            entry_mode: None,
            txn_type: None,
            latency_ms: None,
            saf: false,
            rssi_dbm: None,
            amount_minor: None,
            currency: None,
            dims,
        }
    }
}

/// One validated heartbeat.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Heartbeat {
    /// Interned terminal id.
    pub terminal: Sym,
    /// Terminal clock, epoch milliseconds.
    pub ts_ms: i64,
    /// When swipewatch received it, epoch milliseconds.
    pub arrival_ms: i64,
    /// Per-terminal sequence number, when sent.
    pub seq: Option<u64>,
    /// Seconds since the terminal booted.
    pub uptime_s: Option<u64>,
    /// Battery charge, 0–100.
    pub battery_pct: Option<u8>,
    /// Whether the terminal can reach its host.
    pub host_reachable: Option<bool>,
    /// Outcomes waiting in the store-and-forward queue.
    pub saf_queue_depth: Option<u32>,
    /// Chip read errors since the previous heartbeat.
    pub chip_read_err: u32,
    /// Stripe read errors since the previous heartbeat.
    pub swipe_err: u32,
    /// Contactless errors since the previous heartbeat.
    pub ctls_err: u32,
    /// Chip-to-stripe fallbacks since the previous heartbeat.
    pub fallback: u32,
    /// Tamper switch triggered.
    pub tamper: bool,
    /// Signal strength, when reported.
    pub rssi_dbm: Option<i16>,
    /// Dimension values known from the heartbeat and its topic.
    pub dims: DimValues,
}

impl Heartbeat {
    /// A heartbeat of `terminal` at `ts_ms` (arrived at once) that reports
    /// nothing but where the terminal is.
    pub fn new(terminal: Sym, ts_ms: i64, dims: DimValues) -> Heartbeat {
        Heartbeat {
            terminal,
            ts_ms,
            arrival_ms: ts_ms,
            seq: None,
            uptime_s: None,
            battery_pct: None,
            host_reachable: None,
            saf_queue_depth: None,
            chip_read_err: 0,
            swipe_err: 0,
            ctls_err: 0,
            fallback: 0,
            tamper: false,
            rssi_dbm: None,
            dims,
        }
    }
}

/// Anything a terminal sends that survives validation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event {
    /// A transaction outcome.
    Outcome(Outcome),
    /// A heartbeat.
    Heartbeat(Heartbeat),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_codes_pack_and_print_back() {
        for raw in ["00", "5", "Z3", "a0", "000", "91"] {
            let code = RespCode::parse(raw).expect("valid code");
            assert_eq!(code.to_string(), raw.to_ascii_uppercase());
            assert_eq!(RespCode::from_packed(code.packed()), Some(code));
        }
        assert_ne!(RespCode::parse("05"), RespCode::parse("5"));
    }

    #[test]
    fn long_codes_of_wallets_and_1993_action_codes_parse_and_print_back() {
        for raw in [
            "SYSTEMERROR",
            "acq.system_error",
            "911",
            "0000",
            "9-1",
            "USERPAYING",
        ] {
            let code = RespCode::parse(raw).expect("valid code");
            assert_eq!(code.to_string(), raw.to_ascii_uppercase());
            assert_eq!(RespCode::parse(raw), Some(code), "the same code twice");
            assert_eq!(RespCode::from_packed(code.packed()), Some(code));
        }
        assert_ne!(RespCode::parse("SYSTEMERROR"), RespCode::parse("BANKERROR"));
    }

    #[test]
    fn malformed_response_codes_are_refused() {
        let too_long = "X".repeat(RespCode::MAX_LEN + 1);
        for raw in ["", "é1", " 0", "a b", "91;", too_long.as_str()] {
            assert_eq!(RespCode::parse(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn entry_modes_read_common_spellings_and_never_refuse_a_name() {
        for m in EntryMode::ALL {
            assert_eq!(EntryMode::from_wire(m.name()), m);
        }
        assert_eq!(EntryMode::from_wire("EMV"), EntryMode::Chip);
        assert_eq!(EntryMode::from_wire("nfc"), EntryMode::Contactless);
        assert_eq!(EntryMode::from_wire("qr_cpm"), EntryMode::Qr);
        assert_eq!(EntryMode::from_wire("in_app"), EntryMode::Wallet);
        assert_eq!(EntryMode::from_wire("biometric"), EntryMode::Other);
    }

    #[test]
    fn voids_and_reversals_undo_and_other_types_are_attempts() {
        assert!(TxnType::from_wire("VOID").undoes());
        assert!(TxnType::from_wire("reversal").undoes());
        assert_eq!(TxnType::from_wire("pre-auth"), TxnType::PreAuth);
        assert_eq!(TxnType::from_wire("Sign On"), TxnType::SignOn);
        assert!(!TxnType::from_wire("refund").undoes());
        assert_eq!(TxnType::from_wire("lottery"), TxnType::Other);
    }

    #[test]
    fn pending_and_reversed_are_not_final() {
        for s in TxnStatus::ALL {
            assert_eq!(TxnStatus::from_name(s.name()), Some(s));
        }
        assert!(!TxnStatus::Pending.is_final());
        assert!(!TxnStatus::Reversed.is_final());
        assert!(TxnStatus::Declined.is_final());
        assert_eq!(TxnStatus::from_name("settled"), None);
    }

    #[test]
    fn terminal_errors_parse_by_name_except_other() {
        assert_eq!(
            TermError::from_name("chip_read_error"),
            Some(TermError::ChipReadError)
        );
        assert_eq!(TermError::from_name("other"), None);
        assert_eq!(TermError::from_name("printer_jam"), None);
    }
}
