//! The fleet inventory as the monitor uses it: interned, indexed by
//! terminal, filling the places messages leave out and telling which
//! terminals are expected to be heard from.

use swipewatch_decode::SharedSymbols;
use swipewatch_diagnose::missing::{missing, Expected, MissingParams};
use swipewatch_diagnose::Finding;
use swipewatch_engine::Engine;
use swipewatch_model::inventory::INVENTORY_DIMS;
use swipewatch_model::{DimValues, Inventory, Sym, TradingHours};

/// One terminal of the inventory, interned (32 bytes).
#[derive(Debug, Clone, Copy)]
struct Placed {
    terminal: Sym,
    /// Values of [`INVENTORY_DIMS`], in that order (`Sym::NONE`: not given).
    dims: [Sym; INVENTORY_DIMS.len()],
    hours: TradingHours,
    utc_offset_min: i16,
}

/// The inventory in force.
#[derive(Debug, Clone, Default)]
pub struct FleetInventory {
    entries: Vec<Placed>,
    /// Terminal symbol index → entry index (`u32::MAX`: not listed).
    by_terminal: Vec<u32>,
    /// Event time the inventory took effect (set by the first window
    /// after loading): a terminal never heard from counts from then.
    since_ms: Option<i64>,
    /// The newest scan's minute and findings: the scan reads every row,
    /// so it runs once a minute of event time and its findings stand for
    /// the windows in between.
    scanned: Option<(i64, Vec<Finding>)>,
}

/// What the inventory and the terminals heard from say about each other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventoryStatus {
    /// Terminals in the inventory.
    pub listed: usize,
    /// ... of which never heard from.
    pub never_seen: usize,
    /// Terminals heard from that the inventory does not list.
    pub not_listed: usize,
    /// Up to `limit` ids of each, in inventory order and symbol order.
    pub never_seen_ids: Vec<String>,
    /// See [`InventoryStatus::never_seen_ids`].
    pub not_listed_ids: Vec<String>,
}

impl FleetInventory {
    /// Interns `inventory` into `symbols`.
    pub fn new(inventory: &Inventory, symbols: &SharedSymbols) -> FleetInventory {
        let mut table = symbols.write().unwrap_or_else(|p| p.into_inner());
        let mut out = FleetInventory::default();
        table.terminals.reserve(inventory.len());
        out.entries.reserve(inventory.len());
        // Exports come sorted by merchant or place: a value like the row
        // before's is not looked up again.
        let mut last: [(&str, Sym); INVENTORY_DIMS.len()] = [("", Sym::NONE); INVENTORY_DIMS.len()];
        for row in inventory.rows() {
            let terminal = table.terminals.intern(row.terminal);
            let mut dims = [Sym::NONE; INVENTORY_DIMS.len()];
            for (((slot, (dim, _)), prev), value) in dims
                .iter_mut()
                .zip(INVENTORY_DIMS)
                .zip(&mut last)
                .zip(row.dims)
            {
                let Some(v) = value else {
                    continue;
                };
                if prev.1.is_some() && prev.0 == v {
                    *slot = prev.1;
                } else {
                    *slot = table.dim_mut(dim).intern(v);
                    *prev = (v, *slot);
                }
            }
            let i = terminal.index();
            if i >= out.by_terminal.len() {
                out.by_terminal.resize(i + 1, u32::MAX);
            }
            out.by_terminal[i] = out.entries.len() as u32;
            out.entries.push(Placed {
                terminal,
                dims,
                hours: row.hours,
                utc_offset_min: row.utc_offset_min,
            });
        }
        out
    }

