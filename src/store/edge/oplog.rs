//! engram's operation log for one Edge collection.
//!
//! qdrant-edge 0.7.0 writes its own WAL but never replays it: whatever was not flushed to the
//! segments is gone after a crash (measured: 100,000 acknowledged upserts, SIGKILL, 0 points
//! after reopening). So every write is first appended here (and fdatasync'ed by default),
//! then applied to the shard; a checkpoint flushes the shard and empties the log; opening a
//! collection replays whatever the log still holds. Replaying is idempotent: operations set
//! state (upsert, delete, set payload), they never increment it.
//!
//! Group commit: a write is appended and applied under the collection's write lock, and made
//! durable after it, by [`GroupCommit::wait_durable`]: one fdatasync covers every record
//! appended before it started, so concurrent writers share a sync instead of each paying for
//! one while holding the lock (PostgreSQL's and InnoDB's group commit). A write is
//! acknowledged only once a sync covering it has returned, so what is acknowledged survives
//! a power cut as before. A write is visible to searches from the moment it is applied, a
//! sync before it is acknowledged; a power cut in between loses it together with every
//! later write (the log is cut at its first missing record), and none of those had been
//! acknowledged.
//!
//! Record layout: `len: u32 LE | crc32: u32 LE | body` where body is the MessagePack encoding
//! of a [`LoggedOp`] and the CRC covers the body. A record that is cut short or fails its CRC
//! ends the log: a torn tail is what a crash mid-append leaves, and it was never acknowledged.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::store::error::{Result, StoreError};
use crate::store::filter::Filter;
use crate::store::keyword::SparseVector;
use crate::store::schema::FieldIndex;
use crate::store::types::PointId;

/// Records larger than this are refused (and, when read, treated as corruption).
const MAX_RECORD: u32 = 1 << 30;

/// A point as logged: everything needed to apply the upsert again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct LoggedPoint {
    pub id: PointId,
    pub vector: Vec<f32>,
    pub sparse: SparseVector,
    /// The payload as JSON text (MessagePack would blur JSON's integer/float distinction).
    pub payload_json: String,
}

/// One write to a collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) enum LoggedOp {
    Upsert(Vec<LoggedPoint>),
    Delete(Vec<PointId>),
    DeleteByFilter(Filter),
    SetPayload {
        ids: Vec<PointId>,
        payload_json: String,
    },
    CreateIndex(FieldIndex),
}

/// The append-only log file.
#[derive(Debug)]
pub(super) struct OpLog {
    file: File,
    path: PathBuf,
    len: u64,
    sync: bool,
    group: Arc<GroupCommit>,
}

/// Makes appended records durable, one fdatasync for as many writers as are waiting.
///
/// Positions are bytes appended since the log was opened, never reset by a checkpoint, so a
/// writer's position stays meaningful across one.
#[derive(Debug)]
pub(super) struct GroupCommit {
    /// The log file (a second handle to it), synced outside the collection's write lock.
    file: File,
    path: PathBuf,
    /// Bytes appended so far.
    appended: AtomicU64,
    /// Bytes known durable; its lock also serialises the syncs. `Err` once a sync failed.
    synced: Mutex<std::result::Result<u64, String>>,
    /// Whether a sync failed: read by every append without waiting for a sync in progress.
    failed: AtomicBool,
    /// fdatasync calls made.
    syncs: AtomicU64,
}

impl GroupCommit {
    /// Returns once everything up to `position` is on disk: at once if a sync already
    /// covered it, else after one that does (started by this writer or one queued before).
    ///
    /// A failed fdatasync fails every later write too: after one, the kernel may have
    /// dropped the dirty pages it could not write, and a later sync that succeeds would say
    /// nothing about them.
    pub(super) fn wait_durable(&self, position: u64) -> Result<()> {
        let mut synced = self.synced.lock().unwrap_or_else(|e| e.into_inner());
        let done = synced.clone().map_err(|error| self.refused(&error))?;
        if done >= position {
            return Ok(());
        }
        let target = self.appended.load(Ordering::Acquire);
        self.syncs.fetch_add(1, Ordering::Relaxed);
        match self.file.sync_data() {
            Ok(()) => {
                *synced = Ok(target.max(done));
                Ok(())
            }
            Err(error) => {
                let message = error.to_string();
                *synced = Err(message.clone());
                self.failed.store(true, Ordering::Release);
                Err(StoreError::io("fdatasync", &self.path, error))
            }
        }
    }

