//! The engine: buckets, watermark, lateness, idle advance and data gaps.

#[path = "checkpoint.rs"]
pub mod checkpoint;
#[path = "warm.rs"]
pub mod warm;

use crate::baseline::{Anomalies, Baselines};
use crate::bucket::{Bucket, WindowSums};
use crate::counts::{leaf_key, ClassCounts, DimTable, LeafId, LeafIndex, LeafKey};
use crate::terminal::{TerminalState, LONG_HALF_LIFE_MS};
use prefetch_index::prefetch_index;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use swipewatch_config::EngineConfig;
use swipewatch_model::{Dim, DimValues, EntryMode, Event, Sym};

/// How many events ahead of recording [`Engine::prefetch_for`] starts
/// loading an event's memory: far enough for a load from memory to
/// arrive, near enough that what it loaded is still in cache.
pub const PREFETCH_AHEAD: usize = 8;

/// Most buckets closed by one [`Engine::poll_closed`] call, so a watermark
/// jump after a long outage is worked off in bounded steps.
const MAX_CLOSE_PER_POLL: usize = 360;

/// Engine parameters in the units the hot path uses.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Bucket width, ms.
    pub bucket_ms: i64,
    /// Buckets in the evaluation window.
    pub window_buckets: usize,
    /// Allowed lateness, ms.
    pub lateness_ms: i64,
    /// Largest terminal clock error kept, ms.
    pub max_skew_ms: i64,
    /// Leaf dimensions for localization.
    pub leaf_dims: Vec<Dim>,
    /// Dimensions with latency histograms per value.
    pub latency_dims: Vec<Dim>,
    /// EWMA weight of one bucket.
    pub alpha: f64,
    /// Shrinkage pseudo-attempts.
    pub shrink: f64,
    /// What a terminal's long memory keeps of its counts per bucket.
    pub terminal_keep: f32,
}

impl From<&EngineConfig> for Settings {
    fn from(c: &EngineConfig) -> Settings {
        let bucket_ms = c.bucket.as_millis() as i64;
        let half_life_ms = c.baseline_half_life.as_millis().max(1) as f64;
        Settings {
            bucket_ms,
            window_buckets: c.window_buckets,
            lateness_ms: c.allowed_lateness.as_millis() as i64,
            max_skew_ms: c.max_clock_skew.as_millis() as i64,
            leaf_dims: c.leaf_dims(),
            latency_dims: c.latency_dims(),
            alpha: 1.0 - 0.5f64.powf(bucket_ms as f64 / half_life_ms),
            shrink: c.shrinkage_attempts,
            terminal_keep: 0.5f64.powf(bucket_ms as f64 / LONG_HALF_LIFE_MS as f64) as f32,
        }
    }
}

/// What the engine hands detection for each closed bucket. Shared, not
/// copied: the window sums and baselines are `Arc`s the engine only clones
/// if a reader still holds them when it next writes.
#[derive(Debug, Clone)]
pub struct WindowSnapshot {
    /// The bucket that just closed.
    pub bucket: Arc<Bucket>,
    /// Sums over the evaluation window ending with `bucket`.
    pub window: Arc<WindowSums>,
    /// Baselines learned up to (not including) `bucket`.
    pub baselines: Arc<Baselines>,
    /// The keys of the leaves numbered in `bucket`, `window` and
    /// `baselines`.
    pub leaves: Arc<LeafIndex>,
    /// Watermark when the bucket closed, epoch ms.
    pub watermark_ms: i64,
    /// State, at close, of every terminal listed in the window's buckets
    /// (reader errors, failures of its own, fallbacks, a run of failures).
    pub devices: Vec<(Sym, TerminalState)>,
}

/// Counters about the engine itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineStats {
    /// Outcomes counted into a bucket.
    pub outcomes: u64,
    /// Heartbeats counted into a bucket.
    pub heartbeats: u64,
    /// Outcomes that arrived after their bucket closed (in the late tally).
    pub late: u64,
    /// Heartbeats that arrived after their bucket closed.
    pub late_heartbeats: u64,
    /// Events whose terminal clock was replaced by arrival time.
    pub skew_corrected: u64,
    /// Buckets closed.
    pub buckets_closed: u64,
    /// Buckets closed inside a data gap.
    pub gap_buckets: u64,
}

