//! Observations: every store of a pattern, solution or error resolution appends one record
//! here, and the entry's counters are what these records add up to (DESIGN.md,
//! coordination rule 2: counters are append-only observations, aggregated on read).
//!
//! An observation holds the entry it observes, how many uses it stands for (1; more for the
//! baseline of an entry stored before observations existed), the outcome of those uses in
//! thousandths (`success_milli`, so that sums are exact integers: outcomes are kept to three
//! decimals), the tags and context that store gave, and a hybrid-logical-clock time.
//! [`Observations::rollup`] aggregates them exactly: `seen_count = Σ uses` and
//! `successes = Σ success_milli / 1000` from facets over those integer fields (exact
//! counts per value), tags from a facet, the newest non-empty context and the first and
//! last times from scrolls ordered by time.
//!
//! The entry's record carries the rollup so that recall ranks without aggregating. Each
//! writer, after appending its observation, writes the rollup it computed on condition that
//! the record holds a smaller `seen_count` ("only if larger", rule 4). The writer whose
//! append landed last reads every observation, so its rollup is complete and is the one
//! that stays: once concurrent stores finish, the record is exact. An observation's id
//! derives from the store's idempotency key when there is one, so a retried store counts
//! once.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{MemoryError, Result};
use super::kind::MemoryKind;
use crate::store::coord::{Hlc, clock};
use crate::store::{
    Collection, CollectionSpec, Condition, FieldKind, Filter, MAX_LIMIT, Order, Payload, Point,
    PointId, Store,
};

/// The collection of observations.
pub const OBSERVATIONS_COLLECTION: &str = "memory_observations";
/// Most tags an entry keeps (the most frequent ones across its stores).
pub const MAX_ENTRY_TAGS: usize = 256;

/// The schema of the observations collection.
pub fn observations_spec() -> CollectionSpec {
    CollectionSpec::records(OBSERVATIONS_COLLECTION)
        .with_index("target", FieldKind::Keyword)
        .with_index("uses", FieldKind::Integer)
        .with_index("success_milli", FieldKind::Integer)
        .with_index("tags", FieldKind::Keyword)
        .with_index("at", FieldKind::Integer)
        .with_index("has_context", FieldKind::Bool)
}

/// One store of an entry, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The entry observed.
    pub target: PointId,
    /// Its collection.
    pub kind: MemoryKind,
    /// Uses this observation stands for.
    pub uses: u64,
    /// Sum of the outcomes of those uses, in thousandths.
    pub success_milli: u64,
    /// Tags given with the store.
    pub tags: Vec<String>,
    /// Context given with the store (may be empty).
    pub context: String,
    /// Whether `context` is non-empty (indexed, for "the newest context").
    pub has_context: bool,
    /// When (hybrid logical clock).
    pub at: Hlc,
    /// Who stored it.
    pub source: String,
}

impl Observation {
    /// One use with `outcome` in `[0, 1]`, now.
    pub fn one(
        target: PointId,
        kind: MemoryKind,
        outcome: f64,
        tags: Vec<String>,
        context: String,
        source: String,
    ) -> Self {
        Self {
            target,
            kind,
            uses: 1,
            success_milli: to_milli(outcome),
            tags,
            has_context: !crate::text::is_blank(&context),
            context,
            at: clock().now(),
            source,
        }
    }
}

/// An outcome in `[0, 1]` in thousandths.
pub fn to_milli(outcome: f64) -> u64 {
    (outcome.clamp(0.0, 1.0) * 1000.0).round() as u64
}

/// What an entry's observations add up to.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollup {
    /// Σ uses.
    pub seen_count: u64,
    /// Σ outcomes.
    pub success_count: f64,
    /// Tags, most frequent first (ties alphabetically), at most [`MAX_ENTRY_TAGS`].
    pub tags: Vec<String>,
    /// The newest non-empty context.
    pub context: String,
    /// Unix seconds of the first observation.
    pub created_at: i64,
    /// Unix seconds of the newest observation.
    pub updated_at: i64,
}

/// The observations of a store's memory.
#[derive(Debug, Clone)]
pub struct Observations {
    collection: Collection,
}

impl Observations {
    /// The observations collection of `store`, created on first use.
    pub fn open(store: &Store) -> Result<Self> {
        Ok(Self {
            collection: store.collection(&observations_spec())?,
        })
    }

