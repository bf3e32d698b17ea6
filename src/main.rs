//! `swipewatch`, the live service: CLI and wiring only. Everything
//! domain-specific lives in the crates under `crates/`.

mod pipeline;
mod run;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use swipewatch_config::{Config, ConfigError};

/// Live failure detection and root-cause attribution for card-terminal fleets.
#[derive(Parser)]
#[command(name = "swipewatch", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Connect to the broker, ingest outcomes and heartbeats, serve /metrics.
    Run {
        /// Config file (TOML). Without it, the built-in defaults apply
        /// (broker on mqtt://127.0.0.1:1883, HTTP on 127.0.0.1:9464).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Validate a config file: prints `ok`, or one line naming the bad key and exits 2.
    CheckConfig {
        /// Config file (TOML).
        file: PathBuf,
    },
}

/// Exit code for an unusable configuration.
const EXIT_CONFIG: u8 = 2;

fn load(path: Option<&PathBuf>) -> Result<Config, ConfigError> {
    match path {
        Some(p) => swipewatch_config::load_file(p),
        None => swipewatch_config::load_str("", std::path::Path::new(".")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { file } => match load(Some(&file)) {
            Ok(_) => {
                println!("ok");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_CONFIG)
            }
        },
        Command::Run { config } => {
            let config = match load(config.as_ref()) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
            run::init_logging();
            match run::run(config) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e:#}");
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
