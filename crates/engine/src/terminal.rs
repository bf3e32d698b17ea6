//! Compact per-terminal state.

use prefetch_index::prefetch_index;
use serde::{Deserialize, Serialize};
use swipewatch_model::{Dim, DimValues, EntryMode, Heartbeat, Outcome, OutcomeClass, TermError};

/// Buckets of history kept per terminal.
pub const RECENT: usize = 8;

/// Failures in a row after which a terminal is listed in its bucket's
/// devices, for detection to test on its own (which asks for a longer run).
pub const FAILING_RUN_LISTED: u16 = 4;

/// Own failures or fallbacks in a terminal's long memory from which it is
/// listed at every bucket it is used in (detection asks for more).
pub const LONG_LISTED: f32 = 4.0;

/// What recording one outcome says about its terminal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seen {
    /// First event of the terminal in the bucket (it became active there).
    pub fresh: bool,
    /// List it in the bucket for detection to test on its own.
    pub listed: bool,
}

/// Half-life of a terminal's long memory ([`Recent`]), ms: a terminal sees
/// a transaction every few minutes, so its own rates need a good part of an
/// hour of traffic to be told apart from its model's.
pub const LONG_HALF_LIFE_MS: i64 = 15 * 60_000;

/// A terminal's attempts, own failures and fallbacks, decayed by event time
/// (half-life [`LONG_HALF_LIFE_MS`]): what its rate tests count.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Recent {
    /// Payment attempts.
    pub attempts: f32,
    /// Failures on the terminal's side ([`is_own_failure`]).
    pub own_failures: f32,
    /// Of those, card-reader or PIN-pad errors.
    pub hw_errors: f32,
    /// ... refusals of the terminal's setup ([`OutcomeClass::TerminalConfig`]).
    pub config_failures: f32,
    /// ... lost links ([`OutcomeClass::Comms`]).
    pub comms_failures: f32,
    /// Chip-to-stripe fallbacks.
    pub fallbacks: f32,
    /// Bucket the counts were last decayed to.
    bucket: i32,
}

impl Default for Recent {
    fn default() -> Self {
        Recent {
            attempts: 0.0,
            own_failures: 0.0,
            hw_errors: 0.0,
            config_failures: 0.0,
            comms_failures: 0.0,
            fallbacks: 0.0,
            bucket: i32::MIN,
        }
    }
}

impl Recent {
    /// Decays to `bucket` (`keep` is what one bucket keeps); events of an
    /// older bucket are added undecayed.
    fn advance(&mut self, bucket: i64, keep: f32) {
        let b = bucket as i32;
        if b > self.bucket {
            if self.bucket != i32::MIN {
                let steps = (i64::from(b) - i64::from(self.bucket)).min(10_000) as i32;
                let f = keep.powi(steps);
                self.attempts *= f;
                self.own_failures *= f;
                self.hw_errors *= f;
                self.config_failures *= f;
                self.comms_failures *= f;
                self.fallbacks *= f;
            }
            self.bucket = b;
        }
    }
}

/// Counts of one terminal in one bucket (saturating at 255: a terminal
/// serves a payment every few seconds at most).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Payment attempts.
    pub attempts: u8,
    /// Failures.
    pub failures: u8,
    /// Failures on the terminal's side (see [`is_own_failure`]).
    pub own_failures: u8,
    /// Card-reader or PIN-pad errors (from outcomes and heartbeats).
    pub hw_errors: u8,
    /// Refusals of the terminal's setup.
    pub config_failures: u8,
    /// Lost links.
    pub comms_failures: u8,
    /// Chip-to-stripe fallbacks.
    pub fallbacks: u8,
    /// Heartbeats that said the host could not be reached.
    pub unreachable: u8,
}

/// Restarts remembered per terminal (a reboot loop is this many within
/// [`RESTART_SPAN_MIN`]).
pub const RESTARTS_KEPT: usize = 3;

/// Minutes within which [`RESTARTS_KEPT`] restarts make a reboot loop.
pub const RESTART_SPAN_MIN: i32 = 60;

/// A heartbeat is listed for detection when its battery is at or below
/// this (detection decides with its own, lower or equal, threshold).
pub const BATTERY_LISTED: u8 = 15;

/// ... or its clock is this far from its arrival, seconds.
pub const CLOCK_OFFSET_LISTED_S: i32 = 60;

