//! The BIN table a decoder reads, and how a reload reaches it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use swipewatch_model::BinTable;

/// The BIN table in force, swapped whole when it is reloaded (SIGHUP). A
/// decoder keeps its own copy of the `Arc` and looks at the generation (one
/// atomic load) per message, so the lock is taken only after a reload.
#[derive(Debug, Default)]
pub struct BinsCell {
    table: RwLock<Arc<BinTable>>,
    generation: AtomicU64,
}

impl BinsCell {
    /// Puts `table` in force for every decoder reading this cell.
    pub fn store(&self, table: BinTable) {
        *self.table.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(table);
        self.generation.fetch_add(1, Ordering::Release);
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(crate) fn table(&self) -> Arc<BinTable> {
        self.table.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The BIN table cell a decoder reads, shared with whoever reloads it.
pub type SharedBins = Arc<BinsCell>;
