//! Warm start: baselines learned from an earlier stretch of the same
//! fleet's history let a fault in the first minutes of a run be detected,
//! where a cold start is still in its learning period.

use super::*;
use crate::replay::tests::write_parquet;
use crate::replay::{replay, Options};
use swipewatch_alert::Incident;

/// Forty quiet minutes of a 3,000-terminal fleet.
const HISTORY: &str = r#"
name = "warm-history"
seed = 41
terminals = 3000
peak_txn_per_hour = 30
start = "2026-11-02T09:00:00Z"
duration = "40m"
"#;

/// The same fleet right after, with an issuer outage from minute 1 to 3:
/// over before a cold start's learning period (30 buckets) ends.
const RUN: &str = r#"
name = "warm-run"
seed = 41
terminals = 3000
peak_txn_per_hour = 30
start = "2026-11-02T09:40:00Z"
duration = "7m"

[[faults]]
kind = "issuer_outage"
issuer = "harbor-savings"
start = "1m"
duration = "2m"
ramp = "10s"
severity = 0.9
"#;

fn issuer_incidents(run: &Path, baseline: Option<PathBuf>) -> Vec<Incident> {
    let opts = Options {
        baseline,
        ..Options::for_files(vec![run.to_path_buf()])
    };
    let report = replay(&Config::default(), &Mapping::default(), &opts, &[]).expect("replay");
    report
        .incidents
        .into_iter()
        .filter(|i| i.key.cause.to_string() == "bank-issuer")
        .collect()
}

#[test]
fn a_warm_start_detects_a_fault_in_the_first_minutes_that_a_cold_start_misses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let history = write_parquet(HISTORY, "warm-history", dir.path());
    let run = write_parquet(RUN, "warm-run", dir.path());

    let learned = learn(&Config::default(), &Mapping::default(), &[history]).expect("learn");
    assert!(
        learned.buckets_learned >= 200,
        "forty minutes are about 240 buckets: {}",
        learned.buckets_learned
    );
    let snap = dir.path().join("baseline.snap");
    learned.save_file(&snap).expect("save");
    assert_eq!(BaselineFile::load_file(&snap).expect("load"), learned);

    let cold = issuer_incidents(&run, None);
    assert!(
        cold.is_empty(),
        "a cold start is still learning during the outage: {cold:#?}"
    );

    let warm = issuer_incidents(&run, Some(snap));
    let onset_ms = 1_793_612_400_000 + 60_000; // 09:41
    let found = warm
        .iter()
        .find(|i| i.key.describe() == "issuer=harbor-savings")
        .unwrap_or_else(|| panic!("warm start finds the issuer outage: {warm:#?}"));
    assert!(
        found.first_ms - onset_ms <= 90_000,
        "found {} s after onset",
        (found.first_ms - onset_ms) / 1000
    );
}

#[test]
fn baselines_learned_with_another_bucket_width_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let history = write_parquet(HISTORY, "warm-history", dir.path());
    let learned = learn(&Config::default(), &Mapping::default(), &[history]).expect("learn");
    let snap = dir.path().join("baseline.snap");
    learned.save_file(&snap).expect("save");
    let mut config = Config::default();
    config.engine.bucket = std::time::Duration::from_secs(30);
    let (_decoder, mut monitor, _metrics) = offline(&config).expect("config");
    let err = monitor
        .warm_start(&BaselineFile::load_file(&snap).expect("load"))
        .expect_err("refused");
    assert!(err.to_string().contains("engine.bucket"), "{err}");
}
