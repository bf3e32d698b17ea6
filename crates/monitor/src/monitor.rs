//! The engine → diagnose → incidents path, shared by every driver (live,
//! demo, eval). Synchronous: drivers decide when time moves.

use crate::evidence::EvidenceBook;
use crate::inventory::{FleetInventory, InventoryStatus};
use crate::MaintenanceSchedule;
use swipewatch_alert::{FindingView, IncidentBook, Notice, Policy, Silence, Transition};
use swipewatch_config::{Config, MaintenanceConfig};
use swipewatch_decode::{Decoder, SharedSymbols};
use swipewatch_diagnose::{Detector, Finding};
use swipewatch_engine::is_hw_error;
use swipewatch_engine::{BaselineFile, CheckpointError, Engine, EngineStats, WindowSnapshot};
use swipewatch_model::{Cause, Dim, Event, Inventory, Outcome, RawMessage};

/// Where a terminal is and what it runs, as told with its device
/// incidents and in the terminal view of the API.
pub const TERMINAL_DIMS: [Dim; 9] = [
    Dim::Region,
    Dim::Carrier,
    Dim::NetType,
    Dim::Cell,
    Dim::Acquirer,
    Dim::Merchant,
    Dim::Model,
    Dim::Firmware,
    Dim::App,
];

/// Engine, detector and incident book over one symbol table, moved on by
/// its verbs: [`Monitor::record_batch`] as events arrive, [`Monitor::advance`]
/// whenever time may have closed a window (the one place a window closes,
/// for the live, replay and demo drivers alike).
pub struct Monitor {
    pub(crate) engine: Engine,
    detector: Detector,
    book: IncidentBook,
    evidence: EvidenceBook,
    pub(crate) symbols: SharedSymbols,
    inventory: FleetInventory,
    maintenance: MaintenanceSchedule,
    closed: Vec<WindowSnapshot>,
}

/// What one closed window produced.
#[derive(Debug)]
pub struct WindowResult {
    /// The window, as the engine closed it (baselines have learned from it).
    pub snapshot: WindowSnapshot,
    /// The window's findings, resolved to text.
    pub findings: Vec<FindingView>,
    /// Incident lifecycle steps.
    pub transitions: Vec<Transition>,
    /// What the sinks are to be told, in order.
    pub notices: Vec<Notice>,
}

impl Monitor {
    /// A monitor over `engine`; values are resolved through `symbols`.
    pub fn new(engine: Engine, symbols: SharedSymbols) -> Monitor {
        let settings = engine.settings();
        let detector = Detector::new(settings.leaf_dims.clone());
        let policy = Policy {
            window_ms: settings.bucket_ms * settings.window_buckets as i64,
            device_hold_ms: settings.lateness_ms + settings.bucket_ms,
            ..Policy::default()
        };
        Monitor {
            engine,
            detector,
            book: IncidentBook::new(policy),
            evidence: EvidenceBook::default(),
            symbols,
            inventory: FleetInventory::default(),
            maintenance: MaintenanceSchedule::default(),
            closed: Vec::new(),
        }
    }

    /// The window engine (read only: events go in through
    /// [`Monitor::record_batch`]).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The incident book (read only: it moves on with the windows).
    pub fn book(&self) -> &IncidentBook {
        &self.book
    }

    /// The detector and its thresholds.
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// Puts the configured thresholds in force: detection (`[detect]`),
    /// the incident lifecycle and routing (`[incidents]`), and when an
    /// inventory terminal is missing (`fleet.missing_after`).
    pub fn tune(&mut self, config: &Config) {
        let (d, i) = (&config.detect, &config.incidents);
        let detector = &mut self.detector;
        detector.spike.min_failures = d.min_failures;
        detector.spike.min_pending_failures = d.min_pending_failures;
        detector.spike.p_value = d.spike_p_value;
        detector.spike.min_ratio = d.min_ratio;
        detector.hw_error_run = d.hw_error_run;
        detector.failure_run = d.failure_run;
        detector.missing.after_ms = config.fleet.missing_after.as_millis() as i64;
        let policy = Policy {
            fire_after: i.fire_after,
            resolve_after: i.resolve_after,
            device_resolve_after: i.device_resolve_after,
            page_failed_per_min: i.page_failed_per_min,
            page_terminals: i.page_terminals,
            keep_resolved: i.keep_resolved,
            ..*self.book.policy()
        };
        self.book.set_policy(policy);
    }

