//! The simulator and the scenario suite: `simulate` to a file and to a real
//! Mosquitto read by the real service, `eval` over the shipped scenarios,
//! and the one-command demo, its API and its console in headless Chromium.

use crate::support::{
    find_program, free_port, http_get, repo, swipewatch, wait_for, Mosquitto, Service,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

/// A small scenario: 200 busy terminals for two minutes, flat traffic (so a
/// run started now and one at the file's own start time are identical).
const SMALL: &str = r#"
name = "small"
seed = 5
terminals = 200
peak_txn_per_hour = 120
diurnal = false
duration = "2m"
heartbeat_interval = "60s"

[[faults]]
kind = "issuer_outage"
issuer = "northbank"
start = "1m"
duration = "30s"
severity = 1.0
"#;

/// Writes [`SMALL`] to `dir` and simulates it to NDJSON there; returns the
/// scenario file and the NDJSON file.
fn small_to_ndjson(dir: &std::path::Path) -> (PathBuf, PathBuf) {
    let scenario = dir.join("small.toml");
    std::fs::write(&scenario, SMALL).expect("write scenario");
    let out = dir.join("small.ndjson");
    let status = swipewatch()
        .args(["simulate", "--scenario"])
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .status()
        .expect("run simulate --out");
    assert!(status.success());
    (scenario, out)
}

#[test]
fn simulate_writes_ndjson_with_labels_beside_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, out) = small_to_ndjson(dir.path());
    let text = std::fs::read_to_string(&out).expect("ndjson");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    // 200 terminals × 2 heartbeats, plus ~200 × 120/h × 2 min ≈ 800 outcomes.
    assert!(lines.len() > 800, "{}", lines.len());
    let txn = lines
        .iter()
        .find(|l| l["topic"].as_str().is_some_and(|t| t.ends_with("/txn")))
        .expect("an outcome");
    assert!(txn["payload"]["event_id"].is_string());
    assert!(txn["payload"]["bin"].as_str().is_some_and(|b| b.len() == 6));
    let labels: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("small.labels.json")).expect("labels"),
    )
    .expect("labels JSON");
    assert_eq!(labels.len(), 1);
    assert_eq!(labels[0]["cause"], "bank-issuer");
    assert_eq!(labels[0]["element"]["issuer"], "northbank");
}

#[test]
fn simulate_publishes_every_message_to_a_real_broker_and_the_service_accepts_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The same scenario to a file gives the exact message count.
    let (scenario, out) = small_to_ndjson(dir.path());
    let expected = std::fs::read_to_string(&out)
        .expect("ndjson")
        .lines()
        .count() as f64;

    let broker = Mosquitto::start(dir.path());
    let service = Service::start(
        dir.path(),
        &format!(
            "[mqtt]\nurl = \"mqtt://127.0.0.1:{}\"\nclient_id = \"sim-test\"\n",
            broker.port()
        ),
    );
    service.wait_ready(Duration::from_secs(20));
    let status = swipewatch()
        .args(["simulate", "--scenario"])
        .arg(&scenario)
        .arg("--broker")
        .arg(format!("mqtt://127.0.0.1:{}", broker.port()))
        .args(["--speed", "30", "--connections", "2"])
        .stderr(Stdio::null())
        .status()
        .expect("run simulate --broker");
    assert!(status.success());
    let total = || {
        service.sample("swipewatch_ingest_messages_total{kind=\"outcome\"}")
            + service.sample("swipewatch_ingest_messages_total{kind=\"heartbeat\"}")
    };
    let all = wait_for(Duration::from_secs(30), || total() >= expected);
    assert!(all, "received {} of {expected}", total());
    assert_eq!(total(), expected, "nothing extra");
    let metrics = service.metrics();
    let rejected: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("swipewatch_ingest_rejected_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(rejected, 0.0, "{metrics}");
}

#[test]
fn every_shipped_scenario_parses_and_the_suite_passes_its_thresholds() {
    // The shipped suite, with the week-long quiet run cut to two hours.
    let out = swipewatch()
        .args(["eval", "--scenarios"])
        .arg(repo().join("config/scenarios"))
        .args(["--max-duration", "2h"])
        .output()
        .expect("run eval");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.trim_end().ends_with("PASS"), "{stdout}");
    for fault in [
        "issuer_outage",
        "issuer_malfunction",
        "acquirer_malfunction",
        "acquirer_unreachable",
        "network_outage",
        "firmware_regression",
        "dead_reader",
        "merchant_misconfig",
        "bank_cutover",
        "decline_surge",
        "issuer_slowdown",
        "reader_wear",
    ] {
        assert!(stdout.contains(fault), "{fault} missing from:\n{stdout}");
    }
}

