//! The service's checkpoint: the engine's state (windows, baselines,
//! per-terminal state) and the interned values its symbols stand for, in
//! one directory. Symbols are written first: the interners only grow, so a
//! crash between the two writes leaves symbols that still cover the engine.

use anyhow::Context;
use std::path::Path;
use swipewatch_engine::{Engine, Settings};
use swipewatch_ingest::SharedSymbols;
use swipewatch_model::{SymbolTable, Symbols};

const ENGINE_FILE: &str = "engine.ckpt";
const SYMBOLS_FILE: &str = "symbols.json";

/// Writes the checkpoint into `dir` (created if missing).
pub fn save(dir: &Path, engine: &Engine, symbols: &SharedSymbols) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let table = symbols.read().unwrap_or_else(|p| p.into_inner()).to_table();
    let text = serde_json::to_vec(&table).context("symbols to JSON")?;
    let tmp = dir.join(format!("{SYMBOLS_FILE}.tmp"));
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, dir.join(SYMBOLS_FILE))
        .with_context(|| format!("cannot replace {}", dir.join(SYMBOLS_FILE).display()))?;
    engine
        .save_file(&dir.join(ENGINE_FILE))
        .with_context(|| format!("cannot write the engine checkpoint in {}", dir.display()))?;
    Ok(())
}

/// The engine and symbols saved in `dir`; `Ok(None)` when there is no
/// checkpoint yet.
pub fn restore(dir: &Path, settings: Settings) -> anyhow::Result<Option<(Engine, SharedSymbols)>> {
    let (engine_file, symbols_file) = (dir.join(ENGINE_FILE), dir.join(SYMBOLS_FILE));
    if !engine_file.exists() {
        return Ok(None);
    }
    let text = std::fs::read(&symbols_file)
        .with_context(|| format!("cannot read {}", symbols_file.display()))?;
    let table: SymbolTable = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a symbol table", symbols_file.display()))?;
    let engine = Engine::restore_file(settings, &engine_file)
        .with_context(|| format!("cannot restore {}", engine_file.display()))?;
    let symbols = SharedSymbols::new(std::sync::RwLock::new(Symbols::from_table(&table)));
    Ok(Some((engine, symbols)))
}
