//! The wire shapes of outcomes and heartbeats, borrowed from the payload.
//!
//! Every field is optional here so that a missing field is reported by name
//! (`missing_field`) rather than as a generic parse error; wrong types fail in
//! serde and become `bad_type`. Unknown fields are ignored for forward
//! compatibility.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;
use swipewatch_model::{EntryMode, RcSource, TxnStatus};

/// A string borrowed from the payload when it has no escapes.
pub type Str<'a> = Option<Cow<'a, str>>;

#[allow(missing_docs)] // named and typed as on the wire (README, "Messages")
#[derive(Debug, Default, Deserialize)]
pub struct RawNet<'a> {
    #[serde(borrow, rename = "type")]
    pub net_type: Str<'a>,
    #[serde(borrow)]
    pub carrier: Str<'a>,
    #[serde(borrow)]
    pub cell_id: Option<StrOrInt<'a>>,
    pub rssi_dbm: Option<i16>,
    /// A signal reading in the unit `rssi_unit` names (or one inferred).
    pub rssi: Option<i16>,
    #[serde(borrow)]
    pub rssi_unit: Str<'a>,
}

impl RawNet<'_> {
    fn is_empty(&self) -> bool {
        self.net_type.is_none()
            && self.carrier.is_none()
            && self.cell_id.is_none()
            && self.rssi_dbm.is_none()
            && self.rssi.is_none()
    }
}

#[allow(missing_docs)] // named and typed as on the wire (README, "Messages")
#[derive(Debug, Default, Deserialize)]
pub struct RawSw<'a> {
    #[serde(borrow)]
    pub fw: Str<'a>,
    #[serde(borrow)]
    pub app: Str<'a>,
}

#[allow(missing_docs)] // named and typed as on the wire (README, "Messages")
#[derive(Debug, Default, Deserialize)]
pub struct RawOutcome<'a> {
    #[serde(borrow)]
    pub event_id: Str<'a>,
    #[serde(borrow)]
    pub terminal_id: Str<'a>,
    #[serde(borrow)]
    pub merchant_id: Str<'a>,
    #[serde(borrow)]
    pub acquirer: Str<'a>,
    #[serde(borrow)]
    pub issuer: Str<'a>,
    #[serde(borrow)]
    pub bin: Str<'a>,
    #[serde(borrow)]
    pub scheme: Str<'a>,
    pub ts: Option<RawTs>,
    pub seq: Option<u64>,
    pub outcome: Option<TxnStatus>,
    #[serde(borrow)]
    pub rc: Str<'a>,
    pub rc_source: Option<RcSource>,
    #[serde(borrow)]
    pub term_error: Str<'a>,
    pub entry_mode: Option<EntryMode>,
    pub latency_ms: Option<u32>,
    pub saf: Option<bool>,
    #[serde(borrow)]
    pub net: Option<RawNet<'a>>,
    #[serde(borrow)]
    pub sw: Option<RawSw<'a>>,
    #[serde(borrow)]
    pub model: Str<'a>,
    #[serde(borrow)]
    pub region: Str<'a>,
    pub amount_minor: Option<u64>,
    #[serde(borrow)]
    pub currency: Str<'a>,
    /// The wallet or QR network that carried the payment (`alipay`,
    /// `wechatpay`, `unionpay`): the scheme when `scheme` is absent.
    #[serde(borrow)]
    pub wallet: Str<'a>,
    /// What the transaction was (`sale`, `pre_auth`, `void`, `refund`,
    /// `reversal`, `sign_on`, `settlement`, ...).
    #[serde(borrow, alias = "transaction_type")]
    pub txn_type: Str<'a>,
    /// How the payment was presented (`card`, `qr`, `wallet`): the entry
    /// mode when `entry_mode` is absent.
    #[serde(borrow)]
    pub channel: Str<'a>,
    /// Flattened spellings of `net` and `sw` fields, as some fleets send
    /// them; [`fold_flat`] moves them where the nested spelling puts them.
    #[serde(borrow, rename = "net_type")]
    pub flat_net_type: Str<'a>,
    #[serde(borrow, rename = "carrier")]
    pub flat_carrier: Str<'a>,
    #[serde(borrow, rename = "cell_id")]
    pub flat_cell_id: Option<StrOrInt<'a>>,
    #[serde(rename = "rssi_dbm")]
    pub flat_rssi_dbm: Option<i16>,
    #[serde(rename = "rssi")]
    pub flat_rssi: Option<i16>,
    #[serde(borrow, rename = "rssi_unit")]
    pub flat_rssi_unit: Str<'a>,
    #[serde(borrow, rename = "fw")]
    pub flat_fw: Str<'a>,
    #[serde(borrow, rename = "app")]
    pub flat_app: Str<'a>,
}

/// Moves the flattened `net` and `sw` fields of one element into the
/// nested ones; a nested value wins over a flattened one.
macro_rules! fold_flat {
    ($raw:expr) => {{
        let raw = $raw;
        let flat = raw.flat_net_type.is_some()
            || raw.flat_carrier.is_some()
            || raw.flat_cell_id.is_some()
            || raw.flat_rssi_dbm.is_some()
            || raw.flat_rssi.is_some()
            || raw.flat_fw.is_some()
            || raw.flat_app.is_some();
        if !flat {
            return;
        }
        let mut n = raw.net.take().unwrap_or_default();
        n.net_type = n.net_type.or(raw.flat_net_type.take());
        n.carrier = n.carrier.or(raw.flat_carrier.take());
        n.cell_id = n.cell_id.or(raw.flat_cell_id.take());
        n.rssi_dbm = n.rssi_dbm.or(raw.flat_rssi_dbm.take());
        if n.rssi.is_none() {
            n.rssi = raw.flat_rssi.take();
            n.rssi_unit = n.rssi_unit.or(raw.flat_rssi_unit.take());
        }
        raw.net = (!n.is_empty()).then_some(n);
        let mut w = raw.sw.take().unwrap_or_default();
        w.fw = w.fw.or(raw.flat_fw.take());
        w.app = w.app.or(raw.flat_app.take());
        raw.sw = (w.fw.is_some() || w.app.is_some()).then_some(w);
    }};
}

