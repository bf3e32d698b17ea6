//! Writing a simulated fleet's outcomes as a history table (CSV or
//! Parquet), one column per field, in the order the outcomes arrived, with
//! `arrival_ms` so replay sees them as live did. Heartbeats are not part of
//! a transaction log and are left out; NDJSON output keeps the whole
//! stream (`swipewatch_sim::output::write_ndjson`).

use crate::fields::{Kind, FIELDS};
use crate::read::Format;
use crate::HistoryError;
use polars::prelude::*;
use std::path::Path;
use swipewatch_config::{IngestConfig, TopicKind};
use swipewatch_decode::{RawOutcome, RawTs, StrOrInt, TopicTemplate};
use swipewatch_model::Dim;
use swipewatch_sim::{Generator, Message};

/// Rows per written batch.
const BATCH_ROWS: usize = 100_000;

enum Buf {
    Text(Vec<Option<String>>),
    Int(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
}

impl Buf {
    fn column(&mut self, name: &str) -> Column {
        match self {
            Buf::Text(v) => Column::new(name.into(), std::mem::take(v)),
            Buf::Int(v) => Column::new(name.into(), std::mem::take(v)),
            Buf::Bool(v) => Column::new(name.into(), std::mem::take(v)),
        }
    }
}

enum Sink {
    Csv(polars::io::csv::write::BatchedWriter<std::io::BufWriter<std::fs::File>>),
    Parquet(Box<polars::io::parquet::write::BatchedWriter<std::io::BufWriter<std::fs::File>>>),
}

/// Writes every outcome `generator` produces to `path` (CSV or Parquet, by
/// extension); returns the number of rows.
pub fn write_outcomes(generator: &mut Generator, path: &Path) -> Result<u64, HistoryError> {
    let file_name = path.display().to_string();
    let polars_error = |e: PolarsError| HistoryError::Polars {
        file: file_name.clone(),
        message: e.to_string(),
    };
    let format = Format::of(path)?;
    let file = std::fs::File::create(path).map_err(|source| HistoryError::Io {
        file: file_name.clone(),
        source,
    })?;
    let out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut bufs: Vec<Buf> = FIELDS
        .iter()
        .map(|f| match f.kind {
            Kind::Text => Buf::Text(Vec::new()),
            Kind::Int | Kind::Time => Buf::Int(Vec::new()),
            Kind::Bool => Buf::Bool(Vec::new()),
        })
        .collect();
    let schema: Schema = FIELDS
        .iter()
        .map(|f| {
            let dtype = match f.kind {
                Kind::Text => DataType::String,
                Kind::Int | Kind::Time => DataType::Int64,
                Kind::Bool => DataType::Boolean,
            };
            Field::new(f.name.into(), dtype)
        })
        .collect();
    let mut sink = match format {
        Format::Csv => Sink::Csv(
            CsvWriter::new(out)
                .include_header(true)
                .batched(&schema)
                .map_err(polars_error)?,
        ),
        Format::Parquet => Sink::Parquet(Box::new(
            ParquetWriter::new(out)
                .batched(&schema)
                .map_err(polars_error)?,
        )),
        Format::Ndjson => {
            return Err(HistoryError::UnknownFormat {
                file: file_name.clone(),
            })
        }
    };
    let topics: Vec<TopicTemplate> = IngestConfig::default()
        .topics
        .iter()
        .filter(|t| t.kind == TopicKind::Txn)
        .map(|t| TopicTemplate::parse(&t.template, t.kind))
        .collect();
    let mut messages = Vec::new();
    let mut rows = 0u64;
    let mut pending = 0usize;
    while generator.step(&mut messages) {
        for m in messages.drain(..) {
            if push_row(&mut bufs, &topics, &m) {
                rows += 1;
                pending += 1;
            }
        }
        if pending >= BATCH_ROWS {
            flush(&mut sink, &mut bufs, pending).map_err(polars_error)?;
            pending = 0;
        }
    }
    flush(&mut sink, &mut bufs, pending).map_err(polars_error)?;
    match &mut sink {
        Sink::Csv(w) => w.finish().map_err(polars_error)?,
        Sink::Parquet(w) => {
            w.finish().map_err(polars_error)?;
        }
    }
    Ok(rows)
}

fn flush(sink: &mut Sink, bufs: &mut [Buf], rows: usize) -> PolarsResult<()> {
    if rows == 0 {
        return Ok(());
    }
    let columns = bufs
        .iter_mut()
        .zip(FIELDS.iter())
        .map(|(b, f)| b.column(f.name))
        .collect();
    let df = DataFrame::new(rows, columns)?;
    match sink {
        Sink::Csv(w) => w.write_batch(&df),
        Sink::Parquet(w) => w.write_batch(&df),
    }
}

/// Appends one outcome message as a row; false for anything else.
fn push_row(bufs: &mut [Buf], topics: &[TopicTemplate], m: &Message) -> bool {
    let Some(captures) = topics.iter().find_map(|t| t.captures(&m.topic)) else {
        return false;
    };
    let Ok(raw) = serde_json::from_slice::<RawOutcome>(&m.payload) else {
        return false;
    };
    let net = raw.net.as_ref();
    let sw = raw.sw.as_ref();
    let cell = net.and_then(|n| n.cell_id.as_ref()).map(|c| match c {
        StrOrInt::Str(s) => s.to_string(),
        StrOrInt::Int(i) => i.to_string(),
    });
    let text = |v: Option<&str>| v.map(str::to_string);
    let name = |v: Option<&'static str>| v.map(str::to_string);
    let ts = match raw.ts {
        Some(RawTs::Ms(ms)) => Some(ms),
        _ => None,
    };
    let values: [Value; 27] = [
        Value::Text(text(raw.event_id.as_deref())),
        Value::Text(text(raw.terminal_id.as_deref().or(captures.terminal()))),
        Value::Int(ts),
        Value::Text(name(raw.outcome.map(|o| o.name()))),
        Value::Int(Some(m.arrival_ms)),
        Value::Text(text(raw.merchant_id.as_deref())),
        Value::Text(text(
            raw.acquirer.as_deref().or(captures.dim(Dim::Acquirer)),
        )),
        Value::Text(text(raw.issuer.as_deref())),
        Value::Text(text(raw.bin.as_deref())),
        Value::Text(text(raw.scheme.as_deref())),
        Value::Int(raw.seq.and_then(|v| i64::try_from(v).ok())),
        Value::Text(text(raw.rc.as_deref())),
        Value::Text(name(raw.rc_source.map(|o| o.name()))),
        Value::Text(text(raw.term_error.as_deref())),
        Value::Text(name(raw.entry_mode.map(|o| o.name()))),
        Value::Int(raw.latency_ms.map(i64::from)),
        Value::Bool(raw.saf),
        Value::Text(text(net.and_then(|n| n.net_type.as_deref()))),
        Value::Text(text(net.and_then(|n| n.carrier.as_deref()))),
        Value::Text(cell),
        Value::Int(net.and_then(|n| n.rssi_dbm).map(i64::from)),
        Value::Text(text(sw.and_then(|s| s.fw.as_deref()))),
        Value::Text(text(sw.and_then(|s| s.app.as_deref()))),
        Value::Text(text(raw.model.as_deref())),
        Value::Text(text(raw.region.as_deref().or(captures.dim(Dim::Region)))),
        Value::Int(raw.amount_minor.and_then(|v| i64::try_from(v).ok())),
        Value::Text(text(raw.currency.as_deref())),
    ];
    for (buf, value) in bufs.iter_mut().zip(values) {
        match (buf, value) {
            (Buf::Text(b), Value::Text(v)) => b.push(v),
            (Buf::Int(b), Value::Int(v)) => b.push(v),
            (Buf::Bool(b), Value::Bool(v)) => b.push(v),
            (Buf::Text(b), _) => b.push(None),
            (Buf::Int(b), _) => b.push(None),
            (Buf::Bool(b), _) => b.push(None),
        }
    }
    true
}

enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
}

