//! Semantic checks, run once at load, before any value reaches a library
//! setter that asserts (rumqttc panics on a zero inflight or a sub-second
//! keep-alive, for instance).

use crate::codes::{load_bin_table, load_code_tables, load_inventory};
use crate::error::ConfigError;
use crate::schema::{BrokerUrl, Config, DetectConfig, IncidentsConfig};
use std::path::Path;
use std::time::Duration;
use swipewatch_model::Dim;

/// Placeholder that fills the terminal id rather than a dimension.
pub const TERMINAL_PLACEHOLDER: &str = "terminal";

impl Config {
    /// Where the durable incident log lives, if anywhere: `alerts.journal`,
    /// else `incidents.log` in `engine.checkpoint_dir`.
    pub fn journal_path(&self) -> Option<std::path::PathBuf> {
        self.alerts.journal.clone().or_else(|| {
            self.engine
                .checkpoint_dir
                .as_ref()
                .map(|d| d.join("incidents.log"))
        })
    }

    pub(crate) fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut std::path::PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        let m = &mut self.mqtt;
        for p in [
            &mut m.ca_file,
            &mut m.client_cert_file,
            &mut m.client_key_file,
            &mut m.password_file,
            &mut self.engine.checkpoint_dir,
            &mut self.engine.baseline_file,
            &mut self.alerts.webhook_secret_file,
            &mut self.alerts.journal,
            &mut self.server.api_token_file,
            &mut self.codes.bin_table,
            &mut self.fleet.inventory_file,
        ]
        .into_iter()
        .flatten()
        {
            fix(p);
        }
        self.codes.tables.iter_mut().for_each(fix);
    }

    /// Checks every value; the first problem is returned naming its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        range_duration(
            "engine.checkpoint_interval",
            self.engine.checkpoint_interval,
            Duration::from_secs(1),
            Duration::from_secs(24 * 3600),
        )?;
        if let Some(url) = &self.alerts.alertmanager_url {
            let rest = url.strip_prefix("http://").ok_or_else(|| {
                ConfigError::invalid("alerts.alertmanager_url", "must be http://host:port")
            })?;
            let host_port = rest.trim_end_matches('/');
            if host_port.is_empty() || host_port.contains('/') {
                return Err(ConfigError::invalid(
                    "alerts.alertmanager_url",
                    "must be http://host:port (no path)",
                ));
            }
        }
        if let Some(url) = &self.alerts.webhook_url {
            let rest = url.strip_prefix("http://").ok_or_else(|| {
                ConfigError::invalid(
                    "alerts.webhook_url",
                    "must be http://host:port/path (for https, put a TLS proxy in front)",
                )
            })?;
            if rest.is_empty() || rest.starts_with('/') {
                return Err(ConfigError::invalid(
                    "alerts.webhook_url",
                    "must name a host: http://host:port/path",
                ));
            }
        }
        range_duration(
            "alerts.webhook_retry_initial",
            self.alerts.webhook_retry_initial,
            Duration::from_millis(10),
            Duration::from_secs(600),
        )?;
        range_duration(
            "alerts.webhook_retry_max",
            self.alerts.webhook_retry_max,
            self.alerts.webhook_retry_initial,
            Duration::from_secs(3600),
        )?;
        if let Some(t) = &self.alerts.mqtt_topic {
            if t.is_empty() || t.contains(['+', '#']) || t.ends_with('/') {
                return Err(ConfigError::invalid(
                    "alerts.mqtt_topic",
                    "must be a topic prefix without wildcards or a trailing '/'",
                ));
            }
        }
        for (i, m) in self.alerts.maintenance.iter().enumerate() {
            let key = |k: &str| format!("alerts.maintenance[{i}].{k}");
            if m.minute_of_day().is_none() {
                return Err(ConfigError::invalid(
                    key("at"),
                    "must be a UTC time of day HH:MM",
                ));
            }
            for dim in m.matchers.keys() {
                if swipewatch_model::Dim::from_name(dim).is_none() {
                    return Err(ConfigError::invalid(
                        key("matchers"),
                        format!("unknown dimension `{dim}`"),
                    ));
                }
            }
            if let Some(c) = &m.cause {
                if !swipewatch_model::Cause::ALL.iter().any(|x| x.name() == c) {
                    return Err(ConfigError::invalid(
                        key("cause"),
                        format!("unknown cause `{c}`"),
                    ));
                }
            }
            if m.matchers.is_empty() && m.cause.is_none() {
                return Err(ConfigError::invalid(
                    key("matchers"),
                    "a maintenance window needs matchers or a cause (it would silence everything)",
                ));
            }
            if m.duration.is_zero() || m.duration > Duration::from_secs(86_400) {
                return Err(ConfigError::invalid(
                    key("duration"),
                    "must be more than zero and at most one day",
                ));
            }
            if let Some(d) = m
                .days
                .iter()
                .find(|d| !crate::schema::WEEKDAYS.contains(&d.as_str()))
            {
                return Err(ConfigError::invalid(
                    key("days"),
                    format!("unknown day `{d}` (mon, tue, wed, thu, fri, sat, sun)"),
                ));
            }
        }
        if !(1..=1000).contains(&self.server.metric_values_per_dimension) {
            return Err(ConfigError::invalid(
                "server.metric_values_per_dimension",
                "must be between 1 and 1000",
            ));
        }
        range_duration(
            "alerts.resend_interval",
            self.alerts.resend_interval,
            Duration::from_secs(1),
            Duration::from_secs(3600),
        )?;
        let m = &self.mqtt;
        let url = BrokerUrl::parse(&m.url).map_err(|e| ConfigError::invalid("mqtt.url", e))?;
        if m.client_id.is_empty() || m.client_id.starts_with(' ') || m.client_id.len() > 128 {
            return Err(ConfigError::invalid(
                "mqtt.client_id",
                "must be 1-128 characters and not start with a space",
            ));
        }
        if m.client_id.contains(['+', '#', '/']) {
            return Err(ConfigError::invalid(
                "mqtt.client_id",
                "must not contain '+', '#' or '/'",
            ));
        }
        range_duration(
            "mqtt.keep_alive",
            m.keep_alive,
            Duration::from_secs(5),
            Duration::from_secs(65_535),
        )?;
        if m.inflight == 0 {
            return Err(ConfigError::invalid("mqtt.inflight", "must be at least 1"));
        }
        if m.max_packet_bytes < self.ingest.max_payload_bytes + 1024 {
            return Err(ConfigError::invalid(
                "mqtt.max_packet_bytes",
                "must exceed ingest.max_payload_bytes by at least 1 KiB so oversized payloads are counted, not fatal",
            ));
        }
        range_duration(
            "mqtt.reconnect_initial",
            m.reconnect_initial,
            Duration::from_millis(10),
            Duration::from_secs(60),
        )?;
        if m.reconnect_max < m.reconnect_initial || m.reconnect_max > Duration::from_secs(600) {
            return Err(ConfigError::invalid(
                "mqtt.reconnect_max",
                "must be between reconnect_initial and 10m",
            ));
        }
        let tls_files = [
            ("mqtt.ca_file", &m.ca_file),
            ("mqtt.client_cert_file", &m.client_cert_file),
            ("mqtt.client_key_file", &m.client_key_file),
        ];
        for (key, file) in tls_files {
            if let Some(f) = file {
                if !url.tls {
                    return Err(ConfigError::invalid(
                        key,
                        "is only used with an mqtts:// url",
                    ));
                }
                if !f.is_file() {
                    return Err(ConfigError::invalid(
                        key,
                        format!("{} is not a readable file", f.display()),
                    ));
                }
            }
        }
        if m.client_cert_file.is_some() != m.client_key_file.is_some() {
            return Err(ConfigError::invalid(
                "mqtt.client_key_file",
                "client_cert_file and client_key_file go together",
            ));
        }
        if m.password.is_some() && m.username.is_none() {
            return Err(ConfigError::invalid(
                "mqtt.username",
                "a password is set but no username",
            ));
        }

        let i = &self.ingest;
        if i.topics.is_empty() {
            return Err(ConfigError::invalid(
                "ingest.topics",
                "at least one topic is needed",
            ));
        }
        for (n, t) in i.topics.iter().enumerate() {
            check_template(&t.template)
                .map_err(|e| ConfigError::invalid(format!("ingest.topics[{n}].template"), e))?;
        }
        if i.qos > 2 {
            return Err(ConfigError::invalid("ingest.qos", "must be 0, 1 or 2"));
        }
        for (key, v, lo, hi) in [
            (
                "ingest.max_payload_bytes",
                i.max_payload_bytes,
                256,
                64 << 20,
            ),
            (
                "ingest.max_batch_elements",
                i.max_batch_elements,
                1,
                100_000,
            ),
            (
                "ingest.raw_channel_capacity",
                i.raw_channel_capacity,
                1,
                1 << 20,
            ),
            ("ingest.batch_max_events", i.batch_max_events, 1, 1 << 20),
            (
                "ingest.batch_channel_capacity",
                i.batch_channel_capacity,
                1,
                1 << 16,
            ),
            ("ingest.dedup_capacity", i.dedup_capacity, 1024, 1 << 30),
        ] {
            if !(lo..=hi).contains(&v) {
                return Err(ConfigError::invalid(
                    key,
                    format!("{v} is outside {lo}..={hi}"),
                ));
            }
        }
        range_duration(
            "ingest.max_event_age",
            i.max_event_age,
            Duration::from_secs(60),
            Duration::from_secs(366 * 86_400),
        )?;
        range_duration(
            "ingest.max_event_lead",
            i.max_event_lead,
            Duration::from_secs(1),
            Duration::from_secs(30 * 86_400),
        )?;
        range_duration(
            "ingest.reject_log_interval",
            i.reject_log_interval,
            Duration::from_millis(100),
            Duration::from_secs(3600),
        )?;

        let e = &self.engine;
        range_duration(
            "engine.bucket",
            e.bucket,
            Duration::from_secs(1),
            Duration::from_secs(300),
        )?;
        if 3_600_000 % e.bucket.as_millis() != 0 {
            return Err(ConfigError::invalid(
                "engine.bucket",
                "must divide one hour evenly (e.g. 5s, 10s, 30s, 1m)",
            ));
        }
        if !(1..=360).contains(&e.window_buckets) {
            return Err(ConfigError::invalid(
                "engine.window_buckets",
                "must be 1..=360",
            ));
        }
        range_duration(
            "engine.allowed_lateness",
            e.allowed_lateness,
            Duration::ZERO,
            Duration::from_secs(3600),
        )?;
        range_duration(
            "engine.max_clock_skew",
            e.max_clock_skew,
            Duration::from_secs(1),
            Duration::from_secs(86_400),
        )?;
        if e.leaf_dims.is_empty() || e.leaf_dims.len() > 6 {
            return Err(ConfigError::invalid(
                "engine.leaf_dims",
                "list 1 to 6 dimensions",
            ));
        }
        for (i, d) in e.leaf_dims.iter().enumerate() {
            if Dim::from_name(d).is_none() {
                return Err(ConfigError::invalid(
                    format!("engine.leaf_dims[{i}]"),
                    format!("'{d}' is not a dimension"),
                ));
            }
            if e.leaf_dims[..i].contains(d) {
                return Err(ConfigError::invalid(
                    format!("engine.leaf_dims[{i}]"),
                    format!("'{d}' is listed twice"),
                ));
            }
        }
        for (i, d) in e.latency_dims.iter().enumerate() {
            if Dim::from_name(d).is_none() {
                return Err(ConfigError::invalid(
                    format!("engine.latency_dims[{i}]"),
                    format!("'{d}' is not a dimension"),
                ));
            }
        }
        range_duration(
            "engine.baseline_half_life",
            e.baseline_half_life,
            Duration::from_secs(60),
            Duration::from_secs(30 * 86_400),
        )?;
        if !(e.shrinkage_attempts.is_finite() && (0.0..=1e6).contains(&e.shrinkage_attempts)) {
            return Err(ConfigError::invalid(
                "engine.shrinkage_attempts",
                "must be between 0 and 1000000",
            ));
        }

        self.detect.validate()?;
        self.incidents.validate()?;
        range_duration(
            "fleet.missing_after",
            self.fleet.missing_after,
            Duration::from_secs(60),
            Duration::from_secs(24 * 3600),
        )?;
        load_code_tables(&self.codes.tables)?;
        if let Some(path) = &self.codes.bin_table {
            load_bin_table(path)?;
        }
        if let Some(path) = &self.fleet.inventory_file {
            load_inventory(path)?;
        }
        Ok(())
    }
}

