//! OTLP exports, as the two transports hand them to the pipeline: decode,
//! extract error events, health samples and histogram buckets, and group
//! the events found.

use faultline_grouping::Grouper;
use faultline_otlp::decode::{decode, Format};
use faultline_otlp::{
    extract_logs, extract_traces, span_samples, ExportLogsServiceRequest, ExportMetricsServiceRequest,
    ExportTraceServiceRequest, Limits, MetricsHealth,
};

/// A protobuf body, read as each of the three export requests: the
/// bytes do not say which service they were sent to, and one input then
/// covers every decoder.
pub fn otlp_protobuf(data: &[u8]) {
    export(data, Format::Protobuf);
}

/// An OTLP/JSON body, read as each of the three export requests.
pub fn otlp_json(data: &[u8]) {
    export(data, Format::Json);
}

/// Fixed times keep a run deterministic, so a finding replays.
const RECEIVED_AT: i64 = 1_700_000_000_000_000_000;

fn export(data: &[u8], format: Format) {
    let limits = Limits::default();
    let grouper = Grouper::new();
    if let Ok(req) = decode::<ExportTraceServiceRequest>(data, format) {
        let extraction = extract_traces(&req, &limits, RECEIVED_AT);
        extraction.events.iter().for_each(|e| drop(grouper.group(e)));
        drop(span_samples(&req));
    }
    if let Ok(req) = decode::<ExportLogsServiceRequest>(data, format) {
        let extraction = extract_logs(&req, &limits, RECEIVED_AT);
        extraction.events.iter().for_each(|e| drop(grouper.group(e)));
    }
    if let Ok(req) = decode::<ExportMetricsServiceRequest>(data, format) {
        // Started at 0: every cumulative series counts in full the first
        // time; the second export of the same points takes the delta path.
        let mut health = MetricsHealth::with_max_series(0, 4);
        drop(health.buckets(&req));
        drop(health.buckets(&req));
    }
}
