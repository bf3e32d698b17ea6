//! Silences: maintenance windows and operators' mutes, matched against an
//! incident's element (or a single device's place).

use crate::book::IncidentBook;
use crate::incident::Key;
use serde::{Deserialize, Serialize};
use swipewatch_model::{Cause, Dim};

/// A silence: incidents whose element (or, for a single device, the
/// terminal's place) includes every matcher, and whose cause matches when
/// given, are marked silenced while it is in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    /// Assigned by the book, from 1.
    #[serde(default)]
    pub id: u64,
    /// Pairs the element must contain.
    pub matchers: Vec<(Dim, String)>,
    /// Only this cause, if set.
    pub cause: Option<Cause>,
    /// In force from, epoch ms.
    pub start_ms: i64,
    /// Until, epoch ms.
    pub end_ms: i64,
    /// Why (e.g. "scheduled acquirer cut-over").
    pub comment: String,
}

impl Silence {
    pub(crate) fn covers(
        &self,
        key: &Key,
        context: &[(Dim, String)],
        at_ms: i64,
        grace_ms: i64,
    ) -> bool {
        (self.start_ms..self.end_ms + grace_ms).contains(&at_ms)
            && self.cause.is_none_or(|c| c == key.cause)
            && self
                .matchers
                .iter()
                .all(|m| key.element.contains(m) || context.contains(m))
    }
}

/// Silences ended this long ago are forgotten.
pub(crate) const SILENCE_KEPT_MS: i64 = 24 * 3_600_000;

impl IncidentBook {
    /// Adds a silence; returns it with its id.
    pub fn silence(&mut self, mut s: Silence) -> Silence {
        self.next_silence = self.next_silence.max(1);
        s.id = self.next_silence;
        self.next_silence += 1;
        self.silences.push(s.clone());
        s
    }

    /// Ends silence `id` at `at_ms` (if it would end later); returns it.
    pub fn expire_silence(&mut self, id: u64, at_ms: i64) -> Option<Silence> {
        let s = self.silences.iter_mut().find(|s| s.id == id)?;
        s.end_ms = s.end_ms.min(at_ms);
        s.start_ms = s.start_ms.min(s.end_ms);
        Some(s.clone())
    }

    /// Puts back silences from a durable log, ids kept.
    pub fn restore_silences(&mut self, silences: impl IntoIterator<Item = Silence>) {
        for s in silences {
            self.next_silence = self.next_silence.max(s.id + 1);
            match self.silences.iter_mut().find(|old| old.id == s.id) {
                Some(old) => *old = s,
                None => self.silences.push(s),
            }
        }
    }

    /// Silences, in the order added.
    pub fn silences(&self) -> &[Silence] {
        &self.silences
    }
}
