//! Alert sinks: a task per sink that follows the incident list and
//! delivers it. A sink that is down never blocks detection: it only reads
//! the latest list, and retries on the next change or resend tick.

use std::time::Duration;
use swipewatch_alert::{alertmanager, Incident};
use swipewatch_telemetry::AlertMetrics;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Resolved incidents are re-sent for this long after they resolve.
const RESOLVED_HORIZON_MS: i64 = 15 * 60_000;

/// Posts the incident state to Alertmanager (`http://host:port`) on every
/// change and every `resend`, until `stop`.
pub async fn alertmanager(
    url: String,
    console_url: String,
    mut incidents: watch::Receiver<Vec<Incident>>,
    resend: Duration,
    metrics: AlertMetrics,
    mut stop: watch::Receiver<bool>,
) {
    let host_port = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut tick = tokio::time::interval(resend);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failures = 0u32;
    loop {
        tokio::select! {
            changed = incidents.changed() => if changed.is_err() { return },
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let body = {
            let list = incidents.borrow_and_update();
            alertmanager::alerts(&list, now_ms - RESOLVED_HORIZON_MS, &console_url)
        };
        if body.as_array().is_some_and(Vec::is_empty) {
            continue;
        }
        match post(
            &host_port,
            "/api/v2/alerts",
            &[],
            body.to_string().as_bytes(),
        )
        .await
        {
            Ok(status) if (200..300).contains(&status) => {
                metrics.alertmanager_ok.inc();
                failures = 0;
            }
            result => {
                metrics.alertmanager_failed.inc();
                failures += 1;
                if failures == 1 || failures % 20 == 0 {
                    match result {
                        Ok(status) => {
                            tracing::warn!(status, url = %url, "alertmanager refused the alerts; will resend")
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, url = %url, "cannot reach alertmanager; will resend")
                        }
                    }
                }
            }
        }
    }
}

/// One HTTP/1.1 POST of a JSON body with extra `headers`; returns the
/// status code.
pub async fn post(
    host_port: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> std::io::Result<u16> {
    let exchange = async {
        let mut stream = TcpStream::connect(host_port).await?;
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nHost: {host_port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        let line = response.split(|&b| b == b'\n').next().unwrap_or_default();
        let status = std::str::from_utf8(line)
            .ok()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| std::io::Error::other("no HTTP status line"))?;
        Ok(status)
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer within 10 s"))?
}
