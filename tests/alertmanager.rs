//! A real Alertmanager (Debian package `prometheus-alertmanager`) receives
//! the incidents of a bank outage played by the demo's simulator.

use crate::support::{free_port, http_get, spawn_server, swipewatch, wait_for, Killed};
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

/// An issuer outage 20 s after start, for one minute, once.
const BANK_OUTAGE: &str = r#"
name = "bank-outage"
seed = 42
terminals = 3000
peak_txn_per_hour = 40
diurnal = false
duration = "1day"
heartbeat_interval = "60s"
repeat = "1h"

[[faults]]
kind = "issuer_outage"
issuer = "harbor-savings"
start = "20s"
duration = "60s"
ramp = "5s"
severity = 0.9
"#;

fn alerts(addr: SocketAddr) -> Vec<serde_json::Value> {
    http_get(addr, "/api/v2/alerts")
        .ok()
        .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(&body).ok())
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
}

#[test]
fn a_bank_outage_is_one_alert_in_alertmanager_that_resolves_after_recovery() {
    let dir = tempfile::tempdir().expect("tempdir");
    let am_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let am_config = dir.path().join("alertmanager.yml");
    std::fs::write(
        &am_config,
        "route:\n  receiver: ops\n  group_wait: 1s\nreceivers:\n  - name: ops\n",
    )
    .expect("write alertmanager config");
    let _am = spawn_server(
        "prometheus-alertmanager",
        &[
            format!("--config.file={}", am_config.display()),
            format!("--storage.path={}", dir.path().join("am").display()),
            format!("--web.listen-address={am_addr}"),
            "--cluster.listen-address=".to_string(),
        ],
    );
    let ready = wait_for(Duration::from_secs(30), || {
        matches!(http_get(am_addr, "/-/ready"), Ok((200, _)))
    });
    assert!(ready, "alertmanager did not start");

    let scenario = dir.path().join("bank-outage.toml");
    std::fs::write(&scenario, BANK_OUTAGE).expect("write scenario");
    let http = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let log = dir.path().join("demo.log");
    let _demo = Killed(
        swipewatch()
            .args(["demo", "--history", "10m", "--scenario"])
            .arg(&scenario)
            .arg("--listen")
            .arg(http.to_string())
            .arg("--alertmanager")
            .arg(format!("http://{am_addr}"))
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
    assert_eq!(seen.len(), 1, "exactly one alert: {seen:#?}");
    let labels = &seen[0]["labels"];
    assert_eq!(labels["alertname"], "SwipewatchIncident");
    assert_eq!(labels["cause"], "bank-issuer");
    assert_eq!(labels["issuer"], "harbor-savings");
    assert_eq!(labels["severity"], "page");
    assert!(seen[0]["annotations"]["runbook"]
        .as_str()
        .is_some_and(|r| r.contains("issuer")));
    assert_eq!(seen[0]["status"]["state"], "active");

    // The outage ends 80 s after start; the incident resolves and
    // Alertmanager drops the alert.
    let resolved = wait_for(Duration::from_secs(180), || alerts(am_addr).is_empty());
    assert!(
        resolved,
        "still active: {:#?}\nlog:\n{}",
        alerts(am_addr),
        log_text()
    );
    assert!(log_text().contains("incident resolved"), "{}", log_text());
}
