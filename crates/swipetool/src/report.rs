//! `swipetool report`: the drill-down behind an incident, or behind any
//! span of time, from history files, for a post-incident review. One row
//! per dimension value: attempts, failures and failure rate before and
//! during, the excess failures during (over the value's own rate before),
//! counts per outcome class, and the most frequent failure codes. Written
//! as CSV or Parquet; the top rows are printed.

use crate::replay::{decode_files, replay, Options as ReplayOptions};
use anyhow::Context;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;
use swipewatch_config::Config;
use swipewatch_decode::Decoder;
use swipewatch_engine::Settings;
use swipewatch_history::{Mapping, TableColumn};
use swipewatch_model::{Dim, Event, Outcome, OutcomeClass, RespCode, Sym, TermError, TxnStatus};
use swipewatch_monitor::offline;

/// Failure codes listed per row.
const TOP_CODES: usize = 5;

/// What `report` was asked.
#[derive(clap::Args)]
pub struct Options {
    /// History files, in time order.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// swipewatch config (engine, codes, `[history.columns]`).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// An incident id from `swipetool replay` of the same files.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub incident: Option<u64>,
    /// Baselines the replay that finds --incident starts from, as given to
    /// `swipetool replay --baseline`.
    #[arg(long, requires = "incident")]
    pub baseline: Option<PathBuf>,
    /// Start of the span (RFC 3339 or epoch ms).
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// End of the span, exclusive (RFC 3339 or epoch ms).
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// Length of the comparison period before the span.
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    pub before: Duration,
    /// Output file (.csv or .parquet).
    #[arg(long)]
    pub out: PathBuf,
}

/// Before or during the span.
const BEFORE: usize = 0;
const DURING: usize = 1;

/// What a failure was answered with: the response code, else the
/// terminal's own error, else the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Code {
    Rc(RespCode),
    Error(TermError),
    Status(TxnStatus),
}

impl Code {
    fn of(o: &Outcome) -> Code {
        match (o.rc, o.term_error) {
            (Some(rc), _) => Code::Rc(rc),
            (None, Some(e)) => Code::Error(e),
            (None, None) => Code::Status(o.status),
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Code::Rc(rc) => rc.fmt(f),
            Code::Error(e) => f.write_str(e.name()),
            Code::Status(s) => f.write_str(s.name()),
        }
    }
}

/// One dimension value's counts in both periods.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Outcomes per class, before and during.
    classes: [[u64; OutcomeClass::COUNT]; 2],
    /// Failures by code, before and during.
    codes: [HashMap<Code, u64>; 2],
}

impl Tally {
    fn add(&mut self, phase: usize, o: &Outcome, code: Code) {
        self.classes[phase][o.class.index()] += 1;
        if o.class.is_failure() {
            *self.codes[phase].entry(code).or_default() += 1;
        }
    }

    fn sum(&self, phase: usize, which: impl Fn(OutcomeClass) -> bool) -> u64 {
        OutcomeClass::ALL
            .iter()
            .filter(|c| which(**c))
            .map(|c| self.classes[phase][c.index()])
            .sum()
    }

    /// Payment attempts.
    pub fn attempts(&self, phase: usize) -> u64 {
        self.sum(phase, OutcomeClass::is_attempt)
    }

    /// Outcomes in failure classes.
    pub fn failures(&self, phase: usize) -> u64 {
        self.sum(phase, OutcomeClass::is_failure)
    }

    /// Failures per attempt; `None` without attempts.
    pub fn rate(&self, phase: usize) -> Option<f64> {
        let n = self.attempts(phase);
        (n > 0).then(|| self.failures(phase) as f64 / n as f64)
    }

    /// Failures during beyond what the rate before (or `fallback` when the
    /// value had no attempts before) would give.
    pub fn excess(&self, fallback: f64) -> f64 {
        let rate = self.rate(BEFORE).unwrap_or(fallback);
        self.failures(DURING) as f64 - self.attempts(DURING) as f64 * rate
    }

