# shift-point
import socket

from shop.errors import PaymentError

# Nothing listens on the discard port here, so live charges are refused.
GATEWAY = ("127.0.0.1", 9)


def _call_gateway(token, amount):
    # shift-point
    with socket.create_connection(GATEWAY, timeout=0.5) as conn:
        conn.sendall(f"{token}:{amount}".encode())


def charge(customer, amount, card):
    # shift-point
    if card["token"].startswith("tok_test"):
        return "ch_test"
    try:
        _call_gateway(card["token"], amount)
    except OSError as exc:
        # shift-point
        raise PaymentError(f"charge of {amount} EUR for {customer['email']} failed") from exc
    return "ch_live"
