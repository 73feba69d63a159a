"""User records, as the service would load them from its database."""

# Some users never gave an email address.
USERS = {
    7: {"name": "Ada", "plan": "pro"},
    8: {"name": "Grace", "plan": "free", "email": "grace@example.com"},
    9: {"name": "Alan", "plan": "free"},
}


def lookup_user(user_id):
    record = USERS[user_id]
    # The bug: assumes every user has an email address.
    return {"id": user_id, "name": record["name"], "email": record["email"]}
