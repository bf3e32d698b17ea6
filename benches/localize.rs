//! Root-cause localization: accuracy and time on the synthetic suite.
//!
//! `cargo bench --bench localize` prints, per setting (dimensions, number of
//! root causes, their layer), the exact-match micro-F1 over the cases and the
//! median time per case, then the totals. Every case has ~20,000 leaves.
//! Arguments: cases per setting (default 10); `small` for expected values
//! around 3 per leaf instead of 30; `mild` for severity 1.3–1.6× instead of 2–4×.

use std::time::Instant;
use swipewatch_diagnose::synthetic::{generate, Rng, Setting};
use swipewatch_diagnose::{localize, Element, Params};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cases: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(10);
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
                let (mut tp, mut fp, mut fneg) = (0, 0, 0);
                let mut times = Vec::new();
                for _ in 0..cases {
                    let case = generate(&s, &mut rng);
                    let start = Instant::now();
                    let found = localize(&case.input(), &Params::default());
                    times.push(start.elapsed().as_secs_f64() * 1000.0);
                    let found: Vec<Element> = found.into_iter().map(|l| l.element).collect();
                    let hit = found.iter().filter(|e| case.truth.contains(e)).count();
                    tp += hit;
                    fp += found.len() - hit;
                    fneg += case.truth.len() - hit;
                }
                times.sort_by(f64::total_cmp);
                let median = times[times.len() / 2];
                let f1 = 2.0 * tp as f64 / (2 * tp + fp + fneg).max(1) as f64;
                println!("| {name} | {leaves} | {causes} | {layer} | {f1:.3} | {median:.1} |");
                f1s.push(f1);
                all_times.extend(times);
                tp_all += tp;
                fp_all += fp;
                fn_all += fneg;
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
