//! Overload is refused at once with 503 and `Retry-After`, and a request that runs past the
//! timeout ends with 503 instead of holding its client.

use std::time::Duration;

use serde_json::json;

use super::TestServer;

#[test]
fn overload_and_timeouts_are_503_with_retry_after() {
    let s = std::sync::Arc::new(TestServer::with(|c| {
        c.max_in_flight = 1;
        c.request_timeout = Duration::from_secs(2);
    }));
    // Seeding the whole knowledge base embeds 86 entries: seconds of work.
    let slow = {
        let s = std::sync::Arc::clone(&s);
        std::thread::spawn(move || s.post("/v1/knowledge/seed", &json!({})))
    };
    std::thread::sleep(Duration::from_millis(700));
    let refused = s.get("/v1/stats");
    assert_eq!(
        (refused.status, refused.code()),
        (503, "overloaded"),
        "{:?}",
        refused.body
    );
    assert_eq!(refused.retry_after.as_deref(), Some("1"));
    let timed_out = slow.join().expect("slow request");
    assert_eq!(
        (timed_out.status, timed_out.code()),
        (503, "timeout"),
        "{:?}",
        timed_out.body
    );
    assert_eq!(timed_out.retry_after.as_deref(), Some("1"));
    assert_eq!(s.get("/healthz").status, 200, "the permit is back");
}