impl DetectConfig {
    /// Each threshold within its documented range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        range(
            "detect.min_failures",
            self.min_failures as f64,
            1.0,
            10_000.0,
        )?;
        range(
            "detect.min_pending_failures",
            self.min_pending_failures as f64,
            1.0,
            self.min_failures as f64,
        )?;
        if !(self.spike_p_value > 0.0 && self.spike_p_value < 0.01) {
            return Err(ConfigError::invalid(
                "detect.spike_p_value",
                "must be above 0 and below 0.01",
            ));
        }
        range("detect.min_ratio", self.min_ratio, 1.0, 100.0)?;
        range(
            "detect.hw_error_run",
            f64::from(self.hw_error_run),
            2.0,
            100.0,
        )?;
        range(
            "detect.failure_run",
            f64::from(self.failure_run),
            2.0,
            1000.0,
        )
    }
}

impl IncidentsConfig {
    /// Each setting within its documented range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        range(
            "incidents.fire_after",
            f64::from(self.fire_after),
            1.0,
            30.0,
        )?;
        range(
            "incidents.resolve_after",
            f64::from(self.resolve_after),
            1.0,
            360.0,
        )?;
        range(
            "incidents.device_resolve_after",
            f64::from(self.device_resolve_after),
            1.0,
            8640.0,
        )?;
        range(
            "incidents.page_failed_per_min",
            self.page_failed_per_min,
            0.1,
            1e6,
        )?;
        range(
            "incidents.page_terminals",
            self.page_terminals as f64,
            1.0,
            1e7,
        )?;
        range(
            "incidents.keep_resolved",
            self.keep_resolved as f64,
            10.0,
            1e5,
        )
    }
}

