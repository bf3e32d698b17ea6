//! The drill-down of an issuer outage, from a replayed history file.

use super::*;

use crate::replay::tests::{write_parquet, ISSUER_OUTAGE};

fn history(dir: &std::path::Path) -> PathBuf {
    write_parquet(ISSUER_OUTAGE, "history", dir)
}

/// The CSV as header → column index and rows of cells.
fn read_csv(path: &std::path::Path) -> (HashMap<String, usize>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).expect("read");
    let mut lines = text.lines();
    let header = lines
        .next()
        .expect("header")
        .split(',')
        .enumerate()
        .map(|(i, h)| (h.to_string(), i))
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[test]
fn the_drill_down_of_an_issuer_outage_puts_the_issuer_first_with_its_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = vec![history(dir.path())];
    let out = dir.path().join("drill.csv");
    let replayed = replay(
        &Config::default(),
        &Mapping::default(),
        &ReplayOptions::for_files(files.clone()),
        &[],
    )
    .expect("replay");
    let id = replayed
        .incidents
        .iter()
        .find(|i| i.key.describe() == "issuer=harbor-savings")
        .map(|i| i.id)
        .expect("the replay raises the issuer outage");
    run(&Options {
        files,
        config: None,
        incident: Some(id),
        baseline: None,
        from: None,
        to: None,
        before: Duration::from_secs(600),
        out: out.clone(),
    })
    .expect("report");

    let (col, rows) = read_csv(&out);
    let cell = |row: &Vec<String>, name: &str| row[col[name]].clone();
    let num = |row: &Vec<String>, name: &str| -> f64 { cell(row, name).parse().expect(name) };
    assert_eq!(cell(&rows[0], "dimension"), "fleet");
    let issuers: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| cell(r, "dimension") == "issuer")
        .collect();
    let top = issuers.first().expect("issuer rows");
    assert_eq!(cell(top, "value"), "harbor-savings", "largest excess first");
    assert!(num(top, "failure_rate_during") > 0.3, "{top:?}");
    assert!(num(top, "failure_rate_before") < 0.1, "{top:?}");
    assert!(
        cell(top, "failure_codes_during").starts_with("91="),
        "{top:?}"
    );
    // Every outcome has a region: the regions' rows add up to the fleet's.
    for phase in ["attempts_before", "attempts_during", "failures_during"] {
        let regions: f64 = rows
            .iter()
            .filter(|r| cell(r, "dimension") == "region")
            .map(|r| num(r, phase))
            .sum();
        assert_eq!(regions, num(&rows[0], phase), "{phase}");
    }
    assert!(num(&rows[0], "attempts_before") > 0.0);
}

#[test]
fn a_span_is_given_as_rfc3339_or_epoch_ms_and_parquet_is_written() {
    assert_eq!(
        parse_time("--from", "1793613600000").expect("ms"),
        1_793_613_600_000
    );
    assert_eq!(
        parse_time("--from", "2026-11-02T10:00:00Z").expect("rfc3339"),
        1_793_613_600_000
    );
    let err = parse_time("--from", "yesterday").expect_err("refused");
    assert!(err.to_string().starts_with("--from:"), "{err}");

    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("drill.parquet");
    run(&Options {
        files: vec![history(dir.path())],
        config: None,
        incident: None,
        baseline: None,
        from: Some("2026-11-02T10:12:00Z".to_string()),
        to: Some("2026-11-02T10:16:00Z".to_string()),
        before: Duration::from_secs(600),
        out: out.clone(),
    })
    .expect("report");
    let bytes = std::fs::read(&out).expect("written");
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
}
