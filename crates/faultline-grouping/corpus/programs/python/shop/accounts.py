# shift-point
import re

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")


def check_email(email):
    # shift-point
    if not EMAIL.match(email):
        # shift-point
        raise ValueError(f"invalid email address {email!r}")
    return email.lower()
