//! Silence: a network outage also cuts the telemetry. Each closed bucket,
//! the outcomes of every value of the network dimensions (region, carrier,
//! link type) and of every carrier × region pair are compared with what
//! their baseline share of the fleet's traffic predicts for that bucket.
//! Using the share, not the absolute volume, cancels the time-of-day swing.
//! A drop is reported when it is both large (at most half the expected
//! volume arrived) and improbable (Poisson lower tail below `p_value`);
//! a value whose missing volume lies mostly (≥ 80 %) in one carrier ×
//! region pair gives way to that pair; then the candidate with the most
//! missing volume is kept, overlapping ones are dropped, and the rest are
//! re-tested without the leaves already explained. Buckets that overlap
//! swipewatch's own broker disconnection are data gaps and are never
//! tested. A drop of the whole fleet is not detected (see below).

use crate::spike::poisson_lower_tail;
use std::collections::HashMap;
use swipewatch_engine::{LeafId, LeafKey, WindowSnapshot};
use swipewatch_model::{Dim, FastState, Sym};

/// Silence thresholds.
#[derive(Debug, Clone, Copy)]
pub struct SilenceParams {
    /// Lower-tail probability below which a drop is abnormal.
    pub p_value: f64,
    /// At most this share of the expected volume arrived.
    pub max_ratio: f64,
    /// Fewer expected outcomes than this in a bucket are not tested.
    pub min_expected: f64,
}

impl Default for SilenceParams {
    fn default() -> Self {
        SilenceParams {
            p_value: 1e-6,
            max_ratio: 0.5,
            min_expected: 12.0,
        }
    }
}

/// What went missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Volume {
    /// Transaction outcomes.
    Outcomes,
    /// Heartbeats: they keep coming at night, when too few transactions
    /// flow for their absence to mean anything.
    Heartbeats,
}

/// One silent element.
#[derive(Debug, Clone, PartialEq)]
pub struct Silent {
    /// `(dimension, value)` pairs; empty for the whole fleet.
    pub element: Vec<(Dim, Sym)>,
    /// What went missing.
    pub volume: Volume,
    /// Outcomes (or heartbeats) that arrived in the bucket.
    pub observed: f64,
    /// What their baseline share predicted.
    pub expected: f64,
}

/// Dimensions whose values are tested alone.
const SINGLE: [Dim; 3] = [Dim::Region, Dim::Carrier, Dim::NetType];

/// Silent elements of the snapshot's latest bucket: outcomes first, most
/// missing first, then heartbeats where no outcome silence overlaps.
pub fn silent(snap: &WindowSnapshot, leaf_dims: &[Dim], p: &SilenceParams) -> Vec<Silent> {
    if snap.bucket.data_gap {
        return Vec::new();
    }
    let mut found = silent_by(snap, leaf_dims, p, Volume::Outcomes);
    if snap.baselines.fleet.heartbeats <= 0.0 {
        return found; // no heartbeats were ever learned
    }
    let overlaps = |s: &Silent, found: &[Silent]| {
        found
            .iter()
            .any(|k| k.element.iter().any(|pair| s.element.contains(pair)))
    };
    for s in silent_by(snap, leaf_dims, p, Volume::Heartbeats) {
        if !overlaps(&s, &found) {
            found.push(s);
        }
    }
    found
}

