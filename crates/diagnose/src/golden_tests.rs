//! Golden scenarios: a generated outcome stream through the real engine and
//! the detector, with the findings it must (and must not) produce.

use super::*;
use swipewatch_config::EngineConfig;
use swipewatch_engine::{Engine, Settings};
use swipewatch_leafgen::Rng;
use swipewatch_model::{DimValues, EntryMode, Event, Heartbeat, Outcome, TermError};

const T0: i64 = 1_795_000_000_000;
const RATE_PER_S: usize = 40;
const WARMUP_S: i64 = 1_200;
/// Issuer shares (percent): issuer 9 carries 3 % of traffic.
const ISSUER_SHARE: [u32; 10] = [25, 20, 15, 12, 9, 7, 5, 2, 2, 3];

/// What a fault does to one transaction: `Some(class)` overrides it.
type Fault = dyn Fn(u32, &DimValues, &mut Rng) -> Option<OutcomeClass>;

fn terminal_dims(t: u32) -> DimValues {
    let mut d = DimValues::default();
    d.set(Dim::Region, Sym(t % 4));
    d.set(Dim::Carrier, Sym((t / 4) % 3));
    d.set(Dim::NetType, Sym((t / 12) % 2));
    d.set(Dim::Acquirer, Sym((t / 24) % 2));
    // Terminals 1,980.. belong to one large merchant (20 terminals).
    d.set(Dim::Merchant, Sym(if t >= 1_980 { 999 } else { t / 3 }));
    d.set(Dim::Firmware, Sym(t % 5));
    d.set(Dim::Model, Sym(t % 3));
    d
}

fn background(rng: &mut Rng) -> OutcomeClass {
    let x = rng.unit();
    match x {
        x if x < 0.010 => OutcomeClass::HostTimeout,
        x if x < 0.015 => OutcomeClass::Comms,
        x if x < 0.018 => OutcomeClass::DeviceFault,
        x if x < 0.020 => OutcomeClass::TerminalConfig,
        x if x < 0.030 => OutcomeClass::IssuerPolicyDecline,
        x if x < 0.070 => OutcomeClass::CardholderDecline,
        _ => OutcomeClass::Approved,
    }
}

fn issuer(rng: &mut Rng) -> u32 {
    let mut x = rng.below(100) as u32;
    for (i, share) in ISSUER_SHARE.iter().enumerate() {
        if x < *share {
            return i as u32;
        }
        x -= share;
    }
    0
}

/// What a stream carries besides its outcome classes.
struct Stream<'a> {
    /// Outcomes per second.
    rate_per_s: usize,
    /// A share of transactions going to one busy terminal.
    busy: Option<(u32, f64)>,
    /// During the fault: a factor on the host round trip of a transaction.
    slow: &'a dyn Fn(&DimValues) -> f64,
    /// During the fault: a chip read of this terminal falls back to stripe.
    falls_back: &'a dyn Fn(u32, &mut Rng) -> bool,
    /// Edits each heartbeat of a terminal (`true`: during the fault).
    beat: &'a Beat,
    /// During the fault: a terminal trading offline (its payments never
    /// arrive; it keeps heartbeating).
    offline: Option<u32>,
}

/// What a stream does to one heartbeat of a terminal, in or out of the fault.
type Beat = dyn Fn(u32, bool, &mut Heartbeat, &mut Rng);

impl Default for Stream<'_> {
    fn default() -> Self {
        Stream {
            rate_per_s: RATE_PER_S,
            busy: None,
            slow: &|_| 1.0,
            falls_back: &|_, _| false,
            beat: &|_, _, _, _| {},
            offline: None,
        }
    }
}

/// Terminals, each heartbeating once a minute.
const TERMINALS: u32 = 2_000;

/// Runs `duration_s` seconds; the fault applies from `WARMUP_S` for
/// `fault_s` seconds. Returns every finding.
fn run(seed: u64, duration_s: i64, fault_s: i64, fault: &Fault) -> Vec<Finding> {
    run_stream(seed, duration_s, fault_s, fault, &Stream::default())
}