    /// The most frequent failure codes, as `91=120;05=3`.
    fn top_codes(&self, phase: usize) -> String {
        let mut codes: Vec<(&Code, &u64)> = self.codes[phase].iter().collect();
        codes.sort_by(|a, b| {
            b.1.cmp(a.1)
                .then_with(|| a.0.to_string().cmp(&b.0.to_string()))
        });
        codes
            .iter()
            .take(TOP_CODES)
            .map(|(c, n)| format!("{c}={n}"))
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// One row of the drill-down.
#[derive(Debug, Clone)]
pub struct Row {
    /// Dimension name, or `fleet`.
    pub dimension: String,
    /// Value, or `all` for the fleet.
    pub value: String,
    /// The counts.
    pub tally: Tally,
    /// Excess failures during.
    pub excess: f64,
}

/// The drill-down of `span_ms` (`from`, `to` exclusive) against the
/// `before_ms` preceding it: the fleet row first, then each dimension's
/// values, largest excess first.
pub fn drill_down(
    config: &Config,
    mapping: &Mapping,
    files: &[PathBuf],
    span_ms: (i64, i64),
    before_ms: i64,
) -> anyhow::Result<Vec<Row>> {
    let (mut decoder, _monitor, _metrics) = offline(config)?;
    let (from, to) = span_ms;
    let start = from.saturating_sub(before_ms);
    let mut fleet = Tally::default();
    let mut values: HashMap<(Dim, Sym), Tally> = HashMap::new();
    let mut add = |o: &Outcome| {
        if o.ts_ms < start || o.ts_ms >= to {
            return;
        }
        let phase = if o.ts_ms < from { BEFORE } else { DURING };
        let code = Code::of(o);
        fleet.add(phase, o, code);
        for dim in Dim::ALL {
            let sym = o.dims.get(dim);
            if sym.is_some() {
                values.entry((dim, sym)).or_default().add(phase, o, code);
            }
        }
    };
    decode_files(files, mapping, &mut decoder, false, |events| {
        for e in events {
            if let Event::Outcome(o) = e {
                add(o);
            }
        }
    })?;
    Ok(rows(&decoder, fleet, values))
}

fn rows(decoder: &Decoder, fleet: Tally, values: HashMap<(Dim, Sym), Tally>) -> Vec<Row> {
    let fleet_rate = fleet.rate(BEFORE).unwrap_or(0.0);
    let symbols = decoder.symbols().read().unwrap_or_else(|p| p.into_inner());
    let mut out: Vec<Row> = values
        .into_iter()
        .filter_map(|((dim, sym), tally)| {
            Some(Row {
                dimension: dim.name().to_string(),
                value: symbols.resolve(dim, sym)?.to_string(),
                excess: tally.excess(fleet_rate),
                tally,
            })
        })
        .collect();
    let order = |d: &str| Dim::from_name(d).map_or(usize::MAX, Dim::index);
    out.sort_by(|a, b| {
        order(&a.dimension)
            .cmp(&order(&b.dimension))
            .then(b.excess.total_cmp(&a.excess))
            .then(a.value.cmp(&b.value))
    });
    out.insert(
        0,
        Row {
            dimension: "fleet".to_string(),
            value: "all".to_string(),
            excess: fleet.excess(fleet_rate),
            tally: fleet,
        },
    );
    out
}

/// The table's columns.
pub fn columns(rows: &[Row]) -> Vec<(String, TableColumn)> {
    let text = |f: &dyn Fn(&Row) -> String| TableColumn::Text(rows.iter().map(f).collect());
    let int =
        |f: &dyn Fn(&Row) -> u64| TableColumn::Int(rows.iter().map(|r| f(r) as i64).collect());
    let mut cols = vec![
        ("dimension".to_string(), text(&|r| r.dimension.clone())),
        ("value".to_string(), text(&|r| r.value.clone())),
    ];
    for (phase, name) in [(BEFORE, "before"), (DURING, "during")] {
        cols.push((
            format!("attempts_{name}"),
            int(&|r| r.tally.attempts(phase)),
        ));
        cols.push((
            format!("failures_{name}"),
            int(&|r| r.tally.failures(phase)),
        ));
        cols.push((
            format!("failure_rate_{name}"),
            TableColumn::Float(rows.iter().map(|r| r.tally.rate(phase)).collect()),
        ));
    }
    cols.push((
        "excess_failures".to_string(),
        TableColumn::Float(rows.iter().map(|r| Some(r.excess)).collect()),
    ));
    for (phase, name) in [(BEFORE, "before"), (DURING, "during")] {
        for class in OutcomeClass::ALL {
            cols.push((
                format!("{}_{name}", class.name()),
                int(&|r| r.tally.classes[phase][class.index()]),
            ));
        }
    }
    for (phase, name) in [(BEFORE, "before"), (DURING, "during")] {
        cols.push((
            format!("failure_codes_{name}"),
            text(&|r| r.tally.top_codes(phase)),
        ));
    }
    cols
}

/// A time as RFC 3339 or epoch milliseconds.
fn parse_time(flag: &str, text: &str) -> anyhow::Result<i64> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|e| anyhow::anyhow!("{flag}: not RFC 3339 or epoch ms: {e}"))
}

