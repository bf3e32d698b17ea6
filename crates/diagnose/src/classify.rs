//! Naming the side at fault.
//!
//! Two kinds of evidence meet here: *where* the excess is (the dimensions of
//! the localized element) and *what* failed (the failure classes carrying
//! the excess). Each cause claims some dimensions and some classes:
//!
//! | cause | dimensions | classes |
//! |---|---|---|
//! | bank-issuer | issuer | issuer unavailable, issuer policy decline, host timeout; acquirer/switch error (96) when the element names no acquirer |
//! | bank-acquirer | acquirer, scheme | acquirer/switch error, host timeout, issuer unavailable |
//! | network | carrier, net type, cell, region | comms, host timeout |
//! | device-software | firmware, app, model, entry mode | device fault |
//! | merchant-config | merchant | terminal config |
//!
//! The cause whose dimensions the element uses wins if the failure classes
//! agree with it (at least half the excess in its classes). When they
//! disagree, the element alone is not trusted: an issuer element failing
//! with comms errors is not a bank outage. One exception: an acquirer
//! element failing with comms errors on several carriers is the acquirer's
//! host, front end or VPN, unreachable from every network. Spread over the other dimensions
//! then raises or lowers confidence: a bank outage spans many carriers and
//! regions, a carrier outage spans many issuers and acquirers.
//! (device-hardware is decided per terminal, not here.)

use swipewatch_model::{Cause, Dim, OutcomeClass};

fn claims_dim(cause: Cause, dim: Dim) -> bool {
    use Dim::*;
    match cause {
        Cause::BankIssuer => dim == Issuer,
        Cause::BankAcquirer => matches!(dim, Acquirer | Scheme),
        Cause::Network => matches!(dim, Carrier | NetType | Cell | Region),
        Cause::DeviceSoftware => matches!(dim, Firmware | App | Model | EntryMode),
        Cause::MerchantConfig => dim == Merchant,
        Cause::DeviceHardware => false,
    }
}

/// The side a dimension alone points at (the first cause claiming it):
/// what a latency finding on one value blames.
pub fn cause_of_dim(dim: Dim) -> Option<Cause> {
    Cause::ALL.into_iter().find(|c| claims_dim(*c, dim))
}

fn claims_class(cause: Cause, class: OutcomeClass) -> bool {
    use OutcomeClass::*;
    match cause {
        Cause::BankIssuer => matches!(class, IssuerUnavailable | IssuerPolicyDecline | HostTimeout),
        Cause::BankAcquirer => {
            matches!(class, AcquirerSwitchError | HostTimeout | IssuerUnavailable)
        }
        Cause::Network => matches!(class, Comms | HostTimeout),
        Cause::DeviceSoftware | Cause::DeviceHardware => class == DeviceFault,
        Cause::MerchantConfig => class == TerminalConfig,
    }
}

/// The dimensions whose spread supports each cause (a bank outage spans many
/// network values, a network outage many bank values).
fn spread_dims(cause: Cause) -> &'static [Dim] {
    match cause {
        Cause::BankIssuer | Cause::BankAcquirer => &[Dim::Carrier, Dim::Region, Dim::NetType],
        Cause::Network => &[Dim::Issuer, Dim::Acquirer],
        Cause::DeviceSoftware => &[Dim::Carrier, Dim::Issuer, Dim::Region],
        Cause::MerchantConfig | Cause::DeviceHardware => &[],
    }
}

/// How many distinct values of a dimension the element's excess covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// The dimension.
    pub dim: Dim,
    /// Distinct values with excess failures inside the element.
    pub values: u32,
}

/// The verdict on one localized element.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Who is at fault.
    pub cause: Cause,
    /// 0–1: agreement of classes with the element, raised by spread.
    pub confidence: f64,
}

/// An acquirer's host, front end or VPN that terminals cannot reach: an
/// acquirer element (on no network value) whose links fail on several
/// carriers. One carrier's route would be localized to that carrier.
fn acquirer_unreachable(dims: &[Dim], spread: &[Spread]) -> bool {
    dims.iter().any(|&d| claims_dim(Cause::BankAcquirer, d))
        && !dims.iter().any(|&d| claims_dim(Cause::Network, d))
        && spread
            .iter()
            .any(|s| s.dim == Dim::Carrier && s.values >= 2)
}

