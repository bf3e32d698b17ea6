use super::*;
use proptest::prelude::*;
use swipewatch_leafgen::{generate, Case, Rng, Setting};

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

/// A full grid of `cards`, forecast 100 per leaf (± a little, by position),
/// real scaled by the factor of each of `causes` it lies under.
fn grid(cards: &[u32], causes: &[(&[(usize, u32)], f64)]) -> (Vec<u32>, Vec<f64>, Vec<f64>) {
    let n: usize = cards.iter().map(|&c| c as usize).product();
    let mut values = Vec::new();
    let mut real = Vec::new();
    let mut forecast = Vec::new();
    for i in 0..n {
        let mut rest = i;
        let codes: Vec<u32> = cards
            .iter()
            .map(|&c| {
                let v = (rest % c as usize) as u32;
                rest /= c as usize;
                v
            })
            .collect();
        let f = 100.0 + (i % 7) as f64 * 10.0;
        let wobble = [0.0, 3.0, -4.0, 2.0, -1.0][i % 5];
        // Overlapping causes compose.
        let factor: f64 = causes
            .iter()
            .filter(|(e, _)| e.iter().all(|&(d, v)| codes[d] == v))
            .map(|c| c.1)
            .product();
        real.push((f * factor + wobble).round().max(0.0));
        forecast.push(f);
        values.extend(codes);
    }
    (values, real, forecast)
}

