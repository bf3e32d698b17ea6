//! Decode + validate throughput on realistic ~300-byte outcomes.
//!
//! `cargo bench --bench decode`. Compares the full decoder (card-number scan,
//! JSON parse, validation, classification, interning, dedup) against its
//! parts, so a regression can be located.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use swipewatch_config::{builtin_code_tables, IngestConfig};
use swipewatch_ingest::{Decoder, SharedSymbols};
use swipewatch_model::pan;
use swipewatch_telemetry::Metrics;

const NOW: i64 = 1_795_000_000_000;
const TOPIC: &str = "dt/pos/v1/north/acq-1/T-0001/txn";
/// Distinct outcomes cycled through (a realistic spread of terminals and values).
const MESSAGES: usize = 100_000;

/// Outcomes of a 20,000-terminal fleet. `full` carries every optional field
/// (~420 bytes); otherwise the common subset a terminal sends (~300 bytes).
fn make_payloads(id_prefix: &str, full: bool) -> Vec<Vec<u8>> {
    let carriers = ["vodafone", "orange", "tmobile", "telia", "o2"];
    let codes = ["00", "00", "00", "00", "51", "05", "91", "00", "55", "00"];
    (0..MESSAGES)
        .map(|i| {
            let rc = codes[i % 10];
            let status = if rc == "00" { "approved" } else { "declined" };
            let common = format!(
                r#""event_id":"{id_prefix}7f3c9a1e-{i:08x}","terminal_id":"T-{t:06}","merchant_id":"M-{m:05}","acquirer":"acq-{a}","bin":"4{b:05}","scheme":"visa","ts":{ts},"outcome":"{status}","rc":"{rc}","entry_mode":"contactless","latency_ms":{lat}"#,
                t = i % 20_000,
                m = i % 5_000,
                a = i % 4,
                b = i % 300,
                ts = NOW - 1000 + (i as i64 % 1000),
                lat = 300 + i % 900,
            );
            let c = carriers[i % 5];
            let fw = i % 3;
            let text = if full {
                format!(
                    r#"{{{common},"seq":{i},"rc_source":"issuer","net":{{"type":"4g","carrier":"{c}","cell_id":"{cell}","rssi_dbm":-81}},"sw":{{"fw":"4.2.{fw}","app":"7.0.3"}},"model":"A920","amount_minor":{amt},"currency":"EUR"}}"#,
                    cell = i % 700,
                    amt = 100 + i % 20_000,
                )
            } else {
                format!(r#"{{{common},"net":{{"type":"4g","carrier":"{c}"}},"sw":{{"fw":"4.2.{fw}"}},"model":"A920"}}"#)
            };
            text.into_bytes()
        })
        .collect()
}

fn decode(c: &mut Criterion) {
    for full in [false, true] {
        decode_group(c, full);
    }
}

fn decode_group(c: &mut Criterion, full: bool) {
    let payloads = make_payloads("", full);
    // Same fleet, other event ids: warms the interners as in steady state.
    let warmup = make_payloads("w", full);
    let mean = payloads.iter().map(Vec::len).sum::<usize>() / payloads.len();
    let mut g = c.benchmark_group(format!("decode_{mean}B_outcome"));
    g.throughput(Throughput::Elements(payloads.len() as u64));
    g.sample_size(20);

    g.bench_function("full_decoder", |b| {
        b.iter_batched(
            || {
                let metrics = Metrics::new();
                let mut d = Decoder::new(
                    &IngestConfig::default(),
                    builtin_code_tables(),
                    SharedSymbols::default(),
                    metrics.ingest,
                );
                let mut out = Vec::with_capacity(payloads.len());
                for p in &warmup {
                    let _ = std::hint::black_box(d.decode(TOPIC, p, p.len(), NOW, &mut out));
                }
                out.clear();
                (d, out)
            },
            |(mut d, mut out)| {
                for p in &payloads {
                    let _ = std::hint::black_box(d.decode(TOPIC, p, p.len(), NOW, &mut out));
                }
                assert_eq!(out.len(), payloads.len());
                out
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("card_number_scan_only", |b| {
        b.iter(|| {
            payloads
                .iter()
                .filter(|p| pan::contains_card_number(p))
                .count()
        })
    });
    g.bench_function("serde_json_syntax_scan_only", |b| {
        b.iter(|| {
            payloads
                .iter()
                .filter(|p| serde_json::from_slice::<serde::de::IgnoredAny>(p).is_ok())
                .count()
        })
    });
    g.bench_function("sonic_rs_syntax_scan_only", |b| {
        b.iter(|| {
            payloads
                .iter()
                .filter(|p| sonic_rs::from_slice::<serde::de::IgnoredAny>(p).is_ok())
                .count()
        })
    });
    g.bench_function("serde_json_value_parse_only", |b| {
        b.iter(|| {
            payloads
                .iter()
                .filter(|p| serde_json::from_slice::<serde_json::Value>(p).is_ok())
                .count()
        })
    });
    g.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
