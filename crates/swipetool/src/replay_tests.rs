//! Replay from history files against the same stream fed straight from the
//! simulator (the path `swipewatch eval` drives), on a fleet with a
//! carrier outage (and the store-and-forward backlog after it), an issuer
//! outage and a dead card reader.

use super::*;
use std::collections::BTreeSet;
use swipewatch_sim::{Generator, Scenario};

const SCENARIO: &str = r#"
name = "history-equality"
seed = 31
terminals = 3000
peak_txn_per_hour = 30
duration = "32m"

[[faults]]
kind = "network_outage"
carrier = "skylink"
region = "north"
start = "20m"
duration = "4m"
ramp = "10s"
severity = 0.9

[[faults]]
kind = "issuer_outage"
issuer = "harbor-savings"
start = "26m"
duration = "4m"
ramp = "10s"
severity = 0.9

[[faults]]
kind = "dead_reader"
terminal = "@busiest"
start = "21m"
duration = "8m"
severity = 1.0
"#;

/// What must be equal between two runs: every incident's identity,
/// timing, state and routing.
type Summary = BTreeSet<String>;

fn summary(incidents: &[Incident]) -> Summary {
    incidents
        .iter()
        .map(|i| {
            format!(
                "{} {} first={} fired={:?} last={} state={:?} severity={} silenced={} inhibited={}",
                i.key.cause,
                i.key.describe(),
                i.first_ms,
                i.fired_ms,
                i.last_ms,
                i.state,
                i.severity.name(),
                i.silenced,
                i.inhibited_by.is_some()
            )
        })
        .collect()
}

/// The stream straight from the generator; `outcomes_only` leaves the
/// heartbeats out, as a transaction log does.
fn direct(scenario: &Scenario, outcomes_only: bool) -> Summary {
    let (mut decoder, monitor, _metrics) = offline(&Config::default()).expect("config");
    let mut replay = Replay::new(monitor);
    let mut generator = Generator::new(scenario, None);
    let mut messages = Vec::new();
    let mut events = Vec::new();
    while generator.step(&mut messages) {
        for m in messages.drain(..) {
            if outcomes_only && !m.topic.ends_with("/txn") {
                continue;
            }
            let _ = decoder.decode(
                &m.topic,
                &m.payload,
                m.payload.len(),
                m.arrival_ms,
                &mut events,
            );
            for e in events.drain(..) {
                replay.event(&e);
            }
            replay.poll();
        }
    }
    summary(&replay.finish())
}

fn from_file(path: &std::path::Path) -> (Summary, Report) {
    let opts = Options::for_files(vec![path.to_path_buf()]);
    let report = replay(&Config::default(), &Mapping::default(), &opts, &[]).expect("replay");
    (summary(&report.incidents), report)
}

#[test]
fn replay_from_csv_parquet_and_ndjson_gives_the_same_incidents_as_the_direct_stream() {
    let scenario = Scenario::parse(SCENARIO, "history-equality").expect("scenario");
    let dir = tempfile::tempdir().expect("tempdir");
    let table_reference = direct(&scenario, true);
    let causes: BTreeSet<String> = table_reference
        .iter()
        .filter_map(|s| s.split(' ').next().map(str::to_string))
        .collect();
    for cause in ["network", "bank-issuer", "device-hardware"] {
        assert!(
            causes.contains(cause),
            "the direct stream raises a {cause} incident: {table_reference:#?}"
        );
    }
    for ext in ["parquet", "csv"] {
        let path = dir.path().join(format!("history.{ext}"));
        let mut generator = Generator::new(&scenario, None);
        let rows = swipewatch_history::write_outcomes(&mut generator, &path).expect("write");
        let (got, report) = from_file(&path);
        assert_eq!(report.rows, rows, "{ext}: every row read");
        assert_eq!(report.accepted, rows, "{ext}: every row accepted");
        assert_eq!(
            got, table_reference,
            "{ext}: same incidents as the direct stream"
        );
    }
    let path = dir.path().join("history.ndjson");
    let mut generator = Generator::new(&scenario, None);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    swipewatch_sim::output::write_ndjson(&mut generator, &mut out).expect("write");
    drop(out);
    let (got, _) = from_file(&path);
    assert_eq!(
        got,
        direct(&scenario, false),
        "ndjson (heartbeats included): same incidents as the direct stream"
    );
}

