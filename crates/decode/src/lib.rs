//! The decoder: from a broker message (topic and payload) or a history
//! line to validated, deduplicated events. Pure and synchronous, shared by
//! the live intake, journal resume, replay of history files and tests:
//! size limit, card-number scan on raw bytes (JSON escapes and full-width
//! digits included), JSON shape, fields (a malformed optional field is
//! dropped and counted, the outcome kept), timestamp, dedup by `event_id`;
//! every rejection counted by reason and logged rate-limited.

mod bins;
mod decode;
mod dedup;
mod elements;
mod lenient;
mod ratelog;
mod raw;
mod topic;
mod values;

pub use bins::{BinsCell, SharedBins};
pub use decode::{Decoder, Rejection, Retention, SharedSymbols};
pub use dedup::{fingerprint, Dedup};
pub use lenient::Drops;
pub use raw::{RawNet, RawOutcome, RawSw, RawTs, Str, StrOrInt};
pub use topic::{Captures, Slot, TopicTemplate};
