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
//! The decoder ([`Decoder`], crate `swipewatch-decode`) is pure and
//! synchronous, shared with replay and tests; this crate is its async
//! shell: the MQTT session, the intake journal, TLS.

mod intake;
mod source;
mod tls;

pub use intake::{redecode, Checkpointed, IntakeError, IntakeJournal, IntakeRecord, Reader};
pub use source::{
    mqtt_options, spawn, spawn_journaled, spawn_with_symbols, Batch, IngestError, IngestHandle,
    JournalStart,
};
pub use swipewatch_decode::{
    fingerprint, BinsCell, Captures, Decoder, Dedup, Drops, RawNet, RawOutcome, RawSw, RawTs,
    Rejection, Retention, SharedBins, SharedSymbols, Slot, Str, StrOrInt, TopicTemplate,
};
pub use swipewatch_rt::Backoff;
