//! The fields of an outcome as history files carry them, one column each,
//! and the mapping from a provider's own column names to them.

use crate::HistoryError;
use std::collections::BTreeMap;

/// How a column's values are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text (numbers in text columns are kept as written: `05` stays `05`).
    Text,
    /// A whole number.
    Int,
    /// `true`/`false` (or `1`/`0`).
    Bool,
    /// Epoch milliseconds, an RFC 3339 text, or a Parquet timestamp.
    Time,
}

/// One field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Name on the wire and default column name.
    pub name: &'static str,
    /// How its values are read.
    pub kind: Kind,
    /// A file without it cannot be replayed.
    pub required: bool,
}

const fn field(name: &'static str, kind: Kind, required: bool) -> Field {
    Field {
        name,
        kind,
        required,
    }
}

/// Every field, in the order history files are written. `arrival_ms` is
/// when swipewatch (or the provider's switch) received the outcome; with
/// it, replay keeps the order outcomes arrived in, store-and-forward
/// backlogs included.
pub const FIELDS: [Field; 27] = [
    field("event_id", Kind::Text, true),
    field("terminal_id", Kind::Text, true),
    field("ts", Kind::Time, true),
    field("outcome", Kind::Text, true),
    field("arrival_ms", Kind::Time, false),
    field("merchant_id", Kind::Text, false),
    field("acquirer", Kind::Text, false),
    field("issuer", Kind::Text, false),
    field("bin", Kind::Text, false),
    field("scheme", Kind::Text, false),
    field("seq", Kind::Int, false),
    field("rc", Kind::Text, false),
    field("rc_source", Kind::Text, false),
    field("term_error", Kind::Text, false),
    field("entry_mode", Kind::Text, false),
    field("latency_ms", Kind::Int, false),
    field("saf", Kind::Bool, false),
    field("net_type", Kind::Text, false),
    field("carrier", Kind::Text, false),
    field("cell_id", Kind::Text, false),
    field("rssi_dbm", Kind::Int, false),
    field("fw", Kind::Text, false),
    field("app", Kind::Text, false),
    field("model", Kind::Text, false),
    field("region", Kind::Text, false),
    field("amount_minor", Kind::Int, false),
    field("currency", Kind::Text, false),
];

/// Position of a field in [`FIELDS`].
pub(crate) fn index(name: &str) -> Option<usize> {
    FIELDS.iter().position(|f| f.name == name)
}

/// Positions in [`FIELDS`], for the per-row hot path.
pub(crate) mod at {
    pub const EVENT_ID: usize = 0;
    pub const TERMINAL_ID: usize = 1;
    pub const TS: usize = 2;
    pub const OUTCOME: usize = 3;
    pub const ARRIVAL_MS: usize = 4;
    pub const MERCHANT_ID: usize = 5;
    pub const ACQUIRER: usize = 6;
    pub const ISSUER: usize = 7;
    pub const BIN: usize = 8;
    pub const SCHEME: usize = 9;
    pub const SEQ: usize = 10;
    pub const RC: usize = 11;
    pub const RC_SOURCE: usize = 12;
    pub const TERM_ERROR: usize = 13;
    pub const ENTRY_MODE: usize = 14;
    pub const LATENCY_MS: usize = 15;
    pub const SAF: usize = 16;
    pub const NET_TYPE: usize = 17;
    pub const CARRIER: usize = 18;
    pub const CELL_ID: usize = 19;
    pub const RSSI_DBM: usize = 20;
    pub const FW: usize = 21;
    pub const APP: usize = 22;
    pub const MODEL: usize = 23;
    pub const REGION: usize = 24;
    pub const AMOUNT_MINOR: usize = 25;
    pub const CURRENCY: usize = 26;
}

/// Which column holds each field. Fields not named keep their own name;
/// a column the file lacks is simply absent, unless the field is required.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapping {
    renamed: BTreeMap<&'static str, String>,
}

impl Mapping {
    /// A mapping from `field = "column"` pairs (the `[history.columns]`
    /// table of the config); an unknown field name is an error.
    pub fn new(pairs: &BTreeMap<String, String>) -> Result<Mapping, HistoryError> {
        let mut renamed = BTreeMap::new();
        for (field, column) in pairs {
            let Some(i) = index(field) else {
                return Err(HistoryError::UnknownField {
                    field: field.clone(),
                });
            };
            renamed.insert(FIELDS[i].name, column.clone());
        }
        Ok(Mapping { renamed })
    }

    /// The column that holds `field`.
    pub fn column(&self, field: &Field) -> &str {
        self.renamed
            .get(field.name)
            .map_or(field.name, String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_positions_match_the_field_table() {
        let positions = [
            ("event_id", at::EVENT_ID),
            ("terminal_id", at::TERMINAL_ID),
            ("ts", at::TS),
            ("outcome", at::OUTCOME),
            ("arrival_ms", at::ARRIVAL_MS),
            ("merchant_id", at::MERCHANT_ID),
            ("acquirer", at::ACQUIRER),
            ("issuer", at::ISSUER),
            ("bin", at::BIN),
            ("scheme", at::SCHEME),
            ("seq", at::SEQ),
            ("rc", at::RC),
            ("rc_source", at::RC_SOURCE),
            ("term_error", at::TERM_ERROR),
            ("entry_mode", at::ENTRY_MODE),
            ("latency_ms", at::LATENCY_MS),
            ("saf", at::SAF),
            ("net_type", at::NET_TYPE),
            ("carrier", at::CARRIER),
            ("cell_id", at::CELL_ID),
            ("rssi_dbm", at::RSSI_DBM),
            ("fw", at::FW),
            ("app", at::APP),
            ("model", at::MODEL),
            ("region", at::REGION),
            ("amount_minor", at::AMOUNT_MINOR),
            ("currency", at::CURRENCY),
        ];
        for (name, i) in positions {
            assert_eq!(FIELDS[i].name, name);
        }
    }
}
