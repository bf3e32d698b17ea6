//! How incidents relate: devices and silences listed under the outage
//! that explains them, severity, nesting of elements, provisional
//! findings, tamper reports.

use super::tests::{finding, silence_on, states};
use super::*;
use swipewatch_model::{Cause, Dim};

pub(super) fn device(terminal: &str, class: OutcomeClass, context: &[(Dim, &str)]) -> FindingView {
    FindingView {
        cause: Cause::DeviceHardware,
        element: vec![(Dim::Model, "a920".to_string())],
        terminal: Some(terminal.to_string()),
        observed: 8.0,
        expected: 0.0,
        classes: vec![(class, 8.0)],
        confidence: 0.5,
        signal: Signal::Failures,
        provisional: false,
        p95_ms: None,
        context: context.iter().map(|(d, v)| (*d, v.to_string())).collect(),
    }
}

fn network(pairs: &[(Dim, &str)], silence: bool) -> FindingView {
    FindingView {
        cause: Cause::Network,
        element: pairs.iter().map(|(d, v)| (*d, v.to_string())).collect(),
        terminal: None,
        observed: if silence { 2.0 } else { 400.0 },
        expected: if silence { 300.0 } else { 10.0 },
        classes: if silence {
            Vec::new()
        } else {
            vec![(OutcomeClass::Comms, 390.0)]
        },
        confidence: 0.9,
        signal: if silence {
            Signal::Silence
        } else {
            Signal::Failures
        },
        provisional: false,
        p95_ms: None,
        context: Vec::new(),
    }
}

/// The default policy with no device hold: terminals that only fail
/// fire after two windows, as behind an engine without lateness.
fn without_hold() -> Policy {
    Policy {
        device_hold_ms: 0,
        ..Policy::default()
    }
}

pub(super) fn notices(book: &mut IncidentBook) -> Vec<(NoticeKind, String)> {
    book.take_notices()
        .into_iter()
        .map(|n| (n.kind, n.incident.key.describe()))
        .collect()
}

#[test]
fn devices_and_silences_inside_a_network_outage_are_listed_under_it_and_never_notified() {
    let mut book = IncidentBook::new(without_hold());
    let outage = network(&[(Dim::Carrier, "telco"), (Dim::Region, "north")], false);
    let on_it = device(
        "T1",
        OutcomeClass::Comms,
        &[(Dim::Carrier, "telco"), (Dim::Region, "north")],
    );
    let elsewhere = device(
        "T2",
        OutcomeClass::Comms,
        &[(Dim::Carrier, "telco"), (Dim::Region, "south")],
    );
    let quiet_region = network(&[(Dim::Region, "north")], true);
    // Everything is pending in the first window; the pending outage
    // already holds back the device on it.
    book.update(
        10_000,
        &[
            outage.clone(),
            on_it.clone(),
            elsewhere.clone(),
            quiet_region.clone(),
        ],
    );
    assert!(notices(&mut book).is_empty());
    book.update(
        20_000,
        &[
            outage.clone(),
            on_it.clone(),
            elsewhere.clone(),
            quiet_region.clone(),
        ],
    );
    assert_eq!(
        notices(&mut book),
        [
            (NoticeKind::Fired, "model=a920&terminal=T2".to_string()),
            (NoticeKind::Fired, "carrier=telco&region=north".to_string())
        ]
    );
    let parent = book
        .open()
        .find(|i| i.key.cause == Cause::Network && !i.latest.signal.is_silence())
        .map(|i| i.id)
        .expect("outage open");
    let mut children: Vec<String> = book.children(parent).map(|i| i.key.describe()).collect();
    children.sort();
    assert_eq!(children, ["model=a920&terminal=T1", "region=north"]);
    // The outage ends first; its children stay under it until they end:
    // the tail of an outage never pages.
    for t in 3..=5 {
        book.update(t * 10_000, std::slice::from_ref(&on_it));
    }
    assert_eq!(
        notices(&mut book),
        [(
            NoticeKind::Resolved,
            "carrier=telco&region=north".to_string()
        )]
    );
    assert!(book
        .open()
        .all(|i| i.key.terminal.as_deref() != Some("T1") || i.inhibited_by == Some(parent)));
    for t in 6..=40 {
        book.update(t * 10_000, &[]);
    }
    let kinds: Vec<(NoticeKind, String)> = notices(&mut book);
    assert_eq!(
        kinds,
        [(NoticeKind::Resolved, "model=a920&terminal=T2".to_string())]
    );
}

