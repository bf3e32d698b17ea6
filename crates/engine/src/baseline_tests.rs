use super::*;
use proptest::prelude::*;
use swipewatch_model::DimValues;

proptest! {
    /// Per bucket: attempts of each of four carriers (zero: absent),
    /// and which carriers detection flagged.
    #[test]
    fn lazily_decayed_values_match_decaying_every_value_every_bucket(
        buckets in proptest::collection::vec(
            (proptest::collection::vec(0u32..30, 4), proptest::collection::vec(any::<bool>(), 4)),
            1..60,
        ),
    ) {
        let alpha = 0.2f32;
        let mut lazy = Baselines::new(f64::from(alpha), 0.0);
        let mut eager = [0f32; 4];
        let mut index = LeafIndex::default();
        for (attempts, flagged) in &buckets {
            let mut b = Bucket::default();
            let mut dims = DimValues::default();
            for (carrier, &n) in attempts.iter().enumerate() {
                dims.set(Dim::Carrier, Sym(carrier as u32));
                for _ in 0..n {
                    b.count_outcome(&dims, OutcomeClass::Approved);
                    let leaf = index.insert(crate::counts::leaf_key(&dims, &[Dim::Carrier]));
                    b.count_leaf(leaf, OutcomeClass::Approved);
                }
            }
            let skip = Anomalies {
                values: (0..4u32)
                    .filter(|&c| flagged[c as usize])
                    .map(|c| (Dim::Carrier, Sym(c)))
                    .collect(),
                ..Anomalies::default()
            };
            b.seal();
            lazy.learn(&b, &skip, &[Dim::Carrier], &index);
            for (c, e) in eager.iter_mut().enumerate() {
                if !flagged[c] {
                    *e = *e * (1.0 - alpha) + alpha * attempts[c] as f32;
                }
            }
        }
        for (c, &e) in eager.iter().enumerate() {
            let got = lazy.cell(Dim::Carrier, Sym(c as u32)).map_or(0.0, |cell| cell.attempts);
            prop_assert!((got - e).abs() <= 1e-4 * e.max(1.0), "carrier {c}: lazy {got}, eager {e}");
            let mut leaf = [Sym::NONE; crate::counts::MAX_LEAF_DIMS];
            leaf[0] = Sym(c as u32);
            let got = index
                .get(&leaf)
                .and_then(|id| lazy.leaf_cell(id))
                .map_or(0.0, |cell| cell.attempts);
            prop_assert!((got - e).abs() <= 1e-4 * e.max(1.0), "leaf {c}: lazy {got}, eager {e}");
        }
    }
}

fn bucket(carrier: u32, attempts: u32, failures: u32) -> Bucket {
    let mut b = Bucket::default();
    let mut dims = DimValues::default();
    dims.set(Dim::Carrier, Sym(carrier));
    for i in 0..attempts {
        let class = if i < failures {
            OutcomeClass::Comms
        } else {
            OutcomeClass::Approved
        };
        b.fleet.add(class);
        b.count_outcome(&dims, class);
    }
    b.seal();
    b
}

#[test]
fn a_sparse_value_is_shrunk_toward_the_fleet() {
    let mut bl = Baselines::new(0.5, 200.0);
    let mut b = bucket(0, 10_000, 100); // fleet: 1 % comms
    let mut quiet = DimValues::default();
    quiet.set(Dim::Carrier, Sym(1)); // a quiet value: 2 of 3
    for class in [
        OutcomeClass::Comms,
        OutcomeClass::Comms,
        OutcomeClass::Approved,
    ] {
        b.fleet.add(class);
        b.count_outcome(&quiet, class);
    }
    b.seal();
    for _ in 0..20 {
        bl.learn(&b, &Anomalies::default(), &[], &LeafIndex::default());
    }
    let quiet_rate = bl.rate(Dim::Carrier, Sym(1), OutcomeClass::Comms);
    assert!(
        quiet_rate < 0.03,
        "2/3 on a quiet value must not become its normal: {quiet_rate}"
    );
    let busy = bl.rate(Dim::Carrier, Sym(0), OutcomeClass::Comms);
    assert!((busy - 0.01).abs() < 0.002, "{busy}");
}

