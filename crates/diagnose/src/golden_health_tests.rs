//! Golden scenarios of device health: what heartbeats say about single
//! terminals, and places whose terminals cannot reach their host.

use super::*;

/// A fleet whose heartbeats carry health fields: uptime that grows,
/// batteries that sit between 40 and 100 %, the host reachable, nothing
/// queued; `fault` edits a terminal's heartbeat during the fault.
fn healthy(
    fault: &'static dyn Fn(u32, &mut Heartbeat, &mut Rng),
) -> impl Fn(u32, bool, &mut Heartbeat, &mut Rng) {
    move |t, in_fault, h, rng| {
        h.uptime_s = Some(86_400 + (h.ts_ms - T0).max(0) as u64 / 1000);
        h.battery_pct = Some(40 + (t % 61) as u8);
        h.host_reachable = Some(true);
        h.saf_queue_depth = Some(0);
        if in_fault {
            fault(t, h, rng);
        }
    }
}

fn health_run(seed: u64, fault_s: i64, beat: &Beat, fault: &Fault) -> Vec<Finding> {
    let stream = Stream {
        beat,
        // Terminal 13 trades offline when a test makes its queue grow.
        offline: Some(13),
        ..Stream::default()
    };
    run_stream(seed, WARMUP_S + fault_s + 60, fault_s, fault, &stream)
}

fn no_fault(_: u32, _: &DimValues, _: &mut Rng) -> Option<OutcomeClass> {
    None
}

#[test]
fn a_tamper_report_is_its_terminal_found_in_the_window_it_arrives() {
    let beat = healthy(&|t, h, _| h.tamper = t == 42);
    let findings = health_run(41, 180, &beat, &no_fault);
    let f = findings
        .iter()
        .find(|f| f.signal == Signal::Tamper)
        .expect("tamper found");
    assert_eq!(f.terminal, Some(Sym(42)));
    // One heartbeat a minute: at most a minute, plus the window's close.
    found_within(f, 60 + 40, &findings);
    only_terminal(&findings, 42);
}

#[test]
fn a_terminal_that_cannot_reach_its_host_while_the_fleet_can_is_its_own_route() {
    let beat = healthy(&|t, h, _| {
        if t == 7 {
            h.host_reachable = Some(false);
        }
    });
    let findings = health_run(43, 300, &beat, &no_fault);
    let f = findings
        .iter()
        .find(|f| f.signal == Signal::HostUnreachable)
        .expect("found");
    assert_eq!((f.terminal, f.cause), (Some(Sym(7)), Cause::DeviceHardware));
    // Two heartbeats in a row, a minute apart.
    found_within(f, 120 + 40, &findings);
    only_terminal(&findings, 7);
}

#[test]
fn an_acquirer_its_terminals_cannot_reach_is_one_finding_on_the_acquirer() {
    // Acquirer 1's front end is gone: its terminals reach swipewatch but
    // not it, and their payments fail with lost links.
    let beat = healthy(&|t, h, _| {
        if terminal_dims(t).get(Dim::Acquirer) == Sym(1) {
            h.host_reachable = Some(false);
        }
    });
    let fault = |_: u32, d: &DimValues, r: &mut Rng| {
        (d.get(Dim::Acquirer) == Sym(1) && r.unit() < 0.7).then_some(OutcomeClass::Comms)
    };
    let findings = health_run(47, 300, &beat, &fault);
    assert!(
        findings.iter().any(|f| f.signal == Signal::HostUnreachable
            && f.terminal.is_none()
            && f.cause == Cause::BankAcquirer
            && f.element == [(Dim::Acquirer, Sym(1))]),
        "{:?}",
        summary(&findings)
    );
    // Not a ticket per terminal.
    assert!(
        findings.iter().all(|f| f.terminal.is_none()),
        "{:?}",
        summary(&findings)
    );
    only_cause(&findings, Cause::BankAcquirer);
}

#[test]
fn a_restart_loop_a_draining_battery_a_growing_queue_and_a_clock_far_off_are_each_their_terminal() {
    let beat = healthy(&|t, h, _| {
        let since = ((h.ts_ms - T0) / 1000 - WARMUP_S).max(0);
        match t {
            // Restarts every two minutes.
            11 => h.uptime_s = Some((since % 120) as u64 + 5),
            // Down a point every few seconds from its usual level.
            12 => h.battery_pct = Some((40 + 12 - (since / 6).min(52)) as u8),
            // Trades offline (its payments do not arrive): one more
            // queued payment a minute.
            13 => h.saf_queue_depth = Some((since / 60 + 1) as u32),
            // Ten minutes ahead.
            14 => h.ts_ms += 600_000,
            _ => {}
        }
    });
    let findings = health_run(53, 600, &beat, &no_fault);
    for (signal, t) in [
        (Signal::RebootLoop, 11),
        (Signal::BatteryLow, 12),
        (Signal::OfflineQueue, 13),
        (Signal::ClockDrift, 14),
    ] {
        assert!(
            findings
                .iter()
                .any(|f| f.signal == signal && f.terminal == Some(Sym(t))),
            "{signal:?} of {t}: {:?}",
            summary(&findings)
        );
    }
    assert!(
        findings
            .iter()
            .all(|f| f.terminal.is_some_and(|t| (11..=14).contains(&t.0))),
        "{:?}",
        summary(&findings)
    );
}

#[test]
fn a_sender_whose_health_fields_are_noise_names_nobody() {
    // Every terminal reports a random battery, uptime and queue at every
    // heartbeat: no device behaves like that, and none is named.
    let beat = |_: u32, _: bool, h: &mut Heartbeat, r: &mut Rng| {
        h.battery_pct = Some(r.below(101) as u8);
        h.uptime_s = Some(r.below(86_400) as u64);
        h.saf_queue_depth = Some(r.below(100) as u32);
        h.host_reachable = Some(true);
    };
    let findings = health_run(59, 1_200, &beat, &no_fault);
    assert!(
        findings.iter().all(|f| !f.signal.is_health()),
        "{:?}",
        summary(&findings)
    );
}

#[test]
fn a_tamper_report_in_the_first_minutes_is_told_before_the_baselines_have_learned() {
    let beat = |t: u32, _: bool, h: &mut Heartbeat, _: &mut Rng| {
        h.tamper = t == 42 && h.ts_ms - T0 >= 60_000;
    };
    let findings = health_run(61, 60, &beat, &no_fault);
    let first = findings
        .iter()
        .find(|f| f.signal == Signal::Tamper)
        .expect("tamper found");
    assert_eq!(first.terminal, Some(Sym(42)));
    // Learning takes 30 buckets (300 s); the report came in the second minute.
    assert!(
        first.window_end_ms - T0 <= 180_000,
        "{:?}",
        summary(&findings)
    );
}
