//! Outcomes published to a real Mosquitto are decoded, validated and counted.

use crate::support::mqtt::{now_ms, outcome, runtime, Publisher};
use crate::support::{wait_for, Mosquitto, Service};
use std::time::Duration;

const ACCEPTED: &str = r#"swipewatch_ingest_accepted_total{kind="outcome"}"#;

fn rejected(reason: &str) -> String {
    format!(r#"swipewatch_ingest_rejected_total{{reason="{reason}"}}"#)
}

fn service_config(broker: &Mosquitto, client_id: &str) -> String {
    format!(
        "[mqtt]\nurl = \"{}\"\nclient_id = \"{client_id}\"\nkeep_alive = \"5s\"\n\
         reconnect_initial = \"100ms\"\nreconnect_max = \"1s\"\n",
        broker.url()
    )
}

fn topic(i: usize) -> String {
    format!("dt/pos/v1/north/acq-1/T-{:04}/txn", i % 200)
}

#[test]
fn hostile_messages_among_valid_ones_are_counted_by_reason_and_every_valid_one_is_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Mosquitto::start(dir.path());
    let svc = Service::start(dir.path(), &service_config(&broker, "sw-count"));
    svc.wait_ready(Duration::from_secs(20));
    let rt = runtime();
    let ts = now_ms();

    let bad: Vec<(&str, Vec<Vec<u8>>)> = vec![
        (
            "malformed_json",
            vec![
                b"{".to_vec(),
                b"not json at all".to_vec(),
                b"\xff\xfe{}".to_vec(),
                format!("{}{}", "[".repeat(20_000), "]".repeat(20_000)).into(),
                format!(r#"{{"event_id":"nan-1","ts":{ts},"outcome":"failed","latency_ms":NaN}}"#).into(),
            ],
        ),
        (
            "missing_field",
            vec![
                format!(r#"{{"terminal_id":"T-1","ts":{ts},"outcome":"approved"}}"#).into(),
                format!(r#"{{"event_id":"mf-2","ts":{ts}}}"#).into(),
                r#"{"event_id":"mf-3","outcome":"approved"}"#.into(),
            ],
        ),
        (
            "bad_type",
            vec![
                format!(r#"{{"event_id":"bt-1","ts":{ts},"outcome":"failed","terminal_id":["T-1"]}}"#).into(),
                format!(r#"{{"event_id":"bt-2","ts":{ts},"outcome":"maybe"}}"#).into(),
                format!(r#"{{"event_id":{{"id":3}},"ts":{ts},"outcome":"failed"}}"#).into(),
            ],
        ),
        (
            "too_large",
            vec![
                format!(r#"{{"event_id":"tl-1","ts":{ts},"outcome":"approved","pad":"{}"}}"#, "x".repeat(70_000)).into(),
                format!("[{}]", vec!["{}"; 1001].join(",")).into(),
                // 10 MB: over the payload limit, under the MQTT packet limit.
                vec![b' '; 10 << 20],
            ],
        ),
        (
            "bad_timestamp",
            vec![
                r#"{"event_id":"ts-1","ts":0,"outcome":"approved"}"#.into(),
                r#"{"event_id":"ts-2","ts":"tomorrow","outcome":"approved"}"#.into(),
                r#"{"event_id":"ts-3","ts":4102444800000,"outcome":"approved"}"#.into(),
                r#"{"event_id":"ts-4","ts":-1795000000000,"outcome":"approved"}"#.into(),
            ],
        ),
        (
            "card_number_present",
            vec![
                format!(r#"{{"event_id":"cn-1","ts":{ts},"outcome":"approved","pan":"4111111111111111"}}"#).into(),
                format!(r#"{{"event_id":"cn-2","ts":{ts},"outcome":"approved","note":"5555 5555 5555 4444"}}"#).into(),
            ],
        ),
        ("duplicate", (0..5).map(|i| outcome(&format!("e-{i}"), "T-0000", "00", ts).into_bytes()).collect()),
    ];

    // Outcomes with a malformed optional field: the field is dropped and
    // counted, the outcome kept.
    let dropped: Vec<(&str, Vec<u8>)> = vec![
        (
            "latency_ms",
            format!(r#"{{"event_id":"df-1","ts":{ts},"outcome":"failed","latency_ms":"fast"}}"#)
                .into(),
        ),
        (
            "bin",
            format!(r#"{{"event_id":"df-2","ts":{ts},"outcome":"failed","bin":"12"}}"#).into(),
        ),
        (
            "latency_ms",
            format!(r#"{{"event_id":"df-3","ts":{ts},"outcome":"failed","latency_ms":-40}}"#)
                .into(),
        ),
        (
            "net",
            format!(r#"{{"event_id":"df-4","ts":{ts},"outcome":"approved","net":[1,2,3]}}"#).into(),
        ),
    ];

    rt.block_on(async {
        let mut p = Publisher::connect(broker.port(), "pub-count");
        for (_, payload) in &dropped {
            p.publish(&topic(1), payload.clone()).await;
        }
        // Hostile messages go in between the valid ones, one every 150.
        let mut hostile = bad.iter().flat_map(|(_, payloads)| payloads);
        // 6,000 single outcomes, the first four with a code no table knows,
        // every seventh with fields the schema does not name.
        for i in 0..6000 {
            let rc = if i < 4 {
                "Q7"
            } else if i % 10 == 0 {
                "51"
            } else {
                "00"
            };
            let mut payload = outcome(&format!("e-{i}"), &format!("T-{:04}", i % 200), rc, ts);
            if i % 7 == 0 {
                payload =
                    payload.replacen('{', r#"{"vendor":{"ext":[1,{"k":null}]},"x_flag":true,"#, 1);
            }
            p.publish(&topic(i), payload).await;
            if i % 150 == 149 {
                if let Some(h) = hostile.next() {
                    p.publish(&topic(0), h.clone()).await;
                }
            }
        }
        // 4,000 more in 80 arrays of 50.
        for b in 0..80 {
            let items: Vec<String> = (0..50)
                .map(|j| {
                    let i = 6000 + b * 50 + j;
                    outcome(&format!("e-{i}"), &format!("T-{:04}", i % 200), "00", ts)
                })
                .collect();
            p.publish(&topic(b), format!("[{}]", items.join(","))).await;
        }
        for h in hostile {
            p.publish(&topic(0), h.clone()).await;
        }
        assert!(
            p.flush(Duration::from_secs(60)).await,
            "broker did not acknowledge every publish"
        );
        p.close().await;
    });

    let total_bad: usize = bad.iter().map(|(_, p)| p.len()).sum();
    let done = wait_for(Duration::from_secs(60), || {
        let m = svc.metrics();
        let rejected_sum: f64 = bad
            .iter()
            .map(|(r, _)| crate::support::sample(&m, &rejected(r)).unwrap_or(0.0))
            .sum();
        crate::support::sample(&m, ACCEPTED) == Some(10_004.0) && rejected_sum == total_bad as f64
    });
    assert!(done, "counts did not settle:\n{}", svc.metrics());
    // Nothing more trickles in.
    std::thread::sleep(Duration::from_millis(500));
    let m = svc.metrics();
    assert_eq!(crate::support::sample(&m, ACCEPTED), Some(10_004.0));
    for field in ["latency_ms", "bin", "net"] {
        let want = dropped.iter().filter(|(f, _)| *f == field).count();
        assert_eq!(
            crate::support::sample(
                &m,
                &format!(r#"swipewatch_ingest_fields_dropped_total{{field="{field}"}}"#)
            ),
            Some(want as f64),
            "dropped {field}"
        );
    }
    for (reason, payloads) in &bad {
        assert_eq!(
            crate::support::sample(&m, &rejected(reason)),
            Some(payloads.len() as f64),
            "reason {reason}"
        );
    }
    assert_eq!(
        crate::support::sample(&m, "swipewatch_ingest_unknown_codes_total"),
        Some(4.0)
    );
    assert_eq!(
        crate::support::sample(&m, r#"swipewatch_ingest_messages_total{kind="outcome"}"#),
        Some((6000 + 80 + total_bad + dropped.len()) as f64)
    );
    assert_eq!(
        crate::support::sample(&m, "swipewatch_mqtt_connected"),
        Some(1.0)
    );
    // Every accepted outcome reached the window engine: 200 distinct terminals.
    let engine_fed = wait_for(Duration::from_secs(10), || {
        svc.sample("swipewatch_engine_tracked_terminals") == 200.0
    });
    assert!(
        engine_fed,
        "engine did not see the fleet:\n{}",
        svc.metrics()
    );
    let log = svc.log_text();
    assert!(
        !log.contains("4111111111111111") && !log.contains("5555 5555 5555 4444"),
        "a card number reached the log"
    );
    assert!(!m.contains("4111111111111111"));
}

#[test]
fn broker_restart_mid_stream_loses_no_outcome_and_counts_none_twice() {
    const N: usize = 6000;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut broker = Mosquitto::start(dir.path());
    let mut svc = Service::start(dir.path(), &service_config(&broker, "sw-restart"));
    svc.wait_ready(Duration::from_secs(20));
    let rt = runtime();
    let ts = now_ms();
    let port = broker.port();

    // A paced stream (about 2 s) so the restart lands in the middle of it.
    let stream = rt.spawn(async move {
        let mut p = Publisher::connect(port, "pub-restart");
        for chunk in 0..N / 100 {
            for j in 0..100 {
                let i = chunk * 100 + j;
                p.publish(
                    &topic(i),
                    outcome(&format!("r-{i}"), &format!("T-{:04}", i % 200), "00", ts),
                )
                .await;
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        // Keep the session alive until every publish is acknowledged.
        let flushed = p.flush(Duration::from_secs(60)).await;
        let acked = p.acked();
        p.close().await;
        (flushed, acked)
    });

    let midway = wait_for(Duration::from_secs(30), || {
        svc.sample(ACCEPTED) >= (N / 4) as f64
    });
    assert!(midway, "stream did not start:\n{}", svc.log_text());
    let before = svc.sample(ACCEPTED);
    broker.restart();
    assert!(
        before < N as f64,
        "restart happened after the stream ended; pace it slower"
    );

    let all = wait_for(Duration::from_secs(90), || svc.sample(ACCEPTED) >= N as f64);
    let (flushed, acked) = rt.block_on(stream).expect("publisher task");
    assert!(
        flushed,
        "publisher got {acked} acks for {N} publishes; swipewatch accepted {}",
        svc.sample(ACCEPTED)
    );
    assert!(
        all,
        "outcomes lost across the broker restart: {} of {N}\n{}",
        svc.sample(ACCEPTED),
        svc.log_text()
    );
    std::thread::sleep(Duration::from_millis(1000));
    let m = svc.metrics();
    assert_eq!(
        crate::support::sample(&m, ACCEPTED),
        Some(N as f64),
        "an outcome was counted twice"
    );
    assert!(
        crate::support::sample(&m, "swipewatch_mqtt_reconnects_total").unwrap_or(0.0) >= 1.0,
        "no reconnect seen"
    );
    assert_eq!(
        crate::support::sample(&m, "swipewatch_mqtt_connected"),
        Some(1.0)
    );
    // The bucket the broker was away in closes (after the allowed
    // lateness) marked as a data gap, which silence detection skips.
    let gap = wait_for(Duration::from_secs(75), || {
        svc.sample("swipewatch_engine_data_gap_buckets_total") >= 1.0
    });
    assert!(gap, "no data gap marked:\n{}", svc.metrics());
    let status = svc.terminate().expect("stops on SIGTERM");
    assert!(status.success(), "exit status {status}");
}

#[test]
fn an_mqtts_broker_with_a_private_ca_and_client_certificate_is_ingested() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = crate::support::tls::Pki::create(dir.path());
    let listener = format!(
        "cafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate true\n",
        pki.ca.display(),
        pki.server_cert.display(),
        pki.server_key.display()
    );
    let broker = Mosquitto::start_with(dir.path(), &listener);
    let config = format!(
        "[mqtt]\nurl = \"mqtts://127.0.0.1:{}\"\nclient_id = \"sw-tls\"\nca_file = \"{}\"\n\
         client_cert_file = \"{}\"\nclient_key_file = \"{}\"\nreconnect_initial = \"100ms\"\nreconnect_max = \"1s\"\n",
        broker.port(),
        pki.ca.display(),
        pki.client_cert.display(),
        pki.client_key.display()
    );
    let svc = Service::start(dir.path(), &config);
    svc.wait_ready(Duration::from_secs(20));
    let payload = outcome("tls-1", "T-0001", "91", now_ms());
    let status = std::process::Command::new(crate::support::find_program("mosquitto_pub"))
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &broker.port().to_string(),
            "-q",
            "1",
            "-t",
            &topic(1),
            "-m",
            &payload,
        ])
        .arg("--cafile")
        .arg(&pki.ca)
        .arg("--cert")
        .arg(&pki.client_cert)
        .arg("--key")
        .arg(&pki.client_key)
        .status()
        .expect("mosquitto_pub");
    assert!(status.success(), "mosquitto_pub over TLS failed");
    let got = wait_for(Duration::from_secs(10), || svc.sample(ACCEPTED) == 1.0);
    assert!(got, "outcome over TLS not counted:\n{}", svc.log_text());
}

#[test]
fn an_mqtts_broker_that_the_ca_does_not_vouch_for_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = crate::support::tls::Pki::create(dir.path());
    let other = tempfile::tempdir().expect("tempdir");
    let stranger = crate::support::tls::Pki::create(other.path());
    let listener = format!(
        "cafile {}\ncertfile {}\nkeyfile {}\n",
        pki.ca.display(),
        pki.server_cert.display(),
        pki.server_key.display()
    );
    let broker = Mosquitto::start_with(dir.path(), &listener);
    let config = format!(
        "[mqtt]\nurl = \"mqtts://127.0.0.1:{}\"\nclient_id = \"sw-tls-bad\"\nca_file = \"{}\"\n\
         reconnect_initial = \"100ms\"\nreconnect_max = \"1s\"\n",
        broker.port(),
        stranger.ca.display()
    );
    let svc = Service::start(dir.path(), &config);
    let reconnects = wait_for(Duration::from_secs(10), || {
        svc.sample("swipewatch_mqtt_reconnects_total") >= 2.0
    });
    assert!(
        reconnects,
        "expected failing TLS handshakes:\n{}",
        svc.log_text()
    );
    assert_eq!(svc.sample("swipewatch_mqtt_connected"), 0.0);
    assert!(svc.log_text().contains("broker connection error"));
}

#[test]
fn a_restart_resumes_from_the_checkpoint_with_every_terminal_known() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Mosquitto::start(dir.path());
    let ckpt = dir.path().join("ckpt");
    let config = format!(
        "{}[engine]\ncheckpoint_dir = \"{}\"\n",
        service_config(&broker, "sw-ckpt"),
        ckpt.display()
    );
    let mut svc = Service::start(dir.path(), &config);
    svc.wait_ready(Duration::from_secs(20));
    let rt = runtime();
    let ts = now_ms();
    rt.block_on(async {
        let mut p = Publisher::connect(broker.port(), "pub-ckpt");
        for i in 0..300 {
            let payload = outcome(&format!("ck-{i}"), &format!("T-{:04}", i % 150), "00", ts);
            p.publish(&topic(i), payload).await;
        }
        assert!(p.flush(Duration::from_secs(30)).await);
        p.close().await;
    });
    assert!(wait_for(Duration::from_secs(30), || svc.sample(ACCEPTED) >= 300.0));
    assert_eq!(svc.sample("swipewatch_engine_tracked_terminals"), 150.0);
    let status = svc.terminate().expect("stops on SIGTERM");
    assert!(status.success());
    assert!(ckpt.join("engine.ckpt").is_file() && ckpt.join("symbols.json").is_file());

    // The new process knows every terminal before any input arrives.
    let svc = Service::start(dir.path(), &config);
    svc.wait_ready(Duration::from_secs(20));
    assert_eq!(svc.sample(ACCEPTED), 0.0, "nothing new was published");
    assert!(
        wait_for(Duration::from_secs(5), || svc
            .sample("swipewatch_engine_tracked_terminals")
            == 150.0),
        "tracked terminals after restart: {}\n{}",
        svc.sample("swipewatch_engine_tracked_terminals"),
        svc.log_text()
    );
    assert!(svc.log_text().contains("restored the engine checkpoint"));
}

#[test]
fn a_fresh_service_starts_from_a_baseline_file_and_learns_afresh_when_it_is_broken() {
    use swipewatch_engine::{BaselineFile, Engine, Settings};
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Mosquitto::start(dir.path());
    let good = dir.path().join("baseline.snap");
    let engine = Engine::new(Settings::from(&swipewatch_config::EngineConfig::default()));
    BaselineFile::from_engine(&engine, &swipewatch_model::Symbols::default(), (0, 0))
        .save_file(&good)
        .expect("write baselines");
    let broken = dir.path().join("broken.snap");
    std::fs::write(&broken, b"not baselines at all").expect("write");
    for (file, expected) in [
        (&good, "started from learned baselines"),
        (
            &broken,
            "cannot start from baselines: not a swipewatch baseline file",
        ),
    ] {
        let run_dir = dir.path().join(file.file_stem().expect("stem"));
        std::fs::create_dir_all(&run_dir).expect("dir");
        let config = format!(
            "{}[engine]\nbaseline_file = \"{}\"\n",
            service_config(&broker, "sw-baseline"),
            file.display()
        );
        let mut svc = Service::start(&run_dir, &config);
        svc.wait_ready(Duration::from_secs(20));
        assert!(svc.log_text().contains(expected), "{}", svc.log_text());
        assert!(svc.terminate().expect("stops on SIGTERM").success());
    }
}

const HELD: &str = "swipewatch_engine_outcomes_held_total";

#[test]
fn a_service_killed_mid_stream_recovers_to_the_counts_of_an_uninterrupted_one() {
    const N: usize = 24_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Mosquitto::start(dir.path());
    let (ref_dir, victim_dir) = (dir.path().join("reference"), dir.path().join("victim"));
    for d in [&ref_dir, &victim_dir] {
        std::fs::create_dir_all(d).expect("service dir");
    }
    // The same stream, read by two services: one runs throughout, the
    // other (journal and checkpoint every second) is killed mid-stream.
    let reference = Service::start(&ref_dir, &service_config(&broker, "sw-reference"));
    let victim_config = format!(
        "{}[engine]\ncheckpoint_dir = \"{}\"\ncheckpoint_interval = \"1s\"\n",
        service_config(&broker, "sw-victim"),
        victim_dir.join("state").display()
    );
    let mut victim = Service::start(&victim_dir, &victim_config);
    reference.wait_ready(Duration::from_secs(20));
    victim.wait_ready(Duration::from_secs(20));

    let port = broker.port();
    let publisher = std::thread::spawn(move || {
        runtime().block_on(async {
            let mut p = Publisher::connect(port, "pub-kill");
            let ts = now_ms();
            for i in 0..N {
                let payload = outcome(&format!("k-{i}"), &format!("T-{:04}", i % 300), "00", ts);
                p.publish(&topic(i), payload).await;
                if i % 400 == 399 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            let flushed = p.flush(Duration::from_secs(60)).await;
            p.close().await;
            flushed
        })
    });
    let midway = wait_for(Duration::from_secs(30), || victim.sample(HELD) >= 8_000.0);
    assert!(midway, "the victim never got going:\n{}", victim.log_text());
    victim.kill();
    let before = std::fs::read_to_string(&victim.log).unwrap_or_default();
    std::fs::write(victim_dir.join("before-kill.log"), before).expect("keep log");
    let victim = Service::start(&victim_dir, &victim_config);
    victim.wait_ready(Duration::from_secs(20));
    assert!(
        publisher.join().expect("publisher thread"),
        "broker did not acknowledge every publish"
    );

    let settled = wait_for(Duration::from_secs(60), || {
        reference.sample(HELD) == N as f64 && victim.sample(HELD) >= N as f64
    });
    // Anything counted twice would still trickle in: give it time.
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        settled && victim.sample(HELD) == reference.sample(HELD),
        "reference holds {}, the restarted victim {} of {N}\nvictim log:\n{}",
        reference.sample(HELD),
        victim.sample(HELD),
        victim.log_text()
    );
}
