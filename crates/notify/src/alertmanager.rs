//! Alertmanager (API v2): the incident list posted on every change and
//! every resend interval. A receiver that is down never blocks detection:
//! the task only reads the latest list, and retries on the next change or
//! tick.

use crate::http::{post, Target};
use std::time::Duration;
use swipewatch_alert::{alertmanager, Incident};
use swipewatch_rt::Retry;
use swipewatch_telemetry::AlertMetrics;
use tokio::sync::watch;

/// Resolved incidents are re-sent for this long after they resolve.
const RESOLVED_HORIZON_MS: i64 = 15 * 60_000;

/// Posts the incident state to Alertmanager (`http://host:port`) on every
/// change and every `resend`, until `stop`.
pub async fn alertmanager(
    url: String,
    console_url: String,
    mut incidents: watch::Receiver<Vec<Incident>>,
    resend: Duration,
    metrics: AlertMetrics,
    mut stop: watch::Receiver<bool>,
) {
    let target = Target::parse(&format!("{}/api/v2/alerts", url.trim_end_matches('/')));
    // Resends follow the tick; the schedule only counts failures for the log.
    let mut retry = Retry::new(resend, resend);
    let mut tick = tokio::time::interval(resend);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            changed = incidents.changed() => if changed.is_err() { return },
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let now_ms = swipewatch_rt::now_ms();
        let body = {
            let list = incidents.borrow_and_update();
            alertmanager::alerts(&list, now_ms - RESOLVED_HORIZON_MS, &console_url)
        };
        if body.is_empty() {
            continue;
        }
        let text = serde_json::to_vec(&body).unwrap_or_default();
        match post(&target, &[], &text).await {
            Ok(status) if (200..300).contains(&status) => {
                metrics.alertmanager_ok.inc();
                retry.succeeded();
            }
            result => {
                metrics.alertmanager_failed.inc();
                if retry.failed().log {
                    match result {
                        Ok(status) => {
                            tracing::warn!(status, url = %url, "alertmanager refused the alerts; will resend")
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, url = %url, "cannot reach alertmanager; will resend")
                        }
                    }
                }
            }
        }
    }
}