fn silent_by(
    snap: &WindowSnapshot,
    leaf_dims: &[Dim],
    p: &SilenceParams,
    v: Volume,
) -> Vec<Silent> {
    let b = &snap.bucket;
    let base = &snap.baselines;
    let significant = |obs: f64, exp: f64| {
        exp >= p.min_expected
            && obs <= p.max_ratio * exp
            && poisson_lower_tail(obs as u64, exp) < p.p_value
    };
    let learned = |c: &swipewatch_engine::Cell| match v {
        Volume::Outcomes => f64::from(c.attempts),
        Volume::Heartbeats => f64::from(c.heartbeats),
    };
    let arrived = |dim: Dim, sym: Sym| match v {
        Volume::Outcomes => b.dims.get(dim, sym).attempts() as f64,
        Volume::Heartbeats => b.heartbeats[dim.index()]
            .get(sym.index())
            .map_or(0.0, |&n| f64::from(n)),
    };
    // Expected volumes come from each value's share of its dimension's
    // traffic in this bucket, so time-of-day swings cancel. Shares are taken
    // within one family of cells (a dimension's values, or the leaves),
    // which learn together; the fleet cell skips learning in anomalous
    // buckets and would skew them. (A drop of the whole fleet cannot be told
    // from the evening decline this way; it is not tested.)
    let mut found = Vec::new();
    for dim in SINGLE {
        let cells: Vec<_> = base.cells(dim).collect();
        let base_total: f64 = cells.iter().map(|(_, c)| learned(c)).sum();
        let obs_total: f64 = cells.iter().map(|&(sym, _)| arrived(dim, sym)).sum();
        if base_total <= 0.0 {
            continue;
        }
        for (sym, cell) in &cells {
            let sym = *sym;
            let exp = learned(cell) / base_total * obs_total;
            let obs = arrived(dim, sym);
            if significant(obs, exp) {
                found.push(Silent {
                    element: vec![(dim, sym)],
                    volume: v,
                    observed: obs,
                    expected: exp,
                });
            }
        }
    }
    // Every leaf with what arrived and what its share predicts.
    let leaf_base: f64 = base.leaves().map(|(_, c)| learned(&c)).sum();
    // Per leaf number: what arrived, what its share predicts.
    let index = &snap.leaves;
    let mut by_id = vec![(0.0f64, 0.0f64); index.len()];
    match v {
        Volume::Outcomes => {
            for (id, counts) in b.leaves.iter() {
                if let Some(x) = by_id.get_mut(id.index()) {
                    x.0 += counts.attempts() as f64;
                }
            }
        }
        Volume::Heartbeats => {
            for (id, &n) in b.leaf_heartbeats.iter() {
                if let Some(x) = by_id.get_mut(id.index()) {
                    x.0 += f64::from(n);
                }
            }
        }
    }
    let leaf_obs: f64 = by_id.iter().map(|x| x.0).sum();
    if leaf_base > 0.0 {
        for (id, cell) in base.leaves() {
            // Leaves that never saw this volume expect none of it (most
            // outcome leaves have no heartbeats: their issuer is set).
            let volume = learned(&cell);
            if let Some(x) = by_id.get_mut(id.index()).filter(|_| volume > 0.0) {
                x.1 += volume / leaf_base * leaf_obs;
            }
        }
    }
    let leaves: Vec<(LeafKey, (f64, f64))> = by_id
        .into_iter()
        .enumerate()
        .filter(|(_, x)| x.0 > 0.0 || x.1 > 0.0)
        .filter_map(|(i, x)| Some((*index.key(LeafId(i as u32))?, x)))
        .collect();
    let pos = |d: Dim| leaf_dims.iter().position(|x| *x == d);
    let under = |key: &LeafKey, element: &[(Dim, Sym)]| {
        element
            .iter()
            .all(|&(d, v)| pos(d).is_some_and(|i| key[i] == v))
    };
    // Carrier × region pairs, when both are leaf dimensions.
    if let (Some(c), Some(r)) = (pos(Dim::Carrier), pos(Dim::Region)) {
        let mut pairs: HashMap<(Sym, Sym), (f64, f64), FastState> = HashMap::default();
        for (key, (obs, exp)) in &leaves {
            let e = pairs.entry((key[c], key[r])).or_default();
            e.0 += obs;
            e.1 += exp;
        }
        for ((carrier, region), (obs, exp)) in pairs {
            if carrier.is_some() && region.is_some() && significant(obs, exp) {
                found.push(Silent {
                    element: vec![(Dim::Region, region), (Dim::Carrier, carrier)],
                    volume: v,
                    observed: obs,
                    expected: exp,
                });
            }
        }
    }
    // Most missing volume first. A later candidate that shares a value with
    // a kept element is dropped; one that does not is re-tested without the
    // leaves the kept elements explain (a region where a silent carrier
    // leads is not silent by itself).
    found.sort_by(|a, b| {
        (b.expected - b.observed)
            .total_cmp(&(a.expected - a.observed))
            .then(a.element.len().cmp(&b.element.len()))
            .then(a.element.cmp(&b.element))
    });
    // A value whose missing volume is nearly all in one of its carrier ×
    // region pairs is that pair, not the whole value.
    let missing = |s: &Silent| s.expected - s.observed;
    let narrower: Vec<bool> = found
        .iter()
        .map(|s| {
            s.element.len() == 1
                && found.iter().any(|c| {
                    c.element.len() == 2
                        && c.element.contains(&s.element[0])
                        && missing(c) >= 0.8 * missing(s)
                })
        })
        .collect();
    let found: Vec<Silent> = found
        .into_iter()
        .zip(narrower)
        .filter(|(_, n)| !n)
        .map(|(s, _)| s)
        .collect();
    let mut kept: Vec<Silent> = Vec::new();
    for mut s in found {
        if kept
            .iter()
            .any(|k| k.element.iter().any(|pair| s.element.contains(pair)))
        {
            continue;
        }
        if !kept.is_empty() && s.element.iter().all(|(d, _)| pos(*d).is_some()) {
            let (mut obs, mut exp) = (0.0, 0.0);
            for (key, (o, e)) in &leaves {
                if under(key, &s.element) && !kept.iter().any(|k| under(key, &k.element)) {
                    obs += o;
                    exp += e;
                }
            }
            if !significant(obs, exp) {
                continue;
            }
            (s.observed, s.expected) = (obs, exp);
        }
        kept.push(s);
    }
    kept
}
