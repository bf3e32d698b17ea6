//! The intake journal: every message from the broker, appended before it
//! is acknowledged, so a crash loses nothing that was acknowledged.
//!
//! The engine checkpoint records the sequence number of the last message
//! whose events it holds. On restart, messages after it are decoded again
//! (they are not in the checkpoint); the ones before it, back to the
//! checkpoint before, only refill the dedup set, so a broker redelivering
//! what was journaled but not yet acknowledged counts nothing twice.
//!
//! Files: `<dir>/<first seq, 20 digits>.wal`, a new one at every
//! checkpoint. IntakeRecord: body length (u32 LE), xxh3-64 of the body (u64 LE),
//! body: seq (u64 LE), arrival ms (i64 LE), payload length as received
//! (u64 LE), topic length (u16 LE), topic, payload. A torn record at the
//! end of a file (a crash mid-write) ends that file's replay.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const EXT: &str = "wal";
const HEADER: usize = 4 + 8;
const FIXED: usize = 8 + 8 + 8 + 2;
/// Larger bodies are not records (a payload is at most the MQTT packet
/// limit, far below this).
const MAX_BODY: usize = 1 << 30;

/// Why the journal could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// A file operation failed.
    #[error("intake journal {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> IntakeError + '_ {
    move |source| IntakeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One journaled message.
#[derive(Debug, Clone, PartialEq)]
pub struct IntakeRecord {
    /// Position in the journal, from 1.
    pub seq: u64,
    /// Arrival time, epoch ms.
    pub arrival_ms: i64,
    /// Payload length as received (the payload is empty when it exceeded
    /// the limit).
    pub len: usize,
    /// MQTT topic.
    pub topic: String,
    /// Payload bytes.
    pub payload: Vec<u8>,
}

/// The position the engine checkpoint holds, shared between the driver
/// that writes checkpoints and the journal that may then drop old files.
#[derive(Debug, Clone, Default)]
pub struct Checkpointed(Arc<AtomicU64>);

impl Checkpointed {
    /// A checkpoint holding every message up to `seq` was written.
    pub fn set(&self, seq: u64) {
        self.0.fetch_max(seq, Ordering::AcqRel);
    }

    /// The latest position set.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

/// The journal's segment files in `dir`, oldest first, with their first
/// sequence numbers.
fn segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, IntakeError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.extension().and_then(|e| e.to_str()) != Some(EXT) {
            continue;
        }
        if let Some(first) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse::<u64>().ok())
        {
            out.push((first, path));
        }
    }
    out.sort();
    Ok(out)
}

/// Reads the intact records in `dir`, oldest first. A torn or corrupt
/// record ends its file's replay (logged); a file that cannot be opened
/// is an error.
pub struct Reader {
    files: std::vec::IntoIter<(u64, PathBuf)>,
    current: Option<(PathBuf, BufReader<File>)>,
    /// The highest sequence number read so far.
    pub last_seq: u64,
}

impl Reader {
    /// A reader over every journal file in `dir` (none if it does not
    /// exist).
    pub fn open(dir: &Path) -> Result<Reader, IntakeError> {
        let files = if dir.exists() {
            segments(dir)?
        } else {
            Vec::new()
        };
        Ok(Reader::over(files))
    }

    fn over(files: Vec<(u64, PathBuf)>) -> Reader {
        Reader {
            files: files.into_iter(),
            current: None,
            last_seq: 0,
        }
    }

    /// The next record, or `None` after the last one.
    pub fn next_record(&mut self) -> Result<Option<IntakeRecord>, IntakeError> {
        loop {
            if self.current.is_none() {
                let Some((_, path)) = self.files.next() else {
                    return Ok(None);
                };
                let file = File::open(&path).map_err(io(&path))?;
                self.current = Some((path, BufReader::new(file)));
            }
            let Some((path, r)) = self.current.as_mut() else {
                continue;
            };
            match read_record(r) {
                Ok(Some(rec)) => {
                    self.last_seq = self.last_seq.max(rec.seq);
                    return Ok(Some(rec));
                }
                Ok(None) => self.current = None,
                Err(why) => {
                    tracing::warn!(file = %path.display(), why, "intake journal: torn record, rest of the file skipped");
                    self.current = None;
                }
            }
        }
    }
}

/// The highest sequence number journaled in `dir` (0 for none): the last
/// intact record of the newest file that holds one.
pub fn last_seq(dir: &Path) -> Result<u64, IntakeError> {
    if !dir.exists() {
        return Ok(0);
    }
    for file in segments(dir)?.into_iter().rev() {
        let mut r = Reader::over(vec![file]);
        while r.next_record()?.is_some() {}
        if r.last_seq > 0 {
            return Ok(r.last_seq);
        }
    }
    Ok(0)
}

