//! Evidence for open incidents: every outcome of an implicated class under
//! an open incident's element is tallied (codes, terminals, merchants,
//! failed transactions, amount) until the incident resolves. Incidents are
//! few, so checking each outcome against them is cheap, and nothing is kept
//! for values no incident points at. Single-device incidents can be many
//! (every terminal of a failing carrier), so they are found by terminal.

use std::collections::{BTreeMap, HashMap, HashSet};
use swipewatch_alert::{Evidence, Incident};
use swipewatch_decode::SharedSymbols;
use swipewatch_model::{Dim, Outcome, OutcomeClass, Sym};

/// Distinct terminals or merchants remembered per incident.
const MAX_DISTINCT: usize = 100_000;

/// One open incident's running tally.
#[derive(Debug, Default)]
struct Tally {
    matchers: Vec<(Dim, Sym)>,
    terminal: Option<Sym>,
    classes: Vec<OutcomeClass>,
    codes: HashMap<String, u64>,
    terminals: HashSet<Sym>,
    merchants: HashSet<Sym>,
    failed: u64,
    amount_minor: u64,
    amounts: BTreeMap<[u8; 3], u64>,
    since_ms: i64,
}

/// Tallies per open incident id.
#[derive(Debug, Default)]
pub struct EvidenceBook {
    tallies: BTreeMap<u64, Tally>,
    /// Incidents on an element, not one terminal.
    by_element: Vec<u64>,
    /// Single-device incidents by terminal.
    by_terminal: HashMap<Sym, Vec<u64>>,
}

impl EvidenceBook {
    /// Starts tallying for `inc` from event time `at_ms`.
    pub fn open(&mut self, inc: &Incident, symbols: &SharedSymbols, at_ms: i64) {
        let symbols = symbols.read().unwrap_or_else(|p| p.into_inner());
        let matchers = inc
            .key
            .element
            .iter()
            .map(|(d, v)| (*d, symbols.dim(*d).get(v).unwrap_or(Sym::NONE)))
            .collect();
        let terminal = inc
            .key
            .terminal
            .as_deref()
            .map(|t| symbols.terminals.get(t).unwrap_or(Sym::NONE));
        let tally = Tally {
            matchers,
            terminal,
            classes: inc.latest.classes.iter().map(|c| c.0).collect(),
            since_ms: at_ms,
            ..Tally::default()
        };
        if self.tallies.contains_key(&inc.id) {
            return;
        }
        match tally.terminal {
            Some(t) => self.by_terminal.entry(t).or_default().push(inc.id),
            None => self.by_element.push(inc.id),
        }
        self.tallies.insert(inc.id, tally);
    }

    /// Stops tallying for incident `id`.
    pub fn close(&mut self, id: u64) {
        let Some(t) = self.tallies.remove(&id) else {
            return;
        };
        match t.terminal {
            Some(s) => {
                if let Some(ids) = self.by_terminal.get_mut(&s) {
                    ids.retain(|&i| i != id);
                    if ids.is_empty() {
                        self.by_terminal.remove(&s);
                    }
                }
            }
            None => self.by_element.retain(|&i| i != id),
        }
    }

    /// Counts `o` under every open incident it falls in.
    pub fn record(&mut self, o: &Outcome) {
        if self.tallies.is_empty() || !o.class.is_failure() {
            return;
        }
        let on_terminal = self
            .by_terminal
            .get(&o.terminal)
            .map_or(&[][..], Vec::as_slice);
        for id in self.by_element.iter().chain(on_terminal) {
            let Some(t) = self.tallies.get_mut(id) else {
                continue;
            };
            let under = t.matchers.iter().all(|&(d, s)| o.dims.get(d) == s);
            if !under || !t.classes.contains(&o.class) {
                continue;
            }
            let code = match (o.rc, o.term_error) {
                (Some(rc), _) => rc.to_string(),
                (None, Some(e)) => e.name().to_string(),
                (None, None) => o.class.name().to_string(),
            };
            *t.codes.entry(code).or_default() += 1;
            if t.terminals.len() < MAX_DISTINCT {
                t.terminals.insert(o.terminal);
            }
            let merchant = o.dims.get(Dim::Merchant);
            if merchant.is_some() && t.merchants.len() < MAX_DISTINCT {
                t.merchants.insert(merchant);
            }
            t.failed += 1;
            if let Some(amount) = o.amount_minor {
                t.amount_minor = t.amount_minor.saturating_add(amount);
                let sum = t.amounts.entry(o.currency.unwrap_or(*b"XXX")).or_default();
                *sum = sum.saturating_add(amount);
            }
        }
    }

