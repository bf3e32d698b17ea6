//! MQTT ingest: from broker messages to validated, deduplicated events.
//!
//! Two tasks and two bounded channels:
//!
//! ```text
//! broker ─▶ poller ─(raw messages, bounded)─▶ decoder ─(event batches, bounded)─▶ engine
//! ```
//!
//! The poller is the only code that touches rumqttc's event loop. It never
//! does more than stamp arrival time and forward the payload, and it is never
//! cancelled mid-poll; on a connection error it waits with capped, jittered
//! exponential backoff and polls again (rumqttc reconnects and, with a
//! persistent session, resumes unacknowledged QoS1 deliveries). When the
//! decoder or the engine falls behind, the bounded channels fill, the poller
//! waits, and TCP flow control pushes the backlog back to the broker: memory
//! stays bounded.
//!
//! The decoder ([`Decoder`]) is pure and synchronous, shared with replay and
//! tests: size limit, card-number scan on raw bytes, JSON shape, fields,
//! timestamp, dedup by `event_id`; every rejection counted by reason.

mod backoff;
mod bins;
mod decode;
mod dedup;
mod journal;
mod lenient;
pub use swipewatch_model::pan;
mod ratelog;
mod raw;
mod source;
mod tls;
mod topic;
mod values;

pub use backoff::Backoff;
pub use bins::{BinsCell, SharedBins};
pub use decode::{Decoder, Rejection, SharedSymbols};
pub use dedup::{fingerprint, Dedup};
pub use journal::{replay as replay_journal, Checkpointed, Journal, JournalError, Reader, Record};
pub use lenient::Drops;
pub use raw::{RawNet, RawOutcome, RawSw, RawTs, Str, StrOrInt};
pub use source::{
    mqtt_options, spawn, spawn_journaled, spawn_with_symbols, Batch, IngestError, IngestHandle,
    JournalStart,
};
pub use topic::{Captures, Slot, TopicTemplate};