/// The window engine. See the crate docs.
pub struct Engine {
    s: Settings,
    open: BTreeMap<i64, Bucket>,
    /// Buckets with an index below this are closed.
    closed_before: Option<i64>,
    max_event_ms: i64,
    watermark_ms: i64,
    window: VecDeque<Arc<Bucket>>,
    /// A bucket that left the window, kept for its allocations (a
    /// bucket's per-value tables grow to the largest value index seen).
    spare: Option<Bucket>,
    sums: Arc<WindowSums>,
    baselines: Arc<Baselines>,
    /// Every leaf seen, numbered; shared with snapshots, copied only when a
    /// new leaf appears while a reader holds it.
    leaves: Arc<LeafIndex>,
    terminals: Vec<TerminalState>,
    tracked: usize,
    late: DimTable,
    late_fleet: ClassCounts,
    stats: EngineStats,
    connected: bool,
    /// Disconnected periods (processing time), the last one open-ended while disconnected.
    gaps: VecDeque<(i64, i64)>,
    /// Where in its input the state stands (an opaque position the driver
    /// advances, such as the intake journal's sequence number of the last
    /// message recorded), saved with the state so a restart knows what to
    /// replay.
    input_position: u64,
}

impl Engine {
    /// A new engine; it starts disconnected until told otherwise.
    pub fn new(s: Settings) -> Engine {
        let baselines = Arc::new(Baselines::new(s.alpha, s.shrink));
        Engine {
            s,
            open: BTreeMap::new(),
            closed_before: None,
            max_event_ms: i64::MIN,
            watermark_ms: i64::MIN,
            window: VecDeque::new(),
            spare: None,
            sums: Arc::default(),
            baselines,
            leaves: Arc::default(),
            terminals: Vec::new(),
            tracked: 0,
            late: DimTable::default(),
            late_fleet: ClassCounts::default(),
            stats: EngineStats::default(),
            connected: true,
            gaps: VecDeque::new(),
            input_position: 0,
        }
    }

    fn bucket_index(&self, ts_ms: i64) -> i64 {
        ts_ms.div_euclid(self.s.bucket_ms)
    }

    /// Event time to count with. A clock further than the allowed skew from
    /// arrival is replaced by arrival time, except for an outcome sent late
    /// from store-and-forward (`saf`), which is old by design: it keeps its
    /// own time and lands in the late tally.
    fn corrected(&mut self, ts_ms: i64, arrival_ms: i64, saf: bool) -> i64 {
        let late_by_design = saf && ts_ms <= arrival_ms;
        if !late_by_design && (ts_ms - arrival_ms).abs() > self.s.max_skew_ms {
            self.stats.skew_corrected += 1;
            arrival_ms
        } else {
            ts_ms
        }
    }

    fn terminal(&mut self, sym: Sym) -> &mut TerminalState {
        let i = sym.index();
        if i >= self.terminals.len() {
            self.terminals.resize(i + 1, TerminalState::default());
        }
        let t = &mut self.terminals[i];
        if t.last_seen_ms == i64::MIN {
            self.tracked += 1;
        }
        t
    }

    fn is_closed(&self, b: i64) -> bool {
        self.closed_before.is_some_and(|c| b < c)
    }

    fn open_bucket(&mut self, b: i64) -> &mut Bucket {
        let width = self.s.bucket_ms;
        let dims = &self.s.latency_dims;
        let spare = &mut self.spare;
        self.open.entry(b).or_insert_with(|| match spare.take() {
            Some(mut bucket) => {
                bucket.reset(b * width, width);
                bucket
            }
            None => Bucket::new(b * width, width, dims),
        })
    }

