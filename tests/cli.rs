//! The command line: config checking and the binary split.

use crate::support::{repo, swipewatch};
use std::path::{Path, PathBuf};

fn service_configs() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["config", "config/examples"] {
        for entry in std::fs::read_dir(repo().join(dir)).expect("config dir") {
            let p = entry.expect("entry").path();
            if p.extension().is_some_and(|e| e == "toml") {
                files.push(p);
            }
        }
    }
    files
}

#[test]
fn check_config_accepts_every_shipped_config() {
    let files = service_configs();
    assert!(
        files.len() >= 3,
        "expected the default and example configs, found {files:?}"
    );
    for f in files {
        let out = swipewatch()
            .arg("check-config")
            .arg(&f)
            .output()
            .expect("run check-config");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.trim() == "ok",
            "{}: {stdout}{}",
            f.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn check(dir: &Path, text: &str) -> (i32, String) {
    let f = dir.join("broken.toml");
    std::fs::write(&f, text).expect("write");
    let out = swipewatch()
        .arg("check-config")
        .arg(&f)
        .output()
        .expect("run check-config");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_broken_config_gets_one_line_naming_the_key_and_exit_code_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (text, key) in [
        ("[mqtt]\nurl = \"http://broker\"\n", "mqtt.url"),
        ("[mqtt]\ninflight = 0\n", "mqtt.inflight"),
        ("[mqtt]\nkeep_alive = \"forever\"\n", "mqtt.keep_alive"),
        ("[ingest]\nqos = 7\n", "ingest.qos"),
        (
            "[alerts]\nalertmanager_url = \"https://am:9093\"\n",
            "alerts.alertmanager_url",
        ),
        (
            "[ingest]\nmax_payload_bytes = \"big\"\n",
            "ingest.max_payload_bytes",
        ),
        ("[ingest]\nunknown_knob = 1\n", "ingest.unknown_knob"),
        (
            "[[ingest.topics]]\ntemplate = \"dt/#\"\nkind = \"txn\"\n",
            "ingest.topics[0].template",
        ),
        ("[server]\nlisten = \"everywhere\"\n", "server.listen"),
        ("[codes]\ntables = [\"missing.toml\"]\n", "codes.tables[0]"),
    ] {
        let (code, stderr) = check(dir.path(), text);
        assert_eq!(code, 2, "{text}: {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "one line for {text}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("`{key}`")),
            "{key} not named in: {stderr}"
        );
    }
    let (code, stderr) = check(dir.path(), "[mqtt\n");
    assert_eq!(code, 2);
    assert!(
        stderr.contains("line 1") && stderr.trim_end().lines().count() == 1,
        "{stderr}"
    );
}

#[test]
fn run_refuses_a_broken_config_with_exit_code_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("bad.toml");
    std::fs::write(&f, "[mqtt]\nclient_id = \"\"\n").expect("write");
    let out = swipewatch()
        .args(["run", "--config"])
        .arg(&f)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`mqtt.client_id`"));
}

#[test]
fn the_service_binary_does_not_link_polars() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-p",
            "swipewatch",
            "-e",
            "normal,build",
            "--prefix",
            "none",
        ])
        .current_dir(repo())
        .output()
        .expect("cargo tree");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        tree.contains("rumqttc"),
        "unexpected cargo tree output:\n{tree}"
    );
    assert!(
        !tree.lines().any(|l| l.starts_with("polars")),
        "swipewatch depends on polars:\n{tree}"
    );
}
