"""Runs some of the shop's bugs under the real Sentry Python SDK
(sentry-sdk from PyPI) and sends them to the DSN given as the first
argument, e.g. http://<key>@127.0.0.1:4318/1.

Driven by tests/e2e/sdk_sentry.rs, which knows what each call below should
become on the server; also used once to capture the envelopes committed as
crates/faultline-sentry/tests/fixtures. Exits non-zero when the server
answered anything but 200 or the SDK could not flush.
"""

import logging
import sys
from wsgiref.util import setup_testing_defaults

import sentry_sdk
from sentry_sdk.integrations.wsgi import SentryWsgiMiddleware
from sentry_sdk.transport import HttpTransport

from shop import handlers
from shop.orders import OrderError

answers = []


def record_answers():
    """The SDK only logs refused envelopes; remember every answer instead."""
    handle = HttpTransport._handle_response

    def checked(self, response, envelope=None):
        answers.append(response.status)
        return handle(self, response, envelope=envelope)

    HttpTransport._handle_response = checked


def profile_app(environ, start_response):
    """GET /users/7: a WSGI app whose handler raises KeyError 'email'."""
    user = handlers.get_profile({"user_id": 7})
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [user["name"].encode()]


def serve_request():
    """One request through sentry-sdk's WSGI middleware, as a web framework
    would run it; the middleware reports the unhandled exception with the
    request (cookies and credentials included, send_default_pii is on)."""
    environ = {
        "PATH_INFO": "/users/7",
        "QUERY_STRING": "tab=orders",
        "HTTP_USER_AGENT": "shop-test/1.0",
        "HTTP_COOKIE": "session=s3cr3t",
        "HTTP_AUTHORIZATION": "Bearer t0ken",
    }
    setup_testing_defaults(environ)
    try:
        SentryWsgiMiddleware(profile_app)(environ, lambda *args: None)
    except KeyError:
        pass
    else:
        raise AssertionError("get_profile found an email for user 7")


def main():
    dsn = sys.argv[1]
    record_answers()
    sentry_sdk.init(
        dsn=dsn,
        release="shop@2.3.0",
        environment="staging",
        server_name="py-1",
        # No transactions or sessions: this run is about error events.
        auto_session_tracking=False,
        # Request headers and cookies are sent: the server must drop them.
        send_default_pii=True,
    )
    # brotli is installed (requirements.txt), so the SDK sends `br` bodies;
    # same_bug.py sends gzip.
    algo = sentry_sdk.get_client().transport._compression_algo
    if algo != "br":
        sys.exit(f"sentry-sdk compresses with {algo!r}, expected 'br': is brotli installed?")
    sentry_sdk.set_user({"id": "42", "email": "ada@example.com"})
    sentry_sdk.set_tag("tenant", "acme")
    logging.getLogger("shop").setLevel(logging.INFO)
    logging.getLogger("shop").info("processing order queue")  # a breadcrumb

    # OrderError raised from a KeyError (`raise ... from e`).
    try:
        handlers.fulfil_order({"order_id": 3001, "sku": "SKU-404", "quantity": 1})
    except OrderError as e:
        sentry_sdk.capture_exception(e)

    # ValueError from int() in parse_quantity, with a custom fingerprint
    # that splits it by tenant.
    try:
        handlers.create_order({"order_id": 2001, "body": {"sku": "SKU-1", "quantity": "abc"}})
    except ValueError as e:
        with sentry_sdk.new_scope() as scope:
            scope.fingerprint = ["{{ default }}", "tenant-acme"]
            sentry_sdk.capture_exception(e)

    # An error log without an exception (the logging integration).
    handlers.charge(5521, "declined")

    # An unhandled KeyError in a web request.
    serve_request()

    sentry_sdk.flush(timeout=10)
    if len(answers) != 4 or any(status != 200 for status in answers):
        sys.exit(f"the server answered {answers}, expected four 200s")
    print("sent", flush=True)


if __name__ == "__main__":
    main()
