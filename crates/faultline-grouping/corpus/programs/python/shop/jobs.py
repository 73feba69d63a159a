# shift-point
"""A background job: nightly order sync."""
from shop import orders, settings


def _sync_row(ctx, row):
    # shift-point
    return orders.place_order(ctx, row)


def nightly_sync(ctx, batch):
    # shift-point
    settings.read_settings(batch["config"])
    # shift-point
    return [_sync_row(ctx, row) for row in batch["rows"]]