    /// The evidence so far, per incident id.
    pub fn snapshot(&self) -> Vec<(u64, Evidence)> {
        self.tallies
            .iter()
            .map(|(id, t)| {
                let mut codes: Vec<(String, u64)> =
                    t.codes.iter().map(|(c, n)| (c.clone(), *n)).collect();
                codes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                codes.truncate(5);
                let evidence = Evidence {
                    top_codes: codes,
                    terminals: t.terminals.len() as u64,
                    merchants: t.merchants.len() as u64,
                    failed: t.failed,
                    amount_minor: t.amount_minor,
                    amounts: amounts(&t.amounts),
                    since_ms: t.since_ms,
                };
                (*id, evidence)
            })
            .collect()
    }
}

/// Amounts per currency, largest first (ties by code).
fn amounts(per_currency: &BTreeMap<[u8; 3], u64>) -> Vec<(String, u64)> {
    let mut list: Vec<(String, u64)> = per_currency
        .iter()
        .map(|(c, n)| (String::from_utf8_lossy(c).into_owned(), *n))
        .collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    list
}

#[cfg(test)]
mod tests {
    use super::*;
    use swipewatch_alert::{FindingView, IncidentBook, Policy, Transition};
    use swipewatch_model::{Cause, DimValues, RespCode, Signal};

    #[test]
    fn only_failures_of_the_implicated_classes_under_the_element_are_tallied() {
        let symbols = SharedSymbols::default();
        let (northbank, other, m1, m2) = {
            let mut s = symbols.write().unwrap_or_else(|p| p.into_inner());
            (
                s.dim_mut(Dim::Issuer).intern("northbank"),
                s.dim_mut(Dim::Issuer).intern("otherbank"),
                s.dim_mut(Dim::Merchant).intern("m-1"),
                s.dim_mut(Dim::Merchant).intern("m-2"),
            )
        };
        let mut book = IncidentBook::new(Policy::default());
        let finding = FindingView {
            cause: Cause::BankIssuer,
            element: vec![(Dim::Issuer, "northbank".into())],
            terminal: None,
            observed: 40.0,
            expected: 1.0,
            classes: vec![(OutcomeClass::IssuerUnavailable, 39.0)],
            confidence: 1.0,
            signal: Signal::Failures,
            provisional: false,
            p95_ms: None,
            context: Vec::new(),
        };
        let t = book.update(10_000, &[finding]);
        let Some(Transition::Opened(inc)) = t.first() else {
            panic!("an incident opens: {t:?}")
        };
        let mut evidence = EvidenceBook::default();
        evidence.open(inc, &symbols, 10_000);
        let outcome = |issuer: Sym, merchant: Sym, class: OutcomeClass, rc: &str, terminal: u32| {
            let mut dims = DimValues::default();
            dims.set(Dim::Issuer, issuer);
            dims.set(Dim::Merchant, merchant);
            let mut o = Outcome::new(Sym(terminal), 11_000, class, dims);
            o.rc = RespCode::parse(rc);
            o.amount_minor = Some(1_000);
            o
        };
        for (i, rc) in ["91", "91", "28"].iter().enumerate() {
            evidence.record(&outcome(
                northbank,
                if i == 0 { m1 } else { m2 },
                OutcomeClass::IssuerUnavailable,
                rc,
                i as u32,
            ));
        }
        evidence.record(&outcome(
            northbank,
            m1,
            OutcomeClass::CardholderDecline,
            "51",
            7,
        ));
        evidence.record(&outcome(
            other,
            m1,
            OutcomeClass::IssuerUnavailable,
            "91",
            8,
        ));
        let snap = evidence.snapshot();
        let e = &snap[0].1;
        assert_eq!(e.failed, 3);
        assert_eq!(e.amount_minor, 3_000);
        assert_eq!((e.terminals, e.merchants), (3, 2));
        assert_eq!(e.top_codes, [("91".to_string(), 2), ("28".to_string(), 1)]);
        evidence.close(inc.id);
        assert!(evidence.snapshot().is_empty());
    }
}
