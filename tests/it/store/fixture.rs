//! What every store case shares: a fresh store of either backend, and the macro that runs a
//! case against both (Edge always; a Qdrant server when `ENGRAM_TEST_QDRANT_URL` is set at
//! build time, otherwise `cargo test` lists those cases as ignored, with the reason).

use std::sync::atomic::{AtomicU32, Ordering};

use std::collections::BTreeMap;

use engram::store::{EdgeOptions, EdgeStore, IndexOptions, RemoteConfig, Store, StoredPoint};

/// A fresh, empty store of one backend, cleaned up when dropped.
pub struct Fixture {
    pub store: Store,
    _dir: Option<tempfile::TempDir>,
}

/// Which backend a case runs against.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Edge,
    Remote,
}

impl Fixture {
    pub fn new(backend: Backend) -> Self {
        Self::with_index(backend, IndexOptions::default())
    }

    pub fn with_index(backend: Backend, index: IndexOptions) -> Self {
        match backend {
            Backend::Edge => Self::edge(index),
            Backend::Remote => Self::remote(index),
        }
    }

    fn edge(index: IndexOptions) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = EdgeOptions {
            index,
            ..EdgeOptions::default()
        };
        let store = Store::Edge(EdgeStore::open(dir.path(), options).expect("open edge store"));
        Self {
            store,
            _dir: Some(dir),
        }
    }

    fn remote(index: IndexOptions) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let url = std::env::var("ENGRAM_TEST_QDRANT_URL").expect("ENGRAM_TEST_QDRANT_URL");
        let mut config = RemoteConfig::new(url);
        config.index = index;
        config.namespace = format!(
            "test-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        Self {
            store: Store::connect_remote(config).expect("connect"),
            _dir: None,
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Store::Remote(_) = &self.store
            && let Ok(names) = self.store.collection_names()
        {
            for name in names {
                let _ = self.store.drop_collection(&name);
            }
        }
    }
}

/// Every collection of `store` with its points (both vectors, payloads) in id order: what
/// two stores must agree on to hold the same records.
pub fn records(store: &Store) -> BTreeMap<String, Vec<StoredPoint>> {
    let mut all = BTreeMap::new();
    for name in store.collection_names().expect("names") {
        let collection = store.open_existing(&name).expect("open").expect("exists");
        let mut points = Vec::new();
        let mut offset = None;
        loop {
            let (page, next) = collection.export(500, offset).expect("export");
            points.extend(page);
            match next {
                Some(next) => offset = Some(next),
                None => break,
            }
        }
        all.insert(name, points);
    }
    all
}

/// Runs each named case (a `fn(Backend)`) against both backends.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod edge {
            $(
                #[test]
                fn $case() {
                    super::$case(super::Backend::Edge);
                }
            )*
        }
        mod remote {
            $(
                #[test]
                #[cfg_attr(
                    not(engram_remote_tests),
                    ignore = "set ENGRAM_TEST_QDRANT_URL (e.g. http://127.0.0.1:6334) when building to run against a Qdrant server"
                )]
                fn $case() {
                    super::$case(super::Backend::Remote);
                }
            )*
        }
    };
}
