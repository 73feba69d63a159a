//! Who sent the telemetry: the resource fields every error event carries.

use faultline_model::Attributes;
use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::attributes::{first_text, to_attributes};
use crate::limits::Limits;
use crate::semconv;

/// The service an SDK reports when the user configured none.
pub const UNKNOWN_SERVICE: &str = "unknown_service";

/// A resource read once per `ResourceSpans` / `ResourceLogs` and shared by
/// all events extracted below it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResourceInfo {
    pub service: String,
    pub service_version: Option<String>,
    pub environment: Option<String>,
    pub host: Option<String>,
    pub sdk_language: Option<String>,
    pub attributes: Attributes,
}

impl ResourceInfo {
    pub(crate) fn new(resource: Option<&Resource>, limits: &Limits) -> ResourceInfo {
        let list = resource.map(|r| r.attributes.as_slice()).unwrap_or_default();
        let attributes = to_attributes(list, limits.max_string_len);
        ResourceInfo {
            service: first_text(&attributes, &[semconv::SERVICE_NAME])
                .unwrap_or_else(|| UNKNOWN_SERVICE.to_owned()),
            service_version: first_text(&attributes, &[semconv::SERVICE_VERSION]),
            environment: first_text(&attributes, semconv::ENVIRONMENT),
            host: first_text(&attributes, &[semconv::HOST_NAME]),
            sdk_language: first_text(&attributes, &[semconv::SDK_LANGUAGE]),
            attributes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};

    fn kv(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(Value::StringValue(value.into())) }),
            ..Default::default()
        }
    }

    #[test]
    fn reads_the_standard_resource_fields() {
        let resource = Resource {
            attributes: vec![
                kv("service.name", "checkout"),
                kv("service.version", "1.4.2"),
                kv("deployment.environment.name", "prod"),
                kv("host.name", "web-1"),
                kv("telemetry.sdk.language", "python"),
            ],
            ..Default::default()
        };
        let info = ResourceInfo::new(Some(&resource), &Limits::default());
        assert_eq!(info.service, "checkout");
        assert_eq!(info.service_version.as_deref(), Some("1.4.2"));
        assert_eq!(info.environment.as_deref(), Some("prod"));
        assert_eq!(info.host.as_deref(), Some("web-1"));
        assert_eq!(info.sdk_language.as_deref(), Some("python"));
        assert_eq!(info.attributes.len(), 5);
    }

    #[test]
    fn falls_back_to_the_old_environment_name() {
        let resource =
            Resource { attributes: vec![kv("deployment.environment", "staging")], ..Default::default() };
        let info = ResourceInfo::new(Some(&resource), &Limits::default());
        assert_eq!(info.environment.as_deref(), Some("staging"));
    }

    #[test]
    fn missing_resource_means_unknown_service() {
        let info = ResourceInfo::new(None, &Limits::default());
        assert_eq!(info.service, UNKNOWN_SERVICE);
        assert!(info.attributes.is_empty());
        let empty_name = Resource { attributes: vec![kv("service.name", "")], ..Default::default() };
        assert_eq!(ResourceInfo::new(Some(&empty_name), &Limits::default()).service, UNKNOWN_SERVICE);
    }
}
