# shift-point


def load_customer(customers, customer_id):
    # shift-point
    record = customers[customer_id]
    # shift-point
    return {"id": customer_id, "email": record["email"], "tier": record.get("tier", "basic")}