    /// Refuses a write once a sync has failed. Does not wait for a sync in progress, so
    /// that writers append while one runs and share the next.
    pub(super) fn check(&self) -> Result<()> {
        if !self.failed.load(Ordering::Acquire) {
            return Ok(());
        }
        let synced = self.synced.lock().unwrap_or_else(|e| e.into_inner());
        synced
            .clone()
            .map(|_| ())
            .map_err(|error| self.refused(&error))
    }

    fn refused(&self, error: &str) -> StoreError {
        StoreError::Edge(format!(
            "an fdatasync of {} failed ({error}); this collection refuses writes until engram \
             reopens it, since the operating system may have dropped writes it could not \
             sync",
            self.path.display()
        ))
    }

    /// Everything appended so far is durable by other means (a checkpoint flushed it).
    fn all_durable(&self) {
        let mut synced = self.synced.lock().unwrap_or_else(|e| e.into_inner());
        if let Ok(done) = synced.as_mut() {
            *done = (*done).max(self.appended.load(Ordering::Acquire));
        }
    }
}

impl OpLog {
    /// Opens (or creates) the log at `path` and returns the operations it holds, in order.
    /// A torn or corrupt tail is cut off; bytes after a corrupt record in the middle are
    /// kept aside in `<path>.corrupt-<unix time>` and reported.
    pub(super) fn open(path: &Path, sync: bool) -> Result<(Self, Vec<LoggedOp>)> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| StoreError::io("open", path, e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| StoreError::io("read", path, e))?;
        let (ops, valid_len) = decode_all(&bytes);
        if valid_len < bytes.len() {
            let rest = &bytes[valid_len..];
            let is_torn_tail = looks_torn(rest);
            if is_torn_tail {
                tracing::info!(
                    "{}: dropping a torn record of {} bytes at the end (an unacknowledged \
                     write interrupted by a crash)",
                    path.display(),
                    rest.len()
                );
            } else {
                let aside = path.with_extension(format!(
                    "corrupt-{}",
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0)
                ));
                fs_err::write(&aside, rest).map_err(|e| StoreError::io("write", &aside, e))?;
                tracing::error!(
                    "{}: corrupt record at byte {valid_len}; the {} bytes from there were \
                     moved to {} and not replayed",
                    path.display(),
                    rest.len(),
                    aside.display()
                );
            }
            file.set_len(valid_len as u64)
                .and_then(|()| file.sync_all())
                .map_err(|e| StoreError::io("truncate", path, e))?;
        }
        let group = Arc::new(GroupCommit {
            file: file
                .try_clone()
                .map_err(|e| StoreError::io("open", path, e))?,
            path: path.to_path_buf(),
            appended: AtomicU64::new(0),
            synced: Mutex::new(Ok(0)),
            failed: AtomicBool::new(false),
            syncs: AtomicU64::new(0),
        });
        Ok((
            Self {
                file,
                path: path.to_path_buf(),
                len: valid_len as u64,
                sync,
                group,
            },
            ops,
        ))
    }

    /// What makes this log's records durable.
    pub(super) fn group(&self) -> Arc<GroupCommit> {
        Arc::clone(&self.group)
    }

    /// Whether appends are to be made durable before they are acknowledged.
    pub(super) fn syncs(&self) -> bool {
        self.sync
    }

    /// Appends `op` and returns its end position: when this returns the record is in the
    /// file, and on disk once [`GroupCommit::wait_durable`] of that position returns.
    pub(super) fn append(&mut self, op: &LoggedOp) -> Result<u64> {
        self.group.check()?;
        // Named fields: structs with skipped empty fields (a filter with no `must`) would
        // otherwise be written as shorter arrays and read back with fields shifted.
        let body = rmp_serde::to_vec_named(op)
            .map_err(|e| StoreError::Edge(format!("cannot encode an operation: {e}")))?;
        let len = u32::try_from(body.len())
            .ok()
            .filter(|&n| n > 0 && n <= MAX_RECORD)
            .ok_or_else(|| {
                StoreError::InvalidInput(format!(
                    "one write of {} bytes is too large (at most {MAX_RECORD})",
                    body.len()
                ))
            })?;
        let mut record = Vec::with_capacity(body.len() + 8);
        record.extend_from_slice(&len.to_le_bytes());
        record.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        record.extend_from_slice(&body);
        if let Err(error) = self.file.write_all(&record) {
            // Cut off whatever part of the record made it, so the log stays decodable.
            let _ = self.file.set_len(self.len);
            return Err(StoreError::io("append to", &self.path, error));
        }
        self.len += record.len() as u64;
        Ok(self
            .group
            .appended
            .fetch_add(record.len() as u64, Ordering::AcqRel)
            + record.len() as u64)
    }

    /// Empties the log once everything in it is durable in the shard.
    pub(super) fn reset(&mut self) -> Result<()> {
        self.file
            .set_len(0)
            .and_then(|()| self.file.sync_all())
            .map_err(|e| StoreError::io("truncate", &self.path, e))?;
        self.len = 0;
        self.group.all_durable();
        Ok(())
    }

    /// Bytes in the log.
    pub(super) fn len(&self) -> u64 {
        self.len
    }
}