    /// Engine counters since it first started.
    pub fn stats(&self) -> EngineStats {
        self.engine.stats()
    }

    /// Records that ingest is connected (`up`) or not, as of `now_ms`:
    /// windows that overlap a disconnection are data gaps.
    pub fn set_connected(&mut self, up: bool, now_ms: i64) {
        self.engine.set_connected(up, now_ms);
    }

    /// Input has been idle: lets processing time close windows.
    pub fn on_idle(&mut self, now_ms: i64) {
        self.engine.on_idle(now_ms);
    }

    /// Records a decoded batch whose last message sits at intake
    /// `position` (0: not journaled); returns incident transitions raised
    /// on arrival (a dead reader is told at once).
    pub fn record_batch(&mut self, events: &[Event], position: u64) -> Vec<Transition> {
        let mut raised = Vec::new();
        for (i, e) in events.iter().enumerate() {
            self.engine.prefetch_for(events, i);
            raised.extend(self.record(e));
        }
        if position > 0 {
            self.engine.set_input_position(position);
        }
        raised
    }

    /// Processes every window the watermark has closed, oldest first, into
    /// `out`.
    pub fn advance(&mut self, out: &mut Vec<WindowResult>) {
        let mut closed = std::mem::take(&mut self.closed);
        self.engine.poll_closed(&mut closed);
        self.process_all(&mut closed, out);
        self.closed = closed;
    }

    /// Closes and processes every open window (the end of a finite stream).
    pub fn flush(&mut self, out: &mut Vec<WindowResult>) {
        let mut closed = std::mem::take(&mut self.closed);
        self.engine.flush(&mut closed);
        self.process_all(&mut closed, out);
        self.closed = closed;
    }

    fn process_all(&mut self, closed: &mut Vec<WindowSnapshot>, out: &mut Vec<WindowResult>) {
        for mut snapshot in closed.drain(..) {
            let (findings, transitions) = self.process(&mut snapshot);
            out.push(WindowResult {
                snapshot,
                findings,
                transitions,
                notices: self.book.take_notices(),
            });
        }
    }

