//! What the events under an incident show, gathered while it is open.

use serde::{Deserialize, Serialize};

/// What the events under an incident show, gathered while it is open.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Most frequent response codes / terminal errors of the implicated
    /// classes, most frequent first (at most 5).
    pub top_codes: Vec<(String, u64)>,
    /// Distinct terminals with such a failure.
    pub terminals: u64,
    /// Distinct merchants with such a failure.
    pub merchants: u64,
    /// Failed transactions of the implicated classes.
    pub failed: u64,
    /// Their amount, minor units, all currencies summed as reported (kept
    /// for older readers; [`Evidence::amounts`] is the one to read).
    pub amount_minor: u64,
    /// Their amount per ISO 4217 currency (`XXX`: none sent), in minor
    /// units of that currency, largest first.
    #[serde(default)]
    pub amounts: Vec<(String, u64)>,
    /// Event time the tally started, epoch ms.
    pub since_ms: i64,
}

impl Evidence {
    /// The amounts as text in major units, each with its currency's own
    /// decimals (`CNY 1250.00, JPY 9800`); `-` when there is none.
    pub fn amounts_text(&self) -> String {
        if self.amounts.is_empty() {
            return "-".to_string();
        }
        self.amounts
            .iter()
            .map(|(currency, minor)| {
                let code: [u8; 3] = currency.as_bytes().try_into().unwrap_or(*b"XXX");
                let decimals = usize::from(swipewatch_model::currency::minor_units(code));
                let major = swipewatch_model::currency::major(*minor, code);
                format!("{currency} {major:.decimals$}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}
