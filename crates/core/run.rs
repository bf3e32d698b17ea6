//! `swipewatch run`: wires ingest, the HTTP server and signal handling.

use crate::pipeline::{CheckpointSchedule, Clock, Driver, DriverOptions};
use anyhow::Context;
use std::io::IsTerminal;
use swipewatch_alert::incident_log::Recovered;
use swipewatch_config::Config;
use swipewatch_engine::{BaselineFile, Engine, Settings};
use swipewatch_ingest::SharedSymbols;
use swipewatch_monitor::Monitor;
use swipewatch_notify::{Notifier, Outbox, Webhook};
use swipewatch_server::AppState;
use swipewatch_telemetry::Metrics;
use tracing_subscriber::EnvFilter;

/// Logs to stderr; `RUST_LOG` filters (default `default`).
pub fn init_logging(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

/// Runs the live service until SIGINT or SIGTERM.
pub fn run(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let settings = Settings::from(&config.engine);
    let restored = match &config.engine.checkpoint_dir {
        Some(dir) => match Monitor::restore(dir, settings.clone()) {
            Ok(Some(monitor)) => {
                tracing::info!(dir = %dir.display(), "restored the engine checkpoint");
                Some(monitor)
            }
            Ok(None) => None,
            Err(e) => {
                // A bad checkpoint must not keep the service down: start
                // learning afresh, and say so.
                tracing::warn!("{e}; starting without it");
                None
            }
        },
        None => None,
    };
    let fresh = restored.is_none();
    let mut monitor =
        restored.unwrap_or_else(|| Monitor::new(Engine::new(settings), SharedSymbols::default()));
    // From the newest event the checkpoint holds until ingest connects,
    // swipewatch was not listening: a data gap.
    let since = monitor.engine().max_event_ms();
    if since != i64::MIN {
        monitor.set_connected(false, since);
    }
    // A checkpoint is newer than any baseline file: the file only serves a
    // fresh start.
    if let Some(path) = config.engine.baseline_file.as_ref().filter(|_| fresh) {
        match BaselineFile::load_file(path).and_then(|f| monitor.warm_start(&f)) {
            Ok(()) => tracing::info!(file = %path.display(), "started from learned baselines"),
            // As with a bad checkpoint: learn afresh rather than stay down.
            Err(e) => tracing::error!(
                file = %path.display(),
                "cannot start from baselines: {e}; learning from scratch"
            ),
        }
    }
    runtime.block_on(serve(config, monitor))
}

/// Serves until SIGINT or SIGTERM: ingest into `monitor`, the HTTP
/// server, metrics.
pub async fn serve(config: Config, mut monitor: Monitor) -> anyhow::Result<()> {
    let metrics = Metrics::new();
    let symbols = monitor.symbols().clone();
    monitor.tune(&config);
    let alerts = &config.alerts;
    let sinks: Vec<&str> = [
        alerts.webhook_url.as_ref().map(|_| "webhook"),
        alerts.mqtt_topic.as_ref().map(|_| "mqtt"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let (mut notifier, recovered) = match config.journal_path() {
        Some(path) => {
            let opened = Notifier::open(&path, &sinks, monitor.book().policy().keep_resolved)?;
            tracing::info!(
                path = %path.display(),
                incidents = opened.1.incidents.len(),
                undelivered = opened.1.notices.len(),
                "incident log opened"
            );
            opened
        }
        None => (Notifier::default(), Recovered::default()),
    };
    if let Some(path) = &config.fleet.inventory_file {
        let inventory = load_inventory_logged(path)?;
        monitor.set_inventory(&inventory);
    }
    monitor.restore_incidents(recovered.incidents.clone(), Clock::wall().now_ms());
    monitor.restore_silences(recovered.silences.clone());
    let taxonomy = swipewatch_config::load_code_tables(&config.codes.tables)?;
    let listener = swipewatch_server::bind(config.server.listen).await?;
    let addr = listener.local_addr().context("listener address")?;
    // With a checkpoint, every message is journaled before it is
    // acknowledged, and what the checkpoint lacks is decoded again.
    let checkpointed = swipewatch_ingest::Checkpointed::default();
    let mut ingest = match &config.engine.checkpoint_dir {
        Some(dir) => swipewatch_ingest::spawn_journaled(
            &config,
            taxonomy,
            metrics.ingest.clone(),
            symbols.clone(),
            swipewatch_ingest::JournalStart {
                dir: dir.join("journal"),
                position: monitor.engine().input_position(),
                checkpointed: checkpointed.clone(),
            },
        )?,
        None => swipewatch_ingest::spawn_with_symbols(
            &config,
            taxonomy,
            metrics.ingest.clone(),
            symbols.clone(),
        )?,
    };
    #[cfg(unix)]
    if let Some(path) = config.codes.bin_table.clone() {
        tokio::spawn(reload_bins_on_hangup(path, ingest.bins.clone()));
    }
    tracing::info!(broker = %config.mqtt.url, http = %addr, "swipewatch running; console at http://{addr}/ , metrics at http://{addr}/metrics");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let console_url = format!("http://{addr}/");
    let mut sink_tasks = Vec::new();
    if let Some(url) = alerts.webhook_url.clone() {
        let outbox = Outbox::new("webhook", metrics.alerts.clone());
        notifier.attach(outbox.clone(), recovered.pending_for("webhook"));
        sink_tasks.push(tokio::spawn(swipewatch_notify::webhook(
            Webhook {
                url,
                secret: alerts.webhook_secret.as_ref().map(|s| s.0.clone()),
                retry_initial: alerts.webhook_retry_initial,
                retry_max: alerts.webhook_retry_max,
                console_url: console_url.clone(),
            },
            outbox,
            notifier.journal(),
            metrics.alerts.clone(),
            stop_rx.clone(),
        )));
    }
    if let Some(prefix) = alerts.mqtt_topic.clone() {
        let mut options = swipewatch_ingest::mqtt_options(
            &config,
            &format!("{}-incidents", config.mqtt.client_id),
        )?;
        options.set_clean_session(true);
        let outbox = Outbox::new("mqtt", metrics.alerts.clone());
        notifier.attach(outbox.clone(), recovered.pending_for("mqtt"));
        sink_tasks.push(tokio::spawn(swipewatch_notify::mqtt(
            options,
            prefix,
            outbox,
            notifier.journal(),
            metrics.alerts.clone(),
            stop_rx.clone(),
        )));
    }
    let (commands_tx, commands_rx) = tokio::sync::mpsc::channel(16);
    #[cfg(unix)]
    if let Some(path) = config.fleet.inventory_file.clone() {
        tokio::spawn(reload_inventory_on_hangup(path, commands_tx.clone()));
    }
    let checkpoint = config
        .engine
        .checkpoint_dir
        .as_ref()
        .map(|dir| CheckpointSchedule {
            dir: dir.clone(),
            interval: config.engine.checkpoint_interval,
            checkpointed,
        });
    let options = DriverOptions {
        checkpoint,
        maintenance: config.alerts.maintenance.clone(),
        metric_values_per_dimension: config.server.metric_values_per_dimension,
        commands: Some(commands_rx),
        notifier,
    };
    let mut driver = Driver::new(monitor, metrics.clone(), Clock::wall(), options);
    let state = AppState {
        metrics: metrics.clone(),
        ready: ingest.ready.clone(),
        incidents: driver.incidents(),
        silences: driver.silences(),
        window: driver.window(),
        commands: commands_tx,
        token: config.server.api_token.as_ref().map(|t| t.0.clone()),
    };
    let mut server_stop = stop_rx.clone();
    let server = tokio::spawn(swipewatch_server::serve(listener, state, async move {
        let _ = server_stop.wait_for(|s| *s).await;
    }));

    if let Some(url) = config.alerts.alertmanager_url.clone() {
        tokio::spawn(swipewatch_notify::alertmanager(
            url,
            console_url.clone(),
            driver.incidents(),
            config.alerts.resend_interval,
            metrics.alerts.clone(),
            stop_rx.clone(),
        ));
    }
    let signal_stop = stop_tx.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutdown requested");
        let _ = signal_stop.send(true);
    });
    driver
        .run(
            &mut ingest.batches,
            ingest.ready.clone(),
            stop_rx.clone(),
            |_| {},
        )
        .await;
    let mut rest = ingest.shutdown().await;
    let mut drained = 0usize;
    while let Some(b) = rest.recv().await {
        drained += b.events.len();
        driver.record_rest(&b);
    }
    driver.save_checkpoint();
    let _ = stop_tx.send(true);
    server.await.context("http server task")??;
    let stats = driver.monitor().stats();
    tracing::info!(
        outcomes = stats.outcomes,
        late = stats.late,
        drained,
        "stopped"
    );
    Ok(())
}

/// Reads the BIN table at `path` again on every SIGHUP and swaps it in; a
/// table that does not load is logged and the one in force kept.
#[cfg(unix)]
async fn reload_bins_on_hangup(path: std::path::PathBuf, bins: swipewatch_ingest::SharedBins) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; codes.bin_table is read at start only");
        return;
    };
    while hangups.recv().await.is_some() {
        match swipewatch_config::load_bin_table(&path) {
            Ok(table) => {
                let ranges = table.len();
                bins.store(table);
                tracing::info!(ranges, file = %path.display(), "BIN table reloaded");
            }
            Err(e) => tracing::warn!(error = %e, "BIN table not reloaded; the previous one stays"),
        }
    }
}

