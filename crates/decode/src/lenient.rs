//! The slow path for an element that does not parse as its wire shape.
//!
//! Real fleets send optional fields in shapes the documented one does not
//! have: ids as numbers, amounts as strings, a flag as `1`, a signal reading
//! as an object. Rejecting the whole outcome for one of those would lose a
//! failure over a field detection never needs. So when the typed parse
//! fails, the element is read once more as a JSON value and each known field
//! is checked against its kind: a value that is the same thing spelled
//! differently is rewritten (a number where text is expected, a numeric
//! string where a number is), a value that is not is dropped and named, and
//! only a required field that is unusable rejects the element. The typed
//! parse then runs on the repaired value. Valid messages never reach this
//! path, so it costs nothing on the stream's common case.

use crate::decode::{reject, Rejection};
use serde_json::{Map, Value};
use swipewatch_model::{DroppedField, RejectReason};

/// The fields of one element that were dropped, as a set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drops(u32);

impl Drops {
    /// Adds `field`.
    pub fn add(&mut self, field: DroppedField) {
        // (Also used by history readers for values they cannot type.)
        self.0 |= 1 << field.index();
    }

    /// Every field in the set.
    pub fn iter(self) -> impl Iterator<Item = DroppedField> {
        DroppedField::ALL
            .into_iter()
            .filter(move |f| self.0 & (1 << f.index()) != 0)
    }
}

/// What a field holds.
#[derive(Clone, Copy)]
enum Kind {
    /// Text; a number is taken as its decimal text.
    Text,
    /// A response code: text, or a number written with at least two digits
    /// (`5` is the ISO code `05`).
    Code,
    /// A whole number from 0 to the bound; a numeric string is accepted.
    Uint(u64),
    /// A whole number within the bounds; a numeric string is accepted.
    Int(i64, i64),
    /// A flag; `0`/`1` and `"true"`/`"false"` are accepted.
    Flag,
    /// One of a closed set of names (checked by the typed parse).
    Name(fn(&str) -> bool),
    /// Anything: the field's own parser decides (a timestamp).
    Any,
    /// A nested object with fields of its own.
    Object(&'static [Field]),
}

/// A count or a duration that fits in 32 bits.
const U32: Kind = Kind::Uint(u32::MAX as u64);
/// A sequence number, an uptime or an amount.
const U64: Kind = Kind::Uint(u64::MAX);

/// One known field: its key, what it holds, and the label it is counted
/// under when dropped (`None`: required, so unusable means rejected).
struct Field {
    key: &'static str,
    kind: Kind,
    dropped: Option<DroppedField>,
}

const fn field(key: &'static str, kind: Kind, dropped: DroppedField) -> Field {
    Field {
        key,
        kind,
        dropped: Some(dropped),
    }
}

const fn required(key: &'static str, kind: Kind) -> Field {
    Field {
        key,
        kind,
        dropped: None,
    }
}

fn is_status(s: &str) -> bool {
    swipewatch_model::TxnStatus::from_name(s).is_some()
}

fn is_source(s: &str) -> bool {
    swipewatch_model::RcSource::ALL
        .iter()
        .any(|r| r.name() == s)
}

fn is_any_text(_: &str) -> bool {
    true
}

const NET: &[Field] = &[
    field("type", Kind::Text, DroppedField::NetType),
    field("carrier", Kind::Text, DroppedField::Carrier),
    field("cell_id", Kind::Text, DroppedField::CellId),
    field("rssi_dbm", Kind::Int(-200, 200), DroppedField::Rssi),
    field("rssi", Kind::Int(-200, 200), DroppedField::Rssi),
    field("rssi_unit", Kind::Text, DroppedField::Rssi),
];

const SW: &[Field] = &[
    field("fw", Kind::Text, DroppedField::Firmware),
    field("app", Kind::Text, DroppedField::App),
];

/// Fields both shapes share, flattened spellings included.
macro_rules! common_fields {
    () => {
        [
            required("terminal_id", Kind::Text),
            required("ts", Kind::Any),
            field("merchant_id", Kind::Text, DroppedField::MerchantId),
            field("acquirer", Kind::Text, DroppedField::Acquirer),
            field("seq", U64, DroppedField::Seq),
            field("model", Kind::Text, DroppedField::Model),
            field("region", Kind::Text, DroppedField::Region),
            field("net", Kind::Object(NET), DroppedField::Net),
            field("sw", Kind::Object(SW), DroppedField::Sw),
            field("carrier", Kind::Text, DroppedField::Carrier),
            field("net_type", Kind::Text, DroppedField::NetType),
            field("cell_id", Kind::Text, DroppedField::CellId),
            field("rssi_dbm", Kind::Int(-200, 200), DroppedField::Rssi),
            field("rssi", Kind::Int(-200, 200), DroppedField::Rssi),
            field("rssi_unit", Kind::Text, DroppedField::Rssi),
            field("fw", Kind::Text, DroppedField::Firmware),
            field("app", Kind::Text, DroppedField::App),
        ]
    };
}

const OUTCOME_COMMON: [Field; 17] = common_fields!();
const HEARTBEAT_COMMON: [Field; 17] = common_fields!();

const OUTCOME: &[Field] = &[
    required("event_id", Kind::Text),
    required("outcome", Kind::Name(is_status)),
    field("issuer", Kind::Text, DroppedField::Issuer),
    field("bin", Kind::Text, DroppedField::Bin),
    field("scheme", Kind::Text, DroppedField::Scheme),
    field("rc", Kind::Code, DroppedField::Rc),
    field("rc_source", Kind::Name(is_source), DroppedField::RcSource),
    field("term_error", Kind::Text, DroppedField::TermError),
    field(
        "entry_mode",
        Kind::Name(is_any_text),
        DroppedField::EntryMode,
    ),
    field("latency_ms", U32, DroppedField::LatencyMs),
    field("saf", Kind::Flag, DroppedField::Saf),
    field("amount_minor", U64, DroppedField::AmountMinor),
    field("currency", Kind::Text, DroppedField::Currency),
    field("wallet", Kind::Text, DroppedField::Scheme),
    field("channel", Kind::Text, DroppedField::EntryMode),
    field("txn_type", Kind::Text, DroppedField::TxnType),
    field("transaction_type", Kind::Text, DroppedField::TxnType),
];

const HEARTBEAT: &[Field] = &[
    field("uptime_s", U64, DroppedField::UptimeS),
    field("battery_pct", Kind::Uint(100), DroppedField::BatteryPct),
    field("host_reachable", Kind::Flag, DroppedField::HostReachable),
    field("saf_queue_depth", U32, DroppedField::SafQueueDepth),
    field("chip_read_err", U32, DroppedField::ReaderCounts),
    field("swipe_err", U32, DroppedField::ReaderCounts),
    field("ctls_err", U32, DroppedField::ReaderCounts),
    field("fallback", U32, DroppedField::ReaderCounts),
    field("tamper", Kind::Flag, DroppedField::Tamper),
];

/// Which wire shape an element has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A transaction outcome.
    Outcome,
    /// A heartbeat.
    Heartbeat,
}

