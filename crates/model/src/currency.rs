//! ISO 4217 currencies: numeric codes and minor units.
//!
//! ISO 8583 field 49 carries the numeric code (`156`), JSON payloads mostly
//! the alphabetic one (`CNY`); amounts are in minor units whose exponent
//! depends on the currency (0 for JPY and KRW, 3 for KWD and BHD, 2 for
//! most). The table holds the currencies card fleets trade in; a currency
//! outside it is kept as sent and assumed to have 2 minor units.

/// (alphabetic, numeric, minor units), from ISO 4217.
const TABLE: &[(&[u8; 3], &[u8; 3], u8)] = &[
    (b"AED", b"784", 2),
    (b"ARS", b"032", 2),
    (b"AUD", b"036", 2),
    (b"BHD", b"048", 3),
    (b"BRL", b"986", 2),
    (b"CAD", b"124", 2),
    (b"CHF", b"756", 2),
    (b"CLP", b"152", 0),
    (b"CNY", b"156", 2),
    (b"COP", b"170", 2),
    (b"CZK", b"203", 2),
    (b"DKK", b"208", 2),
    (b"EGP", b"818", 2),
    (b"EUR", b"978", 2),
    (b"GBP", b"826", 2),
    (b"HKD", b"344", 2),
    (b"HUF", b"348", 2),
    (b"IDR", b"360", 2),
    (b"ILS", b"376", 2),
    (b"INR", b"356", 2),
    (b"IQD", b"368", 3),
    (b"ISK", b"352", 0),
    (b"JOD", b"400", 3),
    (b"JPY", b"392", 0),
    (b"KES", b"404", 2),
    (b"KRW", b"410", 0),
    (b"KWD", b"414", 3),
    (b"KZT", b"398", 2),
    (b"LYD", b"434", 3),
    (b"MOP", b"446", 2),
    (b"MXN", b"484", 2),
    (b"MYR", b"458", 2),
    (b"NGN", b"566", 2),
    (b"NOK", b"578", 2),
    (b"NZD", b"554", 2),
    (b"OMR", b"512", 3),
    (b"PHP", b"608", 2),
    (b"PKR", b"586", 2),
    (b"PLN", b"985", 2),
    (b"QAR", b"634", 2),
    (b"RON", b"946", 2),
    (b"RUB", b"643", 2),
    (b"SAR", b"682", 2),
    (b"SEK", b"752", 2),
    (b"SGD", b"702", 2),
    (b"THB", b"764", 2),
    (b"TND", b"788", 3),
    (b"TRY", b"949", 2),
    (b"TWD", b"901", 2),
    (b"UAH", b"980", 2),
    (b"USD", b"840", 2),
    (b"VND", b"704", 0),
    (b"XAF", b"950", 0),
    (b"XOF", b"952", 0),
    (b"ZAR", b"710", 2),
];

/// The alphabetic code of a numeric ISO 4217 code this table knows.
pub fn alphabetic(numeric: [u8; 3]) -> Option<[u8; 3]> {
    TABLE
        .iter()
        .find(|(_, n, _)| **n == numeric)
        .map(|(a, _, _)| **a)
}

/// Minor units (decimal places) of an alphabetic currency code: 2 when the
/// table does not know it.
pub fn minor_units(alphabetic: [u8; 3]) -> u8 {
    TABLE
        .iter()
        .find(|(a, _, _)| **a == alphabetic)
        .map_or(2, |(_, _, m)| *m)
}

/// `amount_minor` of `currency` in major units.
pub fn major(amount_minor: u64, currency: [u8; 3]) -> f64 {
    amount_minor as f64 / 10f64.powi(i32::from(minor_units(currency)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_codes_name_their_currency() {
        assert_eq!(alphabetic(*b"156"), Some(*b"CNY"));
        assert_eq!(alphabetic(*b"978"), Some(*b"EUR"));
        assert_eq!(alphabetic(*b"999"), None);
    }

    #[test]
    fn amounts_use_each_currencys_minor_units() {
        assert_eq!(major(1250, *b"EUR"), 12.5);
        assert_eq!(major(1250, *b"JPY"), 1250.0);
        assert_eq!(major(1250, *b"KWD"), 1.25);
        assert_eq!(major(1250, *b"XYZ"), 12.5, "unknown: two decimals");
    }

    #[test]
    fn the_table_has_one_row_per_code() {
        for (i, (a, n, _)) in TABLE.iter().enumerate() {
            assert!(TABLE[..i].iter().all(|(b, m, _)| b != a && m != n), "{a:?}");
        }
    }
}
