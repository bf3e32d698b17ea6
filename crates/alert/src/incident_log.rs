//! The durable incident log: an append-only file of JSON lines, so that a
//! restart resumes incident state and every sink's delivery position
//! without losing, repeating or re-paging anything.
//!
//! Each line is one [`LogRecord`]: an incident's state after a lifecycle step,
//! a numbered notice (fired / resolved) for the sinks that follow
//! transitions, or a sink's acknowledgement that it delivered a notice.
//! Lines are written whole with one `write` each and no user-space buffer,
//! so a killed process leaves at most a torn last line, which reading
//! skips. On open the log is compacted (rewritten atomically with only what
//! is still needed), so it never grows without bound across restarts.

use crate::{Incident, Notice, Silence, State};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// Silences kept across compactions (the newest).
const MAX_SILENCES: usize = 1000;

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum LogRecord {
    /// An incident's state after a lifecycle step.
    Incident {
        /// The incident.
        incident: Incident,
    },
    /// A notice for transition-following sinks, numbered from 1.
    Notice {
        /// Position in the notice sequence.
        seq: u64,
        /// What happened.
        notice: Notice,
    },
    /// A silence as created or expired through the API.
    Silence {
        /// The silence.
        silence: Silence,
    },
    /// Sink `sink` has delivered every notice up to `seq`.
    Delivered {
        /// Sink name (e.g. `webhook`, `mqtt`).
        sink: String,
        /// Last delivered notice.
        seq: u64,
    },
}

/// Why the log cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum IncidentLogError {
    /// Reading, writing or renaming failed.
    #[error("incident log {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

/// What a log holds after replaying it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recovered {
    /// Latest state of every incident still worth keeping, by id.
    pub incidents: Vec<Incident>,
    /// Notices not yet delivered by every sink, oldest first.
    pub notices: Vec<(u64, Notice)>,
    /// Last delivered notice per sink.
    pub delivered: BTreeMap<String, u64>,
    /// Silences created through the API, latest state by id.
    pub silences: Vec<Silence>,
    /// Next notice number.
    pub next_seq: u64,
    /// Lines that could not be read (a torn last line after a kill).
    pub skipped_lines: u64,
}

impl Recovered {
    /// Notices sink `sink` has not delivered yet, oldest first.
    pub fn pending_for(&self, sink: &str) -> Vec<(u64, Notice)> {
        let after = self.delivered.get(sink).copied().unwrap_or(0);
        self.notices
            .iter()
            .filter(|(seq, _)| *seq > after)
            .cloned()
            .collect()
    }
}

/// The open log file.
#[derive(Debug)]
pub struct IncidentLog {
    path: PathBuf,
    file: File,
    next_seq: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> IncidentLogError + '_ {
    move |source| IncidentLogError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Replays the lines of `path` (missing file: empty). `sinks` are the sink
/// names in use: notices every one of them delivered are dropped.
pub fn read(
    path: &Path,
    sinks: &[&str],
    keep_resolved: usize,
) -> Result<Recovered, IncidentLogError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Recovered {
                next_seq: 1,
                ..Recovered::default()
            })
        }
        Err(e) => return Err(io(path)(e)),
    };
    let mut incidents: BTreeMap<u64, Incident> = BTreeMap::new();
    let mut notices: Vec<(u64, Notice)> = Vec::new();
    let mut delivered: BTreeMap<String, u64> = BTreeMap::new();
    let mut silences: BTreeMap<u64, Silence> = BTreeMap::new();
    let mut skipped_lines = 0;
    for line in BufReader::new(file).split(b'\n') {
        let line = line.map_err(io(path))?;
        if line.is_empty() {
            continue;
        }
        match serde_json::from_slice::<LogRecord>(&line) {
            Ok(LogRecord::Incident { incident }) => {
                incidents.insert(incident.id, incident);
            }
            Ok(LogRecord::Notice { seq, notice }) => {
                incidents.insert(notice.incident.id, notice.incident.clone());
                notices.push((seq, notice));
            }
            Ok(LogRecord::Silence { silence }) => {
                silences.insert(silence.id, silence);
            }
            Ok(LogRecord::Delivered { sink, seq }) => {
                let at = delivered.entry(sink).or_default();
                *at = (*at).max(seq);
            }
            Err(_) => skipped_lines += 1,
        }
    }
    let next_seq = notices.iter().map(|(s, _)| s + 1).max().unwrap_or(1);
    // A notice every sink in use has delivered is no longer needed.
    let floor = sinks
        .iter()
        .map(|s| delivered.get(*s).copied().unwrap_or(0))
        .min()
        .unwrap_or(u64::MAX);
    notices.retain(|(seq, _)| *seq > floor);
    // Open incidents, and the newest resolved ones that fired.
    let mut resolved: Vec<u64> = incidents
        .values()
        .filter(|i| i.state == State::Resolved)
        .map(|i| i.id)
        .collect();
    let drop = resolved.len().saturating_sub(keep_resolved);
    for id in resolved.drain(..drop) {
        incidents.remove(&id);
    }
    incidents.retain(|_, i| i.state != State::Resolved || i.fired_ms.is_some());
    Ok(Recovered {
        incidents: incidents.into_values().collect(),
        notices,
        delivered,
        silences: silences
            .into_values()
            .rev()
            .take(MAX_SILENCES)
            .rev()
            .collect(),
        next_seq,
        skipped_lines,
    })
}

