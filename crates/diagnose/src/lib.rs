//! Detection: decide whether something is wrong, where, and who is at fault.
//!
//! This crate is being built up. Present so far:
//!
//! * [`spike`]: the Poisson tail test of observed against expected failures,
//!   with an absolute floor, so low volume never pages.
//! * [`localize`]: multi-dimensional root-cause localization over a leaf
//!   table (real `v` and expected `f` per leaf), finding the smallest set of
//!   elements (single values or combinations of up to three) that explains
//!   the excess.
//!
//! * [`classify`]: names the side at fault from the element's dimensions,
//!   the failure classes carrying the excess, and its spread.
//!
//! Per-terminal tests, silence detection, the evidence attached to findings
//! (top codes, affected terminals and amounts) and the wiring into the live
//! service are not built yet.

pub mod classify;
pub mod detect;
pub mod localize;
pub mod silence;
pub mod spike;
pub mod synthetic;

pub use classify::{classify, Spread, Verdict};
pub use detect::{Detector, Finding, Signal};
pub use localize::{localize, Element, LeafInput, Localized, Params};
