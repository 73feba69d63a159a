# shift-point
from datetime import datetime


def parse_ship_date(text):
    # shift-point
    return datetime.strptime(text, "%Y-%m-%d").date()
