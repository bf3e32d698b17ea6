//! Root-cause localization: accuracy and time on semi-synthetic leaf tables
//! from `swipewatch-leafgen` (a generator kept apart from the localizer).
//!
//! `cargo bench -p swipewatch-diagnose --bench localize -- [cases] [standard|small]` runs the nine
//! settings (layer 1–3 × 1–3 elements) with `cases` cases each (default
//! 100), half drops and half rises, and prints per setting the exact-match
//! micro-F1, the median time per case, and how the wrong answers relate to
//! the truth (a parent, a child, or another element). `standard` is
//! RiskLoc-like heavy-tailed values (the default); `small` is small counts,
//! forecast error up to 25 % and causes that change only part of their
//! leaves; `noisy` is the standard regime with forecast error up to 25 %,
//! a per-leaf spread of the change up to 0.2 and 80–100 % of a cause's
//! leaves changed; `deep` is 5 dimensions of 5–12 values (up to 50,000
//! leaves) with causes in layers 1–4; `minutes` is per-minute counts
//! (about 2 attempts per leaf and minute, 0.5–6 % background failures, 30
//! minutes of history, 2 of incident) explained against each leaf's
//! history, with a few failures per failing leaf. `layers=N` sets the localizer's
//! deepest layer, `elements=N` the most elements it returns.
//! `LOCALIZE_VERBOSE=1` prints each case's truth and answers (and with
//! `LOCALIZE_LEAVES=1` the leaves of the truth), for looking into misses.
//!
//! `cargo bench -p swipewatch-diagnose --bench localize -- write=DIR [cases]` writes
//! standard cases as CSV files with their truth, for timing `swipetool
//! explain` as a whole process.
//!
//! `cargo bench -p swipewatch-diagnose --bench localize -- growth [cases]` instead times how
//! localization grows: 3 to 6 dimensions of equal cardinality, from about
//! 1,000 to about 80,000 leaves, two layer-2 causes per case.

use std::time::Instant;
use swipewatch_diagnose::localize::series::{expected_failures, Tally};
use swipewatch_diagnose::{localize, Element, LeafInput, Params};
use swipewatch_leafgen::{generate, minutes, Case, MinuteCase, Minutes, Rng, Setting};

/// Matches, wrong answers by kind, and times of a setting's cases.
#[derive(Default)]
struct Scored {
    times: Vec<f64>,
    tp: usize,
    fp: usize,
    fneg: usize,
    /// Wrong answers that are a parent of a true element.
    parent: usize,
    /// Wrong answers that are a child of a true element.
    child: usize,
    /// Per direction (drop, rise): tp, fp, fn.
    by_way: [[usize; 3]; 2],
}

impl Scored {
    fn median(&self) -> f64 {
        let mut t = self.times.clone();
        t.sort_by(f64::total_cmp);
        t.get(t.len() / 2).copied().unwrap_or(0.0)
    }
    fn f1(tp: usize, fp: usize, fneg: usize) -> f64 {
        2.0 * tp as f64 / (2 * tp + fp + fneg).max(1) as f64
    }
    fn add(&mut self, o: &Scored) {
        self.times.extend(&o.times);
        self.tp += o.tp;
        self.fp += o.fp;
        self.fneg += o.fneg;
        self.parent += o.parent;
        self.child += o.child;
        for w in 0..2 {
            for k in 0..3 {
                self.by_way[w][k] += o.by_way[w][k];
            }
        }
    }
}

fn input(case: &Case) -> LeafInput<'_> {
    LeafInput {
        dims: case.dims,
        values: &case.values,
        real: &case.real,
        forecast: &case.forecast,
    }
}

/// True when every pair of `a` is in `b`.
fn covers(a: &Element, b: &Element) -> bool {
    a.0.iter().all(|p| b.0.contains(p))
}

/// A per-minute case as a leaf table: the incident's failures against
/// what each leaf's history leads to expect (as `swipetool explain --time`
/// and the live detector expect them).
fn minute_table(m: &MinuteCase) -> Case {
    let tally = |v: &[(f64, f64)]| -> Vec<Tally> {
        v.iter()
            .map(|&(failures, attempts)| Tally { failures, attempts })
            .collect()
    };
    Case {
        dims: m.dims,
        cardinalities: Vec::new(),
        values: m.values.clone(),
        real: m.now.iter().map(|x| x.0).collect(),
        forecast: expected_failures(&tally(&m.past), &tally(&m.now), 200.0),
        truth: m.truth.clone(),
        rise: true,
    }
}

