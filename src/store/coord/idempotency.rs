//! Idempotency keys: a client that retries a write (after a timeout, a dropped connection,
//! a crash of its own) sends the same key, and the write happens once; the retry gets the
//! first response (the scheme of Stripe's API and the IETF draft "The Idempotency-Key HTTP
//! Header Field").
//!
//! A key is claimed with a create-if-absent record (`pending`, the claimant's token, the
//! time, a fingerprint of the request); the claimant runs the operation and then records
//! its response (`done`) with a compare-and-set. A retry that finds the key `done` gets the
//! recorded response; one that finds it `pending` waits for it, up to [`WAIT`]. A claim
//! older than [`PENDING_TIMEOUT`] belongs to a request that died: the next retry takes it
//! over and runs the operation again in recovery mode, in which the operation first looks
//! for what the dead attempt may already have written (every engram write is keyed so that
//! it can). A failed operation releases its claim, so that a retry runs it again.
//!
//! Keys are scoped by operation (the same key on two routes is two keys) and kept for
//! [`RETENTION`]; [`IdempotencyKeys::sweep`] deletes older ones.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::store::error::{Result, StoreError};
use crate::store::filter::{Condition, Filter};
use crate::store::schema::{CollectionSpec, FieldKind};
use crate::store::types::{Payload, Point, PointId};
use crate::store::{Collection, Store};

/// The collection of idempotency keys.
pub const KEYS_COLLECTION: &str = "idempotency_keys";
/// Longest key (bytes).
pub const MAX_KEY_BYTES: usize = 255;
/// How long a claim whose request has not finished keeps others from taking the key over.
pub const PENDING_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a retry waits for the first request with its key to finish.
pub const WAIT: Duration = Duration::from_secs(10);
/// How long a key is remembered.
pub const RETENTION: Duration = Duration::from_secs(24 * 3600);

/// The schema of the keys collection.
pub fn keys_spec() -> CollectionSpec {
    CollectionSpec::records(KEYS_COLLECTION)
        .with_index("state", FieldKind::Keyword)
        .with_index("claimed_at", FieldKind::Integer)
}

/// Checks a key: 1 to 255 bytes of printable ASCII (header-safe).
pub fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(StoreError::InvalidInput(format!(
            "an idempotency key must be 1 to {MAX_KEY_BYTES} bytes, not {}",
            key.len()
        )));
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(StoreError::InvalidInput(
            "an idempotency key must be printable ASCII without spaces".into(),
        ));
    }
    Ok(())
}

/// Whether an operation runs for the first time or takes over from an attempt that died.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The first attempt with this key.
    First,
    /// A retry taking over a claim whose request never finished: look for what it wrote.
    Recovery,
}

