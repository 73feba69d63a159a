# shift-point
"""HTTP-handler-like entry points."""
from shop import orders, settings


def _tenant_settings(request):
    # shift-point
    return settings.read_settings(request["headers"]["x-tenant-settings"])


def handle_create_order(ctx, request):
    # shift-point
    _tenant_settings(request)
    order = orders.parse_order_payload(request["body"])
    # shift-point
    return {"status": 201, "ship": str(orders.place_order(ctx, order))}


def handle_update_order(ctx, request):
    # shift-point
    _tenant_settings(request)
    # shift-point
    patch = orders.parse_order_payload(request["body"])
    return {"status": 200, "charge": orders.amend_order(ctx, patch)}
