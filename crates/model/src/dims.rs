//! The dimensions an outcome is sliced by.

use crate::intern::Sym;
use serde::{Deserialize, Serialize};

/// A dimension of the fleet along which failures are counted and localized.
///
/// The order is stable: it indexes [`DimValues`] and per-dimension tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dim {
    /// Geographic region of the terminal.
    Region,
    /// Mobile carrier (or fixed-line provider) of the terminal's link.
    Carrier,
    /// Link type: 4g, 3g, wifi, ethernet, ...
    NetType,
    /// Radio cell id, when the terminal reports one.
    Cell,
    /// Acquirer (or switch) that routes the transaction.
    Acquirer,
    /// Card issuer, from the payload or derived from the BIN.
    Issuer,
    /// Card scheme: visa, mastercard, unionpay, ...
    Scheme,
    /// Merchant that owns the terminal.
    Merchant,
    /// Terminal hardware model.
    Model,
    /// Terminal firmware version.
    Firmware,
    /// Payment application version.
    App,
    /// How the card was read: chip, contactless, swipe, fallback, manual.
    EntryMode,
}

impl Dim {
    /// Number of dimensions.
    pub const COUNT: usize = 12;

    /// Every dimension in index order.
    pub const ALL: [Dim; Dim::COUNT] = [
        Dim::Region,
        Dim::Carrier,
        Dim::NetType,
        Dim::Cell,
        Dim::Acquirer,
        Dim::Issuer,
        Dim::Scheme,
        Dim::Merchant,
        Dim::Model,
        Dim::Firmware,
        Dim::App,
        Dim::EntryMode,
    ];

    /// Position of this dimension in [`Dim::ALL`] and in [`DimValues`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The snake_case name used in config, topics, the API and labels.
    pub fn name(self) -> &'static str {
        match self {
            Dim::Region => "region",
            Dim::Carrier => "carrier",
            Dim::NetType => "net_type",
            Dim::Cell => "cell",
            Dim::Acquirer => "acquirer",
            Dim::Issuer => "issuer",
            Dim::Scheme => "scheme",
            Dim::Merchant => "merchant",
            Dim::Model => "model",
            Dim::Firmware => "firmware",
            Dim::App => "app",
            Dim::EntryMode => "entry_mode",
        }
    }

    /// Parses a dimension from its [`Dim::name`].
    pub fn from_name(name: &str) -> Option<Dim> {
        Dim::ALL.into_iter().find(|d| d.name() == name)
    }
}

impl std::fmt::Display for Dim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The interned value of every dimension for one event; [`Sym::NONE`] where absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DimValues([Sym; Dim::COUNT]);

impl Default for DimValues {
    fn default() -> Self {
        DimValues([Sym::NONE; Dim::COUNT])
    }
}

impl DimValues {
    /// Value of `dim`, [`Sym::NONE`] if the event did not carry it.
    pub fn get(&self, dim: Dim) -> Sym {
        self.0[dim.index()]
    }

    /// Sets the value of `dim`.
    pub fn set(&mut self, dim: Dim, value: Sym) {
        self.0[dim.index()] = value;
    }

    /// All values in [`Dim::ALL`] order.
    pub fn as_array(&self) -> &[Sym; Dim::COUNT] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_indexes_are_positions() {
        for (i, d) in Dim::ALL.into_iter().enumerate() {
            assert_eq!(d.index(), i);
            assert_eq!(Dim::from_name(d.name()), Some(d));
        }
        assert_eq!(Dim::from_name("terminal"), None);
    }
}
