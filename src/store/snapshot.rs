//! Snapshots: every collection of a store — schema, points, both vectors, payloads — in one
//! logical, checksummed, versioned file that restores into an empty store of either backend.
//!
//! The file is JSON lines (one object per line, `kind` naming it), so it is readable with
//! any tool and streams in both directions without holding a collection in memory:
//!
//! ```text
//! {"kind":"header","format":"engram-snapshot","version":1,"engram":"…","created_at":"…","source":"…"}
//! {"kind":"collection","spec":{…the collection's schema…}}
//! {"kind":"point","id":"…","vector":[…],"keyword":{"indices":[…],"values":[…]},"payload":{…}}
//! …
//! {"kind":"collection_end","name":"…","points":N,"sha256":"…"}
//! …
//! {"kind":"end","collections":C,"points":P,"sha256":"…"}
//! ```
//!
//! A collection's `sha256` is the SHA-256 of its points in id order, each written as
//! canonical JSON (object keys sorted) and a newline — the same digest [`digest`] computes
//! from a live collection, so a restore is verified against the store it wrote to. The
//! `end` line's `sha256` covers every byte before it: a file changed, cut short or extended
//! in any way is refused before anything is written. Points are copied with the vectors they
//! have (the keyword vector too, not recomputed), so a restored store answers every search
//! exactly as the original did.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::error::StoreError;
use super::schema::CollectionSpec;
use super::types::{PointId, StoredPoint};
use super::{Collection, Store};

/// What the first line of every snapshot says it is.
pub const FORMAT: &str = "engram-snapshot";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;
/// Points read from or written to a store at once.
const PAGE: usize = 256;

