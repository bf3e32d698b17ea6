use super::relate_tests::{device, notices};
use super::*;
use swipewatch_model::{Cause, Dim};

pub(super) fn finding(cause: Cause, value: &str) -> FindingView {
    FindingView {
        cause,
        element: vec![(Dim::Issuer, value.to_string())],
        terminal: None,
        observed: 50.0,
        expected: 5.0,
        classes: vec![(OutcomeClass::IssuerUnavailable, 45.0)],
        confidence: 0.9,
        signal: Signal::Failures,
        provisional: false,
        p95_ms: None,
        context: Vec::new(),
    }
}

/// A maintenance silence on one value, from 0 to `end_ms`.
pub(super) fn silence_on(dim: Dim, value: &str, end_ms: i64) -> Silence {
    Silence {
        id: 0,
        matchers: vec![(dim, value.to_string())],
        cause: None,
        start_ms: 0,
        end_ms,
        comment: "maintenance".to_string(),
    }
}

pub(super) fn states(t: &[Transition]) -> Vec<&'static str> {
    t.iter()
        .map(|t| match t {
            Transition::Opened(_) => "opened",
            Transition::Fired(_) => "fired",
            Transition::Resolved(_) => "resolved",
            Transition::Refined(_) => "refined",
        })
        .collect()
}

#[test]
fn an_incident_fires_after_two_windows_and_resolves_after_three_quiet_ones() {
    let mut book = IncidentBook::new(Policy::default());
    let f = [finding(Cause::BankIssuer, "northbank")];
    assert_eq!(states(&book.update(10_000, &f)), ["opened"]);
    assert_eq!(states(&book.update(20_000, &f)), ["fired"]);
    assert!(book.update(30_000, &f).is_empty());
    assert!(book.update(40_000, &[]).is_empty());
    // A finding in between resets the quiet run: no flapping.
    assert!(book.update(50_000, &f).is_empty());
    assert!(book.update(60_000, &[]).is_empty());
    assert!(book.update(70_000, &[]).is_empty());
    let t = book.update(80_000, &[]);
    assert_eq!(states(&t), ["resolved"]);
    let Transition::Resolved(inc) = &t[0] else {
        unreachable!()
    };
    assert_eq!(
        (inc.first_ms, inc.fired_ms, inc.last_ms),
        (10_000, Some(20_000), 50_000)
    );
    assert_eq!(inc.windows, 4);
    assert_eq!(book.open().count(), 0);
    assert_eq!(book.resolved().count(), 1);
}

#[test]
fn a_one_window_blip_never_fires_and_is_not_kept() {
    let mut book = IncidentBook::new(Policy::default());
    book.update(10_000, &[finding(Cause::BankIssuer, "northbank")]);
    assert_eq!(states(&book.update(20_000, &[])), ["resolved"]);
    assert_eq!(book.resolved().count(), 0);
}

#[test]
fn a_dead_device_fires_in_its_first_window() {
    let mut book = IncidentBook::new(Policy::default());
    let mut f = finding(Cause::DeviceHardware, "px3-5.2.1");
    f.terminal = Some("pos-000001".into());
    f.classes = vec![(OutcomeClass::DeviceFault, 3.0)];
    assert_eq!(states(&book.update(10_000, &[f])), ["opened", "fired"]);
}

#[test]
fn a_terminal_that_only_fails_waits_for_the_windows_behind_its_live_run() {
    let mut book = IncidentBook::new(Policy::default());
    let mut f = finding(Cause::DeviceHardware, "px3-5.2.1");
    f.terminal = Some("pos-000001".into());
    f.classes = vec![(OutcomeClass::HostTimeout, 8.0)];
    let f = [f];
    assert_eq!(states(&book.update(10_000, &f)), ["opened"]);
    // Two windows are not enough: the run was read ahead of them.
    for at in [20_000, 30_000, 40_000] {
        assert!(book.update(at, &f).is_empty(), "fired at {at}");
    }
    assert_eq!(states(&book.update(50_000, &f)), ["fired"]);
}

#[test]
fn a_terminal_seen_failing_before_its_acquirers_outage_is_found_is_listed_under_it() {
    let mut book = IncidentBook::new(Policy::default());
    let terminal = device(
        "T1",
        OutcomeClass::AcquirerSwitchError,
        &[(Dim::Acquirer, "acq-gamma")],
    );
    let mut outage = finding(Cause::BankAcquirer, "acq-gamma");
    outage.element = vec![(Dim::Acquirer, "acq-gamma".to_string())];
    outage.classes = vec![
        (OutcomeClass::AcquirerSwitchError, 170.0),
        (OutcomeClass::HostTimeout, 50.0),
    ];
    // The terminal's live run shows the outage three windows before the
    // windows do (the allowed lateness).
    for at in [10_000, 20_000, 30_000] {
        book.update(at, std::slice::from_ref(&terminal));
    }
    for at in [40_000, 50_000, 60_000] {
        book.update(at, &[terminal.clone(), outage.clone()]);
    }
    let told: Vec<String> = notices(&mut book).into_iter().map(|n| n.1).collect();
    assert_eq!(told, ["acquirer=acq-gamma"]);
    let bank = book.open().find(|i| i.key.terminal.is_none()).map(|i| i.id);
    assert!(book
        .open()
        .filter(|i| i.key.terminal.is_some())
        .all(|i| i.inhibited_by == bank && bank.is_some()));
}

