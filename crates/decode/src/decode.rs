//! Decoding and validation of one MQTT message into events.
//!
//! Pure and synchronous: the caller passes topic, payload and arrival time, so
//! the live driver, replay and tests share it. Order of checks: size, card
//! numbers (on raw bytes, before any parsing, so a card number never reaches
//! a parsed value, an error message or a log line), JSON shape, fields,
//! timestamp, and dedup last so a rejected message never poisons the dedup set.
//! Message-level rejections count once per message; element-level ones once
//! per element of a JSON array.

use crate::bins::SharedBins;
use crate::dedup::{fingerprint, Dedup};
use crate::elements::{
    cell_text, check_len, fill_dims, issuer_from_bin, parse_or_repair, recent_slot, required,
    split_elements,
};
use crate::lenient::{Drops, Shape};
use crate::ratelog::RejectLog;
use crate::raw::{RawHeartbeat, RawOutcome, RawSw, RawTs};
use crate::topic::{Captures, TopicTemplate};
use crate::values::{currency, kept, rssi};
use std::sync::{Arc, RwLock};
use swipewatch_config::{IngestConfig, TopicKind};
use swipewatch_model::pan::contains_card_number;
use swipewatch_model::{
    BinTable, Dim, DimValues, DroppedField, EntryMode, Event, Heartbeat, Outcome, RejectReason,
    RespCode, Sym, Symbols, Taxonomy, TermError, TxnStatus, TxnType,
};
use swipewatch_telemetry::{EventKind, IngestMetrics};

/// Whether a decoded message may be written to the intake journal.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// It may be kept on disk.
    Journal,
    /// It carries a card number (or was not scanned): never written.
    Drop,
}

impl Retention {
    /// What a rejection allows: everything but a card number is kept.
    fn of(r: &Rejection) -> Retention {
        if r.reason == RejectReason::CardNumberPresent {
            Retention::Drop
        } else {
            Retention::Journal
        }
    }
}

/// Interned values shared by ingest (the only writer) and later stages.
pub type SharedSymbols = Arc<RwLock<Symbols>>;

/// Longest id (event, terminal, merchant) accepted, bytes.
const MAX_ID_BYTES: usize = 128;
/// Longest dimension value accepted, bytes.
pub(crate) const MAX_VALUE_BYTES: usize = 128;

/// Why one element was refused, with a detail safe to log (never a value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The bounded reason.
    pub reason: RejectReason,
    /// Field name or parser message.
    pub detail: String,
}

pub(crate) fn reject(reason: RejectReason, detail: impl Into<String>) -> Rejection {
    Rejection {
        reason,
        detail: detail.into(),
    }
}

/// Decodes and validates messages; counts every outcome in the metrics.
pub struct Decoder {
    templates: Vec<TopicTemplate>,
    taxonomy: Taxonomy,
    symbols: SharedSymbols,
    bins: SharedBins,
    /// The table in force as of generation `bins_seen`.
    bins_now: Arc<BinTable>,
    bins_seen: u64,
    /// Each known terminal's dimension values as last interned, by
    /// terminal symbol: most of a terminal's values repeat from one
    /// message to the next, and comparing with the remembered value's text
    /// costs less than hashing and looking it up again (48 bytes a
    /// terminal).
    recent: Vec<[Sym; Dim::COUNT]>,
    dedup: Dedup,
    metrics: IngestMetrics,
    log: RejectLog,
    max_payload_bytes: usize,
    max_batch_elements: usize,
    max_age_ms: i64,
    max_lead_ms: i64,
}

impl Decoder {
    /// A decoder for the topics and limits of `config`.
    pub fn new(
        config: &IngestConfig,
        taxonomy: Taxonomy,
        symbols: SharedSymbols,
        metrics: IngestMetrics,
    ) -> Decoder {
        Decoder {
            templates: config
                .topics
                .iter()
                .map(|t| TopicTemplate::parse(&t.template, t.kind))
                .collect(),
            taxonomy,
            symbols,
            bins: SharedBins::default(),
            bins_now: Arc::default(),
            bins_seen: 0,
            recent: Vec::new(),
            dedup: Dedup::new(config.dedup_capacity),
            metrics,
            log: RejectLog::new(config.reject_log_interval.as_millis() as i64),
            max_payload_bytes: config.max_payload_bytes,
            max_batch_elements: config.max_batch_elements,
            max_age_ms: config.max_event_age.as_millis() as i64,
            max_lead_ms: config.max_event_lead.as_millis() as i64,
        }
    }

