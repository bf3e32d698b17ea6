//! `swipetool`, swipewatch's offline companion for history files (as promtool
//! is to prometheus). It is the only binary that will link the polars-based
//! `history` crate, so the live `swipewatch` service builds without polars.
//!
//! Its commands (replay, backtest, baseline, report, explain, simulate to
//! Parquet/CSV) are not built yet; until they are, it says so and exits 1.

use clap::Parser;
use std::process::ExitCode;

/// Offline companion of swipewatch for transaction history files.
#[derive(Parser)]
#[command(name = "swipetool", version, about, long_about = None)]
struct Cli {
    /// Command to run.
    command: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let what = cli.command.as_deref().unwrap_or("(none)");
    eprintln!(
        "swipetool: command '{what}' is not available: replay, backtest, baseline, report, \
         explain and simulate are not implemented in this version"
    );
    ExitCode::FAILURE
}
