//! Scoring detected incidents against the ground-truth labels of a run.

use crate::generate::Label;
use crate::scenario::FaultKind;
use std::collections::BTreeMap;
use swipewatch_model::{Cause, Signal};

/// How long after a fault ends an incident still counts as its detection
/// (late windows, store-and-forward backlog).
pub const GRACE_MS: i64 = 5 * 60_000;

/// An incident as the scorer sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected {
    /// Blamed side.
    pub cause: Cause,
    /// Where: dimension name → value (`terminal` for a single device).
    pub element: BTreeMap<String, String>,
    /// When it fired (event time, epoch ms): the end of the window that
    /// confirmed it, or the arrival of a dead device's last error; for an
    /// incident that never fired, its first window.
    pub first_ms: i64,
    /// End of the last window with the finding, epoch ms.
    pub last_ms: i64,
    /// It reached the firing state (not just one pending window).
    pub fired: bool,
    /// A maintenance window silenced it.
    pub silenced: bool,
    /// Listed under a bank or network incident that explains it.
    pub inhibited: bool,
    /// Routed to the pager (severity), when not silenced or inhibited.
    pub page: bool,
    /// What the first finding observed (failures, or a device's error run).
    pub first_observed: f64,
    /// What it rests on (a device's health signal for its own incidents).
    pub signal: Signal,
}

impl Detected {
    /// Fired, neither silenced nor inhibited, and routed to the pager.
    pub fn paged(&self) -> bool {
        self.fired && !self.silenced && !self.inhibited && self.page
    }
}

/// One label's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelScore {
    /// The label.
    pub label: Label,
    /// A fired incident overlaps it in time and place.
    pub found: bool,
    /// ... and one of those blames the labelled side.
    pub cause_ok: bool,
    /// ... and has exactly the labelled element.
    pub element_ok: bool,
    /// Event time from onset to the first window with a correct-cause finding.
    pub ttd_ms: Option<i64>,
    /// For a single device: the error run its first finding saw.
    pub failures_to_detect: Option<f64>,
    /// It paged although it should not have (maintenance, or nobody's fault).
    pub wrongly_paged: bool,
}

impl LabelScore {
    /// `yes`/`no` for a fault with a side; for one that must not page
    /// (nobody's fault, or declared maintenance), `quiet` or `paged`.
    pub fn cause_text(&self) -> &'static str {
        match (self.label.cause, self.label.maintenance) {
            (None, _) | (_, true) if self.wrongly_paged => "paged",
            (None, _) | (_, true) => "quiet",
            _ => yes(self.cause_ok),
        }
    }

    /// Failed transactions before a device was reported, or seconds of
    /// event time to detect, or `-`.
    pub fn detect_text(&self) -> String {
        match (self.failures_to_detect, self.ttd_ms) {
            (Some(n), _) => format!("{n:.0} fails"),
            (None, Some(ms)) => format!("{:.0}s", ms as f64 / 1000.0),
            (None, None) => "-".into(),
        }
    }
}

