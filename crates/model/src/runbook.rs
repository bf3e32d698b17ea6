//! What on-call does first, by the side at fault, the signal that raised the
//! incident, and the failure class that leads its excess. The steps follow
//! the troubleshooting order operators use for each side, and name only
//! what an incident of that kind shows (its evidence lists the codes,
//! terminals, merchants and places).

use crate::cause::Cause;
use crate::signal::Signal;
use crate::taxonomy::OutcomeClass;

/// The runbook for an incident blamed on `cause`, raised by `signal`, whose
/// excess is led by `lead` (the class with the most excess failures).
pub fn runbook(cause: Cause, signal: Signal, lead: Option<OutcomeClass>) -> &'static str {
    use OutcomeClass as C;
    match (cause, signal) {
        (_, Signal::Tamper) => {
            "1. Treat the terminal as compromised: take it out of service now and tell the \
             merchant not to use it. 2. Tell security: the tamper switch fires when the case is \
             opened or something is fitted over the card slot or PIN pad. 3. Check the case, \
             card slot and PIN pad for overlays, and compare the serial number with the \
             inventory. 4. Its keys are erased: it goes back to the vendor's key-injection \
             facility, never back into service as it is."
        }
        (Cause::DeviceHardware, Signal::Missing) => {
            "1. The terminal has sent nothing, neither payments nor heartbeats, during its \
             trading hours: call the merchant to ask whether it is switched on, charged and \
             connected. 2. If the merchant no longer has it, treat it as lost or stolen: block \
             it in the terminal-management system and with the acquirer. 3. If it is on but \
             silent, check its SIM or network card and its signal. 4. If it will not start, \
             swap it."
        }
        (_, Signal::Missing) => {
            "1. Every terminal of this merchant, or many in this region, went silent during \
             trading hours: suspect power or the site's internet, not the terminals. 2. Call \
             the merchant, or check for a power cut or a carrier outage in the region. \
             3. Payments taken offline meanwhile arrive late. 4. If the site is simply closed, \
             correct its hours in the inventory."
        }
        (Cause::Network | Cause::BankAcquirer, Signal::HostUnreachable) => {
            "1. Many terminals there report they cannot reach their host while they still \
             reach swipewatch: the route to the host is broken, not the terminals. 2. Test the \
             host from that carrier and place (APN, VPN, firewall, certificates). 3. Expect \
             payments to be stored offline and uploaded late. 4. Escalate to the carrier or \
             the acquirer's network desk with the place and the start time."
        }
        (_, Signal::HostUnreachable) => {
            "1. This terminal reaches swipewatch but not its host, while the rest of the fleet \
             does: its own route is broken (SIM, APN, router, host address). 2. Check the \
             signal it reports and its APN and host settings in the terminal-management \
             system. 3. Reset its connection and re-test a payment. 4. Its payments are stored \
             offline meanwhile: check its queue before any reset."
        }
        (_, Signal::OfflineQueue) => {
            "1. The terminal trades offline: payments are approved locally and queued, at the \
             merchant's risk until they upload. 2. Check whether it reaches its host and the \
             signal it reports. 3. Start the upload (batch upload or settlement) from its menu \
             or the terminal-management system. 4. If the queue still grows, turn offline \
             trading off and swap the terminal; the queue must be uploaded before any reset."
        }
        (_, Signal::RebootLoop) => {
            "1. The terminal keeps restarting: ask the merchant whether it goes dark (power) or \
             restarts by itself (software). 2. Check the power supply, cable, base and \
             battery. 3. Check what was last installed on it (app, firmware, parameters) in the \
             terminal-management system and roll it back. 4. If it still restarts, swap it \
             and send it to after-sales service."
        }
        (_, Signal::BatteryLow) => {
            "1. The portable terminal's battery is nearly empty: ask the merchant to put it on \
             its base or charger. 2. If it drains again within a day, the battery or charger \
             is worn: schedule a battery swap."
        }
        (_, Signal::ClockDrift) => {
            "1. The terminal's clock is far from the time its messages arrive: check its time \
             synchronisation (NTP or the host's time download) in the terminal-management \
             system. 2. Set the clock by a sign-on or from the terminal-management system. \
             3. A wrong clock breaks certificate checks and dates offline payments wrongly: \
             check its queued payments. 4. If it drifts again, its clock battery is worn: \
             schedule a swap."
        }
        (Cause::DeviceHardware, Signal::Fallbacks) => {
            "1. The chip reader is wearing: chip reads fall back to the stripe while payments \
             still go through. 2. Clean the chip slot and check it for damage or debris. \
             3. Re-test with a known-good chip card. 4. Schedule a swap through after-sales \
             service before it fails outright (fallback payments carry more fraud liability)."
        }
        (Cause::DeviceHardware, _) if lead == Some(C::Comms) => {
            "1. This terminal loses its link where others on its carrier do not: check the \
             signal it reports and where it stands. 2. Check that its SIM or network card is \
             present and seated, and its cable or wifi if it has one. 3. Reset its connection \
             (APN, SIM, network settings) and re-test a payment. 4. If it keeps dropping, swap \
             the terminal and send it to after-sales service."
        }
        (Cause::DeviceHardware, _) => {
            "1. Ask the merchant what the display shows and whether the terminal beeps on a \
             card. 2. Check the card slot and contactless area for debris or damage, and the \
             keypad for stuck or dead keys. 3. Reseat the card-reader and PIN-pad modules, \
             the cables and the ports. 4. Re-test with a known-good card (chip, tap, swipe). \
             5. If it still fails, swap the terminal and send it to after-sales service."
        }
        (Cause::DeviceSoftware, _) => {
            "1. Compare the failing firmware, app or model with the versions beside it: when \
             did the failures start, and what was released then? 2. Halt the rollout. \
             3. Update or reinstall the payment app, firmware and drivers on the affected \
             terminals, or roll back. 4. Check that the release kept the network settings \
             (host address, APN, certificates) and reset the connection on a sample terminal. \
             5. Escalate to the terminal vendor with the version, the failing codes and \
             sample terminals."
        }
        (Cause::Network, Signal::Silence | Signal::MissingHeartbeats) => {
            "1. Terminals there stopped sending: check the carrier's status for that place. \
             2. If every carrier of a region went quiet at once, suspect a power cut or site \
             loss rather than a carrier. 3. Check a sample terminal's signal and that its SIM \
             or network card is present and active. 4. Escalate to the carrier with the place \
             and the start time. 5. Expect a late backlog of stored payments when the link \
             returns."
        }
        (Cause::Network, Signal::Latency) => {
            "1. Payments still go through, slowly: watch for timeouts. 2. Check the signal and \
             link type of the terminals there. 3. Test the round trip to the acquirer or bank \
             host from that carrier and place. 4. Tell the carrier before it fails."
        }
        (Cause::Network, _) => {
            "1. Check the signal and link state of the terminals there. 2. Check that their \
             SIM or network card is present and active (not suspended by the carrier). \
             3. Test connectivity from that carrier and place to the acquirer or bank host. \
             4. Reset the connection (APN, SIM) on a sample terminal and re-test. \
             5. Escalate to the carrier with the places and the start time."
        }
        (Cause::BankIssuer, Signal::Latency) => {
            "1. The issuer's host answers slowly; payments still go through. 2. Confirm with \
             the issuer or its processor whether it is overloaded. 3. Warn merchants that \
             its cards may time out; another card or payment method works meanwhile."
        }
        (Cause::BankIssuer, _) => {
            "1. Confirm the outage with the issuer or its processor (host down or \
             overloaded). 2. It is the issuer, not the cards: frozen accounts, limits or \
             disabled channels decline single cards, not an issuer's whole traffic. 3. Advise \
             merchants to offer another card or payment method, or to retry later. 4. Do not \
             touch terminals."
        }
        (Cause::BankAcquirer, Signal::Latency) => {
            "1. The acquirer or switch answers slowly; payments still go through. 2. Ask its \
             operations desk whether it is overloaded or in maintenance. 3. Warn merchants \
             that payments may time out."
        }
        (Cause::BankAcquirer, _) if lead == Some(C::Comms) => {
            "1. Terminals on several carriers cannot reach this acquirer: test its host from \
             outside (front end, VPN, firewall, certificates). 2. Check whether a cut-over or \
             maintenance is running. 3. Escalate to the acquirer's network and operations \
             desk. 4. Advise merchants to offer another payment method meanwhile."
        }
        (Cause::BankAcquirer, _) => {
            "1. Confirm with the acquirer or switch operations desk (96, 92, timeouts: a host \
             fault; 90: a cut-over). 2. Check whether a cut-over or maintenance is running. \
             3. Advise merchants to offer another payment method, or to wait for the host. \
             4. Do not touch terminals."
        }
        (Cause::MerchantConfig, _) => {
            "1. Check the merchant's terminal parameters (merchant id, terminal id, category \
             code, currency). 2. Re-download parameters or re-inject keys (03, 58, MAC and key \
             errors). 3. Check whether the merchant was just onboarded, changed, or disabled \
             for a channel. 4. Contact the merchant's onboarding team."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNALS: [Signal; 12] = Signal::ALL;

    #[test]
    fn every_cause_signal_and_lead_class_has_numbered_steps() {
        for cause in Cause::ALL {
            for signal in SIGNALS {
                for lead in OutcomeClass::ALL.map(Some).into_iter().chain([None]) {
                    let text = runbook(cause, signal, lead);
                    assert!(text.starts_with("1. ") && text.contains(" 2. "), "{text}");
                }
            }
        }
    }

    #[test]
    fn a_terminal_losing_its_link_gets_link_steps_and_a_dead_reader_gets_reader_steps() {
        let link = runbook(
            Cause::DeviceHardware,
            Signal::Failures,
            Some(OutcomeClass::Comms),
        );
        assert!(link.contains("SIM") && !link.contains("keypad"));
        let reader = runbook(
            Cause::DeviceHardware,
            Signal::Failures,
            Some(OutcomeClass::DeviceFault),
        );
        assert!(reader.contains("card slot") && reader.contains("after-sales"));
    }

    #[test]
    fn the_operations_guide_lists_every_runbook_as_the_code_has_it() {
        let guide = include_str!("../../../docs/OPERATIONS.md");
        for cause in Cause::ALL {
            for signal in SIGNALS {
                for lead in OutcomeClass::ALL.map(Some).into_iter().chain([None]) {
                    let text = runbook(cause, signal, lead);
                    assert!(guide.contains(text), "docs/OPERATIONS.md lacks: {text}");
                }
            }
        }
    }

    #[test]
    fn a_quiet_place_is_read_for_a_power_cut_and_a_slow_bank_does_not_say_it_failed() {
        assert!(runbook(Cause::Network, Signal::Silence, None).contains("power cut"));
        assert!(runbook(Cause::BankIssuer, Signal::Latency, None).contains("still go through"));
    }

    #[test]
    fn a_tampered_terminal_is_taken_out_of_service_whatever_side_it_is_counted_on() {
        for cause in Cause::ALL {
            assert!(runbook(cause, Signal::Tamper, None).contains("out of service"));
        }
        let own = runbook(Cause::DeviceHardware, Signal::HostUnreachable, None);
        let place = runbook(Cause::Network, Signal::HostUnreachable, None);
        assert!(own.contains("This terminal") && place.contains("Many terminals"));
    }
}
