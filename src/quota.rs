//! Per-agent quotas (`[quotas]` of `engram.toml`): how many records an agent may own and how
//! many bytes they may take, checked before every write a key bound to that agent makes
//! (HTTP and MCP alike; admin keys and the local CLI are not limited).
//!
//! Usage is counted from the store, never kept as a number that is read, changed and
//! written back (DESIGN.md, coordination rules), so every engram server on one store agrees
//! on it. What an agent owns is every record that names it: general memories (`agent_id`),
//! swarm entries (`agent_id`), agent-memory learnings and interactions (`agent`). Its bytes
//! are those records' payloads as stored JSON plus 4 bytes per dense-vector dimension.
//!
//! A write is refused once usage has reached a quota; the write that crosses it is let
//! through, so an agent ends at most one write past its quota on one server. Entries are
//! counted at every check (an indexed count per collection). Bytes need a scan of the
//! agent's records, so a server reuses a byte count for up to [`BYTES_FRESH_FOR`]: several
//! servers writing for one agent at once may overshoot by what they write in that window.
//! Without `[quotas]` nothing is counted and writes pay nothing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::store::{Collection, Condition, Filter, Store, StoreError};

/// How long a server reuses an agent's byte count.
pub const BYTES_FRESH_FOR: Duration = Duration::from_secs(1);
/// Share of a quota at which the health report warns.
pub const WARN_AT: f64 = 0.8;

/// The collections whose records name their owner agent, and the field that names it.
const OWNED: [(&str, &str); 4] = [
    (crate::memories::MEMORIES_COLLECTION, "agent_id"),
    (crate::swarm::ENTRIES_COLLECTION, "agent_id"),
    (crate::agents::LEARNINGS_COLLECTION, "agent"),
    (crate::agents::INTERACTIONS_COLLECTION, "agent"),
];

/// `[quotas]`: limits per agent; absent means unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaSettings {
    /// Most records an agent may own.
    pub entries_per_agent: Option<u64>,
    /// Most bytes its records may take.
    pub bytes_per_agent: Option<u64>,
}

impl QuotaSettings {
    /// Checks the limits.
    pub fn validate(&self) -> Result<(), String> {
        if self.entries_per_agent == Some(0) || self.bytes_per_agent == Some(0) {
            return Err(
                "quotas.entries_per_agent and quotas.bytes_per_agent must be at least 1 \
                 (leave one out for no limit)"
                    .into(),
            );
        }
        Ok(())
    }

    /// Whether any limit is set.
    pub fn any(&self) -> bool {
        self.entries_per_agent.is_some() || self.bytes_per_agent.is_some()
    }
}

/// What an agent owns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Usage {
    /// Records that name the agent.
    pub entries: u64,
    /// Their bytes (stored JSON payload plus dense vectors).
    pub bytes: u64,
}

/// An agent's usage against its quotas, as the health report shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuotaUse {
    /// The agent.
    pub agent: String,
    /// What it owns now.
    pub usage: Usage,
    /// `[quotas] entries_per_agent`, if set.
    pub entries_limit: Option<u64>,
    /// `[quotas] bytes_per_agent`, if set.
    pub bytes_limit: Option<u64>,
    /// The larger share of a quota used (0 to 1 and beyond), if a limit is set.
    pub used_share: Option<f64>,
    /// Whether a share reached 80 %.
    pub warning: bool,
}

/// Which quota a write ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuotaKind {
    /// The number of records.
    Entries,
    /// Their bytes.
    Bytes,
}

/// Why a write was refused or could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    /// The agent has used up a quota.
    #[error(
        "agent {agent:?} has used its {} quota ({used} of {limit}); delete some of its \
         records or raise [quotas] in engram.toml",
        match kind { QuotaKind::Entries => "entries", QuotaKind::Bytes => "bytes" }
    )]
    Exceeded {
        /// The agent.
        agent: String,
        /// Which quota.
        kind: QuotaKind,
        /// What it uses.
        used: u64,
        /// The limit.
        limit: u64,
    },
    /// Counting failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The quotas of one store, with this server's recent byte counts.
#[derive(Debug)]
pub struct Quotas {
    settings: QuotaSettings,
    /// The owned collections found so far (one not created yet is looked for again).
    collections: Mutex<HashMap<&'static str, Collection>>,
    bytes: Mutex<HashMap<String, (Instant, u64)>>,
}

impl Quotas {
    /// Quotas `settings` (the store is passed to each call).
    pub fn new(settings: QuotaSettings) -> Self {
        Self {
            settings,
            collections: Mutex::new(HashMap::new()),
            bytes: Mutex::new(HashMap::new()),
        }
    }