/// Battery points a device may lose or gain between two heartbeats (plus
/// one a minute between them); a larger change marks the sender's battery
/// field as noise.
pub const BATTERY_JUMP: i32 = 20;

/// Outcomes an offline queue may gain between two heartbeats (plus two a
/// minute); a larger rise marks the sender's queue field as noise.
pub const QUEUE_JUMP: i32 = 10;

/// Seconds an uptime may run ahead of the time between two heartbeats; a
/// larger leap marks the sender's uptime field as noise.
pub const UPTIME_LEAP_S: i64 = 600;

const NOISY_BATTERY: u8 = 1;
const NOISY_QUEUE: u8 = 2;
const NOISY_UPTIME: u8 = 4;

/// What a terminal's heartbeats say about it as a device, kept between
/// heartbeats.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// Uptime the newest heartbeat reported, seconds (`u32::MAX`: none).
    uptime_s: u32,
    /// Event-time minute of the newest restarts, oldest first (`i32::MIN`:
    /// none).
    restarts: [i32; RESTARTS_KEPT],
    /// Terminal clock minus arrival of the newest heartbeat, seconds
    /// (saturating).
    pub clock_offset_s: i32,
    /// Sequence number of the newest heartbeat (low 32 bits; 0: none).
    seq: u32,
    /// Heartbeats missing by their sequence numbers (saturating): message
    /// loss between the terminal and swipewatch.
    pub heartbeats_lost: u16,
    /// Heartbeats in a row that said the host could not be reached.
    pub unreachable_run: u8,
    /// Heartbeats in a row whose offline queue was deeper than the one before.
    pub queue_growth_run: u8,
    /// Heartbeats in a row with the battery at or below [`BATTERY_LISTED`]
    /// and not charging.
    pub battery_low_run: u8,
    /// Fields whose values no device would send (bits: battery, queue,
    /// uptime): not read for health any more.
    noisy: u8,
    /// Heartbeats seen (saturating): the battery, queue and uptime fields
    /// are read for health once a few have shown they are not noise.
    pub beats: u8,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            uptime_s: u32::MAX,
            restarts: [i32::MIN; RESTARTS_KEPT],
            clock_offset_s: 0,
            seq: 0,
            heartbeats_lost: 0,
            unreachable_run: 0,
            queue_growth_run: 0,
            battery_low_run: 0,
            noisy: 0,
            beats: 0,
        }
    }
}

impl Health {
    /// Whether the sender's battery, queue or uptime field was found to be
    /// noise (no longer read for health).
    pub fn noisy_fields(&self) -> Vec<&'static str> {
        [
            (NOISY_BATTERY, "battery_pct"),
            (NOISY_QUEUE, "saf_queue_depth"),
            (NOISY_UPTIME, "uptime_s"),
        ]
        .into_iter()
        .filter(|(bit, _)| self.noisy & bit != 0)
        .map(|(_, name)| name)
        .collect()
    }

    /// Restarts seen within [`RESTART_SPAN_MIN`] before event minute `now_min`.
    pub fn restarts_within_span(&self, now_min: i32) -> usize {
        self.restarts
            .iter()
            .filter(|&&m| m != i32::MIN && now_min.saturating_sub(m) < RESTART_SPAN_MIN)
            .count()
    }

    /// Takes one heartbeat's uptime, sequence number and clock in (`since_s`:
    /// seconds since the heartbeat before); true if the terminal restarted
    /// in between: its uptime went back, to less than the time elapsed (a
    /// minute's slack), so an uptime that merely jitters is not a restart.
    fn record(&mut self, h: &Heartbeat, ts_ms: i64, since_s: i64) -> bool {
        let mut restarted = false;
        if let Some(up) = h.uptime_s {
            let up = up.min(u64::from(u32::MAX - 1)) as u32;
            let known = self.uptime_s != u32::MAX;
            if known && i64::from(up) - i64::from(self.uptime_s) > since_s.max(0) + UPTIME_LEAP_S {
                self.noisy |= NOISY_UPTIME;
            }
            restarted = known
                && self.noisy & NOISY_UPTIME == 0
                && up < self.uptime_s
                && i64::from(up) <= since_s.max(0) + 60;
            self.uptime_s = up;
        }
        if restarted {
            self.restarts.rotate_left(1);
            self.restarts[RESTARTS_KEPT - 1] = (ts_ms.div_euclid(60_000))
                .clamp(i64::from(i32::MIN + 1), i64::from(i32::MAX))
                as i32;
        }
        if let Some(seq) = h.seq {
            let seq = seq as u32;
            // A gap counts as lost heartbeats; a number that goes back is a
            // restart's new count (or a resend), not a loss.
            if self.seq != 0 && seq > self.seq && !restarted {
                let gap = (seq - self.seq - 1).min(u32::from(u16::MAX)) as u16;
                self.heartbeats_lost = self.heartbeats_lost.saturating_add(gap);
            }
            self.seq = seq.max(1);
        }
        self.clock_offset_s = ((h.ts_ms - h.arrival_ms) / 1000)
            .clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
        restarted
    }
}