impl IncidentLog {
    /// Rewrites `path` atomically with what `recovered` still needs and
    /// opens it for appending.
    pub fn create(path: &Path, recovered: &Recovered) -> Result<IncidentLog, IncidentLogError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let tmp = path.with_extension("compacting");
        {
            let mut out = File::create(&tmp).map_err(io(&tmp))?;
            let mut text = Vec::new();
            for incident in &recovered.incidents {
                line(
                    &mut text,
                    &LogRecord::Incident {
                        incident: incident.clone(),
                    },
                );
            }
            for (seq, notice) in &recovered.notices {
                line(
                    &mut text,
                    &LogRecord::Notice {
                        seq: *seq,
                        notice: notice.clone(),
                    },
                );
            }
            for silence in &recovered.silences {
                line(
                    &mut text,
                    &LogRecord::Silence {
                        silence: silence.clone(),
                    },
                );
            }
            for (sink, seq) in &recovered.delivered {
                line(
                    &mut text,
                    &LogRecord::Delivered {
                        sink: sink.clone(),
                        seq: *seq,
                    },
                );
            }
            out.write_all(&text).map_err(io(&tmp))?;
            out.sync_all().map_err(io(&tmp))?;
        }
        std::fs::rename(&tmp, path).map_err(io(path))?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(io(path))?;
        Ok(IncidentLog {
            path: path.to_path_buf(),
            file,
            next_seq: recovered.next_seq.max(1),
        })
    }

    /// Appends an incident's current state.
    pub fn incident(&mut self, incident: &Incident) -> Result<(), IncidentLogError> {
        self.append(&LogRecord::Incident {
            incident: incident.clone(),
        })
    }

    /// Numbers and appends a notice; returns its number.
    pub fn notice(&mut self, notice: &Notice) -> Result<u64, IncidentLogError> {
        let seq = self.next_seq;
        self.append(&LogRecord::Notice {
            seq,
            notice: notice.clone(),
        })?;
        self.next_seq += 1;
        Ok(seq)
    }

    /// Appends a silence's current state.
    pub fn silence(&mut self, silence: &Silence) -> Result<(), IncidentLogError> {
        self.append(&LogRecord::Silence {
            silence: silence.clone(),
        })
    }

    /// Records that `sink` delivered every notice up to `seq`.
    pub fn delivered(&mut self, sink: &str, seq: u64) -> Result<(), IncidentLogError> {
        self.append(&LogRecord::Delivered {
            sink: sink.to_string(),
            seq,
        })
    }

    fn append(&mut self, record: &LogRecord) -> Result<(), IncidentLogError> {
        let mut text = Vec::new();
        line(&mut text, record);
        self.file.write_all(&text).map_err(io(&self.path))
    }
}

fn line(out: &mut Vec<u8>, record: &LogRecord) {
    // Serializing these plain structs cannot fail; an empty line is skipped
    // on reading if it ever did.
    let _ = serde_json::to_writer(&mut *out, record);
    out.push(b'\n');
}

#[cfg(test)]
#[path = "incident_log_tests.rs"]
mod tests;
