//! Leases: named locks with an owner token, a time to live and a fencing epoch, shared
//! (many holders) or exclusive (one), kept as versioned records so that any number of
//! engram servers on one store agree on who holds what (DESIGN.md, coordination rule 5).
//!
//! Every grant raises the lease's epoch, which never goes down (the record outlives its
//! holders). A write guarded by a lease ([`Collection::upsert_fenced`]) carries the
//! holder's epoch and is refused once the record was written under a newer one: a holder
//! that was paused past its time to live and wakes up after another took over cannot
//! overwrite the newer holder's work (Kleppmann, "How to do distributed locking", 2016).
//!
//! Time: Qdrant has no server-side expiry, so a lease expires by the clock of whoever reads
//! it. Servers' clocks must agree to far better than the TTLs used (NTP keeps hosts within
//! milliseconds; engram accepts TTLs from 10 ms for tests on one host, and leases between
//! hosts should last seconds). A holder must renew before its TTL runs out; past it, the
//! lease is free for the next acquirer even if the holder still believes it holds it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::idempotency::IdempotencyKeys;
use super::versioned::{Versioned, version_of};
use crate::store::error::{Result, StoreError};
use crate::store::schema::{CollectionSpec, FieldKind};
use crate::store::types::{Payload, Point, PointId};
use crate::store::{Collection, Condition, Filter, Store};

/// The collection of leases and the values they guard.
pub const LEASES_COLLECTION: &str = "leases";
/// Shortest time to live.
pub const MIN_TTL: Duration = Duration::from_millis(10);
/// Longest time to live.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 3600);
/// Longest wait for a lease (a caller that must wait longer retries, after the
/// `expires_in_ms` a refusal gives).
pub const MAX_WAIT: Duration = Duration::from_secs(10);
/// Longest lease name or owner (characters).
pub const MAX_NAME_CHARS: usize = 255;
/// The payload field a fenced write records its lease in.
pub const FENCE_LEASE_FIELD: &str = "_fence_lease";
/// The payload field a fenced write records its epoch in.
pub const FENCE_EPOCH_FIELD: &str = "_fence_epoch";

/// Shared or exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeaseMode {
    /// Any number of shared holders at once, and no exclusive one (readers).
    Shared,
    /// One holder and nobody else (a writer).
    Exclusive,
}

impl LeaseMode {
    /// The name used in requests and records.
    pub fn name(self) -> &'static str {
        match self {
            Self::Shared => "shared",
            Self::Exclusive => "exclusive",
        }
    }
}

/// A granted lease: what its holder keeps to renew, release and fence writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Lease {
    /// The lease's name.
    pub name: String,
    /// Shared or exclusive.
    pub mode: LeaseMode,
    /// The holder's secret: renewing, releasing and fenced writes need it.
    pub token: String,
    /// The fencing epoch of this grant; every grant of the lease gets a larger one.
    pub epoch: u64,
    /// Unix milliseconds of the grant.
    pub acquired_at: i64,
    /// Unix milliseconds at which the lease lapses unless renewed.
    pub expires_at: i64,
}

impl Lease {
    /// The fence that writes guarded by this lease carry.
    pub fn fence(&self) -> Fence {
        Fence {
            lease: self.name.clone(),
            epoch: self.epoch,
        }
    }
}

/// What a fenced write carries: the lease and the epoch it was granted under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fence {
    /// The lease's name.
    pub lease: String,
    /// The holder's epoch.
    pub epoch: u64,
}

/// One holder as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Holder {
    token: String,
    epoch: u64,
    owner: String,
    mode: LeaseMode,
    acquired_at: i64,
    expires_at: i64,
}

/// A lease record as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct LeaseRecord {
    kind: String,
    name: String,
    /// The largest epoch ever granted.
    epoch: u64,
    holders: Vec<Holder>,
}

