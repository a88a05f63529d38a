//! Reading a model folder with every file verified, and staging a new one so that it appears
//! in its final place whole or not at all.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use super::stamp::Stamps;
use super::{ModelFiles, ModelSource};
use crate::embed::error::{EmbedError, Result};
use crate::embed::spec::{ModelFile, ModelSpec};

/// Files at least this large are mapped rather than read, so their bytes are not copied.
const MAP_AT: u64 = 1 << 20;

/// The bytes of one model file: read into memory, or mapped from the page cache.
pub(crate) enum FileBytes {
    /// A small file, read.
    Read(Vec<u8>),
    /// A large file (the weights), mapped read-only.
    Mapped(memmap2::Mmap),
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Self::Read(bytes) => bytes,
            Self::Mapped(map) => map,
        }
    }
}

impl std::fmt::Debug for FileBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Read(bytes) => write!(f, "Read({} bytes)", bytes.len()),
            Self::Mapped(map) => write!(f, "Mapped({} bytes)", map.len()),
        }
    }
}

/// Reads (or maps) every file of `spec` from `dir` and checks its digest, unless `stamps`
/// holds a stamp showing these very files passed the check before (see [`Stamps`]); a full
/// check that passes is stamped there. `stamps: None` always hashes everything.
///
/// `Ok(None)` when `dir` does not exist at all; every other problem (a file missing, a file
/// unreadable, a digest mismatch, `dir` not being a folder) is an error whose fix fits `source`.
pub(super) fn read_verified(
    spec: &ModelSpec,
    dir: &Path,
    source: ModelSource,
    stamps: Option<&Stamps>,
) -> Result<Option<ModelFiles>> {
    match std::fs::metadata(dir) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io_error("read", dir, error, spec, source)),
        Ok(meta) if !meta.is_dir() => {
            let error = io::Error::new(io::ErrorKind::NotADirectory, "not a folder");
            return Err(io_error("read", dir, error, spec, source));
        }
        Ok(_) => {}
    }
    let stamped = stamps.is_some_and(|stamps| stamps.is_current(spec, dir));
    let mut contents = Vec::with_capacity(spec.files.len());
    for file in spec.files {
        let path = dir.join(file.path);
        let bytes = match read_or_map(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(EmbedError::MissingFile {
                    dir: dir.to_path_buf(),
                    file: file.path.to_owned(),
                    fix: fix_for(spec, source),
                });
            }
            Err(error) => return Err(io_error("read", &path, error, spec, source)),
        };
        if !stamped {
            let actual = sha256_hex(&bytes);
            if actual != file.sha256 {
                if let Some(stamps) = stamps {
                    stamps.forget(dir);
                }
                return Err(EmbedError::Checksum {
                    path,
                    expected: file.sha256.to_owned(),
                    actual,
                    fix: fix_for(spec, source),
                });
            }
        }
        contents.push((file.path, bytes));
    }
    if !stamped && let Some(stamps) = stamps {
        stamps.record(spec, dir);
    }
    Ok(Some(ModelFiles {
        dir: dir.to_path_buf(),
        source,
        contents,
    }))
}

/// The file at `path`, mapped if it is large, read otherwise.
fn read_or_map(path: &Path) -> io::Result<FileBytes> {
    let file = std::fs::File::open(path)?;
    if file.metadata()?.len() < MAP_AT {
        let mut bytes = Vec::new();
        (&file).read_to_end(&mut bytes)?;
        return Ok(FileBytes::Read(bytes));
    }
    // SAFETY: the map is read-only and engram never writes to a model file in place (an
    // install stages a new folder and renames it over the old one, which leaves this inode
    // intact). Another program truncating the file while it is mapped would fault on
    // access; that is the contract every mmap-based model loader (safetensors, llama.cpp)
    // asks of its users.
    unsafe { memmap2::Mmap::map(&file) }.map(FileBytes::Mapped)
}

/// What a user should do when the copy from `source` is broken.
fn fix_for(spec: &ModelSpec, source: ModelSource) -> String {
    match source {
        ModelSource::Explicit => format!(
            "replace it with an intact copy of {} or point ENGRAM_MODEL_DIR / --model-dir at \
             another folder",
            spec.name
        ),
        ModelSource::EngramFolder | ModelSource::Hub | ModelSource::Pip => {
            "run `engram model install --force` to reinstall it".to_owned()
        }
        ModelSource::HfCache => format!(
            "delete that Hugging Face cache entry or run `engram model install` to give engram \
             its own copy of {}",
            spec.name
        ),
    }
}

