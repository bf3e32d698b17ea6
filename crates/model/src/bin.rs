//! BIN ranges: which issuer, scheme and country a card's leading digits
//! belong to.
//!
//! Issuers are found by range, not by the first six digits: schemes
//! allocate 8-digit BINs, an issuer holds many ranges, and one range can
//! sit inside another (an issuer's co-branded 8-digit range inside its
//! 6-digit one). The provider maintains the table; swipewatch reads it as
//! CSV with a header naming the columns `low`, `high`, `issuer` and
//! optionally `scheme`, `country`, `card_type` (any order, more columns
//! ignored; `#` starts a comment line). `low` and `high` are 6 to 19
//! digits; a bound shorter than 8 digits covers every 8-digit BIN it
//! starts (`412345`–`412345` is `41234500`–`41234599`). Where ranges
//! overlap, the narrowest one holding the BIN wins. Ranges are flattened
//! into disjoint segments at load time, so a lookup is one binary search.

use std::collections::BTreeSet;

/// Digits a BIN is compared on.
const DIGITS: usize = 8;

/// What one range says about its cards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinRange {
    /// Issuer name, as the issuer dimension shows it.
    pub issuer: String,
    /// Card scheme (lower case), when given.
    pub scheme: Option<String>,
    /// Issuing country (ISO 3166), when given.
    pub country: Option<String>,
    /// Card type (credit, debit, prepaid), when given.
    pub card_type: Option<String>,
}

/// A problem in a BIN table, with the row (from 1, the header is row 1)
/// and column it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinTableError {
    /// Row, from 1 (the header is row 1).
    pub row: usize,
    /// Column name.
    pub column: String,
    /// What is wrong.
    pub detail: String,
}

impl std::fmt::Display for BinTableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "row {}, column `{}`: {}",
            self.row, self.column, self.detail
        )
    }
}

impl std::error::Error for BinTableError {}

/// The BIN table, flattened for lookup.
#[derive(Debug, Clone, Default)]
pub struct BinTable {
    ranges: Vec<BinRange>,
    /// Disjoint `(first, last, range)` segments in order.
    segments: Vec<(u32, u32, u32)>,
}

impl BinTable {
    /// Parses the CSV text of a table.
    pub fn parse(text: &str) -> Result<BinTable, BinTableError> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
        let Some((header_row, header)) = lines.next() else {
            return Ok(BinTable::default());
        };
        let names: Vec<String> = header
            .split(',')
            .map(|c| c.trim().to_ascii_lowercase())
            .collect();
        let column = |name: &str| names.iter().position(|n| n == name);
        let need = |name: &str| {
            column(name).ok_or_else(|| BinTableError {
                row: header_row,
                column: name.to_string(),
                detail: "missing from the header".to_string(),
            })
        };
        let (low_at, high_at, issuer_at) = (need("low")?, need("high")?, need("issuer")?);
        let optional = [column("scheme"), column("country"), column("card_type")];
        let mut ranges = Vec::new();
        let mut bounds = Vec::new();
        for (row, line) in lines {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            let cell = |at: usize, name: &str| {
                cells
                    .get(at)
                    .copied()
                    .filter(|c| !c.is_empty())
                    .ok_or_else(|| BinTableError {
                        row,
                        column: name.to_string(),
                        detail: "empty".to_string(),
                    })
            };
            let bound = |at: usize, name: &str, fill: u8| {
                let text = cell(at, name)?;
                bin_key(text, fill).ok_or_else(|| BinTableError {
                    row,
                    column: name.to_string(),
                    detail: "must be 6 to 19 digits".to_string(),
                })
            };
            let low = bound(low_at, "low", b'0')?;
            let high = bound(high_at, "high", b'9')?;
            if low > high {
                return Err(BinTableError {
                    row,
                    column: "high".to_string(),
                    detail: "is below `low`".to_string(),
                });
            }
            let text = |at: Option<usize>| {
                at.and_then(|i| cells.get(i))
                    .filter(|c| !c.is_empty())
                    .map(|c| c.to_string())
            };
            ranges.push(BinRange {
                issuer: cell(issuer_at, "issuer")?.to_string(),
                scheme: text(optional[0]).map(|s| s.to_ascii_lowercase()),
                country: text(optional[1]),
                card_type: text(optional[2]),
            });
            bounds.push((low, high));
        }
        Ok(BinTable {
            segments: flatten(&bounds),
            ranges,
        })
    }

    /// Ranges in the table.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// True when the table holds no range.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The narrowest range holding `bin` (6 to 8 digits; a 6-digit BIN is
    /// looked up as its first 8-digit BIN).
    pub fn lookup(&self, bin: &str) -> Option<&BinRange> {
        let key = bin_key(bin, b'0')?;
        let i = self
            .segments
            .partition_point(|s| s.0 <= key)
            .checked_sub(1)?;
        let (_, last, range) = self.segments[i];
        (key <= last).then(|| &self.ranges[range as usize])
    }
}

