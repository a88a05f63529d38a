//! Records that change, each with a version: create-if-absent, compare-and-set, conditional
//! delete and "raise only if larger", on both backends (DESIGN.md, coordination rules 3
//! and 4).
//!
//! Every write is one conditional operation of the backend (`insert_only`, or `update_only`
//! with `update_filter: _version == v`), so the check and the write cannot be separated by
//! another writer. Qdrant Edge says whether the condition held; a Qdrant server does not, so
//! there each write carries a fresh token and is confirmed by reading the record back: the
//! record keeps the tokens of its last [`HISTORY`] versions in `_writes` (newest first), so
//! a writer whose version was already superseded by the time it reads back still learns
//! that it won (a later write needs a read and a write after this one landed, so the
//! history outlasts any read-back but a stalled one). A lost race is
//! [`StoreError::Conflict`] with the current version, never a silent overwrite.
//!
//! Reserved payload fields: `_version` (integer; a record written without one is version 0)
//! and `_writes`. Versions count up from 1 for as long as the record exists; a record that
//! is deleted and created again starts at 1 again, so a caller holding a version from before
//! the delete can meet a different record at the same version (the ABA case): callers that
//! delete and re-create keep their own generation in the payload.

use serde_json::Value;

use crate::store::Collection;
use crate::store::error::{Result, StoreError};
use crate::store::filter::{Condition, Filter};
use crate::store::types::{Applied, Payload, Point, PointId, Record, WriteMode};

/// The payload field holding a record's version.
pub const VERSION_FIELD: &str = "_version";
/// The payload field holding the write tokens of the latest versions, newest first.
pub const WRITES_FIELD: &str = "_writes";
/// How many versions' write tokens a record keeps: a writer can confirm its write as long
/// as fewer than this many later writes landed before it read back.
pub const HISTORY: usize = 32;

/// A record with its version.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned {
    /// The record.
    pub record: Record,
    /// Its version (0 for a record written without one).
    pub version: u64,
}

impl Versioned {
    fn of(record: Record) -> Self {
        Self {
            version: version_of(&record.payload),
            record,
        }
    }
}

