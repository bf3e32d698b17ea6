//! `swipewatch eval`: replays every scenario of a directory through the real
//! decoder, engine, detector and incident book in event time, as fast as the
//! CPU allows, and scores the incidents against the scenario's labels.

use anyhow::Context;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;
use swipewatch_config::Config;
use swipewatch_model::Cause;
use swipewatch_monitor::{offline, transition_text, Replay};
use swipewatch_sim::score::detected;
use swipewatch_sim::score::{describe, score, yes, LabelScore, RunScore};
use swipewatch_sim::{Generator, Scenario};

/// Pass marks for a suite (`suite.toml` beside the scenarios).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Longest time to detect (to firing) a bank or network incident that
    /// carries at least `min_share` of the traffic, seconds of event time.
    pub max_ttd_s: f64,
    /// Traffic share from which `max_ttd_s` applies.
    pub min_share: f64,
    /// Most failed transactions before a dead device is reported.
    pub max_device_failures: f64,
    /// Most false pages per simulated day.
    pub max_false_pages_per_day: f64,
    /// Most false incidents (pages, warnings and tickets) per simulated
    /// day, over the whole suite.
    #[serde(default = "one")]
    pub max_false_incidents_per_day: f64,
    /// Most incidents opened and never fired per simulated day, over the
    /// whole suite (those listed under an incident that explains them are
    /// counted apart).
    #[serde(default = "five")]
    pub max_never_fired_per_day: f64,
}

fn one() -> f64 {
    1.0
}

fn five() -> f64 {
    5.0
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_ttd_s: 30.0,
            min_share: 0.02,
            max_device_failures: 5.0,
            max_false_pages_per_day: 0.0,
            max_false_incidents_per_day: one(),
            max_never_fired_per_day: five(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Suite {
    #[serde(default)]
    thresholds: Thresholds,
}

/// Options of one evaluation.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Directory of `*.toml` scenarios (and an optional `suite.toml`).
    pub dir: PathBuf,
    /// Seeds per scenario (the scenario's seed, +1, +2, ...).
    pub seeds: u64,
    /// Scenarios longer than this are cut short (faults after the cut are dropped).
    pub max_duration: Option<Duration>,
    /// Only scenarios whose file name contains this.
    pub only: Option<String>,
    /// Print every incident transition as it happens.
    pub trace: bool,
}

/// Runs the suite and prints the table; true if every threshold holds.
pub fn eval(opts: &EvalOptions, config: &Config) -> anyhow::Result<bool> {
    let suite_path = opts.dir.join("suite.toml");
    let thresholds = if suite_path.exists() {
        let text = std::fs::read_to_string(&suite_path)
            .with_context(|| format!("cannot read {}", suite_path.display()))?;
        toml::from_str::<Suite>(&text)
            .map_err(|e| anyhow::anyhow!("{}: {}", suite_path.display(), e.message()))?
            .thresholds
    } else {
        Thresholds::default()
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&opts.dir)
        .with_context(|| format!("cannot list {}", opts.dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && !p.ends_with("suite.toml"))
        .filter(|p| {
            opts.only.as_deref().is_none_or(|o| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().contains(o))
            })
        })
        .collect();
    files.sort();
    anyhow::ensure!(!files.is_empty(), "no scenarios in {}", opts.dir.display());

    println!(
        "{:<22} {:>4} {:<20} {:<34} {:>6} {:>5} {:>5} {:>5} {:>8}",
        "scenario", "seed", "fault", "element", "share", "found", "cause", "elem", "detect"
    );
    let mut all_ok = true;
    let mut totals = Totals::default();
    for file in &files {
        let mut scenario = Scenario::load(file)?;
        if let Some(max) = opts.max_duration {
            if scenario.duration > max {
                scenario.duration = max;
                scenario.faults.retain(|f| f.start + f.duration <= max);
            }
        }
        for k in 0..opts.seeds {
            let mut s = scenario.clone();
            s.seed = scenario.seed + k;
            let started = std::time::Instant::now();
            let (run, run_origin_ms) = replay(&s, config, opts.trace)?;
            let elapsed = started.elapsed();
            for l in &run.labels {
                let failed = check(l, &thresholds);
                all_ok &= failed.is_empty();
                println!(
                    "{:<22} {:>4} {:<20} {:<34} {:>5.1}% {:>5} {:>5} {:>5} {:>8}{}",
                    s.name,
                    s.seed,
                    l.label.kind,
                    describe(&l.label.element),
                    l.label.share * 100.0,
                    yes(l.found),
                    l.cause_text(),
                    yes(l.element_ok),
                    l.detect_text(),
                    if failed.is_empty() {
                        String::new()
                    } else {
                        format!("  FAIL: {}", failed.join(", "))
                    },
                );
                totals.add(l);
            }
            let per_day = run.false_pages as f64 / run.days.max(1e-9);
            let pages_ok = per_day <= thresholds.max_false_pages_per_day;
            all_ok &= pages_ok;
            println!(
                "{:<22} {:>4} false incidents {} ({:.2}/day), false pages {} ({:.2}/day), never fired {} ({:.2}/day; {} more listed under an incident) over {:.2} days; replayed in {:.1}s{}",
                s.name,
                s.seed,
                run.false_incidents,
                run.false_incidents as f64 / run.days.max(1e-9),
                run.false_pages,
                per_day,
                run.never_fired,
                run.never_fired as f64 / run.days.max(1e-9),
                run.never_fired_listed,
                run.days,
                elapsed.as_secs_f64(),
                if pages_ok { "" } else { "  FAIL: false pages" }
            );
            if opts.trace {
                for d in &run.unexplained {
                    println!(
                        "  false: +{:.0}s {} {}{}",
                        (d.first_ms - run_origin_ms) as f64 / 1000.0,
                        d.cause.name(),
                        describe(&d.element),
                        if d.paged() { " (paged)" } else { "" }
                    );
                }
            }
            totals.false_incidents += run.false_incidents;
            totals.false_pages += run.false_pages;
            totals.never_fired += run.never_fired;
            totals.days += run.days;
        }
    }
    totals.print();
    all_ok &= totals.within(&thresholds);
    println!("{}", if all_ok { "PASS" } else { "FAIL" });
    Ok(all_ok)
}

