//! Export payloads, built once and stamped many times.
//!
//! A template is an `ExportTraceServiceRequest` encoded once with random
//! placeholder ids and times; the byte offsets of those placeholders are
//! recorded. Each export copies the bytes and overwrites, in place, every
//! span's trace id, span id, start, end and exception time (all fixed-size
//! protobuf fields), so the ids are unique and the times current without
//! encoding protobuf again: the generator must not be the bottleneck.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, status, ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;

use crate::rng::Rng;
use crate::zipf::Zipf;

/// The resource attribute every generated span carries with the run id, so
/// `--verify` counts only this run's events (`loadgen.run:<id>`).
pub const RUN_ATTRIBUTE: &str = "loadgen.run";

#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("placeholder {what} of span {span} not found in the encoded template")]
    PlaceholderMissing { what: &'static str, span: usize },
}

/// What the payloads look like.
#[derive(Debug, Clone)]
pub struct PayloadSpec {
    pub spans_per_export: usize,
    /// Share of spans that fail (exception event, status ERROR, HTTP 500).
    pub error_ratio: f64,
    pub services: usize,
    pub routes: usize,
    /// Distinct failure kinds, each its own fingerprint.
    pub kinds: usize,
    pub zipf_exponent: f64,
    /// Frames per stack trace.
    pub stack_depth: usize,
    pub span_attributes: usize,
    /// At least 2: `service.name` and the run id are always there.
    pub resource_attributes: usize,
    pub run_id: String,
}

/// Where one span's variable fields sit in the encoded bytes.
#[derive(Debug, Clone)]
struct SpanSlots {
    trace_id: usize,
    span_id: usize,
    start: usize,
    end: usize,
    exception_time: Option<usize>,
    duration_nanos: u64,
}

/// One pre-encoded export.
#[derive(Debug, Clone)]
pub struct Template {
    bytes: Vec<u8>,
    slots: Vec<SpanSlots>,
    /// Error events the server should make of one export of this template.
    pub error_events: u64,
    pub spans: u64,
}

/// A span before encoding, with its placeholders.
struct Planned {
    service: usize,
    span: Span,
    markers: Markers,
    duration_nanos: u64,
}

struct Markers {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    start: [u8; 8],
    end: [u8; 8],
    exception_time: Option<[u8; 8]>,
}

impl Template {
    /// Builds and encodes one export of `spec.spans_per_export` spans.
    pub fn build(spec: &PayloadSpec, zipf: &Zipf, rng: &mut Rng) -> Result<Template, PayloadError> {
        let errors = error_count(spec.spans_per_export, spec.error_ratio, rng);
        let mut failing = vec![false; spec.spans_per_export];
        for slot in failing.iter_mut().take(errors) {
            *slot = true;
        }
        shuffle(&mut failing, rng);
        let planned: Vec<Planned> = failing.iter().map(|fails| plan_span(spec, zipf, *fails, rng)).collect();
        let (request, order) = assemble(spec, planned);
        let bytes = request.encode_to_vec();
        let slots = locate(&bytes, &order)?;
        Ok(Template { bytes, slots, error_events: errors as u64, spans: spec.spans_per_export as u64 })
    }

    /// A fresh export: new ids for every span, spans ending about `now`.
    pub fn stamp(&self, rng: &mut Rng, now_nanos: u64) -> Vec<u8> {
        let mut out = self.bytes.clone();
        for (i, slot) in self.slots.iter().enumerate() {
            rng.fill_id(&mut out[slot.trace_id..slot.trace_id + 16]);
            rng.fill_id(&mut out[slot.span_id..slot.span_id + 8]);
            // A microsecond apart so spans of one export are not all simultaneous.
            let end = now_nanos.saturating_sub(i as u64 * 1_000);
            let start = end.saturating_sub(slot.duration_nanos);
            out[slot.start..slot.start + 8].copy_from_slice(&start.to_le_bytes());
            out[slot.end..slot.end + 8].copy_from_slice(&end.to_le_bytes());
            if let Some(at) = slot.exception_time {
                let thrown = end.saturating_sub(slot.duration_nanos / 10);
                out[at..at + 8].copy_from_slice(&thrown.to_le_bytes());
            }
        }
        out
    }

