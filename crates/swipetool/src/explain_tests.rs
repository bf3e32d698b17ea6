use super::*;
use std::fmt::Write;

/// A 4 × 5 × 6 leaf table, flat at 100 except under `cause`, where the
/// real value is multiplied by `factor`.
fn table(cause: &[(usize, usize)], factor: f64) -> String {
    let mut text = String::from("a,b,c,real,predict\n");
    for a in 0..4 {
        for b in 0..5 {
            for c in 0..6 {
                let at = [a, b, c];
                let hit = cause.iter().all(|&(d, v)| at[d] == v);
                let real = if hit { 100.0 * factor } else { 100.0 };
                writeln!(text, "a{a},b{b},c{c},{real},100").expect("write");
            }
        }
    }
    text
}

fn options(path: &Path) -> Options {
    Options {
        inputs: vec![path.to_path_buf()],
        dims: ["a", "b", "c"].map(String::from).to_vec(),
        real: "real".into(),
        forecast: "predict".into(),
        ratio: None,
        time: None,
        failures: None,
        attempts: None,
        at: None,
        direction: Way::Both,
        json: false,
    }
}

fn explain_with(text: &str, set: impl Fn(&mut Options)) -> anyhow::Result<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("leaves.csv");
    std::fs::write(&path, text).expect("write");
    let mut o = options(&path);
    set(&mut o);
    let t = load(&path, &o)?;
    let found = localize(
        &LeafInput {
            dims: t.dims.len(),
            values: &t.codes,
            real: &t.real,
            forecast: &t.forecast,
        },
        &Params::default(),
    );
    Ok(found
        .iter()
        .map(|l| element_text(&t, l))
        .collect::<Vec<_>>()
        .join(";"))
}

fn explain_line(text: &str) -> String {
    explain_with(text, |_| {}).expect("explain")
}

#[test]
fn a_two_dimension_cause_in_a_leaf_file_is_named_in_benchmark_format() {
    assert_eq!(explain_line(&table(&[(0, 2), (1, 1)], 3.0)), "a=a2&b=b1");
}

#[test]
fn a_one_dimension_cause_is_named_without_the_other_dimensions() {
    assert_eq!(explain_line(&table(&[(2, 4)], 3.0)), "c=c4");
}

#[test]
fn a_drop_is_named_like_a_rise() {
    assert_eq!(explain_line(&table(&[(1, 3)], 0.2)), "b=b3");
}

#[test]
fn a_ratio_measure_is_explained_from_failures_and_attempts_on_each_side() {
    // Attempts differ per leaf; the rate doubles under b=b2 only.
    let mut text = String::from("a,b,fail,att,fail_fc,att_fc\n");
    for a in 0..5 {
        for b in 0..4 {
            let att = 1_000 + 300 * a + 100 * b;
            let rate = if b == 2 { 0.10 } else { 0.05 };
            let fail = (f64::from(att) * rate).round();
            let fail_fc = f64::from(2 * att) * 0.05;
            writeln!(text, "a{a},b{b},{fail},{att},{fail_fc},{}", 2 * att).expect("write");
        }
    }
    let got = explain_with(&text, |o| {
        o.dims = vec!["a".into(), "b".into()];
        o.ratio = Some(
            ["fail", "att", "fail_fc", "att_fc"]
                .map(String::from)
                .to_vec(),
        );
    })
    .expect("explain");
    assert_eq!(got, "b=b2");
}

#[test]
fn per_minute_counts_are_explained_against_the_minutes_before() {
    // 30 minutes of 2 % failures on every leaf, then one minute where
    // carrier c1 in region r2 fails a third of its attempts.
    let mut text = String::from("minute,region,carrier,failures,attempts\n");
    for minute in 0..31 {
        for r in 0..4 {
            for c in 0..3 {
                let attempts = 50 + 10 * r + 5 * c;
                let rate = if minute == 30 && r == 2 && c == 1 {
                    0.33
                } else {
                    0.02
                };
                // Spread failures evenly over the minutes.
                let failures = ((minute + 1) as f64 * attempts as f64 * rate).floor()
                    - (minute as f64 * attempts as f64 * rate).floor();
                let stamp = format!("2026-11-11 10:{minute:02}");
                writeln!(text, "{stamp},r{r},c{c},{failures},{attempts}").expect("write");
            }
        }
    }
    let got = explain_with(&text, |o| {
        o.dims = vec!["region".into(), "carrier".into()];
        o.time = Some("minute".into());
        o.failures = Some("failures".into());
        o.attempts = Some("attempts".into());
        o.at = Some("2026-11-11T10:30:00Z".into());
    })
    .expect("explain");
    assert_eq!(got, "region=r2&carrier=c1");
}

#[test]
fn bad_files_get_one_line_naming_the_file_row_and_column() {
    let header = "a,b,c,real,predict\n";
    for (text, want) in [
        ("a,b,c,real\na1,b1,c1,3\n", "no column `predict`"),
        (
            &*format!("{header}a1,b1,c1,x,3\n"),
            "row 1, column `real`: not a finite number",
        ),
        (
            &*format!("{header}a1,b1,c1,3,3\na1,b2,c1,-3,3\n"),
            "row 2, column `real`: negative",
        ),
        (
            &*format!("{header}a1,b1,c1,3,NaN\n"),
            "row 1, column `predict`: not a finite number",
        ),
        ("", "row 0 (header): the file is empty"),
        (header, "row 1: no leaves, only a header"),
    ] {
        let err = explain_with(text, |_| {}).expect_err(want).to_string();
        assert!(err.contains("leaves.csv") && err.contains(want), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn a_bad_time_cell_is_named_by_row_and_column() {
    let text = "t,a,f,n\n1,a1,1,10\nlater,a1,1,10\n";
    let err = explain_with(text, |o| {
        o.dims = vec!["a".into()];
        o.time = Some("t".into());
        o.failures = Some("f".into());
        o.attempts = Some("n".into());
        o.at = Some("2".into());
    })
    .expect_err("bad time");
    let err = format!("{err:#}");
    assert!(err.contains("row 2, column `t`: not a time"), "{err}");
}

#[test]
fn times_are_read_in_the_shapes_files_hold_them() {
    let at = parse_time("2026-11-11T10:30:00Z").expect("rfc 3339");
    for s in [
        "2026-11-11 10:30:00",
        "2026-11-11T10:30:00",
        "2026-11-11 10:30",
        "2026-11-11 10:30:00.000000",
    ] {
        assert_eq!(parse_time(s), Some(at), "{s}");
    }
    assert_eq!(parse_time("2026-11-11 10:30:00.5"), Some(at + 0.5));
    assert_eq!(parse_time("2026-11-11"), Some(at - 10.5 * 3600.0));
    assert_eq!(parse_time("1700000000"), Some(1.7e9));
    assert_eq!(parse_time("later"), None);
}
