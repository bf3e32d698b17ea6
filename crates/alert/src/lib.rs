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
pub mod journal;

pub use book::{
    Evidence, FindingView, Incident, IncidentBook, Key, Notice, NoticeKind, Policy, Severity,
    Silence, State, Transition,
};