    pub fn encoded_len(&self) -> usize {
        self.bytes.len()
    }

    /// The encoded template, placeholders and all: what an export of it
    /// costs to decode.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// How many of `n` spans fail: the ratio's whole part, plus one with the
/// probability of its fraction, so the ratio holds on average across
/// templates even for small exports.
fn error_count(n: usize, ratio: f64, rng: &mut Rng) -> usize {
    let exact = n as f64 * ratio.clamp(0.0, 1.0);
    let whole = exact.floor();
    let extra = usize::from(rng.unit() < exact - whole);
    (whole as usize + extra).min(n)
}

fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i + 1));
    }
}

const SERVICES: [&str; 10] = [
    "checkout",
    "payments",
    "users",
    "catalog",
    "search",
    "orders",
    "shipping",
    "auth",
    "inventory",
    "notify",
];
const RESOURCES: [&str; 8] =
    ["users", "orders", "carts", "items", "invoices", "sessions", "reviews", "coupons"];
const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
const EXCEPTIONS: [(&str, &str); 10] = [
    ("KeyError", "'order {n}'"),
    ("ValueError", "invalid literal for int() with base 10: '{n}x'"),
    ("TimeoutError", "timed out after {n} ms waiting for pool"),
    ("ConnectionError", "connection reset by peer (attempt {n})"),
    ("PermissionError", "user {n} may not access this resource"),
    ("RuntimeError", "cart {n} is locked"),
    ("ZeroDivisionError", "division by zero in bucket {n}"),
    ("AttributeError", "'NoneType' object has no attribute 'id{n}'"),
    ("TypeError", "unsupported operand type(s) for +: 'int' and 'str' ({n})"),
    ("IndexError", "list index {n} out of range"),
];

fn service_name(i: usize) -> String {
    match SERVICES.get(i) {
        Some(name) => (*name).to_string(),
        None => format!("service-{i}"),
    }
}

fn route(r: usize) -> (String, &'static str) {
    let resource = RESOURCES[r % RESOURCES.len()];
    let path = if r < RESOURCES.len() {
        format!("/api/v1/{resource}/{{id}}")
    } else {
        format!("/api/v{}/{resource}/{{id}}", 1 + r / RESOURCES.len())
    };
    (path, METHODS[r % METHODS.len()])
}

fn kv_str(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

fn kv_int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(any_value::Value::IntValue(value)) }),
        ..Default::default()
    }
}

fn kv_bool(key: &str, value: bool) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(any_value::Value::BoolValue(value)) }),
        ..Default::default()
    }
}

/// `count` span attributes, the HTTP server ones first (the server reads
/// method, route and status for health and titles), then fillers.
fn span_attributes(count: usize, route: &str, method: &str, status: i64, rng: &mut Rng) -> Vec<KeyValue> {
    let user = rng.below(100_000) as i64;
    let mut attrs = vec![
        kv_str("http.request.method", method),
        kv_str("http.route", route),
        kv_int("http.response.status_code", status),
        kv_str("url.scheme", "https"),
        kv_str("server.address", "api.example.com"),
        kv_str("network.protocol.version", "1.1"),
        kv_str("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) loadgen"),
        kv_int("user.id", user),
        kv_str("client.address", "10.0.0.17"),
        kv_int("server.port", 443),
    ];
    attrs.truncate(count);
    for i in attrs.len()..count {
        attrs.push(kv_str(&format!("loadgen.attr{i}"), format!("value-{}", rng.below(1000))));
    }
    attrs
}