/// A live holder as others see it (without its token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HolderView {
    /// Who holds it, as the holder said.
    pub owner: String,
    /// Shared or exclusive.
    pub mode: LeaseMode,
    /// The holder's epoch.
    pub epoch: u64,
    /// Unix milliseconds of the grant.
    pub acquired_at: i64,
    /// Unix milliseconds of its expiry.
    pub expires_at: i64,
}

impl From<Holder> for HolderView {
    fn from(h: Holder) -> Self {
        Self {
            owner: h.owner,
            mode: h.mode,
            epoch: h.epoch,
            acquired_at: h.acquired_at,
            expires_at: h.expires_at,
        }
    }
}

/// A lease as everybody may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LeaseState {
    /// The lease's name.
    pub name: String,
    /// The largest epoch granted so far.
    pub epoch: u64,
    /// Holders whose lease has not lapsed.
    pub holders: Vec<HolderView>,
}

/// A holder whose lease lapsed without a release, still named in the lease's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LapsedHolder {
    /// The lease's name.
    pub lease: String,
    /// The holder, as others see it.
    pub holder: HolderView,
    /// How long ago it lapsed (milliseconds).
    pub lapsed_ms_ago: i64,
}

/// The value a lease guards, as read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GuardedValue {
    /// The lease's name.
    pub lease: String,
    /// The value.
    pub value: Value,
    /// The record's version (one per write).
    pub version: u64,
    /// The epoch of the holder that wrote it.
    pub epoch: u64,
}

/// A request for a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acquire {
    /// The lease's name (1 to 255 characters, no control characters).
    pub name: String,
    /// Shared or exclusive.
    pub mode: LeaseMode,
    /// How long the grant lasts unless renewed ([`MIN_TTL`] to [`MAX_TTL`]).
    pub ttl: Duration,
    /// How long to wait for the lease to become free (up to [`MAX_WAIT`]); zero tries once.
    pub wait: Duration,
    /// Who asks (shown to others; not checked).
    pub owner: String,
}

/// Where "now" comes from: the wall clock, or a test's.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

fn wall_clock() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The leases of a store.
pub struct Leases {
    collection: Collection,
    keys: IdempotencyKeys,
    now: Clock,
}

impl std::fmt::Debug for Leases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leases").finish_non_exhaustive()
    }
}

/// The schema of the leases collection.
pub fn leases_spec() -> CollectionSpec {
    CollectionSpec::records(LEASES_COLLECTION)
        .with_index("kind", FieldKind::Keyword)
        .with_index("name", FieldKind::Keyword)
}

fn lease_id(name: &str) -> PointId {
    PointId::from_content(&[b"lease", name.as_bytes()])
}

fn value_id(name: &str) -> PointId {
    PointId::from_content(&[b"lease-value", name.as_bytes()])
}

/// Checks a lease name or owner.
pub fn check_name(what: &str, name: &str) -> Result<()> {
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(StoreError::InvalidInput(format!(
            "{what} must be 1 to {MAX_NAME_CHARS} characters, not {chars}"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(StoreError::InvalidInput(format!(
            "{what} {name:?} contains control characters"
        )));
    }
    Ok(())
}

fn check_ttl(ttl: Duration) -> Result<()> {
    if ttl < MIN_TTL || ttl > MAX_TTL {
        return Err(StoreError::InvalidInput(format!(
            "ttl {} ms is out of range {} ..= {} ms",
            ttl.as_millis(),
            MIN_TTL.as_millis(),
            MAX_TTL.as_millis()
        )));
    }
    Ok(())
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn to_payload<T: Serialize>(value: &T) -> Result<Payload> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) | Err(_) => Err(StoreError::InvalidInput(
            "a lease record must serialise to an object".into(),
        )),
    }
}

fn record_point(id: PointId, payload: Payload) -> Point {
    Point {
        id,
        vector: Vec::new(),
        text: String::new(),
        payload,
    }
}

