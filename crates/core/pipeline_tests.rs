use super::*;
use std::sync::{Arc, Mutex};
use swipewatch_config::EngineConfig;
use swipewatch_engine::{Engine, Settings};
use swipewatch_ingest::SharedSymbols;
use swipewatch_model::{Dim, DimValues, Event, Outcome, OutcomeClass, Sym};
use swipewatch_telemetry::Metrics;

const T0: i64 = 1_795_000_000_000;

fn outcome(ts_ms: i64, arrival_ms: i64) -> Event {
    let mut dims = DimValues::default();
    dims.set(Dim::Carrier, Sym(0));
    Event::Outcome(Outcome {
        arrival_ms,
        ..Outcome::new(Sym(1), ts_ms, OutcomeClass::Approved, dims)
    })
}

/// (bucket start, data gap, outcomes) of each closed bucket.
type Seen = Arc<Mutex<Vec<(i64, bool, u64)>>>;

struct Harness {
    batches: mpsc::Sender<Batch>,
    ready: watch::Sender<bool>,
    stop: watch::Sender<bool>,
    seen: Seen,
    metrics: Metrics,
    clock: Clock,
    task: tokio::task::JoinHandle<Driver>,
}

fn start(connected: bool) -> Harness {
    let metrics = Metrics::new();
    let clock = Clock::starting_at(T0);
    let engine = Engine::new(Settings::from(&EngineConfig::default()));
    let monitor = Monitor::new(engine, SharedSymbols::default());
    let mut driver = Driver::new(monitor, metrics.clone(), clock, DriverOptions::default());
    let (batches, mut rx) = mpsc::channel(8);
    let (ready, ready_rx) = watch::channel(connected);
    let (stop, stop_rx) = watch::channel(false);
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    let task = tokio::spawn(async move {
        driver
            .run(&mut rx, ready_rx, stop_rx, |s| {
                let b = &s.bucket;
                sink.lock()
                    .expect("lock")
                    .push((b.start_ms, b.data_gap, b.fleet.total()));
            })
            .await;
        driver
    });
    Harness {
        batches,
        ready,
        stop,
        seen,
        metrics,
        clock,
        task,
    }
}

impl Harness {
    async fn send(&self, events: Vec<Event>) {
        self.batches
            .send(Batch {
                events,
                position: 0,
            })
            .await
            .expect("driver alive");
    }
    fn seen(&self) -> Vec<(i64, bool, u64)> {
        self.seen.lock().expect("lock").clone()
    }
    async fn finish(self) -> Driver {
        let _ = self.stop.send(true);
        self.task.await.expect("driver task")
    }
}

#[tokio::test(start_paused = true)]
async fn idle_input_while_connected_closes_buckets_by_processing_time() {
    let h = start(true);
    h.send(vec![outcome(T0, T0)]).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(h.seen().is_empty(), "nothing is due 5 s in");
    tokio::time::sleep(Duration::from_secs(70)).await;
    let seen = h.seen();
    assert!(seen.len() >= 4, "silence closed buckets: {seen:?}");
    assert_eq!(seen[0], (T0, false, 1));
    assert!(seen[1..].iter().all(|s| s.2 == 0 && !s.1));
    let lag = h.metrics.engine.watermark_lag_seconds.get();
    assert!(
        (30.0..32.0).contains(&lag),
        "watermark trails processing time by the lateness: {lag}"
    );
    h.finish().await;
}

#[tokio::test(start_paused = true)]
async fn a_disconnection_is_a_data_gap_not_silence() {
    let h = start(true);
    h.send(vec![outcome(T0, T0)]).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    h.ready.send_replace(false);
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert!(
        h.seen().is_empty(),
        "no bucket closes while the broker is away"
    );
    h.ready.send_replace(true);
    // The broker redelivers what was queued during the outage.
    let now = h.clock.now_ms();
    h.send(vec![outcome(T0 + 30_000, now), outcome(T0 + 90_000, now)])
        .await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    let seen = h.seen();
    let in_outage: Vec<_> = seen.iter().filter(|s| s.0 < T0 + 120_000).collect();
    assert!(!in_outage.is_empty());
    assert!(
        in_outage.iter().all(|s| s.1),
        "buckets of the outage are data gaps: {seen:?}"
    );
    assert_eq!(
        seen.iter().map(|s| s.2).sum::<u64>(),
        3,
        "the backlog was counted, not dropped"
    );
    assert_eq!(h.metrics.engine.late_events.get(), 0);
    assert!(h.metrics.engine.data_gap_buckets.get() >= 12);
    h.finish().await;
}

#[tokio::test(start_paused = true)]
async fn an_event_for_a_closed_bucket_is_counted_late() {
    let h = start(true);
    h.send(vec![outcome(T0, T0)]).await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(!h.seen().is_empty());
    let now = h.clock.now_ms();
    h.send(vec![outcome(T0 + 1_000, now)]).await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(h.metrics.engine.late_events.get(), 1);
    assert_eq!(
        h.seen()[0],
        (T0, false, 1),
        "the closed bucket kept its count"
    );
    let driver = h.finish().await;
    assert_eq!(driver.monitor().engine().late_tally().1.total(), 1);
}
