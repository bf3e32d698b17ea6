//! `swipetool explain`: the live localizer run on leaf tables from files,
//! in the output format of the public root-cause benchmarks
//! (`a=a1&b=b2;c=c3`: elements separated by `;`, pairs within by `&`).
//!
//! Three shapes of input:
//! * a leaf table with a real and a forecast column (`--real`, `--forecast`);
//! * a ratio measure (`--ratio`): failures and attempts on each side; the
//!   expected failures are the forecast's rate times the real attempts;
//! * a long table of per-period leaf counts (`--time`, `--failures`,
//!   `--attempts`, `--at`): the rows before `--at` give each leaf's failure
//!   rate, shrunk toward the table's as the live detector does, and the rows
//!   from `--at` on are explained against it.

use anyhow::{bail, ensure, Context};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use swipewatch_config::defaults::SHRINKAGE_ATTEMPTS;
use swipewatch_diagnose::localize::series::{expected_failures, Tally};
use swipewatch_diagnose::{localize, Direction, LeafInput, Localized, Params};
use swipewatch_history::{read_leaf_columns, read_leaves, LeafColumns};

/// What `explain` was asked.
#[derive(clap::Args)]
pub struct Options {
    /// Leaf tables (CSV or Parquet).
    #[arg(long = "input", required = true)]
    pub inputs: Vec<PathBuf>,
    /// Dimension columns, comma-separated (any number).
    #[arg(long, value_delimiter = ',', required = true)]
    pub dims: Vec<String>,
    /// Column of real values.
    #[arg(long, default_value = "real")]
    pub real: String,
    /// Column of forecast values.
    #[arg(long, default_value = "predict")]
    pub forecast: String,
    /// A ratio measure instead: four columns, real failures, real attempts,
    /// forecast failures, forecast attempts.
    #[arg(long, value_delimiter = ',', conflicts_with = "time")]
    pub ratio: Option<Vec<String>>,
    /// A long table of per-period counts instead: its time column (numbers,
    /// or RFC 3339 / `YYYY-MM-DD HH:MM[:SS]` times).
    #[arg(long, requires_all = ["failures", "attempts", "at"])]
    pub time: Option<String>,
    /// With --time: the failures column.
    #[arg(long)]
    pub failures: Option<String>,
    /// With --time: the attempts column.
    #[arg(long)]
    pub attempts: Option<String>,
    /// With --time: rows at or after this time are explained, rows before
    /// it give the expected failure rates.
    #[arg(long)]
    pub at: Option<String>,
    /// Which way causes may move their leaves: both, rise or drop.
    #[arg(long, value_enum, default_value_t = Way::Both)]
    pub direction: Way,
    /// One JSON object per file with scores and totals.
    #[arg(long)]
    pub json: bool,
}

/// `--direction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Way {
    /// Up or down.
    Both,
    /// Only above the forecast.
    Rise,
    /// Only below the forecast.
    Drop,
}

#[derive(Serialize)]
struct Explained {
    file: String,
    root_cause: String,
    leaves: usize,
    millis: f64,
    elements: Vec<ElementJson>,
}

#[derive(Serialize)]
struct ElementJson {
    element: String,
    score: f64,
    real: f64,
    expected: f64,
    /// `rise` or `drop`.
    direction: &'static str,
    excess_share: f64,
}

/// A leaf table ready for the localizer, with the names of its codes.
struct Leaves {
    dims: Vec<String>,
    names: Vec<Vec<String>>,
    codes: Vec<u32>,
    real: Vec<f64>,
    forecast: Vec<f64>,
}

/// Runs the command.
pub fn run(o: &Options) -> anyhow::Result<()> {
    ensure!(!o.dims.is_empty(), "--dims: at least one dimension column");
    let mut seen = std::collections::HashSet::new();
    for d in &o.dims {
        ensure!(seen.insert(d), "--dims: column `{d}` named twice");
    }
    if let Some(r) = &o.ratio {
        ensure!(
            r.len() == 4,
            "--ratio: four columns (real failures, real attempts, forecast failures, forecast attempts)"
        );
    }
    let params = Params {
        direction: match o.direction {
            Way::Both => Direction::Both,
            Way::Rise => Direction::Rise,
            Way::Drop => Direction::Drop,
        },
        ..Params::default()
    };
    for path in &o.inputs {
        let table = load(path, o)?;
        let started = std::time::Instant::now();
        let found = localize(
            &LeafInput {
                dims: table.dims.len(),
                values: &table.codes,
                real: &table.real,
                forecast: &table.forecast,
            },
            &params,
        );
        let millis = started.elapsed().as_secs_f64() * 1000.0;
        let root_cause = found
            .iter()
            .map(|l| element_text(&table, l))
            .collect::<Vec<_>>()
            .join(";");
        if o.json {
            let out = Explained {
                file: path.display().to_string(),
                root_cause,
                leaves: table.real.len(),
                millis,
                elements: found
                    .iter()
                    .map(|l| ElementJson {
                        element: element_text(&table, l),
                        score: l.score,
                        real: l.real,
                        expected: l.expected,
                        direction: if l.real >= l.expected { "rise" } else { "drop" },
                        excess_share: l.excess_share,
                    })
                    .collect(),
            };
            println!("{}", serde_json::to_string(&out)?);
        } else {
            println!("{root_cause}");
        }
    }
    Ok(())
}

