//! JSON views for the HTTP API that need the engine: the current window
//! (fleet counts, top offenders per dimension) and one terminal's health.
//! Built in the driver task, which owns the engine.

use serde_json::{json, Map, Value};
use swipewatch_alert::{Incident, State};
use swipewatch_engine::{ClassCounts, WindowSnapshot};
use swipewatch_ingest::SharedSymbols;
use swipewatch_model::OutcomeClass;
use swipewatch_monitor::{Monitor, METRIC_DIMS, TERMINAL_DIMS};

/// Offenders kept per dimension.
pub const TOP_N: usize = 20;

fn classes(c: &ClassCounts) -> Value {
    let m: Map<String, Value> = OutcomeClass::ALL
        .iter()
        .filter(|k| c.get(**k) > 0)
        .map(|k| (k.name().to_string(), Value::from(c.get(*k))))
        .collect();
    Value::Object(m)
}

fn rate(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        (num as f64 / den as f64 * 10_000.0).round() / 10_000.0
    }
}

/// The latest closed window: fleet counts by class, approval and failure
/// rates, and per dimension the values with the most failures.
pub fn window(snap: &WindowSnapshot, symbols: &SharedSymbols) -> Value {
    let w = &snap.window;
    let symbols = symbols.read().unwrap_or_else(|p| p.into_inner());
    let fleet_rate = rate(w.fleet.failures(), w.fleet.attempts());
    let mut top = Map::new();
    for dim in METRIC_DIMS {
        let mut values: Vec<(u64, u64, Value)> = w
            .dims
            .values(dim)
            .map(|(sym, c)| {
                let failures = c.failures();
                let attempts = c.attempts();
                let view = json!({
                    "value": symbols.resolve(dim, sym).unwrap_or("(none)"),
                    "attempts": attempts,
                    "failures": failures,
                    "failure_rate": rate(failures, attempts),
                    "lift": if fleet_rate > 0.0 { (rate(failures, attempts) / fleet_rate * 100.0).round() / 100.0 } else { 0.0 },
                    "classes": classes(c),
                });
                (failures, attempts, view)
            })
            .collect();
        values.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
        values.truncate(TOP_N);
        top.insert(
            dim.name().to_string(),
            Value::Array(values.into_iter().map(|v| v.2).collect()),
        );
    }
    json!({
        "start_ms": w.start_ms,
        "end_ms": w.end_ms,
        "buckets": w.buckets,
        "gap_buckets": w.gap_buckets,
        "watermark_ms": snap.watermark_ms,
        "active_terminals_last_bucket": snap.bucket.active_terminals,
        "attempts": w.fleet.attempts(),
        "approved": w.fleet.get(OutcomeClass::Approved),
        "failures": w.fleet.failures(),
        "approval_rate": rate(u64::from(w.fleet.get(OutcomeClass::Approved)), w.fleet.attempts()),
        "failure_rate": fleet_rate,
        "classes": classes(&w.fleet),
        "top": top,
    })
}

/// One terminal's health, with the incidents that name it; `None` if the
/// engine has never seen it.
pub fn terminal(monitor: &Monitor, id: &str, incidents: &[Incident]) -> Option<Value> {
    let engine = monitor.engine();
    let symbols = monitor.symbols().read().unwrap_or_else(|p| p.into_inner());
    let sym = symbols.terminals.get(id)?;
    let state = engine.terminal_state(sym)?;
    let place: Map<String, Value> = TERMINAL_DIMS
        .iter()
        .filter_map(|d| {
            let v = symbols.resolve(*d, state.dims.get(*d))?;
            Some((d.name().to_string(), Value::from(v)))
        })
        .collect();
    let bucket_ms = engine.settings().bucket_ms;
    let newest = state.last_seen_ms.div_euclid(bucket_ms);
    let recent: Vec<Value> = (0..swipewatch_engine::RECENT as i64)
        .filter_map(|back| {
            let b = newest - back;
            let t = state.tally(b)?;
            Some(json!({
                "bucket_start_ms": b * bucket_ms,
                "attempts": t.attempts,
                "failures": t.failures,
                "hw_errors": t.hw_errors,
                "fallbacks": t.fallbacks,
            }))
        })
        .collect();
    let named: Vec<Value> = incidents
        .iter()
        .filter(|i| i.key.terminal.as_deref() == Some(id) && i.state != State::Resolved)
        .map(|i| {
            let signal = i.key.health.unwrap_or(i.latest.signal);
            json!({"id": i.id, "cause": i.key.cause.name(), "signal": signal.name(), "state": i.state})
        })
        .collect();
    Some(json!({
        "terminal": id,
        "last_seen_ms": state.last_seen_ms,
        "last_heartbeat_ms": (state.last_heartbeat_ms != i64::MIN).then_some(state.last_heartbeat_ms),
        "place": place,
        "consecutive_failures": state.consecutive_failures,
        "consecutive_hw_errors": state.consecutive_hw_errors,
        "last_failure_class": (state.consecutive_failures > 0).then(|| state.last_failure.name()),
        "battery_pct": (state.battery_pct != u8::MAX).then_some(state.battery_pct),
        "host_reachable": state.host_reachable(),
        "saf_queue_depth": state.saf_queue_depth,
        "tamper": state.tamper,
        "health": {
            "restarts_last_hour": state.health.restarts_within_span(
                (state.last_heartbeat_ms.max(0) / 60_000) as i32
            ),
            "clock_offset_s": state.health.clock_offset_s,
            "heartbeats_lost": state.health.heartbeats_lost,
            "host_unreachable_heartbeats_in_a_row": state.health.unreachable_run,
            "queue_growing_heartbeats_in_a_row": state.health.queue_growth_run,
            "noisy_fields": state.health.noisy_fields(),
        },
        "recent_buckets": recent,
        "open_incidents": named,
    }))
}

/// Ids listed per list in `/api/inventory`.
const INVENTORY_IDS: usize = 100;

/// `/api/inventory`: terminals listed, never heard from, heard from but
/// not listed, and the missing ones (open missing incidents).
pub fn inventory(monitor: &Monitor) -> Value {
    let s = monitor.inventory_status(INVENTORY_IDS);
    let missing: Vec<Value> = monitor
        .book()
        .open()
        .filter(|i| {
            i.key.health == Some(swipewatch_model::Signal::Missing)
                || i.latest.signal == swipewatch_model::Signal::Missing
        })
        .map(|i| {
            json!({
                "incident": i.id,
                "terminal": i.key.terminal,
                "element": i.key.describe(),
                "state": i.state,
            })
        })
        .collect();
    json!({
        "listed": s.listed,
        "never_seen": s.never_seen,
        "never_seen_ids": s.never_seen_ids,
        "not_listed": s.not_listed,
        "not_listed_ids": s.not_listed_ids,
        "missing": missing,
    })
}
