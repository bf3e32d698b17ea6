//! Scenario files: a fleet, a span of event time, and the faults injected
//! into it (`config/scenarios/*.toml`).

use crate::fleet::{
    FleetSpec, ACQUIRERS, FIRMWARE, FIXED_CARRIERS, ISSUERS, MOBILE_CARRIERS, REGIONS,
};
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;
use swipewatch_model::{Cause, Signal};

/// What is wrong during a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// One terminal's card reader fails every read (`terminal`).
    DeadReader,
    /// One terminal's PIN pad is dead (`terminal`): every chip
    /// transaction fails at PIN entry; contactless and swiped ones, which
    /// ask for no PIN here, still go through.
    DeadKeypad,
    /// A firmware version crashes or misreads cards (`firmware`).
    FirmwareRegression,
    /// A carrier's links drop, optionally only in one region (`carrier`,
    /// `region`); with `silence`, the affected terminals go quiet and send
    /// their outcomes late from store-and-forward after recovery.
    NetworkOutage,
    /// An issuer's host is down: 91 from the switch (`issuer`).
    IssuerOutage,
    /// An issuer's host errs (`issuer`): the switch passes on 96 (system
    /// malfunction) or the request times out, for that issuer's cards only.
    IssuerMalfunction,
    /// An acquirer or switch malfunctions: 96 and timeouts (`acquirer`).
    AcquirerMalfunction,
    /// An acquirer's host, front end or VPN cannot be reached (`acquirer`):
    /// its terminals lose the link to it on every carrier (lost links and
    /// timeouts, no response code).
    AcquirerUnreachable,
    /// A merchant's setup is broken: 03 / 58 (`merchant`).
    MerchantMisconfig,
    /// A scheduled acquirer cut-over: 90 (`acquirer`); covered by a
    /// maintenance window, it must not page.
    BankCutover,
    /// More cardholder declines (payday, a card-testing wave); optionally
    /// one `issuer`. Nobody's fault: must not raise an incident.
    DeclineSurge,
    /// An issuer's host gets slow (`issuer`): its round trip grows by a
    /// factor of 1 + 5 × severity, and nothing fails yet.
    IssuerSlowdown,
    /// One terminal's chip reader wears out (`terminal`): a `severity`
    /// share of its chip reads fail and the card is swiped instead
    /// (fallback); the payments still go through.
    ReaderWear,
    /// One terminal's tamper switch fires (`terminal`): its heartbeats
    /// report it; its payments go on (an overlay skims them).
    Tamper,
    /// One terminal reaches swipewatch but not its host (`terminal`: its
    /// APN or router route is broken): its heartbeats say so, and it
    /// trades offline, queueing its payments until the route returns.
    HostUnreachable,
    /// One terminal restarts every `3 min / severity` (`terminal`): its
    /// uptime resets.
    RebootLoop,
    /// One portable terminal's battery runs down from its usual level to
    /// `1 − severity` of it over the ramp (`terminal`).
    BatteryDrain,
    /// One terminal's clock runs ahead by up to `severity` × 15 minutes
    /// (`terminal`), as its heartbeats show.
    ClockDrift,
    /// One terminal is switched off, lost or broken (`terminal`): it sends
    /// nothing, neither payments nor heartbeats.
    TerminalOff,
    /// The power goes out in a region (`region`): a `severity` share of
    /// its terminals (every carrier's) send nothing.
    PowerCut,
}

impl FaultKind {
    /// The side at fault; `None` for the background surge.
    pub fn cause(self) -> Option<Cause> {
        Some(match self {
            FaultKind::DeadReader
            | FaultKind::DeadKeypad
            | FaultKind::ReaderWear
            | FaultKind::Tamper
            | FaultKind::HostUnreachable
            | FaultKind::BatteryDrain
            | FaultKind::TerminalOff => Cause::DeviceHardware,
            FaultKind::FirmwareRegression | FaultKind::RebootLoop | FaultKind::ClockDrift => {
                Cause::DeviceSoftware
            }
            FaultKind::NetworkOutage | FaultKind::PowerCut => Cause::Network,
            FaultKind::IssuerOutage | FaultKind::IssuerMalfunction | FaultKind::IssuerSlowdown => {
                Cause::BankIssuer
            }
            FaultKind::AcquirerMalfunction
            | FaultKind::AcquirerUnreachable
            | FaultKind::BankCutover => Cause::BankAcquirer,
            FaultKind::MerchantMisconfig => Cause::MerchantConfig,
            FaultKind::DeclineSurge => return None,
        })
    }

