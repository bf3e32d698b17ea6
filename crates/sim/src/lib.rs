//! The fleet simulator: a realistic fleet of card terminals, its traffic
//! second by second of event time, faults injected from scenario files with
//! a ground-truth label for each, and the scoring of detected incidents
//! against those labels. Deterministic from a seed; its only I/O is reading
//! scenario files and writing streams and labels ([`output`]).

pub mod fleet;
pub mod generate;
pub mod output;
mod payload;
pub mod rng;
pub mod scenario;
pub mod score;
mod stream;

pub use fleet::{Fleet, FleetSpec};
pub use generate::{Generator, Label, MaintenanceWindow, Message};
pub use scenario::{Fault, FaultKind, Scenario, ScenarioError};
