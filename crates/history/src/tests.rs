use super::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use swipewatch_decode::RawTs;

fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

/// `(event_id, ts, arrival_ms)` of every outcome read; the first refused
/// row as the error.
fn outcomes(path: &Path, mapping: &Mapping) -> Result<Vec<(String, i64, i64)>, HistoryError> {
    let mut out = Vec::new();
    let mut refused = None;
    read(path, mapping, |item| match item {
        Item::Outcome {
            raw, arrival_ms, ..
        } => {
            let ts = match raw.ts {
                Some(RawTs::Ms(ms)) => ms,
                _ => -1,
            };
            out.push((raw.event_id.unwrap_or_default().to_string(), ts, arrival_ms));
        }
        Item::Refused { problem } => {
            refused.get_or_insert(problem);
        }
        _ => {}
    })?;
    match refused {
        Some(problem) => Err(problem),
        None => Ok(out),
    }
}

/// The fields dropped from each outcome read, by event id.
fn dropped(path: &Path) -> Vec<(String, Vec<&'static str>)> {
    let mut out = Vec::new();
    read(path, &Mapping::default(), |item| {
        if let Item::Outcome { raw, dropped, .. } = item {
            let names = dropped.iter().map(|f| f.name()).collect();
            out.push((raw.event_id.unwrap_or_default().to_string(), names));
        }
    })
    .expect("read");
    out
}

#[test]
fn a_mapping_naming_an_unknown_field_is_refused() {
    let pairs = BTreeMap::from([("timestamp".to_string(), "t".to_string())]);
    let err = Mapping::new(&pairs).expect_err("unknown field");
    assert_eq!(
        err.to_string(),
        "history.columns: unknown field `timestamp`"
    );
}

#[test]
fn a_missing_required_column_fails_before_any_row_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = file(
        dir.path(),
        "no-ts.csv",
        "event_id,terminal_id,outcome\ne1,t1,approved\n",
    );
    let err = check(&path, &Mapping::default()).expect_err("ts missing");
    let text = err.to_string();
    assert!(text.contains("no-ts.csv"), "{text}");
    assert!(text.contains("no column `ts`"), "{text}");
}

#[test]
fn provider_column_names_are_read_through_the_mapping() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = file(
        dir.path(),
        "provider.csv",
        "txn_id,tid,txn_time,result,rc\n\
         a,t1,2026-11-24T10:00:00Z,approved,00\n\
         b,t2,2026-11-24T10:00:01.500Z,declined,05\n",
    );
    let pairs = BTreeMap::from([
        ("event_id".to_string(), "txn_id".to_string()),
        ("terminal_id".to_string(), "tid".to_string()),
        ("ts".to_string(), "txn_time".to_string()),
        ("outcome".to_string(), "result".to_string()),
    ]);
    let mapping = Mapping::new(&pairs).expect("mapping");
    check(&path, &mapping).expect("columns present");
    let got = outcomes(&path, &mapping).expect("read");
    let t0 = 1_795_514_400_000;
    assert_eq!(
        got,
        vec![
            ("a".to_string(), t0, t0),
            ("b".to_string(), t0 + 1_500, t0 + 1_500)
        ]
    );
    // Codes stay text: `05` is not the number 5.
    let mut codes = Vec::new();
    read(&path, &mapping, |item| {
        if let Item::Outcome { raw, .. } = item {
            codes.push(raw.rc.unwrap_or_default().to_string());
        }
    })
    .expect("read");
    assert_eq!(codes, ["00", "05"]);
}

