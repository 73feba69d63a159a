"""Request handlers and background jobs of the shop."""

import logging

from shop.orders import parse_quantity, reserve_stock
from shop.users import lookup_user

log = logging.getLogger("shop")


def get_profile(request):
    """GET /users/{id}"""
    user = lookup_user(request["user_id"])
    return {"name": user["name"], "email": user["email"]}


def send_receipt(request):
    """POST /orders/{id}/receipt: a second way to reach lookup_user."""
    user = lookup_user(request["user_id"])
    return f"receipt for order {request['order_id']} sent to {user['email']}"


def create_order(request):
    """POST /orders"""
    quantity = parse_quantity(request["body"]["quantity"])
    reserve_stock(request["order_id"], request["body"]["sku"], quantity)
    return {"order_id": request["order_id"], "quantity": quantity}


def fulfil_order(order):
    """Background job: reserve the stock of a queued order."""
    reserve_stock(order["order_id"], order["sku"], order["quantity"])


def average_cost(costs):
    return sum(costs) / len(costs)


def sync_inventory(batch, costs):
    """Background job that logs its failure instead of raising it."""
    try:
        return average_cost(costs)
    except ZeroDivisionError:
        log.exception("inventory sync failed for batch %d", batch)
        return None


def charge(order_id, provider_answer):
    if provider_answer != "approved":
        log.error("payment provider %s order %d", provider_answer, order_id)
        return False
    return True
