//! Which services an export sends for: the `service.name` of each of its
//! resources (`unknown_service` when unset, as extraction names it), so
//! that a token pinned to services can be held to them before anything
//! of the export is committed.

use std::collections::BTreeSet;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::Principal;

pub fn of_traces(req: &ExportTraceServiceRequest) -> BTreeSet<String> {
    req.resource_spans.iter().map(|r| service(r.resource.as_ref())).collect()
}

pub fn of_logs(req: &ExportLogsServiceRequest) -> BTreeSet<String> {
    req.resource_logs.iter().map(|r| service(r.resource.as_ref())).collect()
}

pub fn of_metrics(req: &ExportMetricsServiceRequest) -> BTreeSet<String> {
    req.resource_metrics.iter().map(|r| service(r.resource.as_ref())).collect()
}

fn service(resource: Option<&Resource>) -> String {
    resource
        .into_iter()
        .flat_map(|r| &r.attributes)
        .find(|kv| kv.key == "service.name")
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) if !s.is_empty() => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_else(|| faultline_otlp::UNKNOWN_SERVICE.to_string())
}

/// The refusal message when `principal` may not send for one of `services`.
pub fn refusal(principal: Option<&Principal>, services: &BTreeSet<String>) -> Option<String> {
    let principal = principal?;
    let service = principal.forbidden_service(services.iter().map(String::as_str))?;
    Some(format!(
        "the token {} may not send for the service {service:?} (it may send for: {})",
        principal.id,
        principal.services.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_model::TokenScope;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
    use opentelemetry_proto::tonic::trace::v1::ResourceSpans;

    fn spans_for(service: Option<&str>) -> ResourceSpans {
        let attributes = service
            .map(|s| KeyValue {
                key: "service.name".into(),
                value: Some(AnyValue { value: Some(Value::StringValue(s.into())) }),
                ..Default::default()
            })
            .into_iter()
            .collect();
        ResourceSpans { resource: Some(Resource { attributes, ..Default::default() }), ..Default::default() }
    }

    #[test]
    fn pinned_tokens_refuse_other_services() {
        let req =
            ExportTraceServiceRequest { resource_spans: vec![spans_for(Some("checkout")), spans_for(None)] };
        let services = of_traces(&req);
        assert_eq!(services.iter().collect::<Vec<_>>(), ["checkout", "unknown_service"]);
        let mut p = Principal {
            id: "t".into(),
            name: "n".into(),
            scope: TokenScope::Ingest,
            services: vec![],
            events_per_second: None,
        };
        assert_eq!(refusal(Some(&p), &services), None);
        assert_eq!(refusal(None, &services), None);
        p.services = vec!["checkout".into()];
        let message = refusal(Some(&p), &services).unwrap_or_default();
        assert!(message.contains("\"unknown_service\""), "{message}");
        p.services.push("unknown_service".into());
        assert_eq!(refusal(Some(&p), &services), None);
    }
}