/// Localizes `cases` cases made by `make`, timing each.
fn run(make: &mut dyn FnMut(&mut Rng) -> Case, cases: usize, rng: &mut Rng, p: &Params) -> Scored {
    let mut out = Scored::default();
    for _ in 0..cases {
        let case = make(rng);
        let start = Instant::now();
        let found = localize(&input(&case), p);
        out.times.push(start.elapsed().as_secs_f64() * 1000.0);
        let truth: Vec<Element> = case.truth.iter().map(|e| Element(e.clone())).collect();
        if std::env::var_os("LOCALIZE_VERBOSE").is_some() {
            println!(
                "truth {:?} rise {} leaves {} dims {:?}",
                truth,
                case.rise,
                case.real.len(),
                case.cardinalities
            );
            if std::env::var_os("LOCALIZE_LEAVES").is_some() {
                for e in &case.truth {
                    for i in 0..case.real.len() {
                        if case.under(e, i) {
                            println!(
                                "    leaf {:?} real {:.1} forecast {:.1}",
                                &case.values[i * case.dims..(i + 1) * case.dims],
                                case.real[i],
                                case.forecast[i]
                            );
                        }
                    }
                }
            }
            for l in &found {
                println!(
                    "  {:?} gain {:.0} real {:.0} exp {:.0} {}",
                    l.element.0,
                    l.score,
                    l.real,
                    l.expected,
                    if truth.contains(&l.element) {
                        "ok"
                    } else {
                        "WRONG"
                    }
                );
            }
        }
        let hit = found.iter().filter(|l| truth.contains(&l.element)).count();
        for l in found.iter().filter(|l| !truth.contains(&l.element)) {
            if truth.iter().any(|t| covers(&l.element, t)) {
                out.parent += 1;
            } else if truth.iter().any(|t| covers(t, &l.element)) {
                out.child += 1;
            }
        }
        let (fp, fneg) = (found.len() - hit, truth.len() - hit);
        out.tp += hit;
        out.fp += fp;
        out.fneg += fneg;
        let w = &mut out.by_way[usize::from(case.rise)];
        w[0] += hit;
        w[1] += fp;
        w[2] += fneg;
    }
    out
}

/// Localization time by number of dimensions and leaves.
fn growth(cases: usize) {
    println!("| dims | cardinality | leaves | median ms/case | µs per leaf | F1 |");
    println!("|---|---|---|---|---|---|");
    let mut rng = Rng::new(20_261_203);
    for dims in 3..=6usize {
        for target in [1_000f64, 5_000.0, 20_000.0, 80_000.0] {
            let c = target.powf(1.0 / dims as f64).round().max(2.0) as u32;
            let leaves = (c as usize).pow(dims as u32);
            let s = Setting {
                dims: (dims, dims),
                cardinality: (c, c),
                max_leaves: leaves,
                ..Setting::standard(2, 2)
            };
            let r = run(
                &mut |rng| generate(&s, rng),
                cases,
                &mut rng,
                &Params::default(),
            );
            let ms = r.median();
            println!(
                "| {dims} | {c} | {leaves} | {ms:.1} | {:.2} | {:.3} |",
                ms * 1000.0 / leaves as f64,
                Scored::f1(r.tp, r.fp, r.fneg)
            );
        }
    }
}