/// What swipewatch remembers about one terminal: at most 256 bytes (a test
/// holds it there), so a million terminals fit in the memory target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TerminalState {
    /// Newest event time seen (outcome or heartbeat), epoch ms.
    pub last_seen_ms: i64,
    /// Newest heartbeat time, epoch ms; `i64::MIN` if none yet.
    pub last_heartbeat_ms: i64,
    /// Dimension values of its newest event.
    pub dims: DimValues,
    /// Bucket index held by each slot of `recent` (index mod [`RECENT`]).
    recent_bucket: [i32; RECENT],
    /// Per-bucket tallies, a ring by bucket index.
    recent: [Tally; RECENT],
    /// Decayed counts over a longer memory, for the rate tests.
    pub long: Recent,
    /// Failures in a row, newest last.
    pub consecutive_failures: u16,
    /// Card-reader / PIN-pad errors in a row.
    pub consecutive_hw_errors: u16,
    /// Store-and-forward queue depth from the last heartbeat (saturating).
    pub saf_queue_depth: u16,
    /// Battery from the last heartbeat, 255 if unknown.
    pub battery_pct: u8,
    /// Host reachable per the last heartbeat: 0 unknown, 1 no, 2 yes.
    host_reachable: u8,
    /// Tamper switch triggered, per the newest heartbeat.
    pub tamper: bool,
    /// What its heartbeats say about it as a device.
    pub health: Health,
    /// Class of the newest failure (meaningful while `consecutive_failures > 0`).
    pub last_failure: OutcomeClass,
}

impl Default for TerminalState {
    fn default() -> Self {
        TerminalState {
            last_seen_ms: i64::MIN,
            last_heartbeat_ms: i64::MIN,
            dims: DimValues::default(),
            recent_bucket: [i32::MIN; RECENT],
            recent: [Tally::default(); RECENT],
            long: Recent::default(),
            consecutive_failures: 0,
            consecutive_hw_errors: 0,
            saf_queue_depth: 0,
            battery_pct: u8::MAX,
            host_reachable: 0,
            tamper: false,
            health: Health::default(),
            last_failure: OutcomeClass::Unknown,
        }
    }
}

/// A failure class that points at the terminal itself rather than at a
/// bank: its reader or software, its link, its setup. A terminal with far
/// more of them than its model is tested on its own.
pub fn is_own_failure(class: OutcomeClass) -> bool {
    matches!(
        class,
        OutcomeClass::DeviceFault | OutcomeClass::Comms | OutcomeClass::TerminalConfig
    )
}

/// A card-reader or PIN-pad error on the terminal itself.
pub fn is_hw_error(o: &Outcome) -> bool {
    matches!(
        o.term_error,
        Some(
            TermError::ChipReadError
                | TermError::SwipeError
                | TermError::CtlsError
                | TermError::PinpadError
        )
    )
}

impl TerminalState {
    /// Asks the CPU to load the state (three cache lines: the fields
    /// spread over them, wherever the compiler put them).
    #[inline]
    pub(crate) fn prefetch(&self) {
        prefetch_index(std::slice::from_ref(self), 0);
        prefetch_index(std::slice::from_ref(&self.last_seen_ms), 0);
        prefetch_index(std::slice::from_ref(&self.dims), 0);
        prefetch_index(self.recent_bucket.as_slice(), 0);
        prefetch_index(self.recent.as_slice(), 0);
        prefetch_index(std::slice::from_ref(&self.long), 0);
        prefetch_index(std::slice::from_ref(&self.last_failure), 0);
    }

