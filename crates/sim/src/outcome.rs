//! How one simulated transaction ends: the faults that hit it, else the
//! background of declines and local errors.

use super::*;

/// Background response codes: code, class of evidence, rc_source, probability.
const BACKGROUND: [(&str, &str, f64); 11] = [
    ("51", "issuer", 0.024),
    ("55", "issuer", 0.009),
    ("54", "issuer", 0.004),
    ("61", "issuer", 0.002),
    ("57", "issuer", 0.001),
    ("05", "issuer", 0.007),
    ("59", "issuer", 0.0005),
    ("91", "network", 0.0002),
    ("96", "acquirer", 0.00015),
    ("03", "acquirer", 0.00003),
    ("12", "acquirer", 0.0001),
];

/// What one transaction ended as.
#[derive(Debug, Clone, Copy)]
pub(super) struct Result {
    pub(super) status: &'static str,
    pub(super) rc: Option<&'static str>,
    pub(super) rc_source: Option<&'static str>,
    pub(super) term_error: Option<&'static str>,
    pub(super) latency_ms: Option<u32>,
}

impl Result {
    pub(super) fn code(
        status: &'static str,
        rc: &'static str,
        source: &'static str,
        latency: f64,
    ) -> Result {
        Result {
            status,
            rc: Some(rc),
            rc_source: Some(source),
            term_error: None,
            latency_ms: Some(latency as u32),
        }
    }
    pub(super) fn local(status: &'static str, error: &'static str, latency: Option<f64>) -> Result {
        Result {
            status,
            rc: None,
            rc_source: None,
            term_error: Some(error),
            latency_ms: latency.map(|l| l as u32),
        }
    }
}

/// How a transaction ends: the first active fault that hits it decides, else
/// the background of declines and local errors.
pub(super) fn outcome(
    rng: &mut Rng,
    faults: &[Fault],
    t: &Terminal,
    ti: usize,
    issuer: usize,
    mode: &str,
    active: &[(usize, f64)],
) -> Result {
    {
        let net = NET_TYPES[t.net as usize];
        let mut latency = rng.log_normal(net.2, 0.35);
        for &(i, sev) in active {
            let f = &faults[i];
            if !hits(f, t, ti, issuer) {
                continue;
            }
            match f.kind {
                FaultKind::NetworkOutage => latency *= 2.5,
                FaultKind::IssuerSlowdown => {
                    latency *= 1.0 + 5.0 * sev;
                    continue;
                }
                FaultKind::ReaderWear => continue,
                k if k.spares_outcomes() => continue,
                _ => {}
            }
            if !rng.chance(sev) {
                continue;
            }
            return match f.kind {
                FaultKind::DeadReader => Result::local("failed", reader_error(mode), None),
                FaultKind::DeadKeypad if mode == "chip" => {
                    Result::local("failed", "pinpad_error", None)
                }
                FaultKind::DeadKeypad => continue,
                FaultKind::FirmwareRegression => {
                    let e = if rng.chance(0.7) {
                        "app_exception"
                    } else {
                        reader_error(mode)
                    };
                    Result::local("failed", e, None)
                }
                FaultKind::NetworkOutage if f.silence => continue,
                FaultKind::NetworkOutage | FaultKind::AcquirerUnreachable => {
                    if rng.chance(0.7) {
                        Result::local("failed", "comm_lost", None)
                    } else {
                        Result::local("timeout", "host_timeout", Some(30_000.0))
                    }
                }
                FaultKind::IssuerOutage => {
                    Result::code("declined", "91", "network", rng.log_normal(2_800.0, 0.3))
                }
                FaultKind::IssuerMalfunction => {
                    if rng.chance(0.6) {
                        Result::code("declined", "96", "network", latency)
                    } else {
                        Result::local("timeout", "host_timeout", Some(30_000.0))
                    }
                }
                FaultKind::AcquirerMalfunction => {
                    if rng.chance(0.75) {
                        Result::code("declined", "96", "acquirer", latency)
                    } else {
                        Result::local("timeout", "host_timeout", Some(30_000.0))
                    }
                }
                FaultKind::MerchantMisconfig => {
                    let rc = if rng.chance(0.6) { "03" } else { "58" };
                    Result::code("declined", rc, "acquirer", latency)
                }
                FaultKind::BankCutover => Result::code("declined", "90", "acquirer", latency * 0.5),
                FaultKind::DeclineSurge => {
                    let u = rng.unit();
                    let rc = if u < 0.7 {
                        "51"
                    } else if u < 0.85 {
                        "61"
                    } else {
                        "65"
                    };
                    Result::code("declined", rc, "issuer", latency)
                }
                // Slowdowns, worn readers and faults that spare outcomes
                // went on above.
                _ => continue,
            };
        }
        // Background.
        let reader_p = match mode {
            "chip" | "fallback" => 0.002,
            "swipe" => 0.005,
            "contactless" => 0.001,
            _ => 0.0,
        };
        if rng.chance(reader_p) {
            return Result::local("failed", reader_error(mode), None);
        }
        let weak = if t.rssi_dbm < -95 && t.rssi_dbm != 0 {
            3.0
        } else {
            1.0
        };
        if rng.chance(net.3 * weak) {
            return Result::local("failed", "comm_lost", None);
        }
        if rng.chance(0.0004) {
            return Result::local("timeout", "host_timeout", Some(30_000.0));
        }
        if rng.chance(0.004) {
            return Result::local("cancelled", "user_cancel", None);
        }
        let mut u = rng.unit();
        for (rc, source, p) in BACKGROUND {
            if u < p {
                return Result::code("declined", rc, source, latency);
            }
            u -= p;
        }
        Result::code("approved", "00", "issuer", latency)
    }
}

pub(super) fn reader_error(mode: &str) -> &'static str {
    match mode {
        "swipe" => "swipe_error",
        "contactless" => "ctls_error",
        _ => "chip_read_error",
    }
}