    /// snake_case name, as in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::DeadReader => "dead_reader",
            FaultKind::DeadKeypad => "dead_keypad",
            FaultKind::FirmwareRegression => "firmware_regression",
            FaultKind::NetworkOutage => "network_outage",
            FaultKind::IssuerOutage => "issuer_outage",
            FaultKind::IssuerMalfunction => "issuer_malfunction",
            FaultKind::AcquirerMalfunction => "acquirer_malfunction",
            FaultKind::AcquirerUnreachable => "acquirer_unreachable",
            FaultKind::MerchantMisconfig => "merchant_misconfig",
            FaultKind::BankCutover => "bank_cutover",
            FaultKind::DeclineSurge => "decline_surge",
            FaultKind::IssuerSlowdown => "issuer_slowdown",
            FaultKind::ReaderWear => "reader_wear",
            FaultKind::Tamper => "tamper",
            FaultKind::HostUnreachable => "host_unreachable",
            FaultKind::RebootLoop => "reboot_loop",
            FaultKind::BatteryDrain => "battery_drain",
            FaultKind::ClockDrift => "clock_drift",
            FaultKind::TerminalOff => "terminal_off",
            FaultKind::PowerCut => "power_cut",
        }
    }

    /// The signal a right finding of this fault rests on, where only one
    /// does (a device's health, read off its heartbeats).
    pub fn signal(self) -> Option<Signal> {
        Some(match self {
            FaultKind::Tamper => Signal::Tamper,
            FaultKind::HostUnreachable => Signal::HostUnreachable,
            FaultKind::RebootLoop => Signal::RebootLoop,
            FaultKind::BatteryDrain => Signal::BatteryLow,
            FaultKind::ClockDrift => Signal::ClockDrift,
            FaultKind::TerminalOff => Signal::Missing,
            _ => return None,
        })
    }

    /// Faults that leave the outcome of a payment that is made alone (a
    /// device's health, or no payment at all).
    pub fn spares_outcomes(self) -> bool {
        matches!(
            self,
            FaultKind::Tamper
                | FaultKind::HostUnreachable
                | FaultKind::RebootLoop
                | FaultKind::BatteryDrain
                | FaultKind::ClockDrift
                | FaultKind::TerminalOff
                | FaultKind::PowerCut
        )
    }

    /// One terminal is the target (`terminal`).
    pub fn is_single_terminal(self) -> bool {
        matches!(
            self,
            FaultKind::DeadReader
                | FaultKind::DeadKeypad
                | FaultKind::ReaderWear
                | FaultKind::Tamper
                | FaultKind::HostUnreachable
                | FaultKind::RebootLoop
                | FaultKind::BatteryDrain
                | FaultKind::ClockDrift
                | FaultKind::TerminalOff
        )
    }
}

/// One injected fault.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// What breaks.
    pub kind: FaultKind,
    /// Onset, after the scenario start.
    #[serde(with = "humantime_serde")]
    pub start: Duration,
    /// How long it lasts (ramp included).
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
    /// Time to reach full severity.
    #[serde(with = "humantime_serde", default)]
    pub ramp: Duration,
    /// Share of the targeted transactions that fail at full severity (0–1];
    /// for a decline surge, the extra decline probability.
    pub severity: f64,
    /// Target terminal id (`@busiest`: the fleet's busiest terminal).
    pub terminal: Option<String>,
    /// Target firmware version.
    pub firmware: Option<String>,
    /// Target carrier.
    pub carrier: Option<String>,
    /// Target region.
    pub region: Option<String>,
    /// Target issuer.
    pub issuer: Option<String>,
    /// Target acquirer.
    pub acquirer: Option<String>,
    /// Target merchant id.
    pub merchant: Option<String>,
    /// Network outages only: the link is down, not degraded.
    #[serde(default)]
    pub silence: bool,
}

/// A scheduled maintenance window ops declared in advance: incidents it
/// covers are silenced.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Maintenance {
    /// Acquirer under maintenance.
    pub acquirer: Option<String>,
    /// Issuer under maintenance.
    pub issuer: Option<String>,
    /// Start, after the scenario start.
    #[serde(with = "humantime_serde")]
    pub start: Duration,
    /// Length.
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
}