    /// Counts into `metrics` from now on; returns the counters used until
    /// now (a restart decodes journaled messages it already counted into
    /// throwaway counters).
    pub fn replace_metrics(&mut self, metrics: IngestMetrics) -> IngestMetrics {
        std::mem::replace(&mut self.metrics, metrics)
    }

    /// The interned values this decoder writes.
    pub fn symbols(&self) -> &SharedSymbols {
        &self.symbols
    }

    /// The BIN table this decoder reads; replace what it holds to reload.
    pub fn bins(&self) -> &SharedBins {
        &self.bins
    }

    /// Decodes one message of `len` bytes (its payload may already have been
    /// dropped by the caller if `len` is over the limit), appending accepted
    /// events to `out`. Returns whether the message may be kept on disk:
    /// [`Retention::Drop`] when it carries a card number (or its topic
    /// matched no template, so it was not scanned).
    pub fn decode(
        &mut self,
        topic: &str,
        payload: &[u8],
        len: usize,
        arrival_ms: i64,
        out: &mut Vec<Event>,
    ) -> Retention {
        let found = self
            .templates
            .iter()
            .find_map(|t| t.captures(topic).map(|c| (t.kind(), c)));
        let Some((kind, topic_slots)) = found else {
            self.rejected(
                reject(
                    RejectReason::BadType,
                    "topic matches no configured template",
                ),
                topic,
                arrival_ms,
            );
            return Retention::Drop;
        };
        let kind = match kind {
            TopicKind::Txn => EventKind::Outcome,
            TopicKind::Heartbeat => EventKind::Heartbeat,
        };
        self.metrics.messages(kind).inc();
        self.metrics.bytes.inc_by(len as u64);
        if let Err(r) = self.check_message(topic, payload, len) {
            let retention = Retention::of(&r);
            self.rejected(r, topic, arrival_ms);
            return retention;
        }
        let elements = match split_elements(payload, self.max_batch_elements) {
            Ok(e) => e,
            Err(r) => {
                self.rejected(r, topic, arrival_ms);
                return Retention::Journal;
            }
        };
        let mut retention = Retention::Journal;
        for element in elements.iter() {
            let result = match kind {
                EventKind::Outcome => self
                    .outcome(element, &topic_slots, Some(arrival_ms))
                    .map(Event::Outcome),
                EventKind::Heartbeat => self
                    .heartbeat(element, &topic_slots, Some(arrival_ms))
                    .map(Event::Heartbeat),
            };
            match result {
                Ok(event) => {
                    self.metrics.accepted(kind).inc();
                    out.push(event);
                }
                Err(r) => {
                    if Retention::of(&r) == Retention::Drop {
                        retention = Retention::Drop;
                    }
                    self.rejected(r, topic, arrival_ms);
                }
            }
        }
        retention
    }

    fn check_message(&self, topic: &str, payload: &[u8], len: usize) -> Result<(), Rejection> {
        if len > self.max_payload_bytes || payload.len() > self.max_payload_bytes {
            return Err(reject(
                RejectReason::TooLarge,
                format!("payload of {len} bytes"),
            ));
        }
        if contains_card_number(payload) || contains_card_number(topic.as_bytes()) {
            return Err(reject(RejectReason::CardNumberPresent, "payload withheld"));
        }
        Ok(())
    }

    fn rejected(&mut self, r: Rejection, topic: &str, now_ms: i64) {
        self.metrics.rejected(r.reason).inc();
        if let Some(suppressed) = self.log.admit(r.reason, now_ms) {
            if r.reason == RejectReason::CardNumberPresent {
                // Neither topic nor detail: either could carry the number.
                tracing::warn!(reason = %r.reason, suppressed, "message rejected");
            } else {
                tracing::warn!(reason = %r.reason, detail = %r.detail, topic, suppressed, "message rejected");
            }
        }
    }

    fn outcome(
        &mut self,
        element: &str,
        topic: &Captures,
        arrival_ms: Option<i64>,
    ) -> Result<Outcome, Rejection> {
        let mut repaired = None;
        let (mut raw, drops): (RawOutcome, _) =
            parse_or_repair(element, Shape::Outcome, &mut repaired)?;
        raw.fold_flat();
        self.accept_outcome(raw, topic, arrival_ms, drops)
    }

