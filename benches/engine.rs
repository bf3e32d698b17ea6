//! Window-engine update throughput on pre-decoded outcomes.
//!
//! `cargo bench --bench engine`. Fleets of 100,000 and 1,000,000 terminals;
//! each iteration records 1,000,000 outcomes spread over 10 minutes of event
//! time and closes every bucket (window sums and baseline learning included),
//! asking for each event's memory a few events early as the
//! service's driver does. Each fleet is measured twice: into a fresh engine,
//! and into one that has seen the same traffic in the ten minutes before
//! (`_steady`). Prints the per-terminal state size once.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::time::{Duration, Instant};
use swipewatch_config::EngineConfig;
use swipewatch_engine::{Anomalies, Engine, Settings, TerminalState};
use swipewatch_model::Event;

mod fleet;

use fleet::{events, shifted, EVENTS};

/// Records `evs` as the service's driver does (each event's memory asked
/// for a few events early), closing buckets every 1,024 events
/// and letting the baselines learn from each; closes the rest at the end.
fn feed(e: &mut Engine, evs: &[Event]) {
    let mut out = Vec::new();
    for (i, ev) in evs.iter().enumerate() {
        e.prefetch_for(evs, i);
        e.record(ev);
        if i % 1024 == 0 {
            e.poll_closed(&mut out);
            for mut s in out.drain(..) {
                e.learn(&mut s, &Anomalies::default());
            }
        }
    }
    e.flush(&mut out);
    for mut s in out.drain(..) {
        e.learn(&mut s, &Anomalies::default());
    }
}

fn engine(c: &mut Criterion) {
    eprintln!(
        "TerminalState: {} bytes",
        std::mem::size_of::<TerminalState>()
    );
    let settings = || Settings::from(&EngineConfig::default());
    let mut g = c.benchmark_group("engine_record_and_close");
    g.throughput(Throughput::Elements(EVENTS as u64));
    g.sample_size(10);
    for terminals in [100_000u32, 1_000_000] {
        let evs = events(terminals);
        // A fresh engine: at 1 M terminals most events are a terminal's
        // first, so the terminal table and every bucket table grow.
        g.bench_function(format!("{}k_terminals", terminals / 1000), |b| {
            b.iter_batched(
                || Engine::new(settings()),
                |mut e| {
                    feed(&mut e, &evs);
                    e
                },
                BatchSize::PerIteration,
            )
        });
        // A running engine: it has seen the same traffic in the ten
        // minutes before each timed pass, as a service has after its
        // first minutes (terminal and value tables at full size).
        g.bench_function(format!("{}k_terminals_steady", terminals / 1000), |b| {
            let mut e = Engine::new(settings());
            feed(&mut e, &evs);
            let mut passes = 0;
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    passes += 1;
                    let later = shifted(&evs, passes * 600_000);
                    let start = Instant::now();
                    feed(&mut e, &later);
                    spent += start.elapsed();
                }
                spent
            })
        });
    }
    g.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