/// `yes` or `no`.
pub fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// An element as `dim=value&dim=value`, `(fleet)` when empty.
pub fn describe(e: &std::collections::BTreeMap<String, String>) -> String {
    if e.is_empty() {
        return "(fleet)".into();
    }
    e.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// One run's score.
#[derive(Debug, Clone, PartialEq)]
pub struct RunScore {
    /// Per label.
    pub labels: Vec<LabelScore>,
    /// Fired incidents that match no faulty label.
    pub false_incidents: usize,
    /// Of those, the ones that paged, plus pages on labels that must not page.
    pub false_pages: usize,
    /// The false incidents themselves, in the order they were opened.
    pub unexplained: Vec<Detected>,
    /// Incidents that were opened (one window's finding) and never fired,
    /// other than those listed under an incident that explains them.
    pub never_fired: usize,
    /// Incidents that never fired while listed under an incident that
    /// explains them (a terminal inside an outage): shown with their
    /// parent, not on their own.
    pub never_fired_listed: usize,
    /// Event time covered, in days.
    pub days: f64,
}

fn overlaps(d: &Detected, l: &Label) -> bool {
    let in_time = d.first_ms <= l.end_ms + GRACE_MS && d.last_ms >= l.start_ms;
    let in_place =
        l.element.is_empty() || d.element.iter().any(|(k, v)| l.element.get(k) == Some(v));
    in_time && in_place
}

/// Scores `detected` against `labels` over `days` of event time.
pub fn score(labels: &[Label], detected: &[Detected], days: f64) -> RunScore {
    let mut explained = vec![false; detected.len()];
    let mut false_pages = 0;
    let scores = labels
        .iter()
        .map(|l| {
            let hits: Vec<usize> = (0..detected.len())
                .filter(|&i| detected[i].fired && overlaps(&detected[i], l))
                .collect();
            let right: Vec<&Detected> = hits
                .iter()
                .map(|&i| &detected[i])
                .filter(|d| Some(d.cause) == l.cause)
                .filter(|d| l.signal.is_none_or(|s| s == d.signal))
                .collect();
            let wrongly_paged =
                (l.cause.is_none() || l.maintenance) && hits.iter().any(|&i| detected[i].paged());
            if l.cause.is_some() {
                for &i in &hits {
                    explained[i] = true;
                }
            }
            if wrongly_paged {
                false_pages += 1;
            }
            let first = right.iter().min_by_key(|d| d.first_ms);
            LabelScore {
                found: !hits.is_empty(),
                cause_ok: !right.is_empty(),
                element_ok: right.iter().any(|d| d.element == l.element),
                ttd_ms: first.map(|d| (d.first_ms - l.start_ms).max(0)),
                failures_to_detect: first
                    .filter(|_| {
                        [FaultKind::DeadReader, FaultKind::DeadKeypad]
                            .iter()
                            .any(|k| l.kind == k.name())
                    })
                    .map(|d| d.first_observed),
                wrongly_paged,
                label: l.clone(),
            }
        })
        .collect();
    let unexplained = || {
        detected
            .iter()
            .zip(&explained)
            .filter(|(d, e)| d.fired && !d.inhibited && !**e)
    };
    RunScore {
        labels: scores,
        false_incidents: unexplained().count(),
        false_pages: false_pages + unexplained().filter(|(d, _)| d.paged()).count(),
        unexplained: unexplained().map(|(d, _)| d.clone()).collect(),
        never_fired: detected.iter().filter(|d| !d.fired && !d.inhibited).count(),
        never_fired_listed: detected.iter().filter(|d| !d.fired && d.inhibited).count(),
        days,
    }
}

/// Incidents as the scorer compares them with labels.
pub fn detected(incidents: &[swipewatch_alert::Incident]) -> Vec<Detected> {
    incidents.iter().map(to_detected).collect()
}

fn to_detected(inc: &swipewatch_alert::Incident) -> Detected {
    let element = match &inc.key.terminal {
        Some(t) => BTreeMap::from([("terminal".to_string(), t.clone())]),
        None => inc
            .key
            .element
            .iter()
            .map(|(d, v)| (d.name().to_string(), v.clone()))
            .collect(),
    };
    Detected {
        cause: inc.key.cause,
        element,
        first_ms: inc.fired_ms.unwrap_or(inc.first_ms),
        last_ms: inc.last_ms,
        fired: inc.fired_ms.is_some(),
        silenced: inc.silenced,
        inhibited: inc.inhibited_by.is_some(),
        page: inc.severity == swipewatch_alert::Severity::Page,
        first_observed: inc.first_observed,
        signal: inc.key.health.unwrap_or(inc.latest.signal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(cause: Option<Cause>, pairs: &[(&str, &str)]) -> Label {
        Label {
            kind: "t".into(),
            cause,
            element: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            start_ms: 100_000,
            end_ms: 700_000,
            maintenance: false,
            share: 0.1,
            signal: None,
        }
    }

    fn incident(cause: Cause, pairs: &[(&str, &str)], first_ms: i64) -> Detected {
        Detected {
            cause,
            element: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            first_ms,
            last_ms: first_ms + 60_000,
            fired: true,
            silenced: false,
            inhibited: false,
            page: cause.pages(),
            first_observed: 40.0,
            signal: Signal::Failures,
        }
    }

    #[test]
    fn right_cause_and_element_scores_fully_with_time_to_detect() {
        let l = [label(Some(Cause::BankIssuer), &[("issuer", "northbank")])];
        let d = [incident(
            Cause::BankIssuer,
            &[("issuer", "northbank")],
            120_000,
        )];
        let s = score(&l, &d, 1.0);
        let x = &s.labels[0];
        assert!(x.found && x.cause_ok && x.element_ok);
        assert_eq!(x.ttd_ms, Some(20_000));
        assert_eq!((s.false_incidents, s.false_pages), (0, 0));
    }

    #[test]
    fn a_wider_element_is_found_but_not_exact_and_a_wrong_side_is_not_correct() {
        let l = [label(Some(Cause::Network), &[("carrier", "airwave")])];
        let wide = [incident(
            Cause::Network,
            &[("carrier", "airwave"), ("region", "north")],
            130_000,
        )];
        let x = &score(&l, &wide, 1.0).labels[0];
        assert!(x.found && x.cause_ok && !x.element_ok);
        let wrong = [incident(
            Cause::BankAcquirer,
            &[("carrier", "airwave")],
            130_000,
        )];
        let x = &score(&l, &wrong, 1.0).labels[0];
        assert!(x.found && !x.cause_ok && x.ttd_ms.is_none());
    }

    #[test]
    fn incidents_elsewhere_or_on_a_surge_are_false_and_count_pages() {
        let l = [label(None, &[])];
        let d = [
            incident(Cause::BankIssuer, &[("issuer", "northbank")], 200_000),
            incident(Cause::DeviceSoftware, &[("firmware", "x")], 5_000_000),
        ];
        let s = score(&l, &d, 1.0);
        assert!(s.labels[0].wrongly_paged);
        // The bank incident overlaps the surge (unexplained, paging); the
        // firmware one is unexplained but goes to field service.
        assert_eq!(s.false_incidents, 2);
        assert_eq!(s.false_pages, 2);
    }
}
