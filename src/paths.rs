//! Where engram keeps its files.

use std::path::PathBuf;

/// The default data directory of the embedded store: `ENGRAM_DATA_DIR` if set, else
/// `<engram home>/data`.
pub fn default_data_dir() -> PathBuf {
    std::env::var_os("ENGRAM_DATA_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| engram_home().join("data"))
}

/// engram's home: `ENGRAM_HOME` if set, else the platform's data folder
/// (`~/.local/share/engram` on Linux), else `.engram` in the working folder.
///
/// The model lives in `<home>/models`.
pub fn engram_home() -> PathBuf {
    if let Some(home) = std::env::var_os("ENGRAM_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home);
    }
    directories::ProjectDirs::from("", "", "engram")
        .map(|dirs| dirs.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".engram"))
}
