//! A service instrumented with the Rust OpenTelemetry SDK
//! (opentelemetry-otlp over gRPC), for tests that need real SDK exports
//! without a language runtime: failing requests with Python-style stack
//! traces, from a release of the test's choosing.

use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;

use crate::Server;

/// One service at one release, exporting spans to a server. Holds its own
/// tokio runtime, which the gRPC exporter needs.
pub struct RustService {
    provider: SdkTracerProvider,
    runtime: tokio::runtime::Runtime,
}

/// A failing request as a web framework's instrumentation records it.
pub struct Failure<'a> {
    pub route: &'a str,
    pub method: &'a str,
    pub exception_type: &'a str,
    pub message: &'a str,
    pub user: &'a str,
    /// Written into the stack trace: the raise site's function in the app.
    pub function: &'a str,
}

impl RustService {
    pub fn start(server: &Server, service: &str, release: &str, environment: &str) -> RustService {
        let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
        let provider = {
            let _guard = runtime.enter();
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(server.grpc_endpoint())
                .build()
                .expect("the span exporter");
            let resource = Resource::builder()
                .with_service_name(service.to_string())
                .with_attributes([
                    KeyValue::new("service.version", release.to_string()),
                    KeyValue::new("deployment.environment.name", environment.to_string()),
                    KeyValue::new("host.name", "web-1"),
                ])
                .build();
            SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build()
        };
        RustService { provider, runtime }
    }

    /// Records one failing request: a SERVER span with an exception event
    /// whose stack trace has an app frame under a library (framework) frame.
    pub fn fail(&self, f: &Failure) {
        let _guard = self.runtime.enter();
        let tracer = self.provider.tracer("faultline-tests");
        let mut span = tracer
            .span_builder(format!("{} {}", f.method, f.route))
            .with_kind(SpanKind::Server)
            .with_attributes([
                KeyValue::new("http.route", f.route.to_string()),
                KeyValue::new("http.request.method", f.method.to_string()),
                KeyValue::new("http.response.status_code", 500),
                KeyValue::new("enduser.id", f.user.to_string()),
            ])
            .start(&tracer);
        let trace = format!(
            "Traceback (most recent call last):\n  \
             File \"/usr/lib/python3.12/site-packages/flask/app.py\", line 880, in full_dispatch_request\n    \
             rv = self.dispatch_request()\n  \
             File \"/srv/shop/cart.py\", line 42, in {function}\n    \
             raise {ty}(msg)\n{ty}: {message}",
            function = f.function,
            ty = f.exception_type,
            message = f.message
        );
        span.add_event(
            "exception",
            vec![
                KeyValue::new("exception.type", f.exception_type.to_string()),
                KeyValue::new("exception.message", f.message.to_string()),
                KeyValue::new("exception.stacktrace", trace),
            ],
        );
        span.set_status(Status::error(f.message.to_string()));
        span.end();
    }

    /// Sends everything recorded so far.
    pub fn flush(&self) {
        let _guard = self.runtime.enter();
        self.provider.force_flush().expect("the SDK flushes its spans");
    }
}

impl Drop for RustService {
    fn drop(&mut self) {
        let _guard = self.runtime.enter();
        let _ = self.provider.shutdown();
    }
}
