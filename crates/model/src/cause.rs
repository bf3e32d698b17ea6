//! The sides an incident can be blamed on, and what on-call does about each.

use serde::{Deserialize, Serialize};

/// Who is at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// Card reader, chip/stripe module, PIN pad, display or connectors of a terminal.
    DeviceHardware,
    /// Terminal OS, payment app or firmware, on one terminal or a version cohort.
    DeviceSoftware,
    /// Mobile carrier, link type, cell or regional connectivity.
    Network,
    /// Card issuer host down or overloaded.
    BankIssuer,
    /// Acquirer or switch host down, overloaded or misrouting.
    BankAcquirer,
    /// Merchant or terminal configuration (parameters, keys, merchant setup).
    MerchantConfig,
}

impl Cause {
    /// Every cause, in declaration order.
    pub const ALL: [Cause; 6] = [
        Cause::DeviceHardware,
        Cause::DeviceSoftware,
        Cause::Network,
        Cause::BankIssuer,
        Cause::BankAcquirer,
        Cause::MerchantConfig,
    ];

    /// kebab-case name, as in labels and the API.
    pub fn name(self) -> &'static str {
        match self {
            Cause::DeviceHardware => "device-hardware",
            Cause::DeviceSoftware => "device-software",
            Cause::Network => "network",
            Cause::BankIssuer => "bank-issuer",
            Cause::BankAcquirer => "bank-acquirer",
            Cause::MerchantConfig => "merchant-config",
        }
    }

    /// Bank and network causes page on-call; device causes go to the
    /// field-service queue and merchant configuration to the onboarding team.
    pub fn pages(self) -> bool {
        matches!(
            self,
            Cause::Network | Cause::BankIssuer | Cause::BankAcquirer
        )
    }

    /// What on-call does first for a failure spike blamed on this side
    /// (see [`crate::runbook::runbook`] for the other signals).
    pub fn runbook(self) -> &'static str {
        crate::runbook::runbook(self, crate::Signal::Failures, None)
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bank_and_network_causes_page() {
        let paging: Vec<_> = Cause::ALL.into_iter().filter(|c| c.pages()).collect();
        assert_eq!(
            paging,
            [Cause::Network, Cause::BankIssuer, Cause::BankAcquirer]
        );
    }

    #[test]
    fn every_cause_has_a_runbook() {
        assert!(Cause::ALL.into_iter().all(|c| c.runbook().len() > 40));
    }
}