/// `element` read as a JSON object with every known field in its documented
/// shape, and the optional fields that had to be dropped. A required field
/// that is unusable rejects the element (`bad_type`, naming the field).
pub fn repair(element: &str, shape: Shape) -> Result<(Value, Drops), Rejection> {
    let mut value: Value = serde_json::from_str(element)
        .map_err(|_| reject(RejectReason::MalformedJson, "not valid JSON"))?;
    let Some(map) = value.as_object_mut() else {
        return Err(reject(
            RejectReason::MalformedJson,
            "element is not an object",
        ));
    };
    let mut drops = Drops::default();
    let (common, own) = match shape {
        Shape::Outcome => (&OUTCOME_COMMON[..], OUTCOME),
        Shape::Heartbeat => (&HEARTBEAT_COMMON[..], HEARTBEAT),
    };
    repair_fields(map, common, &mut drops)?;
    repair_fields(map, own, &mut drops)?;
    Ok((value, drops))
}

fn repair_fields(
    map: &mut Map<String, Value>,
    fields: &[Field],
    drops: &mut Drops,
) -> Result<(), Rejection> {
    for f in fields {
        let Some(v) = map.get_mut(f.key) else {
            continue;
        };
        let fixed = match (f.kind, &mut *v) {
            (Kind::Object(inner), Value::Object(m)) => {
                repair_fields(m, inner, drops)?;
                true
            }
            (Kind::Object(_), Value::Null) => true,
            (Kind::Object(_), _) => false,
            (kind, v) => fix(kind, v),
        };
        if !fixed {
            match f.dropped {
                Some(d) => {
                    map.remove(f.key);
                    drops.add(d);
                }
                None => {
                    return Err(reject(
                        RejectReason::BadType,
                        format!("{} has the wrong type", f.key),
                    ))
                }
            }
        }
    }
    Ok(())
}

