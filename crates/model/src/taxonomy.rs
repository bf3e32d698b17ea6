//! The outcome taxonomy and the response-code tables that drive it.
//!
//! A response code means different things depending on who sent it (UnionPay
//! differs from ISO 8583 in places), so the mapping lives in per-source tables
//! loaded from `config/codes/`, not in a `match`. A table may extend another
//! and override single codes; the table is chosen by card scheme, with one
//! default table for every other scheme.

use crate::event::{RcSource, RespCode, TermError, TxnStatus};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The normalized class of one outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeClass {
    /// Authorised (00, 10, 11).
    Approved,
    /// Ordinary cardholder decline (51, 55, 54, ...): background, never an incident alone.
    CardholderDecline,
    /// Issuer policy decline (05, 01, 59): bank side only if it concentrates on one issuer.
    IssuerPolicyDecline,
    /// Issuer or its processor unreachable (91, 28; UnionPay 98).
    IssuerUnavailable,
    /// Acquirer or switch malfunction (96, 92, 22, 06; 90 is a scheduled cut-off).
    AcquirerSwitchError,
    /// The host did not answer in time (68, host_timeout with the link up).
    HostTimeout,
    /// The terminal could not talk to its host (comm_lost, link down, EMV Z3).
    Comms,
    /// Terminal or merchant configuration (03, 15, 58; UnionPay 97; MAC and key errors).
    TerminalConfig,
    /// Card reader, PIN pad or payment app fault on the device.
    DeviceFault,
    /// Not a completed attempt: abandoned by the cardholder or merchant,
    /// still pending (a QR payment awaiting confirmation) or reversed
    /// afterwards. Neither success nor failure.
    Cancelled,
    /// No table knew the code, or the outcome carried none.
    Unknown,
}

impl OutcomeClass {
    /// Number of classes.
    pub const COUNT: usize = 11;

    /// Every class in index order.
    pub const ALL: [OutcomeClass; OutcomeClass::COUNT] = [
        OutcomeClass::Approved,
        OutcomeClass::CardholderDecline,
        OutcomeClass::IssuerPolicyDecline,
        OutcomeClass::IssuerUnavailable,
        OutcomeClass::AcquirerSwitchError,
        OutcomeClass::HostTimeout,
        OutcomeClass::Comms,
        OutcomeClass::TerminalConfig,
        OutcomeClass::DeviceFault,
        OutcomeClass::Cancelled,
        OutcomeClass::Unknown,
    ];

    /// Position in [`OutcomeClass::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// snake_case name, as in tables, labels and the API.
    pub fn name(self) -> &'static str {
        match self {
            OutcomeClass::Approved => "approved",
            OutcomeClass::CardholderDecline => "cardholder_decline",
            OutcomeClass::IssuerPolicyDecline => "issuer_policy_decline",
            OutcomeClass::IssuerUnavailable => "issuer_unavailable",
            OutcomeClass::AcquirerSwitchError => "acquirer_switch_error",
            OutcomeClass::HostTimeout => "host_timeout",
            OutcomeClass::Comms => "comms",
            OutcomeClass::TerminalConfig => "terminal_config",
            OutcomeClass::DeviceFault => "device_fault",
            OutcomeClass::Cancelled => "cancelled",
            OutcomeClass::Unknown => "unknown",
        }
    }

    /// The transaction went through the hosts as it should: approved, or
    /// declined by the issuer for the cardholder's own reasons. Only these
    /// round trips are latency samples: a timeout's "latency" is the
    /// terminal's timeout setting, and a failing host's slow refusals are
    /// counted as failures already; counted again as latency, they would
    /// make every region, carrier and scheme their traffic passes through
    /// look slow beside the outage.
    pub fn is_latency_sample(self) -> bool {
        matches!(
            self,
            OutcomeClass::Approved | OutcomeClass::CardholderDecline
        )
    }

    /// True for payment attempts: every outcome except a cancellation.
    pub fn is_attempt(self) -> bool {
        self != OutcomeClass::Cancelled
    }

    /// True for classes that count against the fleet: everything except
    /// approvals, cancellations and ordinary cardholder declines.
    pub fn is_failure(self) -> bool {
        !matches!(
            self,
            OutcomeClass::Approved | OutcomeClass::Cancelled | OutcomeClass::CardholderDecline
        )
    }
}

