"""Captures three messages with sentry-sdk to the DSN given as the first
argument; `before_send` drops the two whose text starts with "drop", so the
SDK counts them in a client report, which `flush` sends
(tests/e2e/sentry_bad_input.rs). Prints "sent" once flushed.
"""

import sys

import sentry_sdk


def before_send(event, hint):
    if event.get("message", "").startswith("drop"):
        return None
    return event


sentry_sdk.init(dsn=sys.argv[1], before_send=before_send, auto_session_tracking=False)
for text in ["drop this one", "report kept", "drop that one"]:
    sentry_sdk.capture_message(text, level="error")
sentry_sdk.flush(timeout=10)
print("sent", flush=True)
