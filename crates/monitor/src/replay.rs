//! Replay of a finite stream in event time, as fast as the CPU allows: the
//! same [`Monitor`] as live, fed events or raw messages, with windows closed
//! as the watermark passes them and every incident kept as last seen.
//! `eval` replays the simulator's messages; offline replay feeds events
//! typed from history files.

use crate::{Monitor, WindowResult};
use std::collections::BTreeMap;
use swipewatch_alert::{Incident, Transition};
use swipewatch_config::{Config, ConfigError, MaintenanceConfig};
use swipewatch_decode::{Decoder, SharedSymbols};
use swipewatch_engine::{Engine, Settings};
use swipewatch_model::{Event, RawMessage};
use swipewatch_telemetry::Metrics;

/// Called with the event time (epoch ms) and each incident transition.
type Trace = Box<dyn FnMut(i64, &Transition)>;

/// A monitor driven by the stream itself.
pub struct Replay {
    /// The monitor; its book holds the incidents.
    pub monitor: Monitor,
    incidents: BTreeMap<u64, Incident>,
    results: Vec<WindowResult>,
    events: Vec<Event>,
    trace: Option<Trace>,
    windows: u64,
}

impl Replay {
    /// A replay through `monitor`.
    pub fn new(monitor: Monitor) -> Replay {
        Replay {
            monitor,
            incidents: BTreeMap::new(),
            results: Vec::new(),
            events: Vec::new(),
            trace: None,
            windows: 0,
        }
    }

    /// Calls `trace` with every incident transition as it happens.
    pub fn with_trace(mut self, trace: impl FnMut(i64, &Transition) + 'static) -> Replay {
        self.trace = Some(Box::new(trace));
        self
    }

    /// Silences the occurrences of recurring maintenance windows as event
    /// time reaches them, as the live service does with processing time.
    pub fn with_maintenance(mut self, windows: Vec<MaintenanceConfig>) -> Replay {
        self.monitor.schedule_maintenance(windows);
        self
    }

    /// Decodes and records `messages` (draining them), then processes the
    /// windows they closed.
    pub fn messages(&mut self, decoder: &mut Decoder, messages: &mut Vec<impl RawMessage>) {
        let raised = self.monitor.ingest(decoder, messages, &mut self.events);
        for (at_ms, transitions) in raised {
            self.note(at_ms, &transitions);
        }
        self.poll();
    }

    /// Records one event; call [`Replay::poll`] now and then (every batch)
    /// to process the windows that closed.
    pub fn event(&mut self, event: &Event) {
        let transitions = self.monitor.record(event);
        if !transitions.is_empty() {
            let at_ms = self.monitor.engine().max_event_ms();
            self.note(at_ms, &transitions);
        }
    }

    /// Processes the windows the watermark has closed.
    pub fn poll(&mut self) {
        let now_ms = self.monitor.engine().max_event_ms();
        if now_ms != i64::MIN {
            self.monitor.renew_maintenance(now_ms);
        }
        let mut results = std::mem::take(&mut self.results);
        self.monitor.advance(&mut results);
        self.note_windows(&mut results);
        self.results = results;
    }

    /// Closes every remaining window and returns every incident of the
    /// run, as last seen, in id order.
    pub fn finish(self) -> Vec<Incident> {
        self.close().0
    }

    /// As [`Replay::finish`], and gives back the monitor (whose baselines
    /// have learned from every window).
    pub fn close(mut self) -> (Vec<Incident>, Monitor) {
        let mut results = std::mem::take(&mut self.results);
        self.monitor.flush(&mut results);
        self.note_windows(&mut results);
        for inc in self.monitor.book().open() {
            self.incidents.insert(inc.id, inc.clone());
        }
        (self.incidents.into_values().collect(), self.monitor)
    }

    /// Windows processed so far.
    pub fn windows(&self) -> u64 {
        self.windows
    }

    /// Notes each window's transitions; notices are dropped (a replay is
    /// judged from the incidents themselves; nothing is delivered).
    fn note_windows(&mut self, results: &mut Vec<WindowResult>) {
        for result in results.drain(..) {
            self.windows += 1;
            self.note(result.snapshot.window.end_ms, &result.transitions);
        }
    }

    fn note(&mut self, at_ms: i64, transitions: &[Transition]) {
        for t in transitions {
            if let Some(trace) = self.trace.as_mut() {
                trace(at_ms, t);
            }
            let i = t.incident();
            self.incidents.insert(i.id, i.clone());
        }
    }
}

/// A decoder and a fresh monitor for an offline run of `config`, sharing
/// one symbol table, with the metrics the decoder counts into (and the
/// fleet inventory, when the config names one).
pub fn offline(config: &Config) -> Result<(Decoder, Monitor, Metrics), ConfigError> {
    let taxonomy = swipewatch_config::load_code_tables(&config.codes.tables)?;
    let symbols = SharedSymbols::default();
    let metrics = Metrics::new();
    let decoder = Decoder::new(
        &config.ingest,
        taxonomy,
        symbols.clone(),
        metrics.ingest.clone(),
    );
    if let Some(path) = &config.codes.bin_table {
        decoder
            .bins()
            .store(swipewatch_config::load_bin_table(path)?);
    }
    let mut monitor = Monitor::new(Engine::new(Settings::from(&config.engine)), symbols);
    monitor.tune(config);
    if let Some(path) = &config.fleet.inventory_file {
        monitor.set_inventory(&swipewatch_config::load_inventory(path)?);
    }
    Ok((decoder, monitor, metrics))
}

/// One incident transition as a line of text (for traces):
/// `fired    #3 bank-issuer issuer=northbank observed 62 expected 0.1`.
pub fn transition_text(t: &Transition) -> String {
    let (what, inc) = match t {
        Transition::Opened(i) => ("opened", i),
        Transition::Fired(i) => ("fired", i),
        Transition::Resolved(i) => ("resolved", i),
        Transition::Refined(i) => ("refined", i),
    };
    format!(
        "{what:<8} #{} {} {} observed {:.0} expected {:.1}",
        inc.id,
        inc.key.cause,
        inc.key.describe(),
        inc.latest.observed,
        inc.latest.expected
    )
}
