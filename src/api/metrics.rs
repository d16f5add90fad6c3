//! Prometheus metrics of the server: requests and latencies by route, rows
//! ingested, job durations.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text::{CONTENT_TYPE, encode};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The `Content-Type` of `/metrics`.
pub const METRICS_CONTENT_TYPE: &str = CONTENT_TYPE;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TableLabels {
    table: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    job: String,
    outcome: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The server's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily<RouteLabels>,
    in_flight: Gauge,
    rows: Family<TableLabels, Counter>,
    jobs: HistogramFamily<JobLabels>,
    cache_bytes: Gauge,
    throttled: Counter,
    cancelled: Counter,
}

fn latency_histogram() -> Histogram {
    // 0.1 ms .. ~3.3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

fn job_histogram() -> Histogram {
    // 10 ms .. ~1.5 h.
    Histogram::new(exponential_buckets(0.01, 2.0, 20))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("attain");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: HistogramFamily<RouteLabels> = Family::new_with_constructor(latency_histogram);
        let in_flight = Gauge::default();
        let rows = Family::<TableLabels, Counter>::default();
        let jobs: HistogramFamily<JobLabels> = Family::new_with_constructor(job_histogram);
        let cache_bytes = Gauge::default();
        let throttled = Counter::default();
        let cancelled = Counter::default();
        registry.register(
            "computations_cancelled",
            "Heavy computations stopped early because their request passed its deadline",
            cancelled.clone(),
        );
        registry.register(
            "result_cache_bytes",
            "Bytes (JSON size) of heavy results kept between requests",
            cache_bytes.clone(),
        );
        registry.register(
            "http_requests_throttled",
            "Requests refused with 429 because their token went over its rate",
            throttled.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            latency.clone(),
        );
        registry.register(
            "http_requests_in_flight",
            "HTTP requests being answered now",
            in_flight.clone(),
        );
        registry.register(
            "ingest_rows",
            "Rows read by successful ingests through the API, by table",
            rows.clone(),
        );
        registry.register(
            "job_duration_seconds",
            "Duration of model and analysis jobs (train, forecast, score, coaching, commissions), by outcome",
            jobs.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            in_flight,
            rows,
            jobs,
            cache_bytes,
            throttled,
            cancelled,
        }
    }
}

impl Metrics {
    /// A request began.
    pub fn start(&self) {
        self.in_flight.inc();
    }

    /// A request was answered. The method label is one of the standard
    /// methods or `other`, and the route a matched template or
    /// `unmatched`, so no caller can add label values of their own.
    pub fn finish(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.in_flight.dec();
        let method = method_label(method);
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// Rows ingested into a table.
    pub fn ingested(&self, table: &str, rows: u64) {
        self.rows
            .get_or_create(&TableLabels {
                table: table.to_owned(),
            })
            .inc_by(rows);
    }

    /// A job ran.
    pub fn job(&self, job: &str, ok: bool, seconds: f64) {
        self.jobs
            .get_or_create(&JobLabels {
                job: job.to_owned(),
                outcome: if ok { "ok" } else { "error" }.to_owned(),
            })
            .observe(seconds);
    }

    /// The heavy results kept now take `bytes`.
    pub fn cached(&self, bytes: usize) {
        self.cache_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    /// A request was refused for its token's rate.
    pub fn throttle(&self) {
        self.throttled.inc();
    }

    /// The counter of computations stopped at their request's deadline
    /// (handed to the thread doing the work).
    pub fn cancelled_counter(&self) -> Counter {
        self.cancelled.clone()
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// A request method as a metrics label: the standard methods by name, any
/// other as `other`.
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_methods_share_one_label() {
        let m = Metrics::default();
        let before = m.render().lines().count();
        for junk in [
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1",
            "X2",
            "Y3",
        ] {
            m.start();
            m.finish(junk, "/health", 200, 0.001);
        }
        let text = m.render();
        assert!(!text.contains("X2") && !text.contains("AAAA"), "{text}");
        assert!(
            text.contains(
                "attain_http_requests_total{method=\"other\",route=\"/health\",status=\"200\"} 3"
            ),
            "{text}"
        );
        // One counter line and one histogram's lines, whatever the methods.
        let after = m.render().lines().count();
        m.start();
        m.finish("ZZZ", "/health", 200, 0.001);
        assert_eq!(m.render().lines().count(), after);
        assert!(after > before);
    }

    #[test]
    fn counts_requests_by_route_and_status() {
        let m = Metrics::default();
        m.start();
        m.finish("GET", "/v1/forecasts", 200, 0.002);
        m.start();
        m.finish("GET", "/v1/forecasts", 200, 0.004);
        m.ingested("reps", 12);
        m.job("train", true, 3.0);
        let text = m.render();
        assert!(
            text.contains(
                "attain_http_requests_total{method=\"GET\",route=\"/v1/forecasts\",status=\"200\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains("attain_ingest_rows_total{table=\"reps\"} 12"),
            "{text}"
        );
        assert!(text.contains("attain_http_requests_in_flight 0"), "{text}");
        assert!(
            text.contains("attain_job_duration_seconds_count{job=\"train\",outcome=\"ok\"} 1"),
            "{text}"
        );
    }
}
