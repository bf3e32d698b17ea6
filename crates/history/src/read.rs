//! Reading outcome logs.
//!
//! CSV and Parquet go through polars: the file is scanned lazily, only the
//! mapped columns are read (projection pushdown), and every value is typed
//! here, row by row, so a bad value is reported with its file, row and
//! column. CSV columns are all read as text (`05` must stay `05`). Rows are
//! replayed in `arrival_ms` order when the file has it (the order
//! swipewatch received them, store-and-forward backlogs included), else in
//! event-time order; a file already in order is not reordered.
//!
//! NDJSON lines are either archived broker messages
//! (`{"topic", "arrival_ms", "payload"}`, what `swipewatch simulate --out`
//! writes) or bare outcomes and heartbeats in the wire format, one per
//! line. Both are already the live decoder's input, so they are handed to
//! it as they are: the same validation and counting as live (a bad line is
//! counted by reason and skipped, not the end of the replay), at the
//! decoder's speed, and no JSON reader in polars.

use crate::fields::{at, Kind, Mapping, FIELDS};
use crate::ndjson::read_ndjson;
use crate::HistoryError;
use polars::prelude::*;
use serde::de::value::StrDeserializer;
use serde::Deserialize;
use std::borrow::Cow;
use std::path::Path;
use swipewatch_decode::{Drops, RawNet, RawOutcome, RawSw, RawTs, StrOrInt};
use swipewatch_model::DroppedField;

/// A history file's format, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.ndjson`, `.jsonl`.
    Ndjson,
    /// `.csv`.
    Csv,
    /// `.parquet`, `.pq`.
    Parquet,
}

impl Format {
    /// The format of `path`, by extension.
    pub fn of(path: &Path) -> Result<Format, HistoryError> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "ndjson" | "jsonl" => Ok(Format::Ndjson),
            "csv" => Ok(Format::Csv),
            "parquet" | "pq" => Ok(Format::Parquet),
            _ => Err(HistoryError::UnknownFormat {
                file: path.display().to_string(),
            }),
        }
    }
}

/// What one line or row of history is.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // handed over once per row, never stored
pub enum Item<'a> {
    /// A broker message as archived, for the live decoder.
    Message {
        /// Its topic.
        topic: &'a str,
        /// Its payload.
        payload: &'a [u8],
        /// When it was received, epoch ms.
        arrival_ms: i64,
    },
    /// An archived line that is a bare outcome or heartbeat (or is not
    /// valid at all), for `Decoder::decode_line`, which validates and counts
    /// it as the live path would.
    Line {
        /// The line, without its end.
        text: &'a str,
        /// Line number in the file, from 1.
        line: u64,
        /// When it was received, if the line says.
        arrival_ms: Option<i64>,
    },
    /// One outcome, typed, for `Decoder::decode_record`.
    Outcome {
        /// The outcome.
        raw: RawOutcome<'a>,
        /// When it was received (its event time when the file does not say).
        arrival_ms: i64,
        /// Optional values that could not be typed, left out of `raw`.
        dropped: Drops,
    },
    /// A row whose required value (`ts`, `outcome`) could not be typed:
    /// counted and skipped as the live path would, or the end of a strict
    /// replay.
    Refused {
        /// What is wrong, naming file, row and column.
        problem: HistoryError,
    },
}

/// Checks that `path` can be read with `mapping` (format known, required
/// columns present) without reading its rows.
pub fn check(path: &Path, mapping: &Mapping) -> Result<(), HistoryError> {
    match Format::of(path)? {
        Format::Ndjson => std::fs::metadata(path)
            .map(|_| ())
            .map_err(|source| HistoryError::Io {
                file: path.display().to_string(),
                source,
            }),
        format => {
            let mut lf = scan(path, format)?;
            columns(path, &mut lf, mapping).map(|_| ())
        }
    }
}

