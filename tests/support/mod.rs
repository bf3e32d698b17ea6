//! Helpers to start and stop real servers and the service under test.

pub mod mqtt;
pub mod tls;
pub mod webhook;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// Polls `f` every 50 ms until it holds or `timeout` passes.
pub fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Finds an executable on PATH or in the usual sbin directories.
pub fn find_program(name: &str) -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs = path
        .split(':')
        .map(PathBuf::from)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from));
    for d in dirs {
        let p = d.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("{name} is not installed; `bash .ci/run` installs it (Debian package)");
}

/// Sends SIGTERM and waits up to `timeout` for the exit.
pub fn terminate(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// A GET over plain HTTP/1.1; returns status and body.
pub fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    http_request(addr, "GET", path, &[], b"")
}

/// Any request over plain HTTP/1.1 with extra `headers` and `body`;
/// returns status and body.
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    // A server may answer (413) before reading all of a large body.
    let _ = s.write_all(body);
    let mut buf = String::new();
    if let Err(e) = s.read_to_string(&mut buf) {
        // A reset after a complete early answer still counts.
        if buf.is_empty() {
            return Err(e);
        }
    }
    let status = buf
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = buf
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// The value of one sample (`name{labels}` exactly as exposed) in a scrape.
pub fn sample(scrape: &str, series: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .and_then(|v| v.trim().parse().ok())
}

/// A Mosquitto broker of our own, with persistence in a temporary dir.
pub struct Mosquitto {
    child: Option<Child>,
    port: u16,
    conf: PathBuf,
    log: PathBuf,
}

impl Mosquitto {
    /// Starts a broker on a free port, persisting sessions in `dir`.
    pub fn start(dir: &Path) -> Mosquitto {
        Mosquitto::start_with(dir, "")
    }

    /// Like [`Mosquitto::start`], with extra listener options (e.g. TLS files).
    pub fn start_with(dir: &Path, listener_options: &str) -> Mosquitto {
        let port = free_port();
        let conf = dir.join("mosquitto.conf");
        let log = dir.join("mosquitto.log");
        let text = format!(
            "listener {port} 127.0.0.1\n{listener_options}allow_anonymous true\npersistence true\npersistence_location {}/\n\
             max_queued_messages 0\nmax_inflight_messages 100\nuser root\nlog_dest file {}\n",
            dir.display(),
            log.display()
        );
        std::fs::write(&conf, text).expect("write mosquitto.conf");
        let mut m = Mosquitto {
            child: None,
            port,
            conf,
            log,
        };
        m.spawn();
        m
    }

    fn spawn(&mut self) {
        let child = Command::new(find_program("mosquitto"))
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mosquitto");
        self.child = Some(child);
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let up = wait_for(Duration::from_secs(10), || TcpStream::connect(addr).is_ok());
        assert!(
            up,
            "mosquitto did not listen on {addr}; log: {}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// Graceful stop (sessions are written to the persistence file).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            terminate(&mut c, Duration::from_secs(10));
        }
    }

    /// Starts again on the same port with the same persistence.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// The broker's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `mqtt://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The `swipewatch` binary under test.
pub fn swipewatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_swipewatch"))
}

/// A running `swipewatch run`.
pub struct Service {
    child: Option<Child>,
    /// Its HTTP address.
    pub http: SocketAddr,
    /// Its log (stderr).
    pub log: PathBuf,
}

impl Service {
    /// Writes `config` (which must not set `[server]`) plus a free HTTP port
    /// to `dir` and starts `swipewatch run` on it.
    pub fn start(dir: &Path, config: &str) -> Service {
        Service::start_with_env(dir, config, &[])
    }

    /// [`Service::start`] with extra environment variables.
    pub fn start_with_env(dir: &Path, config: &str, env: &[(&str, &str)]) -> Service {
        let http = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let path = dir.join("swipewatch.toml");
        std::fs::write(&path, format!("{config}\n[server]\nlisten = \"{http}\"\n"))
            .expect("write config");
        let log = dir.join("swipewatch.log");
        let child = swipewatch()
            .args(["run", "--config"])
            .arg(&path)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start swipewatch");
        Service {
            child: Some(child),
            http,
            log,
        }
    }

    /// Waits until `/readyz` says data can flow.
    pub fn wait_ready(&self, timeout: Duration) {
        let ready = wait_for(timeout, || {
            matches!(http_get(self.http, "/readyz"), Ok((200, _)))
        });
        assert!(ready, "swipewatch not ready; log:\n{}", self.log_text());
    }

    /// One scrape of `/metrics`.
    pub fn metrics(&self) -> String {
        http_get(self.http, "/metrics")
            .map(|(_, b)| b)
            .unwrap_or_default()
    }

    /// The value of `series` in a fresh scrape (0 when absent).
    pub fn sample(&self, series: &str) -> f64 {
        sample(&self.metrics(), series).unwrap_or(0.0)
    }

    /// Its process id while it runs (for the end-to-end bench).
    #[allow(dead_code)]
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// What it logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL, no chance to flush or checkpoint.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM; the exit status if it stopped in time.
    pub fn terminate(&mut self) -> Option<ExitStatus> {
        self.child
            .take()
            .and_then(|mut c| terminate(&mut c, Duration::from_secs(10)))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A child process killed (and reaped) when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a server program (found on PATH or in sbin) with `args`, output
/// discarded; killed when the handle drops.
pub fn spawn_server(program: &str, args: &[String]) -> Killed {
    Killed(
        Command::new(find_program(program))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {program}: {e}")),
    )
}

/// Starts a real Alertmanager (Debian `prometheus-alertmanager`) on a free
/// loopback port with its data in `dir`, routing every alert to one
/// receiver that sends nothing; `None` if it is not ready within 30 s.
/// Killed when the handle drops.
pub fn start_alertmanager(dir: &Path) -> Option<(Killed, SocketAddr)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let config = dir.join("alertmanager.yml");
    std::fs::write(
        &config,
        "route:\n  receiver: ops\n  group_wait: 1s\nreceivers:\n  - name: ops\n",
    )
    .ok()?;
    let server = spawn_server(
        "prometheus-alertmanager",
        &[
            format!("--config.file={}", config.display()),
            format!("--storage.path={}", dir.join("am").display()),
            format!("--web.listen-address={addr}"),
            "--cluster.listen-address=".to_string(),
        ],
    );
    let ready = wait_for(Duration::from_secs(30), || {
        matches!(http_get(addr, "/-/ready"), Ok((200, _)))
    });
    ready.then_some((server, addr))
}