#[test]
fn anomalous_values_do_not_learn_the_outage() {
    let mut bl = Baselines::new(0.5, 0.0);
    for _ in 0..20 {
        bl.learn(
            &bucket(0, 1000, 10),
            &Anomalies::default(),
            &[],
            &LeafIndex::default(),
        );
    }
    let skip = Anomalies {
        fleet: true,
        values: [(Dim::Carrier, Sym(0))].into_iter().collect(),
        ..Anomalies::default()
    };
    for _ in 0..20 {
        bl.learn(&bucket(0, 1000, 900), &skip, &[], &LeafIndex::default());
    }
    let rate = bl.rate(Dim::Carrier, Sym(0), OutcomeClass::Comms);
    assert!(
        (rate - 0.01).abs() < 1e-3,
        "outage leaked into the baseline: {rate}"
    );
    bl.learn(
        &bucket(0, 1000, 900),
        &Anomalies::default(),
        &[],
        &LeafIndex::default(),
    );
    assert!(
        bl.rate(Dim::Carrier, Sym(0), OutcomeClass::Comms) > 0.012,
        "learning resumes when not flagged"
    );
}

#[test]
fn an_unflagged_surge_is_learned_a_few_deviations_a_bucket_and_a_lasting_one_in_the_end() {
    let mut bl = Baselines::new(0.5, 0.0);
    let learn = |bl: &mut Baselines, comms: u32| {
        bl.learn(
            &bucket(0, 1000, comms),
            &Anomalies::default(),
            &[],
            &LeafIndex::default(),
        )
    };
    for _ in 0..20 {
        learn(&mut bl, 10);
    }
    learn(&mut bl, 900);
    let rate = bl.rate(Dim::Carrier, Sym(0), OutcomeClass::Comms);
    // Expected 10, so at most 10 + 3·√10 + 3 ≈ 22.5 is learned.
    assert!((0.012..0.017).contains(&rate), "{rate}");
    let fleet = bl.fleet.raw_rate(OutcomeClass::Comms);
    assert!((0.012..0.017).contains(&fleet), "{fleet}");
    for _ in 0..60 {
        learn(&mut bl, 900);
    }
    let rate = bl.rate(Dim::Carrier, Sym(0), OutcomeClass::Comms);
    assert!(rate > 0.85, "a lasting change is the new normal: {rate}");
    // Approvals are never clipped.
    let approved = bl.rate(Dim::Carrier, Sym(0), OutcomeClass::Approved);
    assert!(approved > 0.0, "{approved}");
}

#[test]
fn a_class_abnormal_fleet_wide_keeps_its_rate_while_the_others_learn() {
    let mut bl = Baselines::new(0.5, 0.0);
    for _ in 0..20 {
        bl.learn(
            &bucket(0, 1000, 10),
            &Anomalies::default(),
            &[],
            &LeafIndex::default(),
        );
    }
    let skip = Anomalies {
        fleet_classes: vec![OutcomeClass::Comms],
        ..Anomalies::default()
    };
    for _ in 0..20 {
        bl.learn(&bucket(0, 2000, 900), &skip, &[], &LeafIndex::default());
    }
    let comms = bl.fleet.raw_rate(OutcomeClass::Comms);
    assert!((comms - 0.01).abs() < 1e-4, "{comms}");
    assert!(bl.fleet.attempts > 1900.0, "traffic still learns");
}

#[test]
fn latency_baselines_learn_per_value_and_skip_anomalous_ones() {
    let mut bl = Baselines::new(0.5, 0.0);
    let mut b = Bucket::new(0, 10_000, &[Dim::Issuer]);
    let mut dims = DimValues::default();
    for (issuer, ms) in [(0, 400), (1, 400)] {
        dims.set(Dim::Issuer, Sym(issuer));
        for _ in 0..10 {
            b.latency.add(&dims, ms);
        }
    }
    for _ in 0..20 {
        bl.learn(&b, &Anomalies::default(), &[], &LeafIndex::default());
    }
    let bin400 = crate::latency::bin(400);
    let normal = bl.latency.histogram(Dim::Issuer, Sym(1))[bin400];
    assert!((normal - 10.0).abs() < 1e-3, "{normal}");
    // Issuer 1 turns slow; flagged, it keeps its normal; issuer 0 learns.
    let mut slow = Bucket::new(0, 10_000, &[Dim::Issuer]);
    for issuer in [0, 1] {
        dims.set(Dim::Issuer, Sym(issuer));
        for _ in 0..10 {
            slow.latency.add(&dims, 3_000);
        }
    }
    let skip = Anomalies {
        values: [(Dim::Issuer, Sym(1))].into_iter().collect(),
        ..Anomalies::default()
    };
    bl.learn(&slow, &skip, &[], &LeafIndex::default());
    assert_eq!(bl.latency.histogram(Dim::Issuer, Sym(1))[bin400], normal);
    assert!(bl.latency.histogram(Dim::Issuer, Sym(0))[bin400] < 6.0);
}