/// Decodes records until the first invalid one; returns them and the valid prefix length.
fn decode_all(bytes: &[u8]) -> (Vec<LoggedOp>, usize) {
    let mut ops = Vec::new();
    let mut at = 0;
    while let Some((op, next)) = decode_one(bytes, at) {
        ops.push(op);
        at = next;
    }
    (ops, at)
}

fn decode_one(bytes: &[u8], at: usize) -> Option<(LoggedOp, usize)> {
    let header = bytes.get(at..at + 8)?;
    let len = u32::from_le_bytes(header[..4].try_into().ok()?);
    let crc = u32::from_le_bytes(header[4..].try_into().ok()?);
    if len == 0 || len > MAX_RECORD {
        return None;
    }
    let end = at + 8 + len as usize;
    let body = bytes.get(at + 8..end)?;
    if crc32fast::hash(body) != crc {
        return None;
    }
    let op = rmp_serde::from_slice(body).ok()?;
    Some((op, end))
}

/// Whether undecodable trailing bytes are what an interrupted append leaves: a record whose
/// declared length runs past the end of the file, or zeros.
fn looks_torn(rest: &[u8]) -> bool {
    if rest.iter().all(|&b| b == 0) {
        return true;
    }
    match rest.get(..4) {
        None => true,
        Some(len) => {
            let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
            8 + len > rest.len()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(n: u8) -> LoggedOp {
        LoggedOp::Upsert(vec![LoggedPoint {
            id: PointId::from_u128(u128::from(n)),
            vector: vec![f32::from(n), 0.5],
            sparse: SparseVector {
                indices: vec![1, 7],
                values: vec![0.5, 1.5],
            },
            payload_json: format!("{{\"n\":{n},\"f\":1.0}}"),
        }])
    }

    #[test]
    fn one_sync_covers_every_record_appended_before_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("oplog");
        let (mut log, _) = OpLog::open(&path, true).expect("open");
        let group = log.group();
        let positions: Vec<u64> = (0..3)
            .map(|n| log.append(&op(n)).expect("append"))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
        // The first writer's sync covers the two appended after it: they need none.
        for position in &positions {
            group.wait_durable(*position).expect("durable");
        }
        assert_eq!(group.syncs.load(Ordering::Relaxed), 1);
        // A checkpoint makes everything durable; positions go on growing across it.
        let before = log.append(&op(4)).expect("append");
        log.reset().expect("reset");
        group.wait_durable(before).expect("durable");
        assert_eq!(group.syncs.load(Ordering::Relaxed), 1);
        let after = log.append(&op(5)).expect("append");
        assert!(after > before);
        group.wait_durable(after).expect("durable");
        assert_eq!(group.syncs.load(Ordering::Relaxed), 2);
        drop(log);
        let (_, ops) = OpLog::open(&path, true).expect("reopen");
        assert_eq!(
            ops,
            vec![op(5)],
            "the reset emptied the log, the last append is in it"
        );
    }

    #[test]
    fn round_trips_in_order_and_resets() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("oplog");
        let (mut log, ops) = OpLog::open(&path, true).expect("open");
        assert!(ops.is_empty());
        for n in 0..5 {
            log.append(&op(n)).expect("append");
        }
        log.append(&LoggedOp::Delete(vec![PointId::from_u128(3)]))
            .expect("append");
        drop(log);
        let (mut log, ops) = OpLog::open(&path, true).expect("reopen");
        assert_eq!(ops.len(), 6);
        assert_eq!(ops[2], op(2));
        assert_eq!(ops[5], LoggedOp::Delete(vec![PointId::from_u128(3)]));
        log.reset().expect("reset");
        drop(log);
        let (_, ops) = OpLog::open(&path, true).expect("reopen");
        assert!(ops.is_empty());
    }

    #[test]
    fn filters_with_empty_parts_replay_as_written() {
        use crate::store::filter::{Condition, Filter};
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("oplog");
        let (mut log, _) = OpLog::open(&path, true).expect("open");
        let should_only = Filter::any([Condition::keyword("a", "1"), Condition::keyword("b", "2")]);
        let must_and_not =
            Filter::all([Condition::keyword("a", "1")]).and_not(Condition::keyword("b", "2"));
        for filter in [&should_only, &must_and_not] {
            log.append(&LoggedOp::DeleteByFilter(filter.clone()))
                .expect("append");
        }
        drop(log);
        let (_, ops) = OpLog::open(&path, true).expect("reopen");
        assert_eq!(
            ops,
            [
                LoggedOp::DeleteByFilter(should_only),
                LoggedOp::DeleteByFilter(must_and_not)
            ]
        );
    }

    #[test]
    fn a_torn_tail_is_dropped_and_earlier_records_survive() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("oplog");
        let (mut log, _) = OpLog::open(&path, false).expect("open");
        log.append(&op(1)).expect("append");
        log.append(&op(2)).expect("append");
        let full = log.len();
        drop(log);
        // Cut the last record in half, as a crash mid-append would.
        let file = OpenOptions::new().write(true).open(&path).expect("open");
        file.set_len(full - 10).expect("truncate");
        let (mut log, ops) = OpLog::open(&path, false).expect("reopen");
        assert_eq!(ops, vec![op(1)]);
        log.append(&op(3)).expect("append after repair");
        drop(log);
        let (_, ops) = OpLog::open(&path, false).expect("reopen");
        assert_eq!(ops, vec![op(1), op(3)]);
    }

    #[test]
    fn a_corrupt_record_in_the_middle_is_kept_aside() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("oplog");
        let (mut log, _) = OpLog::open(&path, false).expect("open");
        for n in 0..3 {
            log.append(&op(n)).expect("append");
        }
        drop(log);
        let mut bytes = std::fs::read(&path).expect("read");
        let first_len = 8 + u32::from_le_bytes(bytes[..4].try_into().expect("len")) as usize;
        bytes[first_len + 12] ^= 0xff; // inside the second record's body
        std::fs::write(&path, &bytes).expect("write");
        let (_, ops) = OpLog::open(&path, false).expect("reopen");
        assert_eq!(ops, vec![op(0)]);
        let aside: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains("corrupt-"))
            .collect();
        assert_eq!(aside.len(), 1);
    }
}
