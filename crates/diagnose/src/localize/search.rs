//! The search: candidates scored per cuboid, the choice among them (Occam,
//! climb, split), and folding a choice into the expectation.

use super::cuboid::{cuboids, group_by, group_by_prefix, Dense, Grouping, Scratch, DROPPED};
use super::noise::{estimate, NoiseModel, CAP};
use super::{Direction, Element, LeafInput, Localized, Params};
use std::collections::HashMap;
use swipewatch_model::FastState;

/// Leaf group numbers kept between the steps of one search (16 M, 64 MB);
/// beyond, cuboids are grouped anew at each step.
const CACHED_GROUPS: usize = 1 << 24;
/// Group sums kept between the steps of one search (1 M groups, 48 MB).
const KEPT_SUMS: usize = 1 << 20;
/// The most one leaf's capped log ratio can gain (nats).
const LEAF_MAX_GAIN: f64 = CAP * CAP / 2.0;
/// Candidates kept per layer in one pass.
const KEPT: usize = 32;

/// Sums over an element's leaves.
#[derive(Default, Clone, Copy, Debug)]
struct Agg {
    real: f64,
    expected: f64,
    expected_sq: f64,
    /// Weighted, capped log ratios and their weights (see [`NoiseModel::evidence`]).
    wx: f64,
    w: f64,
    leaves: u32,
}

impl Agg {
    fn add(&mut self, v: f64, m: f64, (wx, w): (f64, f64)) {
        self.real += v;
        self.expected += m;
        self.expected_sq += m * m;
        self.wx += wx;
        self.w += w;
        self.leaves += 1;
    }

    fn plus(mut self, o: &Agg) -> Agg {
        self.real += o.real;
        self.expected += o.expected;
        self.expected_sq += o.expected_sq;
        self.wx += o.wx;
        self.w += o.w;
        self.leaves += o.leaves;
        self
    }

    fn remove(&mut self, v: f64, m: f64, (wx, w): (f64, f64)) {
        self.real -= v;
        self.expected -= m;
        self.expected_sq -= m * m;
        self.wx -= wx;
        self.w -= w;
        self.leaves -= 1;
    }

    fn minus(mut self, o: &Agg) -> Agg {
        self.real -= o.real;
        self.expected -= o.expected;
        self.expected_sq -= o.expected_sq;
        self.wx -= o.wx;
        self.w -= o.w;
        self.leaves -= o.leaves;
        self
    }

    fn ratio(&self) -> f64 {
        self.real / self.expected
    }

    /// How much worse (nats) the element fits scaled by `ratio` than at its
    /// forecast: negative where the change fits it better.
    fn cost_of(&self, ratio: f64, noise: &NoiseModel) -> f64 {
        let m = self.expected;
        if m <= 0.0 || ratio <= 0.0 {
            return f64::INFINITY;
        }
        if noise.relative {
            if self.w <= 0.0 {
                return 0.0;
            }
            let shifted = self.wx - self.w * ratio.ln();
            return (shifted * shifted - self.wx * self.wx) / (2.0 * self.w);
        }
        // Poisson log likelihood at m·ratio against at m.
        let v = self.real;
        let ll = |mean: f64| v * mean.ln() - mean;
        (ll(m) - ll(m * ratio)) / (noise.alpha + noise.beta * self.expected_sq / m)
    }

    /// Gain of scaling the element to fit: where forecast error dominates,
    /// from the leaves' capped log ratios (so that one leaf with an
    /// outlying forecast is never a cause alone); where counting noise
    /// dominates, the quasi-Poisson deviance of the element's totals.
    fn gain(&self, noise: &NoiseModel) -> f64 {
        let (v, m) = (self.real, self.expected);
        if m <= 0.0 {
            return 0.0;
        }
        if noise.relative {
            return if self.w > 0.0 {
                self.wx * self.wx / (2.0 * self.w)
            } else {
                0.0
            };
        }
        let dev = if v > 0.0 {
            v * (v / m).ln() - (v - m)
        } else {
            m
        };
        dev / (noise.alpha + noise.beta * self.expected_sq / m)
    }
}

/// A scored candidate.
#[derive(Clone, Debug)]
struct Candidate {
    gain: f64,
    element: Element,
    agg: Agg,
}