/// Rewrites `v` into the documented shape of `kind`; false when it cannot be.
fn fix(kind: Kind, v: &mut Value) -> bool {
    let replacement = match (kind, &*v) {
        (_, Value::Null) | (Kind::Any, _) => return true,
        (Kind::Text, Value::String(_)) => return true,
        (Kind::Text, Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
        (Kind::Code, Value::String(_)) => return true,
        (Kind::Code, Value::Number(n)) => match n.as_u64() {
            Some(c) => format!("{c:02}"),
            None => return false,
        },
        (Kind::Name(valid), Value::String(s)) => return valid(s),
        (Kind::Uint(max), _) => {
            return match whole(v) {
                Some(n) if (0..=i128::from(max)).contains(&n) => {
                    *v = Value::from(n as u64);
                    true
                }
                _ => false,
            }
        }
        (Kind::Int(lo, hi), _) => {
            return match whole(v) {
                Some(n) if (i128::from(lo)..=i128::from(hi)).contains(&n) => {
                    *v = Value::from(n as i64);
                    true
                }
                _ => false,
            }
        }
        (Kind::Flag, Value::Bool(_)) => return true,
        (Kind::Flag, _) => {
            let flag = match &*v {
                Value::Number(n) => n.as_u64().filter(|n| *n <= 1).map(|n| n == 1),
                Value::String(s) => match s.as_str() {
                    "true" | "1" => Some(true),
                    "false" | "0" => Some(false),
                    _ => None,
                },
                _ => None,
            };
            return match flag {
                Some(b) => {
                    *v = Value::Bool(b);
                    true
                }
                None => false,
            };
        }
        _ => return false,
    };
    *v = Value::String(replacement);
    true
}

/// A whole number, sent as a JSON integer, a float with no fraction or a
/// decimal string.
fn whole(v: &Value) -> Option<i128> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i128)
            }),
        Value::String(s) => s.trim().parse::<i128>().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(json: &str, shape: Shape) -> (Value, Vec<&'static str>) {
        let (v, d) = repair(json, shape).expect("repairable");
        (v, d.iter().map(DroppedField::name).collect())
    }

    #[test]
    fn numbers_where_text_is_expected_become_text() {
        let (v, dropped) = fixed(
            r#"{"event_id":17,"terminal_id":1001,"merchant_id":88,"ts":1,"outcome":"declined","rc":5}"#,
            Shape::Outcome,
        );
        assert!(dropped.is_empty());
        assert_eq!(v["event_id"], "17");
        assert_eq!(v["terminal_id"], "1001");
        assert_eq!(v["merchant_id"], "88");
        assert_eq!(v["rc"], "05", "a numeric code keeps its two digits");
    }

    #[test]
    fn numeric_strings_and_flags_take_their_documented_type() {
        let (v, dropped) = fixed(
            r#"{"event_id":"e","terminal_id":"t","ts":1,"outcome":"approved","amount_minor":"1250","latency_ms":640.0,"saf":1}"#,
            Shape::Outcome,
        );
        assert!(dropped.is_empty());
        assert_eq!(v["amount_minor"], 1250);
        assert_eq!(v["latency_ms"], 640);
        assert_eq!(v["saf"], true);
    }

    #[test]
    fn an_unusable_optional_field_is_dropped_and_named() {
        let (v, dropped) = fixed(
            r#"{"event_id":"e","terminal_id":"t","ts":1,"outcome":"declined","latency_ms":-3,"saf":"maybe","net":{"carrier":"cmcc","rssi_dbm":{"v":-70}},"sw":"4.2"}"#,
            Shape::Outcome,
        );
        assert_eq!(dropped, ["latency_ms", "saf", "net.rssi", "sw"]);
        assert!(v.get("latency_ms").is_none());
        assert_eq!(v["net"]["carrier"], "cmcc");
        assert!(v["net"].get("rssi_dbm").is_none());
    }

    #[test]
    fn an_unusable_required_field_rejects_the_element() {
        for json in [
            r#"{"event_id":{"a":1},"terminal_id":"t","ts":1,"outcome":"approved"}"#,
            r#"{"event_id":"e","terminal_id":"t","ts":1,"outcome":"maybe"}"#,
            r#"{"event_id":"e","terminal_id":[1],"ts":1,"outcome":"approved"}"#,
        ] {
            let r = repair(json, Shape::Outcome).expect_err(json);
            assert_eq!(r.reason, RejectReason::BadType, "{json}");
        }
    }

    #[test]
    fn heartbeat_counters_out_of_range_are_dropped() {
        let (v, dropped) = fixed(
            r#"{"terminal_id":"t","ts":1,"battery_pct":140,"chip_read_err":-1,"tamper":"no"}"#,
            Shape::Heartbeat,
        );
        assert_eq!(dropped, ["battery_pct", "reader_counts", "tamper"]);
        assert_eq!(v["terminal_id"], "t");
    }
}
