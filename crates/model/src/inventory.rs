//! The fleet inventory: every terminal the provider owns, where it stands
//! and when it trades, as a terminal-management system exports it.
//!
//! CSV with a header. `terminal_id` is required; `merchant`, `model`,
//! `region`, `acquirer`, `carrier` fill dimensions a message leaves out;
//! `hours` is the local trading day (`08:00-22:00`, across midnight as
//! `18:00-02:00`, empty or `24h` for always); `tz` the terminal's offset
//! from UTC (`+08:00`, `-05:30`, `UTC`; empty: UTC). `#` lines are
//! comments. A bad row is reported with its row and column and left out;
//! the rest loads.

use crate::dims::Dim;
use crate::intern::FastState;
use std::collections::HashSet;

/// Dimensions an inventory row may give, with their column names.
pub const INVENTORY_DIMS: [(Dim, &str); 5] = [
    (Dim::Merchant, "merchant"),
    (Dim::Model, "model"),
    (Dim::Region, "region"),
    (Dim::Acquirer, "acquirer"),
    (Dim::Carrier, "carrier"),
];

/// A problem in one row (from 1, the header is its own row) and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryError {
    /// Row, from 1.
    pub row: usize,
    /// Column name.
    pub column: String,
    /// What is wrong.
    pub detail: String,
}

impl std::fmt::Display for InventoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "row {}, column `{}`: {}",
            self.row, self.column, self.detail
        )
    }
}

impl std::error::Error for InventoryError {}

/// A local trading day: open from `open` to `close`, minutes after local
/// midnight (`open == close`: always open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradingHours {
    /// Opens, minutes after local midnight.
    pub open: u16,
    /// Closes, minutes after local midnight (before `open`: the next day).
    pub close: u16,
}

impl TradingHours {
    /// Always open.
    pub const ALWAYS: TradingHours = TradingHours { open: 0, close: 0 };

    /// Parses `HH:MM-HH:MM`, `24h` or an empty cell.
    pub fn parse(text: &str) -> Result<TradingHours, String> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("24h") {
            return Ok(TradingHours::ALWAYS);
        }
        let (a, b) = text
            .split_once('-')
            .ok_or_else(|| format!("`{text}` is not HH:MM-HH:MM or 24h"))?;
        Ok(TradingHours {
            open: clock(a)?,
            close: clock(b)?,
        })
    }

    /// Whether it is open at minute `m` after local midnight.
    pub fn is_open(self, m: u16) -> bool {
        match self.open.cmp(&self.close) {
            std::cmp::Ordering::Equal => true,
            std::cmp::Ordering::Less => (self.open..self.close).contains(&m),
            std::cmp::Ordering::Greater => m >= self.open || m < self.close,
        }
    }

    /// Whether it is open throughout `[from_ms, to_ms]` (epoch ms) for a
    /// terminal at `offset_min` from UTC (checked minute by minute across
    /// at most a day).
    pub fn open_throughout(self, from_ms: i64, to_ms: i64, offset_min: i16) -> bool {
        if self == TradingHours::ALWAYS {
            return true;
        }
        let local =
            |ms: i64| (ms.div_euclid(60_000) + i64::from(offset_min)).rem_euclid(24 * 60) as u16;
        let minutes = ((to_ms - from_ms).max(0) / 60_000).min(24 * 60);
        (0..=minutes).all(|k| self.is_open(local(from_ms + k * 60_000)))
    }
}

fn clock(text: &str) -> Result<u16, String> {
    let bad = || format!("`{}` is not a time HH:MM", text.trim());
    let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 24 || m > 59 || (h == 24 && m > 0) {
        return Err(bad());
    }
    Ok((h * 60 + m) % (24 * 60))
}

