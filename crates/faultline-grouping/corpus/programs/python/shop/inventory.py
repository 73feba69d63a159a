# shift-point
from shop.errors import InventoryError


def reserve(stock, sku, qty):
    # shift-point
    try:
        level = stock[sku]
    except KeyError:
        # Implicit chaining: the KeyError becomes __context__.
        # shift-point
        raise InventoryError(f"cannot reserve {qty} x {sku}: unknown SKU")
    stock[sku] = level - qty
    return level - qty
