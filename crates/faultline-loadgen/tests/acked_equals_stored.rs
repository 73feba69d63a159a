//! The real server under a small load over gRPC and over HTTP (gzip): every
//! acknowledged error event is stored and found by the run's id.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use clap::Parser;
use faultline_loadgen::{run, verify, Args};
use faultline_tests::Server;

fn args(protocol: &str, endpoint: &str, extra: &[&str]) -> Args {
    let mut argv = vec!["--exports", "20"];
    argv.extend_from_slice(extra);
    args_with(protocol, endpoint, &argv)
}

/// The shared settings, with `extra` deciding the number of exports.
fn args_with(protocol: &str, endpoint: &str, extra: &[&str]) -> Args {
    let mut argv = vec![
        "faultline-loadgen",
        "--protocol",
        protocol,
        "--endpoint",
        endpoint,
        "--clients",
        "2",
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
    // try_: a bad argument must fail the test, not exit before the server is stopped.
    Args::try_parse_from(argv).unwrap()
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
            verify(&api, &report.run_id, report.error_events_acked, Duration::from_secs(15), None)
                .await
                .unwrap();
        assert!(
            verification.matched,
            "{protocol}: acked {} stored {}",
            verification.acked, verification.stored
        );
    }
    tokio::task::spawn_blocking(move || drop(server)).await.unwrap();
}

/// A server that requires tokens: exports without `--token` are refused,
/// with it they are acknowledged over both protocols, and `verify` reads
/// the API with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_opens_a_secured_server() {
    const TOKEN: &str = "loadgen-test-admin-token-0123456789abcdef";
    let dir = faultline_tests::TempDir::new("loadgen-token");
    let config = dir.path().join("faultline.toml");
    std::fs::write(&config, format!("[auth]\nadmin_token = \"{TOKEN}\"\n")).unwrap();
    let config_arg = config.to_str().unwrap().to_string();
    let server =
        tokio::task::spawn_blocking(move || Server::start_with(&["--config", &config_arg])).await.unwrap();
    let api = server.api_url("");
    let quick = ["--exports", "3", "--max-retries", "0"];
    for (protocol, endpoint) in [("grpc", server.grpc_endpoint()), ("http", server.http_url(""))] {
        let refused = run(&args_with(protocol, &endpoint, &quick).into_config().unwrap()).await.unwrap();
        assert_eq!(refused.exports_acked, 0, "{protocol} without a token: {}", refused.table());
        let with_token = [&quick[..], &["--token", TOKEN]].concat();
        let config = args_with(protocol, &endpoint, &with_token).into_config().unwrap();
        let report = run(&config).await.unwrap();
        assert_eq!(report.exports_acked, 3, "{protocol} with the token: {}", report.table());
        let unauthenticated =
            verify(&api, &report.run_id, report.error_events_acked, Duration::from_secs(5), None).await;
        assert!(unauthenticated.is_err(), "{protocol}: the API answered without a token");
        let verification =
            verify(&api, &report.run_id, report.error_events_acked, Duration::from_secs(15), Some(TOKEN))
                .await
                .unwrap();
        assert!(
            verification.matched,
            "{protocol}: acked {} stored {}",
            verification.acked, verification.stored
        );
    }
    tokio::task::spawn_blocking(move || drop(server)).await.unwrap();
}
