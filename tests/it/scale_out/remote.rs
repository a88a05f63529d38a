//! The scale-out scenarios on a Qdrant server: two `engram serve` processes share it (one
//! namespace), and clients spread over both. Built in when `ENGRAM_TEST_QDRANT_URL` is set
//! at build time.

use std::process::Child;

use super::{
    Client, a_contended_lease_has_one_holder_at_a_time, events_into_one_episode_are_all_kept,
    stores_of_one_entry_count_exactly,
};
use crate::common::engram_at;

/// Two engram servers on the Qdrant server at `url`, sharing `namespace`.
pub struct TwoServers {
    pub clients: Vec<Client>,
    children: Vec<Child>,
    _homes: Vec<tempfile::TempDir>,
}

impl TwoServers {
    pub fn start(url: &str, namespace: &str, extra_env: &[(&str, &str)]) -> Self {
        let mut clients = Vec::new();
        let mut children = Vec::new();
        let mut homes = Vec::new();
        for _ in 0..2 {
            let home = tempfile::tempdir().expect("tempdir");
            let mut command = engram_at(home.path());
            command
                .args(["serve", "--listen", "127.0.0.1:0"])
                .env("ENGRAM_QDRANT_URL", url)
                .env("ENGRAM_NAMESPACE", namespace);
            for (name, value) in extra_env {
                command.env(name, value);
            }
            let (child, base, _log) = crate::common::serve(command);
            clients.push(Client::new(&base));
            children.push(child);
            homes.push(home);
        }
        Self {
            clients,
            children,
            _homes: homes,
        }
    }
}

impl Drop for TwoServers {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn namespace(test: &str) -> String {
    format!(
        "scale-{test}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

#[test]
#[cfg_attr(
    not(engram_remote_tests),
    ignore = "set ENGRAM_TEST_QDRANT_URL (e.g. http://127.0.0.1:6334) when building to run against a Qdrant server"
)]
fn two_servers_on_one_qdrant_lose_no_store_no_event_and_never_share_a_lease() {
    let url = std::env::var("ENGRAM_TEST_QDRANT_URL").expect("ENGRAM_TEST_QDRANT_URL");
    let servers = TwoServers::start(&url, &namespace("two"), &[]);
    let stores = stores_of_one_entry_count_exactly(&servers.clients, 16, 500);
    eprintln!("stores: {stores}");
    let events = events_into_one_episode_are_all_kept(&servers.clients, 4, 200);
    eprintln!("events: {events}");
    let lease = a_contended_lease_has_one_holder_at_a_time(&servers.clients, 8, 1000);
    eprintln!("lease: {lease}");
}
