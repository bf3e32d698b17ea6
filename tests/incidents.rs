//! The durable incident log: a demo killed (SIGKILL) while a bank incident
//! fires resumes it after a restart, and its webhook hears of the incident
//! exactly once each way.

use crate::support::webhook::Receiver;
use crate::support::{free_port, http_get, swipewatch, wait_for, Killed};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// An acquirer outage from 20 s to 200 s after the story starts.
const OUTAGE: &str = r#"
name = "long-acquirer-outage"
seed = 7
terminals = 2000
peak_txn_per_hour = 120
diurnal = false
duration = "1day"
heartbeat_interval = "60s"
repeat = "1h"

[[faults]]
kind = "acquirer_malfunction"
acquirer = "acq-beta"
start = "20s"
duration = "180s"
ramp = "5s"
severity = 0.9
"#;

fn start_demo(dir: &Path, hook: &Receiver, story_start: i64, log: &str) -> (Killed, SocketAddr) {
    let http = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let child = swipewatch()
        .args(["demo", "--history", "10m", "--scenario"])
        .arg(dir.join("outage.toml"))
        .arg("--listen")
        .arg(http.to_string())
        .arg("--webhook")
        .arg(hook.url())
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--story-start")
        .arg(story_start.to_string())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(log)).expect("log file"))
        .spawn()
        .expect("start demo");
    (Killed(child), http)
}

fn events(hook: &Receiver) -> Vec<(u64, String, u64, String)> {
    hook.accepted()
        .iter()
        .map(|d| {
            (
                d.body["seq"].as_u64().unwrap_or(0),
                d.body["event"].as_str().unwrap_or("").to_string(),
                d.body["incident"]["id"].as_u64().unwrap_or(0),
                d.body["summary"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn a_killed_service_resumes_its_firing_incident_and_never_notifies_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("outage.toml"), OUTAGE).expect("scenario");
    let hook = Receiver::start(0);
    let story_start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let log = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();

    let (first, _) = start_demo(dir.path(), &hook, story_start, "first.log");
    let fired = wait_for(Duration::from_secs(180), || {
        events(&hook).iter().any(|e| e.1 == "fired")
    });
    assert!(fired, "no notice; log:\n{}", log("first.log"));
    // Let the delivery be recorded, then kill without warning.
    std::thread::sleep(Duration::from_secs(2));
    drop(first);
    let told = events(&hook);
    assert_eq!(told.len(), 1, "{told:?}");
    let (seq, _, id, summary) = told[0].clone();
    assert_eq!(
        (seq, summary.as_str()),
        (1, "bank-acquirer: acquirer=acq-beta")
    );

    let (_second, http) = start_demo(dir.path(), &hook, story_start, "second.log");
    // The restarted service shows the same incident, still firing.
    let resumed = wait_for(Duration::from_secs(60), || {
        http_get(http, "/api/incidents")
            .ok()
            .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(&body).ok())
            .and_then(|v| v["incidents"].as_array().cloned())
            .is_some_and(|list| {
                list.iter()
                    .any(|i| i["id"].as_u64() == Some(id) && i["state"] == "firing")
            })
    });
    assert!(
        resumed,
        "incident #{id} not resumed; log:\n{}",
        log("second.log")
    );
    // The outage ends 200 s after the story start; the incident resolves.
    let resolved = wait_for(Duration::from_secs(300), || {
        events(&hook).iter().any(|e| e.1 == "resolved")
    });
    assert!(resolved, "no resolution; log:\n{}", log("second.log"));
    std::thread::sleep(Duration::from_secs(2));
    let told: Vec<(u64, String, u64)> = events(&hook)
        .into_iter()
        .map(|(s, e, i, _)| (s, e, i))
        .collect();
    assert_eq!(
        told,
        [
            (1, "fired".to_string(), id),
            (2, "resolved".to_string(), id)
        ],
        "second log:\n{}",
        log("second.log")
    );
    assert!(log("second.log").contains("incident log opened"));
}