    /// The limits in force.
    pub fn settings(&self) -> &QuotaSettings {
        &self.settings
    }

    /// Refuses a write by `agent` once it has reached a quota
    /// ([`QuotaError::Exceeded`]); nothing is counted when no quota is set.
    pub fn admit(&self, store: &Store, agent: &str) -> Result<(), QuotaError> {
        let limits = [
            (QuotaKind::Entries, self.settings.entries_per_agent),
            (QuotaKind::Bytes, self.settings.bytes_per_agent),
        ];
        for (kind, limit) in limits {
            let Some(limit) = limit else { continue };
            let used = match kind {
                QuotaKind::Entries => self.entries(store, agent)?,
                QuotaKind::Bytes => self.recent_bytes(store, agent)?,
            };
            if used >= limit {
                return Err(QuotaError::Exceeded {
                    agent: agent.to_owned(),
                    kind,
                    used,
                    limit,
                });
            }
        }
        Ok(())
    }

    /// What `agent` owns now (both counts fresh).
    pub fn usage(&self, store: &Store, agent: &str) -> Result<Usage, StoreError> {
        Ok(Usage {
            entries: self.entries(store, agent)?,
            bytes: self.bytes(store, agent)?,
        })
    }

    /// `agent`'s usage against the quotas.
    pub fn report(&self, store: &Store, agent: &str) -> Result<QuotaUse, StoreError> {
        let usage = self.usage(store, agent)?;
        let share = |used: u64, limit: Option<u64>| limit.map(|l| used as f64 / l as f64);
        let used_share = [
            share(usage.entries, self.settings.entries_per_agent),
            share(usage.bytes, self.settings.bytes_per_agent),
        ]
        .into_iter()
        .flatten()
        .reduce(f64::max);
        Ok(QuotaUse {
            agent: agent.to_owned(),
            usage,
            entries_limit: self.settings.entries_per_agent,
            bytes_limit: self.settings.bytes_per_agent,
            used_share,
            warning: used_share.is_some_and(|s| s >= WARN_AT),
        })
    }

    /// Every agent that owns a record (up to 10,000 per collection).
    pub fn owners(&self, store: &Store) -> Result<std::collections::BTreeSet<String>, StoreError> {
        let mut owners = std::collections::BTreeSet::new();
        for (collection, field) in self.owned_collections(store)? {
            owners.extend(
                collection
                    .facet(field, None, crate::store::MAX_LIMIT)?
                    .into_iter()
                    .map(|(agent, _)| agent),
            );
        }
        Ok(owners)
    }

    /// The owned collections that exist, each with the field naming the owner.
    fn owned_collections(
        &self,
        store: &Store,
    ) -> Result<Vec<(Collection, &'static str)>, StoreError> {
        let mut found = self
            .collections
            .lock()
            .map_err(|_| StoreError::Edge("the quota cache was poisoned".into()))?;
        let mut owned = Vec::with_capacity(OWNED.len());
        for (name, field) in OWNED {
            if !found.contains_key(name)
                && let Some(collection) = store.open_existing(name)?
            {
                found.insert(name, collection);
            }
            if let Some(collection) = found.get(name) {
                owned.push((collection.clone(), field));
            }
        }
        Ok(owned)
    }

    fn owned(field: &str, agent: &str) -> Filter {
        Filter::all([Condition::keyword(field, agent)])
    }

    fn entries(&self, store: &Store, agent: &str) -> Result<u64, StoreError> {
        let mut total = 0;
        for (collection, field) in self.owned_collections(store)? {
            total += collection.count(Some(&Self::owned(field, agent)))? as u64;
        }
        Ok(total)
    }

    fn bytes(&self, store: &Store, agent: &str) -> Result<u64, StoreError> {
        let mut total = 0u64;
        for (collection, field) in self.owned_collections(store)? {
            let vector = 4 * collection.spec().dimension as u64;
            for record in collection.scroll_all(Some(&Self::owned(field, agent)))? {
                let payload = serde_json::to_vec(&record.payload).map_or(0, |b| b.len());
                total += payload as u64 + vector;
            }
        }
        if let Ok(mut recent) = self.bytes.lock() {
            recent.insert(agent.to_owned(), (Instant::now(), total));
        }
        Ok(total)
    }

    fn recent_bytes(&self, store: &Store, agent: &str) -> Result<u64, StoreError> {
        let cached = self
            .bytes
            .lock()
            .ok()
            .and_then(|recent| recent.get(agent).copied())
            .filter(|(at, _)| at.elapsed() < BYTES_FRESH_FOR);
        match cached {
            Some((_, bytes)) => Ok(bytes),
            None => self.bytes(store, agent),
        }
    }
}
