//! The fleet inventory at 1,000,000 terminals: loading it, and the
//! missing-terminal scan that runs after every window.
//!
//! `cargo bench --bench inventory [-- --terminals N --runs R]` (defaults
//! 1,000,000 and 5). Writes an inventory CSV to a temporary file, then per
//! run: reads, parses and interns it (the service's start and SIGHUP), and
//! as the reference in the same run reads the file and splits every line
//! into its cells. With an engine that has heard one heartbeat from every
//! terminal, times one scan of the terminals expected now (building the
//! list and testing it for missing terminals and places), against
//! recording those heartbeats. Prints medians and ratios.

#![allow(missing_docs)]

use std::time::Instant;
use swipewatch_config::EngineConfig;
use swipewatch_diagnose::missing::{missing, MissingParams};
use swipewatch_engine::{Engine, Settings};
use swipewatch_ingest::SharedSymbols;
use swipewatch_model::{DimValues, Event, Heartbeat, Inventory};
use swipewatch_monitor::FleetInventory;

#[allow(dead_code)] // the fleet generator is the engine benches'
mod fleet;
use fleet::arg;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let n = arg("--terminals").unwrap_or(1_000_000);
    let runs = arg("--runs").unwrap_or(5).max(1);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("inventory.csv");
    let mut csv = String::from("terminal_id,merchant,model,region,acquirer,carrier,hours,tz\n");
    for i in 0..n {
        let hours = if i % 3 == 0 { "24h" } else { "08:00-22:00" };
        csv.push_str(&format!(
            "pos-{i:07},m-{:06},model-{},region-{},acq-{},carrier-{},{hours},+08:00\n",
            i / 4,
            i % 7,
            i % 31,
            i % 5,
            i % 4
        ));
    }
    std::fs::write(&path, &csv).expect("write inventory");
    drop(csv);
    let (mut load, mut split, mut parse) = (Vec::new(), Vec::new(), Vec::new());
    let mut kept = None;
    for _ in 0..runs {
        let t = Instant::now();
        let text = std::fs::read_to_string(&path).expect("read");
        let cells: usize = text.lines().map(|l| l.split(',').count()).sum();
        std::hint::black_box(cells);
        split.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let symbols = SharedSymbols::default();
        let text = std::fs::read_to_string(&path).expect("read");
        let inventory = Inventory::parse(&text).expect("valid");
        let parsed = t.elapsed().as_secs_f64();
        let fleet = FleetInventory::new(&inventory, &symbols);
        load.push(t.elapsed().as_secs_f64());
        parse.push(parsed);
        kept = Some((symbols, fleet));
    }
    let (symbols, fleet) = kept.expect("one run");
    let (load, split, parse) = (median(load), median(split), median(parse));
    println!(
        "load {n} terminals: {:.3} s (read and parse {:.3} s, then intern); reference read and split {:.3} s; ratio {:.1}",
        load,
        parse,
        split,
        load / split
    );

    // 02:00 UTC is 10:00 at +08:00: every terminal's shop is open.
    let now = 1_795_000_000_000 - 1_795_000_000_000 % 86_400_000 + 2 * 3_600_000;
    let mut engine = Engine::new(Settings::from(&EngineConfig::default()));
    let beats: Vec<Event> = {
        let table = symbols.read().unwrap_or_else(|p| p.into_inner());
        (0..n)
            .filter_map(|i| table.terminals.get(&format!("pos-{i:07}")))
            .enumerate()
            // One in a thousand never heard from.
            .filter(|(k, _)| k % 1000 != 7)
            .map(|(k, t)| {
                let ts = now - 15 * 60_000 + (k % 600_000) as i64;
                Event::Heartbeat(Heartbeat::new(t, ts, DimValues::default()))
            })
            .collect()
    };
    let t = Instant::now();
    for e in &beats {
        engine.record(e);
    }
    let record = t.elapsed().as_secs_f64();
    let p = MissingParams::default();
    let mut scans = Vec::new();
    let mut found = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let expected = fleet.expected(&engine, now, p.after_ms);
        found = missing(&expected, now, now - 3_600_000, &p).len();
        scans.push(t.elapsed().as_secs_f64());
    }
    let scan = median(scans);
    println!(
        "missing scan of {n} terminals: {:.1} ms per window ({found} findings); recording one heartbeat from each {:.1} ms; ratio {:.2}",
        scan * 1000.0,
        record * 1000.0,
        scan / record
    );
}