/// A column of a table written by [`write_table`].
#[derive(Debug, Clone, PartialEq)]
pub enum TableColumn {
    /// Text values.
    Text(Vec<String>),
    /// Integers.
    Int(Vec<i64>),
    /// Floats (`None`: not defined, e.g. a rate over no attempts).
    Float(Vec<Option<f64>>),
}

impl TableColumn {
    fn len(&self) -> usize {
        match self {
            TableColumn::Text(v) => v.len(),
            TableColumn::Int(v) => v.len(),
            TableColumn::Float(v) => v.len(),
        }
    }
}

/// Writes named columns of equal length to `path` (CSV or Parquet, by
/// extension).
pub fn write_table(path: &Path, columns: Vec<(String, TableColumn)>) -> Result<(), HistoryError> {
    let file_name = path.display().to_string();
    let polars_error = |e: PolarsError| HistoryError::Polars {
        file: file_name.clone(),
        message: e.to_string(),
    };
    let format = Format::of(path)?;
    let rows = columns.first().map_or(0, |(_, c)| c.len());
    let columns = columns
        .into_iter()
        .map(|(name, c)| match c {
            TableColumn::Text(v) => Column::new(name.into(), v),
            TableColumn::Int(v) => Column::new(name.into(), v),
            TableColumn::Float(v) => Column::new(name.into(), v),
        })
        .collect();
    let mut df = DataFrame::new(rows, columns).map_err(polars_error)?;
    let file = std::fs::File::create(path).map_err(|source| HistoryError::Io {
        file: file_name.clone(),
        source,
    })?;
    let out = std::io::BufWriter::new(file);
    match format {
        Format::Csv => CsvWriter::new(out)
            .include_header(true)
            .finish(&mut df)
            .map_err(polars_error),
        Format::Parquet => ParquetWriter::new(out)
            .finish(&mut df)
            .map(|_| ())
            .map_err(polars_error),
        Format::Ndjson => Err(HistoryError::UnknownFormat { file: file_name }),
    }
}
