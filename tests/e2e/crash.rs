//! Ack means durable, under sustained load: the soak of
//! `faultline_tests::soak` in a short run (the `soak` bench runs the same
//! checks for 50+ rounds). Clients export over OTLP/gRPC, OTLP/HTTP
//! protobuf and JSON while the server is killed with SIGKILL at random
//! moments; after each restart every acknowledged event is stored and
//! counted once, no unanswered export is half-applied, the health figures
//! count each stored span once and the index catches up.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use faultline_tests::soak::{Protocol, Soak, SoakConfig};

const ROUNDS: usize = 15;

#[test]
fn acknowledged_events_survive_kill_9() {
    let config = SoakConfig {
        rounds: ROUNDS,
        clients: vec![
            Protocol::Grpc,
            Protocol::Grpc,
            Protocol::HttpProtobuf,
            Protocol::HttpProtobuf,
            Protocol::HttpJson,
        ],
        run: Duration::from_millis(200)..Duration::from_millis(1500),
        catch_up_limit: Duration::from_secs(30),
    };
    let mut soak = Soak::start(config, &[]);
    let summary = soak.run(|r| {
        eprintln!(
            "round {:>2}: {} exports, {} events acked, {} refused, {} unanswered ({} stored), catch-up {:?}",
            r.round, r.exports, r.acked_events, r.refused, r.unanswered, r.unanswered_stored, r.catch_up
        )
    });
    assert!(
        summary.acked_events > 100,
        "the clients should have exported a fair amount: {}",
        summary.acked_events
    );
    assert!(summary.unanswered > 0, "some exports should have been cut by the kill");
}
