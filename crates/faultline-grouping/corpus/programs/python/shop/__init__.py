# shift-point
"""A tiny shop whose bugs feed Faultline's grouping corpus."""