fn io_error(
    action: &'static str,
    path: &Path,
    source: io::Error,
    spec: &ModelSpec,
    from: ModelSource,
) -> EmbedError {
    let fix = match source.kind() {
        io::ErrorKind::PermissionDenied => format!(
            "give the user running engram read access to it, or {}",
            fix_for(spec, from)
        ),
        _ => fix_for(spec, from),
    };
    EmbedError::Io {
        action,
        path: path.to_path_buf(),
        source,
        fix,
    }
}

/// Lower-case hex sha256 of `bytes`.
pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A hidden folder beside the final model folder where a fetch writes its files. Dropped
/// without [`Staging::commit`], it removes itself, so a failed or interrupted fetch never
/// leaves a half-written model where engram would read it.
pub(super) struct Staging {
    dir: PathBuf,
    committed: bool,
}

/// Prefix of staging folders, so that stale ones left by a killed process can be removed.
fn staging_prefix(spec: &ModelSpec) -> String {
    format!(".{}.staging-", spec.name)
}

impl Staging {
    /// Creates an empty staging folder in `models_dir`.
    pub(super) fn new(models_dir: &Path, spec: &ModelSpec) -> io::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "{}{}-{}",
            staging_prefix(spec),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let dir = models_dir.join(name);
        fs_err::create_dir_all(&dir)?;
        Ok(Self {
            dir,
            committed: false,
        })
    }

    /// The staging folder.
    pub(super) fn path(&self) -> &Path {
        &self.dir
    }

    /// Copies `reader` into the staged `file`, hashing on the way, and keeps it only if the
    /// digest matches. The message of the error says which file failed and why.
    pub(super) fn write_verified(
        &self,
        file: &ModelFile,
        mut reader: impl Read,
    ) -> std::result::Result<(), String> {
        let path = self.dir.join(file.path);
        let written = (|| -> io::Result<String> {
            if let Some(parent) = path.parent() {
                fs_err::create_dir_all(parent)?;
            }
            let mut out = fs_err::File::create(&path)?;
            let mut hasher = Sha256::new();
            let mut buffer = vec![0u8; 1 << 16];
            loop {
                let n = match reader.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                    Err(error) => return Err(error),
                };
                hasher.update(&buffer[..n]);
                out.write_all(&buffer[..n])?;
            }
            out.sync_all()?;
            Ok(hex::encode(hasher.finalize()))
        })()
        .map_err(|error| format!("{}: {error}", file.path))?;
        if written != file.sha256 {
            return Err(format!(
                "{} failed its sha256 check: expected {}, got {written}",
                file.path, file.sha256
            ));
        }
        Ok(())
    }

    /// Moves the staged folder to `target`, replacing whatever is there, and makes the move
    /// durable. The caller holds the install lock.
    pub(super) fn commit(mut self, target: &Path) -> io::Result<()> {
        let parent = target.parent().unwrap_or(Path::new("."));
        sync_dir(&self.dir)?;
        if target.exists() {
            let old = parent.join(format!(
                ".{}.old-{}",
                target
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                std::process::id()
            ));
            remove_dir_if_present(&old)?;
            fs_err::rename(target, &old)?;
            fs_err::rename(&self.dir, target)?;
            remove_dir_if_present(&old)?;
        } else {
            fs_err::rename(&self.dir, target)?;
        }
        self.committed = true;
        sync_dir(parent)
    }

    /// Removes staging folders that a killed install left behind. Only safe under the lock.
    pub(super) fn remove_stale(models_dir: &Path, spec: &ModelSpec) {
        let prefix = staging_prefix(spec);
        let Ok(entries) = std::fs::read_dir(models_dir) else {
            return;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix)
                && let Err(error) = std::fs::remove_dir_all(entry.path())
            {
                tracing::warn!(
                    "could not remove stale staging folder {}: {error}",
                    entry.path().display()
                );
            }
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn remove_dir_if_present(dir: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(io::Error::new(
            error.kind(),
            format!("{}: {error}", dir.display()),
        )),
        _ => Ok(()),
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    fs_err::File::open(dir)?.sync_all()
}

/// Exclusive lock on installing one model into `models_dir`, held by one process at a time so
/// that concurrent first uses fetch the model once.
pub(super) struct InstallLock {
    _file: std::fs::File,
}

impl InstallLock {
    /// Blocks until the lock is ours.
    pub(super) fn acquire(models_dir: &Path, spec: &ModelSpec) -> io::Result<Self> {
        let path = models_dir.join(format!(".{}.lock", spec.name));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|error| {
                io::Error::new(error.kind(), format!("{}: {error}", path.display()))
            })?;
        file.lock().map_err(|error| {
            io::Error::new(error.kind(), format!("{}: {error}", path.display()))
        })?;
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_input() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
