//! The server process: SIGKILL during a stream of acknowledged writes loses none of them
//! (checked after a restart), and SIGTERM lets an in-flight request finish, flushes the
//! store and exits cleanly.

use std::process::Child;
use std::sync::mpsc;
use std::time::Duration;

use engram::memory::MemoryKind;
use engram::store::PointId;
use serde_json::json;

use crate::common::engram_at;

/// Starts `engram serve` on a free loopback port in `home`.
fn serve(home: &std::path::Path) -> (Child, String, mpsc::Receiver<String>) {
    let mut command = engram_at(home);
    command.args(["serve", "--listen", "127.0.0.1:0"]);
    crate::common::serve(command)
}

#[test]
fn sigterm_finishes_the_request_in_flight_then_flushes_and_exits() {
    let home = tempfile::tempdir().expect("tempdir");
    let (mut child, base, log) = serve(home.path());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into();
    // Seeding the whole knowledge base takes seconds: it is still running at SIGTERM.
    let slow = std::thread::spawn(move || {
        let mut response = agent
            .post(format!("{base}/v1/knowledge/seed"))
            .content_type("application/json")
            .send("{}")
            .expect("the in-flight request is answered");
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        (status, body)
    });
    std::thread::sleep(Duration::from_millis(500));
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(term.success());
    let (status, body) = slow.join().expect("request thread");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"common_error\""), "{body}");
    let exit = child.wait().expect("exits");
    assert!(exit.success(), "{exit:?}");
    let lines: Vec<String> = log.iter().collect();
    assert!(
        lines.iter().any(|l| l.contains("SIGTERM"))
            && lines.iter().any(|l| l.contains("store flushed")),
        "{lines:?}"
    );
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let home = tempfile::tempdir().expect("tempdir");
    let (mut child, base, _log) = serve(home.path());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let (acked_tx, acked_rx) = mpsc::channel::<PointId>();
    let writer = {
        let base = base.clone();
        std::thread::spawn(move || {
            for n in 0.. {
                let body = json!({
                    "message": format!("E{n}: worker {n} failed to reach the queue"),
                    "resolution": format!("restart worker {n}"),
                });
                let Ok(mut response) = agent
                    .post(format!("{base}/v1/errors"))
                    .content_type("application/json")
                    .send(body.to_string())
                else {
                    return; // the server is gone
                };
                if response.status() != 200 {
                    return;
                }
                let text = response.body_mut().read_to_string().unwrap_or_default();
                let Ok(stored) = serde_json::from_str::<serde_json::Value>(&text) else {
                    return;
                };
                let id: PointId = stored["id"].as_str().expect("id").parse().expect("uuid");
                if acked_tx.send(id).is_err() {
                    return;
                }
            }
        })
    };
    let mut acked = Vec::new();
    while acked.len() < 40 {
        acked.push(
            acked_rx
                .recv_timeout(Duration::from_secs(120))
                .expect("writes are acknowledged"),
        );
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    writer.join().expect("writer");
    acked.extend(acked_rx.try_iter());

    // Restart on the same data directory and look for every acknowledged write.
    let store = engram::store::Store::open_edge(&home.path().join("data")).expect("reopen");
    let memory = engram::memory::Memory::new(
        store,
        std::sync::Arc::clone(crate::common::shared_embedder()) as _,
    )
    .expect("memory");
    let found = memory
        .collection(MemoryKind::Error)
        .get(&acked, false)
        .expect("get");
    assert_eq!(
        found.len(),
        acked.len(),
        "{} of {} acknowledged writes were lost",
        acked.len() - found.len(),
        acked.len()
    );
}
