//! Compact per-terminal state.

use serde::{Deserialize, Serialize};
use swipewatch_model::{DimValues, EntryMode, Heartbeat, Outcome, OutcomeClass, TermError};

/// Buckets of history kept per terminal.
pub const RECENT: usize = 8;

/// Counts of one terminal in one bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Payment attempts.
    pub attempts: u16,
    /// Failures.
    pub failures: u16,
    /// Card-reader or PIN-pad errors.
    pub hw_errors: u16,
    /// Chip-to-stripe fallbacks.
    pub fallbacks: u16,
}

/// What swipewatch remembers about one terminal: about 180 bytes, so a
/// million terminals fit in well under the memory target.
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
    /// Tamper switch seen.
    pub tamper: bool,
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
            consecutive_failures: 0,
            consecutive_hw_errors: 0,
            saf_queue_depth: 0,
            battery_pct: u8::MAX,
            host_reachable: 0,
            tamper: false,
            last_failure: OutcomeClass::Unknown,
        }
    }
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

    /// Records an outcome in `bucket`; true if the terminal just became
    /// active in that bucket.
    pub(crate) fn record_outcome(&mut self, o: &Outcome, ts_ms: i64, bucket: i64) -> bool {
        self.last_seen_ms = self.last_seen_ms.max(ts_ms);
        self.dims = o.dims;
        let failure = o.class.is_failure();
        let hw = is_hw_error(o);
        let fallback = o.entry_mode == Some(EntryMode::Fallback);
        let (tally, fresh) = self.slot(bucket);
        if fallback {
            tally.fallbacks = tally.fallbacks.saturating_add(1);
        }
        if o.class != OutcomeClass::Cancelled {
            tally.attempts = tally.attempts.saturating_add(1);
        }
        if failure {
            tally.failures = tally.failures.saturating_add(1);
        }
        if hw {
            tally.hw_errors = tally.hw_errors.saturating_add(1);
        }
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
        fresh
    }

    /// Records a heartbeat in `bucket`; true if the terminal just became
    /// active in that bucket.
    pub(crate) fn record_heartbeat(&mut self, h: &Heartbeat, ts_ms: i64, bucket: i64) -> bool {
        self.last_seen_ms = self.last_seen_ms.max(ts_ms);
        self.last_heartbeat_ms = self.last_heartbeat_ms.max(ts_ms);
        if let Some(b) = h.battery_pct {
            self.battery_pct = b;
        }
        if let Some(r) = h.host_reachable {
            self.host_reachable = if r { 2 } else { 1 };
        }
        if let Some(d) = h.saf_queue_depth {
            self.saf_queue_depth = d.min(u32::from(u16::MAX)) as u16;
        }
        self.tamper |= h.tamper;
        let hw = h
            .chip_read_err
            .saturating_add(h.swipe_err)
            .saturating_add(h.ctls_err);
        let fallbacks = h.fallback;
        let (tally, fresh) = self.slot(bucket);
        tally.hw_errors = tally
            .hw_errors
            .saturating_add(hw.min(u32::from(u16::MAX)) as u16);
        tally.fallbacks = tally
            .fallbacks
            .saturating_add(fallbacks.min(u32::from(u16::MAX)) as u16);
        fresh
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
