//! A real Alertmanager (Debian package `prometheus-alertmanager`) and a
//! webhook receiver that fails its first deliveries receive the incidents
//! of a bank outage played by the demo's simulator.

use crate::support::mqtt::retained;
use crate::support::webhook::Receiver;
use crate::support::{free_port, http_get, start_alertmanager, swipewatch, wait_for, Killed};
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

/// An acquirer's switch fails every transaction 20 s after start, for
/// two minutes, once: its busiest terminals fail run after run and are
/// singled out, and must be listed under the acquirer's incident.
const BANK_OUTAGE: &str = r#"
name = "bank-outage"
seed = 42
terminals = 3000
peak_txn_per_hour = 200
diurnal = false
duration = "1day"
heartbeat_interval = "60s"
repeat = "1h"

[[faults]]
kind = "acquirer_malfunction"
acquirer = "acq-gamma"
start = "20s"
duration = "120s"
ramp = "5s"
severity = 1.0
"#;

/// The webhook's HMAC key in this test.
const SECRET: &str = "test-hook-key";

fn alerts(addr: SocketAddr) -> Vec<serde_json::Value> {
    http_get(addr, "/api/v2/alerts")
        .ok()
        .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(&body).ok())
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
}

fn incidents(addr: SocketAddr) -> Vec<serde_json::Value> {
    http_get(addr, "/api/incidents")
        .ok()
        .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(&body).ok())
        .and_then(|v| v["incidents"].as_array().cloned())
        .unwrap_or_default()
}

#[test]
fn a_bank_outage_is_one_alert_and_one_webhook_notice_each_way_and_its_terminals_are_not_ticketed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_am, am_addr) = start_alertmanager(dir.path()).expect("alertmanager did not start");

    let scenario = dir.path().join("bank-outage.toml");
    std::fs::write(&scenario, BANK_OUTAGE).expect("write scenario");
    let http = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let log = dir.path().join("demo.log");
    let hook = Receiver::start(3);
    let _demo = Killed(
        swipewatch()
            .env("SWIPEWATCH_WEBHOOK_SECRET", SECRET)
            .args(["demo", "--history", "10m", "--scenario"])
            .arg(&scenario)
            .arg("--listen")
            .arg(http.to_string())
            .arg("--alertmanager")
            .arg(format!("http://{am_addr}"))
            .arg("--webhook")
            .arg(hook.url())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start demo"),
    );
    let mut seen = Vec::new();
    let fired = wait_for(Duration::from_secs(150), || {
        seen = alerts(am_addr);
        !seen.is_empty()
    });
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(fired, "no alert reached alertmanager; log:\n{}", log_text());
    // Give a second window the chance to add duplicates; there must be none.
    std::thread::sleep(Duration::from_secs(12));
    let seen = alerts(am_addr);
    assert_eq!(
        seen.len(),
        1,
        "exactly one alert: {seen:#?}\nlog:\n{}",
        log_text()
    );
    let labels = &seen[0]["labels"];
    assert_eq!(labels["alertname"], "SwipewatchIncident");
    assert_eq!(labels["cause"], "bank-acquirer");
    assert_eq!(labels["acquirer"], "acq-gamma");
    assert_eq!(labels["severity"], "page");
    assert!(seen[0]["annotations"]["runbook"]
        .as_str()
        .is_some_and(|r| r.contains("acquirer")));
    assert_eq!(seen[0]["status"]["state"], "active");

    // The embedded broker holds the incident's state, retained.
    let port: u16 = log_text()
        .split("broker=mqtt://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .expect("embedded broker port in the log");
    let firing_topics = retained(port, "swipewatch/incidents/#", Duration::from_secs(3));
    assert!(
        firing_topics.iter().any(
            |(t, p)| t.starts_with("swipewatch/incidents/bank-acquirer/")
                && String::from_utf8_lossy(p).contains("acq-gamma")
        ),
        "retained: {firing_topics:?}"
    );

    // Terminals of the acquirer fail run after run; they are left to the
    // bank incident, whose evidence counts them: none is ticketed on its
    // own (at most listed under the bank incident).
    let bank_id = incidents(http)
        .iter()
        .find(|i| i["cause"] == "bank-acquirer")
        .and_then(|i| i["id"].as_u64())
        .expect("bank incident in the API");
    let counted = wait_for(Duration::from_secs(90), || {
        incidents(http).iter().any(|i| {
            i["id"].as_u64() == Some(bank_id)
                && i["evidence"]["terminals"].as_u64().is_some_and(|n| n >= 10)
        })
    });
    assert!(
        counted,
        "the bank incident does not count its terminals: {:#?}\nlog:\n{}",
        incidents(http),
        log_text()
    );
    assert!(
        incidents(http)
            .iter()
            .filter(|i| !i["terminal"].is_null())
            .all(|i| i["inhibited_by"].as_u64() == Some(bank_id)),
        "a terminal of the failing acquirer was ticketed on its own: {:#?}",
        incidents(http)
    );

    // The outage ends 140 s after start; the incident resolves and
    // Alertmanager drops the alert.
    let mut ever = Vec::new();
    let resolved = wait_for(Duration::from_secs(240), || {
        let now = alerts(am_addr);
        let empty = now.is_empty();
        ever.extend(now);
        empty
    });
    assert!(
        resolved,
        "still active: {:#?}\nlog:\n{}",
        alerts(am_addr),
        log_text()
    );
    assert!(log_text().contains("incident resolved"), "{}", log_text());
    let cleared = wait_for(Duration::from_secs(30), || {
        retained(
            port,
            "swipewatch/incidents/bank-acquirer/#",
            Duration::from_secs(2),
        )
        .is_empty()
    });
    assert!(
        cleared,
        "the resolved incident's retained state was not cleared"
    );
    assert!(
        ever.iter().all(|a| a["labels"]["cause"] == "bank-acquirer"),
        "only the bank incident reached alertmanager: {ever:#?}"
    );

    // The webhook refused the first three attempts; after retries it got
    // the fired and the resolved notice, once each, in order, signed.
    let delivered = wait_for(Duration::from_secs(60), || hook.accepted().len() >= 2);
    assert!(delivered, "webhook got {:#?}", hook.deliveries());
    let accepted = hook.accepted();
    let events: Vec<(u64, String, u64)> = accepted
        .iter()
        .map(|d| {
            (
                d.body["seq"].as_u64().unwrap_or(0),
                d.body["event"].as_str().unwrap_or("").to_string(),
                d.body["incident"]["id"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            (1, "fired".to_string(), bank_id),
            (2, "resolved".to_string(), bank_id)
        ],
        "{accepted:#?}"
    );
    assert!(
        hook.deliveries().len() >= 5,
        "three refusals before the first success"
    );
    for d in &accepted {
        assert_eq!(
            d.header("x-swipewatch-delivery"),
            Some(d.body["seq"].to_string().as_str())
        );
        assert_eq!(
            d.header("x-swipewatch-signature"),
            Some(sign(d.raw.as_slice()).as_str()),
            "signature"
        );
    }
}

/// `sha256=<hex>` of HMAC-SHA256 under [`SECRET`], computed independently.
fn sign(body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}