    /// Notices queued outside a window (an incident raised on arrival, a
    /// silence added), in order.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        self.book.take_notices()
    }

    /// Adds a silence; returns it with its id.
    pub fn silence(&mut self, silence: Silence) -> Silence {
        self.book.silence(silence)
    }

    /// Ends silence `id` at `at_ms`; returns it.
    pub fn expire_silence(&mut self, id: u64, at_ms: i64) -> Option<Silence> {
        self.book.expire_silence(id, at_ms)
    }

    /// Puts back silences from the durable log.
    pub fn restore_silences(&mut self, silences: impl IntoIterator<Item = Silence>) {
        self.book.restore_silences(silences);
    }

    /// Silences the occurrences of recurring maintenance windows as time
    /// reaches them (see [`Monitor::renew_maintenance`]).
    pub fn schedule_maintenance(&mut self, windows: Vec<MaintenanceConfig>) {
        self.maintenance = MaintenanceSchedule::new(windows);
    }

    /// Adds the silences of maintenance occurrences up to two days after
    /// `now_ms` (at most once an hour); whether any was added.
    pub fn renew_maintenance(&mut self, now_ms: i64) -> bool {
        self.maintenance.renew(now_ms, &mut self.book)
    }

    /// Starts from baselines learned elsewhere (`swipetool baseline`), so
    /// detection needs no learning period.
    pub fn warm_start(&mut self, file: &BaselineFile) -> Result<(), CheckpointError> {
        let mut symbols = self.symbols.write().unwrap_or_else(|p| p.into_inner());
        self.engine.warm_start(file, &mut symbols)
    }

    /// Puts `inventory` in force (at start, and again on a reload: the
    /// terminals stay watched from when the first one took effect).
    pub fn set_inventory(&mut self, inventory: &Inventory) {
        let mut next = FleetInventory::new(inventory, &self.symbols);
        if let Some(since) = self.inventory.since_ms() {
            next.start(since);
        }
        self.inventory = next;
    }

    /// Terminals in the inventory in force.
    pub fn inventory_len(&self) -> usize {
        self.inventory.len()
    }

    /// Listed terminals never heard from, and terminals heard from that
    /// the inventory does not list (up to `limit` ids of each).
    pub fn inventory_status(&self, limit: usize) -> InventoryStatus {
        self.inventory.status(&self.engine, &self.symbols, limit)
    }

    /// Counts one event (its place filled in from the inventory where the
    /// message left it out). A terminal whose reader or PIN pad has just
    /// failed `hw_error_run` times in a row is reported at once, not when
    /// its bucket closes (unless an open device-software incident covers
    /// it).
    pub fn record(&mut self, event: &Event) -> Vec<Transition> {
        if !self.inventory.is_empty() {
            let mut filled = *event;
            let changed = match &mut filled {
                Event::Outcome(o) => self.inventory.fill(o.terminal, &mut o.dims),
                Event::Heartbeat(h) => self.inventory.fill(h.terminal, &mut h.dims),
            };
            if changed {
                return self.record_filled(&filled);
            }
        }
        self.record_filled(event)
    }

    fn record_filled(&mut self, event: &Event) -> Vec<Transition> {
        self.engine.record(event);
        let Event::Outcome(o) = event else {
            return Vec::new();
        };
        let transitions = self.raise_dead_device(o);
        self.track(&transitions, o.ts_ms);
        // After `track`, so a device incident this outcome opened counts it.
        self.evidence.record(o);
        transitions
    }

    /// The device incident `o` completes (its terminal's reader or PIN pad
    /// has just failed `hw_error_run` times in a row), if any.
    fn raise_dead_device(&mut self, o: &Outcome) -> Vec<Transition> {
        if !is_hw_error(o) {
            return Vec::new();
        }
        let Some(state) = self.engine.terminal_state(o.terminal) else {
            return Vec::new();
        };
        if state.consecutive_hw_errors != self.detector.hw_error_run {
            return Vec::new();
        }
        let finding = self.detector.device_finding(o.terminal, state, o.ts_ms);
        let view = self.resolve(std::slice::from_ref(&finding));
        let explained = {
            let symbols = self.symbols.read().unwrap_or_else(|p| p.into_inner());
            self.book.open().any(|i| {
                i.key.cause == Cause::DeviceSoftware
                    && i.key
                        .element
                        .iter()
                        .all(|(d, v)| symbols.resolve(*d, state.dims.get(*d)) == Some(v.as_str()))
            })
        };
        if explained {
            return Vec::new();
        }
        self.book.raise(o.ts_ms, &view)
    }

    /// The symbol table values are interned in.
    pub fn symbols(&self) -> &SharedSymbols {
        &self.symbols
    }

    /// Puts back incidents from the durable log and resumes tallying
    /// evidence for the open ones.
    pub fn restore_incidents(&mut self, incidents: Vec<swipewatch_alert::Incident>, at_ms: i64) {
        for inc in incidents
            .iter()
            .filter(|i| i.state != swipewatch_alert::State::Resolved)
        {
            self.evidence.open(inc, &self.symbols, at_ms);
        }
        self.book.restore(incidents);
    }

    /// Decodes `messages` (draining them) and records the events (`events`
    /// is scratch space, left empty); returns incident transitions raised
    /// on arrival, with the event time they were raised at.
    pub fn ingest(
        &mut self,
        decoder: &mut Decoder,
        messages: &mut Vec<impl RawMessage>,
        events: &mut Vec<Event>,
    ) -> Vec<(i64, Vec<Transition>)> {
        let mut raised = Vec::new();
        events.clear();
        for m in messages.drain(..) {
            let payload = m.payload();
            // Nothing is journaled here: what a message allows does not matter.
            let _ = decoder.decode(m.topic(), payload, payload.len(), m.arrival_ms(), events);
        }
        // The whole batch is decoded first, so each event's terminal state
        // and counters can be asked for a few events before it is recorded.
        for (i, e) in events.iter().enumerate() {
            self.engine.prefetch_for(events, i);
            let t = self.record(e);
            if !t.is_empty() {
                raised.push((self.engine.max_event_ms(), t));
            }
        }
        events.clear();
        raised
    }

    /// Starts and stops evidence tallies as incidents open and resolve.
    fn track(&mut self, transitions: &[Transition], at_ms: i64) {
        for t in transitions {
            match t {
                Transition::Opened(i) => self.evidence.open(i, &self.symbols, at_ms),
                Transition::Resolved(i) => self.evidence.close(i.id),
                // The tally follows the incident's new element.
                Transition::Refined(i) => {
                    self.evidence.close(i.id);
                    self.evidence.open(i, &self.symbols, at_ms);
                }
                Transition::Fired(_) => {}
            }
        }
    }

    /// Detects on one closed window, lets the baselines learn from what was
    /// normal in it, and moves the incidents on.
    fn process(&mut self, snap: &mut WindowSnapshot) -> (Vec<FindingView>, Vec<Transition>) {
        let (mut findings, anomalies) = self.detector.detect(snap);
        if !self.inventory.is_empty() && !snap.bucket.data_gap {
            self.inventory.start(snap.window.start_ms);
            let p = self.detector.missing;
            findings.extend(self.inventory.missing(&self.engine, snap.window.end_ms, &p));
        }
        self.engine.learn(snap, &anomalies);
        let findings = self.resolve(&findings);
        for (id, evidence) in self.evidence.snapshot() {
            self.book.set_evidence(id, evidence);
        }
        // While swipewatch itself was not listening, missing findings say
        // nothing: open incidents hold (none resolves for lack of data).
        let transitions = if snap.bucket.data_gap {
            Vec::new()
        } else {
            self.book.update(snap.window.end_ms, &findings)
        };
        // A new incident's tally starts with the window that raised it.
        let start = snap.window.end_ms - self.engine.settings().bucket_ms;
        self.track(&transitions, start);
        for (id, evidence) in self.evidence.snapshot() {
            self.book.set_evidence(id, evidence);
        }
        (findings, transitions)
    }

    fn resolve(&self, findings: &[Finding]) -> Vec<FindingView> {
        let symbols = self.symbols.read().unwrap_or_else(|p| p.into_inner());
        findings
            .iter()
            .map(|f| FindingView {
                cause: f.cause,
                element: f
                    .element
                    .iter()
                    .map(|&(d, s)| (d, symbols.resolve(d, s).unwrap_or("(none)").to_string()))
                    .collect(),
                terminal: f
                    .terminal
                    .map(|t| symbols.terminals.resolve(t).unwrap_or("?").to_string()),
                observed: f.observed,
                expected: f.expected,
                classes: f.classes.clone(),
                confidence: f.confidence,
                signal: f.signal,
                p95_ms: f.p95_ms,
                provisional: f.provisional,
                context: f
                    .terminal
                    .and_then(|t| self.engine.terminal_state(t))
                    .map(|state| {
                        TERMINAL_DIMS
                            .into_iter()
                            .filter_map(|d| {
                                let v = symbols.resolve(d, state.dims.get(d))?;
                                Some((d, v.to_string()))
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use swipewatch_engine::Settings;

    #[test]
    fn the_configured_defaults_are_the_built_in_thresholds() {
        let config = swipewatch_config::load_str("", std::path::Path::new(".")).expect("defaults");
        let engine = Engine::new(Settings::from(&config.engine));
        let built_in = Monitor::new(engine, SharedSymbols::default());
        let engine = Engine::new(Settings::from(&config.engine));
        let mut tuned = Monitor::new(engine, SharedSymbols::default());
        tuned.tune(&config);
        let (a, b) = (built_in.detector(), tuned.detector());
        assert_eq!(
            (
                a.spike.min_failures,
                a.spike.min_pending_failures,
                a.spike.p_value
            ),
            (
                b.spike.min_failures,
                b.spike.min_pending_failures,
                b.spike.p_value
            )
        );
        assert_eq!(a.spike.min_ratio, b.spike.min_ratio);
        assert_eq!(
            (a.hw_error_run, a.failure_run),
            (b.hw_error_run, b.failure_run)
        );
        assert_eq!(built_in.book().policy(), tuned.book().policy());
    }

    #[test]
    fn configured_thresholds_reach_the_detector_and_the_book() {
        let text = "[detect]\nmin_failures = 25\n[incidents]\nfire_after = 4\npage_terminals = 7\n";
        let config = swipewatch_config::load_str(text, std::path::Path::new(".")).expect("valid");
        let mut m = Monitor::new(
            Engine::new(Settings::from(&config.engine)),
            SharedSymbols::default(),
        );
        m.tune(&config);
        assert_eq!(m.detector().spike.min_failures, 25);
        assert_eq!(
            (
                m.book().policy().fire_after,
                m.book().policy().page_terminals
            ),
            (4, 7)
        );
    }
}
