//! How incidents relate: findings that count alike, elements that nest,
//! and the parents that explain a single device or a silence.

use crate::incident::{FindingView, Incident, Key};
use swipewatch_model::{Cause, Dim};

/// Whether two element findings count alike: same cause and signal (a
/// failure spike, a slowdown or a silence), neither a single device.
pub(crate) fn alike(a: &Key, af: &FindingView, b: &Key, bf: &FindingView) -> bool {
    a.terminal.is_none()
        && b.terminal.is_none()
        && a.cause == b.cause
        && a.slow == b.slow
        && af.signal.is_silence() == bf.signal.is_silence()
}

/// Whether one element holds every part of the other (and both name some).
pub(crate) fn nested(a: &[(Dim, String)], b: &[(Dim, String)]) -> bool {
    let within = |x: &[(Dim, String)], y: &[(Dim, String)]| x.iter().all(|p| y.contains(p));
    !a.is_empty() && !b.is_empty() && (within(a, b) || within(b, a))
}

/// Whether the element-level incident `parent` (with its latest finding)
/// explains `child`, a single device or a silence: the child sits inside
/// the parent's element (a terminal on the failing carrier, of the
/// misconfigured merchant, on the broken firmware; a quiet carrier in the
/// failing region), a quiet element shares the parent's place, or a device
/// fails with a failing bank's own codes.
pub(crate) fn explains(parent: &Key, latest: &FindingView, child: &Incident) -> bool {
    let place: Vec<&(Dim, String)> = child
        .key
        .element
        .iter()
        .chain(child.latest.context.iter())
        .collect();
    if !parent.element.is_empty() && parent.element.iter().all(|p| place.contains(&p)) {
        return true;
    }
    if child.latest.signal.is_silence() {
        let shared: Vec<&(Dim, String)> = parent
            .element
            .iter()
            .filter(|(d, _)| place.iter().any(|(cd, _)| cd == d))
            .collect();
        if !shared.is_empty() && shared.iter().all(|p| place.contains(p)) {
            return true;
        }
    }
    matches!(parent.cause, Cause::BankIssuer | Cause::BankAcquirer)
        && child.key.terminal.is_some()
        && !child.latest.classes.is_empty()
        && child
            .latest
            .classes
            .iter()
            .all(|(c, _)| latest.classes.iter().any(|(pc, _)| pc == c))
}

/// Every class of `child`'s latest finding is among `parent`'s.
pub(crate) fn same_classes(parent: &FindingView, child: &Incident) -> bool {
    !child.latest.classes.is_empty()
        && child
            .latest
            .classes
            .iter()
            .all(|(c, _)| parent.classes.iter().any(|(pc, _)| pc == c))
}
