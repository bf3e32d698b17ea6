//! Retained incident state on the ingest broker: a firing incident's state
//! at `<prefix>/<cause>/<id>`, cleared when it resolves, so the topic tree
//! holds what is firing now.

use crate::outbox::{delivered, Outbox, SharedLog};
use crate::webhook::webhook_body;
use std::sync::Arc;
use std::time::Duration;
use swipewatch_alert::{Incident, NoticeKind};
use swipewatch_rt::Retry;
use swipewatch_telemetry::AlertMetrics;
use tokio::sync::watch;

/// Reconnection delays of the incident topic's connection.
const RECONNECT: (Duration, Duration) = (Duration::from_millis(200), Duration::from_secs(10));
/// Delays between publish attempts of one notice.
const REPUBLISH: (Duration, Duration) = (Duration::from_millis(500), Duration::from_secs(30));

/// Topic of an incident's state: `<prefix>/<cause>/<id>`.
pub fn incident_topic(prefix: &str, i: &Incident) -> String {
    format!("{prefix}/{}/{}", i.key.cause.name(), i.id)
}

/// Publishes each notice to the broker: a firing incident's state
/// retained at its topic; on resolution the resolved state once, then the
/// retained message cleared, so the topic tree holds what is firing now.
pub async fn mqtt(
    options: rumqttc::MqttOptions,
    prefix: String,
    outbox: Arc<Outbox>,
    journal: Option<SharedLog>,
    metrics: AlertMetrics,
    mut stop: watch::Receiver<bool>,
) {
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 16);
    let (acks_tx, mut acks) = tokio::sync::mpsc::channel::<()>(64);
    let mut poll_stop = stop.clone();
    let poller = tokio::spawn(async move {
        let mut retry = Retry::new(RECONNECT.0, RECONNECT.1);
        loop {
            let event = tokio::select! {
                e = eventloop.poll() => e,
                _ = poll_stop.wait_for(|s| *s) => return,
            };
            match event {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) => {
                    retry.succeeded();
                    let _ = acks_tx.try_send(());
                }
                Ok(_) => retry.succeeded(),
                Err(e) => {
                    let failed = retry.failed();
                    if failed.log {
                        tracing::warn!(error = %e, failures = failed.failures, "incident topic: broker connection failed; retrying");
                    }
                    tokio::time::sleep(failed.delay).await;
                }
            }
        }
    });
    while let Some((seq, notice)) = outbox.next(&mut stop).await {
        let topic = incident_topic(&prefix, &notice.incident);
        let state = webhook_body(seq, &notice, "");
        let publishes: Vec<(Vec<u8>, bool)> = match notice.kind {
            NoticeKind::Fired => vec![(state, true)],
            NoticeKind::Resolved => vec![(state, false), (Vec::new(), true)],
        };
        let mut retry = Retry::new(REPUBLISH.0, REPUBLISH.1);
        loop {
            while acks.try_recv().is_ok() {}
            let mut ok = true;
            for (payload, retain) in &publishes {
                let sent = client
                    .publish(&topic, rumqttc::QoS::AtLeastOnce, *retain, payload.clone())
                    .await;
                let acked = sent.is_ok()
                    && tokio::time::timeout(Duration::from_secs(10), acks.recv())
                        .await
                        .is_ok_and(|a| a.is_some());
                if !acked {
                    ok = false;
                    break;
                }
            }
            metrics.delivery("mqtt", ok);
            if ok {
                break;
            }
            let failed = retry.failed();
            if failed.log {
                tracing::warn!(
                    seq,
                    failures = failed.failures,
                    "incident topic: notice not acknowledged; retrying"
                );
            }
            tokio::select! {
                () = tokio::time::sleep(failed.delay) => {}
                _ = stop.wait_for(|s| *s) => {
                    poller.abort();
                    return;
                }
            }
        }
        outbox.pop(seq);
        delivered(journal.as_ref(), "mqtt", seq);
    }
    let _ = client.disconnect().await;
    poller.abort();
}
