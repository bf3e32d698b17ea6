//! The simulated fleet: terminals with their merchant, place, link, hardware
//! and software, in skewed proportions, and the card issuers they see.
//! Deterministic from a seed.

use crate::rng::{zipf, Alias, Rng};

/// Regions, largest first.
pub const REGIONS: [&str; 8] = [
    "central",
    "north",
    "coast",
    "east",
    "south",
    "west",
    "lakes",
    "highlands",
];
/// Mobile carriers, largest first.
pub const MOBILE_CARRIERS: [&str; 4] = ["airwave", "telnova", "skylink", "mobicom"];
/// Fixed-line providers (wifi and ethernet terminals).
pub const FIXED_CARRIERS: [&str; 2] = ["fibrenet", "cablecore"];
/// Terminal models, most common first.
pub const MODELS: [&str; 4] = ["px-300", "a920", "vx-680", "px-200"];
/// Firmware versions per model (index matches [`MODELS`]), newest first.
pub const FIRMWARE: [[&str; 3]; 4] = [
    ["px3-5.2.1", "px3-5.1.4", "px3-5.0.9"],
    ["a9-3.8.0", "a9-3.7.2", "a9-3.6.5"],
    ["vx-2.14.0", "vx-2.13.3", "vx-2.12.8"],
    ["px2-4.9.7", "px2-4.9.2", "px2-4.8.1"],
];
/// Payment application versions, most deployed first.
pub const APPS: [&str; 3] = ["pay-8.0.2", "pay-7.9.0", "pay-7.8.1"];
/// Acquirers, largest first.
pub const ACQUIRERS: [&str; 4] = ["acq-alpha", "acq-beta", "acq-gamma", "acq-delta"];
/// Card issuers: name, scheme, first BIN digits. Largest first.
pub const ISSUERS: [(&str, &str, u32); 12] = [
    ("northbank", "visa", 4_111),
    ("citizens-trust", "mastercard", 5_212),
    ("harbor-savings", "visa", 4_556),
    ("metro-credit", "mastercard", 5_425),
    ("pioneer-bank", "visa", 4_929),
    ("unionfirst", "mastercard", 5_105),
    ("alpine-cu", "visa", 4_024),
    ("sunrise-bank", "mastercard", 5_555),
    ("dragon-bank", "unionpay", 6_212),
    ("eastern-card", "visa", 4_485),
    ("jade-credit", "unionpay", 6_250),
    ("coastal-fin", "mastercard", 5_399),
];

/// Link types: name, share of the fleet, median round trip (ms), base
/// probability of a lost link per transaction.
pub const NET_TYPES: [(&str, f64, f64, f64); 4] = [
    ("4g", 0.68, 650.0, 0.0008),
    ("3g", 0.08, 1300.0, 0.0025),
    ("wifi", 0.14, 420.0, 0.0006),
    ("ethernet", 0.10, 320.0, 0.0002),
];

/// How big a fleet to build.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FleetSpec {
    /// Number of terminals.
    pub terminals: u32,
    /// Terminals per merchant, on average.
    pub terminals_per_merchant: f64,
    /// Median peak-hour transactions per terminal per hour.
    pub peak_txn_per_hour: f64,
    /// Seed.
    pub seed: u64,
}

impl Default for FleetSpec {
    fn default() -> Self {
        FleetSpec {
            terminals: 20_000,
            terminals_per_merchant: 4.0,
            peak_txn_per_hour: 12.0,
            seed: 1,
        }
    }
}

/// One terminal. Attributes are indexes into the name tables.
#[derive(Debug, Clone, PartialEq)]
pub struct Terminal {
    /// Terminal id, e.g. `pos-000042`.
    pub id: String,
    /// Merchant index.
    pub merchant: u32,
    /// Index into [`REGIONS`].
    pub region: u8,
    /// Index into [`NET_TYPES`].
    pub net: u8,
    /// Carrier name.
    pub carrier: &'static str,
    /// Radio cell (mobile links only).
    pub cell: Option<u32>,
    /// Index into [`MODELS`].
    pub model: u8,
    /// Index into the model's [`FIRMWARE`] row.
    pub firmware: u8,
    /// Index into [`APPS`].
    pub app: u8,
    /// Index into [`ACQUIRERS`].
    pub acquirer: u8,
    /// Peak-hour transactions per hour.
    pub peak_rate: f64,
    /// Typical received signal strength (mobile links).
    pub rssi_dbm: i16,
}

impl Terminal {
    /// Region name.
    pub fn region_name(&self) -> &'static str {
        REGIONS[self.region as usize]
    }
    /// Link type name.
    pub fn net_name(&self) -> &'static str {
        NET_TYPES[self.net as usize].0
    }
    /// Model name.
    pub fn model_name(&self) -> &'static str {
        MODELS[self.model as usize]
    }
    /// Firmware version.
    pub fn firmware_name(&self) -> &'static str {
        FIRMWARE[self.model as usize][self.firmware as usize]
    }
    /// App version.
    pub fn app_name(&self) -> &'static str {
        APPS[self.app as usize]
    }
    /// Acquirer name.
    pub fn acquirer_name(&self) -> &'static str {
        ACQUIRERS[self.acquirer as usize]
    }
    /// Merchant id.
    pub fn merchant_id(&self) -> String {
        merchant_id(self.merchant)
    }
}

/// The id of merchant `index`.
pub fn merchant_id(index: u32) -> String {
    format!("m-{index:05}")
}

/// The id of terminal `index`.
pub fn terminal_id(index: u32) -> String {
    format!("pos-{index:06}")
}