/// One response-code table as written in `config/codes/*.toml`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CodeTable {
    /// Unique name, referenced by `extends`.
    pub name: String,
    /// What the table covers and where its codes come from.
    #[serde(default)]
    pub description: String,
    /// Name of a table whose entries this one inherits and may override.
    #[serde(default)]
    pub extends: Option<String>,
    /// Card schemes (lower case) this table applies to. Exactly one table has
    /// none: the default for every other scheme.
    #[serde(default)]
    pub schemes: Vec<String>,
    /// Response code to class.
    #[serde(default)]
    pub codes: BTreeMap<String, OutcomeClass>,
    /// Overrides that apply only when `rc_source` is the given source.
    #[serde(default)]
    pub by_source: BTreeMap<RcSource, BTreeMap<String, OutcomeClass>>,
    /// Terminal error to class.
    #[serde(default)]
    pub term_errors: BTreeMap<TermError, OutcomeClass>,
}

/// A problem in the response-code tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaxonomyError {
    /// A code is not 1–3 ASCII letters or digits.
    BadCode {
        /// Table name.
        table: String,
        /// The offending code.
        code: String,
    },
    /// `extends` names a table that does not exist, or the chain loops.
    BadExtends {
        /// Table name.
        table: String,
        /// What it extends.
        extends: String,
    },
    /// Two tables share a name, or two tables claim the same scheme.
    Duplicate {
        /// The duplicated table name or scheme.
        what: String,
    },
    /// Not exactly one table without `schemes`.
    Default {
        /// How many default tables there are.
        found: usize,
    },
}

impl std::fmt::Display for TaxonomyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TaxonomyError::BadCode { table, code } => write!(
                f,
                "table '{table}': code '{code}' is not 1-64 ASCII letters, digits, `_`, `.` or `-`"
            ),
            TaxonomyError::BadExtends { table, extends } => write!(
                f,
                "table '{table}': extends '{extends}', which is unknown or loops back"
            ),
            TaxonomyError::Duplicate { what } => write!(f, "'{what}' is defined by two tables"),
            TaxonomyError::Default { found } => write!(
                f,
                "exactly one table must have no `schemes` (the default); found {found}"
            ),
        }
    }
}

impl std::error::Error for TaxonomyError {}

/// A table with inheritance resolved, laid out for fast lookup.
#[derive(Debug, Clone)]
struct Resolved {
    /// Sorted by packed code.
    codes: Vec<(u32, OutcomeClass)>,
    /// Per [`RcSource`] overrides, sorted by packed code.
    by_source: [Vec<(u32, OutcomeClass)>; 4],
    /// Per [`TermError`] class.
    term_errors: [Option<OutcomeClass>; TermError::ALL.len()],
}

impl Resolved {
    fn code(&self, source: Option<RcSource>, rc: RespCode) -> Option<OutcomeClass> {
        let find = |v: &[(u32, OutcomeClass)]| {
            v.binary_search_by_key(&rc.packed(), |e| e.0)
                .ok()
                .map(|i| v[i].1)
        };
        source
            .and_then(|s| find(&self.by_source[s as usize]))
            .or_else(|| find(&self.codes))
    }
}

/// The result of classifying one outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified {
    /// The class.
    pub class: OutcomeClass,
    /// True when a code or terminal error was present but no table knew it.
    pub unknown_code: bool,
}

/// All code tables, resolved; classifies outcomes.
#[derive(Debug, Clone)]
pub struct Taxonomy {
    tables: Vec<Resolved>,
    names: Vec<String>,
    /// (lower-case scheme, table index); a handful of entries, scanned.
    by_scheme: Vec<(String, usize)>,
    default: usize,
}