    fn count_dropped(&self, drops: Drops) {
        if drops == Drops::default() {
            return;
        }
        for field in drops.iter() {
            self.metrics.dropped(field).inc();
        }
    }

    /// Counts a history record its reader could not type (a required
    /// column unreadable) as a rejection of `reason`, as the live path
    /// counts a message it cannot decode; `detail` names where.
    pub fn refuse_record(&mut self, reason: RejectReason, detail: &str, arrival_ms: i64) {
        self.metrics.messages(EventKind::Outcome).inc();
        self.rejected(reject(reason, detail), "(history record)", arrival_ms);
    }

    /// Decodes one archived line that is a bare outcome or heartbeat (no
    /// topic around it), appending what it gave to `out`; validated and
    /// counted the way a live message is. A line naming `event_id` or
    /// `outcome` is an outcome, any other a heartbeat. Without
    /// `arrival_ms` the event is taken as received at its own time.
    pub fn decode_line(
        &mut self,
        line: &str,
        arrival_ms: Option<i64>,
        out: &mut Vec<Event>,
    ) -> Result<(), Rejection> {
        let kind = if line.contains("\"event_id\"") || line.contains("\"outcome\"") {
            EventKind::Outcome
        } else {
            EventKind::Heartbeat
        };
        self.metrics.messages(kind).inc();
        self.metrics.bytes.inc_by(line.len() as u64);
        let topic = Captures::default();
        let result = self
            .check_message("", line.as_bytes(), line.len())
            .and_then(|()| match line.trim_start().as_bytes().first() {
                Some(b'{') => Ok(()),
                _ => Err(reject(RejectReason::MalformedJson, "line is not an object")),
            })
            .and_then(|()| match kind {
                EventKind::Outcome => self.outcome(line, &topic, arrival_ms).map(Event::Outcome),
                EventKind::Heartbeat => self
                    .heartbeat(line, &topic, arrival_ms)
                    .map(Event::Heartbeat),
            });
        match result {
            Ok(event) => {
                self.metrics.accepted(kind).inc();
                out.push(event);
                Ok(())
            }
            Err(r) => {
                self.rejected(r.clone(), "(history line)", arrival_ms.unwrap_or(0));
                Err(r)
            }
        }
    }

    /// Validates one outcome that a history reader has already typed, the
    /// way a live message is validated (card-number scan over its text,
    /// required fields, timestamp against `arrival_ms`, codes, dedup) and
    /// counted in the same metrics; `dropped` names the values the reader
    /// could not type (counted with the fields dropped here). A rejection
    /// is counted and logged (rate-limited) before it is returned.
    pub fn decode_record(
        &mut self,
        raw: RawOutcome<'_>,
        arrival_ms: i64,
        dropped: Drops,
    ) -> Result<Outcome, Rejection> {
        self.metrics.messages(EventKind::Outcome).inc();
        let result = if raw.texts().any(|t| contains_card_number(t.as_bytes())) {
            Err(reject(RejectReason::CardNumberPresent, "record withheld"))
        } else {
            let mut raw = raw;
            raw.fold_flat();
            self.accept_outcome(raw, &Captures::default(), Some(arrival_ms), dropped)
        };
        match &result {
            Ok(_) => self.metrics.accepted(EventKind::Outcome).inc(),
            Err(r) => self.rejected(r.clone(), "(history record)", arrival_ms),
        }
        result
    }