    /// Terminals listed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Nothing listed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn entry(&self, terminal: Sym) -> Option<&Placed> {
        let i = *self.by_terminal.get(terminal.index())?;
        self.entries.get(i as usize)
    }

    /// Fills the dimensions `dims` leaves out from `terminal`'s row; true
    /// if anything was filled.
    pub fn fill(&self, terminal: Sym, dims: &mut DimValues) -> bool {
        let Some(e) = self.entry(terminal) else {
            return false;
        };
        let mut filled = false;
        for ((dim, _), v) in INVENTORY_DIMS.iter().zip(e.dims) {
            if v.is_some() && !dims.get(*dim).is_some() {
                dims.set(*dim, v);
                filled = true;
            }
        }
        filled
    }

    /// When the inventory took effect, if it has.
    pub fn since_ms(&self) -> Option<i64> {
        self.since_ms
    }

    /// Marks the event time the inventory takes effect, once.
    pub fn start(&mut self, at_ms: i64) -> i64 {
        *self.since_ms.get_or_insert(at_ms)
    }

    /// Terminals whose shop has been open throughout `[now_ms - after_ms,
    /// now_ms]`, with where they stand and when they were last heard from.
    pub fn expected(&self, engine: &Engine, now_ms: i64, after_ms: i64) -> Vec<Expected> {
        self.entries
            .iter()
            .filter(|e| {
                e.hours
                    .open_throughout(now_ms - after_ms, now_ms, e.utc_offset_min)
            })
            .map(|e| {
                let state = engine.terminal_state(e.terminal);
                let mut dims = state.map(|s| s.dims).unwrap_or_default();
                for ((dim, _), v) in INVENTORY_DIMS.iter().zip(e.dims) {
                    if v.is_some() {
                        dims.set(*dim, v);
                    }
                }
                Expected {
                    terminal: e.terminal,
                    dims,
                    last_seen_ms: state.map_or(i64::MIN, |s| s.last_seen_ms),
                }
            })
            .collect()
    }

    /// The missing-terminal findings at `now_ms` (a scan once a minute of
    /// event time; the newest scan's findings in between).
    pub fn missing(&mut self, engine: &Engine, now_ms: i64, p: &MissingParams) -> Vec<Finding> {
        let minute = now_ms.div_euclid(60_000);
        if self.scanned.as_ref().is_none_or(|(m, _)| *m != minute) {
            let since = self.since_ms.unwrap_or(now_ms);
            let expected = self.expected(engine, now_ms, p.after_ms);
            self.scanned = Some((minute, missing(&expected, now_ms, since, p)));
        }
        let mut found = self
            .scanned
            .as_ref()
            .map(|s| s.1.clone())
            .unwrap_or_default();
        for f in &mut found {
            f.window_end_ms = now_ms;
        }
        found
    }

    /// Listed terminals never heard from and terminals heard from that
    /// are not listed (counts, and up to `limit` ids of each).
    pub fn status(
        &self,
        engine: &Engine,
        symbols: &SharedSymbols,
        limit: usize,
    ) -> InventoryStatus {
        let table = symbols.read().unwrap_or_else(|p| p.into_inner());
        let name = |t: Sym| table.terminals.resolve(t).unwrap_or("?").to_string();
        let mut s = InventoryStatus {
            listed: self.entries.len(),
            ..InventoryStatus::default()
        };
        for e in &self.entries {
            if engine.terminal_state(e.terminal).is_none() {
                s.never_seen += 1;
                if s.never_seen_ids.len() < limit {
                    s.never_seen_ids.push(name(e.terminal));
                }
            }
        }
        for i in 0..table.terminals.len() {
            let t = Sym(i as u32);
            if self.entry(t).is_none() && engine.terminal_state(t).is_some() {
                s.not_listed += 1;
                if s.not_listed_ids.len() < limit {
                    s.not_listed_ids.push(name(t));
                }
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use crate::Monitor;
    use swipewatch_alert::State;
    use swipewatch_config::EngineConfig;
    use swipewatch_decode::SharedSymbols;
    use swipewatch_engine::{Engine, Settings};
    use swipewatch_model::{
        Dim, DimValues, Event, Heartbeat, Inventory, Outcome, OutcomeClass, Signal,
    };

    /// 10:00 UTC on some day.
    const T0: i64 = 1_795_000_000_000 - 1_795_000_000_000 % 86_400_000 + 10 * 3_600_000;

    /// 40 terminals: T0..T29 trade 08:00-20:00 UTC, T30..T39 22:00-06:00
    /// (closed now); merchant m-(i / 4), region r-(i / 10).
    fn inventory() -> Inventory {
        let mut csv = String::from("terminal_id,merchant,region,hours\n");
        for i in 0..40 {
            let hours = if i < 30 { "08:00-20:00" } else { "22:00-06:00" };
            csv.push_str(&format!("T{i},m-{},r-{},{hours}\n", i / 4, i / 10));
        }
        Inventory::parse(&csv).expect("valid")
    }

    /// Runs `minutes` with a heartbeat a minute (carrying no place) from
    /// every open terminal `sends` lets through; the open incidents at the
    /// end, described.
    fn run(minutes: i64, sends: impl Fn(u32) -> bool) -> (Monitor, Vec<String>) {
        let symbols = SharedSymbols::default();
        let engine = Engine::new(Settings::from(&EngineConfig::default()));
        let mut monitor = Monitor::new(engine, symbols.clone());
        monitor.set_inventory(&inventory());
        let mut windows = Vec::new();
        for m in 0..minutes {
            for i in (0..30).filter(|i| sends(*i)) {
                let t = symbols
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .terminals
                    .intern(&format!("T{i}"));
                let ts = T0 + m * 60_000 + i64::from(i) * 1_000;
                monitor.record(&Event::Heartbeat(Heartbeat::new(
                    t,
                    ts,
                    DimValues::default(),
                )));
            }
            monitor.on_idle(T0 + (m + 1) * 60_000);
            monitor.advance(&mut windows);
        }
        let mut open: Vec<String> = monitor
            .book()
            .open()
            .filter(|i| i.state == State::Firing)
            .map(|i| format!("{} {}", i.key.cause.name(), i.key.describe()))
            .collect();
        open.sort();
        (monitor, open)
    }

    #[test]
    fn a_silent_terminal_is_missing_a_silent_shop_is_its_site_and_a_closed_one_is_nothing() {
        let (monitor, open) = run(15, |i| i != 3 && !(8..12).contains(&i));
        assert_eq!(
            open,
            [
                "device-hardware merchant=m-0&terminal=T3 (missing)",
                // Its shops in two regions are two sites.
                "network region=r-0&merchant=m-2",
                "network region=r-1&merchant=m-2"
            ]
        );
        // A payment that carries no place takes the inventory's.
        let mut monitor = monitor;
        let t0 = monitor
            .symbols()
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .terminals
            .get("T0")
            .expect("interned");
        let ts = T0 + 15 * 60_000;
        monitor.record(&Event::Outcome(Outcome::new(
            t0,
            ts,
            OutcomeClass::Approved,
            DimValues::default(),
        )));
        let symbols = monitor.symbols().read().unwrap_or_else(|p| p.into_inner());
        let dims = monitor.engine().terminal_state(t0).expect("seen").dims;
        assert_eq!(
            symbols.resolve(Dim::Region, dims.get(Dim::Region)),
            Some("r-0")
        );
        drop(symbols);
        let status = monitor.inventory_status(5);
        // T3, T8..T11 and the ten closed terminals were never heard from.
        assert_eq!(
            (status.listed, status.never_seen, status.not_listed),
            (40, 15, 0)
        );
        assert_eq!(status.never_seen_ids, ["T3", "T8", "T9", "T10", "T11"]);
    }

    #[test]
    fn a_region_gone_silent_is_one_incident_and_not_before_the_silence_is_long_enough() {
        let (_, early) = run(9, |i| !(10..20).contains(&i));
        assert!(early.is_empty(), "{early:?}");
        let (monitor, open) = run(15, |i| !(10..20).contains(&i));
        assert_eq!(open, ["network region=r-1"]);
        assert!(monitor
            .book()
            .open()
            .all(|i| i.latest.signal == Signal::Missing));
    }
}
