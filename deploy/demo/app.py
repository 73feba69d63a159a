"""A small shop that fails in realistic ways, instrumented with the
OpenTelemetry Python SDK: the demo service of docker-compose.yml.

Routes (each a SERVER span with http.route, plus the
http.server.request.duration histogram):

  GET  /products/{id}   ~20 ms; ids ending in 7 raise KeyError in lookup_product
  GET  /search?q=       ~80 ms; about 1 in 5 time out (TimeoutError in query_index, an error log)
  POST /checkout        ~150 ms; about 1 in 6 cards are declined (PaymentDeclined in charge_card)
  GET  /inventory       ~30 ms; a corrupt stock row now and then (ValueError in parse_stock, logged)
  GET  /healthz         fast, never fails
  POST /alerts-webhook  where Faultline's webhook channel posts: prints each alert (not traced)

A background loop calls the shop's own routes a few times a second, so
Faultline has issues, health figures and alerts to show within a minute.
Where to send comes from the standard OTEL_* variables
(OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, ...). DEMO_PORT is the port
(8000), DEMO_RUN_SECONDS stops it after that long (the tests; unset: run
until SIGTERM).
"""

import json
import logging
import os
import random
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from opentelemetry import _logs, metrics, trace
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

PORT = int(os.environ.get("DEMO_PORT", "8000"))

tracer_provider = TracerProvider()
tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
trace.set_tracer_provider(tracer_provider)

logger_provider = LoggerProvider()
logger_provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
_logs.set_logger_provider(logger_provider)
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
# Error logs (and logged exceptions) of every logger go to the Collector.
logging.getLogger().addHandler(LoggingHandler(level=logging.ERROR, logger_provider=logger_provider))

meter_provider = MeterProvider(metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter())])
metrics.set_meter_provider(meter_provider)

tracer = trace.get_tracer("demo-shop")
request_duration = metrics.get_meter("demo-shop").create_histogram(
    "http.server.request.duration", unit="s", description="Duration of HTTP server requests."
)
log = logging.getLogger("shop")


class PaymentDeclined(Exception):
    """The card processor said no."""


def work(median_ms):
    """Sleeps about `median_ms`, with a long tail like real backends."""
    time.sleep(random.lognormvariate(0, 0.5) * median_ms / 1000)


CATALOG = {str(i): {"id": i, "name": f"product {i}", "price": 5 + i % 40} for i in range(1, 60)}
# Ids ending in 7 were deleted from the catalog but are still linked somewhere.
for _id in [k for k in CATALOG if k.endswith("7")]:
    del CATALOG[_id]


def lookup_product(product_id):
    work(20)
    return CATALOG[product_id]


def query_index(query):
    work(80)
    if random.random() < 0.2:
        raise TimeoutError(f"search index did not answer within 500 ms for {query!r}")
    return [p for p in CATALOG.values() if query in p["name"]][:10]


def charge_card(order):
    work(150)
    if random.random() < 0.17:
        raise PaymentDeclined(f"card ending {order['card'][-4:]} declined: insufficient funds")
    return {"order": order["id"], "status": "paid"}


def parse_stock(row):
    # A row like "sku-12:7"; the warehouse export sometimes writes "sku-12:n/a".
    sku, count = row.split(":")
    return sku, int(count)


def inventory():
    work(30)
    rows = [f"sku-{i}:{random.randint(0, 20)}" for i in range(5)]
    if random.random() < 0.3:
        rows.append("sku-99:n/a")
    stock = {}
    for row in rows:
        try:
            sku, count = parse_stock(row)
        except ValueError:
            # Handled: the request succeeds, the bad row is logged with its traceback.
            log.exception("skipping a corrupt stock row %r", row)
            continue
        stock[sku] = count
    return stock


class HttpError(Exception):
    def __init__(self, status, body):
        super().__init__(body)
        self.status = status
        self.body = body


def route(method, path, query, body):
    """(http.route, handler) for a request; handlers return a JSON-able value."""
    if method == "GET" and (m := re.fullmatch(r"/products/([^/]+)", path)):
        return "/products/{id}", lambda: lookup_product(m.group(1))
    if method == "GET" and path == "/search":
        q = query.get("q", [""])[0]

        def search():
            try:
                return query_index(q)
            except TimeoutError:
                log.error("search backend timed out; query %r answered with 500", q)
                raise

        return "/search", search
    if method == "POST" and path == "/checkout":
        return "/checkout", lambda: charge_card(json.loads(body or b"{}"))
    if method == "GET" and path == "/inventory":
        return "/inventory", inventory
    if method == "GET" and path == "/healthz":
        return "/healthz", lambda: {"ok": True}
    return None, None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.handle_request("GET")

    def do_POST(self):
        self.handle_request("POST")

    def handle_request(self, method):
        url = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if method == "POST" and url.path == "/alerts-webhook":
            self.alert_received(body)
            return
        http_route, handler = route(method, url.path, parse_qs(url.query), body)
        if handler is None:
            self.reply(404, {"error": "not found"})
            return
        start = time.perf_counter()
        with tracer.start_as_current_span(
            f"{method} {http_route}",
            kind=trace.SpanKind.SERVER,
            attributes={"http.request.method": method, "http.route": http_route, "url.path": url.path},
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                status, answer = 200, handler()
            except KeyError as e:
                # A missing product is the client's problem... except these
                # ids are linked from our own pages: a bug, so a 500.
                span.record_exception(e)
                status, answer = 500, {"error": f"product {e} vanished"}
            except Exception as e:  # noqa: BLE001 - every other failure is a 500 too
                span.record_exception(e)
                status, answer = 500, {"error": str(e)}
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(trace.Status(trace.StatusCode.ERROR))
        request_duration.record(
            time.perf_counter() - start,
            {"http.request.method": method, "http.route": http_route, "http.response.status_code": status},
        )
        self.reply(status, answer)

    def alert_received(self, body):
        try:
            alert = json.loads(body)
            print(f"ALERT {alert.get('kind')}: {alert.get('title')}", flush=True)
        except ValueError:
            print(f"ALERT (not JSON): {body[:200]!r}", flush=True)
        self.reply(200, {"ok": True})

    def reply(self, status, answer):
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass  # one line per request would drown the alerts in the output


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()
    except urllib.error.HTTPError:
        pass  # a 500 is what the demo is for
    except OSError as e:
        print(f"load loop: {method} {path}: {e}", file=sys.stderr, flush=True)


def load_loop(stop):
    """Visitors: mostly browsing, some searching, a few buying."""
    words = ["product", "1", "2", "lamp", "product 3"]
    while not stop.is_set():
        pick = random.random()
        if pick < 0.4:
            call("GET", f"/products/{random.randint(1, 59)}")
        elif pick < 0.6:
            call("GET", f"/search?q={random.choice(words).replace(' ', '+')}")
        elif pick < 0.8:
            call("POST", "/checkout", {"id": random.randint(1000, 9999), "card": "4242424242424242"})
        elif pick < 0.95:
            call("GET", "/inventory")
        else:
            call("GET", "/healthz")
        stop.wait(random.uniform(0.02, 0.12))


def main():
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    threading.Thread(target=load_loop, args=(stop,), daemon=True).start()
    print(f"demo shop listening on :{PORT}", flush=True)
    run_for = os.environ.get("DEMO_RUN_SECONDS")
    stop.wait(float(run_for) if run_for else None)
    stop.set()
    server.shutdown()
    # Send what is still buffered before exiting.
    tracer_provider.shutdown()
    logger_provider.shutdown()
    meter_provider.shutdown()
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