impl Leases {
    /// The leases of `store` (the `leases` collection, created on first use).
    pub fn open(store: &Store) -> Result<Self> {
        Ok(Self {
            collection: store.collection(&leases_spec())?,
            keys: IdempotencyKeys::open(store)?,
            now: Arc::new(wall_clock),
        })
    }

    /// The same leases judged by another clock (tests of expiry).
    pub fn with_clock(mut self, now: Clock) -> Self {
        self.now = now;
        self
    }

    fn read(&self, name: &str) -> Result<Option<(LeaseRecord, u64)>> {
        check_name("lease name", name)?;
        let Some(Versioned { record, version }) = self.collection.read_versioned(lease_id(name))?
        else {
            return Ok(None);
        };
        let parsed: LeaseRecord =
            serde_json::from_value(Value::Object(record.payload)).map_err(|e| {
                StoreError::Corrupt {
                    path: format!("{LEASES_COLLECTION}/{name}").into(),
                    message: e.to_string(),
                }
            })?;
        Ok(Some((parsed, version)))
    }

    /// Writes `record` over version `version` (0: create). A lost race is a conflict.
    fn write(&self, name: &str, record: &LeaseRecord, version: Option<u64>) -> Result<u64> {
        let point = record_point(lease_id(name), to_payload(record)?);
        match version {
            None => self.collection.create(point),
            Some(version) => self.collection.compare_and_set(point, version),
        }
    }