/// The span of incident `id` in a replay of the files: from the start of
/// the window that opened it to the last window it was seen in.
fn incident_span(
    config: &Config,
    mapping: &Mapping,
    opts: &Options,
    id: u64,
) -> anyhow::Result<(i64, i64)> {
    let replayed = replay(
        config,
        mapping,
        &ReplayOptions {
            baseline: opts.baseline.clone(),
            ..ReplayOptions::for_files(opts.files.clone())
        },
        &[],
    )?;
    let Some(inc) = replayed.incidents.iter().find(|i| i.id == id) else {
        anyhow::bail!(
            "no incident #{id} in a replay of these files ({} incidents; `swipetool replay` lists them)",
            replayed.incidents.len()
        );
    };
    let s = Settings::from(&config.engine);
    let window_ms = s.bucket_ms * s.window_buckets as i64;
    println!("incident #{id}: {} {}", inc.key.cause, inc.key.describe());
    Ok((
        inc.first_ms - window_ms,
        inc.last_ms.max(inc.first_ms) + s.bucket_ms,
    ))
}

/// Runs the command.
pub fn run(opts: &Options) -> anyhow::Result<()> {
    let (config, mapping) = crate::replay::open(opts.config.as_deref(), &opts.files)?;
    swipewatch_history::Format::of(&opts.out)?;
    let span = match (opts.incident, &opts.from, &opts.to) {
        (Some(id), None, None) => incident_span(&config, &mapping, opts, id)?,
        (None, Some(from), Some(to)) => (parse_time("--from", from)?, parse_time("--to", to)?),
        _ => anyhow::bail!("give either --incident ID, or --from and --to"),
    };
    if span.1 <= span.0 {
        anyhow::bail!("--to must be after --from");
    }
    let before_ms = i64::try_from(opts.before.as_millis()).unwrap_or(i64::MAX);
    let rows = drill_down(&config, &mapping, &opts.files, span, before_ms)?;
    swipewatch_history::write_table(&opts.out, columns(&rows))
        .with_context(|| format!("cannot write {}", opts.out.display()))?;
    println!(
        "{:<12} {:<24} {:>9} {:>9} {:>9} {:>9}",
        "dimension", "value", "rate bef", "rate dur", "failures", "excess"
    );
    let mut top: Vec<&Row> = rows.iter().collect();
    top.sort_by(|a, b| b.excess.total_cmp(&a.excess));
    let pct = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{:.1}%", r * 100.0));
    for r in top.iter().take(10) {
        println!(
            "{:<12} {:<24} {:>9} {:>9} {:>9} {:>9.0}",
            r.dimension,
            r.value,
            pct(r.tally.rate(BEFORE)),
            pct(r.tally.rate(DURING)),
            r.tally.failures(DURING),
            r.excess
        );
    }
    println!("wrote {} rows to {}", rows.len(), opts.out.display());
    Ok(())
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
