//! One HTTP/1.1 POST of a JSON body over plain TCP, with a 10 s bound:
//! enough for Alertmanager and webhook receivers on the operator's own
//! network. HTTPS receivers are not reached yet.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where a POST goes: `host:port` and the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `host:port`.
    pub host_port: String,
    /// From the first `/`, or `/`.
    pub path: String,
}

impl Target {
    /// `http://host:port/path` (the scheme is optional).
    pub fn parse(url: &str) -> Target {
        let rest = url.trim_start_matches("http://");
        match rest.find('/') {
            Some(i) => Target {
                host_port: rest[..i].to_string(),
                path: rest[i..].to_string(),
            },
            None => Target {
                host_port: rest.to_string(),
                path: "/".to_string(),
            },
        }
    }
}

/// One HTTP/1.1 POST of a JSON body with extra `headers`; returns the
/// status code.
pub async fn post(
    target: &Target,
    headers: &[(&str, String)],
    body: &[u8],
) -> std::io::Result<u16> {
    let (host_port, path) = (&target.host_port, &target.path);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_splits_into_host_and_path() {
        let t = Target::parse("http://127.0.0.1:9093/api/v2/alerts");
        assert_eq!(
            (t.host_port.as_str(), t.path.as_str()),
            ("127.0.0.1:9093", "/api/v2/alerts")
        );
        assert_eq!(Target::parse("hooks.local:80").path, "/");
    }
}
