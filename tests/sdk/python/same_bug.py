"""One bug, reported by either SDK: `python same_bug.py otel` records it on
a span with the OpenTelemetry SDK (configured by the OTEL_* variables, as
app.py is), `python same_bug.py sentry DSN` captures it with sentry-sdk.

The ValueError comes from the same function (shop.orders.parse_quantity,
through handlers.create_order) and is caught in the same place, so the
server must put both reports in one issue (tests/e2e/sdk_sentry.rs).
Prints `sent` when the report was accepted.
"""

import sys

from shop import handlers


def checkout(report):
    """The caller both SDKs report from: the same frames either way."""
    try:
        handlers.create_order({"order_id": 4001, "body": {"sku": "SKU-1", "quantity": "ten"}})
    except ValueError as e:
        report(e)


def with_otel():
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
    from opentelemetry.trace import Status, StatusCode

    results = []

    class Recording(OTLPSpanExporter):
        def export(self, batch):
            result = super().export(batch)
            results.append(result)
            return result

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Recording()))
    tracer = provider.get_tracer("shop")

    def report(e):
        with tracer.start_as_current_span("checkout") as span:
            span.record_exception(e)
            span.set_status(Status(StatusCode.ERROR, str(e)))

    checkout(report)
    provider.shutdown()
    return results == [SpanExportResult.SUCCESS]


def with_sentry(dsn):
    import sentry_sdk
    from sentry_sdk.transport import HttpTransport

    answers = []
    handle = HttpTransport._handle_response

    def checked(self, response, envelope=None):
        answers.append(response.status)
        return handle(self, response, envelope=envelope)

    HttpTransport._handle_response = checked
    # gzip, as sentry-sdk sends without the brotli module (sentry_app.py
    # sends brotli).
    sentry_sdk.init(dsn=dsn, auto_session_tracking=False, _experiments={"transport_compression_algo": "gzip"})
    if sentry_sdk.get_client().transport._compression_algo != "gzip":
        sys.exit("sentry-sdk does not compress with gzip")
    checkout(sentry_sdk.capture_exception)
    sentry_sdk.flush(timeout=10)
    return answers == [200]


def main():
    ok = with_otel() if sys.argv[1] == "otel" else with_sentry(sys.argv[2])
    print("sent" if ok else "refused", flush=True)


if __name__ == "__main__":
    main()
