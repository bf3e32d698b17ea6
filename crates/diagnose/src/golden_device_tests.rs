//! Golden scenarios of single terminals: a worn reader, a terminal losing
//! its own payments, terminals inside an outage, a dead reader inside a
//! failing firmware cohort.

use super::*;

#[test]
fn a_worn_chip_reader_falling_back_to_stripe_is_one_device_though_nothing_fails() {
    // Terminal 77 takes 4 % of payments; from onset, 40 % of its chip reads
    // fall back to stripe (the fleet: 1 %).
    let stream = Stream {
        busy: Some((77, 0.04)),
        falls_back: &|t, r| t == 77 && r.unit() < 0.4,
        ..Stream::default()
    };
    let findings = run_stream(11, WARMUP_S + 600, 600, &|_, _, _| None, &stream);
    let worn: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.signal == Signal::Fallbacks)
        .collect();
    let first = worn
        .first()
        .unwrap_or_else(|| panic!("worn reader not found: {:?}", summary(&findings)));
    assert_eq!(first.terminal, Some(Sym(77)));
    assert_eq!(first.cause, Cause::DeviceHardware);
    found_within(first, 30, &findings);
    only_terminal(&findings, 77);
}

#[test]
fn a_terminal_losing_a_fifth_of_its_payments_to_its_own_link_is_singled_out() {
    // Terminal 77 takes 0.5 % of payments (12 a minute) and loses 20 % of
    // them to comms errors: hardly ever a run long enough for the run
    // tests, far above its model's 1 % of own failures in its long memory.
    let stream = Stream {
        busy: Some((77, 0.005)),
        ..Stream::default()
    };
    let fault = |t: u32, _: &DimValues, r: &mut Rng| {
        (t == 77 && r.unit() < 0.2).then_some(OutcomeClass::Comms)
    };
    let findings = run_stream(12, WARMUP_S + 1_200, 1_200, &fault, &stream);
    let device = findings
        .iter()
        .find(|f| f.terminal == Some(Sym(77)))
        .unwrap_or_else(|| panic!("terminal not found: {:?}", summary(&findings)));
    // Its long memory must fill with the fault first.
    found_within(device, 900, &findings);
    assert_eq!(device.cause, Cause::DeviceHardware);
    assert_eq!(device.classes[0].0, OutcomeClass::Comms);
    only_terminal(&findings, 77);
}

#[test]
fn terminals_inside_a_carrier_outage_are_not_reported_for_their_own_rates() {
    // Carrier 1 in region 2 loses 30 % of payments: no runs, but every
    // terminal there has far more comms failures than its model.
    // Terminal 6 (region 2, carrier 1) is busy.
    let stream = Stream {
        busy: Some((6, 0.04)),
        ..Stream::default()
    };
    let fault = |_: u32, d: &DimValues, r: &mut Rng| {
        (d.get(Dim::Carrier) == Sym(1) && d.get(Dim::Region) == Sym(2) && r.unit() < 0.3)
            .then_some(OutcomeClass::Comms)
    };
    let findings = run_stream(13, WARMUP_S + 300, 300, &fault, &stream);
    let element = [(Dim::Region, Sym(2)), (Dim::Carrier, Sym(1))];
    assert!(
        first(&findings, Cause::Network, &element).is_some(),
        "{:?}",
        summary(&findings)
    );
    assert!(
        findings.iter().all(|f| f.terminal.is_none()),
        "{:?}",
        summary(&findings)
    );
}

#[test]
fn an_acquirer_host_unreachable_from_every_carrier_is_the_acquirer_not_its_terminals() {
    // One acquirer's front end stops answering: its terminals lose the link
    // to it on every carrier and in every region.
    let fault = |_: u32, d: &DimValues, r: &mut Rng| {
        (d.get(Dim::Acquirer) == Sym(1) && r.unit() < 0.7).then_some(OutcomeClass::Comms)
    };
    let findings = run(31, WARMUP_S + 180, 120, &fault);
    detected_within(
        &findings,
        Cause::BankAcquirer,
        &[(Dim::Acquirer, Sym(1))],
        30,
    );
    assert!(
        findings
            .iter()
            .all(|f| f.cause == Cause::BankAcquirer && f.terminal.is_none()),
        "{:?}",
        summary(&findings)
    );
}

#[test]
fn an_issuer_answering_96_and_timing_out_is_the_issuer() {
    // The issuer's host errs: the switch passes on 96 (system malfunction)
    // or the request times out, for that issuer's cards only, through
    // every acquirer.
    let fault = |_: u32, d: &DimValues, r: &mut Rng| {
        if d.get(Dim::Issuer) != Sym(9) {
            return None;
        }
        let x = r.unit();
        (x < 0.8).then_some(if x < 0.5 {
            OutcomeClass::AcquirerSwitchError
        } else {
            OutcomeClass::HostTimeout
        })
    };
    let findings = run(32, WARMUP_S + 180, 120, &fault);
    detected_within(&findings, Cause::BankIssuer, &[(Dim::Issuer, Sym(9))], 30);
    only_cause(&findings, Cause::BankIssuer);
}

#[test]
fn a_fleet_wide_surge_of_05_51_and_61_blames_nobody() {
    // Payday, or a new fraud rule at every issuer: more do-not-honour (05,
    // an issuer policy class) besides insufficient funds and limits,
    // spread over the fleet in proportion to its traffic.
    let fault = |_: u32, _: &DimValues, r: &mut Rng| {
        let x = r.unit();
        (x < 0.12).then_some(if x < 0.04 {
            OutcomeClass::IssuerPolicyDecline
        } else {
            OutcomeClass::CardholderDecline
        })
    };
    let findings = run(33, WARMUP_S + 300, 300, &fault);
    assert!(findings.is_empty(), "{:?}", summary(&findings));
}

#[test]
fn a_dead_reader_inside_a_failing_firmware_cohort_is_reported_while_it_stays_dead() {
    // Terminal 77 (firmware 2) is busy and its reader is dead; the rest of
    // firmware 2 fails a fifth of its chip reads. The reader must be found
    // and kept reported (its ticket is not resolved while it fails), and
    // the firmware found too.
    let stream = Stream {
        busy: Some((77, 0.01)),
        ..Stream::default()
    };
    let fault = |t: u32, d: &DimValues, r: &mut Rng| {
        (t == 77 || (d.get(Dim::Firmware) == Sym(2) && r.unit() < 0.2))
            .then_some(OutcomeClass::DeviceFault)
    };
    let findings = run_stream(34, WARMUP_S + 420, 420, &fault, &stream);
    let seen: Vec<i64> = findings
        .iter()
        .filter(|f| f.terminal == Some(Sym(77)))
        .map(|f| f.window_end_ms)
        .collect();
    assert!(!seen.is_empty(), "{:?}", summary(&findings));
    let mut times = vec![onset()];
    times.extend(&seen);
    times.push(onset() + 420_000);
    let longest_gap = times.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    // Well under the 30 quiet windows (300 s) that resolve a device.
    assert!(
        longest_gap <= 120_000,
        "gap {longest_gap} ms: {:?}",
        summary(&findings)
    );
    assert!(
        first(&findings, Cause::DeviceSoftware, &[(Dim::Firmware, Sym(2))]).is_some(),
        "{:?}",
        summary(&findings)
    );
}