#[test]
fn eval_fails_when_a_threshold_is_missed() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        repo().join("config/scenarios/issuer-outage.toml"),
        dir.path().join("issuer-outage.toml"),
    )
    .expect("copy scenario");
    // Nothing is detected within 1 s of onset: the suite must fail.
    std::fs::write(
        dir.path().join("suite.toml"),
        "[thresholds]\nmax_ttd_s = 1\nmin_share = 0.02\nmax_device_failures = 5\nmax_false_pages_per_day = 0\n",
    )
    .expect("write suite");
    let out = swipewatch()
        .args(["eval", "--scenarios"])
        .arg(dir.path())
        .output()
        .expect("run eval");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL: slow"), "{stdout}");
}

#[test]
fn the_demo_shows_incidents_of_three_causes_within_three_minutes() {
    let http = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("demo.log");
    let mut child = swipewatch()
        .arg("demo")
        .arg("--listen")
        .arg(http.to_string())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("start demo");
    let mut causes = std::collections::BTreeSet::new();
    let console_ok = wait_for(
        Duration::from_secs(30),
        || matches!(http_get(http, "/"), Ok((200, body)) if body.contains("swipewatch")),
    );
    let seen = console_ok
        && wait_for(Duration::from_secs(180), || {
            if let Ok((200, body)) = http_get(http, "/api/incidents") {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) {
                    for i in v["incidents"].as_array().into_iter().flatten() {
                        if i["state"] == "firing" {
                            causes.insert(i["cause"].as_str().unwrap_or("").to_string());
                        }
                    }
                }
            }
            causes.len() >= 3
        });
    // The issuer incident carries its evidence: the switch's 91s.
    let evidence = http_get(http, "/api/incidents")
        .ok()
        .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(&body).ok())
        .and_then(|v| {
            v["incidents"]
                .as_array()?
                .iter()
                .find(|i| i["cause"] == "bank-issuer")
                .map(|i| i["evidence"].clone())
        });
    // The console, as a browser renders it while the demo runs.
    let shot_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let console = if seen {
        headless_chromium(http, &shot_dir.join("console.png"), dir.path())
    } else {
        String::new()
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen,
        "firing causes seen: {causes:?}; log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(
        causes.contains("bank-issuer") && causes.contains("network"),
        "{causes:?}"
    );
    let evidence = evidence.unwrap_or_default();
    assert!(
        evidence["failed"].as_u64().is_some_and(|n| n > 0),
        "{evidence}"
    );
    assert_eq!(evidence["top_codes"][0]["code"], "91", "{evidence}");
    assert!(
        console.contains(r#"data-cause="bank-issuer" data-state="firing""#)
            && console.contains(r#"data-cause="network""#),
        "the console shows the incidents with their cause:\n{console}"
    );
    // Its charts: the approval rate over the polls, failures by cause (the
    // issuer outage's bar is not empty), and the first firing incident's
    // detail with its runbook.
    let points = console
        .split(r#"<polyline"#)
        .nth(1)
        .and_then(|p| p.split(r#"points=""#).nth(1))
        .and_then(|p| p.split('"').next())
        .map_or(0, |p| p.split_whitespace().count());
    assert!(
        console.contains(r#"id="approval-chart""#) && points >= 3,
        "approval chart with the window history ({points} points):\n{console}"
    );
    assert!(
        console.contains(r#"<g data-cause="bank-issuer" data-failed=""#)
            && !console.contains(r#"<g data-cause="bank-issuer" data-failed="0""#),
        "failures-by-cause chart:\n{console}"
    );
    assert!(
        console.contains("data-incident=") && console.contains("<h2>Runbook</h2>"),
        "incident detail:\n{console}"
    );
    assert!(shot_dir.join("console.png").is_file(), "screenshot taken");
}

/// Loads the console in headless Chromium (the Debian package): returns the
/// DOM after its scripts ran, and writes a screenshot to `png`.
fn headless_chromium(http: SocketAddr, png: &std::path::Path, scratch: &std::path::Path) -> String {
    let chromium = find_program("chromium");
    let url = format!("http://{http}/");
    let run = |extra: &[String]| {
        let mut child = std::process::Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--virtual-time-budget=8000",
                "--window-size=1400,900",
            ])
            .arg(format!(
                "--user-data-dir={}",
                scratch.join("chromium").display()
            ))
            .args(extra)
            .arg(&url)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        let mut out = String::new();
        if let Some(mut stdout) = child.stdout.take() {
            use std::io::Read;
            let _ = stdout.read_to_string(&mut out);
        }
        let done = wait_for(Duration::from_secs(60), || {
            matches!(child.try_wait(), Ok(Some(_)))
        });
        if !done {
            let _ = child.kill();
            let _ = child.wait();
        }
        out
    };
    let dom = run(&["--dump-dom".to_string()]);
    run(&[format!("--screenshot={}", png.display())]);
    dom
}