    fn accept_outcome(
        &mut self,
        raw: RawOutcome<'_>,
        topic: &Captures,
        arrival_ms: Option<i64>,
        mut drops: Drops,
    ) -> Result<Outcome, Rejection> {
        let event_id = required(raw.event_id.as_deref(), "event_id")?;
        check_len(event_id, MAX_ID_BYTES, "event_id")?;
        let status = raw
            .outcome
            .ok_or_else(|| reject(RejectReason::MissingField, "outcome"))?;
        let txn_type = raw.txn_type.as_deref().map(TxnType::from_wire);
        // A void or reversal undoes an earlier transaction: whatever its
        // own status, it is not a new attempt.
        let classed_as = match txn_type {
            Some(t) if t.undoes() => TxnStatus::Reversed,
            _ => status,
        };
        let ts_ms = self.timestamp(raw.ts, arrival_ms)?;
        let arrival_ms = arrival_ms.unwrap_or(ts_ms);
        let rc = raw
            .rc
            .as_deref()
            .and_then(|rc| kept(RespCode::parse(rc.trim()), DroppedField::Rc, &mut drops));
        let term_error = raw
            .term_error
            .as_deref()
            .map(|e| TermError::from_name(e).unwrap_or(TermError::Other));
        let currency = raw
            .currency
            .as_deref()
            .and_then(|c| kept(currency(c), DroppedField::Currency, &mut drops));
        let bin = raw.bin.as_deref().filter(|bin| {
            let ok = (6..=8).contains(&bin.len()) && bin.bytes().all(|b| b.is_ascii_digit());
            if !ok {
                drops.add(DroppedField::Bin);
            }
            ok
        });
        let rssi_dbm = rssi(raw.net.as_ref(), &mut drops);
        // The BIN table names the issuer (and scheme) an outcome leaves out.
        let generation = self.bins.generation();
        if generation != self.bins_seen {
            self.bins_now = self.bins.table();
            self.bins_seen = generation;
        }
        let range = match (&raw.issuer, bin) {
            (None, Some(b)) if !self.bins_now.is_empty() => self.bins_now.lookup(b),
            _ => None,
        };
        let wallet = raw.wallet.as_deref().map(str::to_ascii_lowercase);
        let scheme = raw
            .scheme
            .as_deref()
            .or(wallet.as_deref())
            .or(range.and_then(|r| r.scheme.as_deref()));
        let entry_mode = raw.entry_mode.or_else(|| {
            let channel = raw.channel.as_deref()?;
            (!channel.eq_ignore_ascii_case("card")).then(|| EntryMode::from_wire(channel))
        });
        let classified = self
            .taxonomy
            .classify(scheme, classed_as, rc, raw.rc_source, term_error);

        let fp = fingerprint(event_id);
        let mut symbols = self.symbols.write().unwrap_or_else(|p| p.into_inner());
        let terminal_id = raw.terminal_id.as_deref().or(topic.terminal());
        let terminal_id = required(terminal_id, "terminal_id")?;
        check_len(terminal_id, MAX_ID_BYTES, "terminal_id")?;
        let mut dims = DimValues::default();
        let net = raw.net.as_ref();
        let sw = raw.sw.as_ref();
        let mut bin_buf = [0u8; 10];
        let issuer = match (&raw.issuer, bin, range) {
            (Some(i), _, _) => Some(&**i),
            (None, _, Some(r)) => Some(r.issuer.as_str()),
            (None, Some(bin), None) => Some(issuer_from_bin(bin, &mut bin_buf)),
            (None, None, _) => None,
        };
        let cell = cell_text(net);
        let values: [(Dim, Option<&str>); Dim::COUNT] = [
            (Dim::Region, raw.region.as_deref()),
            (Dim::Carrier, net.and_then(|n| n.carrier.as_deref())),
            (Dim::NetType, net.and_then(|n| n.net_type.as_deref())),
            (Dim::Cell, cell.as_deref()),
            (Dim::Acquirer, raw.acquirer.as_deref()),
            (Dim::Issuer, issuer),
            (Dim::Scheme, scheme),
            (Dim::Merchant, raw.merchant_id.as_deref()),
            (Dim::Model, raw.model.as_deref()),
            (Dim::Firmware, sw.and_then(|s| s.fw.as_deref())),
            (Dim::App, sw.and_then(|s| s.app.as_deref())),
            (Dim::EntryMode, entry_mode.map(|m| m.name())),
        ];
        let known = symbols.terminals.get(terminal_id);
        let recent = known.map(|t| recent_slot(&mut self.recent, t));
        fill_dims(&mut symbols, &mut dims, &values, topic, recent, &mut drops);
        if !self.dedup.insert(fp) {
            return Err(reject(RejectReason::Duplicate, "event_id seen before"));
        }
        let terminal = symbols.terminals.intern(terminal_id);
        drop(symbols);
        if known.is_none() {
            *recent_slot(&mut self.recent, terminal) = *dims.as_array();
        }
        if classified.unknown_code {
            self.metrics.unknown_codes.inc();
        }
        self.count_dropped(drops);
        Ok(Outcome {
            event_fp: fp,
            terminal,
            ts_ms,
            arrival_ms,
            seq: raw.seq,
            status,
            class: classified.class,
            rc,
            rc_source: raw.rc_source,
            term_error,
            entry_mode,
            txn_type,
            latency_ms: raw.latency_ms,
            saf: raw.saf.unwrap_or(false),
            rssi_dbm,
            amount_minor: raw.amount_minor,
            currency,
            dims,
        })
    }

