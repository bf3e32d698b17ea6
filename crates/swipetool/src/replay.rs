//! `swipetool replay`: history files through the same decoder, engine,
//! detector and incident book as the live service, in event time, as fast
//! as the CPU allows.

use anyhow::Context;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;
use swipewatch_alert::{Incident, Silence};
use swipewatch_config::Config;
use swipewatch_decode::Decoder;
use swipewatch_engine::BaselineFile;
use swipewatch_history::{Item, Mapping};
use swipewatch_model::{Dim, Event, RejectReason};
use swipewatch_monitor::{offline, transition_text, Monitor, Replay};
use swipewatch_sim::score::detected;
use swipewatch_sim::score::{describe, score, yes};
use swipewatch_sim::Label;
use swipewatch_telemetry::EventKind;

/// What `replay` was asked.
#[derive(clap::Args)]
pub struct Options {
    /// History files, replayed in the order given.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// swipewatch config (engine, codes, `[history.columns]`).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Ground-truth labels (JSON, as `simulate` writes them): score the
    /// run; labelled maintenance windows are declared as such.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Write incidents, counts and throughput here as JSON.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Print every incident transition as it happens.
    #[arg(long)]
    pub trace: bool,
    /// Start from these baselines (written by `swipetool baseline`)
    /// instead of learning first.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Stop at the first NDJSON line the decoder rejects, or the first
    /// CSV/Parquet row whose `ts` or `outcome` cannot be read, naming the
    /// file, line or row, and reason or column (by default it is counted
    /// and skipped, as the live service does).
    #[arg(long)]
    pub strict: bool,
}

impl Options {
    /// A plain replay of `files`: default config, no labels, no report,
    /// no trace, learning from scratch, bad input counted and skipped.
    pub fn for_files(files: Vec<PathBuf>) -> Options {
        Options {
            files,
            config: None,
            labels: None,
            report: None,
            trace: false,
            baseline: None,
            strict: false,
        }
    }
}

/// The replay's outcome, as written by `--report`.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Rows and lines read.
    pub rows: u64,
    /// Outcomes accepted.
    pub accepted: u64,
    /// Rejections by reason.
    pub rejected: Vec<(String, u64)>,
    /// Windows processed.
    pub windows: u64,
    /// Wall seconds, reading included.
    pub seconds: f64,
    /// Rows per wall second.
    pub rows_per_s: f64,
    /// Every incident, as last seen.
    pub incidents: Vec<Incident>,
}