/// A scenario file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name.
    pub name: String,
    /// What it shows.
    #[serde(default)]
    pub description: String,
    /// Seed of the fleet and the traffic.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Fleet size.
    #[serde(default = "default_terminals")]
    pub terminals: u32,
    /// Median peak-hour transactions per terminal per hour.
    #[serde(default = "default_rate")]
    pub peak_txn_per_hour: f64,
    /// Event-time origin (RFC 3339).
    #[serde(default = "default_start")]
    pub start: chrono::DateTime<chrono::Utc>,
    /// Event time covered.
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
    /// Traffic follows the time of day (quiet nights); off, every hour is a
    /// peak hour (the demo, whatever the wall clock says).
    #[serde(default = "default_true")]
    pub diurnal: bool,
    /// Heartbeat period of every terminal.
    #[serde(with = "humantime_serde", default = "default_heartbeat")]
    pub heartbeat_interval: Duration,
    /// Detection knows the fleet's inventory (every terminal, trading
    /// round the clock), so terminals that go silent are missed.
    #[serde(default)]
    pub inventory: bool,
    /// When set, the faults recur with this period (the demo's looping story).
    #[serde(with = "humantime_serde", default)]
    pub repeat: Option<Duration>,
    /// Fault-free traffic before the faults' (and maintenance windows')
    /// time line starts: the history a running service would have had
    /// (the detector learns for its warm-up before it judges anything).
    #[serde(with = "humantime_serde", default)]
    pub lead_in: Duration,
    /// Injected faults.
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Declared maintenance windows.
    #[serde(default)]
    pub maintenance: Vec<Maintenance>,
}

fn default_true() -> bool {
    true
}
fn default_seed() -> u64 {
    1
}
fn default_terminals() -> u32 {
    20_000
}
fn default_rate() -> f64 {
    FleetSpec::default().peak_txn_per_hour
}
fn default_start() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_793_613_600, 0).unwrap_or_default() // 2026-11-02 10:00 UTC
}
fn default_heartbeat() -> Duration {
    Duration::from_secs(300)
}

