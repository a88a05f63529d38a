//! Migration: every collection of one store copied into another — in practice an embedded
//! data directory into a Qdrant server or cluster — with the points' own vectors (the
//! keyword vector too, not recomputed), verified by count and digest, and resumable.
//!
//! Resumable because every step can be repeated: a collection is created with its schema
//! if missing, its points are written by id (writing one again changes nothing), and a
//! collection whose count and digest ([`snapshot::digest`]) already match the source's is
//! skipped. Run again after an interruption, a migration copies the collections it had not
//! finished and verifies them all.

use serde::Serialize;

use super::error::StoreError;
use super::snapshot;
use super::{Collection, Store};

/// Points copied at once.
const PAGE: usize = 256;

/// What happened to one collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Migrated {
    /// Its name.
    pub name: String,
    /// Its points (in the source and, verified, in the target).
    pub points: usize,
    /// SHA-256 (hex) of its points, equal on both sides.
    pub sha256: String,
    /// Whether it was copied now (`false`: it was already whole in the target).
    pub copied: bool,
}

/// Why a migration stopped.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// After copying, a collection of the target differs from the source's (points written
    /// to the source meanwhile, or to the target by someone else).
    #[error(
        "collection {collection}: the source holds {source_points} points with digest \
         {source_digest}, the target {target_points} with {target_digest}; stop what writes \
         to either and run the migration again"
    )]
    Mismatch {
        /// The collection.
        collection: String,
        /// Points in the source.
        source_points: usize,
        /// Digest of the source's points.
        source_digest: String,
        /// Points in the target.
        target_points: usize,
        /// Digest of the target's points.
        target_digest: String,
    },
    /// Either store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Copies every collection of `source` into `target` (see the module's documentation),
/// calling `progress` after each collection. Stop what writes to the source first: points
/// written meanwhile make the verification fail (run it again then).
pub fn migrate(
    source: &Store,
    target: &Store,
    mut progress: impl FnMut(&Migrated),
) -> Result<Vec<Migrated>, MigrateError> {
    let mut names = source.collection_names()?;
    names.sort();
    let mut done = Vec::with_capacity(names.len());
    for name in names {
        let Some(from) = source.open_existing(&name)? else {
            continue;
        };
        let to = target.collection(&from.spec())?;
        let (points, sha256) = snapshot::digest(&from)?;
        let copied = snapshot::digest(&to)? != (points, sha256.clone());
        if copied {
            copy(&from, &to)?;
            let (target_points, target_digest) = snapshot::digest(&to)?;
            if (target_points, &target_digest) != (points, &sha256) {
                return Err(MigrateError::Mismatch {
                    collection: name,
                    source_points: points,
                    source_digest: sha256,
                    target_points,
                    target_digest,
                });
            }
        }
        let migrated = Migrated {
            name,
            points,
            sha256,
            copied,
        };
        progress(&migrated);
        done.push(migrated);
    }
    Ok(done)
}

/// Writes every point of `from` into `to`, page by page in id order.
fn copy(from: &Collection, to: &Collection) -> Result<(), StoreError> {
    let mut offset = None;
    loop {
        let (page, next) = from.export(PAGE, offset)?;
        to.import(page)?;
        match next {
            Some(next) => offset = Some(next),
            None => return to.flush(),
        }
    }
}
