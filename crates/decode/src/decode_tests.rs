use super::*;
use swipewatch_model::{OutcomeClass, TxnStatus};
use swipewatch_telemetry::Metrics;

pub(super) const NOW: i64 = 1_795_000_000_000;
pub(super) const TOPIC: &str = "dt/pos/v1/north/acq-1/T-0001/txn";
const HB_TOPIC: &str = "dt/pos/v1/north/acq-1/T-0001/hb";

pub(super) struct Fixture {
    pub(super) decoder: Decoder,
    pub(super) metrics: Metrics,
    pub(super) out: Vec<Event>,
}

pub(super) fn fixture() -> Fixture {
    let metrics = Metrics::new();
    let config = IngestConfig::default();
    let decoder = Decoder::new(
        &config,
        swipewatch_config::builtin_code_tables(),
        SharedSymbols::default(),
        metrics.ingest.clone(),
    );
    Fixture {
        decoder,
        metrics,
        out: Vec::new(),
    }
}

impl Fixture {
    pub(super) fn feed(&mut self, topic: &str, payload: &str) {
        let _ = self
            .decoder
            .decode(topic, payload.as_bytes(), payload.len(), NOW, &mut self.out);
    }
    pub(super) fn rejected(&self, r: RejectReason) -> u64 {
        self.metrics.ingest.rejected(r).get()
    }
    pub(super) fn accepted(&self) -> u64 {
        self.metrics.ingest.accepted(EventKind::Outcome).get()
    }
    pub(super) fn only_outcome(&self) -> Outcome {
        match self.out.as_slice() {
            [Event::Outcome(o)] => *o,
            other => panic!("expected one outcome, got {other:?}"),
        }
    }
}

pub(super) fn outcome(id: &str) -> String {
    format!(
        r#"{{"event_id":"{id}","terminal_id":"T-0001","merchant_id":"M-17","acquirer":"acq-1","bin":"412345",
           "scheme":"visa","ts":{NOW},"seq":42,"outcome":"declined","rc":"51","rc_source":"issuer",
           "entry_mode":"chip","latency_ms":830,"saf":false,
           "net":{{"type":"4g","carrier":"vodafone","cell_id":31337,"rssi_dbm":-85}},
           "sw":{{"fw":"4.2.1","app":"7.0.3"}},"model":"A920","amount_minor":1250,"currency":"eur"}}"#
    )
}

#[test]
fn a_valid_outcome_is_accepted_with_its_dimensions() {
    let mut f = fixture();
    f.feed(TOPIC, &outcome("e-1"));
    let o = f.only_outcome();
    assert_eq!(o.status, TxnStatus::Declined);
    assert_eq!(o.class, OutcomeClass::CardholderDecline);
    assert_eq!(o.ts_ms, NOW);
    assert_eq!(o.latency_ms, Some(830));
    assert_eq!(o.currency, Some(*b"EUR"));
    let s = f.decoder.symbols().read().expect("lock");
    assert_eq!(s.terminals.resolve(o.terminal), Some("T-0001"));
    let dim = |d| s.resolve(d, o.dims.get(d));
    assert_eq!(dim(Dim::Region), Some("north"), "filled from the topic");
    assert_eq!(dim(Dim::Issuer), Some("bin:412345"), "derived from the BIN");
    assert_eq!(dim(Dim::Cell), Some("31337"));
    assert_eq!(dim(Dim::Firmware), Some("4.2.1"));
    assert_eq!(dim(Dim::EntryMode), Some("chip"));
    assert_eq!(f.accepted(), 1);
}

#[test]
fn rfc3339_timestamps_are_accepted() {
    let mut f = fixture();
    f.feed(
        TOPIC,
        r#"{"event_id":"a","ts":"2026-11-18T11:06:40.000Z","outcome":"approved"}"#,
    );
    assert_eq!(f.only_outcome().ts_ms, 1_795_000_000_000);
}

