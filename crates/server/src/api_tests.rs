//! The API's types against `docs/openapi.yaml`: every field a response
//! carries is documented and every documented field is carried (nested
//! objects too, except maps keyed by data), and enums list every value.

use super::*;
use crate::silences::SilenceRequest;
use serde_json::Value;
use swipewatch_model::{Cause, Signal};
use yaml_rust2::{Yaml, YamlLoader};

const OPENAPI: &str = include_str!("../../../docs/openapi.yaml");
const WEBHOOK_EXAMPLE: &str = include_str!("../../../docs/webhook-example.json");

fn spec() -> Yaml {
    YamlLoader::load_from_str(OPENAPI)
        .expect("openapi.yaml is YAML")
        .remove(0)
}

/// `#/components/schemas/X` resolved, `allOf` merged into one property map.
fn resolve<'a>(schema: &'a Yaml, root: &'a Yaml) -> Vec<&'a Yaml> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return resolve(&root["components"]["schemas"][name], root);
    }
    if let Some(parts) = schema["allOf"].as_vec() {
        return parts.iter().flat_map(|p| resolve(p, root)).collect();
    }
    vec![schema]
}

/// Differences between `value` and `schema`, as `path: what`.
fn compare(schema: &Yaml, value: &Value, root: &Yaml, path: &str, out: &mut Vec<String>) {
    let parts = resolve(schema, root);
    let mut props: Vec<(&str, &Yaml)> = Vec::new();
    for part in &parts {
        if let Some(values) = part["enum"].as_vec() {
            if let Some(v) = value.as_str() {
                if !values.iter().any(|e| e.as_str() == Some(v)) {
                    out.push(format!("{path}: `{v}` is not in the documented enum"));
                }
            }
        }
        if let Some(map) = part["properties"].as_hash() {
            props.extend(map.iter().filter_map(|(k, v)| Some((k.as_str()?, v))));
        }
        if let (Some(items), Some(first)) = (
            Some(&part["items"]).filter(|i| !i.is_badvalue()),
            value.as_array().and_then(|a| a.first()),
        ) {
            compare(items, first, root, &format!("{path}[]"), out);
        }
    }
    let Some(object) = value.as_object() else {
        return;
    };
    if props.is_empty() {
        return;
    }
    for (key, child) in &props {
        match object.get(*key) {
            Some(v) => compare(child, v, root, &format!("{path}.{key}"), out),
            None => out.push(format!("{path}.{key}: documented, not sent")),
        }
    }
    for key in object.keys() {
        if !props.iter().any(|(k, _)| k == key) {
            out.push(format!("{path}.{key}: sent, not documented"));
        }
    }
}

fn schema_of<'a>(root: &'a Yaml, path: &str, method: &str, status: &str) -> &'a Yaml {
    &root["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
}

fn check(root: &Yaml, schema: &Yaml, body: &impl serde::Serialize, name: &str) -> Vec<String> {
    let value = serde_json::to_value(body).expect("serializes");
    assert!(!schema.is_badvalue(), "{name}: no schema documented");
    let mut out = Vec::new();
    compare(schema, &value, root, name, &mut out);
    out
}

fn incident() -> IncidentView {
    let body: Value = serde_json::from_str(WEBHOOK_EXAMPLE).expect("example JSON");
    serde_json::from_value(body["incident"].clone()).expect("an incident view")
}

fn offender() -> Offender {
    Offender {
        value: "northbank".into(),
        attempts: 100,
        failures: 40,
        failure_rate: 0.4,
        lift: 8.0,
        classes: BTreeMap::from([("issuer_unavailable".into(), 40)]),
    }
}