/// The first 8 digits of `digits`, padded with `fill` when shorter; `None`
/// unless it is 6 to 19 ASCII digits.
fn bin_key(digits: &str, fill: u8) -> Option<u32> {
    let b = digits.as_bytes();
    if !(6..=19).contains(&b.len()) || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut key = 0u32;
    for i in 0..DIGITS {
        let d = b.get(i).copied().unwrap_or(fill);
        key = key * 10 + u32::from(d - b'0');
    }
    Some(key)
}

/// Disjoint segments where the narrowest covering range wins (ties: the
/// later row), by a sweep over range starts and ends.
fn flatten(bounds: &[(u32, u32)]) -> Vec<(u32, u32, u32)> {
    let mut points: Vec<(u64, bool, usize)> = Vec::with_capacity(bounds.len() * 2);
    for (i, &(lo, hi)) in bounds.iter().enumerate() {
        points.push((u64::from(lo), true, i));
        points.push((u64::from(hi) + 1, false, i));
    }
    // Ends before starts at the same point.
    points.sort_by_key(|&(at, start, i)| (at, start, i));
    let mut active: BTreeSet<(u32, std::cmp::Reverse<usize>)> = BTreeSet::new();
    let mut segments: Vec<(u32, u32, u32)> = Vec::new();
    let mut k = 0;
    while k < points.len() {
        let at = points[k].0;
        while k < points.len() && points[k].0 == at {
            let (_, start, i) = points[k];
            let width = bounds[i].1 - bounds[i].0;
            if start {
                active.insert((width, std::cmp::Reverse(i)));
            } else {
                active.remove(&(width, std::cmp::Reverse(i)));
            }
            k += 1;
        }
        let next = points.get(k).map_or(at, |p| p.0);
        if let Some(&(_, std::cmp::Reverse(i))) = active.first() {
            if next > at {
                segments.push((at as u32, (next - 1) as u32, i as u32));
            }
        }
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "\
# provider BIN table
low,high,issuer,scheme,country,card_type
412345,412345,northbank,visa,DE,debit
41234560,41234569,northbank-cobrand,VISA,DE,credit
622126,622925,unionpay-range,unionpay,CN,
5100000000000000,5199999999999999,mc-wide,mastercard,,
";

    #[test]
    fn the_narrowest_range_holding_a_bin_wins() {
        let t = BinTable::parse(TABLE).expect("table");
        assert_eq!(t.len(), 4);
        let issuer = |bin: &str| t.lookup(bin).map(|r| r.issuer.as_str());
        assert_eq!(issuer("412345"), Some("northbank"));
        assert_eq!(issuer("41234512"), Some("northbank"));
        assert_eq!(issuer("41234563"), Some("northbank-cobrand"));
        assert_eq!(issuer("41234570"), Some("northbank"));
        assert_eq!(issuer("622200"), Some("unionpay-range"));
        assert_eq!(issuer("51234567"), Some("mc-wide"));
        assert_eq!(issuer("412346"), None);
        assert_eq!(issuer("4123"), None);
        let cobrand = t.lookup("41234563").expect("range");
        assert_eq!(cobrand.scheme.as_deref(), Some("visa"));
        assert_eq!(cobrand.card_type.as_deref(), Some("credit"));
    }

    #[test]
    fn a_bad_row_is_named_by_row_and_column() {
        let e = BinTable::parse("low,high,issuer\n412345,41234x,a\n").expect_err("bad high");
        assert_eq!(
            e.to_string(),
            "row 2, column `high`: must be 6 to 19 digits"
        );
        let e = BinTable::parse("low,issuer\n").expect_err("no high");
        assert_eq!(
            e.to_string(),
            "row 1, column `high`: missing from the header"
        );
        let e = BinTable::parse("low,high,issuer\n412346,412345,a\n").expect_err("reversed");
        assert_eq!(e.row, 2);
        let e = BinTable::parse("low,high,issuer\n412345,412345,\n").expect_err("no issuer");
        assert_eq!(e.column, "issuer");
    }

    #[test]
    fn an_empty_table_finds_nothing() {
        let t = BinTable::parse("").expect("empty");
        assert!(t.is_empty());
        assert_eq!(t.lookup("412345"), None);
    }
}