#[test]
fn a_json_array_is_counted_element_by_element() {
    let mut f = fixture();
    let payload = format!(
        "[{},{},{{\"event_id\":\"e-3\"}},7]",
        outcome("e-1"),
        outcome("e-2")
    );
    f.feed(TOPIC, &payload);
    assert_eq!(f.out.len(), 2);
    assert_eq!(f.accepted(), 2);
    assert_eq!(f.rejected(RejectReason::MissingField), 1);
    assert_eq!(f.rejected(RejectReason::MalformedJson), 1, "the bare 7");
    assert_eq!(f.metrics.ingest.messages(EventKind::Outcome).get(), 1);
}

#[test]
fn each_kind_of_bad_input_is_counted_under_its_reason() {
    let mut f = fixture();
    let cases: &[(&str, RejectReason)] = &[
        ("{\"event_id\":", RejectReason::MalformedJson),
        ("\"just a string\"", RejectReason::MalformedJson),
        (
            r#"{"terminal_id":"T","ts":1,"outcome":"approved"}"#,
            RejectReason::MissingField,
        ),
        (
            r#"{"event_id":"x1","ts":1795000000000}"#,
            RejectReason::MissingField,
        ),
        (
            r#"{"event_id":"x2","outcome":"approved"}"#,
            RejectReason::MissingField,
        ),
        (
            r#"{"event_id":"x3","ts":1795000000000,"outcome":"maybe"}"#,
            RejectReason::BadType,
        ),
        (
            r#"{"event_id":{"id":4},"ts":1795000000000,"outcome":"failed"}"#,
            RejectReason::BadType,
        ),
        (
            r#"{"event_id":"x5","terminal_id":["T"],"ts":1795000000000,"outcome":"failed"}"#,
            RejectReason::BadType,
        ),
        (
            r#"{"event_id":"x6","ts":1795000000000,"outcome":"7"}"#,
            RejectReason::BadType,
        ),
        (
            r#"{"event_id":"x8","ts":0,"outcome":"approved"}"#,
            RejectReason::BadTimestamp,
        ),
        (
            r#"{"event_id":"x9","ts":4102444800000,"outcome":"approved"}"#,
            RejectReason::BadTimestamp,
        ),
        (
            r#"{"event_id":"xa","ts":"yesterday","outcome":"approved"}"#,
            RejectReason::BadTimestamp,
        ),
        (
            r#"{"event_id":"xb","ts":1795000000000,"outcome":"approved","pan":"4111111111111111"}"#,
            RejectReason::CardNumberPresent,
        ),
    ];
    for (payload, reason) in cases {
        let before = f.rejected(*reason);
        f.feed(TOPIC, payload);
        assert_eq!(
            f.rejected(*reason),
            before + 1,
            "{payload} should be {reason}"
        );
    }
    assert!(f.out.is_empty());
    // The stream goes on.
    f.feed(TOPIC, &outcome("ok"));
    assert_eq!(f.accepted(), 1);
}

