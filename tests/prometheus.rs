//! A real Prometheus (Debian package) scrapes a running `swipewatch demo`
//! and evaluates the shipped rules: every expression must have data.

use crate::support::{
    find_program, free_port, http_get, repo, spawn_server, swipewatch, wait_for, Killed,
};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The expressions of a rule file, with an alert's threshold comparison cut
/// off (a healthy service must not fire them, but their series must exist).
fn expressions(rules: &str) -> Vec<String> {
    rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("expr:"))
        .map(|e| {
            let e = e.trim();
            [" == ", " > ", " < "]
                .iter()
                .filter_map(|op| e.rfind(op))
                .max()
                .map_or(e, |i| &e[..i])
                .trim()
                .to_string()
        })
        .collect()
}

#[test]
fn prometheus_scrapes_the_service_and_every_rule_expression_has_data() {
    let rules_file = repo().join("config/prometheus/swipewatch-rules.yml");
    let check = Command::new(find_program("promtool"))
        .args(["check", "rules"])
        .arg(&rules_file)
        .output()
        .expect("run promtool");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let http = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let _demo = Killed(
        swipewatch()
            .args(["demo", "--history", "10m", "--listen"])
            .arg(http.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start demo"),
    );
    let prom_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: swipewatch\n    static_configs:\n      - targets: [\"{http}\"]\n",
            rules_file.display()
        ),
    )
    .expect("write prometheus config");
    let _prometheus = spawn_server(
        "prometheus",
        &[
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()),
            format!("--web.listen-address={prom_addr}"),
        ],
    );
    let query = |q: &str| -> usize {
        http_get(prom_addr, &format!("/api/v1/query?query={}", encode(q)))
            .ok()
            .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(&body).ok())
            .and_then(|v| v["data"]["result"].as_array().map(Vec::len))
            .unwrap_or(0)
    };
    let up = wait_for(Duration::from_secs(60), || {
        query(r#"up{job="swipewatch"} == 1"#) == 1
    });
    assert!(up, "prometheus never scraped the service");

    let rules = std::fs::read_to_string(&rules_file).expect("rules");
    let exprs = expressions(&rules);
    assert!(exprs.len() >= 8, "{exprs:?}");
    let mut empty = exprs.clone();
    wait_for(Duration::from_secs(90), || {
        empty.retain(|e| query(e) == 0);
        empty.is_empty()
    });
    assert!(empty.is_empty(), "expressions without data: {empty:?}");
    // The healthy service fires none of its own alerts.
    let firing = query(r#"ALERTS{alertstate="firing"}"#);
    assert_eq!(firing, 0);
}