/// The thresholds one label misses.
fn check(l: &LabelScore, t: &Thresholds) -> Vec<&'static str> {
    let mut failed = Vec::new();
    let Some(cause) = l.label.cause else {
        if l.wrongly_paged {
            failed.push("paged on background");
        }
        return failed;
    };
    if l.label.maintenance {
        if l.wrongly_paged {
            failed.push("paged in maintenance");
        }
        return failed;
    }
    if !l.cause_ok {
        failed.push(if l.found { "wrong cause" } else { "missed" });
        return failed;
    }
    let bank_or_network = matches!(
        cause,
        Cause::Network | Cause::BankIssuer | Cause::BankAcquirer
    );
    if bank_or_network
        && l.label.share >= t.min_share
        && l.ttd_ms.is_none_or(|ms| ms as f64 > t.max_ttd_s * 1000.0)
    {
        failed.push("slow");
    }
    // A device whose payments fail is held to a count of failures; a worn
    // reader (payments still go through) has none to count.
    if cause == Cause::DeviceHardware
        && l.failures_to_detect
            .is_some_and(|n| n > t.max_device_failures)
    {
        failed.push("too many failures");
    }
    failed
}

#[derive(Default)]
struct Totals {
    labels: usize,
    causal: usize,
    cause_ok: usize,
    element_ok: usize,
    ttds: Vec<f64>,
    false_incidents: usize,
    false_pages: usize,
    never_fired: usize,
    days: f64,
}

impl Totals {
    fn add(&mut self, l: &LabelScore) {
        self.labels += 1;
        if l.label.cause.is_some() && !l.label.maintenance {
            self.causal += 1;
            self.cause_ok += usize::from(l.cause_ok);
            self.element_ok += usize::from(l.element_ok);
            if l.failures_to_detect.is_none() {
                if let Some(ms) = l.ttd_ms {
                    self.ttds.push(ms as f64 / 1000.0);
                }
            }
        }
    }

    /// The suite-wide rates against their thresholds (printed when missed).
    fn within(&self, t: &Thresholds) -> bool {
        let days = self.days.max(1e-9);
        let rate_ok = |count: usize, most: f64, what: &str| {
            let rate = count as f64 / days;
            if rate > most {
                println!("FAIL: {rate:.2} {what} a day, more than {most}");
            }
            rate <= most
        };
        let false_ok = rate_ok(
            self.false_incidents,
            t.max_false_incidents_per_day,
            "false incidents",
        );
        let pending_ok = rate_ok(
            self.never_fired,
            t.max_never_fired_per_day,
            "incidents opened and never fired",
        );
        false_ok && pending_ok
    }

    fn print(&mut self) {
        self.ttds.sort_by(f64::total_cmp);
        let median = self
            .ttds
            .get(self.ttds.len() / 2)
            .copied()
            .unwrap_or(f64::NAN);
        let max = self.ttds.last().copied().unwrap_or(f64::NAN);
        println!(
            "total: {} labels; faults with a side: {}, right cause {}, right element {}; time to detect median {:.0}s, max {:.0}s; false incidents {}, false pages {}, never fired {} over {:.2} days",
            self.labels, self.causal, self.cause_ok, self.element_ok, median, max, self.false_incidents, self.false_pages, self.never_fired, self.days
        );
    }
}

/// Replays one scenario; returns its score and its event-time origin
/// (epoch ms).
pub fn replay(
    scenario: &Scenario,
    config: &Config,
    trace: bool,
) -> anyhow::Result<(RunScore, i64)> {
    let (mut decoder, mut monitor, _metrics) = offline(config)?;
    let mut generator = Generator::new(scenario, None);
    if scenario.inventory {
        let inventory = swipewatch_model::Inventory::parse(&generator.inventory_csv())
            .map_err(|e| anyhow::anyhow!("simulated inventory: {e}"))?;
        monitor.set_inventory(&inventory);
    }
    let origin_ms = generator.origin_ms();
    for window in generator.maintenance_windows(generator.end_ms()) {
        monitor.silence(window.to_silence("scheduled maintenance"));
    }
    let mut replay = Replay::new(monitor);
    if trace {
        replay = replay.with_trace(move |at_ms, t| {
            println!(
                "  +{:>7.0}s {}",
                (at_ms - origin_ms) as f64 / 1000.0,
                transition_text(t)
            );
        });
    }
    let mut messages = Vec::new();
    while generator.step(&mut messages) {
        replay.messages(&mut decoder, &mut messages);
    }
    let incidents = replay.finish();
    let days = scenario.duration.as_secs_f64() / 86_400.0;
    Ok((
        score(&generator.labels(), &detected(&incidents), days),
        origin_ms,
    ))
}