#[test]
fn a_malformed_optional_field_is_dropped_and_counted_and_the_failure_kept() {
    let mut f = fixture();
    let cases: &[(&str, &str)] = &[
        (r#""latency_ms":-5"#, "latency_ms"),
        (r#""bin":"41""#, "bin"),
        (r#""rc":"9 1""#, "rc"),
        (r#""currency":"€""#, "currency"),
        (r#""saf":"sometimes""#, "saf"),
        (r#""net":{"rssi_dbm":-300}"#, "net.rssi"),
        (r#""net":{"carrier":{"name":"cmcc"}}"#, "net.carrier"),
        (r#""sw":"4.2.1""#, "sw"),
        (r#""rc_source":"bank""#, "rc_source"),
        (r#""rc_source":3"#, "rc_source"),
        (r#""entry_mode":3"#, "entry_mode"),
    ];
    for (i, (field, label)) in cases.iter().enumerate() {
        let payload = format!(
            r#"{{"event_id":"d{i}","ts":{NOW},"outcome":"failed","term_error":"comm_lost",{field}}}"#
        );
        let dropped = swipewatch_model::DroppedField::ALL
            .into_iter()
            .find(|d| d.name() == *label)
            .expect("a field label");
        let before = f.metrics.ingest.dropped(dropped).get();
        f.out.clear();
        f.feed(TOPIC, &payload);
        let o = f.only_outcome();
        assert_eq!(o.class, OutcomeClass::Comms, "{payload}");
        assert_eq!(
            f.metrics.ingest.dropped(dropped).get(),
            before + 1,
            "{payload}"
        );
    }
    assert_eq!(f.accepted(), cases.len() as u64);
    for r in RejectReason::ALL {
        assert_eq!(f.rejected(r), 0, "{r}");
    }
}

#[test]
fn fields_in_other_shapes_are_read_as_what_they_mean() {
    let mut f = fixture();
    f.feed(
        TOPIC,
        &format!(
            r#"{{"event_id":1001,"terminal_id":88001,"ts":{NOW},"outcome":"declined","rc":5,"latency_ms":"640","amount_minor":"1250","currency":"156","saf":1,"carrier":"cmcc","rssi":20,"fw":"px3-5.2","entry_mode":"QR_CPM"}}"#
        ),
    );
    let o = f.only_outcome();
    assert_eq!(o.rc, RespCode::parse("05"));
    assert_eq!(o.latency_ms, Some(640));
    assert_eq!(o.amount_minor, Some(1250));
    assert_eq!(o.currency, Some(*b"CNY"));
    assert!(o.saf);
    assert_eq!(o.rssi_dbm, Some(-73), "CSQ 20");
    assert_eq!(o.entry_mode, Some(swipewatch_model::EntryMode::Qr));
    let symbols = f.decoder.symbols().read().expect("symbols");
    assert_eq!(symbols.terminals.resolve(o.terminal), Some("88001"));
    assert_eq!(
        symbols.resolve(Dim::Carrier, o.dims.get(Dim::Carrier)),
        Some("cmcc")
    );
    assert_eq!(
        symbols.resolve(Dim::Firmware, o.dims.get(Dim::Firmware)),
        Some("px3-5.2")
    );
}

#[test]
fn signal_readings_in_csq_and_asu_are_stored_as_dbm() {
    let mut f = fixture();
    let cases: &[(&str, Option<i16>)] = &[
        (r#"{"rssi_dbm":-85}"#, Some(-85)),
        (r#"{"rssi":31}"#, Some(-51)),
        (r#"{"rssi":0}"#, Some(-113)),
        (r#"{"rssi":99}"#, None),
        (r#"{"rssi":60}"#, Some(-80)),
        (r#"{"rssi":15,"rssi_unit":"asu"}"#, Some(-83)),
        (r#"{"rssi":-70,"rssi_unit":"dBm"}"#, Some(-70)),
        (r#"{"rssi":-70,"rssi_unit":"csq"}"#, None),
    ];
    for (i, (net, dbm)) in cases.iter().enumerate() {
        f.out.clear();
        f.feed(
            TOPIC,
            &format!(r#"{{"event_id":"s{i}","ts":{NOW},"outcome":"approved","net":{net}}}"#),
        );
        assert_eq!(f.only_outcome().rssi_dbm, *dbm, "{net}");
    }
    assert_eq!(
        f.metrics
            .ingest
            .dropped(swipewatch_model::DroppedField::Rssi)
            .get(),
        2
    );
}

#[test]
fn pending_and_reversed_outcomes_are_not_attempts() {
    let mut f = fixture();
    for (i, status) in ["pending", "reversed"].iter().enumerate() {
        f.out.clear();
        f.feed(
            TOPIC,
            &format!(r#"{{"event_id":"p{i}","ts":{NOW},"outcome":"{status}","rc":"USERPAYING"}}"#),
        );
        assert!(!f.only_outcome().class.is_attempt(), "{status}");
    }
}

#[test]
fn the_bin_table_names_issuer_and_scheme_an_outcome_leaves_out() {
    let mut f = fixture();
    let table = swipewatch_model::BinTable::parse(
        "low,high,issuer,scheme\n622126,622925,icbc,unionpay\n41234560,41234569,northbank,visa\n",
    )
    .expect("table");
    f.decoder.bins().store(table);
    let feed = |f: &mut Fixture, id: &str, extra: &str| {
        f.out.clear();
        f.feed(
            TOPIC,
            &format!(r#"{{"event_id":"{id}","ts":{NOW},"outcome":"declined","rc":"98",{extra}}}"#),
        );
        let o = f.only_outcome();
        let symbols = f.decoder.symbols().read().expect("symbols");
        let text = |d: Dim| symbols.resolve(d, o.dims.get(d)).map(str::to_string);
        (text(Dim::Issuer), text(Dim::Scheme), o.class)
    };
    let (issuer, scheme, class) = feed(&mut f, "b1", r#""bin":"62220012""#);
    assert_eq!(
        (issuer.as_deref(), scheme.as_deref()),
        (Some("icbc"), Some("unionpay"))
    );
    assert_eq!(
        class,
        OutcomeClass::IssuerUnavailable,
        "98 read with the UnionPay table"
    );
    let (issuer, scheme, _) = feed(&mut f, "b2", r#""bin":"41234563","scheme":"visa-debit""#);
    assert_eq!(
        (issuer.as_deref(), scheme.as_deref()),
        (Some("northbank"), Some("visa-debit"))
    );
    let (issuer, _, _) = feed(&mut f, "b3", r#""bin":"41234563","issuer":"sent""#);
    assert_eq!(issuer.as_deref(), Some("sent"), "an issuer sent wins");
    let (issuer, scheme, _) = feed(&mut f, "b4", r#""bin":"511111""#);
    assert_eq!(
        (issuer.as_deref(), scheme),
        (Some("bin:511111"), None),
        "not in the table"
    );
}

#[test]
fn wallet_and_channel_fill_scheme_and_entry_mode() {
    let mut f = fixture();
    f.feed(
        TOPIC,
        &format!(r#"{{"event_id":"w1","ts":{NOW},"outcome":"failed","rc":"SYSTEMERROR","wallet":"WeChatPay","channel":"qr"}}"#),
    );
    let o = f.only_outcome();
    assert_eq!(o.entry_mode, Some(swipewatch_model::EntryMode::Qr));
    assert_eq!(o.rc.map(|c| c.to_string()).as_deref(), Some("SYSTEMERROR"));
    let symbols = f.decoder.symbols().read().expect("symbols");
    assert_eq!(
        symbols.resolve(Dim::Scheme, o.dims.get(Dim::Scheme)),
        Some("wechatpay")
    );
    assert_eq!(
        symbols.resolve(Dim::EntryMode, o.dims.get(Dim::EntryMode)),
        Some("qr")
    );
}

#[test]
fn voids_and_reversals_are_not_attempts_whatever_their_status() {
    let mut f = fixture();
    let cases = [
        ("void", "approved", false),
        ("REVERSAL", "declined", false),
        ("refund", "declined", true),
        ("sign_on", "failed", true),
    ];
    for (i, (kind, status, attempt)) in cases.iter().enumerate() {
        f.out.clear();
        f.feed(
            TOPIC,
            &format!(r#"{{"event_id":"v{i}","ts":{NOW},"outcome":"{status}","rc":"96","txn_type":"{kind}"}}"#),
        );
        let o = f.only_outcome();
        assert_eq!(o.class.is_attempt(), *attempt, "{kind}");
        assert_eq!(o.status.name(), *status, "the reported status is kept");
    }
}

#[test]
fn oversized_payloads_and_arrays_are_too_large() {
    let mut f = fixture();
    let _ = f
        .decoder
        .decode(TOPIC, b"", 10 * 1024 * 1024, NOW, &mut f.out);
    let many = format!("[{}]", vec![r#"{"event_id":"x"}"#; 1001].join(","));
    f.feed(TOPIC, &many);
    assert_eq!(f.rejected(RejectReason::TooLarge), 2);
    assert_eq!(
        f.rejected(RejectReason::MissingField),
        0,
        "elements of a refused array are not looked at"
    );
}

#[test]
fn invalid_utf8_is_malformed() {
    let mut f = fixture();
    let bytes = b"{\"event_id\":\"\xff\xfe\",\"ts\":1,\"outcome\":\"approved\"}";
    let _ = f.decoder.decode(TOPIC, bytes, bytes.len(), NOW, &mut f.out);
    assert_eq!(f.rejected(RejectReason::MalformedJson), 1);
}

#[test]
fn a_redelivered_event_id_is_counted_once() {
    let mut f = fixture();
    f.feed(TOPIC, &outcome("e-1"));
    f.feed(TOPIC, &outcome("e-1"));
    assert_eq!(f.accepted(), 1);
    assert_eq!(f.rejected(RejectReason::Duplicate), 1);
}

#[test]
fn a_rejected_message_does_not_poison_dedup() {
    let mut f = fixture();
    f.feed(
        TOPIC,
        r#"{"event_id":"e-9","ts":"never","outcome":"approved"}"#,
    );
    f.feed(TOPIC, &outcome("e-9"));
    assert_eq!(f.accepted(), 1);
}

#[test]
fn unknown_codes_are_accepted_as_unknown_and_counted() {
    let mut f = fixture();
    f.feed(
        TOPIC,
        r#"{"event_id":"u1","ts":1795000000000,"outcome":"declined","rc":"Q7"}"#,
    );
    f.feed(
        TOPIC,
        r#"{"event_id":"u2","ts":1795000000000,"outcome":"failed","term_error":"printer_on_fire"}"#,
    );
    assert_eq!(f.accepted(), 2);
    assert_eq!(f.metrics.ingest.unknown_codes.get(), 2);
    assert!(f
        .out
        .iter()
        .all(|e| matches!(e, Event::Outcome(o) if o.class == OutcomeClass::Unknown)));
}

#[test]
fn unionpay_codes_use_the_unionpay_table() {
    let mut f = fixture();
    f.feed(TOPIC, r#"{"event_id":"c1","ts":1795000000000,"outcome":"declined","scheme":"unionpay","rc":"98"}"#);
    assert_eq!(f.only_outcome().class, OutcomeClass::IssuerUnavailable);
}

#[test]
fn a_card_number_in_the_topic_is_rejected() {
    let mut f = fixture();
    f.feed("dt/pos/v1/north/acq-1/4111111111111111/txn", &outcome("p1"));
    assert_eq!(f.rejected(RejectReason::CardNumberPresent), 1);
    let s = f.decoder.symbols().read().expect("lock");
    assert!(
        s.terminals.get("4111111111111111").is_none(),
        "never interned"
    );
}

#[test]
fn heartbeats_decode_with_topic_terminal() {
    let mut f = fixture();
    f.feed(HB_TOPIC, r#"{"ts":1795000000000,"uptime_s":3600,"battery_pct":80,"host_reachable":true,"chip_read_err":3,"net":{"carrier":"orange"}}"#);
    f.feed(HB_TOPIC, r#"{"ts":1795000000000,"battery_pct":180}"#);
    assert_eq!(f.metrics.ingest.accepted(EventKind::Heartbeat).get(), 2);
    assert_eq!(
        f.metrics
            .ingest
            .dropped(swipewatch_model::DroppedField::BatteryPct)
            .get(),
        1,
        "a battery reading above 100 is dropped, the heartbeat kept"
    );
    match f.out.as_slice() {
        [Event::Heartbeat(h), Event::Heartbeat(bad)] => {
            assert_eq!((h.chip_read_err, h.host_reachable), (3, Some(true)));
            assert_eq!(bad.battery_pct, None);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_terminal_s_changed_values_are_interned_and_its_repeated_ones_reused() {
    let mut f = fixture();
    let values = |f: &Fixture, o: &Outcome| {
        let s = f.decoder.symbols().read().expect("lock");
        [Dim::Firmware, Dim::Carrier, Dim::Merchant, Dim::Region]
            .map(|d| s.resolve(d, o.dims.get(d)).unwrap_or("-").to_string())
    };
    f.feed(TOPIC, &outcome("e-1"));
    let first = f.only_outcome();
    f.out.clear();
    f.feed(TOPIC, &outcome("e-2"));
    let again = f.only_outcome();
    assert_eq!(again.dims, first.dims, "the same values, the same symbols");
    f.out.clear();
    // A firmware upgrade and a roaming change on the same terminal.
    let changed = outcome("e-3")
        .replace("\"4.2.1\"", "\"4.3.0\"")
        .replace("vodafone", "orange");
    f.feed(TOPIC, &changed);
    let after = f.only_outcome();
    assert_eq!(values(&f, &after), ["4.3.0", "orange", "M-17", "north"]);
    assert_eq!(after.dims.get(Dim::Merchant), first.dims.get(Dim::Merchant));
    f.out.clear();
    // Another terminal with the first one's old values gets their symbols.
    let other = outcome("e-4").replace("T-0001", "T-0002");
    f.feed("dt/pos/v1/north/acq-1/T-0002/txn", &other);
    let o = f.only_outcome();
    assert_eq!(o.dims.get(Dim::Firmware), first.dims.get(Dim::Firmware));
    assert_eq!(values(&f, &o), ["4.2.1", "vodafone", "M-17", "north"]);
    f.out.clear();
    f.feed(TOPIC, &outcome("e-5"));
    assert_eq!(f.only_outcome().dims, first.dims, "and back again");
}

#[test]
fn deep_nesting_and_non_numbers_are_rejected_and_unknown_fields_are_ignored() {
    let mut f = fixture();
    // Past the parser's depth limit: not accepted as JSON.
    f.feed(
        TOPIC,
        &format!("{}{}", "[".repeat(20_000), "]".repeat(20_000)),
    );
    assert_eq!(f.rejected(RejectReason::MalformedJson), 1);
    // An object nested as deep as the payload limit allows under an
    // unknown key is skipped; the object around it still lacks every
    // required field.
    let deep = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
    assert!(deep.len() < IngestConfig::default().max_payload_bytes);
    f.feed(TOPIC, &deep);
    assert_eq!(f.rejected(RejectReason::MissingField), 1);
    for payload in [
        r#"{"event_id":"n1","ts":1795000000000,"outcome":"failed","latency_ms":NaN}"#,
        r#"{"event_id":"n2","ts":1795000000000,"outcome":"failed","latency_ms":Infinity}"#,
    ] {
        f.feed(TOPIC, payload);
    }
    assert_eq!(f.rejected(RejectReason::MalformedJson), 3);
    f.feed(
        TOPIC,
        &outcome("u1").replacen('{', r#"{"vendor":{"x":[1,2,{"y":null}]},"extra":true,"#, 1),
    );
    assert_eq!(f.accepted(), 1);
    assert_eq!(f.out.len(), 1);
}

#[test]
fn only_a_message_carrying_a_card_number_may_not_be_kept_on_disk() {
    let mut f = fixture();
    let keep = |f: &mut Fixture, payload: &str| {
        f.decoder
            .decode(TOPIC, payload.as_bytes(), payload.len(), NOW, &mut f.out)
            == Retention::Journal
    };
    assert!(keep(&mut f, &outcome("k1")));
    assert!(keep(&mut f, "{ not json"));
    assert!(keep(&mut f, &outcome("k1")), "a duplicate");
    let pan = outcome("k2").replacen('{', r#"{"pan":"4111111111111111","#, 1);
    assert!(!keep(&mut f, &pan));
    let in_array = format!(
        "[{},{}]",
        outcome("k3"),
        outcome("k4").replace("M-17", "4111 1111 1111 1111")
    );
    assert!(!keep(&mut f, &in_array));
}
