//! Domain types shared by every swipewatch stage.
//!
//! This crate is deliberately small (serde and chrono only): the stage crates
//! (ingest, engine, diagnose, alert, server) meet through these types rather
//! than through each other's internals.
//!
//! * [`event`]: transaction outcomes and heartbeats as they look after
//!   validation, compact and free of heap strings so the hot path stays cheap.
//! * [`dims`] and [`intern`]: the dimensions an outcome is sliced by and the
//!   interned values they take, so counters are keyed by integers.
//! * [`taxonomy`]: the outcome classes and the per-source response-code tables
//!   that map raw ISO 8583 / scheme codes onto them.
//! * [`cause`]: the sides an incident can be blamed on; [`runbook`]: what
//!   on-call does first, by side, signal and leading failure class.

pub mod bin;
pub mod cause;
pub mod currency;
pub mod dims;
pub mod event;
pub mod intern;
pub mod inventory;
pub mod message;
pub mod pan;
pub mod reject;
mod resp_code;
pub mod runbook;
pub mod signal;
pub mod taxonomy;

pub use bin::{BinRange, BinTable, BinTableError};
pub use cause::Cause;
pub use dims::{Dim, DimValues};
pub use event::{
    EntryMode, Event, Heartbeat, NetType, Outcome, RcSource, RespCode, TermError, TxnStatus,
    TxnType,
};
pub use intern::{FastState, Interner, Sym, SymbolTable, Symbols};
pub use inventory::{Inventory, InventoryError, InventoryRow, TradingHours};
pub use message::RawMessage;
pub use reject::{DroppedField, RejectReason};
pub use signal::Signal;
pub use taxonomy::{Classified, CodeTable, OutcomeClass, Taxonomy, TaxonomyError};
