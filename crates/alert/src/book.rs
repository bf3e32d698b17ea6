//! The incident book: findings of consecutive windows become incidents that
//! go pending → firing → resolved; devices and silences an outage explains
//! are listed under it (inhibition); severity comes from impact.

use crate::incident::{
    FindingView, Incident, Key, Notice, NoticeKind, Policy, Severity, State, Transition,
};
use crate::relate::{alike, explains, nested, same_classes};
use crate::silence::{Silence, SILENCE_KEPT_MS};
use crate::Evidence;
use std::collections::{BTreeMap, VecDeque};
use swipewatch_model::{OutcomeClass, Signal};

/// Open and recently resolved incidents.
#[derive(Debug, Clone, Default)]
pub struct IncidentBook {
    policy: Policy,
    open: BTreeMap<Key, Incident>,
    resolved: VecDeque<Incident>,
    pub(crate) silences: Vec<Silence>,
    next_id: u64,
    pub(crate) next_silence: u64,
    notices: Vec<Notice>,
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

    /// Pending and firing incidents, by key.
    pub fn open(&self) -> impl Iterator<Item = &Incident> {
        self.open.values()
    }

    /// Resolved incidents, oldest first (bounded).
    pub fn resolved(&self) -> impl DoubleEndedIterator<Item = &Incident> {
        self.resolved.iter()
    }

    /// Every incident as on-call reads the list: open ones first (firing
    /// before pending, newest first), then resolved ones, newest first.
    pub fn listing(&self) -> Vec<Incident> {
        let mut list: Vec<Incident> = self.open.values().cloned().collect();
        list.sort_by_key(|i| std::cmp::Reverse((i.state == State::Firing, i.id)));
        list.extend(self.resolved.iter().rev().cloned());
        list
    }

