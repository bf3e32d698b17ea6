//! Per-dimension and per-response-code metrics with bounded labels: the
//! first `cap` values seen of each dimension get their own label, later
//! ones are counted as `other`, so no terminal count or hostile payload
//! can blow up the number of series. Counters are cached per value, so
//! the hot path does no label formatting.

use prometheus::IntCounter;
use std::collections::HashMap;
use swipewatch_decode::SharedSymbols;
use swipewatch_engine::WindowSnapshot;
use swipewatch_model::{Dim, OutcomeClass, RespCode, Sym};
use swipewatch_telemetry::BreakdownMetrics;

/// Dimensions broken down in metrics: low-cardinality ones only, never a
/// terminal or merchant.
pub const METRIC_DIMS: [Dim; 8] = [
    Dim::Region,
    Dim::Carrier,
    Dim::NetType,
    Dim::Acquirer,
    Dim::Issuer,
    Dim::Scheme,
    Dim::Model,
    Dim::Firmware,
];

/// Distinct response codes with their own label.
const CODE_CAP: usize = 100;

/// Counters per (dimension, value) and per code.
pub struct Breakdown {
    metrics: BreakdownMetrics,
    cap: usize,
    values: HashMap<(Dim, Sym), Vec<IntCounter>>,
    admitted: [usize; Dim::COUNT],
    codes: HashMap<RespCode, IntCounter>,
}

impl Breakdown {
    /// Breakdowns with at most `cap` labelled values per dimension.
    pub fn new(metrics: BreakdownMetrics, cap: usize) -> Breakdown {
        Breakdown {
            metrics,
            cap,
            values: HashMap::new(),
            admitted: [0; Dim::COUNT],
            codes: HashMap::new(),
        }
    }

    /// Counts a response code.
    pub fn code(&mut self, rc: RespCode) {
        if let Some(c) = self.codes.get(&rc) {
            c.inc();
            return;
        }
        let label = if self.codes.len() < CODE_CAP {
            rc.to_string()
        } else {
            "other".to_string()
        };
        let counter = self.metrics.response_code(&label);
        counter.inc();
        if self.codes.len() < CODE_CAP {
            self.codes.insert(rc, counter);
        }
    }

    /// Adds a closed bucket's counts per dimension value and class.
    pub fn bucket(&mut self, snap: &WindowSnapshot, symbols: &SharedSymbols) {
        for dim in METRIC_DIMS {
            for (sym, counts) in snap.bucket.dims.values(dim) {
                let counters = match self.values.get(&(dim, sym)) {
                    Some(c) => c,
                    None => {
                        let admitted = &mut self.admitted[dim.index()];
                        let label = if *admitted < self.cap {
                            let symbols = symbols.read().unwrap_or_else(|p| p.into_inner());
                            symbols.resolve(dim, sym).map(str::to_string)
                        } else {
                            None
                        };
                        let own = label.is_some();
                        let label = label.unwrap_or_else(|| "other".to_string());
                        *admitted += usize::from(own);
                        let counters: Vec<IntCounter> = OutcomeClass::ALL
                            .iter()
                            .map(|c| self.metrics.dimension_outcomes(dim, &label, *c))
                            .collect();
                        self.values.entry((dim, sym)).or_insert(counters)
                    }
                };
                for class in OutcomeClass::ALL {
                    let n = counts.get(class);
                    if n > 0 {
                        counters[class.index()].inc_by(u64::from(n));
                    }
                }
            }
        }
    }
}
