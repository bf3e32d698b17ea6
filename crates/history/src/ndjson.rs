//! NDJSON history: one archived broker message (`topic`, `payload`,
//! `arrival_ms`) or one bare outcome or heartbeat per line.

use crate::read::Item;
use crate::HistoryError;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::io::BufRead;
use std::path::Path;

/// An archived broker message.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    topic: Option<Cow<'a, str>>,
    arrival_ms: Option<i64>,
    #[serde(borrow)]
    payload: Option<&'a RawValue>,
}

pub(crate) fn read_ndjson(
    path: &Path,
    sink: &mut impl FnMut(Item<'_>),
) -> Result<u64, HistoryError> {
    let io = |source| HistoryError::Io {
        file: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut line = String::new();
    let mut row = 0u64;
    loop {
        line.clear();
        if reader.read_line(&mut line).map_err(io)? == 0 {
            return Ok(row);
        }
        row += 1;
        let text = line.trim_end();
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<Envelope>(text) {
            Ok(Envelope {
                topic: Some(topic),
                payload: Some(payload),
                arrival_ms,
            }) => sink(Item::Message {
                topic: &topic,
                payload: payload.get().as_bytes(),
                arrival_ms: arrival_ms.unwrap_or(0),
            }),
            Ok(envelope) => sink(Item::Line {
                text,
                line: row,
                arrival_ms: envelope.arrival_ms,
            }),
            Err(_) => sink(Item::Line {
                text,
                line: row,
                arrival_ms: None,
            }),
        }
    }
}