/// Classifies an element with dimensions `dims`, excess per failure class
/// `class_excess`, and the spread of that excess over other dimensions.
/// `None` when where and what disagree.
pub fn classify(
    dims: &[Dim],
    class_excess: &[(OutcomeClass, f64)],
    spread: &[Spread],
) -> Option<Verdict> {
    let total: f64 = class_excess.iter().map(|(_, e)| e.max(0.0)).sum();
    if total <= 0.0 || dims.is_empty() {
        return None;
    }
    // Most specific claim first: bank and merchant elements before network
    // ones (an issuer × region element is an issuer problem seen in one region).
    let order = [
        Cause::BankIssuer,
        Cause::BankAcquirer,
        Cause::MerchantConfig,
        Cause::DeviceSoftware,
        Cause::Network,
    ];
    // A switch passes an issuer's host errors on as 96: on an issuer
    // element that names no acquirer, 96 is the issuer's.
    let on_acquirer = dims.iter().any(|&d| claims_dim(Cause::BankAcquirer, d));
    let claims = |cause: Cause, class: OutcomeClass| {
        claims_class(cause, class)
            || (cause == Cause::BankIssuer
                && class == OutcomeClass::AcquirerSwitchError
                && !on_acquirer)
    };
    let agreement = |cause: Cause| {
        class_excess
            .iter()
            .filter(|(c, _)| claims(cause, *c))
            .map(|(_, e)| e.max(0.0))
            .sum::<f64>()
            / total
    };
    let (cause, agree) = order
        .into_iter()
        .filter(|&c| dims.iter().any(|&d| claims_dim(c, d)))
        .map(|c| (c, agreement(c)))
        .find(|&(_, a)| a >= 0.5)
        .or_else(|| {
            acquirer_unreachable(dims, spread)
                .then(|| (Cause::BankAcquirer, agreement(Cause::Network)))
        })
        .filter(|&(_, a)| a >= 0.5)?;
    let wanted = spread_dims(cause);
    let support: Vec<f64> = spread
        .iter()
        .filter(|s| wanted.contains(&s.dim))
        .map(|s| (f64::from(s.values) / 3.0).min(1.0))
        .collect();
    let spread_score = if support.is_empty() {
        0.5
    } else {
        support.iter().sum::<f64>() / support.len() as f64
    };
    Some(Verdict {
        cause,
        confidence: (0.6 * agree + 0.4 * spread_score).clamp(0.0, 1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use OutcomeClass::*;

    fn spread(pairs: &[(Dim, u32)]) -> Vec<Spread> {
        pairs
            .iter()
            .map(|&(dim, values)| Spread { dim, values })
            .collect()
    }

    #[test]
    fn an_issuer_failing_with_91_across_carriers_is_a_bank_issuer_outage() {
        let v = classify(
            &[Dim::Issuer],
            &[(IssuerUnavailable, 900.0), (HostTimeout, 50.0)],
            &spread(&[(Dim::Carrier, 5), (Dim::Region, 8)]),
        )
        .expect("verdict");
        assert_eq!(v.cause, Cause::BankIssuer);
        assert!(v.confidence > 0.9, "{}", v.confidence);
    }

    #[test]
    fn an_acquirer_failing_with_96_is_the_acquirer_or_switch() {
        let v = classify(
            &[Dim::Acquirer],
            &[(AcquirerSwitchError, 700.0)],
            &spread(&[(Dim::Carrier, 4)]),
        )
        .expect("verdict");
        assert_eq!(v.cause, Cause::BankAcquirer);
    }

    #[test]
    fn a_carrier_in_a_region_losing_its_link_is_the_network() {
        let v = classify(
            &[Dim::Carrier, Dim::Region],
            &[(Comms, 400.0), (HostTimeout, 100.0)],
            &spread(&[(Dim::Issuer, 12), (Dim::Acquirer, 3)]),
        )
        .expect("verdict");
        assert_eq!(v.cause, Cause::Network);
    }

    #[test]
    fn a_firmware_cohort_with_reader_errors_is_device_software() {
        let v = classify(&[Dim::Firmware], &[(DeviceFault, 300.0)], &[]).expect("verdict");
        assert_eq!(v.cause, Cause::DeviceSoftware);
    }

    #[test]
    fn a_merchant_with_03_and_58_is_merchant_config() {
        let v = classify(&[Dim::Merchant], &[(TerminalConfig, 40.0)], &[]).expect("verdict");
        assert_eq!(v.cause, Cause::MerchantConfig);
    }

    #[test]
    fn an_issuer_element_failing_with_comms_errors_is_not_blamed_on_the_bank() {
        assert_eq!(classify(&[Dim::Issuer], &[(Comms, 500.0)], &[]), None);
    }

    #[test]
    fn policy_declines_not_concentrated_on_an_issuer_name_nobody() {
        // A region-wide rise of issuer policy declines: no network class, no issuer element.
        assert_eq!(
            classify(&[Dim::Region], &[(IssuerPolicyDecline, 500.0)], &[]),
            None
        );
    }

    #[test]
    fn narrow_spread_lowers_confidence() {
        let wide = classify(
            &[Dim::Issuer],
            &[(IssuerUnavailable, 900.0)],
            &spread(&[(Dim::Carrier, 5), (Dim::Region, 6)]),
        )
        .expect("v");
        let narrow = classify(
            &[Dim::Issuer],
            &[(IssuerUnavailable, 900.0)],
            &spread(&[(Dim::Carrier, 1), (Dim::Region, 1)]),
        )
        .expect("v");
        assert!(narrow.confidence < wide.confidence);
    }
}