impl Candidate {
    /// Strictly better by gain, then by spelling-free features, then by codes.
    fn beats(&self, other: &Candidate) -> bool {
        let close = (self.gain - other.gain).abs() <= 1e-9 * self.gain.abs().max(other.gain.abs());
        if !close {
            return self.gain > other.gain;
        }
        let dev = |c: &Candidate| (c.agg.real - c.agg.expected).abs();
        if (dev(self) - dev(other)).abs() > 1e-9 * dev(self).max(dev(other)) {
            return dev(self) > dev(other);
        }
        (self.element.layer(), &self.element) < (other.element.layer(), &other.element)
    }
}

/// The search's state: the current expectation and what was chosen.
pub(super) struct Search<'a> {
    dense: Dense<'a>,
    p: Params,
    noise: NoiseModel,
    expected: Vec<f64>,
    /// Per leaf, its weighted capped log ratio and weight.
    evidence: Vec<(f64, f64)>,
    /// Leaves not yet explained: a chosen cause takes its leaves out of
    /// the search, so that what its ratio leaves uneven in them is not
    /// mistaken for another cause (and an overlapping cause is judged on
    /// the rest of its leaves).
    open: Vec<bool>,
    /// Leaves closed since the last pass, with the expectation they were
    /// counted at (kept sums are brought up to date by them).
    closed: Vec<(usize, f64)>,
    chosen: Vec<Localized>,
    total: f64,
    first_gain: Option<f64>,
    /// Causes must move their total by at least this much.
    mass_floor: f64,
}

/// What one pass over the cuboids found.
struct Scan {
    best: Vec<Vec<Candidate>>,
    tested: usize,
    largest_move: f64,
}

