//! Snapshot and restore of the whole engine state.
//!
//! Format: magic `SWENGCK\0`, format version (u32 LE), payload length (u64
//! LE), payload (postcard), xxh3-64 of the payload (u64 LE). The payload
//! records the bucket width and leaf dimensions it was taken with; restoring
//! under different ones is refused, since bucket indexes and leaf keys would
//! mean something else.

use super::{Engine, EngineStats, Settings};
use crate::baseline::Baselines;
use crate::bucket::{Bucket, WindowSums};
use crate::counts::{ClassCounts, DimTable, LeafIndex};
use crate::terminal::TerminalState;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use swipewatch_model::Dim;

/// Format version written by this build.
pub const VERSION: u32 = 8;
const FRAME: Frame = Frame {
    magic: b"SWENGCK\0",
    version: VERSION,
    kind: "engine checkpoint",
};

/// Why a checkpoint or baseline file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Reading or writing failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not of the expected kind.
    #[error("not a swipewatch {expected}")]
    Magic {
        /// What the file should have been.
        expected: &'static str,
    },
    /// Written by an incompatible build.
    #[error("format version {found} is not supported (this build reads {supported})")]
    Version {
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// The payload does not match its checksum.
    #[error("file is corrupt: checksum mismatch")]
    Checksum,
    /// Taken under settings that change what the state means.
    #[error("saved with {what} = {saved}, the config says {now}")]
    Settings {
        /// Which setting.
        what: &'static str,
        /// Its value in the checkpoint.
        saved: String,
        /// Its value now.
        now: String,
    },
    /// The payload could not be encoded or decoded.
    #[error("checkpoint payload: {0}")]
    Payload(String),
}

#[derive(Serialize)]
struct StateRef<'a> {
    bucket_ms: i64,
    leaf_dims: &'a [Dim],
    open: &'a BTreeMap<i64, Bucket>,
    closed_before: Option<i64>,
    max_event_ms: i64,
    watermark_ms: i64,
    window: Vec<&'a Bucket>,
    sums: &'a WindowSums,
    baselines: &'a Baselines,
    leaves: &'a LeafIndex,
    terminals: &'a [TerminalState],
    tracked: usize,
    late: &'a DimTable,
    late_fleet: &'a ClassCounts,
    stats: &'a EngineStats,
    connected: bool,
    gaps: Vec<(i64, i64)>,
    input_position: u64,
}

#[derive(Deserialize)]
struct State {
    bucket_ms: i64,
    leaf_dims: Vec<Dim>,
    open: BTreeMap<i64, Bucket>,
    closed_before: Option<i64>,
    max_event_ms: i64,
    watermark_ms: i64,
    window: Vec<Bucket>,
    sums: WindowSums,
    baselines: Baselines,
    leaves: LeafIndex,
    terminals: Vec<TerminalState>,
    tracked: usize,
    late: DimTable,
    late_fleet: ClassCounts,
    stats: EngineStats,
    connected: bool,
    gaps: Vec<(i64, i64)>,
    input_position: u64,
}

impl Engine {
    /// Writes the whole state to `w`.
    pub fn save(&self, mut w: impl Write) -> Result<(), CheckpointError> {
        let state = StateRef {
            bucket_ms: self.s.bucket_ms,
            leaf_dims: &self.s.leaf_dims,
            open: &self.open,
            closed_before: self.closed_before,
            max_event_ms: self.max_event_ms,
            watermark_ms: self.watermark_ms,
            window: self.window.iter().map(|b| &**b).collect(),
            sums: &self.sums,
            baselines: &self.baselines,
            leaves: &self.leaves,
            terminals: &self.terminals,
            tracked: self.tracked,
            late: &self.late,
            late_fleet: &self.late_fleet,
            stats: &self.stats,
            connected: self.connected,
            gaps: self.gaps.iter().copied().collect(),
            input_position: self.input_position,
        };
        let payload =
            postcard::to_stdvec(&state).map_err(|e| CheckpointError::Payload(e.to_string()))?;
        write_framed(&mut w, &FRAME, &payload)
    }

