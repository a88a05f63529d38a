//! Compiles the Qdrant-server half of the store conformance suite in only when
//! `ENGRAM_TEST_QDRANT_URL` is set, and the three-node cluster test only when
//! `ENGRAM_TEST_QDRANT_BIN` is; otherwise those tests are marked ignored, with a reason
//! that `cargo test` prints.

fn main() {
    println!("cargo::rerun-if-env-changed=ENGRAM_TEST_QDRANT_URL");
    println!("cargo::rerun-if-env-changed=ENGRAM_TEST_QDRANT_BIN");
    println!("cargo::rustc-check-cfg=cfg(engram_remote_tests)");
    println!("cargo::rustc-check-cfg=cfg(engram_cluster_tests)");
    if std::env::var_os("ENGRAM_TEST_QDRANT_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=engram_remote_tests");
    }
    if std::env::var_os("ENGRAM_TEST_QDRANT_BIN").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=engram_cluster_tests");
    }
}