/// Reads every intact record in `dir`, oldest first, handing each to
/// `each`. Returns the highest sequence number seen (0 for none).
pub fn redecode(dir: &Path, mut each: impl FnMut(IntakeRecord)) -> Result<u64, IntakeError> {
    let mut reader = Reader::open(dir)?;
    while let Some(rec) = reader.next_record()? {
        each(rec);
    }
    Ok(reader.last_seq)
}

/// The next record, `None` at a clean end of file, `Err` for a torn or
/// corrupt one.
fn read_record(r: &mut impl Read) -> Result<Option<IntakeRecord>, &'static str> {
    let mut header = [0u8; HEADER];
    let mut got = 0;
    while got < HEADER {
        match r.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err("short header"),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Err("unreadable"),
        }
    }
    let body_len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if !(FIXED..=MAX_BODY).contains(&body_len) {
        return Err("bad length");
    }
    let mut sum = [0u8; 8];
    sum.copy_from_slice(&header[4..12]);
    let mut body = vec![0u8; body_len];
    r.read_exact(&mut body).map_err(|_| "short body")?;
    if xxhash_rust::xxh3::xxh3_64(&body) != u64::from_le_bytes(sum) {
        return Err("checksum mismatch");
    }
    let u64_at = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&body[i..i + 8]);
        u64::from_le_bytes(b)
    };
    let seq = u64_at(0);
    let arrival_ms = u64_at(8) as i64;
    let len = u64_at(16) as usize;
    let topic_len = usize::from(u16::from_le_bytes([body[24], body[25]]));
    if FIXED + topic_len > body_len {
        return Err("bad topic length");
    }
    let topic = std::str::from_utf8(&body[FIXED..FIXED + topic_len])
        .map_err(|_| "topic not UTF-8")?
        .to_string();
    Ok(Some(IntakeRecord {
        seq,
        arrival_ms,
        len,
        topic,
        payload: body[FIXED + topic_len..].to_vec(),
    }))
}

/// Appends messages; a new file at every checkpoint, old files removed
/// once two newer checkpoints cover them.
pub struct IntakeJournal {
    dir: PathBuf,
    file: File,
    buf: Vec<u8>,
    next_seq: u64,
    /// Files before the current one, oldest first: first seq and path.
    older: Vec<(u64, PathBuf)>,
    /// The file appended to: first seq and path.
    current: (u64, PathBuf),
    /// The checkpoint position the current file was opened after.
    rotated_at: u64,
    checkpointed: Checkpointed,
}