/// `v` within `lo..=hi` (and a number).
fn range(key: &str, v: f64, lo: f64, hi: f64) -> Result<(), ConfigError> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            key,
            format!("{v} is outside {lo}..={hi}"),
        ))
    }
}

fn range_duration(key: &str, v: Duration, lo: Duration, hi: Duration) -> Result<(), ConfigError> {
    if v < lo || v > hi {
        return Err(ConfigError::invalid(
            key,
            format!(
                "{} is outside {}..={}",
                humantime::format_duration(v),
                humantime::format_duration(lo),
                humantime::format_duration(hi)
            ),
        ));
    }
    Ok(())
}

/// A template is `/`-separated levels; a level is literal text or a whole
/// `{placeholder}` naming a dimension or `terminal`; wildcards are not allowed
/// (they are derived from the placeholders).
pub fn check_template(template: &str) -> Result<(), String> {
    if template.is_empty() {
        return Err("is empty".into());
    }
    let mut seen = Vec::new();
    for level in template.split('/') {
        if level.contains(['+', '#']) {
            return Err(format!(
                "level '{level}' uses a wildcard; use a {{placeholder}} instead"
            ));
        }
        match level.strip_prefix('{').and_then(|l| l.strip_suffix('}')) {
            Some(name) => {
                if name != TERMINAL_PLACEHOLDER && Dim::from_name(name).is_none() {
                    return Err(format!(
                        "placeholder '{{{name}}}' is neither `terminal` nor a dimension"
                    ));
                }
                if seen.contains(&name) {
                    return Err(format!("placeholder '{{{name}}}' appears twice"));
                }
                seen.push(name);
            }
            None if level.contains(['{', '}']) => {
                return Err(format!(
                    "level '{level}': a placeholder must be a whole level"
                ));
            }
            None => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_with;

    fn problem(text: &str) -> String {
        load_with(text, "t.toml", Path::new("."), std::iter::empty())
            .expect_err("must be refused")
            .to_string()
    }

    #[test]
    fn values_that_would_panic_rumqttc_are_refused_with_their_key() {
        assert!(problem("[mqtt]\ninflight = 0").starts_with("config key `mqtt.inflight`"));
        assert!(
            problem("[mqtt]\nkeep_alive = \"500ms\"").starts_with("config key `mqtt.keep_alive`")
        );
        assert!(problem("[mqtt]\nclient_id = \"\"").starts_with("config key `mqtt.client_id`"));
    }

    #[test]
    fn broker_urls_must_be_mqtt_or_mqtts() {
        assert!(problem("[mqtt]\nurl = \"http://x\"").starts_with("config key `mqtt.url`"));
        assert!(problem("[mqtt]\nurl = \"mqtt://x:0\"").contains("port"));
        assert!(problem("[mqtt]\nurl = \"mqtt://u:p@x\"").contains("credentials"));
    }

    #[test]
    fn tls_files_need_mqtts_and_must_exist() {
        assert!(problem("[mqtt]\nca_file = \"/etc/hostname\"").contains("mqtts"));
        assert!(
            problem("[mqtt]\nurl = \"mqtts://x\"\nca_file = \"/nope.pem\"")
                .contains("not a readable file")
        );
    }

    #[test]
    fn templates_are_checked() {
        assert!(check_template("dt/pos/v1/{region}/{acquirer}/{terminal}/txn").is_ok());
        assert!(check_template("dt/+/txn").is_err());
        assert!(check_template("dt/{colour}/txn").is_err());
        assert!(check_template("dt/x{region}/txn").is_err());
        assert!(check_template("dt/{region}/{region}").is_err());
        assert!(
            problem("[[ingest.topics]]\ntemplate = \"a/#\"\nkind = \"txn\"")
                .starts_with("config key `ingest.topics[0].template`")
        );
    }

    #[test]
    fn broker_url_defaults_ports_by_scheme() {
        assert_eq!(BrokerUrl::parse("mqtts://b").map(|u| u.port), Ok(8883));
        assert_eq!(
            BrokerUrl::parse("mqtt://[::1]:1884").map(|u| (u.host, u.port)),
            Ok(("::1".into(), 1884))
        );
    }
}
