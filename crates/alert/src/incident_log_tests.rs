use super::*;
use crate::fixtures::issuer_finding as finding;
use crate::{FindingView, IncidentBook, NoticeKind, Policy};

/// Plays `windows` through a book, journaling like the service does.
fn play(book: &mut IncidentBook, journal: &mut IncidentLog, windows: &[(i64, Vec<FindingView>)]) {
    for (end_ms, findings) in windows {
        for t in book.update(*end_ms, findings) {
            journal.incident(t.incident()).expect("append");
        }
        for n in book.take_notices() {
            journal.notice(&n).expect("append");
        }
    }
}

#[test]
fn a_reopened_log_resumes_the_firing_incident_without_a_second_fired_notice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("incidents.log");
    let mut journal =
        IncidentLog::create(&path, &read(&path, &["webhook"], 10).expect("read")).expect("create");
    let mut book = IncidentBook::new(Policy::default());
    let f = vec![finding("northbank")];
    play(
        &mut book,
        &mut journal,
        &[(10_000, f.clone()), (20_000, f.clone())],
    );
    journal.delivered("webhook", 1).expect("ack");
    drop(journal);

    let recovered = read(&path, &["webhook"], 10).expect("read");
    assert_eq!(recovered.incidents.len(), 1);
    assert_eq!(recovered.incidents[0].state, State::Firing);
    assert!(recovered.incidents[0].notified);
    assert!(recovered.pending_for("webhook").is_empty());
    assert_eq!(recovered.next_seq, 2);

    let mut journal = IncidentLog::create(&path, &recovered).expect("reopen");
    let mut book = IncidentBook::new(Policy::default());
    book.restore(recovered.incidents.clone());
    // The outage goes on, then ends: one resolved notice and nothing else.
    play(
        &mut book,
        &mut journal,
        &[
            (30_000, f.clone()),
            (40_000, vec![]),
            (50_000, vec![]),
            (60_000, vec![]),
        ],
    );
    let after = read(&path, &["webhook"], 10).expect("read");
    let kinds: Vec<(u64, NoticeKind)> = after
        .pending_for("webhook")
        .iter()
        .map(|(s, n)| (*s, n.kind))
        .collect();
    assert_eq!(kinds, [(2, NoticeKind::Resolved)]);
    assert_eq!(after.incidents[0].state, State::Resolved);
}

#[test]
fn a_torn_last_line_is_skipped_and_the_rest_recovered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("incidents.log");
    let mut journal = IncidentLog::create(&path, &Recovered::default()).expect("create");
    let mut book = IncidentBook::new(Policy::default());
    let f = vec![finding("northbank")];
    play(&mut book, &mut journal, &[(10_000, f.clone()), (20_000, f)]);
    drop(journal);
    let mut file = OpenOptions::new().append(true).open(&path).expect("open");
    file.write_all(b"{\"op\":\"delivered\",\"si")
        .expect("write");
    drop(file);
    let recovered = read(&path, &["webhook"], 10).expect("read");
    assert_eq!(recovered.skipped_lines, 1);
    assert_eq!(recovered.pending_for("webhook").len(), 1);
    assert_eq!(recovered.incidents.len(), 1);
}

#[test]
fn compaction_drops_notices_every_sink_delivered_and_old_resolved_incidents() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("incidents.log");
    let mut journal = IncidentLog::create(&path, &Recovered::default()).expect("create");
    let mut book = IncidentBook::new(Policy::default());
    let mut windows = Vec::new();
    let mut t = 0;
    for bank in ["a", "b", "c"] {
        for _ in 0..2 {
            t += 10_000;
            windows.push((t, vec![finding(bank)]));
        }
        for _ in 0..3 {
            t += 10_000;
            windows.push((t, vec![]));
        }
    }
    play(&mut book, &mut journal, &windows);
    journal.delivered("webhook", 6).expect("ack");
    journal.delivered("mqtt", 4).expect("ack");
    drop(journal);
    let recovered = read(&path, &["webhook", "mqtt"], 2).expect("read");
    let seqs: Vec<u64> = recovered.notices.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, [5, 6]);
    assert_eq!(recovered.incidents.len(), 2, "only the two newest resolved");
    IncidentLog::create(&path, &recovered).expect("compact");
    let lines = std::fs::read_to_string(&path)
        .expect("read")
        .lines()
        .count();
    assert_eq!(lines, 2 + 2 + 2);
    assert_eq!(
        read(&path, &["webhook", "mqtt"], 2).expect("read"),
        recovered
    );
}