impl RawOutcome<'_> {
    /// Moves flattened `net` and `sw` fields into the nested ones.
    pub fn fold_flat(&mut self) {
        fold_flat!(self)
    }
}

impl RawHeartbeat<'_> {
    /// Moves flattened `net` and `sw` fields into the nested ones.
    pub fn fold_flat(&mut self) {
        fold_flat!(self)
    }
}

impl RawOutcome<'_> {
    /// Every text value of the outcome, for the card-number scan of records
    /// that did not arrive as one JSON payload.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        let net = self.net.as_ref();
        let sw = self.sw.as_ref();
        let cell = match net.and_then(|n| n.cell_id.as_ref()) {
            Some(StrOrInt::Str(s)) => Some(&**s),
            _ => None,
        };
        [
            self.event_id.as_deref(),
            self.terminal_id.as_deref(),
            self.merchant_id.as_deref(),
            self.acquirer.as_deref(),
            self.issuer.as_deref(),
            self.bin.as_deref(),
            self.scheme.as_deref(),
            self.rc.as_deref(),
            self.term_error.as_deref(),
            self.model.as_deref(),
            self.region.as_deref(),
            self.currency.as_deref(),
            self.wallet.as_deref(),
            self.txn_type.as_deref(),
            self.channel.as_deref(),
            net.and_then(|n| n.net_type.as_deref()),
            net.and_then(|n| n.carrier.as_deref()),
            cell,
            sw.and_then(|s| s.fw.as_deref()),
            sw.and_then(|s| s.app.as_deref()),
        ]
        .into_iter()
        .flatten()
    }
}

#[allow(missing_docs)] // named and typed as on the wire (README, "Messages")
#[derive(Debug, Default, Deserialize)]
pub struct RawHeartbeat<'a> {
    #[serde(borrow)]
    pub terminal_id: Str<'a>,
    #[serde(borrow)]
    pub merchant_id: Str<'a>,
    #[serde(borrow)]
    pub acquirer: Str<'a>,
    pub ts: Option<RawTs>,
    pub seq: Option<u64>,
    pub uptime_s: Option<u64>,
    pub battery_pct: Option<u8>,
    #[serde(borrow)]
    pub net: Option<RawNet<'a>>,
    pub host_reachable: Option<bool>,
    pub saf_queue_depth: Option<u32>,
    pub chip_read_err: Option<u32>,
    pub swipe_err: Option<u32>,
    pub ctls_err: Option<u32>,
    pub fallback: Option<u32>,
    pub tamper: Option<bool>,
    #[serde(borrow)]
    pub sw: Option<RawSw<'a>>,
    #[serde(borrow)]
    pub model: Str<'a>,
    #[serde(borrow)]
    pub region: Str<'a>,
    /// Flattened spellings of `net` and `sw` fields, as some fleets send
    /// them; [`fold_flat`] moves them where the nested spelling puts them.
    #[serde(borrow, rename = "net_type")]
    pub flat_net_type: Str<'a>,
    #[serde(borrow, rename = "carrier")]
    pub flat_carrier: Str<'a>,
    #[serde(borrow, rename = "cell_id")]
    pub flat_cell_id: Option<StrOrInt<'a>>,
    #[serde(rename = "rssi_dbm")]
    pub flat_rssi_dbm: Option<i16>,
    #[serde(rename = "rssi")]
    pub flat_rssi: Option<i16>,
    #[serde(borrow, rename = "rssi_unit")]
    pub flat_rssi_unit: Str<'a>,
    #[serde(borrow, rename = "fw")]
    pub flat_fw: Str<'a>,
    #[serde(borrow, rename = "app")]
    pub flat_app: Str<'a>,
}

/// A cell id is sent as a string by some terminals and a number by others.
#[derive(Debug)]
pub enum StrOrInt<'a> {
    /// Sent as a string.
    Str(Cow<'a, str>),
    /// Sent as a number.
    Int(u64),
}

impl<'de: 'a, 'a> Deserialize<'de> for StrOrInt<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrOrInt<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a non-negative integer")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(StrOrInt::Int(v))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(StrOrInt::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(StrOrInt::Str(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_any(V)
    }
}

/// An event time as sent: epoch milliseconds or RFC 3339. Anything else is
/// kept as `Invalid` (not a serde error) so it is reported as `bad_timestamp`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RawTs {
    /// Parsed to epoch milliseconds.
    Ms(i64),
    /// Present but not a timestamp.
    Invalid,
}

impl<'de> Deserialize<'de> for RawTs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawTs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("epoch milliseconds or an RFC 3339 time")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawTs, E> {
                Ok(RawTs::Ms(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawTs, E> {
                Ok(i64::try_from(v).map_or(RawTs::Invalid, RawTs::Ms))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawTs, E> {
                let ok = v.is_finite() && v.abs() < 9.0e15;
                Ok(if ok {
                    RawTs::Ms(v as i64)
                } else {
                    RawTs::Invalid
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawTs, E> {
                Ok(chrono::DateTime::parse_from_rfc3339(v)
                    .map_or(RawTs::Invalid, |t| RawTs::Ms(t.timestamp_millis())))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<RawTs, E> {
                Ok(RawTs::Invalid)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<RawTs, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(RawTs::Invalid)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<RawTs, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(RawTs::Invalid)
            }
        }
        d.deserialize_any(V)
    }
}
