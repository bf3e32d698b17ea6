//! A finding: one window's verdict on an element or a terminal, and the
//! two ways one is made (on an element; on a single device, whose element
//! is its firmware and model for context).

use swipewatch_engine::TerminalState;
use swipewatch_model::{Cause, Dim, OutcomeClass, Signal, Sym};

use crate::classify::Spread;

/// One localized, classified anomaly in one window.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Failures, or silence.
    pub signal: Signal,
    /// Who is at fault.
    pub cause: Cause,
    /// Where: `(dimension, value)` pairs.
    pub element: Vec<(Dim, Sym)>,
    /// Failures of the implicated classes under the element in the window.
    pub observed: f64,
    /// What the baselines expected there.
    pub expected: f64,
    /// Excess per failure class, largest first.
    pub classes: Vec<(OutcomeClass, f64)>,
    /// Distinct values of other leaf dimensions the excess spans.
    pub spread: Vec<Spread>,
    /// 0–1.
    pub confidence: f64,
    /// End of the window, epoch ms.
    pub window_end_ms: i64,
    /// The terminal, for single-device findings (the element is then its
    /// firmware and model, for context).
    pub terminal: Option<Sym>,
    /// Significant, but with fewer failures than the floor: it opens or
    /// keeps a pending incident, and never fires one.
    pub provisional: bool,
    /// For a latency finding: the window's p95 and the baseline's, ms.
    pub p95_ms: Option<(f64, f64)>,
}

impl Finding {
    /// A finding on an element: no terminal, no spread, no latency,
    /// classes to be added with [`Finding::with_classes`].
    pub fn element(
        signal: Signal,
        cause: Cause,
        element: Vec<(Dim, Sym)>,
        (observed, expected): (f64, f64),
        confidence: f64,
        window_end_ms: i64,
    ) -> Finding {
        Finding {
            signal,
            cause,
            element,
            observed,
            expected,
            classes: Vec::new(),
            spread: Vec::new(),
            confidence,
            window_end_ms,
            terminal: None,
            provisional: false,
            p95_ms: None,
        }
    }

    /// A finding on one terminal; its element is the terminal's firmware
    /// and model (see [`device_element`]).
    pub fn device(
        signal: Signal,
        cause: Cause,
        terminal: Sym,
        state: &TerminalState,
        (observed, expected): (f64, f64),
        confidence: f64,
        at_ms: i64,
    ) -> Finding {
        Finding {
            terminal: Some(terminal),
            ..Finding::element(
                signal,
                cause,
                device_element(state),
                (observed, expected),
                confidence,
                at_ms,
            )
        }
    }

    /// With the excess per failure class, largest first.
    pub fn with_classes(mut self, classes: Vec<(OutcomeClass, f64)>) -> Finding {
        self.classes = classes;
        self
    }
}

/// A terminal's firmware and model, as far as known: the element a device
/// finding carries for context.
pub fn device_element(state: &TerminalState) -> Vec<(Dim, Sym)> {
    [Dim::Firmware, Dim::Model]
        .into_iter()
        .filter(|d| state.dims.get(*d).is_some())
        .map(|d| (d, state.dims.get(d)))
        .collect()
}
