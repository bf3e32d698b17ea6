//! Detection: decide whether something is wrong, where, and who is at fault.
//!
//! * [`spike`]: the Poisson tail test of observed against expected failures,
//!   with an absolute floor, so low volume never pages; the beta-binomial
//!   tail of the per-terminal tests.
//! * [`localize`](mod@localize): multi-dimensional root-cause localization over a leaf
//!   table (real `v` and expected `f` per leaf), finding the smallest set of
//!   elements (single values or combinations of up to three) that explains
//!   the excess.
//! * [`classify`](mod@classify): names the side at fault from the element's dimensions,
//!   the failure classes carrying the excess, and its spread.
//! * [`silence`]: outcomes or heartbeats missing from a network value or a
//!   carrier × region pair.
//! * [`health`]: single devices from their heartbeats (tamper, host out of
//!   reach, offline queue, restarts, battery, clock), and places whose
//!   terminals cannot reach their host.
//! * [`missing`]: terminals of the inventory silent inside their trading
//!   hours, one by one or as a merchant's site or a region.
//! * [`latency`]: values whose round trip got slower than their own normal.
//! * [`detect`]: all of it on one closed window, with the cohort and
//!   single-terminal tests, into [`Finding`]s. Evidence (top codes,
//!   terminals, amounts) is gathered by the monitor while incidents are open.

pub mod classify;
mod cohorts;
pub mod detect;
mod devices;
mod finding;
pub mod health;
pub mod latency;
pub mod localize;
pub mod missing;
pub mod silence;
pub mod spike;

pub use classify::{classify, Spread, Verdict};
pub use detect::{Detector, Signal};
pub use devices::DeviceParams;
pub use finding::{device_element, Finding};
pub use localize::{localize, Direction, Element, LeafInput, Localized, Noise, Params};