/// Loads the inventory at `path`, logging each bad row (file, row,
/// column) that was left out.
pub fn load_inventory_logged(
    path: &std::path::Path,
) -> Result<swipewatch_model::Inventory, swipewatch_config::ConfigError> {
    let inventory = swipewatch_config::load_inventory(path)?;
    for e in &inventory.errors {
        tracing::warn!(file = %path.display(), row = e.row, column = %e.column, "inventory: {}", e.detail);
    }
    tracing::info!(file = %path.display(), terminals = inventory.len(), skipped = inventory.errors.len(), "inventory loaded");
    Ok(inventory)
}

/// Reads the inventory at `path` again on every SIGHUP and hands it to
/// the driver; a file that does not load is logged and the inventory in
/// force kept.
#[cfg(unix)]
async fn reload_inventory_on_hangup(
    path: std::path::PathBuf,
    commands: tokio::sync::mpsc::Sender<swipewatch_server::Command>,
) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; fleet.inventory_file is read at start only");
        return;
    };
    while hangups.recv().await.is_some() {
        match load_inventory_logged(&path) {
            Ok(inventory) => {
                let command = swipewatch_server::Command::SetInventory(Box::new(inventory));
                if commands.send(command).await.is_err() {
                    return;
                }
            }
            Err(e) => tracing::warn!(error = %e, "inventory not reloaded; the previous one stays"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