#[test]
fn a_bad_optional_value_is_dropped_and_a_bad_required_one_refuses_the_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = file(
        dir.path(),
        "bad.csv",
        "event_id,terminal_id,ts,outcome,latency_ms,saf\n\
         e1,t1,1000,approved,120,true\n\
         e2,t1,2000,approved,4111 1111 1111 1111,maybe\n",
    );
    assert_eq!(
        dropped(&path),
        [
            ("e1".to_string(), vec![]),
            ("e2".to_string(), vec!["latency_ms", "saf"])
        ]
    );
    let path = file(
        dir.path(),
        "bad-ts.csv",
        "event_id,terminal_id,ts,outcome\ne1,t1,1000,approved\ne2,t1,4111 1111 1111 1111,approved\n",
    );
    let text = outcomes(&path, &Mapping::default())
        .expect_err("bad ts")
        .to_string();
    assert!(text.contains("bad-ts.csv: row 2, column `ts`"), "{text}");
    assert!(!text.contains("4111"), "the value is not quoted: {text}");

    let path = file(
        dir.path(),
        "bad-outcome.csv",
        "event_id,terminal_id,ts,outcome\ne1,t1,1000,approved\ne2,t1,2000,maybe\n",
    );
    let text = outcomes(&path, &Mapping::default())
        .expect_err("unknown outcome")
        .to_string();
    assert!(text.contains("row 2, column `outcome`"), "{text}");
}

#[test]
fn rows_without_arrival_time_are_replayed_in_event_time_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = file(
        dir.path(),
        "shuffled.csv",
        "event_id,terminal_id,ts,outcome\nc,t,3000,approved\na,t,1000,approved\nb,t,2000,failed\n",
    );
    let ids: Vec<String> = outcomes(&path, &Mapping::default())
        .expect("read")
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
}

#[test]
fn rows_with_arrival_time_keep_the_order_they_arrived_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    // `late` happened first but arrived last (store-and-forward).
    let path = file(
        dir.path(),
        "arrived.csv",
        "event_id,terminal_id,ts,outcome,arrival_ms\n\
         x,t,2000,approved,2100\nlate,t,500,approved,9000\ny,t,3000,approved,3100\n",
    );
    let got = outcomes(&path, &Mapping::default()).expect("read");
    let ids: Vec<&str> = got.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(ids, ["x", "y", "late"]);
    assert_eq!(got[2], ("late".to_string(), 500, 9000));
}

#[test]
fn bare_ndjson_lines_good_or_bad_are_handed_on_with_their_line_numbers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = file(
        dir.path(),
        "flat.ndjson",
        "{\"event_id\":\"e1\",\"terminal_id\":\"t\",\"ts\":1000,\"outcome\":\"approved\"}\n\
         \n\
         {\"event_id\":\"e2\",\"ts\":2000,\"outcome\":\"approved\",\"latency_ms\":\"slow\"}\n\
         {\"event_id\":\n\
         {\"topic\":\"dt/pos/v1/r/a/t/hb\",\"arrival_ms\":5,\"payload\":{\"ts\":5}}\n\
         {\"terminal_id\":\"t\",\"ts\":6000,\"arrival_ms\":6100}\n",
    );
    let mut seen = Vec::new();
    let rows = read(&path, &Mapping::default(), |item| match item {
        Item::Line {
            text,
            line,
            arrival_ms,
        } => seen.push(format!("line {line} {arrival_ms:?} {}", &text[..10])),
        Item::Message { topic, .. } => seen.push(format!("message {topic}")),
        Item::Outcome { .. } | Item::Refused { .. } => seen.push("table row".to_string()),
    })
    .expect("a bad line does not end the read");
    assert_eq!(rows, 6);
    assert_eq!(
        seen,
        [
            "line 1 None {\"event_id",
            "line 3 None {\"event_id",
            "line 4 None {\"event_id",
            "message dt/pos/v1/r/a/t/hb",
            "line 6 Some(6100) {\"terminal",
        ]
    );
}

