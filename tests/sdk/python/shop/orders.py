"""Orders: parsing request bodies and reserving stock."""

STOCK = {"SKU-1": 12, "SKU-2": 0}


class OrderError(Exception):
    """An order that cannot be processed."""


def parse_quantity(raw):
    # The bug: trusts the client to send digits.
    return int(raw)


def reserve_stock(order_id, sku, quantity):
    try:
        available = STOCK[sku]
    except KeyError as e:
        raise OrderError(f"order {order_id}: unknown sku {sku!r}") from e
    if available < quantity:
        raise OrderError(f"order {order_id}: only {available} of {sku} left")
    STOCK[sku] = available - quantity