fn found_in(cards: &[u32], causes: &[(&[(usize, u32)], f64)]) -> Vec<Element> {
    let (values, real, forecast) = grid(cards, causes);
    let t = LeafInput {
        dims: cards.len(),
        values: &values,
        real: &real,
        forecast: &forecast,
    };
    let mut found: Vec<Element> = localize(&t, &Params::default())
        .into_iter()
        .map(|l| l.element)
        .collect();
    found.sort();
    found
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
fn a_drop_is_localized_like_a_rise() {
    let found = found_in(&[6, 5, 4], &[(&[(1, 2)], 0.3)]);
    assert_eq!(found, vec![Element(vec![(1, 2)])]);
}

#[test]
fn a_complete_drop_to_zero_is_localized() {
    let found = found_in(&[8, 6, 5], &[(&[(0, 3), (2, 1)], 0.0)]);
    assert_eq!(found, vec![Element(vec![(0, 3), (2, 1)])]);
}

#[test]
fn one_table_can_hold_a_rise_and_a_drop() {
    let found = found_in(&[6, 5, 4], &[(&[(0, 1)], 2.0), (&[(2, 3)], 0.4)]);
    assert_eq!(found, vec![Element(vec![(0, 1)]), Element(vec![(2, 3)])]);
}

#[test]
fn a_direction_limits_what_is_found() {
    let (values, real, forecast) = grid(&[6, 5, 4], &[(&[(0, 1)], 2.0), (&[(2, 3)], 0.4)]);
    let t = LeafInput {
        dims: 3,
        values: &values,
        real: &real,
        forecast: &forecast,
    };
    for (direction, want) in [
        (Direction::Rise, Element(vec![(0, 1)])),
        (Direction::Drop, Element(vec![(2, 3)])),
    ] {
        let p = Params {
            direction,
            ..Params::default()
        };
        let found: Vec<Element> = localize(&t, &p).into_iter().map(|l| l.element).collect();
        assert_eq!(found, vec![want]);
    }
}

#[test]
fn two_siblings_are_named_rather_than_their_parent() {
    // Two of the four children of (0, 2) along dimension 1 dropped.
    let found = found_in(
        &[5, 4, 6],
        &[(&[(0, 2), (1, 0)], 0.3), (&[(0, 2), (1, 3)], 0.3)],
    );
    assert_eq!(
        found,
        vec![Element(vec![(0, 2), (1, 0)]), Element(vec![(0, 2), (1, 3)])]
    );
}

#[test]
fn sixteen_dimensions_with_large_codes_are_searched() {
    let cards = [3u32, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 4];
    let mut found = found_in(&cards, &[(&[(15, 2)], 3.0)]);
    assert_eq!(found, vec![Element(vec![(15, 2)])]);
    // The same with codes far apart.
    let (mut values, real, forecast) = grid(&cards, &[(&[(15, 2)], 3.0)]);
    for v in &mut values {
        *v = v.wrapping_mul(2_654_435_761).wrapping_add(u32::MAX / 3);
    }
    let t = LeafInput {
        dims: 16,
        values: &values,
        real: &real,
        forecast: &forecast,
    };
    found = localize(&t, &Params::default())
        .into_iter()
        .map(|l| l.element)
        .collect();
    let code = 2u32.wrapping_mul(2_654_435_761).wrapping_add(u32::MAX / 3);
    assert_eq!(found, vec![Element(vec![(15, code)])]);
}

#[test]
fn failures_appearing_where_none_were_expected_are_localized() {
    // A 6 × 5 × 4 table of small counts; under (0, 4) the forecast is zero
    // but failures appear.
    let (values, mut real, mut forecast) = grid(&[6, 5, 4], &[]);
    for i in 0..real.len() {
        forecast[i] = (i % 3) as f64;
        real[i] = forecast[i];
        if values[i * 3] == 4 {
            forecast[i] = 0.0;
            real[i] = 6.0;
        }
    }
    let t = LeafInput {
        dims: 3,
        values: &values,
        real: &real,
        forecast: &forecast,
    };
    let found: Vec<Element> = localize(&t, &Params::default())
        .into_iter()
        .map(|l| l.element)
        .collect();
    assert_eq!(found, vec![Element(vec![(0, 4)])]);
}

/// Carrier × region × link (most of it on the first link): a few failures
/// under carrier 0 in region 0, all on the large link, none on the small
/// one, whose forecast is `small_link_forecast` there.
fn few_failures_on_the_larger_part(small_link_forecast: f64) -> Vec<Element> {
    let mut rows: Vec<([u32; 3], f64, f64)> = Vec::new();
    for carrier in 0..4 {
        for region in 0..4 {
            let hit = carrier == 0 && region == 0;
            rows.push(([carrier, region, 0], if hit { 8.0 } else { 0.0 }, 0.1));
            let small = if hit { small_link_forecast } else { 0.025 };
            rows.push(([carrier, region, 1], 0.0, small));
        }
    }
    let values: Vec<u32> = rows.iter().flat_map(|r| r.0).collect();
    let real: Vec<f64> = rows.iter().map(|r| r.1).collect();
    let forecast: Vec<f64> = rows.iter().map(|r| r.2).collect();
    let t = LeafInput {
        dims: 3,
        values: &values,
        real: &real,
        forecast: &forecast,
    };
    localize(&t, &Params::live())
        .into_iter()
        .map(|l| l.element)
        .collect()
}

#[test]
fn few_failures_all_in_the_larger_part_name_the_whole_unless_the_rest_was_spared() {
    // The small link expected too little to show (2 failures at the
    // element's rate): the element is carrier 0 in region 0.
    assert_eq!(
        few_failures_on_the_larger_part(0.025),
        vec![Element(vec![(0, 0), (1, 0)])]
    );
    // Expected 0.1 there, so 8 failures at the element's rate, and none
    // came: the large link alone failed.
    assert_eq!(
        few_failures_on_the_larger_part(0.1),
        vec![Element(vec![(0, 0), (1, 0), (2, 0)])]
    );
}

#[test]
fn noise_alone_localizes_nothing() {
    let mut rng = Rng::new(3);
    for small in [false, true] {
        for _ in 0..5 {
            let mut s = if small {
                Setting::small(1, 1)
            } else {
                Setting::standard(1, 1)
            };
            s.elements = 0;
            let case = generate(&s, &mut rng);
            let found = localize(&input(&case), &Params::default());
            assert!(found.is_empty(), "small {small}: {found:?}");
        }
    }
}

#[test]
fn bad_tables_give_nothing() {
    let values = [0u32, 1, 0, 1];
    for (real, forecast) in [
        (vec![1.0, f64::NAN], vec![1.0, 1.0]),
        (vec![1.0, -3.0], vec![1.0, 1.0]),
        (vec![1.0], vec![1.0, 1.0]),
    ] {
        let t = LeafInput {
            dims: 2,
            values: &values,
            real: &real,
            forecast: &forecast,
        };
        assert!(localize(&t, &Params::default()).is_empty());
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

fn truth(case: &Case) -> Vec<Element> {
    case.truth.iter().map(|e| Element(e.clone())).collect()
}

#[test]
fn generated_cases_of_every_layer_and_size_score_high_exact_match_f1() {
    // A small version of the suite (the full one runs in the bench).
    let (mut tp, mut fp, mut fneg) = (0, 0, 0);
    let mut rng = Rng::new(11);
    for layer in 1..=3 {
        for elements in 1..=3 {
            for _ in 0..3 {
                let mut s = Setting::standard(layer, elements);
                s.max_leaves = 5_000;
                let case = generate(&s, &mut rng);
                let want = truth(&case);
                let found: Vec<Element> = localize(&input(&case), &Params::default())
                    .into_iter()
                    .map(|l| l.element)
                    .collect();
                let hit = found.iter().filter(|e| want.contains(e)).count();
                tp += hit;
                fp += found.len() - hit;
                fneg += want.len() - hit;
            }
        }
    }
    let f1 = 2.0 * tp as f64 / (2 * tp + fp + fneg).max(1) as f64;
    assert!(f1 >= 0.9, "F1 {f1:.3} (tp {tp}, fp {fp}, fn {fneg})");
}

fn small_case(seed: u64, layer: usize, elements: usize) -> Case {
    let mut rng = Rng::new(seed);
    let mut s = Setting::standard(layer, elements);
    s.dims = (3, 4);
    s.cardinality = (3, 6);
    generate(&s, &mut rng)
}

proptest! {
    #[test]
    fn explained_shares_and_the_remainder_sum_to_the_total_deviation(seed in 0u64..10_000, elements in 1usize..=3, layer in 1usize..=2) {
        let mut case = small_case(seed, layer, elements);
        // Positive forecasts, so that no floor applies.
        for f in &mut case.forecast {
            *f += 1.0;
        }
        let t = input(&case);
        let found = localize(&t, &Params::default());
        // Replay the folds to get the final expectation.
        let mut expected = case.forecast.clone();
        let mut open = vec![true; expected.len()];
        for l in &found {
            let r = l.real / l.expected;
            for (i, e) in expected.iter_mut().enumerate() {
                if open[i] && l.element.contains(&t, i) {
                    *e *= r;
                    open[i] = false;
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
    fn row_order_and_value_spelling_do_not_change_the_answer(seed in 0u64..10_000, elements in 1usize..=2, layer in 1usize..=2, salt in 1u32..1_000_000) {
        let case = small_case(seed, layer, elements);
        let a = localize(&input(&case), &Params::default());
        // Shuffle the rows and respell every value (an injective map).
        let mut rng = Rng::new(seed ^ 0xABCD);
        let order = rng.shuffled(case.real.len());
        let spell = |v: u32| v.wrapping_mul(2 * salt + 1).wrapping_add(salt);
        let mut shuffled = case.clone();
        for (to, &from) in order.iter().enumerate() {
            shuffled.real[to] = case.real[from];
            shuffled.forecast[to] = case.forecast[from];
            for d in 0..case.dims {
                shuffled.values[to * case.dims + d] = spell(case.values[from * case.dims + d]);
            }
        }
        let b = localize(&input(&shuffled), &Params::default());
        let respelled: Vec<Element> = a
            .iter()
            .map(|l| Element(l.element.0.iter().map(|&(d, v)| (d, spell(v))).collect()))
            .collect();
        let got: Vec<Element> = b.into_iter().map(|l| l.element).collect();
        prop_assert_eq!(respelled, got);
    }

    #[test]
    fn a_table_at_its_forecast_gives_an_empty_answer(seed in 0u64..10_000) {
        let mut case = small_case(seed, 1, 1);
        case.real = case.forecast.clone();
        prop_assert!(localize(&input(&case), &Params::default()).is_empty());
    }
}
