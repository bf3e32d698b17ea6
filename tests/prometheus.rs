//! A real Prometheus (Debian package) scrapes a running `swipewatch demo`
//! and evaluates the shipped rules and every Grafana dashboard query:
//! every expression must have data.

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

/// Every panel query of every dashboard in `dashboards/`, after checking
/// that each panel is described and reads the `datasource` variable.
fn dashboard_expressions() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let dir = repo().join("dashboards");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("dashboards dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    for file in files {
        let name = file.display().to_string();
        let d: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect(&name);
        assert!(
            d["templating"]["list"].as_array().is_some_and(|l| l
                .iter()
                .any(|v| v["name"] == "datasource" && v["type"] == "datasource")),
            "{name}: no datasource variable"
        );
        for panel in d["panels"].as_array().expect("panels") {
            let title = panel["title"].as_str().unwrap_or("?");
            assert!(
                panel["description"].as_str().is_some_and(|s| s.len() > 10),
                "{name}: panel {title} has no description"
            );
            assert_eq!(
                panel["datasource"]["uid"], "${datasource}",
                "{name}: {title}"
            );
            for t in panel["targets"].as_array().expect("targets") {
                assert_eq!(t["datasource"]["uid"], "${datasource}", "{name}: {title}");
                let expr = t["expr"].as_str().expect("expr");
                out.push((format!("{name}: {title}"), expr.to_string()));
            }
        }
    }
    out
}

#[test]
fn prometheus_scrapes_the_service_and_every_rule_and_dashboard_expression_has_data() {
    let dashboards = dashboard_expressions();
    assert!(dashboards.len() >= 25, "{}", dashboards.len());
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
    let mut empty: Vec<String> = exprs
        .iter()
        .cloned()
        .chain(dashboards.iter().map(|(_, e)| e.clone()))
        .collect();
    wait_for(Duration::from_secs(90), || {
        empty.retain(|e| query(e) == 0);
        empty.is_empty()
    });
    let named: Vec<&(String, String)> = dashboards
        .iter()
        .filter(|(_, e)| empty.contains(e))
        .collect();
    assert!(
        empty.is_empty(),
        "expressions without data: {empty:?}\ndashboard panels: {named:?}"
    );
    // The healthy service fires none of its own alerts.
    let firing = query(r#"ALERTS{alertstate="firing"}"#);
    assert_eq!(firing, 0);
}
