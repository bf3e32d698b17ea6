//! `swipewatch demo`: an embedded MQTT broker (rumqttd on a free loopback
//! port), the simulated fleet playing a looping story of faults into it,
//! and the live service reading from it, with the console and /metrics.
//!
//! The detector needs learned baselines before it reports anything, so the
//! demo first replays some fault-free history of the same fleet straight
//! into the engine (as a restarted service would restore a checkpoint).

use crate::simulate::{publish, PublishOptions};
use anyhow::Context;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use swipewatch_config::Config;
use swipewatch_engine::{Engine, Settings};
use swipewatch_ingest::{Decoder, SharedSymbols};
use swipewatch_monitor::Monitor;
use swipewatch_sim::{Generator, Scenario};
use swipewatch_telemetry::Metrics;

/// The built-in story.
const STORY: &str = include_str!("../../config/demo/story.toml");

/// Demo options.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// HTTP listen address.
    pub listen: SocketAddr,
    /// A scenario to play instead of the built-in story.
    pub scenario: Option<String>,
    /// Fault-free history replayed before going live.
    pub history: Duration,
    /// Alertmanager to send incidents to.
    pub alertmanager: Option<String>,
    /// Webhook URL for incident notices.
    pub webhook: Option<String>,
    /// Where the incident log lives.
    pub state_dir: Option<std::path::PathBuf>,
    /// Story start, epoch ms (default: now).
    pub story_start: Option<i64>,
}

/// Runs the demo until SIGINT or SIGTERM.
pub fn demo(opts: DemoOptions) -> anyhow::Result<()> {
    let mut story = match &opts.scenario {
        Some(name) => crate::simulate::load_scenario(name)?,
        None => Scenario::parse(STORY, "built-in demo story")?,
    };
    // The fault-free history replayed below stands in for the story's
    // lead-in: live, the faults start at once.
    story.lead_in = Duration::ZERO;
    let port = start_broker()?;
    let mut config = swipewatch_config::load_str("", Path::new("."))?;
    config.mqtt.url = format!("mqtt://127.0.0.1:{port}");
    config.mqtt.client_id = "swipewatch-demo".into();
    config.mqtt.clean_session = true;
    config.server.listen = opts.listen;
    config.alerts.alertmanager_url = opts.alertmanager.clone();
    config.alerts.webhook_url = opts.webhook.clone();
    config.alerts.mqtt_topic = Some("swipewatch/incidents".to_string());
    config.alerts.journal = opts.state_dir.as_ref().map(|d| d.join("incidents.log"));
    config.validate()?;

    let wall_ms = swipewatch_rt::now_ms();
    let now_ms = opts.story_start.unwrap_or(wall_ms).min(wall_ms);
    let symbols = SharedSymbols::default();
    let started = std::time::Instant::now();
    let monitor = warm_up(&config, &story, &symbols, now_ms, opts.history)?;
    tracing::info!(
        broker = %config.mqtt.url,
        history = %humantime::format_duration(opts.history),
        took_ms = started.elapsed().as_millis() as u64,
        "demo: embedded broker up, baselines learned from fault-free history"
    );
    let mut live = Generator::new(&story, Some(now_ms)).unbounded();
    // Resuming a story: what it played while the demo was down is skipped
    // (the embedded broker went down with it).
    let mut skipped = Vec::new();
    while live.now_ms() < wall_ms && live.step(&mut skipped) {
        skipped.clear();
    }
    let mut monitor = monitor;
    // Between the story's start and the moment this process listens,
    // nothing was seen: a data gap, not silence and not recovery.
    monitor.set_connected(false, now_ms);
    for window in live.maintenance_windows(now_ms + 24 * 3_600_000) {
        monitor.silence(window.to_silence("scheduled cut-over"));
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let opts = PublishOptions {
            broker: config.mqtt.url.clone(),
            connections: 4,
            speed: 1.0,
            client_id: "swipewatch-demo-fleet".into(),
        };
        let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            if let Err(e) = publish(live, &opts, stop_rx).await {
                tracing::error!("demo simulator stopped: {e:#}");
            }
        });
        crate::run::serve(config, monitor).await
    })
}

/// Replays `history` of fault-free traffic ending at `now_ms` into a new monitor.
fn warm_up(
    config: &Config,
    story: &Scenario,
    symbols: &SharedSymbols,
    now_ms: i64,
    history: Duration,
) -> anyhow::Result<Monitor> {
    let mut quiet = story.clone();
    quiet.faults.clear();
    quiet.repeat = None;
    quiet.duration = history;

    let taxonomy = swipewatch_config::load_code_tables(&config.codes.tables)?;
    let mut decoder = Decoder::new(
        &config.ingest,
        taxonomy,
        symbols.clone(),
        Metrics::new().ingest,
    );
    let mut monitor = Monitor::new(Engine::new(Settings::from(&config.engine)), symbols.clone());
    monitor.tune(config);
    // Same fleet as the live story, other traffic draws.
    let mut generator = Generator::new(&quiet, Some(now_ms - history.as_millis() as i64))
        .with_traffic_seed(story.seed.wrapping_add(1_000));
    let (mut messages, mut events, mut windows) = (Vec::new(), Vec::new(), Vec::new());
    while generator.step(&mut messages) {
        monitor.ingest(&mut decoder, &mut messages, &mut events);
        monitor.advance(&mut windows);
        windows.clear();
    }
    Ok(monitor)
}

/// Starts rumqttd on a free loopback port in its own threads; returns the port.
fn start_broker() -> anyhow::Result<u16> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context("cannot find a free port for the embedded broker")?
        .port();
    let listen: SocketAddr = ([127, 0, 0, 1], port).into();
    let server = rumqttd::ServerSettings {
        name: "demo".into(),
        listen,
        tls: None,
        next_connection_delay_ms: 1,
        connections: rumqttd::ConnectionSettings {
            connection_timeout_ms: 60_000,
            max_payload_size: 256 * 1024,
            max_inflight_count: 500,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        },
    };
    let config = rumqttd::Config {
        id: 0,
        router: rumqttd::RouterConfig {
            max_connections: 64,
            max_outgoing_packet_count: 500,
            max_segment_size: 16 * 1024 * 1024,
            max_segment_count: 10,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: Default::default(),
        },
        v4: Some([("demo".to_string(), server)].into_iter().collect()),
        ..Default::default()
    };
    std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            let mut broker = rumqttd::Broker::new(config);
            if let Err(e) = broker.start() {
                tracing::error!("embedded broker stopped: {e}");
            }
        })
        .context("cannot start the embedded broker thread")?;
    // No probe connection (the broker would log it as a failed client):
    // ingest and the simulator both retry until it listens.
    std::thread::sleep(Duration::from_millis(100));
    Ok(port)
}
