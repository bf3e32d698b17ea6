//! `swipetool baseline`: learn what is normal from history files and write
//! it as a baseline file that `swipewatch run` (`engine.baseline_file`) and
//! `swipetool replay --baseline` start from.
//!
//! The files go through the same decoder, engine and detector as a replay,
//! so the baselines learn exactly as they would have live: per bucket, as
//! EWMAs, and not from the windows detection found abnormal (an outage in
//! the history does not become part of the normal).

use crate::replay::feed;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::time::Instant;
use swipewatch_config::Config;
use swipewatch_engine::BaselineFile;
use swipewatch_history::Mapping;
use swipewatch_monitor::{offline, Replay};

/// Learns baselines from `files` under `config`.
pub fn learn(
    config: &Config,
    mapping: &Mapping,
    files: &[PathBuf],
) -> anyhow::Result<BaselineFile> {
    let (mut decoder, monitor, _metrics) = offline(config)?;
    let mut replay = Replay::new(monitor);
    let fed = feed(files, mapping, &mut decoder, false, &mut replay)?;
    let Some(span) = fed.span_ms else {
        anyhow::bail!("no outcome in the history files was accepted: nothing to learn from");
    };
    let (_, monitor) = replay.close();
    let symbols = monitor.symbols().read().unwrap_or_else(|p| p.into_inner());
    Ok(BaselineFile::from_engine(monitor.engine(), &symbols, span))
}

/// Runs the command.
pub fn run(files: &[PathBuf], config: Option<&Path>, out: &Path) -> anyhow::Result<()> {
    let (config, mapping) = crate::replay::open(config, files)?;
    let started = Instant::now();
    let file = learn(&config, &mapping, files)?;
    file.save_file(out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "learned {} buckets ({} values, {} leaves) in {:.1}s; wrote {}",
        file.buckets_learned,
        file.values.len(),
        file.leaves.len(),
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}

#[cfg(test)]
#[path = "baseline_tests.rs"]
mod tests;