/// Writes `cases` standard cases (the nine settings in turn) as CSV leaf
/// tables `case-N.csv` (columns `d0..dk`, `real`, `predict`) with the
/// truth of each in `truth.txt` (`case-N.csv a=x&b=y;c=z` per line), for
/// timing `swipetool explain` as a whole process.
fn write_cases(dir: &std::path::Path, cases: usize) {
    use std::fmt::Write as _;
    std::fs::create_dir_all(dir).expect("create the directory");
    let mut rng = Rng::new(20_261_208);
    let mut truth = String::new();
    for k in 0..cases {
        let s = Setting::standard(1 + k % 3, 1 + (k / 3) % 3);
        let case = generate(&s, &mut rng);
        let mut text = String::new();
        let names: Vec<String> = (0..case.dims).map(|d| format!("d{d}")).collect();
        writeln!(text, "{},real,predict", names.join(",")).expect("write");
        for i in 0..case.real.len() {
            for d in 0..case.dims {
                write!(text, "v{},", case.values[i * case.dims + d]).expect("write");
            }
            writeln!(text, "{},{}", case.real[i], case.forecast[i]).expect("write");
        }
        let name = format!("case-{k}.csv");
        std::fs::write(dir.join(&name), text).expect("write a case");
        let elements: Vec<String> = case
            .truth
            .iter()
            .map(|e| {
                e.iter()
                    .map(|&(d, v)| format!("d{d}=v{v}"))
                    .collect::<Vec<_>>()
                    .join("&")
            })
            .collect();
        writeln!(truth, "{name} {} {}", names.join(","), elements.join(";")).expect("write");
    }
    std::fs::write(dir.join("truth.txt"), truth).expect("write the truth");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = args.iter().find_map(|a| a.parse::<usize>().ok());
    if args.iter().any(|a| a == "growth") {
        growth(number.unwrap_or(10));
        return;
    }
    let cases = number.unwrap_or(100);
    if let Some(dir) = args.iter().find_map(|a| a.strip_prefix("write=")) {
        write_cases(std::path::Path::new(dir), cases);
        return;
    }
    let regime = ["small", "noisy", "deep", "minutes"]
        .into_iter()
        .find(|r| args.iter().any(|a| a == r))
        .unwrap_or("standard");
    let mut p = Params::default();
    if let Some(l) = args.iter().find_map(|a| a.strip_prefix("layers=")) {
        p.max_layer = l.parse().unwrap_or(p.max_layer);
    }
    if let Some(e) = args.iter().find_map(|a| a.strip_prefix("elements=")) {
        p.max_elements = e.parse().unwrap_or(p.max_elements);
    }
    println!(
        "regime: {regime}, {cases} cases per setting, max layer {}\n",
        p.max_layer
    );
    println!("| layer | elements | F1 | F1 drops | F1 rises | wrong: parent | wrong: child | wrong: other | missed | median ms/case |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut rng = Rng::new(match regime {
        "small" => 20_261_204,
        "noisy" => 20_261_205,
        "deep" => 20_261_206,
        "minutes" => 20_261_207,
        _ => 20_261_203,
    });
    let mut all = Scored::default();
    let mut worst = f64::INFINITY;
    let layers = if regime == "deep" { 1..=4 } else { 1..=3 };
    for layer in layers {
        for elements in 1..=3 {
            let s = match regime {
                "small" => Setting::small(layer, elements),
                "noisy" => Setting {
                    forecast_noise: (0.0, 0.25),
                    spread: (0.0, 0.2),
                    affected: (0.8, 1.0),
                    ..Setting::standard(layer, elements)
                },
                "deep" => Setting {
                    dims: (5, 5),
                    cardinality: (5, 12),
                    max_leaves: 50_000,
                    ..Setting::standard(layer, elements)
                },
                _ => Setting::standard(layer, elements),
            };
            let r = if regime == "minutes" {
                let m = Minutes {
                    layer,
                    elements,
                    history: 30,
                    incident: 2,
                    attempts: 2.0,
                };
                run(
                    &mut |rng| minute_table(&minutes(&m, rng)),
                    cases,
                    &mut rng,
                    &p,
                )
            } else {
                run(&mut |rng| generate(&s, rng), cases, &mut rng, &p)
            };
            let f1 = Scored::f1(r.tp, r.fp, r.fneg);
            worst = worst.min(f1);
            let way = |w: usize| Scored::f1(r.by_way[w][0], r.by_way[w][1], r.by_way[w][2]);
            println!(
                "| {layer} | {elements} | {f1:.3} | {:.3} | {:.3} | {} | {} | {} | {} | {:.1} |",
                way(0),
                way(1),
                r.parent,
                r.child,
                r.fp - r.parent - r.child,
                r.fneg,
                r.median()
            );
            all.add(&r);
        }
    }
    let way = |w: usize| Scored::f1(all.by_way[w][0], all.by_way[w][1], all.by_way[w][2]);
    println!(
        "| all | | **{:.3}** | {:.3} | {:.3} | {} | {} | {} | {} | {:.1} |",
        Scored::f1(all.tp, all.fp, all.fneg),
        way(0),
        way(1),
        all.parent,
        all.child,
        all.fp - all.parent - all.child,
        all.fneg,
        all.median()
    );
    println!(
        "\nworst setting F1 {worst:.3}; parent/child share of answers: {:.3}",
        (all.parent + all.child) as f64 / (all.tp + all.fp).max(1) as f64
    );
}
