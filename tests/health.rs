//! Device health and the fleet inventory through a real broker: an
//! inventory of 1,000 terminals, three of them silent, one reporting its
//! tamper switch, one trading offline with a growing queue. The API shows
//! exactly those, and Alertmanager receives the tamper page.

use crate::support::mqtt::{now_ms, runtime, Publisher};
use crate::support::{http_get, start_alertmanager, wait_for, Mosquitto, Service};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const TERMINALS: usize = 1_000;
const SILENT: [usize; 3] = [100, 200, 300];
const TAMPERED: usize = 500;
const OFFLINE: usize = 600;

fn id(i: usize) -> String {
    format!("T-{i:04}")
}

fn json(addr: SocketAddr, path: &str) -> serde_json::Value {
    http_get(addr, path)
        .ok()
        .and_then(|(_, body)| serde_json::from_str(&unchunked(&body)).ok())
        .unwrap_or_default()
}

/// The body of a chunked response (Alertmanager sends a long list so),
/// or `body` itself.
fn unchunked(body: &str) -> String {
    let mut rest = body;
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            return body.to_string();
        };
        if n == 0 || after.len() < n {
            return if n == 0 { out } else { body.to_string() };
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    if out.is_empty() {
        body.to_string()
    } else {
        out
    }
}

/// Open device incidents as `(terminal, signal)`, from the list the
/// console reads.
fn device_incidents(addr: SocketAddr) -> BTreeSet<(String, String)> {
    json(addr, "/api/incidents?state=active")["incidents"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|i| {
            let t = i["terminal"].as_str()?;
            Some((t.to_string(), i["signal"].as_str()?.to_string()))
        })
        .collect()
}

#[test]
fn an_inventory_s_silent_tampered_and_offline_terminals_are_shown_and_the_tamper_pages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Mosquitto::start(dir.path());
    let (_am, am) = start_alertmanager(dir.path()).expect("alertmanager did not start");
    let mut csv = String::from("terminal_id,merchant,region,acquirer,hours\n");
    for i in 0..TERMINALS {
        let region = if i % 2 == 0 { "north" } else { "south" };
        csv.push_str(&format!("{},m-{:03},{region},acq-1,24h\n", id(i), i / 4));
    }
    std::fs::write(dir.path().join("inventory.csv"), csv).expect("write inventory");
    let config = format!(
        "[mqtt]\nurl = \"{}\"\nclient_id = \"sw-health\"\n\
         [engine]\nbucket = \"5s\"\nallowed_lateness = \"1s\"\n\
         [fleet]\ninventory_file = \"inventory.csv\"\nmissing_after = \"1m\"\n\
         [alerts]\nalertmanager_url = \"http://{am}\"\n",
        broker.url()
    );
    let svc = Service::start(dir.path(), &config);
    svc.wait_ready(Duration::from_secs(20));

    // A heartbeat from every terminal but the silent ones every 5 s; the
    // offline one's queue grows by one each time and it sends no payment.
    let port = broker.port();
    let publishing = std::thread::spawn(move || {
        runtime().block_on(async move {
            let mut p = Publisher::connect(port, "pub-health");
            let start = Instant::now();
            let mut round = 0;
            while start.elapsed() < Duration::from_secs(110) {
                let ts = now_ms();
                for i in (0..TERMINALS).filter(|i| !SILENT.contains(i)) {
                    let region = if i % 2 == 0 { "north" } else { "south" };
                    let queue = if i == OFFLINE { 5 + round } else { 0 };
                    let payload = format!(
                        r#"{{"terminal_id":"{}","ts":{ts},"seq":{},"uptime_s":{},"battery_pct":80,"host_reachable":true,"saf_queue_depth":{queue},"tamper":{}}}"#,
                        id(i),
                        round + 1,
                        3_600 + round * 5,
                        i == TAMPERED,
                    );
                    p.publish(&format!("dt/pos/v1/{region}/acq-1/{}/hb", id(i)), payload)
                        .await;
                }
                round += 1;
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            p.flush(Duration::from_secs(20)).await;
            p.close().await;
        });
    });

    let want: BTreeSet<(String, String)> = SILENT
        .iter()
        .map(|&i| (id(i), "missing".to_string()))
        .chain([
            (id(TAMPERED), "tamper".to_string()),
            (id(OFFLINE), "offline-queue".to_string()),
        ])
        .collect();
    let mut seen = BTreeSet::new();
    let shown = wait_for(Duration::from_secs(150), || {
        seen = device_incidents(svc.http);
        seen == want
    });
    assert!(shown, "devices: {seen:?}\n{}", svc.log_text());

    let tampered = json(svc.http, &format!("/api/terminals/{}", id(TAMPERED)));
    assert_eq!(tampered["tamper"], true, "{tampered}");
    assert_eq!(
        tampered["open_incidents"][0]["signal"], "tamper",
        "{tampered}"
    );
    let offline = json(svc.http, &format!("/api/terminals/{}", id(OFFLINE)));
    assert_eq!(
        offline["health"]["queue_growing_heartbeats_in_a_row"]
            .as_u64()
            .map(|n| n >= 3),
        Some(true),
        "{offline}"
    );

    let inventory = json(svc.http, "/api/inventory");
    assert_eq!(inventory["listed"], TERMINALS, "{inventory}");
    assert_eq!(inventory["never_seen"], SILENT.len(), "{inventory}");
    assert_eq!(inventory["not_listed"], 0, "{inventory}");
    let missing: BTreeSet<&str> = inventory["missing"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["terminal"].as_str())
        .collect();
    assert_eq!(
        missing,
        SILENT
            .iter()
            .map(|&i| id(i))
            .collect::<BTreeSet<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
        "{inventory}"
    );

    let paged = wait_for(Duration::from_secs(30), || {
        json(am, "/api/v2/alerts")
            .as_array()
            .into_iter()
            .flatten()
            .any(|a| {
                a["labels"]["signal"] == "tamper"
                    && a["labels"]["severity"] == "page"
                    && a["labels"]["terminal"] == id(TAMPERED).as_str()
                    && a["labels"]["merchant"] == "m-125"
            })
    });
    assert!(
        paged,
        "alertmanager: {:?}\n{}",
        http_get(am, "/api/v2/alerts"),
        svc.log_text()
    );
    // Only the tamper report pages; the other devices are tickets.
    let pages: Vec<serde_json::Value> = json(am, "/api/v2/alerts")
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["labels"]["severity"] == "page")
        .cloned()
        .collect();
    assert_eq!(pages.len(), 1, "{pages:?}");
    publishing.join().expect("publisher");
}
