//! Detection latency, end to end, in wall seconds at real-time speed.
//!
//! `cargo bench --bench detection -- [--runs R]`
//!
//! Each run starts a real Alertmanager (Debian `prometheus-alertmanager`)
//! on a free loopback port and `swipewatch demo` with a one-fault scenario:
//! its simulator publishes a 3,000-terminal fleet in real time to the
//! demo's embedded MQTT broker over loopback TCP; the service subscribes,
//! detects, and posts alerts to Alertmanager. The demo first learns its
//! baselines from 10 minutes of fault-free history, so detection is armed
//! from the start. The fault (an issuer answering 91 for 90 % of its cards)
//! starts 60 s after the story start. The harness polls Alertmanager's
//! alert list every 100 ms; the detection latency is the wall time from
//! onset to the first alert there. The service's own incident record splits
//! it: event time from onset to the end of the window that fired, then the
//! wait for that window to close (`allowed_lateness`), processing and
//! delivery. Reports every run and the median.

#![allow(missing_docs)]

#[allow(dead_code)]
#[path = "../tests/support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::{free_port, http_get, start_alertmanager, swipewatch, Killed};

/// Onset after the story start.
const ONSET_S: i64 = 60;

const SCENARIO: &str = r#"
name = "detection-latency"
seed = 31
terminals = 3000
peak_txn_per_hour = 60
diurnal = false
duration = "1day"
heartbeat_interval = "60s"

[[faults]]
kind = "issuer_outage"
issuer = "harbor-savings"
start = "60s"
duration = "10m"
severity = 0.9
"#;

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn json(addr: SocketAddr, path: &str) -> serde_json::Value {
    http_get(addr, path)
        .ok()
        .and_then(|(_, body)| serde_json::from_str(&body).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// One run: (onset → alert in Alertmanager, onset → firing window end in
/// event time), seconds.
fn run(i: usize) -> Option<(f64, f64)> {
    let dir = tempfile::tempdir().ok()?;
    let Some((_am, am)) = start_alertmanager(dir.path()) else {
        eprintln!("run {i}: alertmanager did not start");
        return None;
    };
    let scenario = dir.path().join("scenario.toml");
    std::fs::write(&scenario, SCENARIO).ok()?;
    let http = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let story_start = wall_ms();
    let onset_ms = story_start + ONSET_S * 1000;
    let _demo = Killed(
        swipewatch()
            .args(["demo", "--history", "10m", "--scenario"])
            .arg(&scenario)
            .arg("--listen")
            .arg(http.to_string())
            .arg("--alertmanager")
            .arg(format!("http://{am}"))
            .arg("--story-start")
            .arg(story_start.to_string())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("demo.log")).ok()?)
            .spawn()
            .ok()?,
    );
    let deadline = Instant::now() + Duration::from_secs(ONSET_S as u64 + 240);
    let mut alerted_ms = None;
    while Instant::now() < deadline {
        let alerts = json(am, "/api/v2/alerts");
        let issuer = alerts.as_array().into_iter().flatten().any(|a| {
            a["labels"]["cause"] == "bank-issuer" && a["labels"]["issuer"] == "harbor-savings"
        });
        if issuer {
            alerted_ms = Some(wall_ms());
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let Some(alerted_ms) = alerted_ms else {
        eprintln!(
            "run {i}: no alert; log:\n{}",
            std::fs::read_to_string(dir.path().join("demo.log")).unwrap_or_default()
        );
        return None;
    };
    let fired_ms = json(http, "/api/incidents")["incidents"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|inc| inc["cause"] == "bank-issuer")
        .and_then(|inc| inc["fired_ms"].as_i64())?;
    Some((
        (alerted_ms - onset_ms) as f64 / 1000.0,
        (fired_ms - onset_ms) as f64 / 1000.0,
    ))
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(3usize);
    let mut wall = Vec::new();
    let mut event = Vec::new();
    for i in 1..=runs {
        match run(i) {
            Some((w, e)) => {
                println!(
                    "run {i}: alert in Alertmanager {w:.1} s after onset; the firing window ended {e:.1} s after onset (event time)"
                );
                wall.push(w);
                event.push(e);
            }
            None => println!("run {i}: failed"),
        }
    }
    println!(
        "median over {} runs: onset → Alertmanager {:.1} s; onset → end of the firing window {:.1} s",
        wall.len(),
        median(wall),
        median(event)
    );
}
