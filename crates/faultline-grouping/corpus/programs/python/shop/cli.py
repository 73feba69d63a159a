# shift-point
"""A command-line entry point: `shop import --settings JSON ORDER_JSON`."""
from shop import orders, settings


def import_command(ctx, argv):
    # shift-point
    settings_json, order_json = argv[2], argv[3]
    settings.read_settings(settings_json)
    # shift-point
    order = orders.parse_order_payload(order_json)
    # shift-point
    return orders.place_order(ctx, order)
