use super::*;
use crate::synthetic::{generate, Rng, Setting};
use proptest::prelude::*;

/// Localizes a small hand-written table of `(codes, real, forecast)` rows.
fn elements_of(rows: &[(&[u32], f64, f64)]) -> Vec<Element> {
    let values: Vec<u32> = rows.iter().flat_map(|r| r.0.iter().copied()).collect();
    let real: Vec<f64> = rows.iter().map(|r| r.1).collect();
    let forecast: Vec<f64> = rows.iter().map(|r| r.2).collect();
    let t = LeafInput {
        dims: rows[0].0.len(),
        values: &values,
        real: &real,
        forecast: &forecast,
    };
    localize(&t, &Params::default())
        .into_iter()
        .map(|l| l.element)
        .collect()
}

#[test]
fn a_single_value_cause_is_found_over_its_children() {
    // Dimension 0 value 1 fails 5x on both values of dimension 1.
    let found = elements_of(&[
        (&[0, 0], 100.0, 100.0),
        (&[0, 1], 98.0, 100.0),
        (&[1, 0], 500.0, 100.0),
        (&[1, 1], 510.0, 100.0),
        (&[2, 0], 103.0, 100.0),
        (&[2, 1], 99.0, 100.0),
    ]);
    assert_eq!(found, vec![Element(vec![(0, 1)])]);
}

#[test]
fn a_combination_is_found_over_its_parents() {
    // Only (1, 1) is broken: neither dimension alone explains it.
    let found = elements_of(&[
        (&[0, 0], 100.0, 100.0),
        (&[0, 1], 101.0, 100.0),
        (&[1, 0], 99.0, 100.0),
        (&[1, 1], 700.0, 100.0),
        (&[2, 0], 100.0, 100.0),
        (&[2, 1], 102.0, 100.0),
    ]);
    assert_eq!(found, vec![Element(vec![(0, 1), (1, 1)])]);
}

#[test]
fn noise_alone_localizes_nothing() {
    let mut rng = Rng::new(3);
    let s = Setting {
        cardinalities: vec![10, 8, 6, 5],
        median: 50.0,
        causes: 0,
        layer: 1,
        severity: (0.0, 0.0),
        forecast_noise: 0.02,
    };
    let case = generate(&s, &mut rng);
    assert!(localize(&case.input(), &Params::default()).is_empty());
}

fn f1(settings: &[Setting], cases: usize, seed: u64) -> (f64, usize, usize, usize) {
    let (mut tp, mut fp, mut fneg) = (0, 0, 0);
    let mut rng = Rng::new(seed);
    for s in settings {
        for _ in 0..cases {
            let case = generate(s, &mut rng);
            let found: Vec<Element> = localize(&case.input(), &Params::default())
                .into_iter()
                .map(|l| l.element)
                .collect();
            let hit = found.iter().filter(|e| case.truth.contains(e)).count();
            tp += hit;
            fp += found.len() - hit;
            fneg += case.truth.len() - hit;
        }
    }
    let f1 = 2.0 * tp as f64 / (2 * tp + fp + fneg).max(1) as f64;
    (f1, tp, fp, fneg)
}

#[test]
fn synthetic_suite_scores_high_exact_match_f1() {
    // A small version of the suite (the full one runs in the bench).
    let mut settings = Vec::new();
    for causes in 1..=3 {
        for layer in 1..=3 {
            settings.push(Setting {
                cardinalities: vec![8, 7, 6, 5],
                median: 30.0,
                causes,
                layer,
                severity: (1.0, 3.0),
                forecast_noise: 0.05,
            });
        }
    }
    let (f1, tp, fp, fneg) = f1(&settings, 4, 11);
    assert!(f1 >= 0.9, "F1 {f1:.3} (tp {tp}, fp {fp}, fn {fneg})");
}

proptest! {
    #[test]
    fn explained_shares_and_the_remainder_sum_to_the_total_excess(seed in 0u64..10_000, causes in 1usize..=3, layer in 1usize..=3) {
        let mut rng = Rng::new(seed);
        let s = Setting { cardinalities: vec![5, 4, 3], median: 20.0, causes, layer, severity: (1.0, 3.0), forecast_noise: 0.05 };
        let case = generate(&s, &mut rng);
        let t = case.input();
        let found = localize(&t, &Params::default());
        // Replay the folds to get the final expectation.
        let mut expected = case.forecast.clone();
        for l in &found {
            let r = l.real / l.expected;
            for (i, e) in expected.iter_mut().enumerate() {
                if l.element.contains(&t, i) {
                    *e *= r;
                }
            }
        }
        let total: f64 = case.real.iter().sum::<f64>() - case.forecast.iter().sum::<f64>();
        let remainder: f64 = case.real.iter().sum::<f64>() - expected.iter().sum::<f64>();
        let shares: f64 = found.iter().map(|l| l.excess_share).sum();
        prop_assume!(total.abs() > 1.0);
        prop_assert!((shares + remainder / total - 1.0).abs() < 1e-9, "shares {shares} remainder {}", remainder / total);
    }

    #[test]
    fn localization_is_deterministic(seed in 0u64..10_000) {
        let mut rng = Rng::new(seed);
        let s = Setting { cardinalities: vec![6, 5, 4], median: 20.0, causes: 2, layer: 2, severity: (1.0, 3.0), forecast_noise: 0.05 };
        let case = generate(&s, &mut rng);
        let a = localize(&case.input(), &Params::default());
        let b = localize(&case.input(), &Params::default());
        prop_assert_eq!(a, b);
    }
}
