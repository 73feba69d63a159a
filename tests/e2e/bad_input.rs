//! Every kind of bad input gets a clear error, the server keeps serving,
//! and nothing acknowledged before is lost.
#![allow(clippy::unwrap_used)]

use faultline_tests::otlp::{
    error_log, exception_span, gzip, kv, logs_request, post, post_protobuf, traces_request,
};
use faultline_tests::Server;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use serde_json::Value;

const LIMIT: usize = 64 * 1024;

/// `google.rpc.Status`, as the OTLP/HTTP spec requires for error bodies.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

fn start() -> Server {
    Server::start_with(&["--max-request-bytes", &LIMIT.to_string(), "--max-attributes", "64"])
}

/// One good export first, so every later case can check it is still there.
fn seed(server: &Server) {
    let req = traces_request("shop", vec![exception_span("GET /a", "SeedError", "seed", vec![])]);
    let (status, _) = post_protobuf(&server.http_url("/v1/traces"), &req).unwrap();
    assert_eq!(status, 200);
}

fn still_serving(server: &Server) {
    seed(server);
    let groups = server.groups();
    let seed_group = groups.iter().find(|g| g["title"].as_str().unwrap().starts_with("SeedError")).unwrap();
    assert!(seed_group["count"].as_u64().unwrap() >= 2, "earlier acknowledged events are kept");
}

#[test]
fn http_rejects_bad_bodies_with_clear_status() {
    let server = start();
    seed(&server);
    let traces = server.http_url("/v1/traces");

    // Malformed protobuf: 400 with a protobuf google.rpc.Status.
    let (status, body) =
        post(&traces, "application/x-protobuf", vec![0x0a, 0xff, 0xff, 0xff, 0x0f], None).unwrap();
    assert_eq!(status, 400);
    let rpc = RpcStatus::decode(body.as_slice()).unwrap();
    assert_eq!(rpc.code, 3);
    assert!(!rpc.message.is_empty());

    // Malformed JSON: 400 with a JSON Status saying what is wrong.
    let (status, body) = post(&traces, "application/json", b"{\"resourceSpans\": [".to_vec(), None).unwrap();
    assert_eq!(status, 400);
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["code"], 3);
    assert!(!json["message"].as_str().unwrap().is_empty());

    // Wrong JSON types and bad ids are malformed too.
    let wrong = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"not-hex","name":"x"}]}]}]}"#;
    assert_eq!(post(&traces, "application/json", wrong.to_vec(), None).unwrap().0, 400);

    // Invalid UTF-8: in a protobuf string and in a JSON body.
    let mut bad_utf8 =
        traces_request("shop", vec![exception_span("XNAMEX", "E", "m", vec![])]).encode_to_vec();
    let at = bad_utf8.windows(6).position(|w| w == b"XNAMEX").unwrap();
    bad_utf8[at] = 0xff;
    assert_eq!(post(&traces, "application/x-protobuf", bad_utf8, None).unwrap().0, 400);
    let json_bad_utf8 =
        b"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"\xff\xfe\"}]}]}]}".to_vec();
    assert_eq!(post(&traces, "application/json", json_bad_utf8, None).unwrap().0, 400);

    // Wrong content type: 415.
    assert_eq!(post(&traces, "text/plain", b"hello".to_vec(), None).unwrap().0, 415);
    assert_eq!(post(&traces, "", b"hello".to_vec(), None).unwrap().0, 415);
    // Unsupported content encoding: 415. Corrupt gzip: 400.
    assert_eq!(post(&traces, "application/json", b"{}".to_vec(), Some("br")).unwrap().0, 415);
    assert_eq!(post(&traces, "application/json", b"not gzip".to_vec(), Some("gzip")).unwrap().0, 400);

    // A method other than POST: 405.
    let get = reqwest::blocking::get(&traces).unwrap();
    assert_eq!(get.status().as_u16(), 405);

    // Empty requests succeed, in both formats, compressed or not.
    assert_eq!(post(&traces, "application/x-protobuf", Vec::new(), None).unwrap().0, 200);
    assert_eq!(post(&traces, "application/json", b"{}".to_vec(), None).unwrap().0, 200);
    assert_eq!(post(&traces, "application/json", gzip(b"{}"), Some("gzip")).unwrap().0, 200);
    assert_eq!(post(&server.http_url("/v1/logs"), "application/json", b"{}".to_vec(), None).unwrap().0, 200);
    assert_eq!(
        post(&server.http_url("/v1/metrics"), "application/x-protobuf", Vec::new(), None).unwrap().0,
        200
    );

    still_serving(&server);
}

