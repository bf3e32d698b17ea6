//! End to end: does swipewatch keep up with the broker?
//!
//! `cargo bench --bench e2e -- [--messages N] [--runs R] [--connections C] [--journal]`
//!
//! `--journal` gives swipewatch a checkpoint directory, which turns on the
//! intake journal and acknowledging QoS 1 messages only once journaled.
//!
//! `cargo bench --bench e2e -- --soak N [--connections C]` is the soak
//! instead: `swipewatch run` with a checkpoint directory (so the intake
//! journal and manual acknowledgements are on) reads N QoS 1 messages,
//! generated and published in chunks of 250,000, each drained before the
//! next; its resident memory is read after every chunk.
//!
//! Starts Mosquitto on a free loopback port, generates a simulated fleet's
//! stream (outcomes and heartbeats, 20,000 terminals, timestamps from now),
//! and for QoS 0 and 1, `runs` times each, publishes the whole stream at
//! full speed over `connections` client connections while one consumer
//! drains it:
//!
//! * (a) the reference, a raw `mosquitto_sub` writing to a file;
//! * (b) `swipewatch run` with full processing (decode, validation, dedup,
//!   engine, detection), drained when its engine has recorded every
//!   accepted event and every message is accounted for.
//!
//! Reports each drain's rate (messages per second from the first publish to
//! the last message consumed), the ratio (b)/(a) per QoS (median over
//! runs) and each consumer's CPU per 1,000 messages. Both consumers share
//! the machine with the broker and the publishers, in turns, so the ratio
//! is the comparison; the absolute rates depend on the machine.

#![allow(missing_docs)]

#[allow(dead_code)]
#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::mqtt::{now_ms, Publisher};
use support::{find_program, Mosquitto, Service};
use swipewatch_sim::{Generator, Message, Scenario};

const FLEET: &str = r#"
name = "e2e"
seed = 7
terminals = 20000
peak_txn_per_hour = 40
diurnal = false
duration = "6h"
"#;

/// Longest a drain may take before the run is abandoned.
const DRAIN_LIMIT: Duration = Duration::from_secs(300);

struct Args {
    messages: usize,
    runs: usize,
    connections: usize,
    soak: usize,
    journal: bool,
}

fn args() -> Args {
    let mut a = Args {
        messages: 500_000,
        runs: 3,
        connections: 4,
        soak: 0,
        journal: false,
    };
    let argv: Vec<String> = std::env::args().collect();
    let value = |i: usize| argv.get(i + 1).and_then(|v| v.parse().ok());
    for (i, arg) in argv.iter().enumerate() {
        match arg.as_str() {
            "--messages" => a.messages = value(i).unwrap_or(a.messages),
            "--runs" => a.runs = value(i).unwrap_or(a.runs),
            "--connections" => a.connections = value(i).unwrap_or(a.connections),
            "--soak" => a.soak = value(i).unwrap_or(a.soak),
            "--journal" => a.journal = true,
            _ => {}
        }
    }
    a
}

/// The first `n` messages of the fleet, timestamped from now.
fn stream(n: usize) -> Vec<Message> {
    let scenario = Scenario::parse(FLEET, "e2e").expect("scenario");
    let mut generator = Generator::new(&scenario, Some(now_ms() - 60_000));
    let mut out = Vec::with_capacity(n);
    let mut step = Vec::new();
    while out.len() < n && generator.step(&mut step) {
        out.append(&mut step);
    }
    out.truncate(n);
    out
}

