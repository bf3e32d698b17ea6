//! What a finding is based on.

use serde::{Deserialize, Serialize};

/// The kind of evidence behind a finding.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Signal {
    /// More failures than expected.
    #[default]
    Failures,
    /// Fewer outcomes arrived than expected (the element went quiet).
    Silence,
    /// Fewer heartbeats arrived than expected (terminals went quiet while
    /// too few transactions flow to tell).
    MissingHeartbeats,
    /// The host round trip got slower than normal.
    Latency,
    /// A terminal falls back from chip to stripe far more than its model.
    Fallbacks,
    /// A terminal's tamper switch was triggered (security, never folded
    /// under another incident).
    Tamper,
    /// A terminal reports it cannot reach its host while the rest of the
    /// fleet reaches it (its own SIM, APN or router); for a place, many
    /// terminals there report it.
    HostUnreachable,
    /// A terminal's store-and-forward queue keeps growing: it trades
    /// offline and uploads nothing.
    OfflineQueue,
    /// A terminal restarts over and over (its uptime keeps resetting).
    RebootLoop,
    /// A portable terminal's battery is nearly empty.
    BatteryLow,
    /// A terminal's clock is far from the time its messages arrive.
    ClockDrift,
    /// Terminals of the inventory sent nothing (no payment, no heartbeat)
    /// for a while inside their trading hours: one terminal, or every one
    /// of a merchant or many of a region.
    Missing,
}

impl Signal {
    /// kebab-case name, as in the API and alert labels.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Failures => "failures",
            Signal::Silence => "silence",
            Signal::MissingHeartbeats => "missing-heartbeats",
            Signal::Latency => "latency",
            Signal::Fallbacks => "fallbacks",
            Signal::Tamper => "tamper",
            Signal::HostUnreachable => "host-unreachable",
            Signal::OfflineQueue => "offline-queue",
            Signal::RebootLoop => "reboot-loop",
            Signal::BatteryLow => "battery-low",
            Signal::ClockDrift => "clock-drift",
            Signal::Missing => "missing",
        }
    }

    /// Every signal, in declaration order.
    pub const ALL: [Signal; 12] = [
        Signal::Failures,
        Signal::Silence,
        Signal::MissingHeartbeats,
        Signal::Latency,
        Signal::Fallbacks,
        Signal::Tamper,
        Signal::HostUnreachable,
        Signal::OfflineQueue,
        Signal::RebootLoop,
        Signal::BatteryLow,
        Signal::ClockDrift,
        Signal::Missing,
    ];

    /// Read off a terminal's heartbeats (its health as a device), not off
    /// the outcomes of its payments.
    pub fn is_health(self) -> bool {
        matches!(
            self,
            Signal::Tamper
                | Signal::HostUnreachable
                | Signal::OfflineQueue
                | Signal::RebootLoop
                | Signal::BatteryLow
                | Signal::ClockDrift
                | Signal::Missing
        )
    }

    /// Based on traffic that did not arrive.
    pub fn is_silence(self) -> bool {
        matches!(
            self,
            Signal::Silence | Signal::MissingHeartbeats | Signal::Missing
        )
    }

    /// What the observed and expected figures count.
    pub fn unit(self) -> &'static str {
        match self {
            Signal::Failures => "failures",
            Signal::Silence => "outcomes",
            Signal::MissingHeartbeats => "heartbeats",
            Signal::Latency => "slow outcomes",
            Signal::Fallbacks => "fallbacks",
            Signal::Tamper => "tamper reports",
            Signal::HostUnreachable => "heartbeats without the host",
            Signal::OfflineQueue => "queued outcomes",
            Signal::RebootLoop => "restarts",
            Signal::BatteryLow => "% battery",
            Signal::ClockDrift => "seconds off",
            Signal::Missing => "terminals heard from",
        }
    }
}