impl Taxonomy {
    /// Resolves `extends` chains and validates every code.
    pub fn new(tables: Vec<CodeTable>) -> Result<Taxonomy, TaxonomyError> {
        let mut index = HashMap::new();
        for (i, t) in tables.iter().enumerate() {
            if index.insert(t.name.clone(), i).is_some() {
                return Err(TaxonomyError::Duplicate {
                    what: t.name.clone(),
                });
            }
        }
        let defaults: Vec<usize> = (0..tables.len())
            .filter(|&i| tables[i].schemes.is_empty())
            .collect();
        if defaults.len() != 1 {
            return Err(TaxonomyError::Default {
                found: defaults.len(),
            });
        }
        let mut by_scheme: Vec<(String, usize)> = Vec::new();
        for (i, t) in tables.iter().enumerate() {
            for s in &t.schemes {
                let s = s.to_ascii_lowercase();
                if by_scheme.iter().any(|(k, _)| *k == s) {
                    return Err(TaxonomyError::Duplicate { what: s });
                }
                by_scheme.push((s, i));
            }
        }
        let resolved = tables
            .iter()
            .map(|t| resolve(t, &tables, &index))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Taxonomy {
            tables: resolved,
            names: tables.into_iter().map(|t| t.name).collect(),
            by_scheme,
            default: defaults[0],
        })
    }

    /// Name of the table used for `scheme`.
    pub fn table_for(&self, scheme: Option<&str>) -> &str {
        &self.names[self.table_index(scheme)]
    }

    /// The class table `name` (its inherited entries included) gives
    /// `rc`, with no source override; `None` when the table or the code
    /// is unknown.
    pub fn class_in(&self, name: &str, rc: RespCode) -> Option<OutcomeClass> {
        let i = self.names.iter().position(|n| n == name)?;
        self.tables[i].code(None, rc)
    }

    fn table_index(&self, scheme: Option<&str>) -> usize {
        // Schemes arrive in any case; the list is short, so scan it.
        scheme
            .and_then(|s| {
                self.by_scheme
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(s))
                    .map(|(_, i)| *i)
            })
            .unwrap_or(self.default)
    }

    /// Classifies one outcome.
    ///
    /// The reported status decides approvals and outcomes that are not
    /// completed attempts (cancelled, pending, reversed); otherwise the
    /// response code wins, then the terminal error, then a bare timeout.
    pub fn classify(
        &self,
        scheme: Option<&str>,
        status: TxnStatus,
        rc: Option<RespCode>,
        rc_source: Option<RcSource>,
        term_error: Option<TermError>,
    ) -> Classified {
        let known = |class| Classified {
            class,
            unknown_code: false,
        };
        let unknown = Classified {
            class: OutcomeClass::Unknown,
            unknown_code: true,
        };
        match status {
            TxnStatus::Approved => return known(OutcomeClass::Approved),
            TxnStatus::Cancelled | TxnStatus::Pending | TxnStatus::Reversed => {
                return known(OutcomeClass::Cancelled)
            }
            _ => {}
        }
        let table = &self.tables[self.table_index(scheme)];
        if let Some(rc) = rc {
            match table.code(rc_source, rc) {
                // A failure status with an approval code contradicts itself.
                Some(OutcomeClass::Approved) => return unknown,
                Some(class) => return known(class),
                None if term_error.is_none() => return unknown,
                None => {}
            }
        }
        if let Some(err) = term_error {
            return match table.term_errors[err as usize] {
                Some(class) if err != TermError::Other => known(class),
                _ => unknown,
            };
        }
        match status {
            TxnStatus::Timeout => known(OutcomeClass::HostTimeout),
            _ => known(OutcomeClass::Unknown),
        }
    }
}

