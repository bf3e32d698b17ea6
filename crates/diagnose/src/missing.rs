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
use std::collections::HashMap;
use swipewatch_model::{Cause, Dim, DimValues, FastState, Signal, Sym};

/// Kinds of place whose terminals go missing together: a region (a power
/// cut), a carrier (nationwide), a carrier in a region, a merchant's site
/// (named with its region when known, so that a quiet region it lies in
/// explains it).
const PLACES: u8 = 4;

/// A place: its kind and up to two values (`Sym::NONE` when unused).
type Place = (u8, Sym, Sym);

fn place_of(kind: u8, e: &Expected) -> Option<Place> {
    let d = |dim| e.dims.get(dim);
    let place = match kind {
        0 => (0, d(Dim::Region), Sym::NONE),
        1 => (1, d(Dim::Carrier), Sym::NONE),
        2 if d(Dim::Region).is_some() => (2, d(Dim::Carrier), d(Dim::Region)),
        3 => (3, d(Dim::Merchant), d(Dim::Region)),
        _ => return None,
    };
    place.1.is_some().then_some(place)
}

fn element_of((kind, a, b): Place) -> Vec<(Dim, Sym)> {
    match kind {
        0 => vec![(Dim::Region, a)],
        1 => vec![(Dim::Carrier, a)],
        2 => vec![(Dim::Carrier, a), (Dim::Region, b)],
        _ if b.is_some() => vec![(Dim::Region, b), (Dim::Merchant, a)],
        _ => vec![(Dim::Merchant, a)],
    }
}

/// Least missing terminals and least share for a place of this kind.
fn thresholds(place: &Place, p: &MissingParams) -> (usize, f64) {
    if place.0 == 3 {
        (p.merchant_terminals, p.merchant_share)
    } else {
        (p.region_terminals, p.region_share)
    }
}

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
    // Places of the missing terminals (few, unless a place is out), then
    // how many terminals each expects; the place holding the largest share
    // of missing terminals first, the wider of two equal ones: a region's
    // power cut is the region, not each carrier in it; a carrier's outage
    // there is the pair, not the region.
    let mut places: HashMap<Place, (usize, Vec<usize>), FastState> = HashMap::default();
    for (i, e) in expected.iter().enumerate() {
        if is_missing(e) {
            for kind in 0..PLACES {
                if let Some(place) = place_of(kind, e) {
                    places.entry(place).or_default().1.push(i);
                }
            }
        }
    }
    places.retain(|place, (_, gone)| gone.len() >= thresholds(place, p).0.max(1));
    if !places.is_empty() {
        for e in expected {
            for kind in 0..PLACES {
                if let Some(n) = place_of(kind, e).and_then(|pl| places.get_mut(&pl)) {
                    n.0 += 1;
                }
            }
        }
    }
    let mut ranked: Vec<(Place, (usize, Vec<usize>))> = places.into_iter().collect();
    let share = |n: usize, gone: usize| gone as f64 / n.max(1) as f64;
    ranked.sort_by(|a, b| {
        share(b.1 .0, b.1 .1.len())
            .total_cmp(&share(a.1 .0, a.1 .1.len()))
            .then(b.1 .0.cmp(&a.1 .0))
            .then(a.0.cmp(&b.0))
    });
    for (place, (n, members)) in ranked {
        let gone = members.iter().filter(|&&i| !told[i]).count();
        // Terminals told under a place before are missing ones: they leave
        // this place's count too.
        let n = n - (members.len() - gone);
        let (min, min_share) = thresholds(&place, p);
        if gone < min.max(1) || share(n, gone) < min_share {
            continue;
        }
        for &i in &members {
            told[i] = true;
        }
        out.push(Finding::element(
            Signal::Missing,
            Cause::Network,
            element_of(place),
            ((n - gone) as f64, n as f64),
            share(n, gone).clamp(0.5, 1.0),
            now_ms,
        ));
    }
    let mut lone: Vec<&Expected> = expected
        .iter()
        .zip(&told)
        .filter(|(e, done)| !**done && is_missing(e))
        .map(|(e, _)| e)
        .collect();
    lone.sort_by_key(|e| (e.last_seen_ms, e.terminal));
    for e in lone.into_iter().take(p.max_terminals) {
        let element = [Dim::Model, Dim::Merchant]
            .into_iter()
            .filter(|d| e.dims.get(*d).is_some())
            .map(|d| (d, e.dims.get(d)))
            .collect();
        let (signal, cause) = (Signal::Missing, Cause::DeviceHardware);
        out.push(Finding {
            terminal: Some(e.terminal),
            ..Finding::element(signal, cause, element, (0.0, 1.0), 1.0, now_ms)
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
                (
                    Cause::Network,
                    vec![(Dim::Region, Sym(0)), (Dim::Merchant, Sym(2))],
                    None
                ),
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