/// `count` (at least 2) resource attributes of a service.
fn resource_attributes(count: usize, service: usize, run_id: &str) -> Vec<KeyValue> {
    let mut attrs = vec![
        kv_str("service.name", service_name(service)),
        kv_str(RUN_ATTRIBUTE, run_id),
        kv_str("service.version", format!("1.{}.0", service % 7)),
        kv_str("deployment.environment.name", "prod"),
        kv_str("host.name", format!("{}-{}", service_name(service), service % 3)),
        kv_str("telemetry.sdk.language", "python"),
        kv_str("telemetry.sdk.name", "opentelemetry"),
        kv_int("process.pid", 1000 + service as i64),
    ];
    let count = count.max(2);
    attrs.truncate(count);
    for i in attrs.len()..count {
        attrs.push(kv_str(&format!("loadgen.res{i}"), format!("r{i}")));
    }
    attrs
}

/// A Python traceback of `depth` frames for failure kind `kind`: framework
/// frames outside the app, then app frames; the innermost frame's function
/// is the kind's own, so each kind groups into its own fingerprint.
pub fn python_stacktrace(kind: usize, depth: usize, exception: &str, message: &str) -> String {
    const OUTER: [(&str, &str, &str); 4] = [
        (
            "/usr/local/lib/python3.12/site-packages/flask/app.py",
            "full_dispatch_request",
            "rv = self.dispatch_request()",
        ),
        (
            "/usr/local/lib/python3.12/site-packages/flask/app.py",
            "dispatch_request",
            "return self.ensure_sync(self.view_functions[rule.endpoint])(**view_args)",
        ),
        ("/app/shop/api/views.py", "handle", "return service.run(request)"),
        ("/app/shop/services/base.py", "run", "result = self.step(payload)"),
    ];
    let depth = depth.max(1);
    let mut out = String::with_capacity(64 + depth * 120);
    out.push_str("Traceback (most recent call last):\n");
    for i in 0..depth - 1 {
        let (file, func, line) = OUTER[i % OUTER.len()];
        out.push_str(&format!("  File \"{file}\", line {}, in {func}\n    {line}\n", 40 + i * 7));
    }
    out.push_str(&format!(
        "  File \"/app/shop/failures/kind_{}.py\", line {}, in fail_{kind}\n    raise {exception}(detail)\n",
        kind % 50,
        10 + kind % 300
    ));
    out.push_str(&format!("{exception}: {message}"));
    out
}

fn plan_span(spec: &PayloadSpec, zipf: &Zipf, fails: bool, rng: &mut Rng) -> Planned {
    let mut markers =
        Markers { trace_id: [0; 16], span_id: [0; 8], start: [0; 8], end: [0; 8], exception_time: None };
    rng.fill_id(&mut markers.trace_id);
    rng.fill_id(&mut markers.span_id);
    rng.fill_id(&mut markers.start);
    rng.fill_id(&mut markers.end);
    let duration_nanos = 1_000_000 + rng.below(200) as u64 * 1_000_000;
    let route_index = rng.below(spec.routes.max(1));
    let (route, method) = route(route_index);
    let mut span = Span {
        trace_id: markers.trace_id.to_vec(),
        span_id: markers.span_id.to_vec(),
        name: format!("{method} {route}"),
        kind: span::SpanKind::Server as i32,
        start_time_unix_nano: u64::from_le_bytes(markers.start),
        end_time_unix_nano: u64::from_le_bytes(markers.end),
        ..Default::default()
    };
    let service;
    if fails {
        let kind = zipf.sample(rng);
        // A kind belongs to one service, so kinds and groups correspond.
        service = kind % spec.services.max(1);
        let (exception, template) = EXCEPTIONS[kind % EXCEPTIONS.len()];
        let message = template.replace("{n}", &rng.below(1_000_000).to_string());
        let mut time = [0; 8];
        rng.fill_id(&mut time);
        markers.exception_time = Some(time);
        span.attributes = span_attributes(spec.span_attributes, &route, method, 500, rng);
        span.status = Some(Status {
            code: status::StatusCode::Error as i32,
            message: format!("{exception}: {message}"),
        });
        span.events = vec![span::Event {
            time_unix_nano: u64::from_le_bytes(time),
            name: "exception".into(),
            attributes: vec![
                kv_str("exception.type", exception),
                kv_str("exception.message", message.clone()),
                kv_str(
                    "exception.stacktrace",
                    python_stacktrace(kind, spec.stack_depth, exception, &message),
                ),
                kv_bool("exception.escaped", true),
            ],
            ..Default::default()
        }];
    } else {
        service = rng.below(spec.services.max(1));
        span.attributes = span_attributes(spec.span_attributes, &route, method, 200, rng);
    }
    Planned { service, span, markers, duration_nanos }
}

