//! Leaf tables for offline root-cause localization: one row per leaf, a
//! column per dimension, a real and a forecast value (the layout of the
//! public multi-dimensional root-cause benchmarks). Dimension values are
//! coded per dimension in order of first appearance.

use crate::read::Format;
use crate::HistoryError;
use polars::prelude::*;
use std::collections::HashMap;
use std::path::Path;

/// A leaf table, coded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeafTable {
    /// Dimension names, in the order asked for.
    pub dims: Vec<String>,
    /// Per dimension, the value of each code.
    pub names: Vec<Vec<String>>,
    /// Codes, row-major: leaf `i`, dimension `d` at `i * dims.len() + d`.
    pub codes: Vec<u32>,
    /// Real value per leaf.
    pub real: Vec<f64>,
    /// Forecast value per leaf.
    pub forecast: Vec<f64>,
}

/// Columns of a leaf file: coded dimensions, numeric measures, text columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeafColumns {
    /// Dimension names, in the order asked for.
    pub dims: Vec<String>,
    /// Per dimension, the value of each code.
    pub names: Vec<Vec<String>>,
    /// Codes, row-major: row `i`, dimension `d` at `i * dims.len() + d`.
    pub codes: Vec<u32>,
    /// One column per measure asked for: finite, non-negative numbers.
    pub measures: Vec<Vec<f64>>,
    /// One column per text column asked for (an empty cell reads as "").
    pub text: Vec<Vec<String>>,
}

/// Reads the leaf table in `path` (CSV or Parquet).
pub fn read_leaves(
    path: &Path,
    dims: &[String],
    real: &str,
    forecast: &str,
) -> Result<LeafTable, HistoryError> {
    let mut c = read_leaf_columns(path, dims, &[real, forecast], &[])?;
    let forecast = c.measures.pop().unwrap_or_default();
    let real = c.measures.pop().unwrap_or_default();
    Ok(LeafTable {
        dims: c.dims,
        names: c.names,
        codes: c.codes,
        real,
        forecast,
    })
}

/// Reads dimension, measure and text columns of `path` (CSV or Parquet).
/// Every error names the file, and the row and column where there is one:
/// a missing column, an empty file or one with only a header, a cell that
/// is not a finite number, a negative one.
pub fn read_leaf_columns(
    path: &Path,
    dims: &[String],
    measures: &[&str],
    text: &[&str],
) -> Result<LeafColumns, HistoryError> {
    let file = path.display().to_string();
    let polars_error = |e: PolarsError| HistoryError::Polars {
        file: file.clone(),
        message: e.to_string(),
    };
    let bytes = std::fs::metadata(path).map_err(|source| HistoryError::Io {
        file: file.clone(),
        source,
    })?;
    if bytes.len() == 0 {
        return Err(HistoryError::Empty {
            file,
            detail: "row 0 (header): the file is empty",
        });
    }
    let pl_path = PlRefPath::new(path.to_string_lossy().into_owned());
    let mut lf = match Format::of(path)? {
        Format::Csv => LazyCsvReader::new(pl_path)
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .finish(),
        Format::Parquet => LazyFrame::scan_parquet(pl_path, ScanArgsParquet::default()),
        Format::Ndjson => return Err(HistoryError::UnknownFormat { file }),
    }
    .map_err(polars_error)?;
    let schema = lf.collect_schema().map_err(polars_error)?;
    let wanted: Vec<&str> = dims
        .iter()
        .map(String::as_str)
        .chain(measures.iter().copied())
        .chain(text.iter().copied())
        .collect();
    for column in &wanted {
        if !schema.contains(column) {
            return Err(HistoryError::MissingColumn {
                file: file.clone(),
                field: "leaf table",
                column: column.to_string(),
            });
        }
    }
    let mut unique: Vec<&str> = Vec::new();
    for c in &wanted {
        if !unique.contains(c) {
            unique.push(c);
        }
    }
    let df = lf
        .select(unique.iter().map(|c| col(*c)).collect::<Vec<_>>())
        .collect()
        .map_err(polars_error)?;
    let rows = df.height();
    if rows == 0 {
        return Err(HistoryError::Empty {
            file,
            detail: "row 1: no leaves, only a header",
        });
    }
    let as_text = |name: &str| -> Result<Series, HistoryError> {
        df.column(name)
            .map_err(polars_error)?
            .as_materialized_series()
            .cast(&DataType::String)
            .map_err(polars_error)
    };
    let strings = |name: &str| -> Result<Vec<String>, HistoryError> {
        let series = as_text(name)?;
        let ca = series.str().map_err(polars_error)?;
        Ok(ca.iter().map(|v| v.unwrap_or("").to_string()).collect())
    };
    let mut out = LeafColumns {
        dims: dims.to_vec(),
        names: vec![Vec::new(); dims.len()],
        codes: vec![0; rows * dims.len()],
        measures: Vec::with_capacity(measures.len()),
        text: Vec::with_capacity(text.len()),
    };
    for (d, name) in dims.iter().enumerate() {
        let series = as_text(name)?;
        let ca = series.str().map_err(polars_error)?;
        let mut seen: HashMap<&str, u32> = HashMap::new();
        for (i, v) in ca.iter().enumerate() {
            let v = v.unwrap_or("");
            let next = out.names[d].len() as u32;
            let code = *seen.entry(v).or_insert(next);
            if code == next {
                out.names[d].push(v.to_string());
            }
            out.codes[i * dims.len() + d] = code;
        }
    }
    for column in measures {
        let series = df
            .column(column)
            .map_err(polars_error)?
            .as_materialized_series()
            .clone();
        let bad = |i: usize, detail: &str| HistoryError::BadValue {
            file: file.clone(),
            row: i as u64 + 1,
            column: column.to_string(),
            detail: detail.to_string(),
        };
        let values: Vec<Option<f64>> = if series.dtype() == &DataType::String {
            let ca = series.str().map_err(polars_error)?;
            ca.iter()
                .map(|v| v.and_then(|v| v.trim().parse::<f64>().ok()))
                .collect()
        } else {
            let cast = series.cast(&DataType::Float64).map_err(polars_error)?;
            cast.f64().map_err(polars_error)?.iter().collect()
        };
        let mut kept = Vec::with_capacity(rows);
        for (i, v) in values.into_iter().enumerate() {
            match v {
                Some(x) if x.is_finite() && x >= 0.0 => kept.push(x),
                Some(x) if x.is_finite() => return Err(bad(i, "negative")),
                _ => return Err(bad(i, "not a finite number")),
            }
        }
        out.measures.push(kept);
    }
    for column in text {
        out.text.push(strings(column)?);
    }
    Ok(out)
}
