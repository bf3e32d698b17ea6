//! Terminals of the inventory that sent nothing inside their trading hours.
//!
//! A terminal is missing when neither a payment nor a heartbeat came from
//! it for `after_ms` while its shop was open throughout. Missing terminals
//! are grouped before they are told one by one: most of a merchant's
//! terminals at once is the site (power, its internet), not the devices;
//! many of a region, a carrier or a carrier in a region at once is a power
//! cut or the carrier. A closed shop at night is never expected, so it is
//! never missing.

use crate::detect::Finding;
use std::collections::BTreeMap;
use swipewatch_model::{Cause, Dim, DimValues, Signal, Sym};

/// Places whose terminals go missing together: a region (a power cut), a
/// carrier (nationwide), a carrier in a region, a merchant's site.
const PLACES: [&[Dim]; 4] = [
    &[Dim::Region],
    &[Dim::Carrier],
    &[Dim::Carrier, Dim::Region],
    &[Dim::Merchant],
];

/// Thresholds of the missing-terminal test.
#[derive(Debug, Clone, Copy)]
pub struct MissingParams {
    /// Silence, inside trading hours, after which a terminal is missing, ms.
    pub after_ms: i64,
    /// A merchant with at least this many terminals expected ...
    pub merchant_terminals: usize,
    /// ... this share of them missing is the site's finding.
    pub merchant_share: f64,
    /// A region, carrier or carrier in a region with at least this many
    /// missing ...
    pub region_terminals: usize,
    /// ... that are this share of its terminals expected is the place's.
    pub region_share: f64,
    /// Single terminals told per window, longest silent first.
    pub max_terminals: usize,
}

impl Default for MissingParams {
    fn default() -> Self {
        MissingParams {
            after_ms: 10 * 60_000,
            merchant_terminals: 2,
            merchant_share: 0.5,
            region_terminals: 5,
            region_share: 0.3,
            max_terminals: 100,
        }
    }
}

/// A terminal of the inventory whose shop has been open throughout the
/// last `after_ms`.
#[derive(Debug, Clone, Copy)]
pub struct Expected {
    /// The terminal.
    pub terminal: Sym,
    /// Where it stands (from the inventory, and its newest message).
    pub dims: DimValues,
    /// Its newest message, epoch ms (`i64::MIN`: never, since watching
    /// began).
    pub last_seen_ms: i64,
}

