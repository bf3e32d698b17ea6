//! Incidents: what on-call sees. Findings of consecutive windows with the
//! same cause and element are one incident, which goes pending → firing →
//! resolved with hysteresis so it does not flap. Maintenance windows
//! silence the incidents they cover. Pure and synchronous: the driver
//! passes each window's findings with the window's end time.
//!
//! Grouping across causes, inhibition, sinks and the durable log are not
//! built yet.

pub mod alertmanager;
mod book;

pub use book::{
    Evidence, FindingView, Incident, IncidentBook, Key, Policy, Silence, State, Transition,
};