    /// Appends an observation under `id` (the same id again is the same observation).
    /// Durable when it returns.
    pub fn record(&self, id: PointId, observation: &Observation) -> Result<()> {
        let payload = match serde_json::to_value(observation) {
            Ok(Value::Object(map)) => map,
            Ok(_) | Err(_) => {
                return Err(MemoryError::InvalidInput(
                    "an observation must serialise to an object".into(),
                ));
            }
        };
        clock().observe(observation.at);
        self.collection.upsert(vec![Point {
            id,
            vector: Vec::new(),
            text: String::new(),
            payload,
        }])?;
        Ok(())
    }

    /// The exact aggregate of `target`'s observations (`None` if it has none).
    pub fn rollup(&self, target: PointId) -> Result<Option<Rollup>> {
        let of_target = Filter::all([Condition::keyword("target", target.to_string())]);
        let newest =
            self.collection
                .scroll_ordered(Some(&of_target), &Order::descending("at"), 1)?;
        let Some(newest) = newest.into_iter().next() else {
            return Ok(None);
        };
        let newest: Observation = parse(newest.id, newest.payload)?;
        let oldest = self
            .collection
            .scroll_ordered(Some(&of_target), &Order::ascending("at"), 1)?
            .into_iter()
            .next()
            .ok_or_else(|| MemoryError::Corrupt {
                collection: OBSERVATIONS_COLLECTION.into(),
                id: target.to_string(),
                message: "observations vanished while being read".into(),
            })?;
        let oldest: Observation = parse(oldest.id, oldest.payload)?;
        let context = if newest.has_context {
            newest.context.clone()
        } else {
            let with_context = of_target.clone().and(Condition::Bool {
                field: "has_context".into(),
                value: true,
            });
            match self
                .collection
                .scroll_ordered(Some(&with_context), &Order::descending("at"), 1)?
                .into_iter()
                .next()
            {
                Some(record) => parse::<Observation>(record.id, record.payload)?.context,
                None => String::new(),
            }
        };
        let seen_count = self.sum("uses", &of_target)?;
        let success_milli = self.sum("success_milli", &of_target)?;
        let mut tags = self
            .collection
            .facet("tags", Some(&of_target), MAX_ENTRY_TAGS)?;
        tags.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        clock().observe(newest.at);
        Ok(Some(Rollup {
            seen_count,
            success_count: success_milli as f64 / 1000.0,
            tags: tags.into_iter().map(|(tag, _)| tag).collect(),
            context,
            created_at: oldest.at.millis().div_euclid(1000),
            updated_at: newest.at.millis().div_euclid(1000),
        }))
    }

    /// Σ of an integer field over the observations passing `filter`: from a facet (exact
    /// counts per value), or by reading them all when they hold more distinct values than a
    /// facet returns.
    fn sum(&self, field: &str, filter: &Filter) -> Result<u64> {
        let values = self.collection.facet(field, Some(filter), MAX_LIMIT)?;
        if values.len() < MAX_LIMIT {
            return values
                .into_iter()
                .map(|(value, count)| {
                    value.parse::<u64>().map(|v| v * count as u64).map_err(|e| {
                        MemoryError::Corrupt {
                            collection: OBSERVATIONS_COLLECTION.into(),
                            id: field.into(),
                            message: format!("facet value {value:?}: {e}"),
                        }
                    })
                })
                .sum();
        }
        Ok(self
            .collection
            .scroll_all(Some(filter))?
            .iter()
            .filter_map(|r| r.payload.get(field).and_then(Value::as_u64))
            .sum())
    }
}

/// The id of an observation: from the store's idempotency key, so that a retry is the same
/// observation; a fresh one otherwise.
pub fn observation_id(kind: MemoryKind, target: PointId, key: Option<&str>) -> PointId {
    match key {
        Some(key) => PointId::from_content(&[
            b"observation",
            kind.collection().as_bytes(),
            target.as_uuid().as_bytes(),
            key.as_bytes(),
        ]),
        None => PointId::from(uuid::Uuid::new_v4()),
    }
}

fn parse<T: serde::de::DeserializeOwned>(id: PointId, payload: Payload) -> Result<T> {
    serde_json::from_value(Value::Object(payload)).map_err(|e| MemoryError::Corrupt {
        collection: OBSERVATIONS_COLLECTION.into(),
        id: id.to_string(),
        message: e.to_string(),
    })
}
