//! `swipetool`, swipewatch's offline companion for history files (as promtool
//! is to prometheus). It is the only binary that links the polars-based
//! `history` crate, so the live `swipewatch` service builds without polars.
//!
//! Commands: `replay` (with `--labels`, a backtest), `baseline`, `report`,
//! `explain` and `simulate`.

mod baseline;
mod explain;
mod replay;
mod report;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Offline companion of swipewatch for transaction history files.
#[derive(Parser)]
#[command(name = "swipetool", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay outcome logs (CSV, Parquet, NDJSON) through the live
    /// detection path in event time; print the incidents and the
    /// throughput. With --labels, score them like `swipewatch eval`.
    Replay(replay::Options),
    /// Localize the root cause in leaf tables (one row per leaf: dimension
    /// columns, a real and a forecast value; or failures and attempts per
    /// side; or per-period counts); one line per file, as `a=x&b=y;c=z`.
    Explain(explain::Options),
    /// Run a scenario's simulated fleet as fast as possible and write its
    /// outcomes as a history file (CSV or Parquet: outcomes only; NDJSON:
    /// the whole stream), with the labels beside it.
    Simulate {
        /// Scenario name (in config/scenarios or config/demo) or file.
        #[arg(long)]
        scenario: String,
        /// Output file; the format follows the extension.
        #[arg(long)]
        out: PathBuf,
    },
    /// Learn per-value and per-leaf baselines from history files (as live
    /// detection would have, outages left out) and write them for
    /// `swipewatch run` (`engine.baseline_file`) or `replay --baseline`.
    Baseline {
        /// History files, in time order.
        #[arg(long = "from", required = true)]
        files: Vec<PathBuf>,
        /// swipewatch config (engine, codes, `[history.columns]`).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Baseline file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Export the drill-down behind an incident (or a span of time) from
    /// history files: per dimension value, failure rates before and during,
    /// outcome classes and failure codes, as CSV or Parquet.
    Report(report::Options),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Replay(opts) => replay::run(&opts),
        Command::Baseline { files, config, out } => baseline::run(&files, config.as_deref(), &out),
        Command::Explain(opts) => explain::run(&opts),
        Command::Simulate { scenario, out } => simulate(&scenario, &out),
        Command::Report(opts) => report::run(&opts),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("swipetool: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn simulate(name: &str, out: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context;
    use swipewatch_history::Format;
    use swipewatch_sim::output::{labels_path, write_labels, write_ndjson};
    let scenario = swipewatch_sim::Scenario::find(name)?;
    let mut generator = swipewatch_sim::Generator::new(&scenario, None);
    let started = std::time::Instant::now();
    let rows = match Format::of(out)? {
        Format::Ndjson => {
            let file = std::fs::File::create(out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            write_ndjson(&mut generator, &mut std::io::BufWriter::new(file))
                .with_context(|| format!("cannot write {}", out.display()))?
        }
        _ => swipewatch_history::write_outcomes(&mut generator, out)?,
    };
    let labels = labels_path(out);
    write_labels(&labels, &generator.labels())
        .with_context(|| format!("cannot write {}", labels.display()))?;
    println!(
        "wrote {rows} rows to {} in {:.1}s; labels in {}",
        out.display(),
        started.elapsed().as_secs_f64(),
        labels.display()
    );
    Ok(())
}
