//! `swipetool explain` as a whole process: what an operator sees.

use std::process::Command;

fn explain(dir: &std::path::Path, text: &str) -> std::process::Output {
    let path = dir.join("leaves.csv");
    std::fs::write(&path, text).expect("write");
    Command::new(env!("CARGO_BIN_EXE_swipetool"))
        .args(["explain", "--input"])
        .arg(&path)
        .args(["--dims", "a,b"])
        .output()
        .expect("run swipetool")
}

#[test]
fn a_bad_leaf_file_gets_one_line_naming_file_row_and_column_and_exit_code_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (text, want) in [
        (
            "a,b,real,predict\na1,b1,3,-1\n",
            "row 1, column `predict`: negative",
        ),
        (
            "a,b,real,predict\na1,b1,3,3\na1,b2,oops,3\n",
            "row 2, column `real`: not a finite number",
        ),
        ("a,b,real\na1,b1,3\n", "no column `predict`"),
        ("", "the file is empty"),
        ("a,b,real,predict\n", "only a header"),
    ] {
        let out = explain(dir.path(), text);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains("leaves.csv") && err.contains(want), "{err}");
    }
}

#[test]
fn a_drop_and_a_rise_in_one_file_are_both_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("a,b,real,predict\n");
    for a in 0..6 {
        for b in 0..5 {
            let f = 100 + 10 * ((a + b) % 4);
            let real = match (a, b) {
                (2, _) => 3 * f,
                (_, 4) => f / 4,
                _ => f,
            };
            text.push_str(&format!("a{a},b{b},{real},{f}\n"));
        }
    }
    let out = explain(dir.path(), &text);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .trim()
        .split(';')
        .map(String::from)
        .collect();
    got.sort();
    assert_eq!(got, ["a=a2", "b=b4"]);
}