/// Reads every row of `path` in replay order and hands it to `sink`;
/// returns the number of rows.
pub fn read(
    path: &Path,
    mapping: &Mapping,
    mut sink: impl FnMut(Item<'_>),
) -> Result<u64, HistoryError> {
    match Format::of(path)? {
        Format::Ndjson => read_ndjson(path, &mut sink),
        format => read_table(path, format, mapping, &mut sink),
    }
}

fn polars_error(path: &Path) -> impl Fn(PolarsError) -> HistoryError + '_ {
    move |e| HistoryError::Polars {
        file: path.display().to_string(),
        message: e.to_string(),
    }
}

fn scan(path: &Path, format: Format) -> Result<LazyFrame, HistoryError> {
    let name = path.to_string_lossy().into_owned();
    if !path.is_file() {
        return Err(HistoryError::Io {
            file: name,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    let pl_path = PlRefPath::new(name);
    let lf = match format {
        Format::Csv => LazyCsvReader::new(pl_path)
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .finish(),
        _ => LazyFrame::scan_parquet(pl_path, ScanArgsParquet::default()),
    };
    lf.map_err(polars_error(path))
}

/// `(field index, column name)` of every mapped column the file has;
/// an error when a required one is missing.
fn columns(
    path: &Path,
    lf: &mut LazyFrame,
    mapping: &Mapping,
) -> Result<Vec<(usize, String)>, HistoryError> {
    let schema = lf.collect_schema().map_err(polars_error(path))?;
    let mut present = Vec::new();
    for (i, f) in FIELDS.iter().enumerate() {
        let column = mapping.column(f);
        if schema.contains(column) {
            present.push((i, column.to_string()));
        } else if f.required {
            return Err(HistoryError::MissingColumn {
                file: path.display().to_string(),
                field: f.name,
                column: column.to_string(),
            });
        }
    }
    Ok(present)
}

/// One column's values as read.
enum Values {
    Absent,
    Text(StringChunked),
    Int(Int64Chunked),
    /// Raw timestamp values and how many of them make a millisecond.
    Time(Int64Chunked, i64),
    Bool(BooleanChunked),
}

/// A slice of a file's columns, typed; rows are read with the position
/// they have in the file so errors can name it.
struct Table<'p> {
    file: &'p Path,
    values: Vec<Values>,
    columns: Vec<String>,
    /// File row of the slice's first row (0-based).
    base: usize,
}

/// Rows per slice when a file in replay order is read slice by slice.
pub(crate) const SLICE_ROWS: usize = 256 * 1024;

/// Reads a CSV or Parquet file in replay order. The order column is read
/// first, alone; the other columns are read a slice of rows at a time
/// (Parquet) or at once (CSV).
fn read_table(
    path: &Path,
    format: Format,
    mapping: &Mapping,
    sink: &mut impl FnMut(Item<'_>),
) -> Result<u64, HistoryError> {
    let mut lf = scan(path, format)?;
    let present = columns(path, &mut lf, mapping)?;
    let order_field = if present.iter().any(|(i, _)| *i == at::ARRIVAL_MS) {
        at::ARRIVAL_MS
    } else {
        at::TS
    };
    let has_arrival = order_field == at::ARRIVAL_MS;
    let order_column = mapping.column(&FIELDS[order_field]).to_string();
    let keys = {
        let df = lf
            .clone()
            .select([col(order_column.as_str())])
            .collect()
            .map_err(polars_error(path))?;
        let table = Table::from_frame(path, mapping, &df, &[(order_field, order_column)], 0)?;
        // A row whose order value cannot be read goes first; it is
        // refused when its own values are read (a bad `ts`) or rejected by
        // the decoder (a bad `arrival_ms`).
        (0..df.height())
            .map(|r| {
                table
                    .time(order_field, r)
                    .ok()
                    .flatten()
                    .unwrap_or(i64::MIN)
            })
            .collect::<Vec<i64>>()
    };
    let rows = keys.len();
    let selected: Vec<Expr> = present.iter().map(|(_, c)| col(c.as_str())).collect();
    let mut emit = |table: &Table<'_>, r: usize, key: i64| -> Result<(), HistoryError> {
        let (raw, dropped) = match table.outcome(r) {
            Ok(typed) => typed,
            Err(problem @ HistoryError::BadValue { .. }) => {
                sink(Item::Refused { problem });
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let arrival_ms = if has_arrival {
            key
        } else {
            match raw.ts {
                Some(RawTs::Ms(ms)) => ms,
                _ => 0,
            }
        };
        sink(Item::Outcome {
            raw,
            arrival_ms,
            dropped,
        });
        Ok(())
    };
    // Rows go out in (key, file position) order. Each is read from its
    // slice of rows, loaded when first needed and dropped once all its
    // rows are out: a file in order, or nearly (arrival jitter,
    // store-and-forward backlogs), holds one or two slices at a time; a
    // file in no order at all ends up holding every slice. Parquet reads a
    // slice from the row groups that hold it; a CSV slice would be found by
    // parsing the file from its start, so a CSV file is one slice.
    let slice_rows = match format {
        Format::Csv => rows.max(1),
        _ => SLICE_ROWS,
    };
    let mut order: Vec<usize> = (0..rows).collect();
    if !keys.is_sorted() {
        order.sort_by_key(|&r| keys[r]);
    }
    let mut left: Vec<usize> = (0..rows.div_ceil(slice_rows))
        .map(|s| slice_rows.min(rows - s * slice_rows))
        .collect();
    let mut loaded: std::collections::HashMap<usize, Table<'_>> = std::collections::HashMap::new();
    for r in order {
        let slice = r / slice_rows;
        let base = slice * slice_rows;
        let table = match loaded.entry(slice) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let df = lf
                    .clone()
                    .select(selected.clone())
                    .slice(base as i64, slice_rows as IdxSize)
                    .collect()
                    .map_err(polars_error(path))?;
                e.insert(Table::from_frame(path, mapping, &df, &present, base)?)
            }
        };
        emit(table, r - base, keys[r])?;
        left[slice] -= 1;
        if left[slice] == 0 {
            loaded.remove(&slice);
        }
    }
    Ok(rows as u64)
}

/// Unit of a Parquet timestamp, as raw values per millisecond.
fn per_ms(unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Nanoseconds => 1_000_000,
        TimeUnit::Microseconds => 1_000,
        TimeUnit::Milliseconds => 1,
    }
}

impl<'p> Table<'p> {
    /// The `present` columns of `df`, typed; `df` starts at file row `base`.
    fn from_frame(
        file: &'p Path,
        mapping: &Mapping,
        df: &DataFrame,
        present: &[(usize, String)],
        base: usize,
    ) -> Result<Table<'p>, HistoryError> {
        let mut table = Table {
            file,
            values: (0..FIELDS.len()).map(|_| Values::Absent).collect(),
            columns: FIELDS
                .iter()
                .map(|f| mapping.column(f).to_string())
                .collect(),
            base,
        };
        for (i, column) in present {
            let series = df
                .column(column)
                .map_err(polars_error(file))?
                .as_materialized_series()
                .clone();
            table.values[*i] = table.typed(*i, series)?;
        }
        Ok(table)
    }

    fn bad(&self, field: usize, row: usize, detail: impl Into<String>) -> HistoryError {
        HistoryError::BadValue {
            file: self.file.display().to_string(),
            row: (self.base + row) as u64 + 1,
            column: self.columns[field].clone(),
            detail: detail.into(),
        }
    }

    fn bad_column(&self, field: usize, dtype: &DataType) -> HistoryError {
        HistoryError::BadColumn {
            file: self.file.display().to_string(),
            column: self.columns[field].clone(),
            detail: format!("{dtype} cannot hold {}", FIELDS[field].name),
        }
    }

    /// The column's values in the form its field is read from.
    fn typed(&self, field: usize, series: Series) -> Result<Values, HistoryError> {
        let kind = FIELDS[field].kind;
        let dtype = series.dtype().clone();
        let cast = |to: &DataType| series.cast(to).map_err(|_| self.bad_column(field, &dtype));
        let values = match (&dtype, kind) {
            (DataType::String, _) => Values::Text(single(series.str().cloned(), self, field)?),
            (d, Kind::Text) if d.is_primitive_numeric() || d.is_bool() => Values::Text(single(
                cast(&DataType::String)?.str().cloned(),
                self,
                field,
            )?),
            (d, Kind::Int | Kind::Bool) if d.is_integer() => {
                Values::Int(single(cast(&DataType::Int64)?.i64().cloned(), self, field)?)
            }
            (d, Kind::Time) if d.is_integer() => Values::Time(
                single(cast(&DataType::Int64)?.i64().cloned(), self, field)?,
                1,
            ),
            (DataType::Datetime(unit, _), Kind::Time) => Values::Time(
                single(cast(&DataType::Int64)?.i64().cloned(), self, field)?,
                per_ms(*unit),
            ),
            (DataType::Boolean, Kind::Bool) => {
                Values::Bool(single(series.bool().cloned(), self, field)?)
            }
            _ => return Err(self.bad_column(field, &dtype)),
        };
        Ok(values)
    }

    fn text(&self, field: usize, row: usize) -> Option<&str> {
        match &self.values[field] {
            Values::Text(ca) => ca.get(row),
            _ => None,
        }
    }

    fn int(&self, field: usize, row: usize) -> Result<Option<i64>, HistoryError> {
        match &self.values[field] {
            Values::Int(ca) => Ok(ca.get(row)),
            Values::Text(ca) => match ca.get(row).map(str::trim) {
                None | Some("") => Ok(None),
                Some(s) => s
                    .parse()
                    .map(Some)
                    .map_err(|_| self.bad(field, row, "not a whole number")),
            },
            _ => Ok(None),
        }
    }

    fn int_as<T: TryFrom<i64>>(&self, field: usize, row: usize) -> Result<Option<T>, HistoryError> {
        match self.int(field, row)? {
            None => Ok(None),
            Some(v) => T::try_from(v)
                .map(Some)
                .map_err(|_| self.bad(field, row, "out of range")),
        }
    }

    fn flag(&self, field: usize, row: usize) -> Result<Option<bool>, HistoryError> {
        match &self.values[field] {
            Values::Bool(ca) => Ok(ca.get(row)),
            Values::Int(ca) => match ca.get(row) {
                None => Ok(None),
                Some(0) => Ok(Some(false)),
                Some(1) => Ok(Some(true)),
                Some(_) => Err(self.bad(field, row, "not true or false")),
            },
            Values::Text(ca) => match ca.get(row).map(str::trim) {
                None | Some("") => Ok(None),
                Some("true" | "TRUE" | "True" | "1") => Ok(Some(true)),
                Some("false" | "FALSE" | "False" | "0") => Ok(Some(false)),
                Some(_) => Err(self.bad(field, row, "not true or false")),
            },
            _ => Ok(None),
        }
    }

    /// A time field in epoch ms. Text that is neither a whole number nor
    /// RFC 3339 is an error here, not a rejection: the file is malformed.
    fn time(&self, field: usize, row: usize) -> Result<Option<i64>, HistoryError> {
        match &self.values[field] {
            Values::Time(ca, per_ms) => Ok(ca.get(row).map(|v| v.div_euclid(*per_ms))),
            Values::Text(ca) => match ca.get(row).map(str::trim) {
                None | Some("") => Ok(None),
                Some(s) => match s.parse::<i64>() {
                    Ok(ms) => Ok(Some(ms)),
                    Err(_) => match RawTs::deserialize(StrDeserializer::<ValueError>::new(s)) {
                        Ok(RawTs::Ms(ms)) => Ok(Some(ms)),
                        _ => Err(self.bad(field, row, "not epoch ms nor an RFC 3339 time")),
                    },
                },
            },
            _ => Ok(None),
        }
    }

    /// A text field naming one variant of `T` (as on the wire).
    fn variant<'de, T: Deserialize<'de>>(
        &'de self,
        field: usize,
        row: usize,
    ) -> Result<Option<T>, HistoryError> {
        match self.text(field, row).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => T::deserialize(StrDeserializer::<ValueError>::new(s))
                .map(Some)
                .map_err(|_| self.bad(field, row, "not one of the known values")),
        }
    }

    /// Row `row` as an outcome. An optional value that cannot be typed is
    /// left out and named in the returned [`Drops`]; only `ts` and
    /// `outcome` make the row an error.
    fn outcome(&self, row: usize) -> Result<(RawOutcome<'_>, Drops), HistoryError> {
        let d = &mut Drops::default();
        let seq = optional(self.int_as(at::SEQ, row), DroppedField::Seq, d);
        let rc_source = optional(self.variant(at::RC_SOURCE, row), DroppedField::RcSource, d);
        let entry_mode = optional(
            self.variant(at::ENTRY_MODE, row),
            DroppedField::EntryMode,
            d,
        );
        let latency_ms = optional(self.int_as(at::LATENCY_MS, row), DroppedField::LatencyMs, d);
        let saf = optional(self.flag(at::SAF, row), DroppedField::Saf, d);
        let amount_minor = optional(
            self.int_as(at::AMOUNT_MINOR, row),
            DroppedField::AmountMinor,
            d,
        );
        let rssi_dbm = optional(self.int_as(at::RSSI_DBM, row), DroppedField::Rssi, d);
        let text = |field: usize| {
            self.text(field, row)
                .filter(|s| !s.is_empty())
                .map(Cow::Borrowed)
        };
        let net = RawNet {
            net_type: text(at::NET_TYPE),
            carrier: text(at::CARRIER),
            cell_id: text(at::CELL_ID).map(StrOrInt::Str),
            rssi_dbm,
            ..RawNet::default()
        };
        let sw = RawSw {
            fw: text(at::FW),
            app: text(at::APP),
        };
        let has_net = net.net_type.is_some()
            || net.carrier.is_some()
            || net.cell_id.is_some()
            || net.rssi_dbm.is_some();
        let has_sw = sw.fw.is_some() || sw.app.is_some();
        let raw = RawOutcome {
            event_id: text(at::EVENT_ID),
            terminal_id: text(at::TERMINAL_ID),
            merchant_id: text(at::MERCHANT_ID),
            acquirer: text(at::ACQUIRER),
            issuer: text(at::ISSUER),
            bin: text(at::BIN),
            scheme: text(at::SCHEME),
            ts: self.time(at::TS, row)?.map(RawTs::Ms),
            seq,
            outcome: self.variant(at::OUTCOME, row)?,
            rc: text(at::RC),
            rc_source,
            term_error: text(at::TERM_ERROR),
            entry_mode,
            latency_ms,
            saf,
            net: has_net.then_some(net),
            sw: has_sw.then_some(sw),
            model: text(at::MODEL),
            region: text(at::REGION),
            amount_minor,
            currency: text(at::CURRENCY),
            ..RawOutcome::default()
        };
        Ok((raw, *d))
    }
}

/// `value`, or `None` with `field` added to `dropped` when it could not be
/// typed.
fn optional<T>(
    value: Result<Option<T>, HistoryError>,
    field: DroppedField,
    dropped: &mut Drops,
) -> Option<T> {
    value.unwrap_or_else(|_| {
        dropped.add(field);
        None
    })
}

type ValueError = serde::de::value::Error;

/// A typed column in one chunk, so row access is direct.
fn single<T: PolarsDataType>(
    ca: PolarsResult<ChunkedArray<T>>,
    table: &Table<'_>,
    field: usize,
) -> Result<ChunkedArray<T>, HistoryError> {
    let ca = ca.map_err(|_| HistoryError::BadColumn {
        file: table.file.display().to_string(),
        column: table.columns[field].clone(),
        detail: format!("cannot be read as {}", FIELDS[field].name),
    })?;
    Ok(ca.rechunk().into_owned())
}