/// Reads one input in the shape the options ask for.
fn load(path: &Path, o: &Options) -> anyhow::Result<Leaves> {
    if let Some(r) = &o.ratio {
        let cols: Vec<&str> = r.iter().map(String::as_str).collect();
        let c = read_leaf_columns(path, &o.dims, &cols, &[])?;
        let [rf, ra, ff, fa] = [0, 1, 2, 3].map(|k| &c.measures[k]);
        let (sf, sa) = (ff.iter().sum::<f64>(), fa.iter().sum::<f64>());
        let fleet = if sa > 0.0 { sf / sa } else { 0.0 };
        let forecast = (0..rf.len())
            .map(|i| ra[i] * if fa[i] > 0.0 { ff[i] / fa[i] } else { fleet })
            .collect();
        return Ok(Leaves {
            real: rf.clone(),
            forecast,
            ..coded(c)
        });
    }
    if let Some(time) = &o.time {
        let (Some(failures), Some(attempts), Some(at)) = (&o.failures, &o.attempts, &o.at) else {
            bail!("--time needs --failures, --attempts and --at");
        };
        let at = parse_time(at).with_context(|| format!("--at: `{at}` is not a time"))?;
        let c = read_leaf_columns(path, &o.dims, &[failures, attempts], &[time])?;
        return series(path, c, time, at);
    }
    let t = read_leaves(path, &o.dims, &o.real, &o.forecast)?;
    Ok(Leaves {
        dims: t.dims,
        names: t.names,
        codes: t.codes,
        real: t.real,
        forecast: t.forecast,
    })
}

fn coded(c: LeafColumns) -> Leaves {
    Leaves {
        dims: c.dims,
        names: c.names,
        codes: c.codes,
        real: Vec::new(),
        forecast: Vec::new(),
    }
}

/// Per-period rows summed into leaves: failures from `at` on against what
/// the rows before `at` lead to expect.
fn series(path: &Path, c: LeafColumns, time: &str, at: f64) -> anyhow::Result<Leaves> {
    let dims = c.dims.len();
    let mut index: HashMap<&[u32], usize> = HashMap::new();
    let mut codes: Vec<u32> = Vec::new();
    let mut past: Vec<Tally> = Vec::new();
    let mut now: Vec<Tally> = Vec::new();
    for (row, stamp) in c.text[0].iter().enumerate() {
        let t = parse_time(stamp).with_context(|| {
            format!(
                "{}: row {}, column `{time}`: not a time",
                path.display(),
                row + 1
            )
        })?;
        let key = &c.codes[row * dims..(row + 1) * dims];
        let next = past.len();
        let leaf = *index.entry(key).or_insert(next);
        if leaf == next {
            codes.extend_from_slice(key);
            past.push(Tally::default());
            now.push(Tally::default());
        }
        let side = if t >= at {
            &mut now[leaf]
        } else {
            &mut past[leaf]
        };
        side.failures += c.measures[0][row];
        side.attempts += c.measures[1][row];
    }
    ensure!(
        now.iter().any(|t| t.attempts > 0.0 || t.failures > 0.0),
        "{}: no rows at or after --at",
        path.display()
    );
    ensure!(
        past.iter().any(|t| t.attempts > 0.0),
        "{}: no attempts before --at to expect failures from",
        path.display()
    );
    let forecast = expected_failures(&past, &now, SHRINKAGE_ATTEMPTS);
    Ok(Leaves {
        real: now.iter().map(|t| t.failures).collect(),
        forecast,
        codes,
        ..coded(LeafColumns {
            codes: Vec::new(),
            ..c
        })
    })
}

/// Seconds: a plain number, an RFC 3339 time, `YYYY-MM-DD HH:MM[:SS[.f]]`
/// (with a space or a `T`), or a date.
fn parse_time(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Ok(x) = s.parse::<f64>() {
        return x.is_finite().then_some(x);
    }
    let seconds = |micros: i64| micros as f64 / 1e6;
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(seconds(t.timestamp_micros()));
    }
    // Polars writes a naive datetime as `%F %T%.f` and a date as `%F`.
    [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
    .or_else(|| {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })
    .map(|t| seconds(t.and_utc().timestamp_micros()))
}

fn element_text(table: &Leaves, l: &Localized) -> String {
    l.element
        .0
        .iter()
        .map(|&(d, code)| {
            let value = table.names[d]
                .get(code as usize)
                .map_or("?", String::as_str);
            format!("{}={value}", table.dims[d])
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
#[path = "explain_tests.rs"]
mod tests;
