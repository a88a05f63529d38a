//! One writer process per data directory: an advisory lock on `engram.lock`, which also
//! records who holds it so that the second process can say so.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::error::{Result, StoreError};

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "engram.lock";

/// An exclusive lock on a data directory, released when dropped or when the process dies.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    path: PathBuf,
}

impl DirLock {
    /// Takes the lock on `dir` (creating it), or fails at once naming the holder.
    pub fn acquire(dir: &Path) -> Result<Self> {
        fs_err::create_dir_all(dir).map_err(|e| StoreError::io("create", dir, e))?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| StoreError::io("open", &path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(StoreError::Locked {
                    dir: dir.to_path_buf(),
                    holder: if holder.is_empty() {
                        "another process".to_owned()
                    } else {
                        holder.to_owned()
                    },
                });
            }
            Err(TryLockError::Error(error)) => return Err(StoreError::io("lock", &path, error)),
        }
        let holder = describe_this_process();
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)).map(|_| ()))
            .and_then(|()| file.write_all(holder.as_bytes()))
            .and_then(|()| file.sync_data())
            .map_err(|e| StoreError::io("write", &path, e))?;
        Ok(Self { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Who holds the lock on `dir` right now, if anyone (read without taking it).
    pub fn holder(dir: &Path) -> Option<String> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new().read(true).write(true).open(&path).ok()?;
        match file.try_lock() {
            Ok(()) => None,
            Err(_) => std::fs::read_to_string(&path)
                .ok()
                .map(|s| s.trim().to_owned()),
        }
    }
}

/// "engram pid 123 on host (engram serve), since 2026-11-20T22:41:00Z".
fn describe_this_process() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "this host".to_owned());
    let command: Vec<String> = std::env::args()
        .enumerate()
        .map(|(i, arg)| {
            if i == 0 {
                Path::new(&arg)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or(arg)
            } else {
                arg
            }
        })
        .take(4)
        .collect();
    format!(
        "pid {} on {host} ({}), since {}",
        std::process::id(),
        command.join(" "),
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_in_the_same_process_fails_naming_the_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = DirLock::acquire(dir.path()).expect("first");
        let error = DirLock::acquire(dir.path()).expect_err("second");
        let text = error.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert!(error.is_caller_fault());
        assert!(DirLock::holder(dir.path()).is_some());
        drop(first);
        assert!(DirLock::holder(dir.path()).is_none());
        DirLock::acquire(dir.path()).expect("free again");
    }
}