/// [`run`] with more than failures: latency (log-normal around 400 ms,
/// none for timeouts and local errors), entry modes (1 % fallback),
/// heartbeats, a busy terminal.
fn run_stream(
    seed: u64,
    duration_s: i64,
    fault_s: i64,
    fault: &Fault,
    stream: &Stream,
) -> Vec<Finding> {
    let settings = Settings::from(&EngineConfig::default());
    let detector = Detector::new(settings.leaf_dims.clone());
    let mut engine = Engine::new(settings);
    let mut rng = Rng::new(seed);
    let mut findings = Vec::new();
    let mut closed = Vec::new();
    for s in 0..duration_s {
        let in_fault = (WARMUP_S..WARMUP_S + fault_s).contains(&s);
        for k in 0..stream.rate_per_s {
            let t = match stream.busy {
                Some((t, share)) if rng.unit() < share => t,
                _ => rng.below(TERMINALS as usize) as u32,
            };
            let mut dims = terminal_dims(t);
            dims.set(Dim::Issuer, Sym(issuer(&mut rng)));
            let mut class = background(&mut rng);
            if in_fault {
                if let Some(c) = fault(t, &dims, &mut rng) {
                    class = c;
                }
            }
            // `Unknown` from a fault means the outcome never arrives (silence).
            if class == OutcomeClass::Unknown || (in_fault && stream.offline == Some(t)) {
                continue;
            }
            let mut entry = if rng.unit() < 0.01 {
                EntryMode::Fallback
            } else {
                EntryMode::Chip
            };
            if in_fault && entry == EntryMode::Chip && (stream.falls_back)(t, &mut rng) {
                entry = EntryMode::Fallback;
            }
            let host_answered = !matches!(
                class,
                OutcomeClass::HostTimeout | OutcomeClass::Comms | OutcomeClass::DeviceFault
            );
            let factor = if in_fault { (stream.slow)(&dims) } else { 1.0 };
            let latency = (400.0 * (0.3 * rng.normal()).exp() * factor) as u32;
            let ts = T0 + s * 1_000 + (k as i64 * 1_000 / stream.rate_per_s as i64);
            engine.record(&Event::Outcome(Outcome {
                // Device faults in these streams are failed chip reads.
                term_error: (class == OutcomeClass::DeviceFault)
                    .then_some(TermError::ChipReadError),
                amount_minor: Some(2_500),
                entry_mode: Some(entry),
                latency_ms: host_answered.then_some(latency),
                ..Outcome::new(Sym(t), ts, class, dims)
            }));
        }
        // Each terminal's heartbeat, once a minute at a second of its own
        // (scattered, so every place beats in every bucket); a terminal the
        // fault silences sends none.
        let slot = |t: u32| i64::from((t.wrapping_mul(2_654_435_761) >> 16) % 60);
        for t in (0..TERMINALS).filter(|t| (s + slot(*t)) % 60 == 0) {
            let dims = terminal_dims(t);
            let silenced = in_fault && fault(t, &dims, &mut rng) == Some(OutcomeClass::Unknown);
            if !silenced {
                let ts = T0 + s * 1_000 + i64::from(t % 1_000);
                let mut h = Heartbeat::new(Sym(t), ts, dims);
                (stream.beat)(t, in_fault, &mut h, &mut rng);
                engine.record(&Event::Heartbeat(h));
            }
        }
        engine.poll_closed(&mut closed);
        for mut snap in closed.drain(..) {
            let (found, anomalies) = detector.detect(&snap);
            findings.extend(found);
            engine.learn(&mut snap, &anomalies);
        }
    }
    findings
}

fn onset() -> i64 {
    T0 + WARMUP_S * 1_000
}

/// The first finding with `cause` on exactly `element`, and how long after
/// onset (event time) its window ended.
fn first(findings: &[Finding], cause: Cause, element: &[(Dim, Sym)]) -> Option<i64> {
    findings
        .iter()
        .find(|f| f.cause == cause && f.element == element)
        .map(|f| f.window_end_ms - onset())
}

/// Asserts a finding with `cause` on exactly `element` came at most
/// `limit_s` seconds after onset.
fn detected_within(findings: &[Finding], cause: Cause, element: &[(Dim, Sym)], limit_s: i64) {
    let ttd = first(findings, cause, element);
    assert!(
        matches!(ttd, Some(t) if t <= limit_s * 1000),
        "time to detect {ttd:?}: {:?}",
        summary(findings)
    );
}

/// (cause, element, seconds after onset) of each finding, for failure messages.
type Summary = Vec<(Cause, Vec<(Dim, Sym)>, i64)>;

fn summary(findings: &[Finding]) -> Summary {
    findings
        .iter()
        .map(|f| {
            (
                f.cause,
                f.element.clone(),
                (f.window_end_ms - onset()) / 1000,
            )
        })
        .collect()
}

#[test]
fn an_issuer_outage_with_rc_91_is_blamed_on_that_issuer_within_30_s() {
    let fault = |_: u32, d: &DimValues, _: &mut Rng| {
        (d.get(Dim::Issuer) == Sym(9)).then_some(OutcomeClass::IssuerUnavailable)
    };
    let findings = run(1, WARMUP_S + 180, 120, &fault);
    detected_within(&findings, Cause::BankIssuer, &[(Dim::Issuer, Sym(9))], 30);
    only_cause(&findings, Cause::BankIssuer);
}