#[test]
fn a_simulated_fleet_written_as_parquet_reads_back_row_for_row() {
    let scenario = swipewatch_sim::Scenario::parse(
        "name = \"small\"\nseed = 3\nterminals = 1000\npeak_txn_per_hour = 60\nduration = \"3m\"\n",
        "small",
    )
    .expect("scenario");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut expected = Vec::new();
    let mut generator = swipewatch_sim::Generator::new(&scenario, None);
    let mut messages = Vec::new();
    while generator.step(&mut messages) {
        for m in messages.drain(..).filter(|m| m.topic.ends_with("/txn")) {
            let raw: swipewatch_decode::RawOutcome =
                serde_json::from_slice(&m.payload).expect("payload");
            expected.push((
                raw.event_id.unwrap_or_default().to_string(),
                m.ts_ms,
                m.arrival_ms,
            ));
        }
    }
    assert!(expected.len() > 100, "the fleet transacts");
    for ext in ["parquet", "csv"] {
        let path = dir.path().join(format!("fleet.{ext}"));
        let mut generator = swipewatch_sim::Generator::new(&scenario, None);
        let rows = write_outcomes(&mut generator, &path).expect("write");
        assert_eq!(rows as usize, expected.len());
        let mut got = outcomes(&path, &Mapping::default()).expect("read");
        let mut want = expected.clone();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{ext}");
    }
}

#[test]
fn a_leaf_table_is_coded_per_dimension() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = file(
        dir.path(),
        "leaves.csv",
        "a,b,real,predict\na1,b1,10,10\na1,b2,30,10\na2,b1,5,5.5\n",
    );
    let dims = vec!["a".to_string(), "b".to_string()];
    let t = read_leaves(&path, &dims, "real", "predict").expect("read");
    assert_eq!(t.names, vec![vec!["a1", "a2"], vec!["b1", "b2"]]);
    assert_eq!(t.codes, vec![0, 0, 0, 1, 1, 0]);
    assert_eq!(t.real, vec![10.0, 30.0, 5.0]);
    assert_eq!(t.forecast, vec![10.0, 10.0, 5.5]);
    let err = read_leaves(&path, &dims, "real", "forecast").expect_err("no column");
    assert!(err.to_string().contains("no column `forecast`"), "{err}");
}

#[test]
fn parquet_is_read_in_slices_in_replay_order_with_rows_numbered_across_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = super::read::SLICE_ROWS + 1_000;
    let bad = super::read::SLICE_ROWS + 500; // 1-based, in the second slice
    let write = |name: &str, with_bad: bool| {
        let path = dir.path().join(name);
        let text = |f: &dyn Fn(usize) -> String| TableColumn::Text((1..=rows).map(f).collect());
        // Arrival order jitters across the slice boundary: each pair of
        // rows is swapped.
        let arrival = |r: usize| (10_000 + (r ^ 1)) as i64;
        write_table(
            &path,
            vec![
                ("event_id".into(), text(&|r| format!("e{r}"))),
                ("terminal_id".into(), text(&|r| format!("t{}", r % 7))),
                (
                    "ts".into(),
                    TableColumn::Int((1..=rows).map(|r| 1000 + r as i64).collect()),
                ),
                (
                    "outcome".into(),
                    text(&|r| {
                        if with_bad && r == bad {
                            "maybe".into()
                        } else {
                            "approved".into()
                        }
                    }),
                ),
                (
                    "arrival_ms".into(),
                    TableColumn::Int((1..=rows).map(arrival).collect()),
                ),
                ("latency_ms".into(), text(&|_| "120".into())),
            ],
        )
        .expect("write parquet");
        path
    };
    let err = outcomes(&write("bad.parquet", true), &Mapping::default()).expect_err("bad outcome");
    assert!(
        err.to_string()
            .contains(&format!("row {bad}, column `outcome`")),
        "{err}"
    );
    let read = outcomes(&write("good.parquet", false), &Mapping::default()).expect("read");
    assert_eq!(read.len(), rows, "every row once");
    assert!(
        read.windows(2).all(|w| w[0].2 < w[1].2),
        "in arrival order, across slices"
    );
    let boundary = super::read::SLICE_ROWS; // rows are 1-based in ids
    assert_eq!(read[boundary - 1].0, format!("e{}", boundary ^ 1));
}