#[test]
fn oversize_bodies_are_413_before_and_after_gzip() {
    let server = start();
    seed(&server);
    let traces = server.http_url("/v1/traces");
    let big = "x".repeat(LIMIT * 2);
    let req = traces_request("shop", vec![exception_span("GET /big", "E", &big, vec![])]);
    let (status, body) = post_protobuf(&traces, &req).unwrap();
    assert_eq!(status, 413);
    assert_eq!(RpcStatus::decode(body.as_slice()).unwrap().code, 8);

    // A gzip bomb: tiny on the wire, far over the limit once inflated.
    let bomb = gzip(&vec![b' '; 50 * 1024 * 1024]);
    assert!(bomb.len() < LIMIT);
    let (status, _) = post(&traces, "application/json", bomb, Some("gzip")).unwrap();
    assert_eq!(status, 413);

    // Under the limit compressed but over it inflated: still 413.
    let inflated = serde_json::to_vec(&serde_json::json!({"resourceSpans": [], "pad": big})).unwrap();
    assert_eq!(post(&traces, "application/json", gzip(&inflated), Some("gzip")).unwrap().0, 413);
    still_serving(&server);
}

#[test]
fn items_over_limits_are_partial_success_and_the_rest_is_kept() {
    let server = start();
    let many: Vec<_> = (0..1000).map(|i| kv(&format!("attr.{i}"), "v")).collect();
    let req = traces_request(
        "shop",
        vec![
            exception_span("GET /huge", "HugeError", "too many", many),
            exception_span("GET /ok", "KeptError", "fine", vec![]),
        ],
    );
    let (status, body) = post_protobuf(&server.http_url("/v1/traces"), &req).unwrap();
    assert_eq!(status, 200);
    let response = ExportTraceServiceResponse::decode(body.as_slice()).unwrap();
    let partial = response.partial_success.unwrap();
    assert_eq!(partial.rejected_spans, 1);
    assert!(partial.error_message.contains("attributes"), "{}", partial.error_message);

    // Logs, in JSON: the rejection is reported in JSON.
    let many: Vec<_> = (0..500).map(|i| kv(&format!("k{i}"), "v")).collect();
    let logs = logs_request("shop", vec![error_log("too many", many), error_log("kept log", vec![])]);
    let json = serde_json::to_vec(&logs).unwrap();
    let (status, body) = post(&server.http_url("/v1/logs"), "application/json", json, None).unwrap();
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        answer["partialSuccess"]["rejectedLogRecords"]
            .as_i64()
            .or_else(|| answer["partialSuccess"]["rejectedLogRecords"].as_str().and_then(|s| s.parse().ok())),
        Some(1)
    );

    let groups = server.groups();
    let titles: Vec<&str> = groups.iter().map(|g| g["title"].as_str().unwrap()).collect();
    assert!(titles.iter().any(|t| t.starts_with("KeptError")), "{titles:?}");
    assert!(titles.iter().any(|t| t.contains("kept log")), "{titles:?}");
    assert!(!titles.iter().any(|t| t.starts_with("HugeError")), "{titles:?}");
}