    /// The tally slot for `bucket`; true if the terminal had not been seen in
    /// that bucket before (it becomes active there).
    fn slot(&mut self, bucket: i64) -> (&mut Tally, bool) {
        let b = bucket as i32;
        let i = bucket.rem_euclid(RECENT as i64) as usize;
        let fresh = self.recent_bucket[i] != b;
        if fresh {
            self.recent_bucket[i] = b;
            self.recent[i] = Tally::default();
        }
        (&mut self.recent[i], fresh)
    }

    /// Records an outcome in `bucket` (`keep` is what the long memory keeps
    /// per bucket). The terminal is listed once per bucket: at its first
    /// reader error, first failure of its own or first fallback; at every
    /// bucket it is used in while its long memory holds a few own failures
    /// or fallbacks (so it stays under test in a window where nothing went
    /// wrong); or at the first failure of a run long enough to matter.
    pub(crate) fn record_outcome(
        &mut self,
        o: &Outcome,
        ts_ms: i64,
        bucket: i64,
        keep: f32,
    ) -> Seen {
        self.last_seen_ms = self.last_seen_ms.max(ts_ms);
        self.dims = o.dims;
        let failure = o.class.is_failure();
        let attempt = o.class.is_attempt();
        let own = is_own_failure(o.class);
        let hw = is_hw_error(o);
        let config = o.class == OutcomeClass::TerminalConfig;
        let comms = o.class == OutcomeClass::Comms;
        let fallback = o.entry_mode == Some(EntryMode::Fallback);
        let long = &mut self.long;
        long.advance(bucket, keep);
        long.attempts += f32::from(u8::from(attempt));
        long.own_failures += f32::from(u8::from(own));
        long.hw_errors += f32::from(u8::from(hw && own));
        long.config_failures += f32::from(u8::from(config));
        long.comms_failures += f32::from(u8::from(comms));
        long.fallbacks += f32::from(u8::from(fallback));
        let watched = long.own_failures >= LONG_LISTED || long.fallbacks >= LONG_LISTED;
        if failure {
            self.last_failure = o.class;
        }
        self.consecutive_failures = if failure {
            self.consecutive_failures.saturating_add(1)
        } else {
            0
        };
        self.consecutive_hw_errors = if hw {
            self.consecutive_hw_errors.saturating_add(1)
        } else if matches!(
            o.class,
            OutcomeClass::Approved | OutcomeClass::CardholderDecline
        ) {
            0
        } else {
            self.consecutive_hw_errors
        };
        let run = self.consecutive_failures;
        let (tally, fresh) = self.slot(bucket);
        tally.attempts = tally.attempts.saturating_add(u8::from(attempt));
        tally.failures = tally.failures.saturating_add(u8::from(failure));
        tally.own_failures = tally.own_failures.saturating_add(u8::from(own));
        tally.hw_errors = tally.hw_errors.saturating_add(u8::from(hw));
        tally.config_failures = tally.config_failures.saturating_add(u8::from(config));
        tally.comms_failures = tally.comms_failures.saturating_add(u8::from(comms));
        tally.fallbacks = tally.fallbacks.saturating_add(u8::from(fallback));
        let first_own = (hw && tally.hw_errors == 1)
            || (own && tally.own_failures == 1)
            || (fallback && tally.fallbacks == 1);
        let failing_run = failure
            && run >= FAILING_RUN_LISTED
            && (run == FAILING_RUN_LISTED || tally.failures == 1);
        Seen {
            fresh,
            listed: first_own || (watched && attempt && tally.attempts == 1) || failing_run,
        }
    }

