//! The engine → diagnose → incidents path, synchronous and driven from
//! outside: the live service, `eval` and offline replay all move the same
//! [`Monitor`] and differ only in where events come from and when time moves.

mod evidence;
mod inventory;
mod maintenance;
mod monitor;
mod replay;

pub use evidence::EvidenceBook;
pub use inventory::{FleetInventory, InventoryStatus};
pub use maintenance::MaintenanceSchedule;
pub use monitor::{Monitor, WindowResult, TERMINAL_DIMS};
pub use replay::{detected, offline, transition_text, Replay};