#[test]
fn an_inhibition_by_an_outage_that_never_fired_is_lifted() {
    let mut book = IncidentBook::new(without_hold());
    let blip = network(&[(Dim::Carrier, "telco")], false);
    let on_it = device("T1", OutcomeClass::Comms, &[(Dim::Carrier, "telco")]);
    book.update(10_000, &[blip, on_it.clone()]);
    assert!(notices(&mut book).is_empty());
    book.update(20_000, &[on_it]);
    assert_eq!(
        notices(&mut book),
        [(NoticeKind::Fired, "model=a920&terminal=T1".to_string())]
    );
}

#[test]
fn a_device_failing_with_the_issuers_codes_is_listed_under_the_issuer_outage() {
    let mut book = IncidentBook::new(Policy::default());
    let outage = finding(Cause::BankIssuer, "northbank");
    let d = device(
        "T9",
        OutcomeClass::IssuerUnavailable,
        &[(Dim::Region, "east")],
    );
    let reader = device("T8", OutcomeClass::DeviceFault, &[(Dim::Region, "east")]);
    book.update(10_000, &[outage.clone(), d.clone(), reader.clone()]);
    book.update(20_000, &[outage, d, reader]);
    let told: Vec<String> = notices(&mut book).into_iter().map(|n| n.1).collect();
    assert_eq!(told, ["model=a920&terminal=T8", "issuer=northbank"]);
}

#[test]
fn severity_pages_for_a_large_bank_outage_warns_for_a_small_one_and_tickets_a_device() {
    let mut book = IncidentBook::new(Policy::default());
    let mut small = finding(Cause::BankIssuer, "tinybank");
    small.observed = 4.0;
    small.expected = 1.0;
    let big = finding(Cause::BankIssuer, "northbank");
    let d = device("T1", OutcomeClass::DeviceFault, &[]);
    book.update(10_000, &[small.clone(), big.clone(), d.clone()]);
    book.update(20_000, &[small, big, d]);
    let mut by_element: Vec<(String, Severity)> = book
        .take_notices()
        .into_iter()
        .map(|n| (n.incident.key.describe(), n.incident.severity))
        .collect();
    by_element.sort();
    assert_eq!(
        by_element,
        [
            ("issuer=northbank".to_string(), Severity::Page),
            ("issuer=tinybank".to_string(), Severity::Warning),
            ("model=a920&terminal=T1".to_string(), Severity::Ticket),
        ]
    );
}

#[test]
fn a_silenced_incident_is_not_notified_until_its_silence_ends() {
    let mut book = IncidentBook::new(Policy::default());
    book.silence(silence_on(Dim::Issuer, "northbank", 30_000));
    let f = [finding(Cause::BankIssuer, "northbank")];
    book.update(10_000, &f);
    book.update(20_000, &f);
    assert!(book.take_notices().is_empty());
    assert!(book.open().all(|i| i.silenced && i.state == State::Firing));
    // Past the silence and its grace, it is still failing: now it is told.
    book.update(160_000, &f);
    assert_eq!(
        notices(&mut book),
        [(NoticeKind::Fired, "issuer=northbank".to_string())]
    );
}

#[test]
fn a_device_whose_failure_class_changes_stays_one_incident() {
    let mut book = IncidentBook::new(without_hold());
    let first = device("T1", OutcomeClass::AcquirerSwitchError, &[]);
    let mut later = device("T1", OutcomeClass::HostTimeout, &[]);
    later.cause = Cause::MerchantConfig;
    book.update(10_000, &[first]);
    book.update(20_000, &[later]);
    assert_eq!(book.open().count(), 1);
    assert_eq!(book.take_notices().len(), 1);
}

#[test]
fn windows_older_than_the_latest_finding_do_not_resolve_an_incident() {
    let mut book = IncidentBook::new(Policy::default());
    let f = [finding(Cause::BankIssuer, "northbank")];
    book.update(100_000, &f);
    book.update(110_000, &f);
    for end in [60_000, 70_000, 80_000, 90_000, 110_000] {
        assert!(book.update(end, &[]).is_empty(), "window ending {end}");
    }
    assert_eq!(book.open().count(), 1);
    book.update(120_000, &[]);
    book.update(130_000, &[]);
    assert_eq!(states(&book.update(140_000, &[])), ["resolved"]);
}

#[test]
fn a_silence_on_a_carrier_covers_a_device_there_and_expiring_it_lets_the_device_be_told() {
    let mut book = IncidentBook::new(Policy::default());
    let s = book.silence(silence_on(Dim::Carrier, "telco", 3_600_000));
    assert_eq!(s.id, 1);
    let d = device("T1", OutcomeClass::Comms, &[(Dim::Carrier, "telco")]);
    book.update(10_000, std::slice::from_ref(&d));
    assert!(book.take_notices().is_empty());
    assert!(book.open().all(|i| i.silenced));
    let expired = book.expire_silence(1, 20_000).expect("known silence");
    assert_eq!(expired.end_ms, 20_000);
    assert!(book.expire_silence(7, 20_000).is_none());
    book.update(200_000, &[d]);
    assert_eq!(
        notices(&mut book),
        [(NoticeKind::Fired, "model=a920&terminal=T1".to_string())]
    );
}