    /// The number of `key`, numbered now if it is new.
    pub(crate) fn leaf_id(&mut self, key: LeafKey) -> LeafId {
        match self.leaves.get(&key) {
            Some(id) => id,
            None => Arc::make_mut(&mut self.leaves).insert(key),
        }
    }

    /// Every leaf seen, numbered.
    pub fn leaf_index(&self) -> &Arc<LeafIndex> {
        &self.leaves
    }

    fn advance_event_time(&mut self, ts_ms: i64) {
        if ts_ms > self.max_event_ms {
            self.max_event_ms = ts_ms;
            self.watermark_ms = self.watermark_ms.max(ts_ms - self.s.lateness_ms);
        }
    }

    /// Counts one event.
    pub fn record(&mut self, event: &Event) {
        match event {
            Event::Outcome(o) => {
                let ts = self.corrected(o.ts_ms, o.arrival_ms, o.saf);
                let b = self.bucket_index(ts);
                let keep = self.s.terminal_keep;
                let seen = self.terminal(o.terminal).record_outcome(o, ts, b, keep);
                if self.is_closed(b) {
                    self.stats.late += 1;
                    self.late.add(&o.dims, o.class);
                    self.late_fleet.add(o.class);
                    return;
                }
                let leaf = self.leaf_id(leaf_key(&o.dims, &self.s.leaf_dims));
                let bucket = self.open_bucket(b);
                if seen.listed {
                    bucket.listed_terminals.push(o.terminal);
                }
                bucket.fleet.add(o.class);
                bucket.count_outcome(&o.dims, o.class);
                if o.entry_mode == Some(EntryMode::Fallback) {
                    bucket.fallback_total += 1;
                    bucket.count_fallback(&o.dims);
                }
                bucket.count_leaf(leaf, o.class);
                // Round trips of transactions that went through only (see
                // `is_latency_sample`).
                if let Some(ms) = o.latency_ms.filter(|_| o.class.is_latency_sample()) {
                    bucket.latency.add(&o.dims, ms);
                }
                bucket.active_terminals += u32::from(seen.fresh);
                self.stats.outcomes += 1;
                self.advance_event_time(ts);
            }
            Event::Heartbeat(h) => {
                let ts = self.corrected(h.ts_ms, h.arrival_ms, false);
                let b = self.bucket_index(ts);
                let seen = self.terminal(h.terminal).record_heartbeat(h, ts, b);
                if self.is_closed(b) {
                    self.stats.late_heartbeats += 1;
                    return;
                }
                let leaf = self.leaf_id(leaf_key(&h.dims, &self.s.leaf_dims));
                let bucket = self.open_bucket(b);
                bucket.heartbeat_total += 1;
                bucket.active_terminals += u32::from(seen.fresh);
                if seen.listed {
                    bucket.listed_terminals.push(h.terminal);
                }
                bucket.count_heartbeat(&h.dims);
                bucket.count_leaf_heartbeat(leaf);
                self.stats.heartbeats += 1;
                self.advance_event_time(ts);
            }
        }
    }

    /// Before recording `events[i]`, starts loading what recording the
    /// events after it will touch and is likely out of cache with a large
    /// fleet, so that the loads overlap with the work in between. It
    /// changes nothing. Two stages: [`PREFETCH_AHEAD`] events ahead, the
    /// terminal's state, the leaf's slot in the leaf index and, in the
    /// newest open buckets, the counters of the merchant and cell (the
    /// dimensions with many values); half as far ahead, once that slot is
    /// in cache, the leaf's counters in those buckets.
    #[inline]
    pub fn prefetch_for(&self, events: &[Event], i: usize) {
        if let Some(e) = events.get(i + PREFETCH_AHEAD) {
            let (terminal, dims) = terminal_and_dims(e);
            self.prefetch(terminal, dims);
        }
        if let Some(e) = events.get(i + PREFETCH_AHEAD / 2) {
            self.prefetch_leaf(terminal_and_dims(e).1);
        }
    }