/// Why a snapshot could not be made, checked or restored.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The snapshot file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The file is not an intact snapshot: its checksum, structure or a line is wrong.
    #[error("{path} is not an intact snapshot: {reason}; nothing was changed")]
    Corrupt {
        /// The snapshot file.
        path: PathBuf,
        /// What is wrong, with the line number where there is one.
        reason: String,
    },
    /// The file is a snapshot of a format version this build does not read.
    #[error(
        "{path} is snapshot format version {found}; this engram reads version {VERSION} \
         (use the engram that wrote it, or a newer one)"
    )]
    Version {
        /// The snapshot file.
        path: PathBuf,
        /// The version it says.
        found: u32,
    },
    /// A restore was asked into a store that already holds points.
    #[error(
        "the store is not empty ({}); a snapshot restores into an empty store \
         (another data directory or namespace)",
        describe(.0)
    )]
    NotEmpty(Vec<(String, usize)>),
    /// After a restore, a collection differs from what the snapshot holds.
    #[error(
        "collection {collection} after the restore holds {found_points} points with digest \
         {found}, the snapshot {expected_points} with {expected}"
    )]
    Mismatch {
        /// The collection.
        collection: String,
        /// Points in the snapshot.
        expected_points: usize,
        /// Digest in the snapshot.
        expected: String,
        /// Points in the store.
        found_points: usize,
        /// Digest of the store's collection.
        found: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn describe(collections: &[(String, usize)]) -> String {
    collections
        .iter()
        .map(|(name, points)| {
            format!(
                "{name}: {points} point{}",
                if *points == 1 { "" } else { "s" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One collection in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionSummary {
    /// Its name.
    pub name: String,
    /// How many points it holds.
    pub points: usize,
    /// SHA-256 (hex) of its points, as [`digest`] computes it.
    pub sha256: String,
}

/// What a snapshot holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The format version.
    pub version: u32,
    /// When it was made (RFC 3339, UTC).
    pub created_at: String,
    /// The store it was made from.
    pub source: String,
    /// Its collections, in the file's order.
    pub collections: Vec<CollectionSummary>,
    /// Points in all collections.
    pub points: usize,
    /// SHA-256 (hex) of the file's contents before its last line.
    pub sha256: String,
    /// The file's size in bytes.
    pub bytes: u64,
}

/// One line of a snapshot file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum Line {
    Header {
        format: String,
        version: u32,
        engram: String,
        created_at: String,
        source: String,
    },
    Collection {
        spec: CollectionSpec,
    },
    Point(StoredPoint),
    CollectionEnd {
        name: String,
        points: usize,
        sha256: String,
    },
    End {
        collections: usize,
        points: usize,
        sha256: String,
    },
}

/// SHA-256 of points in id order, each as canonical JSON and a newline.
#[derive(Default)]
struct PointDigest {
    hasher: Sha256,
    points: usize,
    last: Option<PointId>,
}

impl PointDigest {
    /// Adds the next point; `false` when it does not come after the previous one in id order.
    fn add(&mut self, point: &StoredPoint) -> bool {
        let ordered = self.last.is_none_or(|last| last < point.id);
        self.last = Some(point.id);
        self.hasher.update(canonical_line(point).as_bytes());
        self.points += 1;
        ordered
    }

    fn finish(self) -> (usize, String) {
        (self.points, hex::encode(self.hasher.finalize()))
    }
}

/// A point as canonical JSON (object keys sorted at every level) and a newline.
fn canonical_line(point: &StoredPoint) -> String {
    let mut value = serde_json::to_value(point).unwrap_or(Value::Null);
    sort_keys(&mut value);
    let mut line = value.to_string();
    line.push('\n');
    line
}

fn sort_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (key, mut inner) in entries {
                sort_keys(&mut inner);
                map.insert(key, inner);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// How many points `collection` holds and the SHA-256 of them (in id order, each as
/// canonical JSON and a newline): equal for two collections exactly when their points are.
pub fn digest(collection: &Collection) -> Result<(usize, String), StoreError> {
    let mut digest = PointDigest::default();
    let mut offset = None;
    loop {
        let (page, next) = collection.export(PAGE, offset)?;
        for point in &page {
            digest.add(point);
        }
        match next {
            Some(next) => offset = Some(next),
            None => return Ok(digest.finish()),
        }
    }
}

/// Every collection of `store`, by name.
fn collections(store: &Store) -> Result<Vec<Collection>, StoreError> {
    let mut names = store.collection_names()?;
    names.sort();
    let mut collections = Vec::with_capacity(names.len());
    for name in names {
        if let Some(collection) = store.open_existing(&name)? {
            collections.push(collection);
        }
    }
    Ok(collections)
}

/// A writer that hashes what passes through it.
struct Hashing<W: Write> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Hashing<W> {
    fn line(&mut self, line: &Line) -> std::io::Result<()> {
        let mut text = serde_json::to_string(line).map_err(std::io::Error::other)?;
        text.push('\n');
        self.hasher.update(text.as_bytes());
        self.bytes += text.len() as u64;
        self.inner.write_all(text.as_bytes())
    }
}

/// Writes a snapshot of every collection of `store` to `path` (through `path.partial`,
/// synced and renamed, so `path` is either the whole snapshot or untouched). `source`
/// describes the store in the header. Points written meanwhile may or may not be in it:
/// take it while nothing writes for a consistent one.
pub fn create(store: &Store, path: &Path, source: &str) -> Result<Summary, SnapshotError> {
    let io = |source| SnapshotError::Io {
        path: path.to_owned(),
        source,
    };
    let partial = partial_path(path);
    let file = File::create(&partial).map_err(io)?;
    let result = write(store, &file, source).map_err(|error| match error {
        WriteError::Io(source) => io(source),
        WriteError::Store(error) => SnapshotError::Store(error),
    });
    let summary = match result.and_then(|s| file.sync_all().map(|()| s).map_err(io)) {
        Ok(summary) => summary,
        Err(error) => {
            drop(file);
            let _ = std::fs::remove_file(&partial);
            return Err(error);
        }
    };
    std::fs::rename(&partial, path).map_err(io)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    }
    Ok(summary)
}

fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".partial");
    path.with_file_name(name)
}

enum WriteError {
    Io(std::io::Error),
    Store(StoreError),
}

impl From<std::io::Error> for WriteError {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error)
    }
}

impl From<StoreError> for WriteError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

