//! Recurring maintenance windows (`[[alerts.maintenance]]`) turned into
//! silences ahead of time as the clock moves: live with processing time,
//! in replay with event time.

use std::collections::HashSet;
use swipewatch_alert::{IncidentBook, Silence};
use swipewatch_config::MaintenanceConfig;
use swipewatch_model::{Cause, Dim};

const DAY_MS: i64 = 86_400_000;
/// How often the occurrences ahead are looked at again.
const RENEW_MS: i64 = 3_600_000;

/// The windows, and the occurrences already declared.
#[derive(Debug, Clone, Default)]
pub struct MaintenanceSchedule {
    windows: Vec<MaintenanceConfig>,
    scheduled: HashSet<(usize, i64)>,
    next_ms: i64,
}

impl MaintenanceSchedule {
    /// A schedule of `windows`.
    pub fn new(windows: Vec<MaintenanceConfig>) -> MaintenanceSchedule {
        MaintenanceSchedule {
            windows,
            scheduled: HashSet::new(),
            next_ms: i64::MIN,
        }
    }

    /// Silences in `book` every occurrence from a day before `now_ms` to
    /// two days after, each once; looks again an hour later at the
    /// earliest. True when a silence was added.
    pub fn renew(&mut self, now_ms: i64, book: &mut IncidentBook) -> bool {
        if self.windows.is_empty() || now_ms < self.next_ms {
            return false;
        }
        let mut added = false;
        for (i, m) in self.windows.iter().enumerate() {
            for (start_ms, end_ms) in m.occurrences(now_ms - DAY_MS, now_ms + 2 * DAY_MS) {
                if !self.scheduled.insert((i, start_ms)) {
                    continue;
                }
                book.silence(silence(m, start_ms, end_ms));
                added = true;
            }
        }
        self.scheduled
            .retain(|(_, start)| *start >= now_ms - 2 * DAY_MS);
        self.next_ms = now_ms.saturating_add(RENEW_MS);
        added
    }
}

fn silence(m: &MaintenanceConfig, start_ms: i64, end_ms: i64) -> Silence {
    let matchers = m
        .matchers
        .iter()
        .filter_map(|(d, v)| Some((Dim::from_name(d)?, v.clone())))
        .collect();
    let cause = m
        .cause
        .as_deref()
        .and_then(|c| Cause::ALL.into_iter().find(|x| x.name() == c));
    Silence {
        id: 0,
        matchers,
        cause,
        start_ms,
        end_ms,
        comment: if m.comment.is_empty() {
            "scheduled maintenance".to_string()
        } else {
            m.comment.clone()
        },
    }
}