    /// Records a heartbeat in `bucket`. The terminal is listed when the
    /// heartbeat says something is wrong with it as a device: its tamper
    /// switch, a second restart within the hour, its host out of reach,
    /// its offline queue growing again, its battery low or its clock off.
    pub(crate) fn record_heartbeat(&mut self, h: &Heartbeat, ts_ms: i64, bucket: i64) -> Seen {
        // A heartbeat older than the newest one (late, or resent) updates
        // nothing about the device's present state.
        let newest = ts_ms >= self.last_heartbeat_ms;
        let since_s = ts_ms.saturating_sub(self.last_heartbeat_ms) / 1000;
        self.last_seen_ms = self.last_seen_ms.max(ts_ms);
        self.last_heartbeat_ms = self.last_heartbeat_ms.max(ts_ms);
        let unreachable = h.host_reachable == Some(false);
        if newest {
            // Where it stands, as far as the heartbeat tells (a terminal that
            // only heartbeats is still placed).
            for (i, &v) in h.dims.as_array().iter().enumerate() {
                if v.is_some() {
                    self.dims.set(Dim::ALL[i], v);
                }
            }
        }
        let listed = newest && self.note_health(h, ts_ms, since_s);
        let hw = h
            .chip_read_err
            .saturating_add(h.swipe_err)
            .saturating_add(h.ctls_err);
        // The heartbeat's fallback counter is not added: fallbacks are
        // counted from outcomes, against the attempts they belong to.
        let (tally, fresh) = self.slot(bucket);
        tally.hw_errors = tally
            .hw_errors
            .saturating_add(hw.min(u32::from(u8::MAX)) as u8);
        tally.unreachable = tally.unreachable.saturating_add(u8::from(unreachable));
        Seen { fresh, listed }
    }

    /// Takes the newest heartbeat's device fields in (`since_s`: seconds
    /// since the heartbeat before); true if it says something is wrong.
    /// A field that moves in ways no device does (a battery losing more
    /// than [`BATTERY_JUMP`] points at once, an uptime leaping ahead of
    /// the clock, a queue growing faster than payments can be made) marks
    /// the terminal's sender as noisy for that field, which is then no
    /// longer read for its health.
    fn note_health(&mut self, h: &Heartbeat, ts_ms: i64, since_s: i64) -> bool {
        let health = &mut self.health;
        health.beats = health.beats.saturating_add(1);
        let minutes = (since_s.max(0) / 60).min(i64::from(u16::MAX)) as i32;
        let mut listed = false;
        if let Some(b) = h.battery_pct {
            let known = self.battery_pct != u8::MAX;
            if known && (i32::from(self.battery_pct) - i32::from(b)).abs() > BATTERY_JUMP + minutes
            {
                health.noisy |= NOISY_BATTERY;
            }
            let draining = b <= BATTERY_LISTED && b <= self.battery_pct;
            health.battery_low_run = if draining && health.noisy & NOISY_BATTERY == 0 {
                health.battery_low_run.saturating_add(1)
            } else {
                0
            };
            listed |= health.battery_low_run >= 1;
            self.battery_pct = b;
        }
        if let Some(r) = h.host_reachable {
            self.host_reachable = if r { 2 } else { 1 };
            let run = &mut health.unreachable_run;
            *run = if r { 0 } else { run.saturating_add(1) };
            listed |= !r;
        }
        if let Some(d) = h.saf_queue_depth {
            let d = d.min(u32::from(u16::MAX)) as u16;
            let rise = i32::from(d) - i32::from(self.saf_queue_depth);
            if rise > QUEUE_JUMP + 2 * minutes {
                health.noisy |= NOISY_QUEUE;
            }
            let run = &mut health.queue_growth_run;
            *run = match rise {
                _ if health.noisy & NOISY_QUEUE != 0 => 0,
                r if r > 0 => run.saturating_add(1),
                r if r < 0 => 0,
                _ => *run,
            };
            listed |= *run >= 2 && rise > 0;
            self.saf_queue_depth = d;
        }
        self.tamper = h.tamper;
        listed |= h.tamper;
        let restarted = health.record(h, ts_ms, since_s);
        let minute = ts_ms.div_euclid(60_000) as i32;
        listed |= restarted && health.restarts_within_span(minute) >= 2;
        listed |= health.clock_offset_s.abs() >= CLOCK_OFFSET_LISTED_S;
        listed
    }

    /// The tally of `bucket`, if still held.
    pub fn tally(&self, bucket: i64) -> Option<Tally> {
        let i = bucket.rem_euclid(RECENT as i64) as usize;
        (self.recent_bucket[i] == bucket as i32).then_some(self.recent[i])
    }

    /// Host reachability per the last heartbeat.
    pub fn host_reachable(&self) -> Option<bool> {
        match self.host_reachable {
            1 => Some(false),
            2 => Some(true),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_state_fits_in_256_bytes() {
        assert!(
            std::mem::size_of::<TerminalState>() <= 256,
            "{}",
            std::mem::size_of::<TerminalState>()
        );
    }
}
