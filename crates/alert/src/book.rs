use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use swipewatch_model::{Cause, Dim, OutcomeClass};

/// One window's finding, with interned values already resolved to text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingView {
    /// Blamed side.
    pub cause: Cause,
    /// Where.
    pub element: Vec<(Dim, String)>,
    /// The terminal, for a single-device finding.
    pub terminal: Option<String>,
    /// Failures of the implicated classes under the element.
    pub observed: f64,
    /// What the baselines expected.
    pub expected: f64,
    /// Excess per class, largest first.
    pub classes: Vec<(OutcomeClass, f64)>,
    /// 0–1.
    pub confidence: f64,
    /// Based on missing traffic (the element went quiet), not failures.
    pub silence: bool,
}

/// What the events under an incident show, gathered while it is open.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evidence {
    /// Most frequent response codes / terminal errors of the implicated
    /// classes, most frequent first (at most 5).
    pub top_codes: Vec<(String, u64)>,
    /// Distinct terminals with such a failure.
    pub terminals: u64,
    /// Distinct merchants with such a failure.
    pub merchants: u64,
    /// Failed transactions of the implicated classes.
    pub failed: u64,
    /// Their amount, minor units (mixed currencies are summed as reported).
    pub amount_minor: u64,
    /// Event time the tally started, epoch ms.
    pub since_ms: i64,
}

/// What identifies an incident across windows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Key {
    /// Blamed side.
    pub cause: Cause,
    /// Where.
    pub element: Vec<(Dim, String)>,
    /// The terminal, for a single device.
    pub terminal: Option<String>,
}

impl Key {
    /// `dim=value&...` (and `terminal=...`), for logs and the API.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .element
            .iter()
            .map(|(d, v)| format!("{d}={v}"))
            .collect();
        if let Some(t) = &self.terminal {
            parts.push(format!("terminal={t}"));
        }
        parts.join("&")
    }
}

/// Lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Seen, not yet confirmed.
    Pending,
    /// Confirmed; sinks are told.
    Firing,
    /// Over.
    Resolved,
}

/// An incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// Stable within a run, increasing.
    pub id: u64,
    /// Cause and element.
    pub key: Key,
    /// Lifecycle state.
    pub state: State,
    /// End of the first window with the finding, epoch ms.
    pub first_ms: i64,
    /// End of the window it fired in.
    pub fired_ms: Option<i64>,
    /// End of the latest window with the finding.
    pub last_ms: i64,
    /// End of the window it resolved in.
    pub resolved_ms: Option<i64>,
    /// Windows with the finding.
    pub windows: u32,
    /// Windows in a row with (while pending) or without (while firing) it.
    streak: u32,
    /// The first window's observation.
    pub first_observed: f64,
    /// The latest window's finding.
    pub latest: FindingView,
    /// Failures beyond expectation, summed over the windows seen.
    pub excess: f64,
    /// A maintenance window covers it: it is kept and shown, never sent.
    pub silenced: bool,
    /// Codes, reach and impact of the failures under it.
    pub evidence: Evidence,
}

/// A lifecycle step to act on (log, send).
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// A new pending incident.
    Opened(Incident),
    /// Confirmed.
    Fired(Incident),
    /// Over (or, if it never fired, dropped).
    Resolved(Incident),
}

/// Hysteresis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Windows in a row with the finding before an incident fires.
    pub fire_after: u32,
    /// The same for a single device (its own test already needs a run of errors).
    pub device_fire_after: u32,
    /// Windows in a row without the finding before an incident resolves.
    pub resolve_after: u32,
    /// The same for a single device: a broken terminal that is simply not
    /// used for a while is still broken.
    pub device_resolve_after: u32,
    /// Resolved incidents kept for the API.
    pub keep_resolved: usize,
    /// A silence still covers findings this long after it ends: windows
    /// reach back in time, so the tail of a cut-over that ended on schedule
    /// would otherwise page just after its maintenance window.
    pub silence_grace_ms: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            fire_after: 2,
            device_fire_after: 1,
            resolve_after: 3,
            device_resolve_after: 30,
            keep_resolved: 200,
            silence_grace_ms: 120_000,
        }
    }
}

/// A silence: incidents whose element includes every matcher (and whose
/// cause matches, when given) while it is in force are marked silenced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Silence {
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
    fn covers(&self, key: &Key, at_ms: i64, grace_ms: i64) -> bool {
        (self.start_ms..self.end_ms + grace_ms).contains(&at_ms)
            && self.cause.is_none_or(|c| c == key.cause)
            && self.matchers.iter().all(|m| key.element.contains(m))
    }
}

/// Open and recently resolved incidents.
#[derive(Debug, Clone, Default)]
pub struct IncidentBook {
    policy: Policy,
    open: BTreeMap<Key, Incident>,
    resolved: VecDeque<Incident>,
    silences: Vec<Silence>,
    next_id: u64,
}