/// The idempotency keys of a store.
#[derive(Debug, Clone)]
pub struct IdempotencyKeys {
    collection: Collection,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn fingerprint(scope: &str, request: &impl Serialize) -> Result<String> {
    let json = serde_json::to_string(request)
        .map_err(|e| StoreError::InvalidInput(format!("request: {e}")))?;
    let mut hasher = Sha256::new();
    hasher.update(scope.as_bytes());
    hasher.update([0]);
    hasher.update(json.as_bytes());
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn claim(scope: &str, key: &str, request: &str, owner: &str, now: i64) -> Payload {
    let mut payload = Payload::new();
    payload.insert("scope".into(), scope.into());
    payload.insert("key".into(), key.into());
    payload.insert("request".into(), request.into());
    payload.insert("state".into(), "pending".into());
    payload.insert("owner".into(), owner.into());
    payload.insert("claimed_at".into(), now.into());
    payload
}

fn record(id: PointId, payload: Payload) -> Point {
    Point {
        id,
        vector: Vec::new(),
        text: String::new(),
        payload,
    }
}

impl IdempotencyKeys {
    /// The keys of `store` (the `idempotency_keys` collection, created on first use).
    pub fn open(store: &Store) -> Result<Self> {
        Ok(Self {
            collection: store.collection(&keys_spec())?,
        })
    }

    /// Runs `op` once per `(scope, key)`: without a key it simply runs; with one, a repeat
    /// returns the first run's response (the same request is required:
    /// [`StoreError::IdempotencyMismatch`] otherwise), and a repeat while the first still
    /// runs waits for it ([`StoreError::IdempotencyInProgress`] after [`WAIT`]).
    pub fn run<T, E, F>(
        &self,
        scope: &str,
        key: Option<&str>,
        request: &impl Serialize,
        op: F,
    ) -> std::result::Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        E: From<StoreError>,
        F: FnOnce(Attempt) -> std::result::Result<T, E>,
    {
        let Some(key) = key else {
            return op(Attempt::First);
        };
        check_key(key)?;
        let id = PointId::from_content(&[b"idempotency", scope.as_bytes(), key.as_bytes()]);
        let request = fingerprint(scope, request)?;
        let owner = uuid::Uuid::new_v4().simple().to_string();
        let deadline = Instant::now() + WAIT;
        loop {
            let now = now_ms();
            let Some(current) = self.collection.read_versioned(id)? else {
                let payload = claim(scope, key, &request, &owner, now);
                match self.collection.create(record(id, payload.clone())) {
                    Ok(version) => return self.execute(id, version, payload, op, Attempt::First),
                    Err(StoreError::Conflict { .. }) => continue,
                    Err(error) => return Err(error.into()),
                }
            };
            let stored = &current.record.payload;
            let expired = stored
                .get("claimed_at")
                .and_then(Value::as_i64)
                .is_some_and(|at| at + millis(RETENTION) <= now);
            if !expired && stored.get("request").and_then(Value::as_str) != Some(&request) {
                return Err(StoreError::IdempotencyMismatch {
                    key: key.to_owned(),
                }
                .into());
            }
            let done = stored.get("state").and_then(Value::as_str) == Some("done");
            if done && !expired {
                let response = stored.get("response").cloned().unwrap_or(Value::Null);
                return serde_json::from_value(response).map_err(|e| {
                    StoreError::Corrupt {
                        path: format!("{KEYS_COLLECTION}/{key}").into(),
                        message: format!("the recorded response does not parse: {e}"),
                    }
                    .into()
                });
            }
            let abandoned = stored
                .get("claimed_at")
                .and_then(Value::as_i64)
                .is_none_or(|at| at + millis(PENDING_TIMEOUT) <= now);
            if expired || abandoned {
                let payload = claim(scope, key, &request, &owner, now);
                match self
                    .collection
                    .compare_and_set(record(id, payload.clone()), current.version)
                {
                    Ok(version) => {
                        let attempt = if expired {
                            Attempt::First
                        } else {
                            Attempt::Recovery
                        };
                        return self.execute(id, version, payload, op, attempt);
                    }
                    Err(StoreError::Conflict { .. }) => continue,
                    Err(error) => return Err(error.into()),
                }
            }
            if Instant::now() >= deadline {
                return Err(StoreError::IdempotencyInProgress {
                    key: key.to_owned(),
                }
                .into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn execute<T, E, F>(
        &self,
        id: PointId,
        version: u64,
        mut payload: Payload,
        op: F,
        attempt: Attempt,
    ) -> std::result::Result<T, E>
    where
        T: Serialize,
        E: From<StoreError>,
        F: FnOnce(Attempt) -> std::result::Result<T, E>,
    {
        match op(attempt) {
            Ok(value) => {
                let response = serde_json::to_value(&value)
                    .map_err(|e| StoreError::InvalidInput(format!("response: {e}")))?;
                payload.insert("state".into(), "done".into());
                payload.insert("response".into(), response);
                if let Err(error) = self
                    .collection
                    .compare_and_set(record(id, payload), version)
                {
                    // The operation happened; only its record is missing, so a retry will run
                    // in recovery mode and find what this one wrote.
                    tracing::warn!("could not record an idempotent response: {error}");
                }
                Ok(value)
            }
            Err(error) => {
                if let Err(release) = self.collection.delete_if_version(id, version) {
                    tracing::warn!("could not release an idempotency key: {release}");
                }
                Err(error)
            }
        }
    }

    /// Deletes keys older than [`RETENTION`].
    pub fn sweep(&self) -> Result<()> {
        let cutoff = now_ms() - millis(RETENTION);
        self.collection
            .delete_by_filter(&Filter::all([Condition::below(
                "claimed_at",
                cutoff as f64,
            )]))
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