fn write(store: &Store, file: &File, source: &str) -> Result<Summary, WriteError> {
    let mut out = Hashing {
        inner: BufWriter::new(file),
        hasher: Sha256::new(),
        bytes: 0,
    };
    let created_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    out.line(&Line::Header {
        format: FORMAT.to_owned(),
        version: VERSION,
        engram: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: created_at.clone(),
        source: source.to_owned(),
    })?;
    let mut summaries = Vec::new();
    for collection in collections(store)? {
        let spec = collection.spec();
        let name = spec.name.clone();
        out.line(&Line::Collection { spec })?;
        let mut digest = PointDigest::default();
        let mut offset = None;
        loop {
            let (page, next) = collection.export(PAGE, offset)?;
            for point in page {
                digest.add(&point);
                out.line(&Line::Point(point))?;
            }
            match next {
                Some(next) => offset = Some(next),
                None => break,
            }
        }
        let (points, sha256) = digest.finish();
        out.line(&Line::CollectionEnd {
            name: name.clone(),
            points,
            sha256: sha256.clone(),
        })?;
        summaries.push(CollectionSummary {
            name,
            points,
            sha256,
        });
    }
    let sha256 = hex::encode(out.hasher.clone().finalize());
    let points = summaries.iter().map(|c| c.points).sum();
    let end = Line::End {
        collections: summaries.len(),
        points,
        sha256: sha256.clone(),
    };
    let mut text = serde_json::to_string(&end).map_err(std::io::Error::other)?;
    text.push('\n');
    out.inner.write_all(text.as_bytes())?;
    out.inner.flush()?;
    Ok(Summary {
        version: VERSION,
        created_at,
        source: source.to_owned(),
        collections: summaries,
        points,
        sha256,
        bytes: out.bytes + text.len() as u64,
    })
}

/// Reads a snapshot through, line by line, checking everything a restore relies on
/// without touching a store: the header (format, version), the structure (each collection
/// opened, its points in id order, closed with its count and digest), each collection's
/// digest recomputed from its points, and the checksum of the whole file. `each` sees
/// every line once it is known to be well-formed (a restore passes its second reading here).
fn read(
    path: &Path,
    mut each: impl FnMut(Item) -> Result<(), SnapshotError>,
) -> Result<Summary, SnapshotError> {
    let corrupt = |line: usize, reason: String| SnapshotError::Corrupt {
        path: path.to_owned(),
        reason: if line == 0 {
            reason
        } else {
            format!("line {line}: {reason}")
        },
    };
    let io = |source| SnapshotError::Io {
        path: path.to_owned(),
        source,
    };
    let mut reader = BufReader::new(File::open(path).map_err(io)?);
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    let mut text = Vec::new();
    let mut number = 0;
    let mut header: Option<(String, String)> = None;
    let mut open: Option<(String, PointDigest)> = None;
    let mut summaries: Vec<CollectionSummary> = Vec::new();
    let mut end: Option<(usize, usize, String)> = None;
    loop {
        text.clear();
        let read = reader.read_until(b'\n', &mut text).map_err(io)?;
        if read == 0 {
            break;
        }
        number += 1;
        bytes += read as u64;
        if end.is_some() {
            return Err(corrupt(number, "something follows the end line".to_owned()));
        }
        if text.last() != Some(&b'\n') {
            return Err(corrupt(
                number,
                "the file is cut short (its last line is unfinished)".to_owned(),
            ));
        }
        let line: Line = serde_json::from_slice(&text)
            .map_err(|e| corrupt(number, format!("not a snapshot line ({e})")))?;
        if !matches!(line, Line::End { .. }) {
            hasher.update(&text);
        }
        match (line, header.is_some()) {
            (
                Line::Header {
                    format,
                    version,
                    created_at,
                    source,
                    ..
                },
                false,
            ) => {
                if format != FORMAT {
                    return Err(corrupt(
                        number,
                        format!("format {format:?}, not {FORMAT:?}"),
                    ));
                }
                if version != VERSION {
                    return Err(SnapshotError::Version {
                        path: path.to_owned(),
                        found: version,
                    });
                }
                header = Some((created_at, source));
            }
            (_, false) => {
                return Err(corrupt(
                    number,
                    "the first line is not a snapshot header".to_owned(),
                ));
            }
            (Line::Header { .. }, true) => {
                return Err(corrupt(number, "a second header".to_owned()));
            }
            (Line::Collection { spec }, true) => {
                if let Some((name, _)) = &open {
                    return Err(corrupt(number, format!("collection {name} is not closed")));
                }
                open = Some((spec.name.clone(), PointDigest::default()));
                each(Item::Collection(spec))?;
            }
            (Line::Point(point), true) => {
                let Some((_, digest)) = open.as_mut() else {
                    return Err(corrupt(number, "a point outside a collection".to_owned()));
                };
                if !digest.add(&point) {
                    return Err(corrupt(
                        number,
                        format!("point {} is out of id order", point.id),
                    ));
                }
                each(Item::Point(point))?;
            }
            (
                Line::CollectionEnd {
                    name,
                    points,
                    sha256,
                },
                true,
            ) => {
                let Some((open_name, digest)) = open.take() else {
                    return Err(corrupt(
                        number,
                        format!("collection {name} closed but not opened"),
                    ));
                };
                let (counted, computed) = digest.finish();
                if open_name != name || counted != points || computed != sha256 {
                    return Err(corrupt(
                        number,
                        format!(
                            "checksum mismatch in collection {name}: it says {points} points \
                             with sha256 {sha256}; its lines hold {counted} with {computed}"
                        ),
                    ));
                }
                summaries.push(CollectionSummary {
                    name,
                    points,
                    sha256,
                });
                each(Item::CollectionEnd)?;
            }
            (
                Line::End {
                    collections,
                    points,
                    sha256,
                },
                true,
            ) => {
                if let Some((name, _)) = &open {
                    return Err(corrupt(number, format!("collection {name} is not closed")));
                }
                end = Some((collections, points, sha256));
            }
        }
    }
    let Some((created_at, source)) = header else {
        return Err(corrupt(0, "the file is empty".to_owned()));
    };
    let Some((collections, points, sha256)) = end else {
        return Err(corrupt(0, "the file is cut short (no end line)".to_owned()));
    };
    let computed = hex::encode(hasher.finalize());
    if computed != sha256 {
        return Err(corrupt(
            0,
            format!(
                "checksum mismatch: the end line says sha256 {sha256}, the contents hash to {computed}"
            ),
        ));
    }
    let counted: usize = summaries.iter().map(|c| c.points).sum();
    if collections != summaries.len() || points != counted {
        return Err(corrupt(
            0,
            format!(
                "the end line says {collections} collections and {points} points; the file holds {} and {counted}",
                summaries.len()
            ),
        ));
    }
    Ok(Summary {
        version: VERSION,
        created_at,
        source,
        collections: summaries,
        points,
        sha256,
        bytes,
    })
}

