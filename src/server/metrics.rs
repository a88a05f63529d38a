//! `/metrics` in Prometheus' text format: requests and latencies per route and status, and
//! the points in every collection (read at scrape time).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// Latency histogram bounds, in seconds.
const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default, Clone)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    /// Requests at or under each bound of [`BUCKETS`].
    buckets: [u64; BUCKETS.len()],
    sum_seconds: f64,
    count: u64,
}

/// Counters shared by every request.
#[derive(Debug, Default, Clone)]
pub struct Metrics {
    routes: Arc<Mutex<BTreeMap<(String, String), RouteStats>>>,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut routes = self
            .routes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let stats = routes
            .entry((method.to_owned(), route.to_owned()))
            .or_default();
        *stats.by_status.entry(status).or_insert(0) += 1;
        for (bucket, bound) in stats.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        stats.sum_seconds += seconds;
        stats.count += 1;
    }

    /// The text exposition: request counters and latency histograms, then `collections`
    /// (name, points) as gauges.
    pub fn render(&self, collections: &[(String, usize)]) -> String {
        let routes = self
            .routes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let mut text = String::new();
        text.push_str(
            "# HELP engram_http_requests_total Requests answered, by route and status.\n",
        );
        text.push_str("# TYPE engram_http_requests_total counter\n");
        for ((method, route), stats) in &routes {
            for (status, count) in &stats.by_status {
                let _ = writeln!(
                    text,
                    "engram_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {count}"
                );
            }
        }
        text.push_str("# HELP engram_http_request_duration_seconds Time to answer, by route.\n");
        text.push_str("# TYPE engram_http_request_duration_seconds histogram\n");
        for ((method, route), stats) in &routes {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            for (bound, count) in BUCKETS.iter().zip(stats.buckets) {
                let _ = writeln!(
                    text,
                    "engram_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                text,
                "engram_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                stats.count
            );
            let _ = writeln!(
                text,
                "engram_http_request_duration_seconds_sum{{{labels}}} {}",
                stats.sum_seconds
            );
            let _ = writeln!(
                text,
                "engram_http_request_duration_seconds_count{{{labels}}} {}",
                stats.count
            );
        }
        text.push_str("# HELP engram_collection_points Points stored, by collection.\n");
        text.push_str("# TYPE engram_collection_points gauge\n");
        for (name, points) in collections {
            let _ = writeln!(
                text,
                "engram_collection_points{{collection=\"{name}\"}} {points}"
            );
        }
        text
    }
}

/// Counts every request under its route template (`/v1/episodes/{id}`, not the id).
pub async fn record(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_counts_and_buckets_requests() {
        let metrics = Metrics::default();
        metrics.observe("POST", "/v1/patterns", 200, 0.003);
        metrics.observe("POST", "/v1/patterns", 422, 0.0005);
        let text = metrics.render(&[("errors".to_owned(), 7)]);
        assert!(text.contains(
            "engram_http_requests_total{method=\"POST\",route=\"/v1/patterns\",status=\"422\"} 1"
        ));
        assert!(text.contains("le=\"0.001\"} 1"), "{text}");
        assert!(text.contains("le=\"0.005\"} 2"), "{text}");
        assert!(text.contains("_count{method=\"POST\",route=\"/v1/patterns\"} 2"));
        assert!(text.contains("engram_collection_points{collection=\"errors\"} 7"));
    }
}
