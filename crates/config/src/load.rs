//! Reading a config file: TOML, then environment overrides, then typed
//! deserialization (which reports the path of a bad key), then validation.

use crate::error::ConfigError;
use crate::schema::{Config, Secret};
use std::path::Path;

/// Environment variables starting with this override config keys:
/// `SWIPEWATCH__MQTT__URL=mqtt://broker:1883` sets `mqtt.url`.
pub const ENV_PREFIX: &str = "SWIPEWATCH__";
/// Overrides `mqtt.username`.
pub const ENV_MQTT_USERNAME: &str = "SWIPEWATCH_MQTT_USERNAME";
/// The broker password.
pub const ENV_MQTT_PASSWORD: &str = "SWIPEWATCH_MQTT_PASSWORD";
/// The HTTP API's bearer token.
pub const ENV_API_TOKEN: &str = "SWIPEWATCH_API_TOKEN";
/// The webhook's HMAC key.
pub const ENV_WEBHOOK_SECRET: &str = "SWIPEWATCH_WEBHOOK_SECRET";

/// Loads and validates a config file, with environment overrides applied.
/// Relative paths inside it are resolved against its directory.
pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    load_with(&text, &path.display().to_string(), base, std::env::vars())
}

/// Loads and validates config text, with environment overrides applied.
pub fn load_str(text: &str, base_dir: &Path) -> Result<Config, ConfigError> {
    load_with(text, "<string>", base_dir, std::env::vars())
}

pub(crate) fn load_with(
    text: &str,
    origin: &str,
    base_dir: &Path,
    env: impl Iterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].lines().count().max(1))
            .unwrap_or(0);
        ConfigError::Syntax {
            path: origin.to_string(),
            line,
            message: e.message().replace('\n', " "),
        }
    })?;
    let mut username = None;
    let mut password = None;
    let mut webhook_secret = None;
    let mut api_token = None;
    for (key, value) in env {
        if key == ENV_MQTT_USERNAME {
            username = Some(value);
        } else if key == ENV_MQTT_PASSWORD {
            password = Some(Secret(value));
        } else if key == ENV_API_TOKEN {
            api_token = Some(Secret(value));
        } else if key == ENV_WEBHOOK_SECRET {
            webhook_secret = Some(Secret(value));
        } else if let Some(path) = key.strip_prefix(ENV_PREFIX) {
            apply_override(&mut table, path, &value)?;
        }
    }
    let mut config: Config =
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let key = e.path().to_string();
            // The deserializer appends "in `key`" on a second line; the key is already named.
            let message = e.into_inner().to_string();
            let first = message.lines().next().unwrap_or_default().to_string();
            ConfigError::invalid(if key == "." { "<root>".into() } else { key }, first)
        })?;
    config.resolve_paths(base_dir);
    if username.is_some() {
        config.mqtt.username = username;
    }
    config.mqtt.password = match password {
        Some(p) => Some(p),
        None => match &config.mqtt.password_file {
            Some(f) => Some(read_secret(f, "mqtt.password_file")?),
            None => None,
        },
    };
    config.alerts.webhook_secret = match webhook_secret {
        Some(s) => Some(s),
        None => match &config.alerts.webhook_secret_file {
            Some(f) => Some(read_secret(f, "alerts.webhook_secret_file")?),
            None => None,
        },
    };
    config.server.api_token = match api_token {
        Some(s) => Some(s),
        None => match &config.server.api_token_file {
            Some(f) => Some(read_secret(f, "server.api_token_file")?),
            None => None,
        },
    };
    config.validate()?;
    Ok(config)
}