/// Publishes every message over `connections` connections at full speed;
/// returns when all are handed to the client libraries.
fn publish(
    rt: &tokio::runtime::Runtime,
    port: u16,
    qos: u8,
    stream: &[Message],
    connections: usize,
) {
    rt.block_on(async {
        let mut tasks = Vec::new();
        for c in 0..connections {
            let part: Vec<(String, Vec<u8>)> = stream
                .iter()
                .skip(c)
                .step_by(connections)
                .map(|m| (m.topic.clone(), m.payload.clone()))
                .collect();
            let id = format!("e2e-pub-{c}-{}", now_ms());
            tasks.push(tokio::spawn(async move {
                let mut p = Publisher::connect(port, &id).with_qos(qos);
                for (topic, payload) in part {
                    p.publish(&topic, payload).await;
                }
                if qos == 1 {
                    p.flush(DRAIN_LIMIT).await;
                } else {
                    // QoS 0 has no acknowledgement: give the event loop
                    // time to write its queue before disconnecting.
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                p.close().await;
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
}

/// One drain's figures.
struct Drain {
    consumed: u64,
    seconds: f64,
    cpu_seconds: f64,
}

impl Drain {
    fn rate(&self) -> f64 {
        self.consumed as f64 / self.seconds.max(1e-9)
    }
    fn cpu_per_1000(&self) -> f64 {
        self.cpu_seconds * 1000.0 / self.consumed.max(1) as f64 * 1000.0
    }
}

/// (a): `mosquitto_sub` under `/usr/bin/time`, until it has `n` messages.
fn drain_reference(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    port: u16,
    qos: u8,
    stream: &[Message],
    connections: usize,
) -> Drain {
    let out = dir.join("sub.out");
    let times = dir.join("sub.time");
    let n = stream.len();
    let mut sub = Command::new("/usr/bin/time")
        .args(["-f", "%U %S", "-o"])
        .arg(&times)
        .arg(find_program("mosquitto_sub"))
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-t", "dt/#"])
        .args(["-q", &qos.to_string(), "-C", &n.to_string()])
        .args(["-W", &DRAIN_LIMIT.as_secs().to_string()])
        .arg("-i")
        .arg(format!("e2e-sub-{}", now_ms()))
        .stdout(std::fs::File::create(&out).expect("sub output"))
        .stderr(Stdio::null())
        .spawn()
        .expect("start mosquitto_sub");
    // Subscribed once it has had time to connect; the broker drops what is
    // published before the subscription.
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let publisher = std::thread::scope(|s| {
        let p = s.spawn(|| publish(rt, port, qos, stream, connections));
        let status = sub.wait();
        let seconds = started.elapsed().as_secs_f64();
        let _ = p.join();
        (status, seconds)
    });
    let (_, seconds) = publisher;
    let consumed = std::fs::read(&out)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count() as u64)
        .unwrap_or(0);
    let cpu_seconds = std::fs::read_to_string(&times)
        .ok()
        .and_then(|t| {
            let v: Vec<f64> = t
                .lines()
                .last()?
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            (v.len() == 2).then(|| v[0] + v[1])
        })
        .unwrap_or(f64::NAN);
    Drain {
        consumed,
        seconds,
        cpu_seconds,
    }
}

/// CPU seconds `pid` has used (user + system).
fn cpu_of(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at state.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    let ticks = f.iter().sum::<u64>() as f64;
    ticks / 100.0 // USER_HZ on Linux
}

/// (b): `swipewatch run`, until every message is counted and the engine has
/// recorded every accepted event.
fn drain_swipewatch(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    broker: &Mosquitto,
    qos: u8,
    stream: &[Message],
    connections: usize,
    journal: bool,
) -> Drain {
    let mut config = format!(
        "[mqtt]\nurl = \"{}\"\nclient_id = \"e2e-sw-{}\"\n[ingest]\nqos = {qos}\n",
        broker.url(),
        now_ms()
    );
    if journal {
        config += &format!(
            "[engine]\ncheckpoint_dir = \"{}\"\n",
            dir.join("state").display()
        );
    }
    let service = Service::start(dir, &config);
    service.wait_ready(Duration::from_secs(30));
    let pid = service.pid().expect("running");
    let n = stream.len() as f64;
    let cpu_before = cpu_of(pid);
    let started = Instant::now();
    let (seconds, consumed) = std::thread::scope(|s| {
        let p = s.spawn(|| publish(rt, broker.port(), qos, stream, connections));
        let mut consumed = 0.0;
        let mut seconds = f64::NAN;
        while started.elapsed() < DRAIN_LIMIT {
            let scrape = service.metrics();
            let sum = |name: &str| {
                ["outcome", "heartbeat"]
                    .iter()
                    .filter_map(|k| support::sample(&scrape, &format!("{name}{{kind=\"{k}\"}}")))
                    .sum::<f64>()
            };
            let messages = sum("swipewatch_ingest_messages_total");
            let accepted = sum("swipewatch_ingest_accepted_total");
            let recorded = sum("swipewatch_engine_events_total");
            consumed = messages;
            if messages >= n && recorded >= accepted {
                seconds = started.elapsed().as_secs_f64();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = p.join();
        (seconds, consumed)
    });
    let cpu_seconds = cpu_of(pid) - cpu_before;
    drop(service);
    Drain {
        consumed: consumed as u64,
        seconds,
        cpu_seconds,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Resident and peak resident memory of `pid`, MiB.
fn rss_of(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The soak (see the crate docs).
fn soak(a: &Args, rt: &tokio::runtime::Runtime) {
    const CHUNK: usize = 250_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Mosquitto::start(dir.path());
    let config = format!(
        "[mqtt]\nurl = \"{}\"\nclient_id = \"soak-sw\"\n[ingest]\nqos = 1\n\
         [engine]\ncheckpoint_dir = \"{}\"\ncheckpoint_interval = \"10s\"\n",
        broker.url(),
        dir.path().join("state").display()
    );
    let service = Service::start(dir.path(), &config);
    service.wait_ready(Duration::from_secs(30));
    let pid = service.pid().expect("running");
    let scenario = Scenario::parse(&FLEET.replace("\"6h\"", "\"48h\""), "soak").expect("scenario");
    let mut generator = Generator::new(&scenario, Some(now_ms() - 60_000));
    let (mut sent, mut step, mut chunk) = (0usize, Vec::new(), Vec::with_capacity(CHUNK));
    let started = Instant::now();
    let mut samples = Vec::new();
    println!("messages,seconds,rate_per_s,rss_mib,peak_rss_mib,journal_mib");
    while sent < a.soak {
        while chunk.len() < CHUNK.min(a.soak - sent) && generator.step(&mut step) {
            chunk.append(&mut step);
        }
        if chunk.is_empty() {
            break;
        }
        chunk.truncate(CHUNK.min(a.soak - sent));
        publish(rt, broker.port(), 1, &chunk, a.connections);
        sent += chunk.len();
        chunk.clear();
        let drained = support::wait_for(DRAIN_LIMIT, || {
            let scrape = service.metrics();
            let messages: f64 = ["outcome", "heartbeat"]
                .iter()
                .filter_map(|k| {
                    support::sample(
                        &scrape,
                        &format!("swipewatch_ingest_messages_total{{kind=\"{k}\"}}"),
                    )
                })
                .sum();
            messages >= sent as f64
        });
        assert!(drained, "not drained after {sent} messages");
        let (rss, peak) = rss_of(pid);
        let journal: u64 = std::fs::read_dir(dir.path().join("state/journal"))
            .map(|d| {
                d.filter_map(|e| e.ok()?.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{sent},{seconds:.1},{:.0},{rss:.0},{peak:.0},{:.0}",
            sent as f64 / seconds,
            journal as f64 / (1 << 20) as f64
        );
        samples.push(rss);
    }
    // The first half fills the dedup horizon (2,000,000 ids by default)
    // and the engine's state; the second half shows whether memory grows.
    let late = &samples[samples.len() / 2..];
    let (lo, hi) = late
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    println!(
        "soak: {sent} messages in {:.0}s; RSS over the second half {lo:.0}-{hi:.0} MiB, at the end {:.0} MiB",
        started.elapsed().as_secs_f64(),
        samples.last().copied().unwrap_or(f64::NAN)
    );
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if a.soak > 0 {
        soak(&a, &rt);
        return;
    }
    let stream = stream(a.messages);
    let bytes: usize = stream.iter().map(|m| m.payload.len()).sum();
    println!(
        "stream: {} messages, mean payload {} B; {} publisher connections; {} runs; intake journal {}",
        stream.len(),
        bytes / stream.len().max(1),
        a.connections,
        a.runs,
        if a.journal { "on" } else { "off" }
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Mosquitto::start(dir.path());
    for qos in [0u8, 1] {
        let mut ratios = Vec::new();
        let (mut ref_rates, mut sw_rates) = (Vec::new(), Vec::new());
        let (mut ref_cpu, mut sw_cpu) = (Vec::new(), Vec::new());
        for run in 1..=a.runs {
            let run_dir = dir.path().join(format!("q{qos}-{run}"));
            std::fs::create_dir_all(&run_dir).expect("run dir");
            let r = drain_reference(&rt, &run_dir, broker.port(), qos, &stream, a.connections);
            let s = drain_swipewatch(
                &rt,
                &run_dir,
                &broker,
                qos,
                &stream,
                a.connections,
                a.journal,
            );
            println!(
                "qos {qos} run {run}: mosquitto_sub {} msgs in {:.2}s = {:.0}/s ({:.3} ms CPU/1000); \
                 swipewatch {} msgs in {:.2}s = {:.0}/s ({:.3} ms CPU/1000); ratio {:.3}",
                r.consumed,
                r.seconds,
                r.rate(),
                r.cpu_per_1000(),
                s.consumed,
                s.seconds,
                s.rate(),
                s.cpu_per_1000(),
                s.rate() / r.rate()
            );
            ratios.push(s.rate() / r.rate());
            ref_rates.push(r.rate());
            sw_rates.push(s.rate());
            ref_cpu.push(r.cpu_per_1000());
            sw_cpu.push(s.cpu_per_1000());
        }
        println!(
            "qos {qos} median: mosquitto_sub {:.0}/s, swipewatch {:.0}/s, ratio {:.3}; \
             CPU per 1000 messages: mosquitto_sub {:.3} ms, swipewatch {:.3} ms",
            median(ref_rates),
            median(sw_rates),
            median(ratios),
            median(ref_cpu),
            median(sw_cpu)
        );
    }
}