    /// [`Leases::acquire`] with an idempotency key: a retry gets the lease the first call
    /// was granted instead of a second grant.
    pub fn acquire_with_key(&self, request: &Acquire, key: Option<&str>) -> Result<Lease> {
        #[derive(Serialize)]
        struct Fingerprint<'a> {
            name: &'a str,
            mode: LeaseMode,
            ttl_ms: u128,
            owner: &'a str,
        }
        let fingerprint = Fingerprint {
            name: &request.name,
            mode: request.mode,
            ttl_ms: request.ttl.as_millis(),
            owner: &request.owner,
        };
        self.keys.run("leases/acquire", key, &fingerprint, |_| {
            self.acquire(request)
        })
    }

    /// Grants the lease, waiting up to `request.wait` for it to become free.
    /// [`StoreError::LeaseHeld`] when it does not.
    pub fn acquire(&self, request: &Acquire) -> Result<Lease> {
        check_name("lease name", &request.name)?;
        check_name("owner", &request.owner)?;
        check_ttl(request.ttl)?;
        if request.wait > MAX_WAIT {
            return Err(StoreError::InvalidInput(format!(
                "wait {} ms is longer than {} ms",
                request.wait.as_millis(),
                MAX_WAIT.as_millis()
            )));
        }
        let deadline = Instant::now() + request.wait;
        let mut pause = Duration::from_millis(2);
        loop {
            let now = (self.now)();
            let current = self.read(&request.name)?;
            let (mut record, version) = match current {
                Some((record, version)) => (record, Some(version)),
                None => (
                    LeaseRecord {
                        kind: "lease".into(),
                        name: request.name.clone(),
                        epoch: 0,
                        holders: Vec::new(),
                    },
                    None,
                ),
            };
            record.holders.retain(|h| h.expires_at > now);
            let free = match request.mode {
                LeaseMode::Exclusive => record.holders.is_empty(),
                LeaseMode::Shared => record.holders.iter().all(|h| h.mode == LeaseMode::Shared),
            };
            if free {
                let lease = Lease {
                    name: request.name.clone(),
                    mode: request.mode,
                    token: uuid::Uuid::new_v4().simple().to_string(),
                    epoch: record.epoch + 1,
                    acquired_at: now,
                    expires_at: now.saturating_add(millis(request.ttl)),
                };
                record.epoch = lease.epoch;
                record.holders.push(Holder {
                    token: lease.token.clone(),
                    epoch: lease.epoch,
                    owner: request.owner.clone(),
                    mode: lease.mode,
                    acquired_at: lease.acquired_at,
                    expires_at: lease.expires_at,
                });
                match self.write(&request.name, &record, version) {
                    Ok(_) => return Ok(lease),
                    // Another acquirer (or a renewal, or a release) changed it first: look again.
                    Err(StoreError::Conflict { .. }) => continue,
                    Err(error) => return Err(error),
                }
            }
            let soonest = record
                .holders
                .iter()
                .map(|h| h.expires_at)
                .min()
                .unwrap_or(now);
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StoreError::LeaseHeld {
                    lease: request.name.clone(),
                    holders: record.holders.len(),
                    mode: if record
                        .holders
                        .iter()
                        .any(|h| h.mode == LeaseMode::Exclusive)
                    {
                        "exclusive"
                    } else {
                        "shared"
                    },
                    expires_in_ms: u64::try_from(soonest - now).unwrap_or(0),
                });
            }
            let until_expiry = Duration::from_millis(u64::try_from(soonest - now + 1).unwrap_or(1));
            std::thread::sleep(pause.min(left).min(until_expiry));
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    /// Extends a held lease to `ttl` from now. [`StoreError::LeaseLost`] when it lapsed or
    /// was released. Only `name`, `token` and `epoch` of `lease` are read.
    pub fn renew(&self, lease: &Lease, ttl: Duration) -> Result<Lease> {
        check_ttl(ttl)?;
        loop {
            let now = (self.now)();
            let (mut record, version) = self.held(lease, now)?;
            let expires_at = now.saturating_add(millis(ttl));
            let mut renewed = None;
            for holder in &mut record.holders {
                if holder.token == lease.token && holder.epoch == lease.epoch {
                    holder.expires_at = expires_at;
                    renewed = Some(Lease {
                        name: lease.name.clone(),
                        mode: holder.mode,
                        token: holder.token.clone(),
                        epoch: holder.epoch,
                        acquired_at: holder.acquired_at,
                        expires_at,
                    });
                }
            }
            match self.write(&lease.name, &record, Some(version)) {
                Ok(_) => {
                    return renewed.ok_or_else(|| StoreError::LeaseLost {
                        lease: lease.name.clone(),
                        epoch: lease.epoch,
                        reason: "it was released or taken over".into(),
                    });
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(error) => return Err(error),
            }
        }
    }

    /// [`Leases::renew`] with an idempotency key: a retry answers like the first call.
    pub fn renew_with_key(&self, lease: &Lease, ttl: Duration, key: Option<&str>) -> Result<Lease> {
        let scope = format!("leases/{}/renew", lease.name);
        let fingerprint = (&lease.token, lease.epoch, ttl.as_millis());
        self.keys
            .run(&scope, key, &fingerprint, |_| self.renew(lease, ttl))
    }

    /// [`Leases::release`] with an idempotency key: a retry answers like the first call
    /// (`true` if that one let go of a live lease).
    pub fn release_with_key(&self, lease: &Lease, key: Option<&str>) -> Result<bool> {
        let scope = format!("leases/{}/release", lease.name);
        let fingerprint = (&lease.token, lease.epoch);
        self.keys
            .run(&scope, key, &fingerprint, |_| self.release(lease))
    }

    /// Gives a lease up. Returns whether it was still held (false: it had lapsed or was
    /// released before).
    pub fn release(&self, lease: &Lease) -> Result<bool> {
        loop {
            let Some((mut record, version)) = self.read(&lease.name)? else {
                return Ok(false);
            };
            let now = (self.now)();
            let Some(position) = record
                .holders
                .iter()
                .position(|h| h.token == lease.token && h.epoch == lease.epoch)
            else {
                return Ok(false);
            };
            let was_live = record.holders.remove(position).expires_at > now;
            record.holders.retain(|h| h.expires_at > now);
            match self.write(&lease.name, &record, Some(version)) {
                Ok(_) => return Ok(was_live),
                Err(StoreError::Conflict { .. }) => continue,
                Err(error) => return Err(error),
            }
        }
    }

    /// Holders whose lease lapsed without being released (a crashed or forgetful holder):
    /// they block nobody, since every reader judges expiry itself, but they stay in the
    /// record until the next grant or release of that lease rewrites it. A health report
    /// lists them; [`Leases::prune_lapsed`] removes them. Reads every lease record.
    pub fn lapsed(&self) -> Result<Vec<LapsedHolder>> {
        let now = (self.now)();
        let mut lapsed = Vec::new();
        for (record, _) in self.records()? {
            for holder in record.holders.iter().filter(|h| h.expires_at <= now) {
                lapsed.push(LapsedHolder {
                    lease: record.name.clone(),
                    holder: HolderView::from(holder.clone()),
                    lapsed_ms_ago: now - holder.expires_at,
                });
            }
        }
        Ok(lapsed)
    }

    /// Removes every lapsed holder from its lease record (a compare-and-set per record, retried
    /// when a grant, renewal or release wins the race; the epoch is kept, so fencing is
    /// unchanged). Answers how many holders were removed.
    pub fn prune_lapsed(&self) -> Result<usize> {
        let mut removed = 0;
        for (record, _) in self.records()? {
            let name = record.name;
            while let Some((mut current, version)) = self.read(&name)? {
                let now = (self.now)();
                let before = current.holders.len();
                current.holders.retain(|h| h.expires_at > now);
                if current.holders.len() == before {
                    break;
                }
                match self.write(&name, &current, Some(version)) {
                    Ok(_) => {
                        removed += before - current.holders.len();
                        break;
                    }
                    Err(StoreError::Conflict { .. }) => continue,
                    Err(error) => return Err(error),
                }
            }
        }
        Ok(removed)
    }

    /// Every lease record with its version.
    fn records(&self) -> Result<Vec<(LeaseRecord, u64)>> {
        let filter = Filter::all([Condition::keyword("kind", "lease")]);
        self.collection
            .scroll_all(Some(&filter))?
            .into_iter()
            .map(|record| {
                let version = version_of(&record.payload);
                serde_json::from_value(Value::Object(record.payload))
                    .map(|parsed| (parsed, version))
                    .map_err(|e| StoreError::Corrupt {
                        path: format!("{LEASES_COLLECTION}/{}", record.id).into(),
                        message: e.to_string(),
                    })
            })
            .collect()
    }

    /// Who holds a lease now (`None`: it was never acquired).
    pub fn state(&self, name: &str) -> Result<Option<LeaseState>> {
        check_name("lease name", name)?;
        let now = (self.now)();
        Ok(self.read(name)?.map(|(record, _)| LeaseState {
            name: record.name,
            epoch: record.epoch,
            holders: record
                .holders
                .into_iter()
                .filter(|h| h.expires_at > now)
                .map(HolderView::from)
                .collect(),
        }))
    }

    /// What `lease`'s holder looks like to others, if it holds the lease now;
    /// [`StoreError::LeaseLost`] otherwise. Only `name`, `token` and `epoch` are read.
    pub fn holder(&self, lease: &Lease) -> Result<HolderView> {
        let (record, _) = self.held(lease, (self.now)())?;
        record
            .holders
            .into_iter()
            .find(|h| h.token == lease.token && h.epoch == lease.epoch)
            .map(HolderView::from)
            .ok_or_else(|| StoreError::LeaseLost {
                lease: lease.name.clone(),
                epoch: lease.epoch,
                reason: "it was released or taken over".into(),
            })
    }

    /// The lease record if `lease` still holds it at `now`, else [`StoreError::LeaseLost`].
    fn held(&self, lease: &Lease, now: i64) -> Result<(LeaseRecord, u64)> {
        let lost = |reason: &str| StoreError::LeaseLost {
            lease: lease.name.clone(),
            epoch: lease.epoch,
            reason: reason.to_owned(),
        };
        let Some((record, version)) = self.read(&lease.name)? else {
            return Err(lost("the lease does not exist"));
        };
        match record
            .holders
            .iter()
            .find(|h| h.token == lease.token && h.epoch == lease.epoch)
        {
            None => Err(lost("it was released or taken over")),
            Some(h) if h.expires_at <= now => {
                Err(lost(&format!("it lapsed {} ms ago", now - h.expires_at)))
            }
            Some(_) => Ok((record, version)),
        }
    }

    /// [`Leases::write_value`] with an idempotency key: a retry does not write again.
    pub fn write_value_with_key(
        &self,
        lease: &Lease,
        value: Value,
        key: Option<&str>,
    ) -> Result<u64> {
        let scope = format!("leases/{}/value", lease.name);
        let fingerprint = (&lease.token, lease.epoch, &value);
        self.keys.run(&scope, key, &fingerprint, |_| {
            self.write_value(lease, value.clone())
        })
    }

    /// Writes the value `lease` guards: refused with [`StoreError::LeaseLost`] unless the
    /// caller holds the lease now, and with [`StoreError::Fenced`] if the value was written
    /// under a newer epoch meanwhile. Returns the value's new version. Only `name`, `token`
    /// and `epoch` of `lease` are read.
    pub fn write_value(&self, lease: &Lease, value: Value) -> Result<u64> {
        self.held(lease, (self.now)())?;
        let mut payload = Payload::new();
        payload.insert("kind".into(), "value".into());
        payload.insert("name".into(), Value::from(lease.name.clone()));
        payload.insert("value".into(), value);
        self.collection
            .upsert_fenced(record_point(value_id(&lease.name), payload), &lease.fence())
    }

    /// The value a lease guards, if one was written.
    pub fn read_value(&self, name: &str) -> Result<Option<GuardedValue>> {
        check_name("lease name", name)?;
        Ok(self
            .collection
            .read_versioned(value_id(name))?
            .map(|Versioned { record, version }| GuardedValue {
                lease: name.to_owned(),
                epoch: record
                    .payload
                    .get(FENCE_EPOCH_FIELD)
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                value: record.payload.get("value").cloned().unwrap_or(Value::Null),
                version,
            }))
    }
}