#[test]
fn a_carrier_outage_in_one_region_is_the_network_there() {
    let fault = |_: u32, d: &DimValues, r: &mut Rng| {
        (d.get(Dim::Carrier) == Sym(1) && d.get(Dim::Region) == Sym(2) && r.unit() < 0.9)
            .then_some(OutcomeClass::Comms)
    };
    let findings = run(2, WARMUP_S + 180, 120, &fault);
    let want = [(Dim::Region, Sym(2)), (Dim::Carrier, Sym(1))];
    detected_within(&findings, Cause::Network, &want, 30);
}

#[test]
fn an_acquirer_switch_malfunction_across_issuers_is_the_acquirer() {
    let fault = |_: u32, d: &DimValues, r: &mut Rng| {
        (d.get(Dim::Acquirer) == Sym(1) && r.unit() < 0.6)
            .then_some(OutcomeClass::AcquirerSwitchError)
    };
    let findings = run(3, WARMUP_S + 180, 120, &fault);
    detected_within(
        &findings,
        Cause::BankAcquirer,
        &[(Dim::Acquirer, Sym(1))],
        30,
    );
}

#[test]
fn a_fleet_wide_surge_of_cardholder_declines_blames_nobody() {
    let fault = |_: u32, _: &DimValues, r: &mut Rng| {
        (r.unit() < 0.15).then_some(OutcomeClass::CardholderDecline)
    };
    let findings = run(4, WARMUP_S + 300, 300, &fault);
    assert!(findings.is_empty(), "{:?}", summary(&findings));
}

#[test]
fn an_hour_of_ordinary_noise_raises_nothing() {
    let findings = run(5, 3_600, 0, &|_, _, _| None);
    assert!(findings.is_empty(), "{:?}", summary(&findings));
}

#[test]
fn a_firmware_release_breaking_chip_reads_on_30_percent_of_its_cohort_is_device_software() {
    // Firmware 3 (a fifth of the fleet): 30 % of its terminals fail 90 % of reads.
    let fault = |t: u32, d: &DimValues, r: &mut Rng| {
        let broken = d.get(Dim::Firmware) == Sym(3) && (t / 5) % 10 < 3;
        (broken && r.unit() < 0.9).then_some(OutcomeClass::DeviceFault)
    };
    let findings = run(6, WARMUP_S + 180, 120, &fault);
    detected_within(
        &findings,
        Cause::DeviceSoftware,
        &[(Dim::Firmware, Sym(3))],
        60,
    );
    assert!(
        !findings
            .iter()
            .any(|f| f.terminal.is_none() && f.element.iter().any(|e| e.0 == Dim::Model)),
        "the model cohort running the firmware is not blamed: {:?}",
        summary(&findings)
    );
}

#[test]
fn a_misconfigured_merchant_answering_03_and_58_is_merchant_config() {
    let fault = |_: u32, d: &DimValues, _: &mut Rng| {
        (d.get(Dim::Merchant) == Sym(999)).then_some(OutcomeClass::TerminalConfig)
    };
    let findings = run(7, WARMUP_S + 180, 120, &fault);
    detected_within(
        &findings,
        Cause::MerchantConfig,
        &[(Dim::Merchant, Sym(999))],
        60,
    );
}

#[test]
fn a_dead_card_reader_is_one_device_found_within_five_failed_transactions() {
    let fault = |t: u32, _: &DimValues, _: &mut Rng| (t == 77).then_some(OutcomeClass::DeviceFault);
    let findings = run(8, WARMUP_S + 420, 400, &fault);
    let devices: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.cause == Cause::DeviceHardware)
        .collect();
    let first = devices
        .first()
        .unwrap_or_else(|| panic!("dead reader not found: {:?}", summary(&findings)));
    assert_eq!(first.terminal, Some(Sym(77)));
    assert!(
        first.observed <= 5.0,
        "found only after {} failed reads",
        first.observed
    );
    assert!(
        devices.iter().all(|f| f.terminal == Some(Sym(77))),
        "other terminals blamed: {:?}",
        summary(&findings)
    );
    only_cause(&findings, Cause::DeviceHardware);
}

#[test]
fn a_carrier_gone_quiet_in_one_region_is_a_network_silence_there() {
    // Carrier 1 in region 2 (1/12 of the traffic) stops sending.
    let fault = |_: u32, d: &DimValues, _: &mut Rng| {
        (d.get(Dim::Carrier) == Sym(1) && d.get(Dim::Region) == Sym(2))
            .then_some(OutcomeClass::Unknown)
    };
    let findings = run(5, WARMUP_S + 120, 90, &fault);
    let element = [(Dim::Region, Sym(2)), (Dim::Carrier, Sym(1))];
    detected_within(&findings, Cause::Network, &element, 20);
    assert!(
        findings
            .iter()
            .filter(|f| f.signal == Signal::Silence)
            .all(|f| f.element == element),
        "{:?}",
        summary(&findings)
    );
}

