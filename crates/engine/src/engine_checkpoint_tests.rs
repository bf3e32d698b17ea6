//! Checkpoint files: a round trip keeps baselines and terminals; a
//! corrupt or foreign file is refused.

use super::tests::{outcome, settings, T0};
use super::*;
use swipewatch_model::OutcomeClass;

#[test]
fn a_checkpoint_file_round_trips_baselines_and_terminals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("engine.ckpt");
    let mut e = Engine::new(settings());
    let mut out = Vec::new();
    for i in 0..200 {
        e.record(&outcome(
            T0 + i * 1_000,
            (i % 7) as u32,
            (i % 3) as u32,
            OutcomeClass::Approved,
        ));
        e.poll_closed(&mut out);
    }
    for mut s in out.drain(..) {
        e.learn(&mut s, &Anomalies::default());
    }
    e.save_file(&path).expect("save");
    let r = Engine::restore_file(settings(), &path).expect("restore");
    assert_eq!(**r.baselines(), **e.baselines());
    assert_eq!(r.terminal_state(Sym(3)), e.terminal_state(Sym(3)));
    assert_eq!(r.watermark_ms(), e.watermark_ms());
    assert!(
        !dir.path().join("engine.tmp").exists(),
        "temporary file renamed away"
    );
}

#[test]
fn a_corrupt_or_foreign_checkpoint_is_refused() {
    let mut e = Engine::new(settings());
    e.record(&outcome(T0, 1, 0, OutcomeClass::Approved));
    let mut bytes = Vec::new();
    e.save(&mut bytes).expect("save");
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    assert!(matches!(
        Engine::restore(settings(), flipped.as_slice()),
        Err(checkpoint::CheckpointError::Checksum)
    ));
    let truncated = &bytes[..bytes.len() - 3];
    assert!(matches!(
        Engine::restore(settings(), truncated),
        Err(checkpoint::CheckpointError::Checksum)
    ));
    assert!(matches!(
        Engine::restore(settings(), &b"hello world, not a checkpoint"[..]),
        Err(checkpoint::CheckpointError::Magic { .. })
    ));
    let mut other = settings();
    other.bucket_ms = 5_000;
    let err = Engine::restore(other, bytes.as_slice())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("engine.bucket"), "{err}");
}
