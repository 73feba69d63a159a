"""Serves five requests of release shop@2.4.0 through sentry-sdk's WSGI
middleware with release health on (request-mode sessions, as a web server
runs them): three succeed, one captures a handled error, one raises. The
SDK sends the sessions as `sessions` aggregates on flush. The DSN is the
first argument (tests/e2e/sentry_bad_input.rs). Prints the HTTP statuses
the server answered as JSON.
"""

import json
import sys
from wsgiref.util import setup_testing_defaults

import sentry_sdk
from sentry_sdk.integrations.wsgi import SentryWsgiMiddleware
from sentry_sdk.transport import HttpTransport

answers = []
handle = HttpTransport._handle_response


def checked(self, response, envelope=None):
    answers.append(response.status)
    return handle(self, response, envelope=envelope)


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/handled":
        try:
            int("abc")
        except ValueError as e:
            sentry_sdk.capture_exception(e)
    elif path == "/crash":
        raise RuntimeError("session crash")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def serve(path):
    environ = {"PATH_INFO": path}
    setup_testing_defaults(environ)
    try:
        SentryWsgiMiddleware(app)(environ, lambda *args: None)
    except RuntimeError:
        pass


HttpTransport._handle_response = checked
sentry_sdk.init(dsn=sys.argv[1], release="shop@2.4.0", environment="prod", auto_session_tracking=True)
for path in ["/", "/", "/", "/handled", "/crash"]:
    serve(path)
sentry_sdk.flush(timeout=10)
print(json.dumps(answers), flush=True)