/// The request, one `ResourceSpans` per service present (as a collector's
/// batch would send), and the spans' markers in encoding order.
fn assemble(spec: &PayloadSpec, planned: Vec<Planned>) -> (ExportTraceServiceRequest, Vec<(Markers, u64)>) {
    let mut by_service: BTreeMap<usize, Vec<Planned>> = BTreeMap::new();
    for p in planned {
        by_service.entry(p.service).or_default().push(p);
    }
    let mut order = Vec::new();
    let mut resource_spans = Vec::new();
    for (service, spans) in by_service {
        let mut encoded = Vec::with_capacity(spans.len());
        for p in spans {
            order.push((p.markers, p.duration_nanos));
            encoded.push(p.span);
        }
        resource_spans.push(ResourceSpans {
            resource: Some(Resource {
                attributes: resource_attributes(spec.resource_attributes, service, &spec.run_id),
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "opentelemetry.instrumentation.flask".into(),
                    version: "0.48b0".into(),
                    ..Default::default()
                }),
                spans: encoded,
                ..Default::default()
            }],
            ..Default::default()
        });
    }
    (ExportTraceServiceRequest { resource_spans }, order)
}

/// Finds every span's placeholders. Spans are encoded in order and a span's
/// trace id comes before its other fields (prost writes fields in tag
/// order: trace_id 1, span_id 2, start 7, end 8, events 11), so one forward
/// scan finds them all. Random 8- and 16-byte markers do not occur by chance.
fn locate(bytes: &[u8], order: &[(Markers, u64)]) -> Result<Vec<SpanSlots>, PayloadError> {
    let mut cursor = 0;
    let mut slots = Vec::with_capacity(order.len());
    for (span, (m, duration_nanos)) in order.iter().enumerate() {
        let find = |what: &'static str, from: usize, marker: &[u8]| {
            find_from(bytes, from, marker).ok_or(PayloadError::PlaceholderMissing { what, span })
        };
        let trace_id = find("trace_id", cursor, &m.trace_id)?;
        let span_id = find("span_id", trace_id, &m.span_id)?;
        let start = find("start", span_id, &m.start)?;
        let end = find("end", start, &m.end)?;
        let exception_time = match &m.exception_time {
            Some(t) => Some(find("exception time", end, t)?),
            None => None,
        };
        cursor = exception_time.unwrap_or(end) + 8;
        slots.push(SpanSlots {
            trace_id,
            span_id,
            start,
            end,
            exception_time,
            duration_nanos: *duration_nanos,
        });
    }
    Ok(slots)
}

