//! The generic JSON webhook: every fired and resolved notice, in order,
//! each retried until the receiver answers 2xx, signed with HMAC-SHA256
//! when a key is configured.

use crate::http::{post, Target};
use crate::outbox::{delivered, Outbox, SharedLog};
use hmac::{Hmac, Mac};
use std::sync::Arc;
use std::time::Duration;
use swipewatch_alert::wire::WebhookBody;
use swipewatch_alert::Notice;
use swipewatch_rt::Retry;
use swipewatch_telemetry::AlertMetrics;
use tokio::sync::watch;

/// The JSON a webhook receives for notice `seq` (also what an MQTT
/// incident topic holds).
pub fn webhook_body(seq: u64, notice: &Notice, console_url: &str) -> Vec<u8> {
    let body = WebhookBody::new(seq, notice.kind, &notice.incident, console_url);
    serde_json::to_vec(&body).unwrap_or_default()
}

/// `sha256=<hex HMAC-SHA256 of body under key>`.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Webhook settings.
pub struct Webhook {
    /// `http://host:port/path`.
    pub url: String,
    /// HMAC key, if any.
    pub secret: Option<String>,
    /// First retry delay.
    pub retry_initial: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// Link to the console, in each body.
    pub console_url: String,
}

/// Delivers the queue to the webhook, in order, each notice until a 2xx.
pub async fn webhook(
    hook: Webhook,
    outbox: Arc<Outbox>,
    journal: Option<SharedLog>,
    metrics: AlertMetrics,
    mut stop: watch::Receiver<bool>,
) {
    let target = Target::parse(&hook.url);
    let mut retry = Retry::new(hook.retry_initial, hook.retry_max);
    while let Some((seq, notice)) = outbox.next(&mut stop).await {
        let body = webhook_body(seq, &notice, &hook.console_url);
        let mut headers = vec![("X-Swipewatch-Delivery", seq.to_string())];
        if let Some(key) = &hook.secret {
            headers.push(("X-Swipewatch-Signature", signature(key.as_bytes(), &body)));
        }
        loop {
            let result = post(&target, &headers, &body).await;
            let ok = matches!(result, Ok(status) if (200..300).contains(&status));
            metrics.delivery("webhook", ok);
            if ok {
                retry.succeeded();
                break;
            }
            let failed = retry.failed();
            if failed.log {
                match result {
                    Ok(status) => {
                        tracing::warn!(status, seq, url = %hook.url, "webhook refused a notice; retrying")
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, seq, url = %hook.url, "cannot reach the webhook; retrying")
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep(failed.delay) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
        outbox.pop(seq);
        delivered(journal.as_ref(), "webhook", seq);
    }
}
