//! Incidents: what on-call sees. Findings of consecutive windows with the
//! same cause and element are one incident, which goes pending → firing →
//! resolved with hysteresis so it does not flap. Maintenance windows
//! silence the incidents they cover. Pure and synchronous: the driver
//! passes each window's findings with the window's end time.
//!
//! Single devices and silences that a bank or network incident explains
//! are listed under it instead of being sent (inhibition).

pub mod alertmanager;
mod book;
mod evidence;
mod incident;
pub mod incident_log;
mod relate;
mod silence;
pub mod wire;

pub use book::IncidentBook;
pub use incident::{
    Evidence, FindingView, Incident, Key, Notice, NoticeKind, Policy, Severity, State, Transition,
};
pub use silence::Silence;

/// Findings shared by the crate's tests.
#[cfg(test)]
mod fixtures {
    use crate::FindingView;
    use swipewatch_model::{Cause, Dim, OutcomeClass, Signal};

    /// An issuer outage at `value`: 50 failures where 1 was expected.
    pub(crate) fn issuer_finding(value: &str) -> FindingView {
        FindingView {
            cause: Cause::BankIssuer,
            element: vec![(Dim::Issuer, value.to_string())],
            terminal: None,
            observed: 50.0,
            expected: 1.0,
            classes: vec![(OutcomeClass::IssuerUnavailable, 49.0)],
            confidence: 1.0,
            signal: Signal::Failures,
            provisional: false,
            p95_ms: None,
            context: Vec::new(),
        }
    }
}
