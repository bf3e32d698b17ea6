//! How cost grows with the fleet: engine + detection per event, and heap
//! memory, for 10,000, 100,000 and 1,000,000 terminals.
//!
//! `cargo bench --bench scale [-- --runs R]` (default 3). Each run feeds a
//! fresh engine 1,000,000 pre-decoded outcomes (10 minutes of event time,
//! the same synthetic fleet as the engine bench) to learn from, then the
//! same traffic again ten minutes later, timed: every bucket closed,
//! detection on every closed window, baselines learning from what
//! detection called normal. Prints the
//! median time per event, and how much resident memory the first run
//! added (the engine still alive; each fleet size in a process of its
//! own), per terminal. Resident memory includes what the allocator keeps
//! after frees, so it is an upper bound on the engine's heap.

#![allow(missing_docs)]

mod fleet;
use fleet::arg;

use std::time::Instant;
use swipewatch_config::EngineConfig;
use swipewatch_diagnose::Detector;
use swipewatch_engine::{Engine, Settings};
use swipewatch_model::Event;

/// `VmRSS` and `VmHWM` of this process, bytes.
fn rss() -> (usize, usize) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<usize>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Records `events`, closing buckets and detecting on every closed window.
fn feed(engine: &mut Engine, detector: &Detector, events: &[Event], flush: bool) {
    let mut closed = Vec::new();
    let process = |engine: &mut Engine, closed: &mut Vec<_>| {
        for mut snap in closed.drain(..) {
            let (found, anomalies) = detector.detect(&snap);
            std::hint::black_box(found);
            engine.learn(&mut snap, &anomalies);
        }
    };
    for (i, e) in events.iter().enumerate() {
        engine.prefetch_for(events, i);
        engine.record(e);
        if i % 1024 == 0 {
            engine.poll_closed(&mut closed);
            process(engine, &mut closed);
        }
    }
    if flush {
        engine.flush(&mut closed);
        process(engine, &mut closed);
    }
}

/// One run: the first ten minutes teach the baselines (the detector's
/// learning period is 30 buckets, five minutes); the next ten, timed, are
/// the same traffic again with detection on every window. Seconds of the
/// timed part, and the engine at the end.
fn run(learn: &[Event], timed: &[Event]) -> (f64, Engine) {
    let settings = Settings::from(&EngineConfig::default());
    let detector = Detector::new(settings.leaf_dims.clone());
    let mut engine = Engine::new(settings);
    feed(&mut engine, &detector, learn, false);
    let started = Instant::now();
    feed(&mut engine, &detector, timed, true);
    (started.elapsed().as_secs_f64(), engine)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One fleet size, in this process: the first run's growth of resident
/// memory (the engine still alive), then the median time of `runs`.
fn measure(terminals: u32, runs: usize) {
    let learn = fleet::events(terminals);
    let events = fleet::shifted(&learn, 600_000);
    let (rss0, hwm0) = rss();
    let (first, engine) = run(&learn, &events);
    let (rss1, hwm1) = rss();
    drop(engine);
    let mut times = vec![first];
    for _ in 1..runs {
        times.push(run(&learn, &events).0);
    }
    let per_event = median(times) / events.len() as f64;
    let grown = rss1.saturating_sub(rss0) as f64;
    println!(
        "| {terminals} | {:.2} µs | {:.2} M/s | {:.1} MB | {:.0} B | {:.1} MB |",
        per_event * 1e6,
        1e-6 / per_event,
        grown / 1e6,
        grown / f64::from(terminals),
        hwm1.saturating_sub(hwm0.max(rss0)) as f64 / 1e6
    );
}

fn main() {
    let runs = arg("--runs").unwrap_or(3).max(1);
    if let Some(terminals) = arg("--fleet") {
        measure(terminals as u32, runs);
        return;
    }
    println!(
        "| terminals | per event (median of {runs}) | events/s | resident memory grown | per terminal | peak above start |"
    );
    println!("|---|---|---|---|---|---|");
    // Each fleet in a process of its own, so memory is measured from a
    // clean start.
    let exe = std::env::current_exe().expect("own path");
    for terminals in [10_000u32, 100_000, 1_000_000] {
        let status = std::process::Command::new(&exe)
            .args([
                "--fleet",
                &terminals.to_string(),
                "--runs",
                &runs.to_string(),
            ])
            .status()
            .expect("run a fleet size");
        assert!(status.success(), "fleet {terminals} failed");
    }
}
