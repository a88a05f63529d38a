//! Verification stamps: a model folder whose files passed their SHA-256 check is not hashed
//! again while its files stay the same files.
//!
//! Hashing the 90 MB of all-MiniLM-L6-v2 costs about 50 ms, which a CLI call would pay on
//! every start. After a full check, engram records each file's identity (device, inode,
//! size, modification and change times, in nanoseconds) beside the digest it matched; the
//! next load compares the identities and hashes only when one differs. This is the stat
//! cache git keeps in its index: replacing a file, writing into it or copying a new one over
//! it changes its change time, which no user tool can set back. What a stamp does not see is
//! a disk flipping bits under an unchanged inode; `engram model info` and `engram model
//! install` always hash everything.
//!
//! Stamps live in engram's model folder, `.verified/<digest of the folder path>.json`, so
//! that folders engram does not own (an explicit folder, the Hugging Face cache) are never
//! written to. A stamp that cannot be read or written only means hashing again.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::embed::spec::ModelSpec;

/// The identity of one file as the filesystem reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct FileIdentity {
    path: String,
    sha256: String,
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

/// Every file of a folder that passed its check, as it was then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    dir: PathBuf,
    files: Vec<FileIdentity>,
}

/// Where the stamps of verified folders are kept.
#[derive(Debug, Clone)]
pub(super) struct Stamps {
    dir: PathBuf,
}

impl Stamps {
    /// Stamps kept under `models_dir/.verified`.
    pub(super) fn new(models_dir: &Path) -> Self {
        Self {
            dir: models_dir.join(".verified"),
        }
    }

    fn path_for(&self, dir: &Path) -> PathBuf {
        let key = hex::encode(Sha256::digest(dir.as_os_str().as_encoded_bytes()));
        self.dir.join(format!("{}.json", &key[..32]))
    }

    /// Whether `dir` holds exactly the files that were verified against `spec` when the
    /// stamp was written.
    pub(super) fn is_current(&self, spec: &ModelSpec, dir: &Path) -> bool {
        let Ok(bytes) = std::fs::read(self.path_for(dir)) else {
            return false;
        };
        let Ok(stamp) = serde_json::from_slice::<Stamp>(&bytes) else {
            return false;
        };
        !spec.files.is_empty() && stamp.dir == dir && Some(stamp.files) == identities(spec, dir)
    }

    /// Records that every file of `spec` in `dir` passed its check just now.
    pub(super) fn record(&self, spec: &ModelSpec, dir: &Path) {
        let Some(files) = identities(spec, dir) else {
            return;
        };
        let stamp = Stamp {
            dir: dir.to_path_buf(),
            files,
        };
        let path = self.path_for(dir);
        let written = serde_json::to_vec_pretty(&stamp)
            .map_err(std::io::Error::other)
            .and_then(|json| {
                fs_err::create_dir_all(&self.dir)?;
                let staged = path.with_extension(format!("tmp-{}", std::process::id()));
                fs_err::write(&staged, json)?;
                fs_err::rename(&staged, &path)
            });
        if let Err(error) = written {
            tracing::debug!(
                "no verification stamp for {} (it will be hashed again): {error}",
                dir.display()
            );
        }
    }

    /// Forgets `dir`'s stamp (before its files are replaced).
    pub(super) fn forget(&self, dir: &Path) {
        let _ = std::fs::remove_file(self.path_for(dir));
    }
}

/// The identity of every file of `spec` in `dir`; `None` if one cannot be read.
#[cfg(unix)]
fn identities(spec: &ModelSpec, dir: &Path) -> Option<Vec<FileIdentity>> {
    use std::os::unix::fs::MetadataExt;
    let nanos = |secs: i64, nsecs: i64| i128::from(secs) * 1_000_000_000 + i128::from(nsecs);
    spec.files
        .iter()
        .map(|file| {
            let meta = std::fs::metadata(dir.join(file.path)).ok()?;
            Some(FileIdentity {
                path: file.path.to_owned(),
                sha256: file.sha256.to_owned(),
                dev: meta.dev(),
                ino: meta.ino(),
                len: meta.len(),
                mtime_ns: nanos(meta.mtime(), meta.mtime_nsec()),
                ctime_ns: nanos(meta.ctime(), meta.ctime_nsec()),
            })
        })
        .collect()
}

/// Without a change time to rely on, nothing is stamped and every load hashes.
#[cfg(not(unix))]
fn identities(_spec: &ModelSpec, _dir: &Path) -> Option<Vec<FileIdentity>> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::spec::ModelFile;

    const FILES: &[ModelFile] = &[
        ModelFile {
            path: "a.txt",
            sha256: "x",
        },
        ModelFile {
            path: "sub/b.txt",
            sha256: "y",
        },
    ];

    fn spec() -> ModelSpec {
        ModelSpec {
            files: FILES,
            ..crate::embed::ALL_MINILM_L6_V2
        }
    }

    /// A folder holding the two files of [`spec`].
    fn folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        fs_err::create_dir_all(dir.path().join("sub")).expect("mkdir");
        fs_err::write(dir.path().join("a.txt"), "one").expect("write");
        fs_err::write(dir.path().join("sub/b.txt"), "two").expect("write");
        dir
    }

    #[test]
    fn a_stamp_holds_until_a_file_changes() {
        let models = tempfile::tempdir().expect("tempdir");
        let dir = folder();
        let stamps = Stamps::new(models.path());
        assert!(
            !stamps.is_current(&spec(), dir.path()),
            "nothing stamped yet"
        );
        stamps.record(&spec(), dir.path());
        assert!(stamps.is_current(&spec(), dir.path()));

        // The same size, written again: the change time moves, so the stamp no longer holds.
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs_err::write(dir.path().join("a.txt"), "uno").expect("rewrite");
        assert!(!stamps.is_current(&spec(), dir.path()));

        stamps.record(&spec(), dir.path());
        assert!(stamps.is_current(&spec(), dir.path()));
        // Another folder with the same files is not covered by this folder's stamp.
        let other = folder();
        assert!(!stamps.is_current(&spec(), other.path()));
        // A missing file, a forgotten stamp: hash again.
        fs_err::remove_file(dir.path().join("sub/b.txt")).expect("remove");
        assert!(!stamps.is_current(&spec(), dir.path()));
        stamps.forget(dir.path());
        assert!(
            !models
                .path()
                .join(".verified")
                .read_dir()
                .is_ok_and(|mut d| d
                    .any(|e| e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))))
        );
    }

    #[test]
    fn a_stamp_for_other_digests_does_not_hold() {
        let models = tempfile::tempdir().expect("tempdir");
        let dir = folder();
        let stamps = Stamps::new(models.path());
        stamps.record(&spec(), dir.path());
        const OTHER: &[ModelFile] = &[
            ModelFile {
                path: "a.txt",
                sha256: "z",
            },
            ModelFile {
                path: "sub/b.txt",
                sha256: "y",
            },
        ];
        let other = ModelSpec {
            files: OTHER,
            ..crate::embed::ALL_MINILM_L6_V2
        };
        assert!(!stamps.is_current(&other, dir.path()));
    }
}