/// Why a scenario cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario {path}: {source}")]
    Read {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Bad TOML or an unknown key.
    #[error("scenario {name}: {message}")]
    Parse {
        /// File or scenario name.
        name: String,
        /// The parser's one-line message.
        message: String,
    },
    /// A value that makes no sense.
    #[error("scenario {name}: {key}: {message}")]
    Invalid {
        /// Scenario name.
        name: String,
        /// Dotted key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

impl Scenario {
    /// Parses and validates scenario text; `name` labels errors.
    pub fn parse(text: &str, name: &str) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario = toml::from_str(text).map_err(|e| ScenarioError::Parse {
            name: name.to_string(),
            message: e.message().to_string(),
        })?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Reads a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Scenario::parse(&text, &path.display().to_string())
    }

    /// The fleet this scenario runs on.
    pub fn fleet_spec(&self) -> FleetSpec {
        FleetSpec {
            terminals: self.terminals,
            peak_txn_per_hour: self.peak_txn_per_hour,
            seed: self.seed,
            ..FleetSpec::default()
        }
    }

    fn validate(&self) -> Result<(), ScenarioError> {
        let bad = |key: String, message: String| ScenarioError::Invalid {
            name: self.name.clone(),
            key,
            message,
        };
        if self.terminals == 0 || self.terminals > 1_000_000 {
            return Err(bad("terminals".into(), "must be 1 to 1000000".into()));
        }
        if !(self.peak_txn_per_hour > 0.0 && self.peak_txn_per_hour <= 3600.0) {
            return Err(bad(
                "peak_txn_per_hour".into(),
                "must be in (0, 3600]".into(),
            ));
        }
        if self.duration.is_zero() {
            return Err(bad("duration".into(), "must be positive".into()));
        }
        if self.heartbeat_interval < Duration::from_secs(1) {
            return Err(bad(
                "heartbeat_interval".into(),
                "must be at least 1s".into(),
            ));
        }
        for (i, f) in self.faults.iter().enumerate() {
            let key = |k: &str| format!("faults[{i}].{k}");
            if !(f.severity > 0.0 && f.severity <= 1.0) {
                return Err(bad(key("severity"), "must be in (0, 1]".into()));
            }
            if f.ramp > f.duration {
                return Err(bad(key("ramp"), "longer than the fault".into()));
            }
            if let Some(period) = self.repeat {
                if f.start + f.duration > period {
                    return Err(bad(key("duration"), "runs past the repeat period".into()));
                }
            }
            let need = |field: &Option<String>, name: &str, known: &[&str]| match field {
                None => Err(bad(key(name), format!("required for {}", f.kind.name()))),
                Some(v) if !known.is_empty() && !known.contains(&v.as_str()) => Err(bad(
                    key(name),
                    format!("unknown value `{v}` (known: {})", known.join(", ")),
                )),
                Some(_) => Ok(()),
            };
            let firmware: Vec<&str> = FIRMWARE.iter().flatten().copied().collect();
            let carriers: Vec<&str> = MOBILE_CARRIERS
                .iter()
                .chain(&FIXED_CARRIERS)
                .copied()
                .collect();
            let issuers: Vec<&str> = ISSUERS.iter().map(|i| i.0).collect();
            match f.kind {
                k if k.is_single_terminal() => {
                    need(&f.terminal, "terminal", &[])?;
                    let id = f.terminal.as_deref().unwrap_or_default();
                    let index = id.strip_prefix("pos-").and_then(|n| n.parse::<u32>().ok());
                    if id != crate::generate::BUSIEST && index.is_none_or(|n| n >= self.terminals) {
                        return Err(bad(
                            key("terminal"),
                            format!(
                                "`{id}` is not in the fleet (pos-000000 to pos-{:06}, or @busiest)",
                                self.terminals - 1
                            ),
                        ));
                    }
                }
                FaultKind::FirmwareRegression => need(&f.firmware, "firmware", &firmware)?,
                FaultKind::NetworkOutage => {
                    need(&f.carrier, "carrier", &carriers)?;
                    if f.region.is_some() {
                        need(&f.region, "region", &REGIONS)?;
                    }
                }
                FaultKind::IssuerOutage
                | FaultKind::IssuerMalfunction
                | FaultKind::IssuerSlowdown => need(&f.issuer, "issuer", &issuers)?,
                FaultKind::AcquirerMalfunction
                | FaultKind::AcquirerUnreachable
                | FaultKind::BankCutover => need(&f.acquirer, "acquirer", &ACQUIRERS)?,
                FaultKind::MerchantMisconfig => need(&f.merchant, "merchant", &[])?,
                FaultKind::PowerCut => need(&f.region, "region", &REGIONS)?,
                FaultKind::DeclineSurge if f.issuer.is_some() => {
                    need(&f.issuer, "issuer", &issuers)?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = r#"
        name = "issuer"
        duration = "30m"
        [[faults]]
        kind = "issuer_outage"
        issuer = "northbank"
        start = "20m"
        duration = "5m"
        ramp = "30s"
        severity = 0.9
    "#;

    #[test]
    fn a_scenario_file_parses_with_defaults() {
        let s = Scenario::parse(ISSUER, "t").expect("valid");
        assert_eq!(s.terminals, 20_000);
        assert_eq!(s.faults[0].kind, FaultKind::IssuerOutage);
        assert_eq!(s.faults[0].ramp, Duration::from_secs(30));
        assert_eq!(s.start.to_rfc3339(), "2026-11-02T10:00:00+00:00");
    }

    #[test]
    fn bad_scenarios_name_the_key() {
        let cases = [
            (
                ISSUER.replace("northbank", "nobank"),
                "faults[0].issuer: unknown value `nobank`",
            ),
            (ISSUER.replace("0.9", "1.5"), "faults[0].severity"),
            (
                ISSUER.replace("issuer = \"northbank\"", ""),
                "faults[0].issuer: required",
            ),
            (
                ISSUER.replace("ramp = \"30s\"", "ramp = \"10m\""),
                "faults[0].ramp",
            ),
            (
                ISSUER.replace("kind = \"issuer_outage\"", "kind = \"meteor\""),
                "unknown variant",
            ),
            (format!("{ISSUER}\nextra = 1"), "unknown field"),
        ];
        for (text, want) in cases {
            let err = Scenario::parse(&text, "t").expect_err(want).to_string();
            assert!(err.contains(want), "{err} should contain {want}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }
}
