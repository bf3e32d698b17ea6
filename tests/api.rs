//! The HTTP API of a running service: silences (create, list, expire,
//! with the bearer token), clear JSON errors for bad requests, and
//! silences that survive a restart through the incident log.

use crate::support::{http_get, http_request, Mosquitto, Service};
use std::time::Duration;

const TOKEN: &str = "s3cret-token";
const CUT_OVER: &str = "acq-beta nightly cut-over";

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn config(broker: &Mosquitto, state: &std::path::Path) -> String {
    format!(
        "[mqtt]\nurl = \"{}\"\nclient_id = \"sw-api\"\n[engine]\ncheckpoint_dir = \"{}\"\n\
         [[alerts.maintenance]]\nmatchers = {{ acquirer = \"acq-beta\" }}\nat = \"02:00\"\n\
         duration = \"30m\"\ncomment = \"{CUT_OVER}\"\n",
        broker.url(),
        state.display()
    )
}

fn post(svc: &Service, auth: Option<&str>, body: &str) -> (u16, serde_json::Value) {
    let header = auth.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = header
        .as_deref()
        .map(|h| vec![("Authorization", h), ("Content-Type", "application/json")])
        .unwrap_or_default();
    let (status, body) =
        http_request(svc.http, "POST", "/api/silences", &headers, body.as_bytes()).expect("post");
    (status, json(&body))
}

fn delete(svc: &Service, auth: Option<&str>, id: &str) -> (u16, serde_json::Value) {
    let header = auth.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = header
        .as_deref()
        .map(|h| vec![("Authorization", h)])
        .unwrap_or_default();
    let (status, body) = http_request(
        svc.http,
        "DELETE",
        &format!("/api/silences/{id}"),
        &headers,
        b"",
    )
    .expect("delete");
    (status, json(&body))
}

/// Silences made through the API (not the configured maintenance).
fn silences(svc: &Service) -> Vec<serde_json::Value> {
    all_silences(svc)
        .into_iter()
        .filter(|s| s["comment"] != CUT_OVER)
        .collect()
}