/// Runs the command.
pub fn run(opts: &Options) -> anyhow::Result<()> {
    let (config, mapping) = open(opts.config.as_deref(), &opts.files)?;
    let labels = match &opts.labels {
        Some(path) => swipewatch_sim::output::read_labels(path)
            .with_context(|| format!("cannot read labels {}", path.display()))?,
        None => Vec::new(),
    };
    let report = replay(&config, &mapping, opts, &labels)?;
    for inc in &report.incidents {
        println!(
            "#{:<4} {:<9} {:<16} {:<40} {:<8} observed {:.0} expected {:.1}",
            inc.id,
            format!("{:?}", inc.state).to_lowercase(),
            inc.key.cause,
            inc.key.describe(),
            inc.severity.name(),
            inc.latest.observed,
            inc.latest.expected,
        );
    }
    println!(
        "replayed {} rows ({} accepted, {} rejected) in {:.1}s: {:.0} rows/s, {} windows, {} incidents",
        report.rows,
        report.accepted,
        report.rejected.iter().map(|(_, n)| n).sum::<u64>(),
        report.seconds,
        report.rows_per_s,
        report.windows,
        report.incidents.len()
    );
    if !labels.is_empty() {
        backtest(&labels, &report.incidents);
    }
    if let Some(path) = &opts.report {
        let text = serde_json::to_string_pretty(&report).context("report to JSON")?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// The config (default without a file) and its column mapping, with every
/// history file checked before any is read.
pub fn open(config: Option<&Path>, files: &[PathBuf]) -> anyhow::Result<(Config, Mapping)> {
    let config = match config {
        Some(path) => swipewatch_config::load_file(path)?,
        None => Config::default(),
    };
    let mapping = Mapping::new(&config.history.columns)?;
    for f in files {
        swipewatch_history::check(f, &mapping)?;
    }
    Ok((config, mapping))
}

/// Replays `opts.files` and returns what happened.
pub fn replay(
    config: &Config,
    mapping: &Mapping,
    opts: &Options,
    labels: &[Label],
) -> anyhow::Result<Report> {
    let (mut decoder, mut monitor, metrics) = offline(config)?;
    declare_maintenance(&mut monitor, labels);
    if let Some(path) = &opts.baseline {
        let file = BaselineFile::load_file(path)
            .with_context(|| format!("cannot read baselines {}", path.display()))?;
        monitor
            .warm_start(&file)
            .with_context(|| format!("cannot start from {}", path.display()))?;
    }
    let mut replay = Replay::new(monitor).with_maintenance(config.alerts.maintenance.clone());
    if opts.trace {
        replay = replay.with_trace(|at_ms, t| println!("  {at_ms} {}", transition_text(t)));
    }
    let started = Instant::now();
    let fed = feed(&opts.files, mapping, &mut decoder, opts.strict, &mut replay)?;
    let rows = fed.rows;
    let windows = replay.windows();
    let incidents = replay.finish();
    let seconds = started.elapsed().as_secs_f64();
    let rejected = RejectReason::ALL
        .iter()
        .map(|&r| (r.to_string(), metrics.ingest.rejected(r).get()))
        .filter(|(_, n)| *n > 0)
        .collect();
    Ok(Report {
        rows,
        accepted: metrics.ingest.accepted(EventKind::Outcome).get(),
        rejected,
        windows,
        seconds,
        rows_per_s: rows as f64 / seconds.max(1e-9),
        incidents,
    })
}

/// What [`feed`] read.
pub struct Fed {
    /// Rows and lines read.
    pub rows: u64,
    /// Event time of the first and last accepted event, if any.
    pub span_ms: Option<(i64, i64)>,
}

/// Reads `files` in order through `decoder` and hands `on_row` the events
/// each row or line gave (none when it was rejected); returns the rows
/// and lines read. With `strict`, the first rejected NDJSON line ends the
/// read with an error naming its file, line and reason.
pub fn decode_files(
    files: &[PathBuf],
    mapping: &Mapping,
    decoder: &mut Decoder,
    strict: bool,
    mut on_row: impl FnMut(&[Event]),
) -> anyhow::Result<u64> {
    let mut rows = 0u64;
    let mut events = Vec::new();
    for file in files {
        let mut refused: Option<String> = None;
        rows += swipewatch_history::read(file, mapping, |item| {
            events.clear();
            if refused.is_some() {
                return;
            }
            match item {
                Item::Line {
                    text,
                    line,
                    arrival_ms,
                } => {
                    if let Err(r) = decoder.decode_line(text, arrival_ms, &mut events) {
                        if strict {
                            refused = Some(format!(
                                "{}: line {line}: {} ({})",
                                file.display(),
                                r.reason,
                                r.detail
                            ));
                        }
                    }
                }
                Item::Message {
                    topic,
                    payload,
                    arrival_ms,
                } => {
                    // Replay journals nothing: the retention does not matter.
                    let _ = decoder.decode(topic, payload, payload.len(), arrival_ms, &mut events);
                }
                Item::Outcome {
                    raw,
                    arrival_ms,
                    dropped,
                } => {
                    if let Ok(o) = decoder.decode_record(raw, arrival_ms, dropped) {
                        events.push(Event::Outcome(o));
                    }
                }
                Item::Refused { problem } => {
                    let detail = problem.to_string();
                    decoder.refuse_record(RejectReason::BadType, &detail, 0);
                    if strict {
                        refused = Some(detail);
                    }
                }
            }
            on_row(&events);
        })?;
        if let Some(problem) = refused {
            anyhow::bail!("{problem}");
        }
    }
    Ok(rows)
}

/// Reads `files` in order through `decoder` into `replay`, processing
/// windows as they close.
pub fn feed(
    files: &[PathBuf],
    mapping: &Mapping,
    decoder: &mut Decoder,
    strict: bool,
    replay: &mut Replay,
) -> anyhow::Result<Fed> {
    let mut span: Option<(i64, i64)> = None;
    let rows = decode_files(files, mapping, decoder, strict, |events| {
        for e in events {
            let ts = event_ms(e);
            span = Some(span.map_or((ts, ts), |(a, b)| (a.min(ts), b.max(ts))));
            replay.event(e);
        }
        replay.poll();
    })?;
    Ok(Fed {
        rows,
        span_ms: span,
    })
}

fn event_ms(e: &Event) -> i64 {
    match e {
        Event::Outcome(o) => o.ts_ms,
        Event::Heartbeat(h) => h.ts_ms,
    }
}

/// Labelled maintenance windows were declared by ops: they silence what
/// they cover, as `[[alerts.maintenance]]` would have live.
fn declare_maintenance(monitor: &mut Monitor, labels: &[Label]) {
    for l in labels.iter().filter(|l| l.maintenance) {
        let matchers = l
            .element
            .iter()
            .filter_map(|(d, v)| Some((Dim::from_name(d)?, v.clone())))
            .collect();
        monitor.silence(Silence {
            id: 0,
            matchers,
            cause: l.cause,
            start_ms: l.start_ms,
            end_ms: l.end_ms,
            comment: "declared maintenance (labels)".to_string(),
        });
    }
}

/// Prints the labels' scores; the span of the labels and incidents is the
/// time base for false incidents per day.
fn backtest(labels: &[Label], incidents: &[Incident]) {
    let start = labels.iter().map(|l| l.start_ms).min().unwrap_or(0);
    let end = labels
        .iter()
        .map(|l| l.end_ms)
        .chain(incidents.iter().map(|i| i.last_ms))
        .max()
        .unwrap_or(start);
    let days = ((end - start) as f64 / 86_400_000.0).max(1e-9);
    let run = score(labels, &detected(incidents), days);
    println!(
        "{:<20} {:<34} {:>5} {:>5} {:>5} {:>8}",
        "fault", "element", "found", "cause", "elem", "detect"
    );
    for l in &run.labels {
        println!(
            "{:<20} {:<34} {:>5} {:>5} {:>5} {:>8}",
            l.label.kind,
            describe(&l.label.element),
            yes(l.found),
            l.cause_text(),
            yes(l.element_ok),
            l.detect_text()
        );
    }
    println!(
        "false incidents {}, false pages {}",
        run.false_incidents, run.false_pages
    );
}

#[cfg(test)]
#[path = "replay_tests.rs"]
pub(crate) mod tests;