fn resolve(
    table: &CodeTable,
    all: &[CodeTable],
    index: &HashMap<String, usize>,
) -> Result<Resolved, TaxonomyError> {
    // Walk the chain root-first so that children override parents.
    let mut chain = vec![table];
    let mut cur = table;
    while let Some(parent) = &cur.extends {
        let bad = || TaxonomyError::BadExtends {
            table: table.name.clone(),
            extends: parent.clone(),
        };
        let &p = index.get(parent).ok_or_else(bad)?;
        cur = &all[p];
        if chain.len() > all.len() {
            return Err(bad());
        }
        chain.push(cur);
    }
    let mut codes = BTreeMap::new();
    let mut by_source: [BTreeMap<u32, OutcomeClass>; 4] = Default::default();
    let mut term_errors = [None; TermError::ALL.len()];
    for t in chain.iter().rev() {
        let pack = |code: &String| {
            RespCode::parse(code)
                .map(RespCode::packed)
                .ok_or_else(|| TaxonomyError::BadCode {
                    table: t.name.clone(),
                    code: code.clone(),
                })
        };
        for (code, class) in &t.codes {
            codes.insert(pack(code)?, *class);
        }
        for (source, overrides) in &t.by_source {
            for (code, class) in overrides {
                by_source[*source as usize].insert(pack(code)?, *class);
            }
        }
        for (err, class) in &t.term_errors {
            term_errors[*err as usize] = Some(*class);
        }
    }
    Ok(Resolved {
        codes: codes.into_iter().collect(),
        by_source: by_source.map(|m| m.into_iter().collect()),
        term_errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(
        name: &str,
        extends: Option<&str>,
        schemes: &[&str],
        codes: &[(&str, OutcomeClass)],
    ) -> CodeTable {
        CodeTable {
            name: name.into(),
            extends: extends.map(Into::into),
            schemes: schemes.iter().map(|s| s.to_string()).collect(),
            codes: codes.iter().map(|(c, k)| (c.to_string(), *k)).collect(),
            ..CodeTable::default()
        }
    }

    fn taxonomy() -> Taxonomy {
        use OutcomeClass::*;
        let mut iso = table(
            "iso",
            None,
            &[],
            &[
                ("00", Approved),
                ("51", CardholderDecline),
                ("91", IssuerUnavailable),
                ("96", AcquirerSwitchError),
            ],
        );
        iso.by_source.insert(
            RcSource::Terminal,
            [("91".to_string(), Comms)].into_iter().collect(),
        );
        iso.term_errors
            .insert(TermError::ChipReadError, DeviceFault);
        let cup = table(
            "cup",
            Some("iso"),
            &["unionpay"],
            &[("98", IssuerUnavailable)],
        );
        Taxonomy::new(vec![iso, cup]).expect("valid tables")
    }

    fn class(t: &Taxonomy, scheme: &str, rc: &str) -> Classified {
        t.classify(
            Some(scheme),
            TxnStatus::Declined,
            RespCode::parse(rc),
            None,
            None,
        )
    }

    #[test]
    fn scheme_table_inherits_and_overrides_the_default() {
        let t = taxonomy();
        assert_eq!(
            class(&t, "unionpay", "98").class,
            OutcomeClass::IssuerUnavailable
        );
        assert_eq!(
            class(&t, "UnionPay", "51").class,
            OutcomeClass::CardholderDecline
        );
        let visa = class(&t, "visa", "98");
        assert_eq!(visa.class, OutcomeClass::Unknown);
        assert!(visa.unknown_code);
    }

    #[test]
    fn source_specific_entries_win_over_plain_codes() {
        let t = taxonomy();
        let rc = RespCode::parse("91");
        let from_terminal = t.classify(None, TxnStatus::Failed, rc, Some(RcSource::Terminal), None);
        let from_issuer = t.classify(None, TxnStatus::Failed, rc, Some(RcSource::Issuer), None);
        assert_eq!(from_terminal.class, OutcomeClass::Comms);
        assert_eq!(from_issuer.class, OutcomeClass::IssuerUnavailable);
    }

    #[test]
    fn status_decides_approvals_cancellations_and_bare_timeouts() {
        let t = taxonomy();
        assert_eq!(
            t.classify(None, TxnStatus::Approved, None, None, None)
                .class,
            OutcomeClass::Approved
        );
        assert_eq!(
            t.classify(None, TxnStatus::Cancelled, None, None, None)
                .class,
            OutcomeClass::Cancelled
        );
        assert_eq!(
            t.classify(None, TxnStatus::Timeout, None, None, None).class,
            OutcomeClass::HostTimeout
        );
        let bare = t.classify(None, TxnStatus::Failed, None, None, None);
        assert_eq!(
            (bare.class, bare.unknown_code),
            (OutcomeClass::Unknown, false)
        );
    }

    #[test]
    fn terminal_errors_classify_when_no_code_is_known() {
        let t = taxonomy();
        let chip = t.classify(
            None,
            TxnStatus::Failed,
            None,
            None,
            Some(TermError::ChipReadError),
        );
        assert_eq!(chip.class, OutcomeClass::DeviceFault);
        let other = t.classify(None, TxnStatus::Failed, None, None, Some(TermError::Other));
        assert!(other.unknown_code);
    }

    #[test]
    fn a_failure_carrying_an_approval_code_is_unknown() {
        let t = taxonomy();
        assert!(class(&t, "visa", "00").unknown_code);
    }

    #[test]
    fn broken_tables_are_refused() {
        let bad_code = table("iso", None, &[], &[("9 1", OutcomeClass::Comms)]);
        assert!(matches!(
            Taxonomy::new(vec![bad_code]),
            Err(TaxonomyError::BadCode { .. })
        ));
        let orphan = table("cup", Some("nope"), &["unionpay"], &[]);
        let base = table("iso", None, &[], &[]);
        assert!(matches!(
            Taxonomy::new(vec![base.clone(), orphan]),
            Err(TaxonomyError::BadExtends { .. })
        ));
        let looped_a = table("a", Some("b"), &["x"], &[]);
        let looped_b = table("b", Some("a"), &["y"], &[]);
        assert!(Taxonomy::new(vec![base, looped_a, looped_b]).is_err());
        assert!(matches!(
            Taxonomy::new(vec![]),
            Err(TaxonomyError::Default { found: 0 })
        ));
    }
}
