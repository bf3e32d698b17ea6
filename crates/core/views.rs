//! The API's views that need the engine: the current window (fleet counts,
//! top offenders per dimension), one terminal's health and the inventory.
//! Built in the driver task, which owns the engine; the shapes are
//! `swipewatch_server::api`'s.

use std::collections::BTreeMap;
use swipewatch_alert::{Incident, State};
use swipewatch_engine::{ClassCounts, WindowSnapshot};
use swipewatch_ingest::SharedSymbols;
use swipewatch_model::{OutcomeClass, Signal};
use swipewatch_monitor::{Monitor, METRIC_DIMS, TERMINAL_DIMS};
use swipewatch_server::api::{
    BucketTally, HealthView, IncidentRef, InventoryView, MissingRef, Offender, TerminalView,
    WindowView,
};

/// Offenders kept per dimension.
pub const TOP_N: usize = 20;

fn classes(c: &ClassCounts) -> BTreeMap<String, u64> {
    OutcomeClass::ALL
        .iter()
        .filter(|k| c.get(**k) > 0)
        .map(|k| (k.name().to_string(), u64::from(c.get(*k))))
        .collect()
}

fn rate(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        (num as f64 / den as f64 * 10_000.0).round() / 10_000.0
    }
}

/// The latest closed window: fleet counts by class, approval and failure
/// rates, and per dimension the values with the most failures (`history`
/// is the driver's to fill).
pub fn window(snap: &WindowSnapshot, symbols: &SharedSymbols) -> WindowView {
    let w = &snap.window;
    let symbols = symbols.read().unwrap_or_else(|p| p.into_inner());
    let fleet_rate = rate(w.fleet.failures(), w.fleet.attempts());
    let mut top = BTreeMap::new();
    for dim in METRIC_DIMS {
        let mut values: Vec<Offender> = w
            .dims
            .values(dim)
            .map(|(sym, c)| {
                let (failures, attempts) = (c.failures(), c.attempts());
                let failure_rate = rate(failures, attempts);
                Offender {
                    value: symbols.resolve(dim, sym).unwrap_or("(none)").to_string(),
                    attempts,
                    failures,
                    failure_rate,
                    lift: if fleet_rate > 0.0 {
                        (failure_rate / fleet_rate * 100.0).round() / 100.0
                    } else {
                        0.0
                    },
                    classes: classes(c),
                }
            })
            .collect();
        values.sort_by(|a, b| {
            b.failures
                .cmp(&a.failures)
                .then(b.attempts.cmp(&a.attempts))
        });
        values.truncate(TOP_N);
        top.insert(dim.name().to_string(), values);
    }
    let approved = w.fleet.get(OutcomeClass::Approved);
    WindowView {
        start_ms: w.start_ms,
        end_ms: w.end_ms,
        buckets: w.buckets,
        gap_buckets: w.gap_buckets,
        watermark_ms: snap.watermark_ms,
        active_terminals_last_bucket: snap.bucket.active_terminals,
        attempts: w.fleet.attempts(),
        approved,
        failures: w.fleet.failures(),
        approval_rate: rate(u64::from(approved), w.fleet.attempts()),
        failure_rate: fleet_rate,
        classes: classes(&w.fleet),
        history: Vec::new(),
        top,
    }
}

/// One terminal's health, with the incidents that name it; `None` if the
/// engine has never seen it.
pub fn terminal(monitor: &Monitor, id: &str, incidents: &[Incident]) -> Option<TerminalView> {
    let engine = monitor.engine();
    let symbols = monitor.symbols().read().unwrap_or_else(|p| p.into_inner());
    let sym = symbols.terminals.get(id)?;
    let state = engine.terminal_state(sym)?;
    let place = TERMINAL_DIMS
        .iter()
        .filter_map(|d| {
            let v = symbols.resolve(*d, state.dims.get(*d))?;
            Some((d.name().to_string(), v.to_string()))
        })
        .collect();
    let bucket_ms = engine.settings().bucket_ms;
    let newest = state.last_seen_ms.div_euclid(bucket_ms);
    let recent_buckets = (0..swipewatch_engine::RECENT as i64)
        .filter_map(|back| {
            let b = newest - back;
            let t = state.tally(b)?;
            Some(BucketTally {
                bucket_start_ms: b * bucket_ms,
                attempts: t.attempts,
                failures: t.failures,
                hw_errors: t.hw_errors,
                fallbacks: t.fallbacks,
            })
        })
        .collect();
    let open_incidents = incidents
        .iter()
        .filter(|i| i.key.terminal.as_deref() == Some(id) && i.state != State::Resolved)
        .map(|i| IncidentRef {
            id: i.id,
            cause: i.key.cause.name().to_string(),
            signal: i.key.health.unwrap_or(i.latest.signal).name().to_string(),
            state: i.state,
        })
        .collect();
    let health = &state.health;
    Some(TerminalView {
        terminal: id.to_string(),
        last_seen_ms: state.last_seen_ms,
        last_heartbeat_ms: (state.last_heartbeat_ms != i64::MIN).then_some(state.last_heartbeat_ms),
        place,
        consecutive_failures: state.consecutive_failures,
        consecutive_hw_errors: state.consecutive_hw_errors,
        last_failure_class: (state.consecutive_failures > 0)
            .then(|| state.last_failure.name().to_string()),
        battery_pct: (state.battery_pct != u8::MAX).then_some(state.battery_pct),
        host_reachable: state.host_reachable(),
        saf_queue_depth: state.saf_queue_depth,
        tamper: state.tamper,
        health: HealthView {
            restarts_last_hour: health
                .restarts_within_span((state.last_heartbeat_ms.max(0) / 60_000) as i32),
            clock_offset_s: health.clock_offset_s,
            heartbeats_lost: health.heartbeats_lost,
            host_unreachable_heartbeats_in_a_row: health.unreachable_run,
            queue_growing_heartbeats_in_a_row: health.queue_growth_run,
            noisy_fields: health
                .noisy_fields()
                .into_iter()
                .map(str::to_string)
                .collect(),
        },
        recent_buckets,
        open_incidents,
    })
}

/// Ids listed per list in `/api/inventory`.
const INVENTORY_IDS: usize = 100;

/// `/api/inventory`: terminals listed, never heard from, heard from but
/// not listed, and the missing ones (open missing incidents).
pub fn inventory(monitor: &Monitor) -> InventoryView {
    let s = monitor.inventory_status(INVENTORY_IDS);
    let missing = monitor
        .book()
        .open()
        .filter(|i| i.key.health == Some(Signal::Missing) || i.latest.signal == Signal::Missing)
        .map(|i| MissingRef {
            incident: i.id,
            terminal: i.key.terminal.clone(),
            element: i.key.describe(),
            state: i.state,
        })
        .collect();
    InventoryView {
        listed: s.listed,
        never_seen: s.never_seen,
        never_seen_ids: s.never_seen_ids,
        not_listed: s.not_listed,
        not_listed_ids: s.not_listed_ids,
        missing,
    }
}