    #[inline]
    fn prefetch(&self, terminal: Sym, dims: &DimValues) {
        if let Some(t) = self.terminals.get(terminal.index()) {
            t.prefetch();
        }
        self.leaves.prefetch(&leaf_key(dims, &self.s.leaf_dims));
        for (_, bucket) in self.open.iter().rev().take(2) {
            for dim in [Dim::Merchant, Dim::Cell] {
                let sym = dims.get(dim);
                if sym.is_some() {
                    prefetch_index(&bucket.dims.0[dim.index()], sym.index());
                }
            }
        }
    }

    #[inline]
    fn prefetch_leaf(&self, dims: &DimValues) {
        if let Some(id) = self.leaves.get(&leaf_key(dims, &self.s.leaf_dims)) {
            for (_, bucket) in self.open.iter().rev().take(2) {
                bucket.leaves.prefetch(id);
            }
        }
    }

    /// Input is idle at processing time `now_ms`. While connected, the
    /// watermark advances by processing time so that silence closes buckets.
    /// While disconnected it does not: buckets stay open for the backlog the
    /// broker will redeliver, and are marked as data gaps when they close.
    pub fn on_idle(&mut self, now_ms: i64) {
        if self.connected {
            self.watermark_ms = self.watermark_ms.max(now_ms - self.s.lateness_ms);
        }
    }

    /// Records that the state now holds the input up to `position`.
    pub fn set_input_position(&mut self, position: u64) {
        self.input_position = self.input_position.max(position);
    }

    /// The input position the state holds (0: none recorded).
    pub fn input_position(&self) -> u64 {
        self.input_position
    }

    /// The broker connection went up or down at processing time `now_ms`.
    pub fn set_connected(&mut self, connected: bool, now_ms: i64) {
        if connected == self.connected {
            return;
        }
        self.connected = connected;
        if connected {
            if let Some(last) = self.gaps.back_mut() {
                last.1 = now_ms;
            }
        } else {
            self.gaps.push_back((now_ms, now_ms));
        }
    }

    fn overlaps_gap(&self, start: i64, end: i64) -> bool {
        let last = self.gaps.len().saturating_sub(1);
        self.gaps.iter().enumerate().any(|(i, &(g0, g1))| {
            let g1 = if i == last && !self.connected {
                i64::MAX
            } else {
                g1
            };
            g0 < end && g1 > start
        })
    }

    /// Closes every bucket the watermark has passed (empty ones included),
    /// appending one snapshot per closed bucket, oldest first.
    pub fn poll_closed(&mut self, out: &mut Vec<WindowSnapshot>) {
        // Continue after the last closed bucket; before the first close, start
        // at the oldest open one; with neither, nothing was ever seen.
        let Some(mut next) = self
            .closed_before
            .or_else(|| self.open.keys().next().copied())
        else {
            return;
        };
        for _ in 0..MAX_CLOSE_PER_POLL {
            if (next + 1) * self.s.bucket_ms > self.watermark_ms {
                break;
            }
            let bucket = self.open.remove(&next).unwrap_or_else(|| {
                Bucket::new(
                    next * self.s.bucket_ms,
                    self.s.bucket_ms,
                    &self.s.latency_dims,
                )
            });
            out.push(self.close(bucket));
            next += 1;
            self.closed_before = Some(next);
        }
    }