#[test]
fn full_queue_answers_503_with_retry_after_and_loses_nothing_acknowledged() {
    let server = Server::start_with(&["--queue-depth", "1"]);
    let url = server.http_url("/v1/traces");
    let mut saw_busy = false;
    let mut acked = 0u64;
    for _round in 0..10 {
        let handles: Vec<_> = (0..32)
            .map(|t| {
                let url = url.clone();
                std::thread::spawn(move || {
                    let spans = (0..50)
                        .map(|i| exception_span("GET /q", "QueueError", &format!("n {t} {i}"), vec![]))
                        .collect();
                    let body = traces_request("queue", spans).encode_to_vec();
                    let response = reqwest::blocking::Client::new()
                        .post(&url)
                        .header("content-type", "application/x-protobuf")
                        .body(body)
                        .send()
                        .unwrap();
                    (
                        response.status().as_u16(),
                        response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string()),
                    )
                })
            })
            .collect();
        for h in handles {
            match h.join().unwrap() {
                (200, _) => acked += 50,
                (503, retry_after) => {
                    assert!(retry_after.is_some(), "503 must carry Retry-After");
                    saw_busy = true;
                }
                other => panic!("unexpected answer {other:?}"),
            }
        }
        if saw_busy {
            break;
        }
    }
    assert!(saw_busy, "32 concurrent exports against a queue of 1 never got 503");
    let count = server.groups().iter().map(|g| g["count"].as_u64().unwrap()).sum::<u64>();
    assert_eq!(count, acked, "exactly the acknowledged events are stored");
}

