//! Alert delivery, the async shell around the pure `alert` crate: the
//! incident log's per-sink outboxes, and the sinks that follow them — a
//! JSON webhook (HMAC-signed), retained incident topics on the MQTT
//! broker, and Alertmanager's API. Every sink retries with the one policy
//! in `swipewatch_rt::Retry` (capped exponential backoff with jitter, a
//! log line on the first failure in a row and every 20th).

mod alertmanager;
mod http;
mod mqtt;
mod outbox;
mod webhook;

pub use alertmanager::alertmanager;
pub use http::{post, Target};
pub use mqtt::{incident_topic, mqtt};
pub use outbox::{Notifier, Outbox, SharedLog};
pub use webhook::{signature, webhook, webhook_body, Webhook};
