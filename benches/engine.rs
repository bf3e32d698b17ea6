//! Window-engine update throughput on pre-decoded outcomes.
//!
//! `cargo bench --bench engine`. Fleets of 100,000 and 1,000,000 terminals;
//! each iteration records 1,000,000 outcomes spread over 10 minutes of event
//! time and closes every bucket (window sums and baseline learning included).
//! Prints the per-terminal state size once.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use swipewatch_config::EngineConfig;
use swipewatch_engine::{Anomalies, Engine, Settings, TerminalState};
use swipewatch_model::{Dim, DimValues, Event, Outcome, OutcomeClass, Sym};

const T0: i64 = 1_795_000_000_000;
const EVENTS: usize = 1_000_000;

/// Cheap deterministic pseudo-random numbers (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u32 {
        (self.next() % n) as u32
    }
}

fn fleet_dims(terminals: u32, rng: &mut Rng) -> Vec<DimValues> {
    (0..terminals)
        .map(|t| {
            let mut d = DimValues::default();
            for (dim, n) in [
                (Dim::Region, 20),
                (Dim::Carrier, 5),
                (Dim::NetType, 3),
                (Dim::Cell, 2000),
                (Dim::Acquirer, 4),
                (Dim::Scheme, 4),
                (Dim::Model, 10),
                (Dim::Firmware, 6),
                (Dim::App, 5),
            ] {
                d.set(dim, Sym(rng.below(n)));
            }
            d.set(Dim::Merchant, Sym(t / 4));
            d
        })
        .collect()
}

fn events(terminals: u32) -> Vec<Event> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let fleet = fleet_dims(terminals, &mut rng);
    let classes = [
        OutcomeClass::Approved,
        OutcomeClass::Approved,
        OutcomeClass::Approved,
        OutcomeClass::Approved,
        OutcomeClass::Approved,
        OutcomeClass::Approved,
        OutcomeClass::Approved,
        OutcomeClass::CardholderDecline,
        OutcomeClass::IssuerPolicyDecline,
        OutcomeClass::HostTimeout,
    ];
    (0..EVENTS)
        .map(|i| {
            let t = rng.below(u64::from(terminals));
            let mut dims = fleet[t as usize];
            dims.set(Dim::Issuer, Sym(rng.below(50)));
            dims.set(Dim::EntryMode, Sym(rng.below(4)));
            // 10 minutes of event time, with up to 5 s of disorder.
            let ts =
                T0 + (i as i64 * 600_000 / EVENTS as i64) + i64::from(rng.below(5_000)) - 2_500;
            Event::Outcome(Outcome {
                event_fp: i as u64,
                arrival_ms: ts + 200,
                latency_ms: Some(300 + rng.below(900)),
                amount_minor: Some(1000),
                ..Outcome::new(Sym(t), ts, classes[rng.below(10) as usize], dims)
            })
        })
        .collect()
}

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