/// Missing findings at `now_ms`, for terminals watched since `since_ms`
/// (when the inventory was loaded: a terminal not heard from since then
/// counts from then).
pub fn missing(
    expected: &[Expected],
    now_ms: i64,
    since_ms: i64,
    p: &MissingParams,
) -> Vec<Finding> {
    let cutoff = now_ms - p.after_ms;
    let is_missing = |e: &Expected| e.last_seen_ms.max(since_ms) < cutoff;
    let mut out = Vec::new();
    let mut told = vec![false; expected.len()];
    // The place that holds the largest share of missing terminals first,
    // the wider of two equal ones: a region's power cut is the region,
    // not each carrier in it; a carrier's outage there is the pair, not
    // the region.
    let place_of = |e: &Expected, dims: &[Dim]| -> Option<Vec<(Dim, Sym)>> {
        let element: Vec<(Dim, Sym)> = dims.iter().map(|&d| (d, e.dims.get(d))).collect();
        element.iter().all(|(_, v)| v.is_some()).then_some(element)
    };
    loop {
        // Places of the missing terminals not yet told (few, unless a
        // place is out), then how many terminals each expects.
        let mut places: BTreeMap<Vec<(Dim, Sym)>, (usize, usize)> = BTreeMap::new();
        for (e, done) in expected.iter().zip(&told) {
            if !*done && is_missing(e) {
                for dims in PLACES {
                    if let Some(element) = place_of(e, dims) {
                        places.entry(element).or_default().1 += 1;
                    }
                }
            }
        }
        places.retain(|element, (_, gone)| {
            let min = if element[0].0 == Dim::Merchant {
                p.merchant_terminals
            } else {
                p.region_terminals
            };
            *gone >= min.max(1)
        });
        if places.is_empty() {
            break;
        }
        for (e, done) in expected.iter().zip(&told) {
            if !*done {
                for dims in PLACES {
                    if let Some(place) = place_of(e, dims).and_then(|el| places.get_mut(&el)) {
                        place.0 += 1;
                    }
                }
            }
        }
        let best = places
            .into_iter()
            .filter(|(element, (n, gone))| {
                let share = if element[0].0 == Dim::Merchant {
                    p.merchant_share
                } else {
                    p.region_share
                };
                *gone as f64 >= share * *n as f64
            })
            .max_by(|a, b| {
                let share = |x: &(usize, usize)| x.1 as f64 / x.0 as f64;
                share(&a.1)
                    .total_cmp(&share(&b.1))
                    .then(a.1 .0.cmp(&b.1 .0))
                    .then(b.0.cmp(&a.0))
            });
        let Some((element, (n, gone))) = best else {
            break;
        };
        for (e, done) in expected.iter().zip(told.iter_mut()) {
            if element.iter().all(|&(d, v)| e.dims.get(d) == v) && is_missing(e) {
                *done = true;
            }
        }
        out.push(Finding {
            signal: Signal::Missing,
            cause: Cause::Network,
            element,
            observed: (n - gone) as f64,
            expected: n as f64,
            classes: Vec::new(),
            spread: Vec::new(),
            confidence: (gone as f64 / n as f64).clamp(0.5, 1.0),
            window_end_ms: now_ms,
            terminal: None,
            provisional: false,
            p95_ms: None,
        });
    }
    let mut lone: Vec<&Expected> = expected
        .iter()
        .zip(&told)
        .filter(|(e, done)| !**done && is_missing(e))
        .map(|(e, _)| e)
        .collect();
    lone.sort_by_key(|e| (e.last_seen_ms, e.terminal));
    for e in lone.into_iter().take(p.max_terminals) {
        out.push(Finding {
            signal: Signal::Missing,
            cause: Cause::DeviceHardware,
            element: [Dim::Model, Dim::Merchant]
                .into_iter()
                .filter(|d| e.dims.get(*d).is_some())
                .map(|d| (d, e.dims.get(d)))
                .collect(),
            observed: 0.0,
            expected: 1.0,
            classes: Vec::new(),
            spread: Vec::new(),
            confidence: 1.0,
            window_end_ms: now_ms,
            terminal: Some(e.terminal),
            provisional: false,
            p95_ms: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn terminal(t: u32, merchant: u32, region: u32, last_seen_ms: i64) -> Expected {
        let mut dims = DimValues::default();
        dims.set(Dim::Merchant, Sym(merchant));
        dims.set(Dim::Region, Sym(region));
        dims.set(Dim::Model, Sym(7));
        Expected {
            terminal: Sym(t),
            dims,
            last_seen_ms,
        }
    }

    /// 100 terminals: merchant t / 4, region t / 25; all heard from a
    /// minute ago unless `silent` says otherwise.
    fn fleet(silent: impl Fn(u32) -> bool) -> Vec<Expected> {
        (0..100)
            .map(|t| {
                let seen = if silent(t) { 100 * MIN } else { 129 * MIN };
                terminal(t, t / 4, t / 25, seen)
            })
            .collect()
    }

    /// (side, element, terminal) of a finding.
    type Described = (Cause, Vec<(Dim, Sym)>, Option<Sym>);

    fn described(found: &[Finding]) -> Vec<Described> {
        found
            .iter()
            .map(|f| (f.cause, f.element.clone(), f.terminal))
            .collect()
    }

    #[test]
    fn one_silent_terminal_is_a_device_ticket_and_a_silent_shop_is_its_site() {
        let p = MissingParams::default();
        let found = missing(&fleet(|t| t == 3 || (8..12).contains(&t)), 130 * MIN, 0, &p);
        assert_eq!(
            described(&found),
            [
                (Cause::Network, vec![(Dim::Merchant, Sym(2))], None),
                (
                    Cause::DeviceHardware,
                    vec![(Dim::Model, Sym(7)), (Dim::Merchant, Sym(0))],
                    Some(Sym(3))
                ),
            ]
        );
        assert_eq!((found[0].observed, found[0].expected), (0.0, 4.0));
    }

    #[test]
    fn a_region_gone_silent_is_one_finding_not_one_per_shop() {
        let found = missing(&fleet(|t| t < 25), 130 * MIN, 0, &MissingParams::default());
        // Each of its merchants is wholly silent too; the region holds them.
        assert_eq!(
            described(&found),
            [(Cause::Network, vec![(Dim::Region, Sym(0))], None)]
        );
    }

    #[test]
    fn a_carrier_gone_silent_in_one_region_is_that_pair_not_the_region() {
        // Carrier t % 2 == 1 in region 0 (t < 25): 12 of its 25 terminals.
        let mut found_in = fleet(|t| t < 25 && t % 2 == 1);
        for e in &mut found_in {
            e.dims.set(Dim::Carrier, Sym(e.terminal.0 % 2));
        }
        let found = missing(&found_in, 130 * MIN, 0, &MissingParams::default());
        assert_eq!(
            described(&found),
            [(
                Cause::Network,
                vec![(Dim::Carrier, Sym(1)), (Dim::Region, Sym(0))],
                None
            )]
        );
    }

    #[test]
    fn terminals_heard_from_lately_or_watched_too_briefly_are_not_missing() {
        let p = MissingParams::default();
        assert!(missing(&fleet(|_| false), 130 * MIN, 0, &p).is_empty());
        // Never heard from, but watched for five minutes only.
        let never = fleet(|_| true)
            .into_iter()
            .map(|e| Expected {
                last_seen_ms: i64::MIN,
                ..e
            })
            .collect::<Vec<_>>();
        assert!(missing(&never, 130 * MIN, 125 * MIN, &p).is_empty());
        assert!(!missing(&never, 130 * MIN, 110 * MIN, &p).is_empty());
    }
}
