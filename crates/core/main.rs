//! `swipewatch`, the live service: CLI and wiring only. Everything
//! domain-specific lives in the crates under `crates/`.

mod demo;
mod eval;
mod pipeline;
mod run;
mod simulate;
mod views;

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
    /// The whole product on one machine: an embedded MQTT broker, a simulated
    /// fleet playing a looping story of faults, the detector, the console and
    /// /metrics. Prints the URL.
    Demo {
        /// HTTP listen address of the console, API and /metrics.
        #[arg(long, default_value = "127.0.0.1:9464")]
        listen: std::net::SocketAddr,
        /// Play this scenario (name or file) instead of the built-in story.
        #[arg(long)]
        scenario: Option<String>,
        /// Fault-free history replayed into the baselines before going live.
        #[arg(long, default_value = "20m", value_parser = humantime::parse_duration)]
        history: std::time::Duration,
        /// Send incidents to this Alertmanager (http://host:port).
        #[arg(long)]
        alertmanager: Option<String>,
        /// Post every fired and resolved notice to this webhook
        /// (http://host:port/path; HMAC key from SWIPEWATCH_WEBHOOK_SECRET).
        #[arg(long)]
        webhook: Option<String>,
        /// Keep the durable incident log here, so a restarted demo resumes
        /// its incidents and deliveries.
        #[arg(long)]
        state_dir: Option<std::path::PathBuf>,
        /// Start of the story, epoch ms (default: now). A restarted demo
        /// given the first run's start picks the story up where it is now.
        #[arg(long)]
        story_start: Option<i64>,
    },
    /// Run a scenario's simulated fleet: publish it to a broker in real
    /// time, or write it to NDJSON as fast as possible (labels beside it).
    Simulate {
        /// Scenario name (in config/scenarios or config/demo) or file.
        #[arg(long)]
        scenario: String,
        /// Publish to this broker (mqtt://host:port), QoS1.
        #[arg(long, conflicts_with = "out")]
        broker: Option<String>,
        /// Write NDJSON here instead; labels go to <stem>.labels.json.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Event seconds per wall second when publishing.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Client connections when publishing.
        #[arg(long, default_value_t = 4)]
        connections: usize,
    },
    /// Replay every scenario of a directory in event time and score the
    /// incidents against its labels; exits 1 if a threshold is missed.
    Eval {
        /// Directory of scenario files (and an optional suite.toml with thresholds).
        #[arg(long, default_value = "config/scenarios")]
        scenarios: PathBuf,
        /// Seeds per scenario.
        #[arg(long, default_value_t = 1)]
        seeds: u64,
        /// Cut scenarios longer than this (e.g. `2h`); faults past the cut are dropped.
        #[arg(long, value_parser = humantime::parse_duration)]
        max_duration: Option<std::time::Duration>,
        /// Only scenarios whose file name contains this.
        #[arg(long)]
        only: Option<String>,
        /// Print every incident transition.
        #[arg(long)]
        trace: bool,
        /// Config file (engine settings and code tables).
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
            Ok(config) => {
                // Bad inventory rows are left out when the service loads it:
                // named here, one line each, without failing the check.
                let inventory = config.fleet.inventory_file.as_ref();
                if let Some(Ok(inv)) = inventory.map(|p| swipewatch_config::load_inventory(p)) {
                    for e in &inv.errors {
                        let file = inventory
                            .map(|p| p.display().to_string())
                            .unwrap_or_default();
                        eprintln!("warning: fleet.inventory_file: {file}: {e}");
                    }
                }
                println!("ok");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_CONFIG)
            }
        },
        Command::Demo {
            listen,
            scenario,
            history,
            alertmanager,
            webhook,
            state_dir,
            story_start,
        } => {
            run::init_logging("info,rumqttd=warn");
            let opts = demo::DemoOptions {
                listen,
                scenario,
                history,
                alertmanager,
                webhook,
                state_dir,
                story_start,
            };
            report(demo::demo(opts))
        }
        Command::Simulate {
            scenario,
            broker,
            out,
            speed,
            connections,
        } => {
            run::init_logging("info");
            report(simulate_command(&scenario, broker, out, speed, connections))
        }
        Command::Eval {
            scenarios,
            seeds,
            max_duration,
            only,
            trace,
            config,
        } => {
            let config = match load(config.as_ref()) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
            let opts = eval::EvalOptions {
                dir: scenarios,
                seeds: seeds.max(1),
                max_duration,
                only,
                trace,
            };
            match eval::eval(&opts, &config) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(EXIT_CONFIG)
                }
            }
        }
        Command::Run { config } => {
            let config = match load(config.as_ref()) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
            run::init_logging("info");
            report(run::run(config))
        }
    }
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn simulate_command(
    scenario: &str,
    broker: Option<String>,
    out: Option<PathBuf>,
    speed: f64,
    connections: usize,
) -> anyhow::Result<()> {
    let scenario = simulate::load_scenario(scenario)?;
    if let Some(out) = out {
        let generator = swipewatch_sim::Generator::new(&scenario, None);
        let n = simulate::to_ndjson(generator, &out)?;
        println!(
            "wrote {n} messages to {} and labels to {}",
            out.display(),
            swipewatch_sim::output::labels_path(&out).display()
        );
        return Ok(());
    }
    let broker = broker.unwrap_or_else(|| "mqtt://127.0.0.1:1883".into());
    anyhow::ensure!(speed > 0.0, "--speed must be positive");
    let now_ms = swipewatch_rt::now_ms();
    let generator = swipewatch_sim::Generator::new(&scenario, Some(now_ms));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            let _ = stop_tx.send(true);
        });
        let opts = simulate::PublishOptions {
            broker,
            connections,
            speed,
            client_id: "swipewatch-sim".into(),
        };
        let n = simulate::publish(generator, &opts, stop_rx).await?;
        println!("published {n} messages");
        anyhow::Ok(())
    })
}
