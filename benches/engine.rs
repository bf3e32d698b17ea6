//! Window-engine update throughput on pre-decoded outcomes.
//!
//! `cargo bench --bench engine`. Fleets of 100,000 and 1,000,000 terminals;
//! each iteration records 1,000,000 outcomes spread over 10 minutes of event
//! time and closes every bucket (window sums and baseline learning included),
//! asking for each event's memory [`PREFETCH_AHEAD`] events early as the
//! service's driver does.
//! Prints the per-terminal state size once.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use swipewatch_config::EngineConfig;
use swipewatch_engine::{Anomalies, Engine, Settings, TerminalState, PREFETCH_AHEAD};

mod fleet;

use fleet::{events, EVENTS};

fn engine(c: &mut Criterion) {
    eprintln!(
        "TerminalState: {} bytes",
        std::mem::size_of::<TerminalState>()
    );
    let mut g = c.benchmark_group("engine_record_and_close");
    g.throughput(Throughput::Elements(EVENTS as u64));
    g.sample_size(10);
    for terminals in [100_000u32, 1_000_000] {
        let evs = events(terminals);
        g.bench_function(format!("{}k_terminals", terminals / 1000), |b| {
            b.iter_batched(
                || Engine::new(Settings::from(&EngineConfig::default())),
                |mut e| {
                    let mut out = Vec::new();
                    for (i, ev) in evs.iter().enumerate() {
                        if let Some(next) = evs.get(i + PREFETCH_AHEAD) {
                            e.prefetch(next);
                        }
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
                    e
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