#[test]
fn a_terminal_of_a_misconfigured_merchant_is_listed_under_the_merchant() {
    let mut book = IncidentBook::new(Policy::default());
    let merchant = FindingView {
        cause: Cause::MerchantConfig,
        element: vec![(Dim::Merchant, "m-1".to_string())],
        classes: vec![(OutcomeClass::TerminalConfig, 40.0)],
        ..finding(Cause::MerchantConfig, "x")
    };
    let t = device(
        "T1",
        OutcomeClass::TerminalConfig,
        &[(Dim::Merchant, "m-1")],
    );
    book.update(10_000, &[merchant.clone(), t.clone()]);
    book.update(20_000, &[merchant, t]);
    let told: Vec<String> = notices(&mut book).into_iter().map(|n| n.1).collect();
    assert_eq!(told, ["merchant=m-1"]);
}

#[test]
fn after_an_outage_resolves_its_terminals_are_still_listed_under_it_for_a_while_but_not_other_faults(
) {
    let mut book = IncidentBook::new(Policy::default());
    let place = [(Dim::Carrier, "telco"), (Dim::Region, "north")];
    let outage = network(&place, false);
    let mut t = 10_000;
    for _ in 0..3 {
        book.update(t, std::slice::from_ref(&outage));
        t += 10_000;
    }
    for _ in 0..3 {
        book.update(t, &[]);
        t += 10_000;
    }
    assert!(book.open().next().is_none(), "the outage resolved");
    let parent = book.resolved().next().map(|i| i.id);
    // Ten minutes later a terminal there still fails its per-terminal test
    // with the outage's class: listed under the resolved outage, not told.
    t += 600_000;
    let stale = device("T1", OutcomeClass::Comms, &place);
    let reader = device("T2", OutcomeClass::DeviceFault, &place);
    for _ in 0..3 {
        book.update(t, &[stale.clone(), reader.clone()]);
        t += 10_000;
    }
    let by_terminal = |id: &str| {
        book.open()
            .find(|i| i.key.terminal.as_deref() == Some(id))
            .map(|i| i.inhibited_by)
    };
    assert_eq!(by_terminal("T1"), Some(parent));
    // A dead reader there is a fault of its own.
    assert_eq!(by_terminal("T2"), Some(None));
    assert_eq!(
        notices(&mut book)
            .into_iter()
            .filter(|(k, _)| *k == NoticeKind::Fired)
            .map(|(_, d)| d)
            .collect::<Vec<_>>()
            .iter()
            .filter(|d| d.contains("terminal="))
            .count(),
        1,
        "only the dead reader is told"
    );
    // Past the aftermath, the same finding is a terminal's own.
    let mut late = IncidentBook::new(Policy::default());
    let mut t = 10_000;
    for f in [
        vec![outage.clone()],
        vec![outage.clone()],
        vec![],
        vec![],
        vec![],
    ] {
        late.update(t, &f);
        t += 10_000;
    }
    t += Policy::default().aftermath_ms + 60_000;
    for _ in 0..3 {
        late.update(t, std::slice::from_ref(&stale));
        t += 10_000;
    }
    let inc = late.open().next().expect("device open");
    assert_eq!(inc.inhibited_by, None);
}

#[test]
fn a_pending_finding_that_narrows_or_widens_stays_one_incident_and_fires_on_time() {
    let mut book = IncidentBook::new(Policy::default());
    let part = network(
        &[
            (Dim::Carrier, "skylink"),
            (Dim::Region, "north"),
            (Dim::NetType, "4g"),
        ],
        false,
    );
    let whole = network(&[(Dim::Carrier, "skylink"), (Dim::Region, "north")], false);
    assert_eq!(states(&book.update(10_000, &[part])), ["opened"]);
    let t = book.update(20_000, std::slice::from_ref(&whole));
    assert_eq!(states(&t), ["refined", "fired"]);
    let inc = t[1].incident();
    assert_eq!((inc.id, inc.first_ms), (1, 10_000));
    assert_eq!(inc.key.element, whole.element);
    assert_eq!(book.open().count(), 1);
}

