//! The service's checkpoint: the engine's state (windows, baselines,
//! per-terminal state) and the interned values its symbols stand for, in
//! one directory. Symbols are written first: the interners only grow, so a
//! crash between the two writes leaves symbols that still cover the engine.

use crate::Monitor;
use std::path::{Path, PathBuf};
use swipewatch_decode::SharedSymbols;
use swipewatch_engine::{CheckpointError, Engine, Settings};
use swipewatch_model::{SymbolTable, Symbols};

const ENGINE_FILE: &str = "engine.ckpt";
const SYMBOLS_FILE: &str = "symbols.json";

/// A checkpoint directory that cannot be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A file or the directory could not be written or read.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done (`write`, `read`, ...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The symbol file is not a symbol table.
    #[error("{} is not a symbol table: {source}", path.display())]
    Symbols {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// The engine's own checkpoint file failed.
    #[error("engine checkpoint {}: {source}", path.display())]
    Engine {
        /// The file.
        path: PathBuf,
        /// Why.
        source: CheckpointError,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StateError {
    let path = path.to_path_buf();
    move |source| StateError::Io {
        action,
        path,
        source,
    }
}

impl Monitor {
    /// Writes the engine and its symbols into `dir` (created if missing).
    pub fn save_checkpoint(&self, dir: &Path) -> Result<(), StateError> {
        std::fs::create_dir_all(dir).map_err(io("create", dir))?;
        let table = self
            .symbols
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .to_table();
        let symbols_file = dir.join(SYMBOLS_FILE);
        let text = serde_json::to_vec(&table).map_err(|source| StateError::Symbols {
            path: symbols_file.clone(),
            source,
        })?;
        let tmp = dir.join(format!("{SYMBOLS_FILE}.tmp"));
        std::fs::write(&tmp, text).map_err(io("write", &tmp))?;
        std::fs::rename(&tmp, &symbols_file).map_err(io("replace", &symbols_file))?;
        let engine_file = dir.join(ENGINE_FILE);
        self.engine
            .save_file(&engine_file)
            .map_err(|source| StateError::Engine {
                path: engine_file,
                source,
            })
    }

    /// The monitor saved in `dir` by [`Monitor::save_checkpoint`];
    /// `Ok(None)` when there is no checkpoint yet.
    pub fn restore(dir: &Path, settings: Settings) -> Result<Option<Monitor>, StateError> {
        let (engine_file, symbols_file) = (dir.join(ENGINE_FILE), dir.join(SYMBOLS_FILE));
        if !engine_file.exists() {
            return Ok(None);
        }
        let text = std::fs::read(&symbols_file).map_err(io("read", &symbols_file))?;
        let table: SymbolTable =
            serde_json::from_slice(&text).map_err(|source| StateError::Symbols {
                path: symbols_file.clone(),
                source,
            })?;
        let engine =
            Engine::restore_file(settings, &engine_file).map_err(|source| StateError::Engine {
                path: engine_file.clone(),
                source,
            })?;
        let symbols = SharedSymbols::new(std::sync::RwLock::new(Symbols::from_table(&table)));
        Ok(Some(Monitor::new(engine, symbols)))
    }
}