#[test]
fn bad_queries_and_api_misuse_are_400_or_404() {
    let server = start();
    seed(&server);
    let (status, body) = server.get_raw("/api/v1/search?q=type:(");
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("query"), "{body}");
    assert_eq!(server.get_raw("/api/v1/search?q=status:abc").0, 400);
    assert_eq!(server.get_raw("/api/v1/search?from=yesterday").0, 400);
    assert_eq!(server.get_raw("/api/v1/search?limit=0").0, 400);
    assert_eq!(server.get_raw("/api/v1/search?cursor=xyz").0, 400);
    assert_eq!(server.get_raw("/api/v1/groups?status=open").0, 400);
    assert_eq!(server.get_raw("/api/v1/groups?sort=random").0, 400);
    assert_eq!(server.get_raw("/api/v1/groups?q=type:(").0, 400);
    assert_eq!(server.get_raw("/api/v1/groups/999999").0, 404);
    assert_eq!(server.get_raw("/api/v1/groups/abc").0, 404);
    let client = reqwest::blocking::Client::new();
    let patch = |body: &str| {
        client
            .patch(server.api_url("/api/v1/groups/1"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(patch("{\"status\": \"closed\"}"), 400);
    assert_eq!(patch("not json"), 400);
    still_serving(&server);
}

mod grpc {
    use super::*;
    use tonic::codec::CompressionEncoding;
    use tonic::Code;

    /// A message with the request's first field, so arbitrary bytes can be sent.
    #[derive(Clone, PartialEq, prost::Message)]
    struct Raw {
        #[prost(bytes = "vec", tag = "1")]
        data: Vec<u8>,
    }

    async fn export_raw(server: &Server, data: Vec<u8>, gzip: bool) -> Result<(), tonic::Status> {
        let channel =
            tonic::transport::Endpoint::from_shared(server.grpc_endpoint()).unwrap().connect().await.unwrap();
        let mut client = tonic::client::Grpc::new(channel);
        if gzip {
            client = client.send_compressed(CompressionEncoding::Gzip);
        }
        client.ready().await.unwrap();
        let codec = tonic_prost::ProstCodec::<Raw, ExportTraceServiceResponse>::default();
        let path = http_path("/opentelemetry.proto.collector.trace.v1.TraceService/Export");
        client.unary(tonic::Request::new(Raw { data }), path, codec).await.map(|_| ())
    }

    fn http_path(p: &'static str) -> tonic::codegen::http::uri::PathAndQuery {
        tonic::codegen::http::uri::PathAndQuery::from_static(p)
    }

    #[test]
    fn grpc_maps_decode_and_size_errors_to_otlp_codes() {
        let server = start();
        seed(&server);
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let err = export_raw(&server, vec![0xff, 0xff, 0xff], false).await.unwrap_err();
            assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
            let err = export_raw(&server, vec![7; LIMIT * 2], false).await.unwrap_err();
            assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
            let err = export_raw(&server, vec![0; 8 * LIMIT], true).await.unwrap_err();
            assert_eq!(err.code(), Code::ResourceExhausted, "over the limit after gzip: {err:?}");
        });
        still_serving(&server);
    }

    /// Opens an OTLP/HTTP export that declares `declared` bytes and sends
    /// only a few: the server admits it and waits for the rest, so its
    /// bytes stay in flight until the connection is dropped.
    fn hold_export_open(server: &Server, declared: usize) -> std::net::TcpStream {
        use std::io::Write;
        let url = server.http_url("/v1/traces");
        let authority = url.trim_start_matches("http://").split('/').next().unwrap().to_string();
        let mut stream = std::net::TcpStream::connect(&authority).unwrap();
        let head = format!(
            "POST /v1/traces HTTP/1.1\r\nHost: {authority}\r\n\
             Content-Type: application/x-protobuf\r\nContent-Length: {declared}\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&[0x0a; 16]).unwrap();
        stream.flush().unwrap();
        stream
    }

    fn post_malformed(server: &Server) -> (u16, Option<String>) {
        let response = reqwest::blocking::Client::new()
            .post(server.http_url("/v1/traces"))
            .header("content-type", "application/x-protobuf")
            .body(vec![0xff, 0xff, 0xff])
            .send()
            .unwrap();
        let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
        (response.status().as_u16(), retry_after)
    }

    fn refusals(server: &Server, reason: &str) -> u64 {
        let text = reqwest::blocking::get(server.api_url("/metrics")).unwrap().text().unwrap();
        let series = format!("faultline_exports_refused_total{{reason=\"{reason}\"}} ");
        text.lines().find_map(|l| l.strip_prefix(series.as_str())).map_or(0, |n| n.parse().unwrap())
    }

    /// With the in-flight byte budget taken by an export still being
    /// received, a malformed export is refused as busy (retryable), not as
    /// malformed: the server did not decode it. Once the budget is free
    /// again the same body is malformed, and every acknowledged event is
    /// stored.
    #[test]
    fn a_busy_server_refuses_before_decoding_over_both_transports() {
        let server = Server::start_with(&["--max-inflight-bytes", "4096"]);
        seed(&server);
        let held = hold_export_open(&server, 64 * 1024);
        let mut answer = (0, None);
        faultline_tests::wait_until(
            std::time::Duration::from_secs(10),
            || {
                answer = post_malformed(&server);
                answer.0 != 400
            },
            || "the held export was never admitted".to_string(),
        );
        assert_eq!(answer, (503, Some("1".to_string())), "refused undecoded, with Retry-After");
        let malformed = refusals(&server, "malformed");
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let err = runtime.block_on(export_raw(&server, vec![0xff, 0xff, 0xff], false)).unwrap_err();
        assert_eq!(err.code(), Code::Unavailable, "{err:?}");
        assert!(refusals(&server, "inflight_bytes") >= 2);
        assert_eq!(refusals(&server, "malformed"), malformed, "nothing was decoded");

        drop(held);
        faultline_tests::wait_until(
            std::time::Duration::from_secs(10),
            || post_malformed(&server).0 == 400,
            || "the held export's bytes were never released".to_string(),
        );
        let err = runtime.block_on(export_raw(&server, vec![0xff, 0xff, 0xff], false)).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        seed(&server);
        let count = server.groups().iter().map(|g| g["count"].as_u64().unwrap()).sum::<u64>();
        assert_eq!(count, 2, "both acknowledged exports are stored");
    }
}
