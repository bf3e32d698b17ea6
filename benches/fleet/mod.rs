//! A synthetic fleet's pre-decoded outcomes, shared by the engine and
//! scale benches, and the benches' numeric command-line options.

use swipewatch_model::{Dim, DimValues, Event, Outcome, OutcomeClass, Sym};

pub const T0: i64 = 1_795_000_000_000;
/// Outcomes per run.
pub const EVENTS: usize = 1_000_000;

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

/// `EVENTS` outcomes over 10 minutes from a fleet of `terminals`.
pub fn events(terminals: u32) -> Vec<Event> {
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

/// The same outcomes `shift_ms` later.
pub fn shifted(events: &[Event], shift_ms: i64) -> Vec<Event> {
    events
        .iter()
        .map(|e| match e {
            Event::Outcome(o) => Event::Outcome(Outcome {
                ts_ms: o.ts_ms + shift_ms,
                arrival_ms: o.arrival_ms + shift_ms,
                ..*o
            }),
            other => *other,
        })
        .collect()
}

/// The number after `name` on the command line (`--runs 3`), if any.
#[allow(dead_code)] // the engine bench takes no options
pub fn arg(name: &str) -> Option<usize> {
    let argv: Vec<String> = std::env::args().collect();
    argv.iter()
        .position(|a| a == name)
        .and_then(|i| argv.get(i + 1))
        .and_then(|v| v.parse().ok())
}