fn find_from(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    haystack.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn spec(spans: usize, ratio: f64) -> PayloadSpec {
        PayloadSpec {
            spans_per_export: spans,
            error_ratio: ratio,
            services: 3,
            routes: 5,
            kinds: 20,
            zipf_exponent: 1.1,
            stack_depth: 6,
            span_attributes: 8,
            resource_attributes: 5,
            run_id: "lgtest".into(),
        }
    }

    fn decode(bytes: &[u8]) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest::decode(bytes).expect("a stamped export decodes")
    }

    fn spans(req: &ExportTraceServiceRequest) -> Vec<&Span> {
        req.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans).collect()
    }

    #[test]
    fn error_ratio_is_honoured_exactly_per_export_and_on_average() {
        let s = spec(512, 0.2);
        let zipf = Zipf::new(s.kinds, s.zipf_exponent);
        let mut rng = Rng::new(5);
        let mut errors = 0;
        for _ in 0..20 {
            let t = Template::build(&s, &zipf, &mut rng).expect("template");
            let req = decode(&t.stamp(&mut rng, 1_700_000_000_000_000_000));
            let failing =
                spans(&req).iter().filter(|sp| sp.events.iter().any(|e| e.name == "exception")).count()
                    as u64;
            assert_eq!(failing, t.error_events);
            assert!(t.error_events == 102 || t.error_events == 103, "{}", t.error_events);
            errors += t.error_events;
        }
        let ratio = errors as f64 / (20.0 * 512.0);
        assert!((ratio - 0.2).abs() < 0.002, "ratio {ratio}");
        // The extremes.
        assert_eq!(Template::build(&spec(64, 0.0), &zipf, &mut rng).expect("t").error_events, 0);
        assert_eq!(Template::build(&spec(64, 1.0), &zipf, &mut rng).expect("t").error_events, 64);
    }

    #[test]
    fn every_stamp_gives_every_span_new_ids_and_current_times() {
        let s = spec(256, 0.1);
        let zipf = Zipf::new(s.kinds, s.zipf_exponent);
        let mut rng = Rng::new(11);
        let t = Template::build(&s, &zipf, &mut rng).expect("template");
        let now = 1_700_000_000_000_000_000;
        let mut trace_ids = HashSet::new();
        let mut span_ids = HashSet::new();
        for _ in 0..3 {
            let req = decode(&t.stamp(&mut rng, now));
            for sp in spans(&req) {
                assert!(trace_ids.insert(sp.trace_id.clone()), "trace id repeated");
                assert!(span_ids.insert(sp.span_id.clone()), "span id repeated");
                assert!(sp.end_time_unix_nano <= now && sp.end_time_unix_nano > now - 1_000_000_000);
                assert!(sp.start_time_unix_nano < sp.end_time_unix_nano);
                for e in &sp.events {
                    assert!(
                        e.time_unix_nano >= sp.start_time_unix_nano
                            && e.time_unix_nano <= sp.end_time_unix_nano
                    );
                }
            }
        }
        assert_eq!(trace_ids.len(), 3 * 256);
    }

    #[test]
    fn attributes_counts_run_id_and_failure_shape() {
        let s = spec(200, 0.5);
        let zipf = Zipf::new(s.kinds, s.zipf_exponent);
        let mut rng = Rng::new(2);
        let t = Template::build(&s, &zipf, &mut rng).expect("template");
        let req = decode(&t.stamp(&mut rng, 1_700_000_000_000_000_000));
        for rs in &req.resource_spans {
            let attrs = &rs.resource.as_ref().expect("resource").attributes;
            assert_eq!(attrs.len(), 5);
            assert!(attrs.iter().any(|a| a.key == RUN_ATTRIBUTE));
        }
        for sp in spans(&req) {
            assert_eq!(sp.attributes.len(), 8);
            let failing = !sp.events.is_empty();
            let code = sp.status.as_ref().map(|st| st.code).unwrap_or(0);
            assert_eq!(failing, code == status::StatusCode::Error as i32);
            if failing {
                let trace = sp.events[0].attributes.iter().find(|a| a.key == "exception.stacktrace");
                assert!(trace.is_some());
            }
        }
    }

    #[test]
    fn python_trace_has_the_depth_and_the_kind_in_its_last_frame() {
        let trace = python_stacktrace(17, 5, "KeyError", "'order 1'");
        assert!(trace.starts_with("Traceback (most recent call last):\n"));
        assert_eq!(trace.matches("  File \"").count(), 5);
        assert!(trace.contains("in fail_17\n"));
        assert!(trace.ends_with("KeyError: 'order 1'"));
    }
}