/// What a restore acts on, in the file's order.
enum Item {
    Collection(CollectionSpec),
    Point(StoredPoint),
    CollectionEnd,
}

/// Checks a snapshot file through (format, version, structure, every digest and the
/// checksum) without touching a store, and says what it holds.
pub fn verify(path: &Path) -> Result<Summary, SnapshotError> {
    read(path, |_| Ok(()))
}

/// Loads the snapshot at `path` into `store`, which must hold no points: first checks the
/// whole file ([`verify`]; nothing is written if it fails), then creates each collection
/// with its schema and writes its points with their vectors, then checks that every
/// collection in the store now has the snapshot's count and digest.
pub fn restore(store: &Store, path: &Path) -> Result<Summary, SnapshotError> {
    let summary = verify(path)?;
    let mut occupied = Vec::new();
    for collection in collections(store)? {
        let count = collection.count(None)?;
        if count > 0 {
            occupied.push((collection.name(), count));
        }
    }
    if !occupied.is_empty() {
        return Err(SnapshotError::NotEmpty(occupied));
    }
    let mut current: Option<Collection> = None;
    let mut batch = Vec::with_capacity(PAGE);
    read(path, |item| {
        match item {
            Item::Collection(spec) => current = Some(store.collection(&spec)?),
            Item::Point(point) => {
                batch.push(point);
                if batch.len() == PAGE
                    && let Some(collection) = &current
                {
                    collection.import(std::mem::take(&mut batch))?;
                }
            }
            Item::CollectionEnd => {
                if let Some(collection) = current.take() {
                    collection.import(std::mem::take(&mut batch))?;
                    collection.flush()?;
                }
            }
        }
        Ok(())
    })?;
    for expected in &summary.collections {
        let found = match store.open_existing(&expected.name)? {
            Some(collection) => digest(&collection)?,
            None => (0, hex::encode(Sha256::new().finalize())),
        };
        if found != (expected.points, expected.sha256.clone()) {
            return Err(SnapshotError::Mismatch {
                collection: expected.name.clone(),
                expected_points: expected.points,
                expected: expected.sha256.clone(),
                found_points: found.0,
                found: found.1,
            });
        }
    }
    Ok(summary)
}