impl Collection {
    /// Writes `point` (creating it if absent) as a write guarded by `fence`: refused with
    /// [`StoreError::Fenced`] if the record was already written under a newer epoch of the
    /// same lease. Returns the record's new version. Whether the writer still holds the
    /// lease is the caller's check (see [`Leases::write_value`]); the fence is what stops a
    /// holder that lost the lease between that check and this write.
    pub fn upsert_fenced(&self, point: Point, fence: &Fence) -> Result<u64> {
        loop {
            let current = self.read_versioned(point.id)?;
            if let Some(current) = &current {
                let payload = &current.record.payload;
                let same_lease = payload.get(FENCE_LEASE_FIELD).and_then(Value::as_str)
                    == Some(fence.lease.as_str());
                let written = payload
                    .get(FENCE_EPOCH_FIELD)
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                if same_lease && written > fence.epoch {
                    return Err(StoreError::Fenced {
                        lease: fence.lease.clone(),
                        epoch: fence.epoch,
                        reason: format!("the record was written under epoch {written}"),
                    });
                }
            }
            let mut guarded = point.clone();
            guarded
                .payload
                .insert(FENCE_LEASE_FIELD.into(), Value::from(fence.lease.clone()));
            guarded
                .payload
                .insert(FENCE_EPOCH_FIELD.into(), Value::from(fence.epoch));
            let written = match current {
                None => self.create(guarded),
                Some(current) => self.compare_and_set(guarded, version_of(&current.record.payload)),
            };
            match written {
                Err(StoreError::Conflict { .. }) => continue,
                other => return other,
            }
        }
    }
}
