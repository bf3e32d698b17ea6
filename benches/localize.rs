//! Root-cause localization: accuracy and time on the synthetic suite.
//!
//! `cargo bench --bench localize` prints, per setting (dimensions, number of
//! root causes, their layer), the exact-match micro-F1 over the cases and the
//! median time per case, then the totals. Every case has ~20,000 leaves.
//! Arguments: cases per setting (default 10); `small` for expected values
//! around 3 per leaf instead of 30; `mild` for severity 1.3–1.6× instead of 2–4×.
//!
//! `cargo bench --bench localize -- growth [cases]` instead times how
//! localization grows: 3 to 6 dimensions of equal cardinality, from about
//! 1,000 to about 80,000 leaves, two layer-2 causes per case.

use std::time::Instant;
use swipewatch_diagnose::synthetic::{generate, Rng, Setting};
use swipewatch_diagnose::{localize, Params};

/// Times (ms, sorted) and matches of a setting's cases.
struct Scored {
    times: Vec<f64>,
    tp: usize,
    fp: usize,
    fneg: usize,
}

impl Scored {
    fn median(&self) -> f64 {
        self.times[self.times.len() / 2]
    }
    fn f1(&self) -> f64 {
        2.0 * self.tp as f64 / (2 * self.tp + self.fp + self.fneg).max(1) as f64
    }
}

/// Localizes `cases` cases of `s`, timing each.
fn run(s: &Setting, cases: usize, rng: &mut Rng) -> Scored {
    let mut out = Scored {
        times: Vec::new(),
        tp: 0,
        fp: 0,
        fneg: 0,
    };
    for _ in 0..cases {
        let case = generate(s, rng);
        let start = Instant::now();
        let found = localize(&case.input(), &Params::default());
        out.times.push(start.elapsed().as_secs_f64() * 1000.0);
        let hit = found
            .iter()
            .filter(|l| case.truth.contains(&l.element))
            .count();
        out.tp += hit;
        out.fp += found.len() - hit;
        out.fneg += case.truth.len() - hit;
    }
    out.times.sort_by(f64::total_cmp);
    out
}

/// Localization time by number of dimensions and leaves.
fn growth(cases: usize) {
    println!("| dims | cardinality | leaves | median ms/case | µs per leaf | F1 |");
    println!("|---|---|---|---|---|---|");
    let mut rng = Rng::new(20_261_125);
    for dims in 3..=6u32 {
        for target in [1_000f64, 5_000.0, 20_000.0, 80_000.0] {
            let c = target.powf(1.0 / f64::from(dims)).round().max(2.0) as u32;
            let s = Setting {
                cardinalities: vec![c; dims as usize],
                median: 30.0,
                causes: 2,
                layer: 2,
                severity: (1.0, 3.0),
                forecast_noise: 0.05,
            };
            let leaves = c.pow(dims);
            let r = run(&s, cases, &mut rng);
            let ms = r.median();
            println!(
                "| {dims} | {c} | {leaves} | {ms:.1} | {:.2} | {:.3} |",
                ms * 1000.0 / f64::from(leaves),
                r.f1()
            );
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cases: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(10);
    if args.iter().any(|a| a == "growth") {
        growth(cases);
        return;
    }
    let median = if args.iter().any(|a| a == "small") {
        3.0
    } else {
        30.0
    };
    let severity = if args.iter().any(|a| a == "mild") {
        (0.3, 0.6)
    } else {
        (1.0, 3.0)
    };
    println!(
        "expected per leaf ~{median}, severity {:.1}-{:.1}x\n",
        1.0 + severity.0,
        1.0 + severity.1
    );
    let shapes: [(&str, Vec<u32>); 3] = [
        ("4 dims", vec![12, 12, 12, 12]),
        ("5 dims", vec![8, 8, 7, 7, 7]),
        ("6 dims", vec![6, 6, 5, 5, 5, 4]),
    ];
    println!("| dims | leaves | causes | layer | F1 | median ms/case |");
    println!("|---|---|---|---|---|---|");
    let mut rng = Rng::new(20_261_124);
    let (mut tp_all, mut fp_all, mut fn_all) = (0usize, 0usize, 0usize);
    let mut all_times = Vec::new();
    let mut f1s = Vec::new();
    for (name, card) in &shapes {
        let leaves: u32 = card.iter().product();
        for causes in 1..=3 {
            for layer in 1..=3 {
                let s = Setting {
                    cardinalities: card.clone(),
                    median,
                    causes,
                    layer,
                    severity,
                    forecast_noise: 0.05,
                };
                let r = run(&s, cases, &mut rng);
                let (median, f1) = (r.median(), r.f1());
                println!("| {name} | {leaves} | {causes} | {layer} | {f1:.3} | {median:.1} |");
                f1s.push(f1);
                all_times.extend(r.times);
                tp_all += r.tp;
                fp_all += r.fp;
                fn_all += r.fneg;
            }
        }
    }
    all_times.sort_by(f64::total_cmp);
    let micro = 2.0 * tp_all as f64 / (2 * tp_all + fp_all + fn_all).max(1) as f64;
    let mean = f1s.iter().sum::<f64>() / f1s.len() as f64;
    println!(
        "\nall settings: micro-F1 {micro:.3}, mean of per-setting F1 {mean:.3} (tp {tp_all}, fp {fp_all}, fn {fn_all}); median {:.1} ms, p90 {:.1} ms, max {:.1} ms per case ({} cases)",
        all_times[all_times.len() / 2],
        all_times[all_times.len() * 9 / 10],
        all_times[all_times.len() - 1],
        all_times.len()
    );
}