    fn close(&mut self, mut bucket: Bucket) -> WindowSnapshot {
        bucket.data_gap = self.overlaps_gap(bucket.start_ms, bucket.end_ms);
        self.stats.buckets_closed += 1;
        self.stats.gap_buckets += u64::from(bucket.data_gap);
        bucket.seal();
        let bucket = Arc::new(bucket);
        let sums = Arc::make_mut(&mut self.sums);
        sums.add(&bucket);
        self.window.push_back(bucket.clone());
        while self.window.len() > self.s.window_buckets {
            if let Some(old) = self.window.pop_front() {
                let next_start = self.window.front().map_or(bucket.start_ms, |b| b.start_ms);
                sums.remove(&old, next_start);
                // Reused if no snapshot still holds it.
                self.spare = Arc::try_unwrap(old).ok();
            }
        }
        // Gaps that end before the window are no longer needed.
        let horizon = self.window.front().map_or(bucket.start_ms, |b| b.start_ms);
        while self.gaps.len() > 1 && self.gaps.front().is_some_and(|g| g.1 < horizon) {
            self.gaps.pop_front();
        }
        let mut with_errors: Vec<Sym> = self
            .window
            .iter()
            .flat_map(|b| b.listed_terminals.iter().copied())
            .collect();
        with_errors.sort_unstable();
        with_errors.dedup();
        let devices = with_errors
            .into_iter()
            .filter_map(|t| self.terminals.get(t.index()).map(|s| (t, *s)))
            .collect();
        WindowSnapshot {
            devices,
            bucket,
            window: self.sums.clone(),
            baselines: self.baselines.clone(),
            leaves: self.leaves.clone(),
            watermark_ms: self.watermark_ms,
        }
    }

    /// Lets the baselines learn from a closed bucket, except what detection
    /// flagged. Buckets inside a data gap teach nothing. The snapshot then
    /// carries the baselines as learned: it lets go of its reference first,
    /// so learning updates them in place instead of copying every cell
    /// (a copy per bucket: 7 % of the engine bench's time in a profile).
    pub fn learn(&mut self, snapshot: &mut WindowSnapshot, anomalies: &Anomalies) {
        if snapshot.bucket.data_gap {
            return;
        }
        snapshot.baselines = Arc::default();
        Arc::make_mut(&mut self.baselines).learn(
            &snapshot.bucket,
            anomalies,
            &self.s.leaf_dims,
            &self.leaves,
        );
        snapshot.baselines = self.baselines.clone();
    }

    /// Closes everything still open, as if the watermark had passed it (end of
    /// a replay).
    pub fn flush(&mut self, out: &mut Vec<WindowSnapshot>) {
        if let Some((&last, _)) = self.open.iter().next_back() {
            self.watermark_ms = self.watermark_ms.max((last + 1) * self.s.bucket_ms);
            while !self.open.is_empty() {
                self.poll_closed(out);
            }
        }
    }

    /// Current watermark, epoch ms (`i64::MIN` before any event).
    pub fn watermark_ms(&self) -> i64 {
        self.watermark_ms
    }

    /// Newest event time seen, epoch ms.
    pub fn max_event_ms(&self) -> i64 {
        self.max_event_ms
    }

    /// Counters about the engine.
    pub fn stats(&self) -> EngineStats {
        self.stats
    }

    /// Buckets not yet closed.
    pub fn open_buckets(&self) -> usize {
        self.open.len()
    }

    /// Late outcomes per dimension value, and for the fleet.
    pub fn late_tally(&self) -> (&DimTable, &ClassCounts) {
        (&self.late, &self.late_fleet)
    }

    /// The state of one terminal.
    pub fn terminal_state(&self, sym: Sym) -> Option<&TerminalState> {
        self.terminals
            .get(sym.index())
            .filter(|t| t.last_seen_ms != i64::MIN)
    }

    /// Terminals ever seen.
    pub fn tracked_terminals(&self) -> usize {
        // Counted as terminals are first seen: the driver asks after every
        // batch, and a scan of every terminal's state was most of its time.
        debug_assert_eq!(
            self.tracked,
            self.terminals
                .iter()
                .filter(|t| t.last_seen_ms != i64::MIN)
                .count()
        );
        self.tracked
    }

    /// The current baselines.
    pub fn baselines(&self) -> &Arc<Baselines> {
        &self.baselines
    }

    /// The engine parameters.
    pub fn settings(&self) -> &Settings {
        &self.s
    }
}

/// The terminal and dimension values of an event.
fn terminal_and_dims(event: &Event) -> (Sym, &DimValues) {
    match event {
        Event::Outcome(o) => (o.terminal, &o.dims),
        Event::Heartbeat(h) => (h.terminal, &h.dims),
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "engine_checkpoint_tests.rs"]
mod checkpoint_tests;
