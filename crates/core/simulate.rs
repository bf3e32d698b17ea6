//! `swipewatch simulate`: runs a scenario's generator and publishes it to a
//! broker in (scaled) real time, or writes it to NDJSON as fast as possible.
//! Labels go beside the output.

use anyhow::Context;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use std::path::Path;
use std::time::Duration;
use swipewatch_sim::output::{labels_path, write_labels, write_ndjson};
use swipewatch_sim::{Generator, Scenario};
use tokio::sync::watch;
use tokio::time::Instant;

/// Scenario by name (a file in `config/scenarios/` or `config/demo/`) or path.
pub fn load_scenario(name: &str) -> anyhow::Result<Scenario> {
    Ok(Scenario::find(name)?)
}

/// Writes every message as one NDJSON line `{"topic", "arrival_ms", "payload"}`,
/// labels to `<out>.labels.json`. Returns the number of messages.
pub fn to_ndjson(mut generator: Generator, out: &Path) -> anyhow::Result<u64> {
    let file =
        std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let n = write_ndjson(&mut generator, &mut std::io::BufWriter::new(file))
        .with_context(|| format!("cannot write {}", out.display()))?;
    let labels = labels_path(out);
    write_labels(&labels, &generator.labels())
        .with_context(|| format!("cannot write {}", labels.display()))?;
    Ok(n)
}

/// Publishing options.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// `mqtt://host:port`.
    pub broker: String,
    /// Client connections; terminals are spread over them.
    pub connections: usize,
    /// Event seconds per wall second.
    pub speed: f64,
    /// Client id prefix.
    pub client_id: String,
}

fn host_port(url: &str) -> anyhow::Result<(String, u16)> {
    let rest = url
        .strip_prefix("mqtt://")
        .with_context(|| format!("broker `{url}`: only mqtt://host:port is supported here"))?;
    let (host, port) = rest.rsplit_once(':').unwrap_or((rest, "1883"));
    let port = port
        .parse()
        .with_context(|| format!("broker `{url}`: bad port"))?;
    Ok((host.to_string(), port))
}

/// Publishes the generator's messages with QoS1, pacing event time at
/// `speed` × wall time, until the scenario ends or `stop` turns true.
/// Returns the number of messages published.
pub async fn publish(
    mut generator: Generator,
    opts: &PublishOptions,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<u64> {
    let (host, port) = host_port(&opts.broker)?;
    let mut clients = Vec::new();
    let mut loops = Vec::new();
    for i in 0..opts.connections.max(1) {
        let mut o = MqttOptions::new(format!("{}-{i}", opts.client_id), host.clone(), port);
        o.set_keep_alive(Duration::from_secs(30)).set_inflight(200);
        let (client, mut eventloop) = AsyncClient::new(o, 1024);
        clients.push(client);
        loops.push(tokio::spawn(async move {
            let mut failures = 0u32;
            loop {
                match eventloop.poll().await {
                    Ok(_) => failures = 0,
                    Err(e) => {
                        failures += 1;
                        if failures == 1 || failures % 50 == 0 {
                            tracing::warn!(error = %e, "simulator connection to the broker failed; retrying");
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        }));
    }
    let start = Instant::now();
    let step = Duration::from_secs_f64(1.0 / opts.speed.max(1e-3));
    let mut messages = Vec::new();
    let mut sent = 0u64;
    let mut k = 0u32;
    let mut announced = 0;
    while generator.step(&mut messages) {
        for m in messages.drain(..) {
            let which = m.topic.bytes().fold(0usize, |h, b| {
                h.wrapping_mul(31).wrapping_add(usize::from(b))
            }) % clients.len();
            let client = &clients[which];
            client
                .publish(m.topic, QoS::AtLeastOnce, false, m.payload)
                .await
                .context("simulator publish")?;
            sent += 1;
        }
        if generator.faults_started() > announced {
            for l in &generator.labels()[announced..] {
                let element: Vec<String> =
                    l.element.iter().map(|(k, v)| format!("{k}={v}")).collect();
                tracing::info!(fault = %l.kind, element = %element.join("&"), "simulator: fault injected");
            }
            announced = generator.faults_started();
        }
        k += 1;
        tokio::select! {
            _ = tokio::time::sleep_until(start + step * k) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    for c in &clients {
        let _ = c.disconnect().await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    for l in loops {
        l.abort();
    }
    Ok(sent)
}
