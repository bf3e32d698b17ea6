//! The decoder as a fuzz target: arbitrary bytes, a valid outcome with any
//! field replaced by arbitrary nested JSON or removed, and arrays; every
//! message is counted exactly once, accepted or under one reason.

use super::tests::{fixture, outcome, NOW, TOPIC};
use super::*;
use proptest::prelude::*;

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
        "[0-9 -]{12,24}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn a_valid_outcome_with_any_field_replaced_or_removed_is_counted_exactly_once(
        edits in proptest::collection::vec((0usize..32, proptest::option::of(any_json())), 1..4)
    ) {
        let mut f = fixture();
        let serde_json::Value::Object(mut fields) =
            serde_json::from_str::<serde_json::Value>(&outcome("fz")).expect("valid json")
        else {
            unreachable!("an outcome is an object")
        };
        for (k, value) in edits {
            let Some(key) = fields.keys().nth(k % fields.len().max(1)).cloned() else {
                break;
            };
            match value {
                Some(v) => fields.insert(key, v),
                None => fields.remove(&key),
            };
        }
        let payload = serde_json::Value::Object(fields).to_string();
        f.feed(TOPIC, &payload);
        let rejected: u64 = RejectReason::ALL.iter().map(|r| f.rejected(*r)).sum();
        prop_assert_eq!(rejected + f.accepted(), 1, "{}", payload);
        prop_assert_eq!(f.accepted() as usize, f.out.len());
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_are_counted_once(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut f = fixture();
        let _ = f.decoder.decode(TOPIC, &bytes, bytes.len(), NOW, &mut f.out);
        let rejected: u64 = RejectReason::ALL.iter().map(|r| f.rejected(*r)).sum();
        prop_assert!(rejected + f.accepted() >= 1);
        prop_assert_eq!(f.accepted() as usize, f.out.len());
    }

    #[test]
    fn every_array_element_is_accepted_or_rejected_exactly_once(valid in proptest::collection::vec(any::<bool>(), 1..40)) {
        let mut f = fixture();
        let elements: Vec<String> = valid.iter().enumerate()
            .map(|(i, ok)| if *ok { outcome(&format!("e{i}")) } else { format!(r#"{{"event_id":"e{i}"}}"#) })
            .collect();
        f.feed(TOPIC, &format!("[{}]", elements.join(",")));
        let good = valid.iter().filter(|v| **v).count() as u64;
        prop_assert_eq!(f.accepted(), good);
        prop_assert_eq!(f.rejected(RejectReason::MissingField), valid.len() as u64 - good);
    }
}
