# shift-point
import json

from shop import accounts, catalog, customers, inventory, payments, shipping


def parse_order_payload(raw):
    # shift-point
    order = json.loads(raw)
    # shift-point
    return order


def parse_line_items(order):
    # shift-point
    # Line items arrive as a JSON string inside the order (a form field).
    return json.loads(order["items"])


def check_quantity(order_id, qty):
    # shift-point
    if qty <= 0:
        # shift-point
        raise ValueError(f"quantity must be positive for order {order_id}, got {qty}")
    return qty


def place_order(ctx, order):
    # shift-point
    check_quantity(order["id"], order["qty"])
    parse_line_items(order)
    accounts.check_email(order["email"])
    customer = customers.load_customer(ctx["customers"], order["customer_id"])
    # shift-point
    inventory.reserve(ctx["stock"], order["sku"], order["qty"])
    catalog.category_path(ctx["categories"], order["category"])
    # shift-point
    payments.charge(customer, order["amount"], order["card"])
    return shipping.parse_ship_date(order["ship_date"])


def amend_order(ctx, order):
    # shift-point
    customer = customers.load_customer(ctx["customers"], order["customer_id"])
    accounts.check_email(order["email"])
    # shift-point
    check_quantity(order["id"], order["qty"])
    parse_line_items(order)
    inventory.reserve(ctx["stock"], order["sku"], order["qty"])
    # shift-point
    return payments.charge(customer, order["amount"], order["card"])