/// Twenty minutes of 3,000 terminals with an issuer outage from minute 12
/// to 16 (from 2026-11-02 10:00 UTC, a Monday).
pub(crate) const ISSUER_OUTAGE: &str = r#"
name = "issuer-outage-20m"
seed = 43
terminals = 3000
peak_txn_per_hour = 30
duration = "20m"

[[faults]]
kind = "issuer_outage"
issuer = "harbor-savings"
start = "12m"
duration = "4m"
ramp = "10s"
severity = 0.9
"#;

/// Writes the outcomes of `scenario` (TOML) as `dir/<name>.parquet`.
pub(crate) fn write_parquet(scenario: &str, name: &str, dir: &Path) -> PathBuf {
    let scenario = Scenario::parse(scenario, name).expect("scenario");
    let path = dir.join(format!("{name}.parquet"));
    let mut generator = Generator::new(&scenario, None);
    swipewatch_history::write_outcomes(&mut generator, &path).expect("write");
    path
}

#[test]
fn maintenance_windows_from_the_config_silence_what_they_cover_in_replay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = Options::for_files(vec![write_parquet(ISSUER_OUTAGE, "history", dir.path())]);
    let issuer = |config: &Config| {
        let report = replay(config, &Mapping::default(), &opts, &[]).expect("replay");
        report
            .incidents
            .into_iter()
            .find(|i| i.key.describe() == "issuer=harbor-savings")
            .expect("the issuer outage is found")
    };
    assert!(!issuer(&Config::default()).silenced);
    let config = swipewatch_config::load_str(
        r#"
[[alerts.maintenance]]
matchers = { issuer = "harbor-savings" }
at = "10:10"
duration = "30m"
days = ["mon"]
"#,
        Path::new("."),
    )
    .expect("config");
    assert!(
        issuer(&config).silenced,
        "covered by the maintenance window"
    );
}

#[test]
fn bad_ndjson_lines_are_counted_and_skipped_unless_strict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("mixed.ndjson");
    let ts = 1_795_000_000_000i64;
    let lines = [
        format!(r#"{{"event_id":"a","terminal_id":"T-1","ts":{ts},"outcome":"approved"}}"#),
        format!(r#"{{"event_id":"b","terminal_id":"T-1","ts":{ts},"outcome":"declined","rc":51}}"#),
        format!(r#"{{"event_id":"c","terminal_id":"T-1","ts":{ts},"outcome":"settled"}}"#),
        "{\"event_id\":".to_string(),
        format!(r#"{{"terminal_id":"T-1","ts":{ts},"battery_pct":80,"carrier":"cmcc"}}"#),
        format!(r#"{{"event_id":"d","terminal_id":"T-2","ts":{ts},"outcome":"approved"}}"#),
    ];
    std::fs::write(&path, lines.join("\n") + "\n").expect("write");
    let mut opts = Options::for_files(vec![path.clone()]);
    let report = replay(&Config::default(), &Mapping::default(), &opts, &[]).expect("replay");
    assert_eq!(report.rows, 6);
    assert_eq!(report.accepted, 3, "a, b (numeric rc read as text) and d");
    assert_eq!(
        report.rejected,
        [
            ("malformed_json".to_string(), 1),
            ("bad_type".to_string(), 1)
        ]
    );
    opts.strict = true;
    let err =
        replay(&Config::default(), &Mapping::default(), &opts, &[]).expect_err("strict stops");
    let text = err.to_string();
    assert!(
        text.contains("mixed.ndjson: line 3: bad_type (outcome has the wrong type)"),
        "{text}"
    );
}

#[test]
fn a_csv_row_with_a_bad_required_value_is_counted_and_skipped_unless_strict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("mixed.csv");
    let ts = 1_795_000_000_000i64;
    std::fs::write(
        &path,
        format!(
            "event_id,terminal_id,ts,outcome,latency_ms\n\
             a,T-1,{ts},approved,120\n\
             b,T-1,{ts},settled,120\n\
             c,T-1,{ts},declined,slow\n"
        ),
    )
    .expect("write");
    let mut opts = Options::for_files(vec![path]);
    let report = replay(&Config::default(), &Mapping::default(), &opts, &[]).expect("replay");
    assert_eq!(report.accepted, 2, "a, and c without its latency");
    assert_eq!(report.rejected, [("bad_type".to_string(), 1)]);
    opts.strict = true;
    let text = replay(&Config::default(), &Mapping::default(), &opts, &[])
        .expect_err("strict stops")
        .to_string();
    assert!(
        text.contains("mixed.csv: row 2, column `outcome`"),
        "{text}"
    );
}
