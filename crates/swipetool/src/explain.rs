//! `swipetool explain`: the live localizer run on leaf tables from files,
//! in the output format of the public root-cause benchmarks
//! (`a=a1&b=b2;c=c3`: elements separated by `;`, pairs within by `&`).

use anyhow::ensure;
use serde::Serialize;
use std::path::PathBuf;
use swipewatch_diagnose::{localize, LeafInput, Localized, Params};
use swipewatch_history::{read_leaves, LeafTable};

#[derive(Serialize)]
struct Explained {
    file: String,
    root_cause: String,
    leaves: usize,
    millis: f64,
    elements: Vec<ElementJson>,
}

#[derive(Serialize)]
struct ElementJson {
    element: String,
    score: f64,
    real: f64,
    expected: f64,
    /// `rise` or `drop`.
    direction: &'static str,
    excess_share: f64,
}

/// Runs the command.
pub fn run(
    inputs: &[PathBuf],
    dims: &[String],
    real: &str,
    forecast: &str,
    json: bool,
) -> anyhow::Result<()> {
    ensure!(!dims.is_empty(), "--dims: at least one dimension column");
    let mut seen = std::collections::HashSet::new();
    for d in dims {
        ensure!(seen.insert(d), "--dims: column `{d}` named twice");
    }
    for path in inputs {
        let table = read_leaves(path, dims, real, forecast)?;
        let started = std::time::Instant::now();
        let found = localize(
            &LeafInput {
                dims: dims.len(),
                values: &table.codes,
                real: &table.real,
                forecast: &table.forecast,
            },
            &Params::default(),
        );
        let millis = started.elapsed().as_secs_f64() * 1000.0;
        let root_cause = found
            .iter()
            .map(|l| element_text(&table, l))
            .collect::<Vec<_>>()
            .join(";");
        if json {
            let out = Explained {
                file: path.display().to_string(),
                root_cause,
                leaves: table.real.len(),
                millis,
                elements: found
                    .iter()
                    .map(|l| ElementJson {
                        element: element_text(&table, l),
                        score: l.score,
                        real: l.real,
                        expected: l.expected,
                        direction: if l.real >= l.expected { "rise" } else { "drop" },
                        excess_share: l.excess_share,
                    })
                    .collect(),
            };
            println!("{}", serde_json::to_string(&out)?);
        } else {
            println!("{root_cause}");
        }
    }
    Ok(())
}

fn element_text(table: &LeafTable, l: &Localized) -> String {
    l.element
        .0
        .iter()
        .map(|&(d, code)| {
            let value = table.names[d]
                .get(code as usize)
                .map_or("?", String::as_str);
            format!("{}={value}", table.dims[d])
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write;

    /// A 4 × 5 × 6 leaf table, flat at 100 except under `cause`, where
    /// the real value is tripled.
    fn table(cause: &[(usize, usize)]) -> String {
        let mut text = String::from("a,b,c,real,predict\n");
        for a in 0..4 {
            for b in 0..5 {
                for c in 0..6 {
                    let at = [a, b, c];
                    let hit = cause.iter().all(|&(d, v)| at[d] == v);
                    let real = if hit { 300.0 } else { 100.0 };
                    writeln!(text, "a{a},b{b},c{c},{real},100").expect("write");
                }
            }
        }
        text
    }

    fn explain_line(text: &str) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("leaves.csv");
        std::fs::write(&path, text).expect("write");
        let dims = ["a", "b", "c"].map(String::from);
        let t = read_leaves(&path, &dims, "real", "predict").expect("read");
        let found = localize(
            &LeafInput {
                dims: 3,
                values: &t.codes,
                real: &t.real,
                forecast: &t.forecast,
            },
            &Params::default(),
        );
        found
            .iter()
            .map(|l| element_text(&t, l))
            .collect::<Vec<_>>()
            .join(";")
    }

    #[test]
    fn a_two_dimension_cause_in_a_leaf_file_is_named_in_benchmark_format() {
        assert_eq!(explain_line(&table(&[(0, 2), (1, 1)])), "a=a2&b=b1");
    }

    #[test]
    fn a_one_dimension_cause_is_named_without_the_other_dimensions() {
        assert_eq!(explain_line(&table(&[(2, 4)])), "c=c4");
    }
}