fn all_silences(svc: &Service) -> Vec<serde_json::Value> {
    let (status, body) = http_get(svc.http, "/api/silences").expect("get");
    assert_eq!(status, 200);
    json(&body)["silences"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn silences_are_created_listed_and_expired_with_the_token_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Mosquitto::start(dir.path());
    let state = dir.path().join("state");
    let mut svc = Service::start_with_env(
        dir.path(),
        &config(&broker, &state),
        &[("SWIPEWATCH_API_TOKEN", TOKEN)],
    );
    svc.wait_ready(Duration::from_secs(20));
    assert!(silences(&svc).is_empty());
    // The nightly cut-over is scheduled from yesterday to two days ahead.
    let scheduled = all_silences(&svc);
    let half_hour = |s: &serde_json::Value| {
        s["end_ms"]
            .as_i64()
            .zip(s["start_ms"].as_i64())
            .map(|(e, b)| e - b)
            == Some(1_800_000)
    };
    assert!(
        (3..=4).contains(&scheduled.len())
            && scheduled
                .iter()
                .all(|s| s["matchers"]["acquirer"] == "acq-beta" && half_hour(s)),
        "{scheduled:?}"
    );

    let good =
        r#"{"matchers":{"issuer":"northbank"},"duration":"2h","comment":"nightly cut-over"}"#;
    // Without or with a wrong token: 401 and a JSON reason; nothing created.
    let (status, body) = post(&svc, None, good);
    assert_eq!(status, 401, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("bearer")));
    let (status, _) = post(&svc, Some("guess"), good);
    assert_eq!(status, 401);
    assert!(silences(&svc).is_empty());

    // Bad input: 400 naming the problem.
    for (body, reason) in [
        ("{not json", "not JSON"),
        (r#"{"duration":"2h"}"#, "silence everything"),
        (
            r#"{"matchers":{"colour":"red"},"duration":"2h"}"#,
            "unknown dimension",
        ),
        (r#"{"cause":"network","duration":"45d"}"#, "30 days"),
    ] {
        let (status, answer) = post(&svc, Some(TOKEN), body);
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(
            answer["error"].as_str().is_some_and(|e| e.contains(reason)),
            "{body}: {answer}"
        );
    }
    // Oversized body: 413.
    let huge = format!(r#"{{"comment":"{}"}}"#, "x".repeat(100_000));
    let (status, _) = http_request(
        svc.http,
        "POST",
        "/api/silences",
        &[("Authorization", &format!("Bearer {TOKEN}"))],
        huge.as_bytes(),
    )
    .expect("post");
    assert_eq!(status, 413);

    let (status, created) = post(&svc, Some(TOKEN), good);
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_u64().expect("id");
    assert_eq!(created["matchers"]["issuer"], "northbank");
    assert_eq!(created["active"], true);
    let listed = silences(&svc);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["comment"], "nightly cut-over");

    assert_eq!(delete(&svc, Some(TOKEN), "999").0, 404);
    assert_eq!(delete(&svc, Some(TOKEN), "abc").0, 400);
    assert_eq!(delete(&svc, None, &id.to_string()).0, 401);
    let (status, expired) = delete(&svc, Some(TOKEN), &id.to_string());
    assert_eq!(status, 200, "{expired}");
    assert_eq!(expired["active"], false);

    let (status, another) = post(
        &svc,
        Some(TOKEN),
        r#"{"matchers":{"carrier":"telco","region":"north"},"cause":"network","duration":"1h"}"#,
    );
    assert_eq!(status, 201, "{another}");
    let (status, body) = http_get(svc.http, "/api/nothing").expect("get");
    assert_eq!(status, 404);
    assert!(json(&body)["error"].is_string());

    // Through a restart, both silences (one expired, one active) remain.
    assert!(svc.terminate().expect("stops").success());
    let svc = Service::start(dir.path(), &config(&broker, &state));
    svc.wait_ready(Duration::from_secs(20));
    let listed = silences(&svc);
    let active: Vec<bool> = listed.iter().map(|s| s["active"] == true).collect();
    assert_eq!(active, [false, true], "{listed:?}");
    // This run has no token: mutations are refused outright.
    let (status, body) = post(&svc, Some(TOKEN), good);
    assert_eq!(status, 403, "{body}");
}

#[test]
fn read_endpoints_show_the_window_top_offenders_and_a_terminal_with_clear_errors() {
    use crate::support::mqtt::{now_ms, outcome, Publisher};
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Mosquitto::start(dir.path());
    let config = format!(
        "[mqtt]\nurl = \"{}\"\nclient_id = \"sw-read\"\n[engine]\nbucket = \"5s\"\nallowed_lateness = \"1s\"\n",
        broker.url()
    );
    let svc = Service::start(dir.path(), &config);
    svc.wait_ready(Duration::from_secs(20));
    let (status, body) = http_get(svc.http, "/api/window").expect("get");
    assert_eq!(status, 503, "no window yet: {body}");
    assert!(json(&body)["error"].is_string());

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let ts = now_ms();
    rt.block_on(async {
        let mut p = Publisher::connect(broker.port(), "pub-read");
        for i in 0..200 {
            let rc = if i % 4 == 0 { "91" } else { "00" };
            let payload = outcome(&format!("r-{i}"), &format!("T-{:04}", i % 20), rc, ts);
            p.publish(
                &format!("dt/pos/v1/north/acq-1/T-{:04}/txn", i % 20),
                payload,
            )
            .await;
        }
        assert!(p.flush(Duration::from_secs(20)).await);
        p.close().await;
    });
    let mut window = serde_json::Value::Null;
    let closed = crate::support::wait_for(Duration::from_secs(30), || {
        window = http_get(svc.http, "/api/window")
            .ok()
            .filter(|(s, _)| *s == 200)
            .map(|(_, b)| json(&b))
            .unwrap_or_default();
        window["attempts"].as_u64().unwrap_or(0) >= 200
    });
    assert!(closed, "window: {window}\n{}", svc.log_text());
    assert_eq!(window["classes"]["issuer_unavailable"], 50, "{window}");
    assert_eq!(window["approved"], 150);

    let (status, body) = http_get(svc.http, "/api/top?dimension=region&n=5").expect("get");
    assert_eq!(status, 200, "{body}");
    let top = json(&body);
    assert_eq!(top["values"][0]["value"], "north", "{top}");
    assert_eq!(top["values"][0]["failures"], 50);

    let (status, body) = http_get(svc.http, "/api/terminals/T-0003").expect("get");
    assert_eq!(status, 200, "{body}");
    let t = json(&body);
    assert_eq!(t["place"]["region"], "north", "{t}");
    assert_eq!(t["place"]["carrier"], "vodafone");
    assert!(t["recent_buckets"]
        .as_array()
        .is_some_and(|b| !b.is_empty()));

    for (path, status, reason) in [
        ("/api/terminals/T-9999", 404, "no such terminal"),
        ("/api/top", 400, "`dimension` is required"),
        ("/api/top?dimension=merchant", 400, "unknown dimension"),
        ("/api/top?dimension=issuer&n=0", 400, "between 1 and 20"),
        (
            "/api/top?dimension=issuer&colour=red",
            400,
            "unknown query parameter",
        ),
        ("/api/incidents?state=bogus", 400, "active or recent"),
        ("/api/incidents/999", 404, "no incident 999"),
        ("/api/incidents/abc", 400, "positive integer"),
    ] {
        let (got, body) = http_get(svc.http, path).expect("get");
        assert_eq!(got, status, "{path}: {body}");
        assert!(
            json(&body)["error"]
                .as_str()
                .is_some_and(|e| e.contains(reason)),
            "{path}: {body}"
        );
    }
    for path in [
        "/api/incidents?state=active",
        "/api/incidents?state=recent",
        "/healthz",
        "/readyz",
    ] {
        assert_eq!(http_get(svc.http, path).expect("get").0, 200, "{path}");
    }
}