#[test]
fn every_response_body_has_exactly_the_documented_fields() {
    let root = spec();
    let mut diffs = Vec::new();
    let list = IncidentList {
        incidents: vec![incident()],
    };
    diffs.extend(check(
        &root,
        schema_of(&root, "/api/incidents", "get", "200"),
        &list,
        "incidents",
    ));
    let detail = IncidentDetail {
        incident: incident(),
        children: vec![incident()],
    };
    let schema = schema_of(&root, "/api/incidents/{id}", "get", "200");
    diffs.extend(check(&root, schema, &detail, "incident"));
    let window = WindowView {
        start_ms: 0,
        end_ms: 60_000,
        buckets: 6,
        gap_buckets: 0,
        watermark_ms: 60_000,
        active_terminals_last_bucket: 10,
        attempts: 100,
        approved: 90,
        failures: 10,
        approval_rate: 0.9,
        failure_rate: 0.1,
        classes: BTreeMap::from([("approved".into(), 90)]),
        history: vec![(60_000, 0.9, 100)],
        top: BTreeMap::from([("issuer".into(), vec![offender()])]),
    };
    diffs.extend(check(
        &root,
        schema_of(&root, "/api/window", "get", "200"),
        &window,
        "window",
    ));
    let top = TopView {
        dimension: "issuer".into(),
        window_end_ms: 60_000,
        fleet_failure_rate: 0.05,
        values: vec![offender()],
    };
    diffs.extend(check(
        &root,
        schema_of(&root, "/api/top", "get", "200"),
        &top,
        "top",
    ));
    let terminal = TerminalView {
        terminal: "T1".into(),
        last_seen_ms: 1,
        last_heartbeat_ms: Some(1),
        place: BTreeMap::from([("region".into(), "north".into())]),
        consecutive_failures: 0,
        consecutive_hw_errors: 0,
        last_failure_class: None,
        battery_pct: Some(80),
        host_reachable: Some(true),
        saf_queue_depth: 0,
        tamper: false,
        health: HealthView {
            restarts_last_hour: 0,
            clock_offset_s: 0,
            heartbeats_lost: 0,
            host_unreachable_heartbeats_in_a_row: 0,
            queue_growing_heartbeats_in_a_row: 0,
            noisy_fields: vec!["battery".into()],
        },
        recent_buckets: vec![BucketTally {
            bucket_start_ms: 0,
            attempts: 1,
            failures: 0,
            hw_errors: 0,
            fallbacks: 0,
        }],
        open_incidents: vec![IncidentRef {
            id: 1,
            cause: "device-hardware".into(),
            signal: "tamper".into(),
            state: State::Firing,
        }],
    };
    let schema = schema_of(&root, "/api/terminals/{id}", "get", "200");
    diffs.extend(check(&root, schema, &terminal, "terminal"));
    let inventory = InventoryView {
        listed: 3,
        never_seen: 1,
        never_seen_ids: vec!["T3".into()],
        not_listed: 1,
        not_listed_ids: vec!["T9".into()],
        missing: vec![MissingRef {
            incident: 4,
            terminal: Some("T3".into()),
            element: "model=a920".into(),
            state: State::Pending,
        }],
    };
    let schema = schema_of(&root, "/api/inventory", "get", "200");
    diffs.extend(check(&root, schema, &inventory, "inventory"));
    let silence = SilenceView {
        id: 1,
        matchers: BTreeMap::from([("issuer".into(), "northbank".into())]),
        cause: None,
        start_ms: 0,
        end_ms: 1,
        comment: "cut-over".into(),
        active: true,
    };
    let silences = SilenceList {
        silences: vec![silence.clone()],
    };
    diffs.extend(check(
        &root,
        schema_of(&root, "/api/silences", "get", "200"),
        &silences,
        "silences",
    ));
    let schema = schema_of(&root, "/api/silences", "post", "201");
    diffs.extend(check(&root, schema, &silence, "silence"));
    let error = ApiError {
        error: "no such endpoint".into(),
    };
    let schema = schema_of(&root, "/api/incidents/{id}", "get", "404");
    diffs.extend(check(&root, schema, &error, "error"));
    assert!(diffs.is_empty(), "{diffs:#?}");
}

#[test]
fn the_silence_request_takes_exactly_the_documented_fields() {
    let root = spec();
    let props = root["components"]["schemas"]["NewSilence"]["properties"]
        .as_hash()
        .expect("NewSilence properties");
    let mut body = serde_json::Map::new();
    for key in props.keys().filter_map(Yaml::as_str) {
        let value = match key {
            "matchers" => serde_json::json!({"issuer": "northbank"}),
            "starts_at_ms" | "ends_at_ms" => serde_json::json!(1),
            _ => serde_json::json!("2h"),
        };
        body.insert(key.to_string(), value);
    }
    let parsed: Result<SilenceRequest, _> = serde_json::from_value(Value::Object(body));
    assert!(parsed.is_ok(), "every documented field is read: {parsed:?}");
    let unknown: Result<SilenceRequest, _> = serde_json::from_str(r#"{"colour": "red"}"#);
    assert!(unknown.is_err(), "an undocumented field is refused");
}

#[test]
fn documented_enums_list_every_cause_and_signal() {
    let root = spec();
    let incident = &root["components"]["schemas"]["Incident"]["properties"];
    let listed = |field: &str| -> Vec<String> {
        incident[field]["enum"]
            .as_vec()
            .map(|v| {
                v.iter()
                    .filter_map(|e| e.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let causes: Vec<String> = Cause::ALL.iter().map(|c| c.name().to_string()).collect();
    let signals: Vec<String> = Signal::ALL.iter().map(|s| s.name().to_string()).collect();
    assert_eq!(listed("cause"), causes);
    assert_eq!(listed("signal"), signals);
}