/// The version a payload carries (0 without one).
pub fn version_of(payload: &Payload) -> u64 {
    payload
        .get(VERSION_FIELD)
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

fn writes_of(payload: &Payload) -> Vec<String> {
    match payload.get(WRITES_FIELD) {
        Some(Value::Array(tokens)) => tokens
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The condition "the record is at version `version`".
pub fn at_version(version: u64) -> Filter {
    if version == 0 {
        Filter::all([Condition::is_empty(VERSION_FIELD)])
    } else {
        Filter::all([Condition::Integer {
            field: VERSION_FIELD.to_owned(),
            value: i64::try_from(version).unwrap_or(i64::MAX),
        }])
    }
}

/// Stamps `payload` as version `version` written by `token`, keeping the earlier tokens.
fn stamp(payload: &mut Payload, version: u64, token: &str, earlier: Vec<String>) {
    let mut writes = Vec::with_capacity(HISTORY);
    writes.push(Value::from(token));
    writes.extend(earlier.into_iter().take(HISTORY - 1).map(Value::from));
    payload.insert(VERSION_FIELD.to_owned(), Value::from(version));
    payload.insert(WRITES_FIELD.to_owned(), Value::Array(writes));
}

/// 64 random bits: unique enough among one record's last [`HISTORY`] writers.
fn new_token() -> String {
    format!("{:016x}", uuid::Uuid::new_v4().as_u64_pair().0)
}

impl Collection {
    /// Reads `id` with its version (`None` when absent). On a cluster the read answers what
    /// a majority of replicas hold.
    pub fn read_versioned(&self, id: PointId) -> Result<Option<Versioned>> {
        Ok(self
            .get(&[id], false)?
            .into_iter()
            .next()
            .map(Versioned::of))
    }

    /// Creates `point` as version 1 unless a point with its id exists (create-if-absent).
    /// A point already there is [`StoreError::Conflict`] with its version.
    pub fn create(&self, mut point: Point) -> Result<u64> {
        let token = new_token();
        let id = point.id;
        stamp(&mut point.payload, 1, &token, Vec::new());
        let applied = self.upsert_with(vec![point], WriteMode::InsertOnly, None)?;
        self.confirm(applied, id, None, 1, &token)
    }

    /// Creates every point of `points` as version 1, in one write, leaving any point whose id
    /// exists alone (create-if-absent, for fresh ids such as random UUIDs, where no point can
    /// exist: a batch of new records). Answers what the backend reports.
    pub fn create_many(&self, mut points: Vec<Point>) -> Result<Applied> {
        for point in &mut points {
            stamp(&mut point.payload, 1, &new_token(), Vec::new());
        }
        self.upsert_with(points, WriteMode::InsertOnly, None)
    }

    /// Replaces the record at version `expected` with `point`, as version `expected + 1`;
    /// any other version (or no record) is [`StoreError::Conflict`] and nothing is written.
    /// The whole payload is replaced: fields raised with [`Collection::raise`] must be
    /// carried over by the caller (or use [`Collection::compare_and_set_payload`]).
    pub fn compare_and_set(&self, mut point: Point, expected: u64) -> Result<u64> {
        let id = point.id;
        let earlier = self.expect_version(id, expected)?;
        let token = new_token();
        stamp(&mut point.payload, expected + 1, &token, earlier);
        let applied = self.upsert_with(
            vec![point],
            WriteMode::UpdateOnly,
            Some(&at_version(expected)),
        )?;
        self.confirm(applied, id, Some(expected), expected + 1, &token)
    }

    /// Sets the fields of `patch` on the record at version `expected` (keeping the others),
    /// as version `expected + 1`; any other version is [`StoreError::Conflict`].
    pub fn compare_and_set_payload(
        &self,
        id: PointId,
        mut patch: Payload,
        expected: u64,
    ) -> Result<u64> {
        let earlier = self.expect_version(id, expected)?;
        let token = new_token();
        stamp(&mut patch, expected + 1, &token, earlier);
        let applied = self.set_payload_if(&[id], patch, &at_version(expected))?;
        self.confirm(applied, id, Some(expected), expected + 1, &token)
    }

    /// Deletes the record if it is at version `expected`. A record at another version is
    /// [`StoreError::Conflict`]; a record already gone is not an error.
    pub fn delete_if_version(&self, id: PointId, expected: u64) -> Result<()> {
        if self.delete_if(&[id], &at_version(expected))? == Applied::Points(1) {
            return Ok(());
        }
        match self.read_versioned(id)? {
            None => Ok(()),
            Some(current) => Err(self.conflict(id, Some(expected), Some(current.version))),
        }
    }

    /// Sets the integer `field` of record `id` to `value` unless it already holds `value` or
    /// more (a field that only grows: last access, an expiry, a clock). Returns the value
    /// stored afterwards, `None` when there is no such record. Needs no version and never
    /// conflicts; it does not change the record's version.
    pub fn raise(&self, id: PointId, field: &str, value: i64) -> Result<Option<i64>> {
        let mut patch = Payload::new();
        patch.insert(field.to_owned(), Value::from(value));
        let lower = Filter::all([Condition::either([
            Condition::below(field, value as f64),
            Condition::is_empty(field),
        ])]);
        self.set_payload_if(&[id], patch, &lower)?;
        Ok(self.get(&[id], false)?.into_iter().next().map(|r| {
            r.payload
                .get(field)
                .and_then(Value::as_i64)
                .unwrap_or(i64::MIN)
        }))
    }

    /// The write tokens of the record at version `expected`, or the conflict.
    fn expect_version(&self, id: PointId, expected: u64) -> Result<Vec<String>> {
        match self.read_versioned(id)? {
            Some(current) if current.version == expected => Ok(writes_of(&current.record.payload)),
            Some(current) => Err(self.conflict(id, Some(expected), Some(current.version))),
            None => Err(self.conflict(id, Some(expected), None)),
        }
    }

    /// Whether the write of `version` with `token` is the one that landed: as the backend
    /// reports it, or read back.
    fn confirm(
        &self,
        applied: Applied,
        id: PointId,
        expected: Option<u64>,
        version: u64,
        token: &str,
    ) -> Result<u64> {
        if applied == Applied::Points(1) {
            return Ok(version);
        }
        let Some(current) = self.read_versioned(id)? else {
            return Err(self.conflict(id, expected, None));
        };
        if current.version < version {
            return Err(self.conflict(id, expected, Some(current.version)));
        }
        if applied == Applied::Points(0) {
            return Err(self.conflict(id, expected, Some(current.version)));
        }
        let back = (current.version - version) as usize;
        match writes_of(&current.record.payload).get(back) {
            Some(written) if written == token => Ok(version),
            Some(_) => Err(self.conflict(id, expected, Some(current.version))),
            None if back >= HISTORY => Err(StoreError::Unconfirmed {
                collection: self.name(),
                id,
                message: format!(
                    "the record moved from version {version} to {} before it could be read \
                     back",
                    current.version
                ),
            }),
            None => Err(self.conflict(id, expected, Some(current.version))),
        }
    }

    fn conflict(&self, id: PointId, expected: Option<u64>, current: Option<u64>) -> StoreError {
        StoreError::Conflict {
            collection: self.name(),
            id,
            expected,
            current,
        }
    }
}