    /// Reads a state written by [`Engine::save`], under `settings`.
    pub fn restore(settings: Settings, mut r: impl Read) -> Result<Engine, CheckpointError> {
        let payload = read_framed(&mut r, &FRAME)?;
        let st: State =
            postcard::from_bytes(&payload).map_err(|e| CheckpointError::Payload(e.to_string()))?;
        same_meaning(st.bucket_ms, &st.leaf_dims, &settings)?;
        let mut baselines = st.baselines;
        baselines.set_params(settings.alpha, settings.shrink);
        let mut window: VecDeque<Arc<Bucket>> = st.window.into_iter().map(Arc::new).collect();
        let mut sums = st.sums;
        // A shorter window in the new config: drop the oldest buckets.
        while window.len() > settings.window_buckets {
            if let Some(old) = window.pop_front() {
                let next = window.front().map_or(old.end_ms, |b| b.start_ms);
                sums.remove(&old, next);
            }
        }
        Ok(Engine {
            s: settings,
            open: st.open,
            closed_before: st.closed_before,
            max_event_ms: st.max_event_ms,
            watermark_ms: st.watermark_ms,
            window,
            spare: None,
            sums: Arc::new(sums),
            baselines: Arc::new(baselines),
            leaves: Arc::new(st.leaves),
            terminals: st.terminals,
            tracked: st.tracked,
            late: st.late,
            late_fleet: st.late_fleet,
            stats: st.stats,
            connected: st.connected,
            gaps: st.gaps.into_iter().collect(),
            input_position: st.input_position,
        })
    }

    /// Saves to `path` atomically (see [`write_atomic`]).
    pub fn save_file(&self, path: &Path) -> Result<(), CheckpointError> {
        write_atomic(path, |w| self.save(w))
    }

    /// Restores from a file written by [`Engine::save_file`].
    pub fn restore_file(settings: Settings, path: &Path) -> Result<Engine, CheckpointError> {
        let file = std::fs::File::open(path)?;
        Engine::restore(settings, std::io::BufReader::new(file))
    }
}

/// Writes `path` atomically: a temporary file beside it, synced, then
/// renamed over it, so a crash leaves either the old or the new file.
pub(crate) fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<(), CheckpointError>,
) -> Result<(), CheckpointError> {
    let tmp = path.with_extension("tmp");
    let file = std::fs::File::create(&tmp)?;
    let mut w = std::io::BufWriter::new(file);
    write(&mut w)?;
    let file = w
        .into_inner()
        .map_err(|e| CheckpointError::Io(e.into_error()))?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// What a framed file is: its magic, format version and name.
pub(crate) struct Frame {
    pub magic: &'static [u8; 8],
    pub version: u32,
    pub kind: &'static str,
}

/// Writes the frame: magic, version (u32 LE), payload length (u64 LE),
/// payload, xxh3-64 of the payload (u64 LE).
pub(crate) fn write_framed(
    w: &mut impl Write,
    frame: &Frame,
    payload: &[u8],
) -> Result<(), CheckpointError> {
    w.write_all(frame.magic)?;
    w.write_all(&frame.version.to_le_bytes())?;
    w.write_all(&(payload.len() as u64).to_le_bytes())?;
    w.write_all(payload)?;
    w.write_all(&xxhash_rust::xxh3::xxh3_64(payload).to_le_bytes())?;
    w.flush()?;
    Ok(())
}

/// Reads a frame written by [`write_framed`] and returns its payload once
/// magic, version and checksum hold.
pub(crate) fn read_framed(r: &mut impl Read, frame: &Frame) -> Result<Vec<u8>, CheckpointError> {
    let not_this = || CheckpointError::Magic {
        expected: frame.kind,
    };
    let mut head = [0u8; 20];
    r.read_exact(&mut head).map_err(|_| not_this())?;
    if &head[..8] != frame.magic {
        return Err(not_this());
    }
    let found = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
    if found != frame.version {
        return Err(CheckpointError::Version {
            found,
            supported: frame.version,
        });
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&head[12..20]);
    let len = usize::try_from(u64::from_le_bytes(len)).map_err(|_| CheckpointError::Checksum)?;
    let mut payload = Vec::new();
    r.by_ref().take(len as u64).read_to_end(&mut payload)?;
    let mut sum = [0u8; 8];
    if payload.len() != len || r.read_exact(&mut sum).is_err() {
        return Err(CheckpointError::Checksum);
    }
    if xxhash_rust::xxh3::xxh3_64(&payload) != u64::from_le_bytes(sum) {
        return Err(CheckpointError::Checksum);
    }
    Ok(payload)
}

/// State saved with `bucket_ms` and `leaf_dims` means the same under
/// `settings` only if they are the same there: bucket indexes and leaf
/// keys would mean something else.
pub(crate) fn same_meaning(
    bucket_ms: i64,
    leaf_dims: &[Dim],
    settings: &Settings,
) -> Result<(), CheckpointError> {
    if bucket_ms != settings.bucket_ms {
        return Err(CheckpointError::Settings {
            what: "engine.bucket (ms)",
            saved: bucket_ms.to_string(),
            now: settings.bucket_ms.to_string(),
        });
    }
    if leaf_dims != settings.leaf_dims {
        let names = |d: &[Dim]| d.iter().map(|d| d.name()).collect::<Vec<_>>().join(",");
        return Err(CheckpointError::Settings {
            what: "engine.leaf_dims",
            saved: names(leaf_dims),
            now: names(&settings.leaf_dims),
        });
    }
    Ok(())
}
