"""A real SMTP server (aiosmtpd) for the email channel tests.

Listens on 127.0.0.1, on a free port unless --port is given, and speaks
JSON lines on stdout:

    {"ready": <port>}                       once listening
    {"message": {...}}                      for every message accepted

A message's fields come from Python's own MIME parser, so the test checks
what a mail client would see, not what the sender meant to write.

Options make it behave like the servers the channel meets: --starttls or
--implicit-tls with a certificate, --auth USER:PASSWORD (AUTH required),
--fail-data N (answer the first N DATA commands with a transient 451),
--reject-rcpt (answer every RCPT with a permanent 550).
"""

import argparse
import asyncio
import email
import email.policy
import json
import logging
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def describe(raw: bytes) -> dict:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    parts = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        parts.append({
            "content_type": part.get_content_type(),
            "charset": part.get_content_charset(),
            "body": part.get_content(),
        })
    return {
        "subject": str(msg["Subject"]),
        "from": str(msg["From"]),
        "to": str(msg["To"]),
        "message_id": str(msg["Message-ID"]),
        "date": str(msg["Date"]),
        "content_type": msg.get_content_type(),
        "parts": parts,
    }


class Handler:
    def __init__(self, args):
        self.fail_data = args.fail_data
        self.reject_rcpt = args.reject_rcpt

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject_rcpt:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.fail_data > 0:
            self.fail_data -= 1
            return "451 4.3.0 try again later"
        record = describe(envelope.original_content or envelope.content)
        record["mail_from"] = envelope.mail_from
        record["rcpt_tos"] = envelope.rcpt_tos
        # session.ssl is set after STARTTLS only; the transport knows both.
        record["tls"] = server.transport.get_extra_info("ssl_object") is not None
        record["authenticated_as"] = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        emit({"message": record})
        return "250 OK queued"


def authenticator(user: str, password: str):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        if not ok:
            # handled=False: aiosmtpd answers 535 itself.
            return AuthResult(success=False, handled=False)
        # auth_data becomes session.auth_data: the login, to report it.
        return AuthResult(success=True, auth_data=auth_data.login)
    return check


async def main():
    # aiosmtpd warns about AUTH without TLS (wanted here) and deprecations;
    # the test's stderr should show only real trouble.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--starttls", action="store_true")
    mode.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--auth")
    parser.add_argument("--fail-data", type=int, default=0)
    parser.add_argument("--reject-rcpt", action="store_true")
    args = parser.parse_args()

    context = None
    if args.starttls or args.implicit_tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    options = {"hostname": "localhost", "timeout": 30}
    if args.auth:
        user, _, password = args.auth.partition(":")
        options["authenticator"] = authenticator(user, password)
        options["auth_required"] = True
        # Over TLS keep aiosmtpd's default (no AUTH before encryption), so a
        # login that works proves the client encrypted first.
        options["auth_require_tls"] = bool(args.starttls or args.implicit_tls)
    if args.starttls:
        options["tls_context"] = context
        options["require_starttls"] = True

    handler = Handler(args)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, **options),
        host="127.0.0.1",
        port=args.port,
        ssl=context if args.implicit_tls else None,
    )
    emit({"ready": server.sockets[0].getsockname()[1]})
    # Until the test closes stdin or kills the process.
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