impl IncidentBook {
    /// An empty book.
    pub fn new(policy: Policy) -> IncidentBook {
        IncidentBook {
            policy,
            next_id: 1,
            ..IncidentBook::default()
        }
    }

    /// Adds a silence.
    pub fn silence(&mut self, s: Silence) {
        self.silences.push(s);
    }

    /// Silences, in the order added.
    pub fn silences(&self) -> &[Silence] {
        &self.silences
    }

    /// Pending and firing incidents, by key.
    pub fn open(&self) -> impl Iterator<Item = &Incident> {
        self.open.values()
    }

    /// Resolved incidents, oldest first (bounded).
    pub fn resolved(&self) -> impl DoubleEndedIterator<Item = &Incident> {
        self.resolved.iter()
    }

    /// Applies one closed window's findings.
    pub fn update(&mut self, window_end_ms: i64, findings: &[FindingView]) -> Vec<Transition> {
        let mut out = Vec::new();
        let mut seen: BTreeMap<Key, &FindingView> = BTreeMap::new();
        for f in findings {
            let key = Key {
                cause: f.cause,
                element: f.element.clone(),
                terminal: f.terminal.clone(),
            };
            seen.entry(key).or_insert(f);
        }
        // Incidents without a finding this window.
        let keys: Vec<Key> = self
            .open
            .keys()
            .filter(|k| !seen.contains_key(*k))
            .cloned()
            .collect();
        for key in keys {
            let Some(inc) = self.open.get_mut(&key) else {
                continue;
            };
            let missed = if inc.state == State::Pending {
                inc.streak = 0;
                true
            } else {
                inc.streak += 1;
                false
            };
            // A pending incident that misses a window is dropped; a firing one
            // resolves after `resolve_after` quiet windows.
            let resolve_after = if key.cause == Cause::DeviceHardware {
                self.policy.device_resolve_after
            } else {
                self.policy.resolve_after
            };
            if missed || inc.streak >= resolve_after {
                if let Some(mut inc) = self.open.remove(&key) {
                    inc.state = State::Resolved;
                    inc.resolved_ms = Some(window_end_ms);
                    if inc.fired_ms.is_some() {
                        self.resolved.push_back(inc.clone());
                        while self.resolved.len() > self.policy.keep_resolved {
                            self.resolved.pop_front();
                        }
                    }
                    out.push(Transition::Resolved(inc));
                }
            }
        }
        for (key, f) in seen {
            self.observe(window_end_ms, key, f, &mut out);
        }
        out
    }

    /// Replaces the evidence of open incident `id`.
    pub fn set_evidence(&mut self, id: u64, evidence: Evidence) {
        if let Some(inc) = self.open.values_mut().find(|i| i.id == id) {
            inc.evidence = evidence;
        }
    }

    /// Records findings seen outside a window close (a single device's
    /// error run, tested on arrival): opens or refreshes their incidents,
    /// and leaves every other incident alone.
    pub fn raise(&mut self, at_ms: i64, findings: &[FindingView]) -> Vec<Transition> {
        let mut out = Vec::new();
        for f in findings {
            let key = Key {
                cause: f.cause,
                element: f.element.clone(),
                terminal: f.terminal.clone(),
            };
            self.observe(at_ms, key, f, &mut out);
        }
        out
    }

    /// One finding for `key` at `at_ms`: open, refresh or fire its incident.
    fn observe(&mut self, at_ms: i64, key: Key, f: &FindingView, out: &mut Vec<Transition>) {
        let grace = self.policy.silence_grace_ms;
        let silenced = self.silences.iter().any(|s| s.covers(&key, at_ms, grace));
        let fire_after = if key.cause == Cause::DeviceHardware {
            self.policy.device_fire_after
        } else {
            self.policy.fire_after
        };
        let inc = match self.open.get_mut(&key) {
            Some(inc) => {
                if inc.state == State::Firing {
                    inc.streak = 0;
                } else {
                    inc.streak += 1;
                }
                inc.windows += 1;
                inc.last_ms = at_ms;
                inc.latest = f.clone();
                inc.excess += (f.observed - f.expected).max(0.0);
                inc.silenced = silenced;
                inc
            }
            None => {
                let inc = Incident {
                    id: self.next_id,
                    key: key.clone(),
                    state: State::Pending,
                    first_ms: at_ms,
                    fired_ms: None,
                    last_ms: at_ms,
                    resolved_ms: None,
                    windows: 1,
                    streak: 1,
                    first_observed: f.observed,
                    latest: f.clone(),
                    excess: (f.observed - f.expected).max(0.0),
                    silenced,
                    evidence: Evidence::default(),
                };
                self.next_id += 1;
                out.push(Transition::Opened(inc.clone()));
                self.open.entry(key).or_insert(inc)
            }
        };
        if inc.state == State::Pending && inc.streak >= fire_after {
            inc.state = State::Firing;
            inc.fired_ms = Some(at_ms);
            inc.streak = 0;
            out.push(Transition::Fired(inc.clone()));
        }
    }
}

#[cfg(test)]
#[path = "book_tests.rs"]
mod tests;
