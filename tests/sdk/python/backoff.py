"""Sends three messages with sentry-sdk to the DSN given as the first
argument, flushing after each, and prints the HTTP statuses the server
answered as JSON: a server that answers 429 with X-Sentry-Rate-Limits
should make the SDK hold back what follows (tests/e2e/sdk_sentry.rs).
"""

import json
import sys

import sentry_sdk
from sentry_sdk.transport import HttpTransport

answers = []
handle = HttpTransport._handle_response


def checked(self, response, envelope=None):
    answers.append(response.status)
    return handle(self, response, envelope=envelope)


HttpTransport._handle_response = checked
sentry_sdk.init(dsn=sys.argv[1], auto_session_tracking=False)
for n in range(3):
    sentry_sdk.capture_message(f"backoff {n}", level="error")
    sentry_sdk.flush(timeout=10)
print(json.dumps(answers), flush=True)