    fn heartbeat(
        &mut self,
        element: &str,
        topic: &Captures,
        arrival_ms: Option<i64>,
    ) -> Result<Heartbeat, Rejection> {
        let mut repaired = None;
        let (mut raw, mut drops): (RawHeartbeat, _) =
            parse_or_repair(element, Shape::Heartbeat, &mut repaired)?;
        raw.fold_flat();
        let ts_ms = self.timestamp(raw.ts, arrival_ms)?;
        let arrival_ms = arrival_ms.unwrap_or(ts_ms);
        let battery_pct = raw.battery_pct.and_then(|b| {
            kept(
                (b <= 100).then_some(b),
                DroppedField::BatteryPct,
                &mut drops,
            )
        });
        let rssi_dbm = rssi(raw.net.as_ref(), &mut drops);
        let mut symbols = self.symbols.write().unwrap_or_else(|p| p.into_inner());
        let terminal_id = required(
            raw.terminal_id.as_deref().or(topic.terminal()),
            "terminal_id",
        )?;
        check_len(terminal_id, MAX_ID_BYTES, "terminal_id")?;
        let net = raw.net.as_ref();
        let sw: Option<&RawSw> = raw.sw.as_ref();
        let cell = cell_text(net);
        let mut dims = DimValues::default();
        let values: [(Dim, Option<&str>); 9] = [
            (Dim::Region, raw.region.as_deref()),
            (Dim::Carrier, net.and_then(|n| n.carrier.as_deref())),
            (Dim::NetType, net.and_then(|n| n.net_type.as_deref())),
            (Dim::Cell, cell.as_deref()),
            (Dim::Acquirer, raw.acquirer.as_deref()),
            (Dim::Merchant, raw.merchant_id.as_deref()),
            (Dim::Model, raw.model.as_deref()),
            (Dim::Firmware, sw.and_then(|s| s.fw.as_deref())),
            (Dim::App, sw.and_then(|s| s.app.as_deref())),
        ];
        let known = symbols.terminals.get(terminal_id);
        let recent = known.map(|t| recent_slot(&mut self.recent, t));
        fill_dims(&mut symbols, &mut dims, &values, topic, recent, &mut drops);
        let terminal = symbols.terminals.intern(terminal_id);
        if known.is_none() {
            *recent_slot(&mut self.recent, terminal) = *dims.as_array();
        }
        drop(symbols);
        self.count_dropped(drops);
        Ok(Heartbeat {
            terminal,
            ts_ms,
            arrival_ms,
            seq: raw.seq,
            uptime_s: raw.uptime_s,
            battery_pct,
            host_reachable: raw.host_reachable,
            saf_queue_depth: raw.saf_queue_depth,
            chip_read_err: raw.chip_read_err.unwrap_or(0),
            swipe_err: raw.swipe_err.unwrap_or(0),
            ctls_err: raw.ctls_err.unwrap_or(0),
            fallback: raw.fallback.unwrap_or(0),
            tamper: raw.tamper.unwrap_or(false),
            rssi_dbm,
            dims,
        })
    }

    /// The event time of `ts`, checked against `arrival_ms` when the
    /// arrival is known (an archived line without one is taken as on time).
    fn timestamp(&self, ts: Option<RawTs>, arrival_ms: Option<i64>) -> Result<i64, Rejection> {
        let arrival_ms = match (ts, arrival_ms) {
            (Some(RawTs::Ms(ms)), None) => ms,
            (_, a) => a.unwrap_or(0),
        };
        match ts {
            None => Err(reject(RejectReason::MissingField, "ts")),
            Some(RawTs::Invalid) => Err(reject(
                RejectReason::BadTimestamp,
                "ts is not epoch ms or RFC 3339",
            )),
            Some(RawTs::Ms(ms)) if ms < arrival_ms - self.max_age_ms => Err(reject(
                RejectReason::BadTimestamp,
                "ts is older than ingest.max_event_age",
            )),
            Some(RawTs::Ms(ms)) if ms > arrival_ms + self.max_lead_ms => Err(reject(
                RejectReason::BadTimestamp,
                "ts is further ahead than ingest.max_event_lead",
            )),
            Some(RawTs::Ms(ms)) => Ok(ms),
        }
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "decode_fuzz_tests.rs"]
mod fuzz_tests;
