"""Runs the shop's failing requests and jobs under the OpenTelemetry Python
SDK and exports what it records to the server named by the standard
variables:

    OTEL_EXPORTER_OTLP_ENDPOINT   http://127.0.0.1:4317 (gRPC) or :4318 (HTTP)
    OTEL_EXPORTER_OTLP_PROTOCOL   grpc | http/protobuf
    OTEL_SERVICE_NAME             the service name
    OTEL_RESOURCE_ATTRIBUTES      service.version=...,deployment.environment.name=...

Driven by tests/e2e/sdk_python.rs, which knows what each call below should
become on the server. Exits non-zero when an export failed or the SDK could
not flush.
"""

import logging
import os
import sys

from opentelemetry import trace
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from shop import handlers
from shop.orders import OrderError


def exporters():
    """Span and log exporters for OTEL_EXPORTER_OTLP_PROTOCOL; both read
    OTEL_EXPORTER_OTLP_ENDPOINT themselves (HTTP appends /v1/traces, /v1/logs)."""
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    elif protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    else:
        sys.exit(f"unsupported OTEL_EXPORTER_OTLP_PROTOCOL {protocol!r}")
    return OTLPSpanExporter(), OTLPLogExporter()


class Checked:
    """Delegates to an exporter and remembers failed exports, which the SDK
    would otherwise only log."""

    def __init__(self, inner, failures):
        self._inner = inner
        self._failures = failures

    def export(self, batch):
        result = self._inner.export(batch)
        if result.name != "SUCCESS":
            self._failures.append(f"{type(self._inner).__name__}: {result.name}")
        return result

    def shutdown(self):
        return self._inner.shutdown()

    def force_flush(self, timeout_millis=30_000):
        return self._inner.force_flush(timeout_millis)


def serve(tracer, method, route, handler, request):
    """An instrumented web framework's request span: the handler's exception
    is recorded explicitly and answered with a 500."""
    with tracer.start_as_current_span(
        f"{method} {route}",
        kind=SpanKind.SERVER,
        attributes={"http.request.method": method, "http.route": route},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            handler(request)
        except Exception as e:  # noqa: BLE001 - a server answers every request
            span.record_exception(e)
            span.set_status(Status(StatusCode.ERROR, str(e)))
            span.set_attribute("http.response.status_code", 500)
            return 500
        span.set_attribute("http.response.status_code", 200)
        return 200


def serve_unhandled(tracer, method, route, handler, request):
    """A request span that lets the exception escape: the SDK's
    start_as_current_span records it and sets the status by itself."""
    with tracer.start_as_current_span(
        f"{method} {route}",
        kind=SpanKind.SERVER,
        attributes={"http.request.method": method, "http.route": route},
    ):
        handler(request)


def run_job(tracer, name, job, *args):
    """A background job span used as a context manager (`start_span`),
    which records an escaping exception with exception.escaped=True."""
    with tracer.start_span(name, kind=SpanKind.CONSUMER, attributes={"job.name": name}):
        job(*args)


def expect(status, wanted, what):
    if status != wanted:
        raise AssertionError(f"{what}: answered {status}, expected {wanted}")


def main():
    resource = Resource.create()  # OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
    span_exporter, log_exporter = exporters()
    failures = []

    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(Checked(span_exporter, failures)))
    trace.set_tracer_provider(tracer_provider)
    tracer = trace.get_tracer("shop")

    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(Checked(log_exporter, failures)))
    shop_log = logging.getLogger("shop")
    shop_log.setLevel(logging.INFO)
    shop_log.addHandler(LoggingHandler(level=logging.INFO, logger_provider=logger_provider))
    shop_log.propagate = False

    # KeyError 'email' in lookup_user, reached from two handlers.
    expect(serve(tracer, "GET", "/users/{id}", handlers.get_profile, {"user_id": 7}), 500, "profile 7")
    receipt = {"user_id": 9, "order_id": 1001}
    expect(serve(tracer, "POST", "/orders/{id}/receipt", handlers.send_receipt, receipt), 500, "receipt 1001")
    expect(serve(tracer, "GET", "/users/{id}", handlers.get_profile, {"user_id": 9}), 500, "profile 9")
    # Succeeds: a span, but no error.
    expect(serve(tracer, "GET", "/users/{id}", handlers.get_profile, {"user_id": 8}), 200, "profile 8")

    # ValueError from int() in parse_quantity, recorded by the SDK as it escapes.
    for order_id, quantity in [(2001, "abc"), (2002, "12x")]:
        try:
            serve_unhandled(
                tracer,
                "POST",
                "/orders",
                handlers.create_order,
                {"order_id": order_id, "body": {"sku": "SKU-1", "quantity": quantity}},
            )
        except ValueError:
            pass
        else:
            raise AssertionError("parse_quantity accepted a bad quantity")
    serve_unhandled(
        tracer,
        "POST",
        "/orders",
        handlers.create_order,
        {"order_id": 2003, "body": {"sku": "SKU-1", "quantity": "2"}},
    )

    # OrderError raised from a KeyError (`raise ... from e`) in a job.
    for order in [
        {"order_id": 3001, "sku": "SKU-404", "quantity": 1},
        {"order_id": 3002, "sku": "SKU-999", "quantity": 4},
    ]:
        try:
            run_job(tracer, "fulfil-order", handlers.fulfil_order, order)
        except OrderError:
            pass
        else:
            raise AssertionError("fulfil_order accepted an unknown sku")

    # Error logs through the logging handler: one with a traceback
    # (logging.exception) inside a job's span, two without one that differ
    # only in the order id, and a warning that is not an error.
    with tracer.start_as_current_span("sync-inventory", kind=SpanKind.CONSUMER):
        handlers.sync_inventory(17, [])
    handlers.charge(5521, "declined")
    handlers.charge(5522, "declined")
    shop_log.warning("payment provider slow: %d ms", 2300)

    traces_ok = tracer_provider.force_flush(30_000)
    logs_ok = logger_provider.force_flush(30_000)
    tracer_provider.shutdown()
    logger_provider.shutdown()
    if failures or not (traces_ok and logs_ok):
        sys.exit(f"export failed: {failures}; force_flush: traces {traces_ok}, logs {logs_ok}")
    print("sent", flush=True)


if __name__ == "__main__":
    main()