/// A generated fleet.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// Terminals; terminal `i` has id [`terminal_id`]`(i)`.
    pub terminals: Vec<Terminal>,
    /// Number of merchants.
    pub merchants: u32,
    /// Draws a terminal in proportion to its traffic.
    pub by_traffic: Alias,
    /// Sum of the terminals' peak-hour rates, per hour.
    pub peak_rate: f64,
    /// Draws an issuer (index into [`ISSUERS`]) in proportion to its card share.
    pub issuers: Alias,
}

impl Fleet {
    /// Builds the fleet of `spec`.
    pub fn new(spec: &FleetSpec) -> Fleet {
        let mut rng = Rng::new(spec.seed);
        let merchants =
            ((f64::from(spec.terminals) / spec.terminals_per_merchant).ceil() as u32).max(1);
        // Merchants: each has a region and an acquirer; chains are few and big.
        let merchant_size = Alias::new(&zipf(merchants as usize, 0.9));
        let region_of = Alias::new(&zipf(REGIONS.len(), 0.8));
        let acquirer_of = Alias::new(&zipf(ACQUIRERS.len(), 0.7));
        let mut mrng = rng.fork(1);
        let merchant_place: Vec<(u8, u8, f64)> = (0..merchants)
            .map(|_| {
                (
                    region_of.sample(&mut mrng) as u8,
                    acquirer_of.sample(&mut mrng) as u8,
                    mrng.log_normal(1.0, 0.6),
                )
            })
            .collect();
        let net_of = Alias::new(&NET_TYPES.map(|n| n.1));
        let model_of = Alias::new(&zipf(MODELS.len(), 0.7));
        let firmware_of = Alias::new(&[0.62, 0.30, 0.08]);
        let app_of = Alias::new(&[0.55, 0.35, 0.10]);
        let mut trng = rng.fork(2);
        let terminals: Vec<Terminal> = (0..spec.terminals)
            .map(|i| {
                let merchant = merchant_size.sample(&mut trng) as u32;
                let (region, acquirer, busy) = merchant_place[merchant as usize];
                let net = net_of.sample(&mut trng) as u8;
                let mobile = net < 2;
                // Each region leans to a different leading carrier.
                let carrier = if mobile {
                    let lead = region as usize % MOBILE_CARRIERS.len();
                    let k = Alias::new(&zipf(MOBILE_CARRIERS.len(), 1.0)).sample(&mut trng);
                    MOBILE_CARRIERS[(lead + k) % MOBILE_CARRIERS.len()]
                } else {
                    FIXED_CARRIERS[trng.below(FIXED_CARRIERS.len())]
                };
                let cell = mobile.then(|| u32::from(region) * 1000 + trng.below(40) as u32);
                Terminal {
                    id: terminal_id(i),
                    merchant,
                    region,
                    net,
                    carrier,
                    cell,
                    model: model_of.sample(&mut trng) as u8,
                    firmware: firmware_of.sample(&mut trng) as u8,
                    app: app_of.sample(&mut trng) as u8,
                    acquirer,
                    peak_rate: busy * trng.log_normal(spec.peak_txn_per_hour, 0.7),
                    rssi_dbm: if mobile {
                        (-75.0 + 10.0 * trng.normal()).clamp(-115.0, -50.0) as i16
                    } else {
                        0
                    },
                }
            })
            .collect();
        let rates: Vec<f64> = terminals.iter().map(|t| t.peak_rate).collect();
        Fleet {
            peak_rate: rates.iter().sum(),
            by_traffic: Alias::new(&rates),
            merchants,
            terminals,
            issuers: Alias::new(&zipf(ISSUERS.len(), 0.8)),
        }
    }

    /// The terminal with the most traffic.
    pub fn busiest(&self) -> Option<&Terminal> {
        self.terminals
            .iter()
            .max_by(|a, b| a.peak_rate.total_cmp(&b.peak_rate))
    }

    /// Index of the terminal with id `id`.
    pub fn terminal_index(&self, id: &str) -> Option<usize> {
        let n: usize = id.strip_prefix("pos-")?.parse().ok()?;
        (n < self.terminals.len()).then_some(n)
    }
}

/// Share of the peak-hour rate at a time of day (UTC hours, fractional):
/// quiet at night, a late-morning ramp, a lunchtime and an early-evening peak.
pub fn diurnal(hour: f64) -> f64 {
    let bump = |centre: f64, width: f64| (-((hour - centre) / width).powi(2)).exp();
    (0.06 + 0.75 * bump(12.5, 2.5) + 0.85 * bump(17.5, 2.2) + 0.35 * bump(9.0, 1.5)).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_is_deterministic_from_its_seed() {
        let spec = FleetSpec {
            terminals: 500,
            ..FleetSpec::default()
        };
        let (a, b) = (Fleet::new(&spec), Fleet::new(&spec));
        assert_eq!(a.terminals, b.terminals);
        let c = Fleet::new(&FleetSpec { seed: 2, ..spec });
        assert_ne!(a.terminals, c.terminals);
    }

    #[test]
    fn proportions_are_skewed_but_every_value_occurs() {
        let fleet = Fleet::new(&FleetSpec::default());
        let mut per_region = [0u32; REGIONS.len()];
        for t in &fleet.terminals {
            per_region[t.region as usize] += 1;
        }
        assert!(per_region.iter().all(|&n| n > 100), "{per_region:?}");
        assert!(per_region[0] > 2 * per_region[7], "{per_region:?}");
        assert_eq!(fleet.terminal_index("pos-000042"), Some(42));
        assert_eq!(fleet.terminal_index("pos-999999"), None);
    }

    #[test]
    fn nights_are_quiet_and_days_busy() {
        assert!(diurnal(3.0) < 0.1);
        assert!(diurnal(12.5) > 0.7);
        assert!((0..24).all(|h| (0.0..=1.0).contains(&diurnal(f64::from(h)))));
    }
}