    /// Applies one closed window's findings.
    pub fn update(&mut self, window_end_ms: i64, findings: &[FindingView]) -> Vec<Transition> {
        let mut out = Vec::new();
        let horizon = window_end_ms.saturating_sub(SILENCE_KEPT_MS);
        self.silences.retain(|s| s.end_ms >= horizon);
        let mut seen: BTreeMap<Key, &FindingView> = BTreeMap::new();
        for f in findings {
            seen.entry(self.key_for(f)).or_insert(f);
        }
        self.follow_nested(&mut seen, &mut out);
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
            // A window that ends before the incident's latest finding (an
            // older window closing late, e.g. after a restart) cannot show
            // that it is over.
            if window_end_ms <= inc.last_ms {
                continue;
            }
            let missed = if inc.state == State::Pending {
                inc.streak = 0;
                true
            } else {
                inc.streak += 1;
                false
            };
            // A pending incident that misses a window is dropped; a firing one
            // resolves after `resolve_after` quiet windows.
            let resolve_after = if key.terminal.is_some() {
                self.policy.device_resolve_after
            } else {
                self.policy.resolve_after
            };
            if missed || inc.streak >= resolve_after {
                if let Some(mut inc) = self.open.remove(&key) {
                    inc.state = State::Resolved;
                    inc.resolved_ms = Some(window_end_ms);
                    if inc.notified {
                        self.notices.push(Notice {
                            kind: NoticeKind::Resolved,
                            incident: inc.clone(),
                        });
                    }
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
        self.settle(window_end_ms);
        out
    }

    /// One fault, one incident: a finding with no incident of its own whose
    /// element nests in (or around) the element of an open incident of the
    /// same cause and signal belongs to that incident. If the incident has
    /// a finding of its own this window, the nested one is a part of the
    /// same fault (failures of another class, the tail of the window) and
    /// is dropped. Otherwise it continues the incident: a pending one takes
    /// the new element (the localizer names the part a first window's few
    /// failures fell in, and the whole once more have come); a firing one
    /// keeps the element it was sent with.
    fn follow_nested(&mut self, seen: &mut BTreeMap<Key, &FindingView>, out: &mut Vec<Transition>) {
        let new: Vec<Key> = seen
            .keys()
            .filter(|k| k.terminal.is_none() && !k.element.is_empty())
            .filter(|k| !self.open.contains_key(*k))
            .cloned()
            .collect();
        // A new part found beside its whole in this window.
        let parts: Vec<&Key> = new
            .iter()
            .filter(|k| {
                seen.iter().any(|(w, wf)| {
                    alike(w, wf, k, seen[*k])
                        && w.element.len() < k.element.len()
                        && nested(&w.element, &k.element)
                })
            })
            .collect();
        for k in parts {
            seen.remove(k);
        }
        for key in new {
            if !seen.contains_key(&key) {
                continue;
            }
            let Some(old) = self
                .open
                .iter()
                .find(|(o, inc)| {
                    alike(o, &inc.latest, &key, seen[&key]) && nested(&o.element, &key.element)
                })
                .map(|(o, _)| o.clone())
            else {
                continue;
            };
            let Some(f) = seen.remove(&key) else {
                continue;
            };
            if seen.contains_key(&old) {
                continue;
            }
            if self
                .open
                .get(&old)
                .is_some_and(|i| i.state == State::Firing)
            {
                seen.insert(old, f);
                continue;
            }
            let Some(mut inc) = self.open.remove(&old) else {
                continue;
            };
            inc.key = key.clone();
            out.push(Transition::Refined(inc.clone()));
            self.open.insert(key.clone(), inc);
            seen.insert(key, f);
        }
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
            let key = self.key_for(f);
            self.observe(at_ms, key, f, &mut out);
        }
        self.settle(at_ms);
        out
    }

    /// The key `f` counts under: its own, except that a terminal with an
    /// open incident keeps it (its newest failure class may point
    /// elsewhere from one window to the next; it is still one device).
    fn key_for(&self, f: &FindingView) -> Key {
        let health = (f.terminal.is_some() && f.signal.is_health()).then_some(f.signal);
        if let Some(t) = &f.terminal {
            let same = |k: &&Key| k.terminal.as_ref() == Some(t) && k.health == health;
            if let Some(k) = self.open.keys().find(same) {
                return k.clone();
            }
        }
        Key {
            cause: f.cause,
            element: f.element.clone(),
            terminal: f.terminal.clone(),
            slow: f.signal == Signal::Latency && f.terminal.is_none(),
            health,
        }
    }

    /// Notifications since the last call, in order.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    /// Puts `policy` in force (before the first window, or after a
    /// reload: open incidents keep their state).
    pub fn set_policy(&mut self, policy: Policy) {
        self.policy = policy;
    }

    /// The hysteresis and routing policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Puts back incidents from a durable log (open ones by key, fired and
    /// resolved ones in the recent list); ids continue after the largest.
    pub fn restore(&mut self, incidents: impl IntoIterator<Item = Incident>) {
        for inc in incidents {
            self.next_id = self.next_id.max(inc.id + 1);
            match inc.state {
                State::Resolved => {
                    if inc.fired_ms.is_some() {
                        self.resolved.push_back(inc);
                    }
                }
                State::Pending | State::Firing => {
                    self.open.insert(inc.key.clone(), inc);
                }
            }
        }
        while self.resolved.len() > self.policy.keep_resolved {
            self.resolved.pop_front();
        }
    }

    /// Incidents listed under incident `id` (inhibited by it).
    pub fn children(&self, id: u64) -> impl Iterator<Item = &Incident> {
        self.open
            .values()
            .chain(self.resolved.iter())
            .filter(move |i| i.inhibited_by == Some(id))
    }

    /// After a step: lists single devices and silences under the failing
    /// element (bank, network, merchant, cohort) that explains them, sets severity from impact until
    /// sinks have been told, and queues the notices of incidents that fired
    /// (not silenced, not inhibited). An inhibition outlives its parent
    /// while the child stays open, so an outage's tail never pages; it is
    /// lifted only if the parent was a blip that never fired. A parent
    /// resolved less than `aftermath_ms` ago still explains terminals that
    /// fail inside it with its own classes: their per-terminal memory still
    /// holds the outage.
    fn settle(&mut self, now_ms: i64) {
        // Failing elements (a bank, a network, also a merchant's setup or
        // a software cohort, which explain their own terminals), the most
        // specific first.
        let mut parents: Vec<(u64, Key, FindingView)> = self
            .open
            .values()
            .filter(|i| i.key.terminal.is_none() && !i.latest.signal.is_silence() && !i.key.slow)
            .map(|i| (i.id, i.key.clone(), i.latest.clone()))
            .collect();
        parents.sort_by_key(|p| (std::cmp::Reverse(p.1.element.len()), p.0));
        // Quiet places (outcomes, heartbeats or inventory terminals gone
        // silent), open or resolved within the aftermath (a terminal is
        // heard from again only at its next message), explain the
        // terminals and shops missing inside them.
        let quiet: Vec<(u64, Key, FindingView)> = self
            .open
            .values()
            .chain(self.resolved.iter().filter(|i| {
                i.fired_ms.is_some()
                    && i.resolved_ms
                        .is_some_and(|r| now_ms - r <= self.policy.aftermath_ms)
            }))
            .filter(|i| i.key.terminal.is_none() && i.latest.signal.is_silence())
            .map(|i| (i.id, i.key.clone(), i.latest.clone()))
            .collect();
        let aftermath = self.policy.aftermath_ms;
        let recent: Vec<(u64, Key, FindingView)> = self
            .resolved
            .iter()
            .filter(|i| i.key.terminal.is_none() && !i.latest.signal.is_silence() && !i.key.slow)
            .filter(|i| i.fired_ms.is_some())
            .filter(|i| i.resolved_ms.is_some_and(|r| now_ms - r <= aftermath))
            .map(|i| (i.id, i.key.clone(), i.latest.clone()))
            .collect();
        let live: std::collections::BTreeSet<u64> = self
            .open
            .values()
            .map(|i| i.id)
            .chain(self.resolved.iter().map(|i| i.id))
            .collect();
        let policy = self.policy;
        let mut fired: Vec<&mut Incident> = Vec::new();
        for inc in self.open.values_mut() {
            if inc.inhibited_by.is_some_and(|p| !live.contains(&p)) {
                inc.inhibited_by = None;
            }
            // A tamper report is security's, whatever else fails there.
            if inc.inhibited_by.is_none()
                && inc.key.health != Some(Signal::Tamper)
                && (inc.key.terminal.is_some() || inc.latest.signal.is_silence())
            {
                let missing = inc.latest.signal == Signal::Missing;
                inc.inhibited_by = parents
                    .iter()
                    .chain(quiet.iter().filter(|_| missing))
                    .find(|(id, key, latest)| *id != inc.id && explains(key, latest, inc))
                    .or_else(|| {
                        recent.iter().find(|(_, key, latest)| {
                            inc.key.terminal.is_some()
                                && explains(key, latest, inc)
                                && same_classes(latest, inc)
                        })
                    })
                    .map(|p| p.0);
            }
            if !inc.notified {
                inc.severity = severity(&policy, inc);
            }
            if inc.state == State::Firing
                && !inc.notified
                && !inc.silenced
                && inc.inhibited_by.is_none()
            {
                inc.notified = true;
                fired.push(inc);
            }
        }
        fired.sort_by_key(|i| i.id);
        for inc in fired {
            self.notices.push(Notice {
                kind: NoticeKind::Fired,
                incident: inc.clone(),
            });
        }
    }

    /// One finding for `key` at `at_ms`: open, refresh or fire its incident.
    fn observe(&mut self, at_ms: i64, key: Key, f: &FindingView, out: &mut Vec<Transition>) {
        let grace = self.policy.silence_grace_ms;
        let silenced = self
            .silences
            .iter()
            .any(|s| s.covers(&key, &f.context, at_ms, grace));
        // A dead or worn reader or PIN pad fires at once: its own test
        // already needs a run of errors (or a rate far off its model's over
        // the terminal's long memory), and no outage elsewhere explains it. A
        // terminal that merely fails everything waits like any other
        // finding and then the device hold, so the outage behind it is seen
        // first and holds it back.
        let reader = f.signal == Signal::Fallbacks
            || f.classes
                .iter()
                .any(|(c, _)| *c == OutcomeClass::DeviceFault);
        let p = &self.policy;
        // So does a device's health: its tests already need a run of
        // heartbeats (a place whose terminals are all out of reach is found
        // in the same window and takes them).
        let health = key.health.is_some();
        let (fire_after, hold_ms) = match (key.terminal.is_some(), reader || health) {
            (true, true) => (p.device_fire_after, 0),
            (true, false) => (p.fire_after, p.device_hold_ms),
            (false, _) => (p.fire_after, 0),
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
                    severity: Severity::Warning,
                    inhibited_by: None,
                    notified: false,
                };
                self.next_id += 1;
                out.push(Transition::Opened(inc.clone()));
                self.open.entry(key).or_insert(inc)
            }
        };
        if inc.state == State::Pending
            && !f.provisional
            && inc.streak >= fire_after
            && at_ms - inc.first_ms >= hold_ms
        {
            inc.state = State::Firing;
            inc.fired_ms = Some(at_ms);
            inc.streak = 0;
            out.push(Transition::Fired(inc.clone()));
        }
    }
}

/// Routing from impact: a tamper report pages (security); a single
/// terminal is otherwise a field-service ticket; a
/// slow element is a warning (transactions still go through); a
/// bank or network incident pages when enough fails (or goes missing) per
/// minute or enough terminals are hit; everything else is a warning.
fn severity(policy: &Policy, inc: &Incident) -> Severity {
    if inc.key.health == Some(Signal::Tamper) {
        Severity::Page
    } else if inc.key.terminal.is_some() {
        Severity::Ticket
    } else if inc.key.slow {
        Severity::Warning
    } else if inc.key.cause.pages()
        && (inc.impact_per_min(policy.window_ms) >= policy.page_failed_per_min
            || inc.evidence.terminals >= policy.page_terminals)
    {
        Severity::Page
    } else {
        Severity::Warning
    }
}

#[cfg(test)]
#[path = "book_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "book_relate_tests.rs"]
mod relate_tests;
