//! A QoS1 test publisher on rumqttc, and payload builders.

use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::task::JoinHandle;

/// Wall clock, epoch ms.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A valid ~300-byte outcome.
pub fn outcome(id: &str, terminal: &str, rc: &str, ts: i64) -> String {
    let status = if rc == "00" { "approved" } else { "declined" };
    format!(
        r#"{{"event_id":"{id}","terminal_id":"{terminal}","merchant_id":"M-{m}","acquirer":"acq-1","bin":"412345","scheme":"visa","ts":{ts},"seq":1,"outcome":"{status}","rc":"{rc}","rc_source":"issuer","entry_mode":"chip","latency_ms":640,"net":{{"type":"4g","carrier":"vodafone","cell_id":"c-12"}},"sw":{{"fw":"4.2.1","app":"7.0.3"}},"model":"A920","amount_minor":1250,"currency":"EUR"}}"#,
        m = terminal.len()
    )
}

/// A runtime for publishing from a synchronous test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A publisher that keeps its session (clean_session = false), so QoS1
/// publishes not yet acknowledged survive a broker restart.
pub struct Publisher {
    client: AsyncClient,
    acked: Arc<AtomicU64>,
    published: u64,
    task: JoinHandle<()>,
    qos: QoS,
}

impl Publisher {
    /// Connects to `127.0.0.1:port`.
    pub fn connect(port: u16, client_id: &str) -> Publisher {
        let mut o = MqttOptions::new(client_id, "127.0.0.1", port);
        o.set_clean_session(false)
            .set_keep_alive(Duration::from_secs(5))
            .set_max_packet_size(16 << 20, 16 << 20)
            .set_inflight(100);
        let (client, mut eventloop) = AsyncClient::new(o, 1000);
        let acked = Arc::new(AtomicU64::new(0));
        let counter = acked.clone();
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        Publisher {
            client,
            acked,
            published: 0,
            task,
            qos: QoS::AtLeastOnce,
        }
    }

    /// Publishes at QoS 0 (`0`) instead of 1 from now on (for the
    /// end-to-end bench).
    #[allow(dead_code)]
    pub fn with_qos(mut self, qos: u8) -> Publisher {
        self.qos = if qos == 0 {
            QoS::AtMostOnce
        } else {
            QoS::AtLeastOnce
        };
        self
    }

    /// Queues one publish (QoS1 unless set otherwise).
    pub async fn publish(&mut self, topic: &str, payload: impl Into<Vec<u8>>) {
        self.published += 1;
        self.client
            .publish(topic, self.qos, false, payload.into())
            .await
            .expect("publish request queued");
    }

    /// PubAcks received so far (a resent message may be acked twice).
    pub fn acked(&self) -> u64 {
        self.acked.load(Ordering::Relaxed)
    }

    /// Waits (bounded) until the broker acknowledged every publish; false on timeout.
    pub async fn flush(&self, timeout: Duration) -> bool {
        tokio::time::timeout(timeout, async {
            while self.acked() < self.published {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .is_ok()
    }

    /// Disconnects and stops the event loop task.
    pub async fn close(self) {
        let _ = self.client.disconnect().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

/// The retained messages under `filter` on the broker at `port`: subscribes
/// with a fresh session and collects what arrives within `wait`.
pub fn retained(port: u16, filter: &str, wait: Duration) -> Vec<(String, Vec<u8>)> {
    let mut o = rumqttc::MqttOptions::new(format!("retained-{}", now_ms()), "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(5));
    let (client, mut connection) = rumqttc::Client::new(o, 16);
    if client.subscribe(filter, rumqttc::QoS::AtLeastOnce).is_err() {
        return Vec::new();
    }
    let deadline = std::time::Instant::now() + wait;
    let mut out = Vec::new();
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match connection.recv_timeout(left) {
            Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p)))) if p.retain => {
                out.push((p.topic.clone(), p.payload.to_vec()));
            }
            Ok(Ok(_)) => {}
            Ok(Err(_)) => std::thread::sleep(Duration::from_millis(100)),
            Err(_) => break,
        }
    }
    let _ = client.disconnect();
    out
}
