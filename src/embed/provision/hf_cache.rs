//! The Hugging Face cache that `huggingface_hub` and sentence-transformers fill: a model
//! downloaded by Python tools is used without a second download.

use std::path::{Path, PathBuf};

use crate::embed::spec::ModelSpec;

/// The snapshot folder of `spec` in the cache at `cache_dir`, if there is one: the one
/// `refs/main` names, else any snapshot that has the weights.
pub(super) fn snapshot(cache_dir: &Path, spec: &ModelSpec) -> Option<PathBuf> {
    let repo = cache_dir.join(format!("models--{}", spec.hub_repo.replace('/', "--")));
    let snapshots = repo.join("snapshots");
    if let Ok(revision) = std::fs::read_to_string(repo.join("refs").join(spec.hub_revision)) {
        let dir = snapshots.join(revision.trim());
        if dir.is_dir() {
            return Some(dir);
        }
    }
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(&snapshots)
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .filter(|dir| dir.join(ModelSpec::WEIGHTS).is_file())
        .collect();
    candidates.sort();
    candidates.into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::spec::ALL_MINILM_L6_V2;

    #[test]
    fn follows_refs_main_to_its_snapshot() {
        let cache = tempfile::tempdir().expect("tempdir");
        let repo = cache
            .path()
            .join("models--sentence-transformers--all-MiniLM-L6-v2");
        std::fs::create_dir_all(repo.join("refs")).expect("mkdir");
        std::fs::create_dir_all(repo.join("snapshots/abc123")).expect("mkdir");
        std::fs::create_dir_all(repo.join("snapshots/0ld")).expect("mkdir");
        std::fs::write(repo.join("snapshots/0ld/model.safetensors"), b"x").expect("write");
        std::fs::write(repo.join("refs/main"), "abc123\n").expect("write");
        assert_eq!(
            snapshot(cache.path(), &ALL_MINILM_L6_V2),
            Some(repo.join("snapshots/abc123"))
        );
        std::fs::remove_file(repo.join("refs/main")).expect("rm");
        assert_eq!(
            snapshot(cache.path(), &ALL_MINILM_L6_V2),
            Some(repo.join("snapshots/0ld"))
        );
    }

    #[test]
    fn empty_cache_has_no_snapshot() {
        let cache = tempfile::tempdir().expect("tempdir");
        assert_eq!(snapshot(cache.path(), &ALL_MINILM_L6_V2), None);
    }
}
