//! The compatibility corpus (`tests/data/compat-corpus.ndjson`, written by
//! `tests/data/make-corpus.py`): payloads in the shapes real terminals and
//! hosts send, each with the counts it must produce. Every payload is
//! checked one by one against the decoder (the class of each outcome it
//! yields, the rejections and dropped fields it counts), then the whole
//! corpus goes through a real Mosquitto into the service, whose metrics
//! must add up to the same totals.

use crate::support::mqtt::{now_ms, runtime, Publisher};
use crate::support::{wait_for, Mosquitto, Service};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;
use swipewatch_ingest::{Decoder, SharedSymbols};
use swipewatch_model::{DroppedField, Event, RejectReason};
use swipewatch_telemetry::Metrics;

#[derive(Deserialize)]
struct Case {
    name: String,
    topic: String,
    payload: String,
    expect: Expect,
}

#[derive(Deserialize, Default)]
struct Expect {
    outcomes: Vec<String>,
    heartbeats: u64,
    rejected: BTreeMap<String, u64>,
    dropped: BTreeMap<String, u64>,
}

fn corpus(now: i64) -> Vec<(Case, String)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/compat-corpus.ndjson"
    );
    let rfc3339 = rfc3339_utc(now);
    std::fs::read_to_string(path)
        .expect("corpus")
        .lines()
        .map(|l| {
            let case: Case = serde_json::from_str(l).expect("corpus line");
            let payload = case
                .payload
                .replace("{TS}", &now.to_string())
                .replace("{RFC3339}", &rfc3339);
            (case, payload)
        })
        .collect()
}

/// `now` (epoch ms) as an RFC 3339 UTC time, from the civil calendar.
fn rfc3339_utc(now: i64) -> String {
    let (days, ms) = (now.div_euclid(86_400_000), now.rem_euclid(86_400_000));
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (h, mi, s, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

fn counts(metrics: &Metrics) -> (BTreeMap<&'static str, u64>, BTreeMap<&'static str, u64>) {
    let rejected = RejectReason::ALL
        .iter()
        .map(|r| (r.name(), metrics.ingest.rejected(*r).get()))
        .collect();
    let dropped = DroppedField::ALL
        .iter()
        .map(|f| (f.name(), metrics.ingest.dropped(*f).get()))
        .collect();
    (rejected, dropped)
}

fn delta(
    after: &BTreeMap<&'static str, u64>,
    before: &BTreeMap<&'static str, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter(|(k, n)| **n > before[*k])
        .map(|(k, n)| (k.to_string(), n - before[k]))
        .collect()
}

#[test]
fn every_corpus_payload_gives_its_expected_classes_rejections_and_drops() {
    let now = now_ms();
    let cases = corpus(now);
    assert!(cases.len() >= 200, "{} payloads", cases.len());
    let metrics = Metrics::new();
    let mut decoder = Decoder::new(
        &swipewatch_config::Config::default().ingest,
        swipewatch_config::builtin_code_tables(),
        SharedSymbols::default(),
        metrics.ingest.clone(),
    );
    let mut failures = Vec::new();
    let mut out = Vec::new();
    for (case, payload) in &cases {
        let before = counts(&metrics);
        out.clear();
        let _ = decoder.decode(
            &case.topic,
            payload.as_bytes(),
            payload.len(),
            now,
            &mut out,
        );
        let after = counts(&metrics);
        let classes: Vec<String> = out
            .iter()
            .filter_map(|e| match e {
                Event::Outcome(o) => Some(o.class.name().to_string()),
                Event::Heartbeat(_) => None,
            })
            .collect();
        let heartbeats = out
            .iter()
            .filter(|e| matches!(e, Event::Heartbeat(_)))
            .count() as u64;
        let got = (
            classes,
            heartbeats,
            delta(&after.0, &before.0),
            delta(&after.1, &before.1),
        );
        let want = (
            case.expect.outcomes.clone(),
            case.expect.heartbeats,
            case.expect.rejected.clone(),
            case.expect.dropped.clone(),
        );
        if got != want {
            failures.push(format!("{}: got {got:?}, want {want:?}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} payloads differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn the_corpus_through_a_real_broker_adds_up_to_its_expected_totals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Mosquitto::start(dir.path());
    let config = format!(
        "[mqtt]\nurl = \"{}\"\nclient_id = \"sw-compat\"\n[engine]\nbucket = \"5s\"\nallowed_lateness = \"1s\"\n",
        broker.url()
    );
    let mut svc = Service::start(dir.path(), &config);
    svc.wait_ready(Duration::from_secs(20));
    let now = now_ms();
    let cases = corpus(now);
    let mut want_outcomes = 0u64;
    let mut want_heartbeats = 0u64;
    let mut want_rejected: BTreeMap<String, u64> = BTreeMap::new();
    let mut want_dropped: BTreeMap<String, u64> = BTreeMap::new();
    for (case, _) in &cases {
        want_outcomes += case.expect.outcomes.len() as u64;
        want_heartbeats += case.expect.heartbeats;
        for (k, n) in &case.expect.rejected {
            *want_rejected.entry(k.clone()).or_default() += n;
        }
        for (k, n) in &case.expect.dropped {
            *want_dropped.entry(k.clone()).or_default() += n;
        }
    }
    let rt = runtime();
    rt.block_on(async {
        let mut p = Publisher::connect(broker.port(), "pub-compat");
        for (case, payload) in &cases {
            p.publish(&case.topic, payload.clone()).await;
        }
        assert!(p.flush(Duration::from_secs(30)).await, "broker acked all");
        p.close().await;
    });
    let accepted = |kind: &str| format!("swipewatch_ingest_accepted_total{{kind=\"{kind}\"}}");
    let rejected_total = |svc: &Service| {
        RejectReason::ALL
            .iter()
            .map(|r| {
                svc.sample(&format!(
                    "swipewatch_ingest_rejected_total{{reason=\"{}\"}}",
                    r.name()
                ))
            })
            .sum::<f64>()
    };
    let want_rejected_total: u64 = want_rejected.values().sum();
    let settled = wait_for(Duration::from_secs(30), || {
        svc.sample(&accepted("outcome")) + svc.sample(&accepted("heartbeat")) + rejected_total(&svc)
            >= (want_outcomes + want_heartbeats + want_rejected_total) as f64
    });
    assert!(settled, "not every payload was decided:\n{}", svc.metrics());
    assert_eq!(svc.sample(&accepted("outcome")), want_outcomes as f64);
    assert_eq!(svc.sample(&accepted("heartbeat")), want_heartbeats as f64);
    for r in RejectReason::ALL {
        let got = svc.sample(&format!(
            "swipewatch_ingest_rejected_total{{reason=\"{}\"}}",
            r.name()
        ));
        let want = want_rejected.get(r.name()).copied().unwrap_or(0);
        assert_eq!(got, want as f64, "rejected {}", r.name());
    }
    for f in DroppedField::ALL {
        let got = svc.sample(&format!(
            "swipewatch_ingest_fields_dropped_total{{field=\"{}\"}}",
            f.name()
        ));
        let want = want_dropped.get(f.name()).copied().unwrap_or(0);
        assert_eq!(got, want as f64, "dropped {}", f.name());
    }
    assert!(svc.terminate().expect("stops").success());
}