/// Parses a UTC offset: `+08:00`, `-0530`, `+8`, `UTC`, `Z`.
pub fn parse_utc_offset(text: &str) -> Result<i16, String> {
    let t = text.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("utc") || t.eq_ignore_ascii_case("z") {
        return Ok(0);
    }
    let bad = || format!("`{t}` is not a UTC offset like +08:00");
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => return Err(bad()),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    let (h, m) = match digits.len() {
        1 | 2 => (digits.as_str(), "0"),
        4 => digits.split_at(2),
        _ => return Err(bad()),
    };
    let (h, m): (i16, i16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 14 || m > 59 {
        return Err(bad());
    }
    Ok(sign * (h * 60 + m))
}

/// One terminal of the inventory, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InventoryRow<'a> {
    /// Terminal id.
    pub terminal: &'a str,
    /// Values of [`INVENTORY_DIMS`], in that order (`None`: not given).
    pub dims: [Option<&'a str>; INVENTORY_DIMS.len()],
    /// Local trading day.
    pub hours: TradingHours,
    /// Offset from UTC, minutes.
    pub utc_offset_min: i16,
}

/// Where one row's values lie in the inventory's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    /// `(start, len)` of the id, then of each of [`INVENTORY_DIMS`].
    cells: [(u32, u32); 1 + INVENTORY_DIMS.len()],
    hours: TradingHours,
    utc_offset_min: i16,
}

/// A parsed inventory: the rows that loaded (their values in one buffer,
/// so a million rows are a few allocations) and the problems of those that
/// did not (or of columns ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    text: String,
    spans: Vec<Span>,
    /// One per bad row or ignored column.
    pub errors: Vec<InventoryError>,
}

