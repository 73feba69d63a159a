# shift-point
class PaymentError(Exception):
    """Raised when the card gateway cannot charge an order."""


class InventoryError(Exception):
    """Raised when stock cannot be reserved."""
