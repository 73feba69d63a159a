//! Ack means durable, under sustained load: the soak of
//! `faultline_tests::soak` in a short run (the `soak` bench runs the same
//! checks for 50+ rounds). Clients export over OTLP/gRPC, OTLP/HTTP
//! protobuf and JSON while the server is killed with SIGKILL at random
//! moments; after each restart every acknowledged event is stored and
//! counted once, no unanswered export is half-applied, the health figures
//! count each stored span once and the index catches up.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use faultline_tests::soak::{assert_no_violations, Protocol, Soak, SoakConfig, Stop};

const ROUNDS: usize = 15;
const CLIENTS: [Protocol; 5] =
    [Protocol::Grpc, Protocol::Grpc, Protocol::HttpProtobuf, Protocol::HttpProtobuf, Protocol::HttpJson];

#[test]
fn acknowledged_events_survive_kill_9() {
    let config = SoakConfig {
        rounds: ROUNDS,
        clients: CLIENTS.to_vec(),
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

/// SIGTERM while clients keep exporting over gRPC and HTTP, and one client
/// trickles a request body so slowly that, unbounded, the drain would wait
/// for it forever (it did before `--shutdown-timeout`): the process exits 0
/// within the configured timeout plus a margin for flushing, every
/// acknowledged export is stored after the restart, exports refused during
/// the drain are absent and none is half-applied.
#[test]
fn sigterm_under_load_exits_within_the_shutdown_timeout() {
    const TIMEOUT: Duration = Duration::from_secs(3);
    // Flushing the store and the index, and the runtime's own shutdown.
    const MARGIN: Duration = Duration::from_secs(4);
    let config = SoakConfig {
        rounds: 3,
        clients: CLIENTS.to_vec(),
        run: Duration::from_millis(500)..Duration::from_millis(1500),
        catch_up_limit: Duration::from_secs(30),
    };
    let mut soak = Soak::start(config, &["--shutdown-timeout", "3s"]);
    for round in 0..3 {
        let trickler = Trickler::start(soak.server.http_port);
        let report = soak.round(round, Stop::Term { within: TIMEOUT + MARGIN });
        eprintln!(
            "round {round}: exit after {:?}, {} exports, {} events acked, {} refused, {} unanswered ({} stored)",
            report.exit.unwrap(),
            report.exports,
            report.acked_events,
            report.refused,
            report.unanswered,
            report.unanswered_stored
        );
        assert_no_violations(&report);
        assert!(report.acked_events > 0, "the clients exported");
        // The trickled request was cut off, not acknowledged.
        let answer = trickler.finish();
        assert!(!answer.starts_with("HTTP/1.1 200"), "the trickled export was answered: {answer}");
        // It held the drain until the deadline.
        assert!(report.exit.unwrap() >= TIMEOUT, "exit before the deadline: {:?}", report.exit);
    }
    soak.final_check();
}

/// An OTLP/HTTP export whose body arrives a byte every 100 ms.
struct Trickler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<String>,
}

impl Trickler {
    fn start(port: u16) -> Trickler {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let head = "POST /v1/traces HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/x-protobuf\r\n\
                    content-length: 100000\r\n\r\n";
        stream.write_all(head.as_bytes()).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let halt = stop.clone();
        let thread = std::thread::spawn(move || {
            while !halt.load(Ordering::SeqCst) && stream.write_all(&[0x0a]).is_ok() {
                std::thread::sleep(Duration::from_millis(100));
            }
            stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer);
            String::from_utf8_lossy(&answer).into_owned()
        });
        // Let the request in before the stop.
        std::thread::sleep(Duration::from_millis(200));
        Trickler { stop, thread }
    }

    /// Stops trickling; returns what the server answered, if anything.
    fn finish(self) -> String {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap()
    }
}
