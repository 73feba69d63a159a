# shift-point
import json


def read_settings(raw):
    # shift-point
    settings = json.loads(raw)
    # shift-point
    return {"currency": settings.get("currency", "EUR"), **settings}