#[test]
fn distinct_elements_are_distinct_incidents_with_increasing_ids() {
    let mut book = IncidentBook::new(Policy::default());
    let f = [
        finding(Cause::BankIssuer, "a"),
        finding(Cause::BankIssuer, "b"),
    ];
    book.update(10_000, &f);
    let ids: Vec<u64> = book.open().map(|i| i.id).collect();
    assert_eq!(ids, [1, 2]);
}

#[test]
fn a_maintenance_window_silences_what_it_covers_only_while_in_force() {
    let mut book = IncidentBook::new(Policy {
        silence_grace_ms: 0,
        ..Policy::default()
    });
    book.silence(silence_on(Dim::Issuer, "northbank", 15_000));
    book.update(
        10_000,
        &[
            finding(Cause::BankIssuer, "northbank"),
            finding(Cause::BankIssuer, "other"),
        ],
    );
    let silenced: Vec<bool> = book.open().map(|i| i.silenced).collect();
    assert_eq!(silenced, [true, false]);
    book.update(20_000, &[finding(Cause::BankIssuer, "northbank")]);
    assert!(book.open().all(|i| !i.silenced));
}

#[test]
fn raising_a_device_between_windows_fires_it_and_leaves_other_incidents_alone() {
    let mut book = IncidentBook::new(Policy::default());
    book.update(10_000, &[finding(Cause::BankIssuer, "northbank")]);
    let mut dev = finding(Cause::DeviceHardware, "px3-5.2.1");
    dev.terminal = Some("pos-000001".into());
    dev.classes = vec![(OutcomeClass::DeviceFault, 3.0)];
    assert_eq!(states(&book.raise(13_500, &[dev])), ["opened", "fired"]);
    let open: Vec<(Cause, State)> = book.open().map(|i| (i.key.cause, i.state)).collect();
    assert_eq!(
        open,
        [
            (Cause::DeviceHardware, State::Firing),
            (Cause::BankIssuer, State::Pending)
        ]
    );
    assert_eq!(
        book.open()
            .find(|i| i.key.terminal.is_some())
            .map(|i| i.fired_ms),
        Some(Some(13_500))
    );
}

proptest::proptest! {
    /// A signal oscillating around the threshold (present in some windows,
    /// absent in fewer than `resolve_after` in a row) fires once and never
    /// flaps; once it stays away, it resolves exactly once.
    #[test]
    fn an_oscillating_signal_fires_once_and_never_flaps(gaps in proptest::collection::vec(0u32..3, 1..40)) {
        let mut book = IncidentBook::new(Policy::default());
        let f = [finding(Cause::BankIssuer, "northbank")];
        let mut t = 0;
        let mut all = Vec::new();
        let mut window = |book: &mut IncidentBook, present: bool, all: &mut Vec<&'static str>| {
            t += 10_000;
            let out = book.update(t, if present { &f[..] } else { &[] });
            all.extend(states(&out));
        };
        window(&mut book, true, &mut all);
        window(&mut book, true, &mut all);
        for gap in gaps {
            for _ in 0..gap {
                window(&mut book, false, &mut all);
            }
            window(&mut book, true, &mut all);
        }
        proptest::prop_assert_eq!(&all, &["opened", "fired"]);
        for _ in 0..3 {
            window(&mut book, false, &mut all);
        }
        proptest::prop_assert_eq!(&all, &["opened", "fired", "resolved"]);
    }
}

#[test]
fn a_maintenance_window_still_covers_the_tail_of_its_windows_for_the_grace() {
    let mut book = IncidentBook::new(Policy::default());
    book.silence(silence_on(Dim::Issuer, "northbank", 15_000));
    let f = [finding(Cause::BankIssuer, "northbank")];
    for t in [10_000, 20_000, 100_000, 130_000] {
        book.update(t, &f);
    }
    // Silenced up to the end plus two minutes, then it pages.
    let at = |book: &IncidentBook| book.open().map(|i| i.silenced).collect::<Vec<_>>();
    assert_eq!(at(&book), [true]);
    book.update(140_000, &f);
    assert_eq!(at(&book), [false]);
}
