//! Baseline files: learned baselines keyed by value strings instead of
//! symbols, so baselines learned from history (`swipetool baseline`) can
//! warm-start an engine whose values were interned in another order, and a
//! fresh deployment detects from its first window instead of learning first.
//!
//! Framed like the checkpoint (magic `SWBASEL\0`, version, length, postcard
//! payload, xxh3-64). Terminal state, windows and incidents are not part of
//! it: only what is normal.

use super::checkpoint::{read_framed, same_meaning, write_atomic, write_framed, Frame};
use crate::baseline::{Baselines, Cell};
use crate::counts::MAX_LEAF_DIMS;
use crate::{CheckpointError, Engine};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use swipewatch_model::{Dim, Sym, Symbols};

/// Baseline file format version written by this build.
pub const BASELINE_VERSION: u32 = 2;
const FRAME: Frame = Frame {
    magic: b"SWBASEL\0",
    version: BASELINE_VERSION,
    kind: "baseline file",
};

/// Baselines by value string, with the settings they were learned under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineFile {
    /// Bucket width they were learned with (per-bucket counts depend on it).
    pub bucket_ms: i64,
    /// Leaf dimensions, in leaf-key order.
    pub leaf_dims: Vec<Dim>,
    /// Buckets learned from.
    pub buckets_learned: u64,
    /// Event time of the first and the last event learned from (epoch ms).
    pub span_ms: (i64, i64),
    /// The fleet.
    pub fleet: Cell,
    /// Per dimension value, sorted by dimension then value.
    pub values: Vec<(Dim, String, Cell)>,
    /// Per leaf (values in `leaf_dims` order, `None` where absent), sorted.
    pub leaves: Vec<(Vec<Option<String>>, Cell)>,
    /// The fleet's latency histogram (outcomes per bucket in each bin).
    pub fleet_latency: Vec<f32>,
    /// Latency histograms per tracked value, sorted like `values`.
    pub latency: Vec<(Dim, String, Vec<f32>)>,
}

impl BaselineFile {
    /// The baselines `engine` has learned, with its symbols resolved through
    /// `symbols`. Cells that have decayed to nothing are left out.
    pub fn from_engine(engine: &Engine, symbols: &Symbols, span_ms: (i64, i64)) -> BaselineFile {
        let b = engine.baselines();
        let leaf_dims = engine.settings().leaf_dims.clone();
        let mut values = Vec::new();
        for dim in Dim::ALL {
            for (sym, cell) in b.cells(dim) {
                if cell.attempts <= 0.0 && cell.heartbeats <= 0.0 {
                    continue;
                }
                if let Some(v) = symbols.resolve(dim, sym) {
                    values.push((dim, v.to_string(), cell));
                }
            }
        }
        values.sort_by(|a, b| (a.0.index(), &a.1).cmp(&(b.0.index(), &b.1)));
        let index = engine.leaf_index();
        let mut leaves: Vec<_> = b
            .leaves()
            .filter_map(|(id, cell)| Some((index.key(id)?, cell)))
            .map(|(key, cell)| {
                let names: Vec<Option<String>> = leaf_dims
                    .iter()
                    .zip(key)
                    .map(|(d, s)| symbols.resolve(*d, *s).map(str::to_string))
                    .collect();
                (names, cell)
            })
            .collect();
        leaves.sort_by(|a, b| a.0.cmp(&b.0));
        let mut latency = Vec::new();
        for dim in Dim::ALL {
            for (sym, hist) in b.latency.values(dim) {
                if hist.iter().all(|&e| e <= 0.0) {
                    continue;
                }
                if let Some(v) = symbols.resolve(dim, sym) {
                    latency.push((dim, v.to_string(), hist.to_vec()));
                }
            }
        }
        latency.sort_by(|a, b| (a.0.index(), &a.1).cmp(&(b.0.index(), &b.1)));
        BaselineFile {
            bucket_ms: engine.settings().bucket_ms,
            leaf_dims,
            buckets_learned: b.buckets_learned,
            span_ms,
            fleet: b.fleet,
            values,
            leaves,
            fleet_latency: b.latency.fleet.clone(),
            latency,
        }
    }

    /// Writes the file atomically.
    pub fn save_file(&self, path: &Path) -> Result<(), CheckpointError> {
        let payload =
            postcard::to_stdvec(self).map_err(|e| CheckpointError::Payload(e.to_string()))?;
        write_atomic(path, |w| write_framed(w, &FRAME, &payload))
    }

    /// Reads a file written by [`BaselineFile::save_file`].
    pub fn load_file(path: &Path) -> Result<BaselineFile, CheckpointError> {
        let file = std::fs::File::open(path)?;
        let payload = read_framed(&mut std::io::BufReader::new(file), &FRAME)?;
        postcard::from_bytes(&payload).map_err(|e| CheckpointError::Payload(e.to_string()))
    }
}

impl Engine {
    /// Replaces the baselines with those of `file`, interning its values in
    /// `symbols`. Refused when the file was learned with another bucket
    /// width or other leaf dimensions.
    pub fn warm_start(
        &mut self,
        file: &BaselineFile,
        symbols: &mut Symbols,
    ) -> Result<(), CheckpointError> {
        let s = self.settings();
        same_meaning(file.bucket_ms, &file.leaf_dims, s)?;
        let mut b = Baselines::new(s.alpha, s.shrink);
        b.fleet = file.fleet;
        b.buckets_learned = file.buckets_learned;
        for (dim, value, cell) in &file.values {
            let sym = symbols.dim_mut(*dim).intern(value);
            b.set_cell(*dim, sym, *cell);
        }
        for (names, cell) in &file.leaves {
            let mut key = [Sym::NONE; MAX_LEAF_DIMS];
            for ((slot, dim), name) in key.iter_mut().zip(&file.leaf_dims).zip(names) {
                if let Some(name) = name {
                    *slot = symbols.dim_mut(*dim).intern(name);
                }
            }
            b.set_leaf(self.leaf_id(key), *cell);
        }
        b.latency.fleet = file.fleet_latency.clone();
        for (dim, value, hist) in &file.latency {
            let sym = symbols.dim_mut(*dim).intern(value);
            b.latency.set_histogram(*dim, sym, hist);
        }
        self.baselines = Arc::new(b);
        Ok(())
    }
}