/// Sets the key named by `SECTION__KEY` (case-insensitive) to `raw`, parsed
/// as a TOML scalar when it is one and as a string otherwise.
fn apply_override(table: &mut toml::Table, path: &str, raw: &str) -> Result<(), ConfigError> {
    let parts: Vec<String> = path.split("__").map(str::to_ascii_lowercase).collect();
    let dotted = parts.join(".");
    let Some((leaf, sections)) = parts.split_last() else {
        return Err(ConfigError::invalid(dotted, "empty override"));
    };
    let mut cur = table;
    for s in sections {
        let entry = cur
            .entry(s.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = entry.as_table_mut().ok_or_else(|| {
            ConfigError::invalid(dotted.clone(), format!("`{s}` is not a section"))
        })?;
    }
    let value = format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .filter(|v| !v.is_table())
        .unwrap_or_else(|| toml::Value::String(raw.to_string()));
    cur.insert(leaf.clone(), value);
    Ok(())
}

fn read_secret(path: &Path, key: &str) -> Result<Secret, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::invalid(key, format!("cannot read {}: {e}", path.display())))?;
    Ok(Secret(text.lines().next().unwrap_or("").to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        load_with(
            text,
            "test.toml",
            Path::new("."),
            env.collect::<Vec<_>>().into_iter(),
        )
    }

    #[test]
    fn an_empty_file_gives_the_defaults() {
        let c = load("", &[]).expect("defaults are valid");
        assert_eq!(c.mqtt.url, crate::defaults::MQTT_URL);
        assert!(!c.mqtt.clean_session);
        assert_eq!(c.ingest.topics.len(), 2);
    }

    #[test]
    fn environment_overrides_scalar_keys() {
        let c = load(
            "[mqtt]\nurl = \"mqtt://a:1\"\n",
            &[
                ("SWIPEWATCH__MQTT__URL", "mqtt://b:2"),
                ("SWIPEWATCH__INGEST__QOS", "0"),
                ("SWIPEWATCH__MQTT__KEEP_ALIVE", "45s"),
            ],
        )
        .expect("valid");
        assert_eq!(c.mqtt.url, "mqtt://b:2");
        assert_eq!(c.ingest.qos, 0);
        assert_eq!(c.mqtt.keep_alive, Duration::from_secs(45));
    }

    #[test]
    fn credentials_come_from_the_environment_and_are_redacted() {
        let c = load(
            "",
            &[
                ("SWIPEWATCH_MQTT_USERNAME", "ops"),
                ("SWIPEWATCH_MQTT_PASSWORD", "hunter2"),
            ],
        )
        .expect("valid");
        assert_eq!(c.mqtt.username.as_deref(), Some("ops"));
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = load("[mqtt]\nurll = \"x\"\n", &[]).expect_err("unknown key");
        let msg = e.to_string();
        assert!(msg.starts_with("config key `mqtt.urll`"), "{msg}");
    }

    #[test]
    fn wrong_types_are_named() {
        let e = load("[ingest]\nqos = \"high\"\n", &[]).expect_err("bad type");
        assert!(e.to_string().starts_with("config key `ingest.qos`"), "{e}");
        let e = load("[mqtt]\nkeep_alive = \"soon\"\n", &[]).expect_err("bad duration");
        assert!(
            e.to_string().starts_with("config key `mqtt.keep_alive`"),
            "{e}"
        );
    }

    #[test]
    fn syntax_errors_name_the_line_on_one_line() {
        let e = load("[mqtt]\nurl = \n", &[]).expect_err("syntax");
        let msg = e.to_string();
        assert!(msg.contains("line 2"), "{msg}");
        assert!(!msg.contains('\n'));
    }

    #[test]
    fn a_nightly_cut_over_recurs_on_its_days_only() {
        let c = load(
            "[[alerts.maintenance]]\nmatchers = { acquirer = \"acq-beta\" }\nat = \"23:30\"\nduration = \"1h\"\ndays = [\"sat\", \"sun\"]\n",
            &[],
        )
        .expect("valid");
        let m = &c.alerts.maintenance[0];
        // 2026-11-28 is a Saturday; Friday 27th 00:00 UTC to Tuesday 1st.
        let fri = 1_795_737_600_000;
        let day = 86_400_000;
        let got = m.occurrences(fri, fri + 4 * day);
        let sat_2330 = fri + day + (23 * 60 + 30) * 60_000;
        assert_eq!(
            got,
            [
                (sat_2330, sat_2330 + 3_600_000),
                (sat_2330 + day, sat_2330 + day + 3_600_000)
            ]
        );
    }

    #[test]
    fn a_bad_maintenance_window_names_its_key() {
        for (text, key) in [
            (
                "at = \"25:00\"\nduration = \"1h\"\ncause = \"network\"",
                "alerts.maintenance[0].at",
            ),
            (
                "at = \"02:00\"\nduration = \"1h\"",
                "alerts.maintenance[0].matchers",
            ),
            (
                "at = \"02:00\"\nduration = \"1h\"\nmatchers = { colour = \"red\" }",
                "alerts.maintenance[0].matchers",
            ),
            (
                "at = \"02:00\"\nduration = \"2days\"\ncause = \"network\"",
                "alerts.maintenance[0].duration",
            ),
            (
                "at = \"02:00\"\nduration = \"1h\"\ncause = \"network\"\ndays = [\"funday\"]",
                "alerts.maintenance[0].days",
            ),
        ] {
            let e = load(&format!("[[alerts.maintenance]]\n{text}\n"), &[]).expect_err(text);
            assert!(e.to_string().contains(key), "{e} should name {key}");
        }
    }

    #[test]
    fn a_threshold_out_of_range_names_its_key() {
        for (text, key) in [
            (
                "[detect]\nmin_pending_failures = 20",
                "detect.min_pending_failures",
            ),
            ("[detect]\nspike_p_value = 0.5", "detect.spike_p_value"),
            ("[detect]\nhw_error_run = 1", "detect.hw_error_run"),
            ("[incidents]\nfire_after = 0", "incidents.fire_after"),
            (
                "[incidents]\npage_failed_per_min = nan",
                "incidents.page_failed_per_min",
            ),
        ] {
            let e = load(text, &[]).expect_err(text);
            assert!(e.to_string().contains(key), "{e} should name {key}");
        }
    }

    /// The shipped config file, every key at its default.
    const SHIPPED: &str = include_str!("../../../config/swipewatch.toml");

    /// Values a hand-edited or generated file may hold where it should not.
    const HOSTILE: [&str; 16] = [
        "-1",
        "0",
        "18446744073709551616",
        "1e309",
        "nan",
        "-inf",
        "true",
        "\"\"",
        "\"not a value\"",
        "\"0s\"",
        "\"99999999999999999days\"",
        "\"-5s\"",
        "[]",
        "[1, \"a\"]",
        "{ x = 1 }",
        "\"\\u0000\"",
    ];

    /// Loads `text` as if it sat beside the shipped file.
    fn load_shipped(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        load_with(
            text,
            "swipewatch.toml",
            &dir,
            env.collect::<Vec<_>>().into_iter(),
        )
    }

    /// A failure is one line (what the operator reads before exit code 2).
    fn one_line(e: &ConfigError) -> bool {
        let text = e.to_string();
        !text.is_empty() && !text.contains('\n')
    }

    #[test]
    fn the_shipped_file_loads() {
        load_shipped(SHIPPED, &[]).expect("shipped config is valid");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics_and_fails_on_one_line(text in ".{0,400}") {
            if let Err(e) = load(&text, &[]) {
                proptest::prop_assert!(one_line(&e), "{e}");
            }
        }

        #[test]
        fn any_key_of_the_shipped_file_set_to_a_hostile_value_is_refused_by_name_or_kept(
            picks in proptest::collection::vec((0usize..64, 0usize..HOSTILE.len()), 1..4)
        ) {
            let mut lines: Vec<String> = SHIPPED.lines().map(str::to_string).collect();
            let keyed: Vec<usize> = (0..lines.len())
                .filter(|&i| {
                    let l = lines[i].trim_start();
                    !l.starts_with('#') && !l.starts_with('[') && l.contains(" = ")
                })
                .collect();
            let mut keys = Vec::new();
            for (k, v) in picks {
                let i = keyed[k % keyed.len()];
                let key = lines[i].split(" = ").next().unwrap_or_default().trim().to_string();
                lines[i] = format!("{key} = {}", HOSTILE[v]);
                keys.push(key);
            }
            match load_shipped(&lines.join("\n"), &[]) {
                Ok(_) => {}
                Err(e) => {
                    let text = e.to_string();
                    proptest::prop_assert!(one_line(&e), "{text}");
                    proptest::prop_assert!(
                        keys.iter().any(|k| text.contains(k.as_str())) || text.contains(" line "),
                        "{text} names none of {keys:?}"
                    );
                }
            }
        }

        #[test]
        fn hostile_environment_overrides_never_panic(
            path in "[A-Z_]{0,12}(__[A-Z_]{0,12}){0,3}",
            v in 0usize..HOSTILE.len(),
        ) {
            let key = format!("{ENV_PREFIX}{path}");
            if let Err(e) = load_shipped(SHIPPED, &[(key.as_str(), HOSTILE[v])]) {
                proptest::prop_assert!(one_line(&e), "{e}");
            }
        }
    }
}
