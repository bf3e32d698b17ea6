//! Optional values read into the form they are stored in (currency codes,
//! signal in dBm), each dropped and named when it cannot be.

use crate::lenient::Drops;
use crate::raw::RawNet;
use swipewatch_model::{Dim, DroppedField};

/// `value`, or `None` with `field` added to `drops` when it was not valid.
pub(crate) fn kept<T>(value: Option<T>, field: DroppedField, drops: &mut Drops) -> Option<T> {
    if value.is_none() {
        drops.add(field);
    }
    value
}

/// An ISO 4217 currency, alphabetic (`CNY`, any case) or numeric (`156`,
/// as ISO 8583 field 49 carries it), as its alphabetic code. A numeric code
/// no table here knows is kept as its three digits.
pub(crate) fn currency(c: &str) -> Option<[u8; 3]> {
    match c.trim().as_bytes() {
        [a, b, d] if [a, b, d].iter().all(|x| x.is_ascii_alphabetic()) => Some([
            a.to_ascii_uppercase(),
            b.to_ascii_uppercase(),
            d.to_ascii_uppercase(),
        ]),
        [a, b, d] if [a, b, d].iter().all(|x| x.is_ascii_digit()) => {
            let numeric = [*a, *b, *d];
            Some(swipewatch_model::currency::alphabetic(numeric).unwrap_or(numeric))
        }
        _ => None,
    }
}

/// The signal reading of `net` in dBm. `rssi_dbm` and `rssi` are read in
/// the unit `rssi_unit` names (`dbm`, `csq`, `asu`) or, without one, the
/// unit the value implies: negative is dBm, 0–31 is a modem's CSQ (also
/// GSM ASU), 32–97 is LTE ASU; 99 (CSQ "not known") and anything else is
/// dropped.
pub(crate) fn rssi(net: Option<&RawNet>, drops: &mut Drops) -> Option<i16> {
    let net = net?;
    let value = net.rssi_dbm.or(net.rssi)?;
    let unit = match net.rssi_unit.as_deref() {
        None => None,
        Some(u) if u.eq_ignore_ascii_case("dbm") => Some(SignalUnit::Dbm),
        Some(u) if u.eq_ignore_ascii_case("csq") => Some(SignalUnit::Csq),
        Some(u) if u.eq_ignore_ascii_case("asu") => Some(SignalUnit::Asu),
        Some(_) => {
            drops.add(DroppedField::Rssi);
            return None;
        }
    };
    let unit = unit.unwrap_or(if value < 0 {
        SignalUnit::Dbm
    } else if value <= 31 {
        SignalUnit::Csq
    } else {
        SignalUnit::Asu
    });
    let dbm = match unit {
        SignalUnit::Dbm => (-150..=0).contains(&value).then_some(value),
        SignalUnit::Csq | SignalUnit::Asu if (0..=31).contains(&value) => Some(-113 + 2 * value),
        SignalUnit::Asu if (32..=97).contains(&value) => Some(value - 140),
        SignalUnit::Csq | SignalUnit::Asu => None,
    };
    kept(dbm, DroppedField::Rssi, drops)
}

/// The unit a signal reading is sent in.
#[derive(Clone, Copy)]
enum SignalUnit {
    /// Decibel-milliwatts.
    Dbm,
    /// 3GPP CSQ, 0–31 (−113 dBm + 2 per step).
    Csq,
    /// Arbitrary strength unit: GSM 0–31 as CSQ, LTE 0–97 as dBm + 140.
    Asu,
}

/// The field a dimension's value comes from.
pub(crate) fn dropped_field(dim: Dim) -> DroppedField {
    match dim {
        Dim::Region => DroppedField::Region,
        Dim::Carrier => DroppedField::Carrier,
        Dim::NetType => DroppedField::NetType,
        Dim::Cell => DroppedField::CellId,
        Dim::Acquirer => DroppedField::Acquirer,
        Dim::Issuer => DroppedField::Issuer,
        Dim::Scheme => DroppedField::Scheme,
        Dim::Merchant => DroppedField::MerchantId,
        Dim::Model => DroppedField::Model,
        Dim::Firmware => DroppedField::Firmware,
        Dim::App => DroppedField::App,
        Dim::EntryMode => DroppedField::EntryMode,
    }
}
