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
//! Cause classification, per-terminal tests and the evidence attached to
//! findings are not built yet.

pub mod localize;
pub mod spike;
pub mod synthetic;

pub use localize::{localize, Element, LeafInput, Localized, Params};