impl<'a> Search<'a> {
    /// A search of `t` with `p`, nothing chosen yet.
    pub(super) fn new(t: &'a LeafInput<'a>, p: Params) -> Search<'a> {
        let noise = estimate(t.real, t.forecast, p.noise);
        // A value appearing from a zero forecast is read against a small floor;
        // nothing expected and nothing seen is no evidence either way.
        let expected: Vec<f64> = t
            .forecast
            .iter()
            .zip(t.real)
            .map(|(&f, &v)| if f <= 0.0 && v > 0.0 { noise.floor } else { f })
            .collect();
        let total = t.real.iter().sum::<f64>() - expected.iter().sum::<f64>();
        let evidence = t
            .real
            .iter()
            .zip(&expected)
            .map(|(&v, &m)| noise.evidence(v, m))
            .collect();
        Search {
            dense: Dense::new(t),
            p,
            noise,
            open: vec![true; t.len()],
            closed: Vec::new(),
            expected,
            evidence,
            chosen: Vec::new(),
            total,
            first_gain: None,
            mass_floor: 0.0,
        }
    }

    /// Chooses causes while a significant one remains.
    pub(super) fn run(mut self) -> Vec<Localized> {
        let combos = cuboids(self.dense.t.dims, self.p.max_layer);
        self.p.max_layer = combos.last().map_or(1, Vec::len);
        let mut cache = Vec::new();
        let mut sums = Vec::new();
        let mut kept_groups = 0;
        while self.chosen.len() < self.p.max_elements {
            let closed = std::mem::take(&mut self.closed);
            let scan = self.scan(&combos, &mut cache, &mut sums, &mut kept_groups, &closed);
            let tested = scan.tested;
            if self.first_gain.is_none() {
                self.mass_floor = self.p.min_mass * scan.largest_move;
            }
            let candidates: Vec<&Candidate> = scan
                .best
                .iter()
                .flatten()
                .filter(|c| self.significant(c, tested))
                .collect();
            let top = candidates.iter().map(|c| c.gain).fold(f64::MIN, f64::max);
            // The fewest dimensions among the significant candidates close to
            // the best (each layer's list is best first).
            let Some(pick) = candidates
                .into_iter()
                .find(|c| c.gain >= top * (1.0 - self.p.tie))
                .cloned()
            else {
                break;
            };
            let slots = self.p.max_elements - self.chosen.len();
            let pick = self.climb(pick, tested);
            let picks = self
                .split(&pick, slots, tested)
                .unwrap_or_else(|| vec![pick]);
            self.first_gain.get_or_insert(picks[0].gain);
            // Each pick's sums are over open leaves already, and split
            // children share none.
            for c in &picks {
                self.fold(c);
            }
        }
        self.chosen
    }

    fn real(&self, i: usize) -> f64 {
        self.dense.t.real[i]
    }

    fn allowed(&self, a: &Agg) -> bool {
        if a.expected <= 0.0 || a.leaves == 0 {
            return false;
        }
        let r = a.ratio();
        let up = r >= 1.0 + self.p.min_effect && (!self.noise.relative || a.wx > 0.0);
        let down = r <= 1.0 / (1.0 + self.p.min_effect) && (!self.noise.relative || a.wx < 0.0);
        match self.p.direction {
            Direction::Both => up || down,
            Direction::Rise => up,
            Direction::Drop => down,
        }
    }

    fn related_to_chosen(&self, e: &Element) -> bool {
        self.chosen
            .iter()
            .any(|c| c.element.covers(e) || e.covers(&c.element))
    }

    /// The element of `combo` that holds leaf `i`.
    fn to_element(&self, combo: &[usize], i: u32) -> Element {
        Element(
            combo
                .iter()
                .map(|&d| (d, self.dense.t.values[i as usize * self.dense.t.dims + d]))
                .collect(),
        )
    }

    /// The best candidates of each layer ([`KEPT`] of each, best first),
    /// how many were scored, and the largest move of a significant one.
    /// Groupings are kept in `cache` from one scan to the next when they fit
    /// in [`CACHED_GROUPS`].
    fn scan(
        &self,
        combos: &[Vec<usize>],
        cache: &mut Vec<Grouping>,
        sums: &mut Vec<Option<Vec<Agg>>>,
        kept_groups: &mut usize,
        closed: &[(usize, f64)],
    ) -> Scan {
        let mut out = Scan {
            best: vec![Vec::new(); self.p.max_layer + 1],
            tested: 0,
            largest_move: 0.0,
        };
        let mut moves: Vec<(f64, f64)> = Vec::new();
        let mut spare = Grouping::default();
        let mut scratch = Scratch::default();
        let mut aggs: Vec<Agg>;
        let keep = combos.len() * self.dense.t.len() <= CACHED_GROUPS;
        let position: HashMap<&[usize], usize, FastState> = combos
            .iter()
            .enumerate()
            .map(|(c, combo)| (combo.as_slice(), c))
            .collect();
        // Where evidence is read leaf by leaf, a group of `k` leaves gains
        // at most `k · CAP² / 2`; groups too small to beat the threshold of
        // their own cuboid alone (a floor of the final one) are dropped.
        let min_nats = self.p.min_nats;
        let relative = self.noise.relative;
        let min_leaves = move |groups: usize| -> u32 {
            if relative {
                (((groups.max(1) as f64).ln() + min_nats) / LEAF_MAX_GAIN).ceil() as u32
            } else {
                1
            }
        };
        for (c, combo) in combos.iter().enumerate() {
            let grouping = if keep {
                if cache.len() <= c {
                    let mut g = Grouping::default();
                    let (last, prefix) = combo.split_last().unwrap_or((&0, &[]));
                    match position.get(prefix) {
                        // Cuboids come by layer: a prefix is grouped already.
                        Some(&p) if p < cache.len() => group_by_prefix(
                            &self.dense,
                            &cache[p],
                            *last,
                            min_leaves,
                            &mut g,
                            &mut scratch,
                        ),
                        _ => group_by(&self.dense, combo, min_leaves, &mut g, &mut scratch),
                    }
                    cache.push(g);
                }
                &cache[c]
            } else {
                group_by(&self.dense, combo, min_leaves, &mut spare, &mut scratch);
                &spare
            };
            out.tested += grouping.total;
            let threshold = (out.tested as f64).ln() + self.p.min_nats;
            if grouping.first.is_empty() {
                if sums.len() == c {
                    sums.push(None);
                }
                continue;
            }
            // Sums of the open leaves per group: kept from the last pass
            // and brought up to date by the leaves closed since, or counted
            // afresh.
            let aggs: &[Agg] = match sums.get_mut(c) {
                Some(Some(kept)) => {
                    for &(i, m) in closed {
                        let g = grouping.group[i];
                        if g != DROPPED {
                            kept[g as usize].remove(self.real(i), m, self.evidence[i]);
                        }
                    }
                    kept
                }
                _ => {
                    let mut fresh = vec![Agg::default(); grouping.first.len()];
                    for (i, &g) in grouping.group.iter().enumerate() {
                        if self.open[i] && g != DROPPED {
                            fresh[g as usize].add(self.real(i), self.expected[i], self.evidence[i]);
                        }
                    }
                    let room = keep && *kept_groups + fresh.len() <= KEPT_SUMS;
                    if room && sums.len() == c {
                        *kept_groups += fresh.len();
                        sums.push(Some(fresh));
                        sums[c].as_deref().unwrap_or_default()
                    } else {
                        if sums.len() == c {
                            sums.push(None);
                        }
                        aggs = fresh;
                        &aggs
                    }
                }
            };
            let best = &mut out.best[combo.len()];
            for (g, a) in aggs.iter().enumerate() {
                if self.noise.relative && f64::from(a.leaves) * LEAF_MAX_GAIN < threshold {
                    continue;
                }
                if !self.allowed(a) {
                    continue;
                }
                let gain = a.gain(&self.noise);
                let moved = (a.real - a.expected).abs();
                if gain >= threshold {
                    moves.push((gain, moved));
                }
                // What could never be chosen does not take a place.
                if moved < self.mass_floor
                    || self.first_gain.is_some_and(|g| gain < self.p.min_share * g)
                {
                    continue;
                }
                if best.len() == KEPT && best.last().is_some_and(|b| gain < b.gain * (1.0 - 1e-9)) {
                    continue;
                }
                let element = self.to_element(combo, grouping.first[g]);
                if self.related_to_chosen(&element) {
                    continue;
                }
                let c = Candidate {
                    gain,
                    element,
                    agg: *a,
                };
                let at = best.iter().position(|b| c.beats(b)).unwrap_or(best.len());
                best.insert(at, c);
                best.truncate(KEPT);
            }
        }
        // Significance is judged against the final number of candidates.
        let threshold = (out.tested.max(1) as f64).ln() + self.p.min_nats;
        out.largest_move = moves
            .iter()
            .filter(|(gain, _)| *gain >= threshold)
            .map(|m| m.1)
            .fold(0.0, f64::max);
        out
    }

    fn significant(&self, c: &Candidate, tested: usize) -> bool {
        c.gain >= (tested.max(1) as f64).ln() + self.p.min_nats
            && (c.agg.real - c.agg.expected).abs() >= self.mass_floor
            && self
                .first_gain
                .is_none_or(|gain| c.gain >= self.p.min_share * gain)
    }

    fn agg_of(&self, e: &Element) -> Agg {
        let t = self.dense.t;
        let mut a = Agg::default();
        for i in 0..t.len() {
            if self.open[i] && e.contains(t, i) {
                a.add(self.real(i), self.expected[i], self.evidence[i]);
            }
        }
        a
    }

    /// The coarsest ancestor of `c` all of whose parts moved: while the
    /// rest of a parent (the parent without `c`) moved the same way,
    /// significantly and by more than `split_rest` of `c`'s change, the
    /// parent is the cause and `c` only its most extreme part. The parent
    /// is also the cause when its rest did not move significantly but fits
    /// `c`'s change about as well as its forecast (within `occam_nats`):
    /// too little is expected there to tell, and the element with fewer
    /// dimensions is the simpler answer.
    fn climb(&self, mut c: Candidate, tested: usize) -> Candidate {
        loop {
            let change = c.agg.ratio() - 1.0;
            let mut best: Option<(f64, Candidate)> = None;
            for drop in 0..c.element.layer() {
                if c.element.layer() == 1 {
                    break;
                }
                let mut pairs = c.element.0.clone();
                pairs.remove(drop);
                let parent = Element(pairs);
                if self.related_to_chosen(&parent) {
                    continue;
                }
                let agg = self.agg_of(&parent);
                let rest = agg.minus(&c.agg);
                if rest.expected <= 0.0 || rest.leaves == 0 || !self.allowed(&agg) {
                    continue;
                }
                let rest_change = rest.ratio() - 1.0;
                let rest_gain = rest.gain(&self.noise);
                let moved = rest_change * change > 0.0
                    && rest_change.abs() > self.p.split_rest * change.abs()
                    && rest_gain >= self.p.min_nats;
                let undecided = rest_gain < self.p.min_nats
                    && rest.cost_of(c.agg.ratio(), &self.noise) <= self.p.occam_nats;
                if (moved || undecided) && best.as_ref().is_none_or(|(g, _)| rest_gain > *g) {
                    let gain = agg.gain(&self.noise);
                    let candidate = Candidate {
                        gain,
                        element: parent,
                        agg,
                    };
                    if self.significant(&candidate, tested) {
                        best = Some((rest_gain, candidate));
                    }
                }
            }
            match best {
                Some((_, parent)) => c = parent,
                None => return c,
            }
        }
    }

    /// If the deviation of `c` sits in some of its children along one
    /// dimension while the rest are at their forecast, those children.
    fn split(&self, c: &Candidate, slots: usize, tested: usize) -> Option<Vec<Candidate>> {
        let t = self.dense.t;
        if c.element.layer() >= self.p.max_layer || slots < 1 {
            return None;
        }
        let inside: Vec<usize> = (0..t.len())
            .filter(|&i| self.open[i] && c.element.contains(t, i))
            .collect();
        let change = c.agg.ratio() - 1.0;
        let mut best: Option<(f64, Vec<Candidate>)> = None;
        for d in 0..t.dims {
            if c.element.0.iter().any(|&(e, _)| e == d) {
                continue;
            }
            // Children by dense code, in code order (sums never depend on
            // hash order).
            let mut children: Vec<Agg> = vec![Agg::default(); self.dense.card(d)];
            for &i in &inside {
                children[self.dense.code(i, d) as usize].add(
                    self.real(i),
                    self.expected[i],
                    self.evidence[i],
                );
            }
            if children.iter().filter(|a| a.leaves > 0).count() < 2 {
                continue;
            }
            let mut moved: Vec<Candidate> = Vec::new();
            let mut rest = Agg::default();
            for (code, a) in children.iter().enumerate().filter(|(_, a)| a.leaves > 0) {
                let mut pairs = c.element.0.clone();
                pairs.push((d, self.dense.original[d][code]));
                pairs.sort_unstable();
                let child = Candidate {
                    gain: a.gain(&self.noise),
                    element: Element(pairs),
                    agg: *a,
                };
                let same_way = (a.ratio() - 1.0) * change > 0.0;
                if self.allowed(a) && same_way && self.significant(&child, tested) {
                    moved.push(child);
                } else {
                    rest = rest.plus(a);
                }
            }
            if moved.is_empty() || moved.len() > slots || rest.leaves == 0 || rest.expected <= 0.0 {
                continue;
            }
            let rest_change = rest.ratio() - 1.0;
            if rest_change.abs() > self.p.split_rest * change.abs() {
                continue;
            }
            // The rest must be large enough that, had it moved with the
            // cause, it would have shown: otherwise it is not known to be
            // at its forecast.
            let log_ratio = c.agg.ratio().max(f64::MIN_POSITIVE).ln();
            let as_cause = Agg {
                real: rest.expected * c.agg.ratio(),
                wx: rest.w * log_ratio,
                ..rest
            };
            let mut shown = as_cause.gain(&self.noise);
            if self.noise.relative {
                shown = shown.min(f64::from(rest.leaves) * LEAF_MAX_GAIN);
            }
            if shown < (tested.max(1) as f64).ln() + self.p.min_nats {
                continue;
            }
            // Each element beyond the first must pay for itself as a cause
            // of its own would.
            let gained: f64 = moved.iter().map(|m| m.gain).sum();
            let price = (moved.len() - 1) as f64 * ((tested.max(1) as f64).ln() + self.p.min_nats);
            if gained - price <= c.gain * (1.0 + self.p.split_margin) {
                continue;
            }
            if best.as_ref().is_none_or(|(g, _)| gained > *g) {
                moved.sort_by(|a, b| {
                    b.gain
                        .total_cmp(&a.gain)
                        .then_with(|| a.element.cmp(&b.element))
                });
                best = Some((gained, moved));
            }
        }
        best.map(|(_, m)| m)
    }

    fn fold(&mut self, c: &Candidate) {
        let t = self.dense.t;
        for i in 0..t.len() {
            if self.open[i] && c.element.contains(t, i) {
                self.closed.push((i, self.expected[i]));
                self.open[i] = false;
            }
        }
        self.chosen.push(Localized {
            element: c.element.clone(),
            score: c.gain,
            real: c.agg.real,
            expected: c.agg.expected,
            excess_share: if self.total.abs() > f64::EPSILON {
                (c.agg.real - c.agg.expected) / self.total
            } else {
                0.0
            },
        });
    }
}
