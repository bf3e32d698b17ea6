//! What a finding is based on.

use serde::{Deserialize, Serialize};

/// The kind of evidence behind a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
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
        }
    }

    /// Based on traffic that did not arrive.
    pub fn is_silence(self) -> bool {
        matches!(self, Signal::Silence | Signal::MissingHeartbeats)
    }

    /// What the observed and expected figures count.
    pub fn unit(self) -> &'static str {
        match self {
            Signal::Failures => "failures",
            Signal::Silence => "outcomes",
            Signal::MissingHeartbeats => "heartbeats",
            Signal::Latency => "slow outcomes",
            Signal::Fallbacks => "fallbacks",
        }
    }
}
