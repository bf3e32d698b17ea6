//! Where simulated streams go on disk: NDJSON lines in the archive shape
//! `{"topic", "arrival_ms", "payload"}` (what the broker would have
//! carried, and when), and the ground-truth labels beside them.

use crate::{Generator, Label, Scenario, ScenarioError};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Directories searched for a scenario given by name.
pub const SCENARIO_DIRS: [&str; 2] = ["config/scenarios", "config/demo"];

impl Scenario {
    /// A scenario by file path, or by name in one of [`SCENARIO_DIRS`].
    pub fn find(name: &str) -> Result<Scenario, ScenarioError> {
        let direct = PathBuf::from(name);
        if direct.is_file() {
            return Scenario::load(&direct);
        }
        SCENARIO_DIRS
            .iter()
            .map(|d| Path::new(d).join(format!("{name}.toml")))
            .find(|p| p.is_file())
            .map_or_else(
                || {
                    Err(ScenarioError::Invalid {
                        name: name.to_string(),
                        key: "scenario".to_string(),
                        message: format!(
                            "no such file, nor a scenario of that name in {}",
                            SCENARIO_DIRS.join(" or ")
                        ),
                    })
                },
                |p| Scenario::load(&p),
            )
    }
}

/// Writes every message of `generator` as one NDJSON line; returns the
/// number of lines.
pub fn write_ndjson(generator: &mut Generator, out: &mut impl Write) -> std::io::Result<u64> {
    let mut messages = Vec::new();
    let mut n = 0u64;
    while generator.step(&mut messages) {
        for m in messages.drain(..) {
            let topic = serde_json::to_string(&m.topic)?;
            out.write_all(b"{\"topic\":")?;
            out.write_all(topic.as_bytes())?;
            write!(out, ",\"arrival_ms\":{},\"payload\":", m.arrival_ms)?;
            out.write_all(&m.payload)?;
            out.write_all(b"}\n")?;
            n += 1;
        }
    }
    out.flush()?;
    Ok(n)
}

/// `x.ndjson` → `x.labels.json` (any extension).
pub fn labels_path(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    out.with_file_name(format!("{stem}.labels.json"))
}

/// Writes the labels as a pretty JSON array.
pub fn write_labels(path: &Path, labels: &[Label]) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(labels)?;
    std::fs::write(path, text + "\n")
}

/// Reads labels written by [`write_labels`].
pub fn read_labels(path: &Path) -> std::io::Result<Vec<Label>> {
    let text = std::fs::read_to_string(path)?;
    serde_json::from_str(&text).map_err(std::io::Error::other)
}
