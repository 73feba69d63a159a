"""One error as a web shop's request reports it with the real Sentry Python
SDK (sentry-sdk from PyPI), carrying what Sentry's event page shows
beside the exception: breadcrumbs, the user, tags, a custom context, extra
data and the request, with its body. Sends to the DSN given as the first
argument and prints `sent` when the server answered 200.

Driven by tests/e2e/sdk_sentry.rs, which reads the event back through the
API's structured fields (breadcrumbs, request, user, contexts, tags, extra,
sdk).
"""

import json
import sys
from io import BytesIO
from wsgiref.util import setup_testing_defaults

import sentry_sdk
from sentry_sdk.integrations.wsgi import SentryWsgiMiddleware
from sentry_sdk.transport import HttpTransport

from shop import handlers
from shop.orders import OrderError

answers = []

BODY = {"sku": "SKU-404", "quantity": 1}


def record_answers():
    handle = HttpTransport._handle_response

    def checked(self, response, envelope=None):
        answers.append(response.status)
        return handle(self, response, envelope=envelope)

    HttpTransport._handle_response = checked


def add_body(event, hint):
    """sentry-sdk's plain WSGI middleware does not read bodies (the Flask
    and Django integrations do); give the event the one it had, as those
    would."""
    if "request" in event:
        event["request"]["data"] = BODY
    return event


def cart_app(environ, start_response):
    """POST /cart?coupon=SPRING: reserving stock for an unknown sku raises
    OrderError."""
    body = json.loads(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])))
    # The middleware gives each request a scope of its own: what the
    # handler sets goes with this request's events only.
    sentry_sdk.set_user(
        {"id": "42", "email": "ada@example.com", "username": "ada", "ip_address": "10.1.2.3", "segment": "beta"}
    )
    sentry_sdk.set_tag("tenant", "acme")
    sentry_sdk.set_tag("plan", "pro")
    sentry_sdk.set_context("cart", {"items": 3, "currency": "EUR"})
    sentry_sdk.add_breadcrumb(category="auth", message="user signed in", level="info")
    # Sentry data is whatever the client sends: markup must stay text.
    sentry_sdk.add_breadcrumb(category="ui.click", message="<script>window.__xss=1</script>", level="warning")
    sentry_sdk.add_breadcrumb(
        category="cart", message=f"adding {body['sku']}", level="info", data={"quantity": body["quantity"]}
    )
    sentry_sdk.set_extra("cart_size", 3)
    handlers.create_order({"order_id": 3002, "body": body})
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b"{}"]


def serve_request():
    payload = json.dumps(BODY).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/cart",
        "QUERY_STRING": "coupon=SPRING&ref=mail%20campaign",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(payload)),
        "HTTP_USER_AGENT": "shop-test/1.0",
        "HTTP_COOKIE": "session=s3cr3t",
        "HTTP_AUTHORIZATION": "Bearer t0ken",
        "wsgi.input": BytesIO(payload),
    }
    setup_testing_defaults(environ)
    try:
        SentryWsgiMiddleware(cart_app)(environ, lambda *args: None)
    except OrderError:
        pass
    else:
        raise AssertionError("SKU-404 was in stock")


def main():
    dsn = sys.argv[1]
    record_answers()
    sentry_sdk.init(
        dsn=dsn,
        release="shop@2.4.0",
        environment="staging",
        server_name="py-2",
        auto_session_tracking=False,
        send_default_pii=True,
        before_send=add_body,
    )
    serve_request()
    sentry_sdk.flush(timeout=10)
    if answers != [200]:
        sys.exit(f"the server answered {answers}, expected one 200")
    print("sent", flush=True)


if __name__ == "__main__":
    main()