impl IntakeJournal {
    /// Opens the journal in `dir` (created if missing) for appending after
    /// `last_seq`, in a new file. Existing files stay until checkpoints
    /// cover them.
    pub fn open(
        dir: &Path,
        last_seq: u64,
        checkpointed: Checkpointed,
    ) -> Result<IntakeJournal, IntakeError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let older = segments(dir)?;
        let next_seq = last_seq + 1;
        let (file, path) = Self::create(dir, next_seq)?;
        let older = older.into_iter().filter(|(_, p)| *p != path).collect();
        Ok(IntakeJournal {
            dir: dir.to_path_buf(),
            file,
            buf: Vec::with_capacity(1 << 16),
            next_seq,
            older,
            current: (next_seq, path),
            rotated_at: checkpointed.get(),
            checkpointed,
        })
    }

    fn create(dir: &Path, first: u64) -> Result<(File, PathBuf), IntakeError> {
        let path = dir.join(format!("{first:020}.{EXT}"));
        let file = File::create(&path).map_err(io(&path))?;
        Ok((file, path))
    }

    /// Buffers one message; returns its sequence number. Nothing is
    /// durable before [`IntakeJournal::write`].
    pub fn append(&mut self, topic: &str, payload: &[u8], len: usize, arrival_ms: i64) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let topic = &topic.as_bytes()[..topic.len().min(usize::from(u16::MAX))];
        let body_len = FIXED + topic.len() + payload.len();
        let start = self.buf.len();
        self.buf.extend_from_slice(&(body_len as u32).to_le_bytes());
        self.buf.extend_from_slice(&[0u8; 8]);
        self.buf.extend_from_slice(&seq.to_le_bytes());
        self.buf.extend_from_slice(&arrival_ms.to_le_bytes());
        self.buf.extend_from_slice(&(len as u64).to_le_bytes());
        self.buf
            .extend_from_slice(&(topic.len() as u16).to_le_bytes());
        self.buf.extend_from_slice(topic);
        self.buf.extend_from_slice(payload);
        let sum = xxhash_rust::xxh3::xxh3_64(&self.buf[start + HEADER..]);
        self.buf[start + 4..start + HEADER].copy_from_slice(&sum.to_le_bytes());
        seq
    }

    /// Hands the buffered records to the operating system: from here they
    /// survive the process being killed (not a power loss; see
    /// [`IntakeJournal::sync`]).
    pub fn write(&mut self) -> Result<(), IntakeError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(&self.buf);
        self.buf.clear();
        result.map_err(io(&self.dir))
    }

    /// Forces written records to disk.
    pub fn sync(&mut self) -> Result<(), IntakeError> {
        self.file.sync_data().map_err(io(&self.dir))
    }

    /// After a new checkpoint: starts a new file and removes the files
    /// that the checkpoint before it already covered.
    pub fn rotate_if_checkpointed(&mut self) -> Result<(), IntakeError> {
        let at = self.checkpointed.get();
        if at <= self.rotated_at {
            return Ok(());
        }
        self.write()?;
        let (file, path) = Self::create(&self.dir, self.next_seq)?;
        drop(std::mem::replace(&mut self.file, file));
        let previous = std::mem::replace(&mut self.current, (self.next_seq, path));
        self.older.push(previous);
        // Files wholly at or before the checkpoint before this one can go.
        // A file's records end where the next one begins, so they are a
        // prefix of the older files.
        let keep_after = std::mem::replace(&mut self.rotated_at, at);
        while let Some((_, path)) = self.older.first() {
            let next_first = self.older.get(1).map_or(self.current.0, |o| o.0);
            if next_first.saturating_sub(1) > keep_after {
                break;
            }
            if let Err(e) = std::fs::remove_file(path) {
                tracing::warn!(file = %path.display(), error = %e, "cannot remove an old intake journal file");
            }
            self.older.remove(0);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(dir: &Path) -> Vec<IntakeRecord> {
        let mut out = Vec::new();
        redecode(dir, |r| out.push(r)).expect("replay");
        out
    }

    #[test]
    fn written_records_read_back_in_order_and_unwritten_ones_do_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut j = IntakeJournal::open(dir.path(), 0, Checkpointed::default()).expect("open");
        assert_eq!(j.append("a/b", b"{\"x\":1}", 7, 10), 1);
        assert_eq!(j.append("a/c", b"", 99_999, 11), 2);
        j.write().expect("write");
        j.append("a/d", b"lost", 4, 12);
        let got = records(dir.path());
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0],
            IntakeRecord {
                seq: 1,
                arrival_ms: 10,
                len: 7,
                topic: "a/b".into(),
                payload: b"{\"x\":1}".to_vec()
            }
        );
        assert_eq!((got[1].len, got[1].payload.len()), (99_999, 0));
    }

    #[test]
    fn a_torn_tail_ends_the_file_and_a_reopened_journal_continues_after_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut j = IntakeJournal::open(dir.path(), 0, Checkpointed::default()).expect("open");
        for i in 0..3 {
            j.append("t", format!("m{i}").as_bytes(), 2, i);
        }
        j.write().expect("write");
        drop(j);
        let (_, path) = segments(dir.path()).expect("segments").remove(0);
        let bytes = std::fs::read(&path).expect("read");
        std::fs::write(&path, &bytes[..bytes.len() - 3]).expect("truncate");
        let last = redecode(dir.path(), |_| {}).expect("replay");
        assert_eq!(last, 2, "the third record is torn");
        assert_eq!(last_seq(dir.path()).expect("last seq"), 2);
        let mut j = IntakeJournal::open(dir.path(), last, Checkpointed::default()).expect("reopen");
        assert_eq!(j.append("t", b"m3", 2, 3), 3);
        j.write().expect("write");
        let seqs: Vec<u64> = records(dir.path()).iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [1, 2, 3]);
        // The newest file ends with record 3; an empty one after it does not
        // hide it.
        drop(j);
        IntakeJournal::open(dir.path(), 3, Checkpointed::default()).expect("reopen");
        assert_eq!(last_seq(dir.path()).expect("last seq"), 3);
    }

    #[test]
    fn files_are_removed_once_two_checkpoints_cover_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let done = Checkpointed::default();
        let mut j = IntakeJournal::open(dir.path(), 0, done.clone()).expect("open");
        let append = |j: &mut IntakeJournal, n: u64| {
            for _ in 0..n {
                j.append("t", b"{}", 2, 0);
            }
            j.write().expect("write");
        };
        append(&mut j, 10); // 1..=10
        done.set(8);
        j.rotate_if_checkpointed().expect("rotate");
        append(&mut j, 10); // 11..=20
        done.set(15);
        j.rotate_if_checkpointed().expect("rotate");
        // 1..=10 is still needed: it holds ids after the checkpoint at 8.
        assert_eq!(records(dir.path()).first().map(|r| r.seq), Some(1));
        append(&mut j, 10); // 21..=30
        done.set(25);
        j.rotate_if_checkpointed().expect("rotate");
        // The checkpoint at 15 covers 1..=10, and one at 25 came after it.
        let seqs: Vec<u64> = records(dir.path()).iter().map(|r| r.seq).collect();
        assert_eq!(seqs, (11..=30).collect::<Vec<_>>());
        assert_eq!(segments(dir.path()).expect("segments").len(), 3);
    }
}