#[test]
fn a_firing_incident_keeps_its_element_when_its_finding_nests_and_other_causes_stay_apart() {
    let mut book = IncidentBook::new(Policy::default());
    let whole = network(&[(Dim::Carrier, "skylink"), (Dim::Region, "north")], false);
    book.update(10_000, std::slice::from_ref(&whole));
    book.update(20_000, std::slice::from_ref(&whole));
    let mut part = network(
        &[
            (Dim::Carrier, "skylink"),
            (Dim::Region, "north"),
            (Dim::NetType, "4g"),
        ],
        false,
    );
    // Another cause on the same place is another incident.
    let mut other = part.clone();
    other.cause = Cause::BankAcquirer;
    let t = book.update(30_000, &[part.clone(), other]);
    assert_eq!(states(&t), ["opened"]);
    assert_eq!(t[0].incident().key.cause, Cause::BankAcquirer);
    // Three more windows of the part alone do not resolve the whole.
    for end in [40_000, 50_000, 60_000] {
        part.observed += 1.0;
        assert!(book
            .update(end, std::slice::from_ref(&part))
            .iter()
            .all(|t| t.incident().key.cause != Cause::Network));
    }
    let network: Vec<&Incident> = book
        .open()
        .filter(|i| i.key.cause == Cause::Network)
        .collect();
    assert_eq!(network.len(), 1);
    assert_eq!(network[0].key.element, whole.element);
    assert_eq!(network[0].state, State::Firing);
}

#[test]
fn a_part_found_beside_its_whole_in_one_window_is_not_an_incident_of_its_own() {
    let mut book = IncidentBook::new(Policy::default());
    let whole = network(&[(Dim::Carrier, "skylink"), (Dim::Region, "north")], false);
    let mut part = whole.clone();
    part.element.push((Dim::NetType, "4g".to_string()));
    part.observed = 40.0;
    for end in [10_000, 20_000, 30_000] {
        book.update(end, &[whole.clone(), part.clone()]);
    }
    let open: Vec<&Incident> = book.open().collect();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].key.element, whole.element);
    assert_eq!(open[0].state, State::Firing);
}

#[test]
fn a_provisional_window_counts_toward_confirmation_but_never_fires_alone() {
    let mut book = IncidentBook::new(Policy::default());
    let mut early = finding(Cause::BankIssuer, "northbank");
    early.provisional = true;
    assert_eq!(
        states(&book.update(10_000, std::slice::from_ref(&early))),
        ["opened"]
    );
    assert!(book.update(20_000, std::slice::from_ref(&early)).is_empty());
    // The first window at the floor fires it: the earlier ones confirmed it.
    let full = finding(Cause::BankIssuer, "northbank");
    let t = book.update(30_000, &[full]);
    assert_eq!(states(&t), ["fired"]);
    assert_eq!(t[0].incident().first_ms, 10_000);
}

#[test]
fn a_tamper_report_pages_at_once_beside_the_terminals_failures_and_is_never_listed_under_an_outage()
{
    let mut book = IncidentBook::new(without_hold());
    let place = [(Dim::Carrier, "telco"), (Dim::Region, "north")];
    let outage = network(&place, false);
    let failing = device("T1", OutcomeClass::Comms, &place);
    let tamper = FindingView {
        signal: Signal::Tamper,
        classes: Vec::new(),
        ..device("T1", OutcomeClass::Comms, &place)
    };
    let lost = FindingView {
        signal: Signal::HostUnreachable,
        classes: Vec::new(),
        ..device("T1", OutcomeClass::Comms, &place)
    };
    book.update(
        10_000,
        &[
            outage.clone(),
            failing.clone(),
            tamper.clone(),
            lost.clone(),
        ],
    );
    book.update(20_000, &[outage, failing, tamper, lost]);
    let open: Vec<&Incident> = book.open().collect();
    assert_eq!(open.len(), 4, "{open:?}");
    let of = |health: Option<Signal>| {
        open.iter()
            .find(|i| i.key.terminal.is_some() && i.key.health == health)
            .expect("its own incident")
    };
    let tampered = of(Some(Signal::Tamper));
    assert_eq!(tampered.severity, Severity::Page);
    assert_eq!(tampered.fired_ms, Some(10_000));
    assert!(tampered.inhibited_by.is_none());
    // The terminal's failures and its lost host are the outage's.
    assert!(of(None).inhibited_by.is_some());
    assert!(of(Some(Signal::HostUnreachable)).inhibited_by.is_some());
    assert_eq!(of(Some(Signal::HostUnreachable)).severity, Severity::Ticket);
    let told = notices(&mut book);
    assert!(
        told.iter()
            .any(|(_, k)| k == "model=a920&terminal=T1 (tamper)"),
        "{told:?}"
    );
}
