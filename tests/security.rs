//! Card numbers never get in: a service fed payloads carrying full card
//! numbers in every place one could hide (fields, nested objects, ids, the
//! topic), plainly or in the spellings a JSON parser decodes (escapes,
//! full-width digits), rejects them, and none of the numbers appears in its log,
//! metrics, API answers, checkpoint or incident log.

use crate::support::mqtt::{now_ms, outcome, runtime, Publisher};
use crate::support::{http_get, wait_for, Mosquitto, Service};
use std::time::Duration;

/// Test card numbers (Luhn-valid), as digits.
const PANS: [&str; 4] = [
    "4111111111111111",
    "5555555555554444",
    "378282246310005",
    "6011111111111117",
];

#[test]
fn card_numbers_are_rejected_and_never_stored_logged_or_exported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Mosquitto::start(dir.path());
    let state = dir.path().join("state");
    let config = format!(
        "[mqtt]\nurl = \"{}\"\nclient_id = \"sw-pan\"\n[engine]\nbucket = \"5s\"\nallowed_lateness = \"1s\"\ncheckpoint_dir = \"{}\"\n",
        broker.url(),
        state.display()
    );
    let mut svc = Service::start(dir.path(), &config);
    svc.wait_ready(Duration::from_secs(20));
    let ts = now_ms();
    let topic = |t: &str| format!("dt/pos/v1/north/acq-1/{t}/txn");
    let mut hostile: Vec<(String, String)> = Vec::new();
    for (k, pan) in PANS.iter().enumerate() {
        let spaced: String = pan
            .chars()
            .enumerate()
            .flat_map(|(i, c)| (i > 0 && i % 4 == 0).then_some(' ').into_iter().chain([c]))
            .collect();
        let dashed = spaced.replace(' ', "-");
        let good = outcome(&format!("pan-{k}"), "T-0001", "00", ts);
        let field =
            |name: &str, value: &str| good.replacen('{', &format!("{{\"{name}\":\"{value}\","), 1);
        hostile.push((topic("T-0001"), field("pan", pan)));
        hostile.push((topic("T-0001"), field("note", &spaced)));
        hostile.push((topic("T-0001"), field("track", &dashed)));
        hostile.push((
            topic("T-0001"),
            good.replace(
                "\"terminal_id\":\"T-0001\"",
                &format!("\"terminal_id\":\"{pan}\""),
            ),
        ));
        hostile.push((
            topic("T-0001"),
            good.replace(
                &format!("\"event_id\":\"pan-{k}\""),
                &format!("\"event_id\":\"{pan}\""),
            ),
        ));
        hostile.push((
            topic("T-0001"),
            good.replace("\"bin\":\"412345\"", &format!("\"bin\":\"{pan}\"")),
        ));
        hostile.push((
            topic("T-0001"),
            good.replace("\"cell_id\":\"c-12\"", &format!("\"cell_id\":\"{pan}\"")),
        ));
        // Spellings a JSON parser turns back into the number: one digit or
        // every digit escaped, escaped dashes between groups, full-width
        // digits.
        let first_escaped = format!("\\u{:04x}{}", u32::from(pan.as_bytes()[0]), &pan[1..]);
        let all_escaped: String = pan.bytes().map(|b| format!("\\u{:04X}", b)).collect();
        let escaped_dashes = dashed.replace('-', "\\u002d");
        let wide: String = pan
            .chars()
            .filter_map(|c| char::from_u32(u32::from(c) - u32::from('0') + 0xFF10))
            .collect();
        hostile.push((
            topic("T-0001"),
            good.replace(
                "\"terminal_id\":\"T-0001\"",
                &format!("\"terminal_id\":\"{first_escaped}\""),
            ),
        ));
        hostile.push((
            topic("T-0001"),
            good.replace(
                &format!("\"event_id\":\"pan-{k}\""),
                &format!("\"event_id\":\"{all_escaped}\""),
            ),
        ));
        hostile.push((topic("T-0001"), field("note", &escaped_dashes)));
        hostile.push((topic("T-0001"), field("note", &wide)));
        // The terminal id in the topic itself.
        hostile.push((
            topic(pan),
            good.replace(
                "\"terminal_id\":\"T-0001\"",
                &format!("\"terminal_id\":\"{pan}\""),
            ),
        ));
        hostile.push((
            topic(pan),
            outcome(&format!("pan-topic-{k}"), "T-0002", "00", ts),
        ));
    }
    let rt = runtime();
    rt.block_on(async {
        let mut p = Publisher::connect(broker.port(), "pub-pan");
        for (t, payload) in &hostile {
            p.publish(t, payload.clone()).await;
        }
        for i in 0..100 {
            let payload = outcome(
                &format!("ok-{i}"),
                &format!("T-{:04}", 10 + i % 10),
                "00",
                ts,
            );
            p.publish(&topic(&format!("T-{:04}", 10 + i % 10)), payload)
                .await;
        }
        assert!(p.flush(Duration::from_secs(20)).await);
        p.close().await;
    });
    let accepted = r#"swipewatch_ingest_accepted_total{kind="outcome"}"#;
    let settled = wait_for(Duration::from_secs(30), || {
        svc.sample(accepted) >= 100.0 && matches!(http_get(svc.http, "/api/window"), Ok((200, _)))
    });
    assert!(settled, "{}", svc.metrics());
    // Give the hostile messages time to be decided too.
    std::thread::sleep(Duration::from_secs(2));
    let rejected = svc.sample(r#"swipewatch_ingest_rejected_total{reason="card_number_present"}"#);
    assert_eq!(
        svc.sample(accepted),
        100.0,
        "only the clean outcomes are accepted; card-number rejections: {rejected}\n{}",
        svc.metrics()
    );
    assert!(rejected >= 44.0, "card-number rejections: {rejected}");

    let mut exported = svc.metrics();
    for path in [
        "/api/incidents",
        "/api/window",
        "/api/silences",
        "/api/terminals/T-0001",
        "/api/terminals/4111111111111111",
    ] {
        exported.push_str(&http_get(svc.http, path).map(|(_, b)| b).unwrap_or_default());
    }
    for dim in [
        "region", "carrier", "net_type", "acquirer", "issuer", "scheme", "model", "firmware",
    ] {
        exported.push_str(
            &http_get(svc.http, &format!("/api/top?dimension={dim}&n=20"))
                .map(|(_, b)| b)
                .unwrap_or_default(),
        );
    }
    assert!(svc.terminate().expect("stops").success());
    // Every file under the state dir: checkpoint, symbols, incident log,
    // intake journal.
    let mut stored = Vec::new();
    let mut dirs = vec![state.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("state dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                stored.push((
                    path.display().to_string(),
                    std::fs::read(&path).expect("read"),
                ));
            }
        }
    }
    assert!(
        stored.iter().any(|(p, _)| p.ends_with(".wal")),
        "journal written: {:?}",
        stored.iter().map(|s| &s.0).collect::<Vec<_>>()
    );
    assert!(
        stored.iter().any(|(p, _)| p.ends_with("engine.ckpt")),
        "checkpoint written: {:?}",
        stored.iter().map(|s| &s.0).collect::<Vec<_>>()
    );
    let log = svc.log_text();
    for pan in PANS {
        let last4 = &pan[pan.len() - 4..];
        let forms = [pan.to_string(), format!("{}{last4}", &pan[..6])];
        for form in &forms {
            assert!(!log.contains(form.as_str()), "card number {pan} in the log");
            assert!(
                !exported.contains(form.as_str()),
                "card number {pan} exported"
            );
            for (path, bytes) in &stored {
                assert!(
                    !bytes.windows(form.len()).any(|w| w == form.as_bytes()),
                    "card number {pan} stored in {path}"
                );
            }
        }
    }
}
