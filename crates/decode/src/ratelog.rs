//! Rate-limited logging of rejections: one line per reason per interval,
//! saying how many were suppressed, so a flood of bad input cannot flood logs.

use swipewatch_model::RejectReason;

/// Decides which rejections get a log line. Time is passed in (epoch ms).
#[derive(Debug, Clone)]
pub struct RejectLog {
    interval_ms: i64,
    last: [Option<i64>; RejectReason::ALL.len()],
    suppressed: [u64; RejectReason::ALL.len()],
}

impl RejectLog {
    /// At most one line per reason every `interval_ms`.
    pub fn new(interval_ms: i64) -> RejectLog {
        RejectLog {
            interval_ms,
            last: [None; RejectReason::ALL.len()],
            suppressed: [0; RejectReason::ALL.len()],
        }
    }

    /// `Some(suppressed_since_last_line)` when this rejection should be logged.
    pub fn admit(&mut self, reason: RejectReason, now_ms: i64) -> Option<u64> {
        let i = reason.index();
        match self.last[i] {
            Some(t) if now_ms - t < self.interval_ms => {
                self.suppressed[i] += 1;
                None
            }
            _ => {
                self.last[i] = Some(now_ms);
                Some(std::mem::take(&mut self.suppressed[i]))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_reason_per_interval_with_the_suppressed_count() {
        let mut l = RejectLog::new(1000);
        assert_eq!(l.admit(RejectReason::BadType, 0), Some(0));
        assert_eq!(l.admit(RejectReason::BadType, 10), None);
        assert_eq!(l.admit(RejectReason::BadType, 20), None);
        assert_eq!(
            l.admit(RejectReason::TooLarge, 30),
            Some(0),
            "reasons are independent"
        );
        assert_eq!(l.admit(RejectReason::BadType, 1000), Some(2));
    }
}
