//! One writer process per data directory: an advisory lock on `engram.lock`, which also
//! records who holds it so that the second process can say so, and, when the holder is an
//! `engram serve`, the address it serves on, so that a command run meanwhile sends its
//! request there instead of failing.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::error::{Result, StoreError};

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "engram.lock";

/// The line of the lock file that gives the holder's HTTP address.
const SERVING: &str = "serving http://";

/// An exclusive lock on a data directory, released when dropped or when the process dies.
#[derive(Debug)]
pub struct DirLock {
    file: File,
    path: PathBuf,
    holder: String,
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
                        // The first line names the process; the rest is for engram's own use.
                        holder.lines().next().unwrap_or(holder).to_owned()
                    },
                    waited_ms: 0,
                });
            }
            Err(TryLockError::Error(error)) => return Err(StoreError::io("lock", &path, error)),
        }
        let lock = Self {
            file,
            path,
            holder: describe_this_process(),
        };
        lock.write(&lock.holder)?;
        Ok(lock)
    }

    /// Takes the lock on `dir`, waiting up to `timeout` for another process to let it go
    /// (polling, like SQLite's busy timeout); then fails naming the holder.
    pub fn acquire_waiting(dir: &Path, timeout: Duration) -> Result<Self> {
        let started = Instant::now();
        let deadline = started + timeout;
        let mut pause = Duration::from_millis(5);
        loop {
            match Self::acquire(dir) {
                Err(StoreError::Locked { .. }) if Instant::now() < deadline => {
                    std::thread::sleep(
                        pause.min(deadline.saturating_duration_since(Instant::now())),
                    );
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(StoreError::Locked { dir, holder, .. }) => {
                    return Err(StoreError::Locked {
                        dir,
                        holder,
                        waited_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    });
                }
                other => return other,
            }
        }
    }

    /// Records that the holder serves engram's HTTP API at `addr`, so that other commands on
    /// this directory send their requests there.
    pub fn advertise(&self, addr: SocketAddr) -> Result<()> {
        self.write(&format!("{}\n{SERVING}{addr}\n", self.holder))
    }

    fn write(&self, text: &str) -> Result<()> {
        let mut file = &self.file;
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)).map(|_| ()))
            .and_then(|()| file.write_all(text.as_bytes()))
            .and_then(|()| file.sync_data())
            .map_err(|e| StoreError::io("write", &self.path, e))
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Who holds the lock on `dir` right now, if anyone (read without taking it).
    pub fn holder(dir: &Path) -> Option<String> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new().read(true).write(true).open(&path).ok()?;
        match file.try_lock_shared() {
            Ok(()) => None,
            Err(_) => std::fs::read_to_string(&path)
                .ok()
                .map(|s| s.trim().to_owned()),
        }
    }

    /// The address of the `engram serve` that holds `dir`, if one does.
    pub fn server(dir: &Path) -> Option<SocketAddr> {
        Self::holder(dir)?
            .lines()
            .find_map(|line| line.trim().strip_prefix(SERVING)?.parse().ok())
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
        assert!(
            !error.is_caller_fault(),
            "a held directory is not a bad request"
        );
        assert!(DirLock::holder(dir.path()).is_some());
        drop(first);
        assert!(DirLock::holder(dir.path()).is_none());
        DirLock::acquire(dir.path()).expect("free again");
    }

    #[test]
    fn a_serving_holder_is_found_by_its_address() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lock = DirLock::acquire(dir.path()).expect("lock");
        assert_eq!(DirLock::server(dir.path()), None);
        let addr: SocketAddr = "127.0.0.1:7437".parse().expect("addr");
        lock.advertise(addr).expect("advertise");
        assert_eq!(DirLock::server(dir.path()), Some(addr));
        assert!(
            DirLock::holder(dir.path())
                .is_some_and(|h| h.contains(&format!("pid {}", std::process::id())))
        );
        drop(lock);
        assert_eq!(
            DirLock::server(dir.path()),
            None,
            "a free directory has no server"
        );
    }

    #[test]
    fn waiting_for_the_lock_gets_it_once_the_holder_lets_go() {
        let dir = tempfile::tempdir().expect("tempdir");
        let held = DirLock::acquire(dir.path()).expect("lock");
        let started = Instant::now();
        let error = DirLock::acquire_waiting(dir.path(), Duration::from_millis(200))
            .expect_err("still held");
        assert!(matches!(error, StoreError::Locked { .. }));
        assert!(started.elapsed() >= Duration::from_millis(200));
        let path = dir.path().to_path_buf();
        let waiter =
            std::thread::spawn(move || DirLock::acquire_waiting(&path, Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(100));
        drop(held);
        waiter
            .join()
            .expect("thread")
            .expect("got the lock after the holder let go");
    }
}
