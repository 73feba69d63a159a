//! The real server under a small load over gRPC and over HTTP (gzip): every
//! acknowledged error event is stored and found by the run's id.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use clap::Parser;
use faultline_loadgen::{run, verify, Args};
use faultline_tests::Server;

fn args(protocol: &str, endpoint: &str, extra: &[&str]) -> Args {
    let mut argv = vec![
        "faultline-loadgen",
        "--protocol",
        protocol,
        "--endpoint",
        endpoint,
        "--clients",
        "2",
        "--exports",
        "20",
        "--spans-per-export",
        "64",
        // 2 clients x 64 spans at 640 spans/s: one export per client every 200 ms.
        "--rate",
        "640",
        "--error-ratio",
        "0.2",
        "--kinds",
        "30",
        "--duration",
        "10s",
    ];
    argv.extend_from_slice(extra);
    Args::parse_from(argv)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acked_error_events_equal_stored_ones_over_grpc_and_http() {
    let server = tokio::task::spawn_blocking(Server::start).await.unwrap();
    let api = server.api_url("");
    let http_endpoint = server.http_url("");
    for (protocol, endpoint, extra) in
        [("grpc", server.grpc_endpoint(), &[][..]), ("http", http_endpoint, &["--gzip"][..])]
    {
        let config = args(protocol, &endpoint, extra).into_config().unwrap();
        let report = run(&config).await.unwrap();
        assert_eq!(report.exports_acked, 20, "{protocol}: {}", report.table());
        assert_eq!(report.exports_failed, 0, "{protocol}: {}", report.table());
        assert_eq!(report.spans_acked, 20 * 64);
        // 20 % of 64 spans is 12.8: 12 or 13 per export.
        assert!((240..=260).contains(&report.error_events_acked), "{}", report.error_events_acked);
        let verification =
            verify(&api, &report.run_id, report.error_events_acked, Duration::from_secs(15)).await.unwrap();
        assert!(
            verification.matched,
            "{protocol}: acked {} stored {}",
            verification.acked, verification.stored
        );
    }
    tokio::task::spawn_blocking(move || drop(server)).await.unwrap();
}
