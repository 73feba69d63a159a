//! Search latency through the REST API: five queries of the kinds people
//! type, each asked `REPEAT` times one after another, timed from request
//! to the whole answer read.

use std::time::Instant;

use faultline_tests::Server;

const REPEAT: usize = 30;

/// A query and its extra parameters (a time range).
pub struct Query {
    pub what: &'static str,
    pub q: &'static str,
    pub from: Option<&'static str>,
}

/// Words and fields of the load generator's payloads (`payload.rs`).
pub const QUERIES: [Query; 5] = [
    Query { what: "free-text word", q: "pool", from: None },
    Query { what: "service", q: "service:checkout", from: None },
    Query { what: "field + time range", q: "method:POST", from: Some("10m") },
    Query { what: "exception phrase", q: "\"object has no attribute\"", from: None },
    Query {
        what: "boolean + negation",
        q: "(type:KeyError OR type:ValueError) -service:payments",
        from: None,
    },
];

/// One query's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Timing {
    pub what: &'static str,
    pub q: &'static str,
    pub hits: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Times every query of [`QUERIES`]; panics if one is refused.
pub fn time_all(server: &Server) -> Vec<Timing> {
    let client = reqwest::blocking::Client::new();
    let url = server.api_url("/api/v1/search");
    QUERIES.iter().map(|query| time_one(&client, &url, query)).collect()
}

fn time_one(client: &reqwest::blocking::Client, url: &str, query: &Query) -> Timing {
    let mut params = vec![("q", query.q)];
    if let Some(from) = query.from {
        params.push(("from", from));
    }
    let mut samples = Vec::with_capacity(REPEAT);
    let mut hits = 0;
    for _ in 0..REPEAT {
        let started = Instant::now();
        let response = client.get(url).query(&params).send().unwrap();
        let status = response.status();
        let body: serde_json::Value = response.json().unwrap();
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(status.is_success(), "search {:?} answered {status}: {body}", query.q);
        hits = body["total"].as_u64().unwrap_or(0);
    }
    samples.sort_by(f64::total_cmp);
    Timing {
        what: query.what,
        q: query.q,
        hits,
        p50_ms: nearest_rank(&samples, 50.0),
        p99_ms: nearest_rank(&samples, 99.0),
    }
}

/// Nearest-rank percentile of sorted, non-empty `sorted`.
pub fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}
