//! The Qdrant-server backend's behaviour when the server is not there: retries, then a
//! circuit breaker that fails fast and says so. Needs no server.

use std::time::{Duration, Instant};

use engram::store::{CollectionSpec, RemoteConfig, Store, StoreError};

#[test]
fn an_unreachable_server_opens_the_circuit_and_later_requests_fail_fast() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let mut config = RemoteConfig::new(format!("http://127.0.0.1:{port}"));
    config.retries = 1;
    config.breaker_threshold = 2;
    config.breaker_cooldown = Duration::from_secs(60);
    config.timeout = Duration::from_secs(2);
    let store = Store::connect_remote(config).expect("connecting is lazy");
    let Store::Remote(remote) = &store else {
        panic!("remote store");
    };
    let spec = CollectionSpec::new("c", 4);
    for attempt in 1..=2 {
        let error = store.collection(&spec).expect_err("nothing listens");
        assert!(
            matches!(&error, StoreError::Remote { caller_fault: false, message } if message.contains("after 2 attempts")),
            "attempt {attempt}: {error}"
        );
        assert!(!error.is_caller_fault());
    }
    assert!(remote.breaker_status().open);
    let started = Instant::now();
    let error = store.collection(&spec).expect_err("circuit open");
    assert!(
        matches!(error, StoreError::CircuitOpen { failures: 2, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("retrying in"), "{error}");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "an open circuit answers without trying the network"
    );
}