#[test]
fn no_silence_is_reported_for_a_data_gap() {
    let settings = Settings::from(&EngineConfig::default());
    let detector = Detector {
        warmup_buckets: 0,
        ..Detector::new(settings.leaf_dims.clone())
    };
    let mut engine = Engine::new(settings);
    let mut closed = Vec::new();
    let mut rng = Rng::new(3);
    let (mut silences, mut gaps) = (0, 0);
    for s in 0..600i64 {
        // The broker connection drops for two minutes; nothing arrives.
        if s == 300 {
            engine.set_connected(false, T0 + s * 1_000);
        }
        if s == 420 {
            engine.set_connected(true, T0 + s * 1_000);
        }
        if !(300..420).contains(&s) {
            for _ in 0..RATE_PER_S {
                let t = rng.below(2_000) as u32;
                engine.record(&Event::Outcome(Outcome::new(
                    Sym(t),
                    T0 + s * 1_000,
                    OutcomeClass::Approved,
                    terminal_dims(t),
                )));
            }
        }
        engine.on_idle(T0 + s * 1_000);
        engine.poll_closed(&mut closed);
        for mut snap in closed.drain(..) {
            let (found, anomalies) = detector.detect(&snap);
            silences += found.iter().filter(|f| f.signal == Signal::Silence).count();
            gaps += usize::from(snap.bucket.data_gap);
            engine.learn(&mut snap, &anomalies);
        }
    }
    assert!(
        gaps >= 10,
        "the disconnection closes buckets as data gaps: {gaps}"
    );
    assert_eq!(silences, 0);
}

#[test]
fn an_issuer_host_getting_slow_is_a_latency_finding_on_it_before_anything_fails() {
    // Issuer 9 (3 % of traffic) answers four times slower; nothing fails.
    let stream = Stream {
        slow: &|d| {
            if d.get(Dim::Issuer) == Sym(9) {
                4.0
            } else {
                1.0
            }
        },
        ..Stream::default()
    };
    let findings = run_stream(9, WARMUP_S + 180, 120, &|_, _, _| None, &stream);
    detected_within(&findings, Cause::BankIssuer, &[(Dim::Issuer, Sym(9))], 30);
    assert!(
        findings
            .iter()
            .all(|f| f.signal == Signal::Latency && f.element == [(Dim::Issuer, Sym(9))]),
        "only the slow issuer: {:?}",
        summary(&findings)
    );
    let (now, normal) = findings[0].p95_ms.expect("p95 carried");
    assert!(now > 2.5 * normal, "p95 {now} against {normal}");
}

#[test]
fn at_night_a_carrier_gone_quiet_in_one_region_is_found_by_its_missing_heartbeats() {
    // Two payments a second across 2,000 terminals: a carrier × region
    // pair expects under two outcomes per bucket, too few to miss, but
    // about 28 heartbeats.
    let stream = Stream {
        rate_per_s: 2,
        ..Stream::default()
    };
    let fault = |_: u32, d: &DimValues, _: &mut Rng| {
        (d.get(Dim::Carrier) == Sym(1) && d.get(Dim::Region) == Sym(2))
            .then_some(OutcomeClass::Unknown)
    };
    let findings = run_stream(10, WARMUP_S + 120, 90, &fault, &stream);
    let element = [(Dim::Region, Sym(2)), (Dim::Carrier, Sym(1))];
    detected_within(&findings, Cause::Network, &element, 20);
    assert!(
        findings
            .iter()
            .all(|f| f.signal == Signal::MissingHeartbeats && f.element == element),
        "{:?}",
        summary(&findings)
    );
}

/// Asserts `f` came at most `limit_s` seconds after onset.
fn found_within(f: &Finding, limit_s: i64, findings: &[Finding]) {
    assert!(
        f.window_end_ms - onset() <= limit_s * 1000,
        "found after {} s: {:?}",
        (f.window_end_ms - onset()) / 1000,
        summary(findings)
    );
}

/// Asserts every finding blames `cause`.
fn only_cause(findings: &[Finding], cause: Cause) {
    assert!(
        findings.iter().all(|f| f.cause == cause),
        "{:?}",
        summary(findings)
    );
}

/// Asserts every finding is about terminal `t`.
fn only_terminal(findings: &[Finding], t: u32) {
    assert!(
        findings.iter().all(|f| f.terminal == Some(Sym(t))),
        "{:?}",
        summary(findings)
    );
}

#[path = "golden_device_tests.rs"]
mod device;

#[path = "golden_health_tests.rs"]
mod health;
