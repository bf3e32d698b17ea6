//! History files: the outcome logs payment providers keep, read for replay
//! and backtests; simulated fleets written as such logs; leaf tables for
//! offline localization. polars lives here and only here, linked by the
//! offline `swipetool`, never by the `swipewatch` service.

mod fields;
mod leaves;
mod ndjson;
mod read;
mod write;

pub use fields::{Field, Kind, Mapping, FIELDS};
pub use leaves::{read_leaf_columns, read_leaves, LeafColumns, LeafTable};
pub use read::{check, read, Format, Item};
pub use write::{write_outcomes, write_table, TableColumn};

/// Why a history file cannot be used. Messages name the file, and the row
/// and column where there is one; they never quote a value (a value could
/// be a card number).
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The extension says no format this crate reads.
    #[error("{file}: unknown format (use .csv, .parquet or .ndjson)")]
    UnknownFormat {
        /// File.
        file: String,
    },
    /// Reading or writing failed.
    #[error("{file}: {source}")]
    Io {
        /// File.
        file: String,
        /// Cause.
        source: std::io::Error,
    },
    /// polars refused the file.
    #[error("{file}: {message}")]
    Polars {
        /// File.
        file: String,
        /// polars' message.
        message: String,
    },
    /// A column the replay needs is not in the file.
    #[error("{file}: no column `{column}` (for {field}); map it in [history.columns]")]
    MissingColumn {
        /// File.
        file: String,
        /// Field it would hold.
        field: &'static str,
        /// Column looked for.
        column: String,
    },
    /// A whole column has a type its field cannot take.
    #[error("{file}: column `{column}`: {detail}")]
    BadColumn {
        /// File.
        file: String,
        /// Column.
        column: String,
        /// What is wrong.
        detail: String,
    },
    /// One value cannot be read.
    #[error("{file}: row {row}, column `{column}`: {detail}")]
    BadValue {
        /// File.
        file: String,
        /// Row, from 1 (the header is not counted; a line number in NDJSON).
        row: u64,
        /// Column (a field path in NDJSON).
        column: String,
        /// What is wrong.
        detail: String,
    },
    /// A file with no data rows.
    #[error("{file}: {detail}")]
    Empty {
        /// File.
        file: String,
        /// What is missing.
        detail: &'static str,
    },
    /// The mapping names a field that does not exist.
    #[error("history.columns: unknown field `{field}`")]
    UnknownField {
        /// The key.
        field: String,
    },
}

#[cfg(test)]
mod tests;