impl Inventory {
    /// Terminals loaded.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// No terminal loaded.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The rows, in file order (ids unique).
    pub fn rows(&self) -> impl Iterator<Item = InventoryRow<'_>> {
        self.spans.iter().map(|span| {
            let cell =
                |(start, len): (u32, u32)| &self.text[start as usize..(start + len) as usize];
            let mut dims = [None; INVENTORY_DIMS.len()];
            for (d, &c) in dims.iter_mut().zip(&span.cells[1..]) {
                *d = (c.1 > 0).then(|| cell(c));
            }
            InventoryRow {
                terminal: cell(span.cells[0]),
                dims,
                hours: span.hours,
                utc_offset_min: span.utc_offset_min,
            }
        })
    }

    /// Parses the CSV text of an inventory. Only a header without
    /// `terminal_id` fails the whole file.
    pub fn parse(text: &str) -> Result<Inventory, InventoryError> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
        let Some((header_row, header)) = lines.next() else {
            return Ok(Inventory::default());
        };
        let names: Vec<String> = header
            .split(',')
            .map(|c| c.trim().to_ascii_lowercase())
            .collect();
        let at = |name: &str| names.iter().position(|n| n == name);
        let id_at = at("terminal_id").ok_or_else(|| InventoryError {
            row: header_row,
            column: "terminal_id".into(),
            detail: "missing from the header".into(),
        })?;
        let mut out = Inventory::default();
        let known: Vec<&str> = INVENTORY_DIMS
            .iter()
            .map(|d| d.1)
            .chain(["terminal_id", "hours", "tz"])
            .collect();
        for n in &names {
            if !known.contains(&n.as_str()) {
                out.errors.push(InventoryError {
                    row: header_row,
                    column: n.clone(),
                    detail: format!("unknown column, ignored (known: {})", known.join(", ")),
                });
            }
        }
        let dims: Vec<Option<usize>> = INVENTORY_DIMS.iter().map(|&(_, name)| at(name)).collect();
        let (hours_at, tz_at) = (at("hours"), at("tz"));
        // Rows are some tens of bytes: room for all of them at once.
        let rows_guess = text.len() / 32;
        let mut seen: HashSet<&str, FastState> =
            HashSet::with_capacity_and_hasher(rows_guess, FastState::default());
        out.spans.reserve(rows_guess);
        out.text.reserve(text.len() / 2);
        let mut cells: Vec<&str> = Vec::with_capacity(names.len());
        let mut last_hours = ("", Ok(TradingHours::ALWAYS));
        let mut last_tz = ("", Ok(0));
        for (row, line) in lines {
            cells.clear();
            cells.extend(line.split(',').map(str::trim));
            let cell = |i: usize| cells.get(i).copied().unwrap_or("");
            let bad = |column: &str, detail: String| InventoryError {
                row,
                column: column.to_string(),
                detail: format!("{detail}; the row is left out"),
            };
            let id = cell(id_at);
            if id.is_empty() {
                out.errors.push(bad("terminal_id", "empty".into()));
                continue;
            }
            if id.len() > 128 {
                out.errors
                    .push(bad("terminal_id", "longer than 128 characters".into()));
                continue;
            }
            if seen.contains(id) {
                out.errors.push(bad(
                    "terminal_id",
                    format!("`{id}` is listed again (the first row is kept)"),
                ));
                continue;
            }
            // Rows mostly repeat the row before's hours and zone.
            let hours_text = hours_at.map_or("", cell);
            if hours_text != last_hours.0 {
                last_hours = (hours_text, TradingHours::parse(hours_text));
            }
            let tz_text = tz_at.map_or("", cell);
            if tz_text != last_tz.0 {
                last_tz = (tz_text, parse_utc_offset(tz_text));
            }
            let hours = match hours_at.map(|_| last_hours.1.clone()) {
                Some(Err(e)) => {
                    out.errors.push(bad("hours", e));
                    continue;
                }
                Some(Ok(h)) => h,
                None => TradingHours::ALWAYS,
            };
            let utc_offset_min = match tz_at.map(|_| last_tz.1.clone()) {
                Some(Err(e)) => {
                    out.errors.push(bad("tz", e));
                    continue;
                }
                Some(Ok(o)) => o,
                None => 0,
            };
            seen.insert(id);
            let mut keep = |value: &str| {
                let start = out.text.len() as u32;
                out.text.push_str(value);
                (start, value.len() as u32)
            };
            let mut cells = [(0, 0); 1 + INVENTORY_DIMS.len()];
            cells[0] = keep(id);
            for (slot, at) in cells[1..].iter_mut().zip(&dims) {
                if let Some(i) = at {
                    *slot = keep(cell(*i));
                }
            }
            out.spans.push(Span {
                cells,
                hours,
                utc_offset_min,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_load_with_their_places_hours_and_zones_and_bad_rows_are_named_and_left_out() {
        let text = "terminal_id,merchant,region,hours,tz,colour\n\
                    # a comment\n\
                    T1,m-1,north,08:00-22:00,+08:00,red\n\
                    T2,m-1,,18:00-02:00,,\n\
                    ,m-2,north,,,\n\
                    T1,m-3,south,,,\n\
                    T3,m-3,south,25:00-26:00,,\n\
                    T4,m-3,south,,+99:00,\n\
                    T5,,,24h,UTC,\n";
        let inv = Inventory::parse(text).expect("header has terminal_id");
        let rows: Vec<InventoryRow> = inv.rows().collect();
        let ids: Vec<&str> = rows.iter().map(|r| r.terminal).collect();
        assert_eq!(ids, ["T1", "T2", "T5"]);
        // merchant, model, region, acquirer, carrier
        assert_eq!(rows[0].dims, [Some("m-1"), None, Some("north"), None, None]);
        assert_eq!(rows[0].utc_offset_min, 480);
        assert_eq!(rows[1].dims, [Some("m-1"), None, None, None, None]);
        let named: Vec<(usize, &str)> = inv
            .errors
            .iter()
            .map(|e| (e.row, e.column.as_str()))
            .collect();
        assert_eq!(
            named,
            [
                (1, "colour"),
                (5, "terminal_id"),
                (6, "terminal_id"),
                (7, "hours"),
                (8, "tz")
            ]
        );
        assert!(inv.errors[2].to_string().contains("listed again"));
    }

    #[test]
    fn a_header_without_terminal_id_is_refused_and_an_empty_file_is_empty() {
        let e = Inventory::parse("merchant,region\nm,north\n").expect_err("no id column");
        assert_eq!((e.row, e.column.as_str()), (1, "terminal_id"));
        assert_eq!(Inventory::parse("# nothing\n"), Ok(Inventory::default()));
    }

    #[test]
    fn trading_hours_hold_across_midnight_and_in_the_terminal_s_zone() {
        let late = TradingHours::parse("18:00-02:00").expect("valid");
        assert!(late.is_open(23 * 60) && late.is_open(60) && !late.is_open(12 * 60));
        let day = TradingHours::parse("08:00-22:00").expect("valid");
        // 01:00 UTC is 09:00 at +08:00: open; 23:00 UTC is 07:00 there.
        let h = |hour: i64| hour * 3_600_000;
        assert!(day.open_throughout(h(1), h(2), 480));
        assert!(!day.open_throughout(h(23), h(24), 480));
        // Open at both ends but closed in between is not open throughout.
        assert!(!day.open_throughout(h(20), h(20 + 13), 0));
        assert!(TradingHours::ALWAYS.open_throughout(0, h(48), 0));
        assert_eq!(parse_utc_offset("-0530"), Ok(-330));
        assert!(parse_utc_offset("8").is_err());
    }
}
