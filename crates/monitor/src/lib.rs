//! The engine → diagnose → incidents path, synchronous and driven from
//! outside: the live service, `eval` and offline replay all move the same
//! [`Monitor`] and differ only in where events come from and when time moves.

mod breakdown;
mod checkpoint;
mod evidence;
mod export;
mod inventory;
mod maintenance;
mod monitor;
mod replay;

pub use breakdown::{Breakdown, METRIC_DIMS};
pub use checkpoint::StateError;
pub use evidence::EvidenceBook;
pub use export::Export;
pub use inventory::{FleetInventory, InventoryStatus};
pub use maintenance::MaintenanceSchedule;
pub use monitor::{Monitor, WindowResult, TERMINAL_DIMS};
pub use replay::{offline, transition_text, Replay};
