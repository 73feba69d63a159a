"""Sends transactions through the real Sentry Python SDK (sentry-sdk from
PyPI) to the DSN given as the first argument: requests of
`GET /items/{id}`, one of which fails with HTTP 500 and one answers 404,
and a background job that is not HTTP. Driven by tests/e2e/sdk_sentry.rs,
which knows what the API health figures should be; also used once, with
`--capture DIR`, to write the envelopes committed as
crates/faultline-sentry/tests/fixtures/python_transaction*.envelope.

Prints each request's duration in milliseconds as the SDK measured it
(`timestamp - start_timestamp`), then `sent`; exits non-zero when the
server answered anything but 200.
"""

import json
import sys
import time
from datetime import datetime

import sentry_sdk
from sentry_sdk.transport import HttpTransport, Transport

answers = []
durations = []

# (HTTP status, seconds the handler takes): three good requests, a 404
# and a 500.
REQUESTS = [(200, 0.02), (200, 0.03), (404, 0.01), (500, 0.05), (200, 0.04)]


def record_answers():
    """The SDK only logs refused envelopes; remember every answer instead."""
    handle = HttpTransport._handle_response

    def checked(self, response, envelope=None):
        answers.append(response.status)
        return handle(self, response, envelope=envelope)

    HttpTransport._handle_response = checked


class Capture(Transport):
    """Writes each envelope as sent to DIR/python_transaction_<n>.envelope."""

    def __init__(self, directory):
        super().__init__()
        self.directory = directory
        self.count = 0

    def capture_envelope(self, envelope):
        self.count += 1
        path = f"{self.directory}/python_transaction_{self.count}.envelope"
        with open(path, "wb") as out:
            envelope.serialize_into(out)


def before_send_transaction(event, hint):
    """Remembers each web request's duration as sent (ISO timestamps)."""
    if event["contexts"]["trace"].get("op") == "http.server":
        end = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
        start = datetime.fromisoformat(event["start_timestamp"].replace("Z", "+00:00"))
        durations.append((end - start).total_seconds() * 1000)
    return event


def main():
    capture = sys.argv[2] if len(sys.argv) > 3 and sys.argv[2] == "--capture" else None
    options = dict(
        release="shop@2.3.0",
        environment="staging",
        server_name="py-1",
        traces_sample_rate=1.0,
        auto_session_tracking=False,
        before_send_transaction=before_send_transaction,
    )
    if capture:
        options["transport"] = Capture(sys.argv[3])
    else:
        record_answers()
    sentry_sdk.init(dsn=sys.argv[1], **options)

    for n, (status, seconds) in enumerate(REQUESTS):
        with sentry_sdk.start_transaction(op="http.server", name="GET /items/{id}") as transaction:
            transaction.set_tag("item", str(n))
            time.sleep(seconds)
            transaction.set_http_status(status)

    # Not a web request: counted under its name, without a method.
    with sentry_sdk.start_transaction(op="queue.task", name="nightly-report"):
        time.sleep(0.01)

    sentry_sdk.flush(timeout=10)
    if not capture and (len(answers) != len(REQUESTS) + 1 or any(s != 200 for s in answers)):
        sys.exit(f"the server answered {answers}, expected {len(REQUESTS) + 1} 200s")
    print(json.dumps(durations))
    print("sent", flush=True)


if __name__ == "__main__":
    main()
