# shift-point
"""Records the shop's bugs as corpus events: `python3 main.py DEPLOY SEED`.

Every (bug, entry point) case runs once; the exception an entry point lets
escape is recorded as an OpenTelemetry SDK would: type and message of the
exception caught, and `traceback.format_exc()` as the stack trace.
"""
import json
import random
import sys
import traceback
import uuid

from shop import api, cli, jobs

ENTRIES = ["api.create", "api.update", "job.sync", "cli.import"]
ALL = ENTRIES
WITH_BODY = ["api.create", "api.update", "cli.import"]
PLACING = ["api.create", "job.sync", "cli.import"]

# bug id -> (entry points that reach it, how the input is broken)
BUGS = {
    "order-json": (WITH_BODY, lambda o, s, r: ("body", '{"id": "%s", "qty": %d,' % (o["id"], r.randint(1, 9)))),
    "settings-json": (ALL, lambda o, s, r: ("settings", "{'currency': '%s'}" % r.choice(["EUR", "USD"]))),
    "items-json": (ALL, lambda o, s, r: o.update(items="[{sku: 'SKU-%d', qty: %d}]" % (r.randint(1, 2), r.randint(1, 5)))),
    "qty-invalid": (ALL, lambda o, s, r: o.update(qty=-r.randint(1, 50))),
    "email-invalid": (ALL, lambda o, s, r: o.update(email=f"user{r.randint(1, 999)}.at.example.com")),
    "customer-missing": (ALL, lambda o, s, r: o.update(customer_id=f"cus_{r.randint(1000, 9999)}")),
    "inventory-unknown-sku": (ALL, lambda o, s, r: o.update(sku=f"SKU-{r.randint(100, 999)}-X")),
    "category-cycle": (PLACING, lambda o, s, r: o.update(category=r.choice(["loop-a", "loop-b"]))),
    "payment-gateway": (ALL, lambda o, s, r: o.update(card={"token": f"tok_live_{uuid.UUID(int=r.getrandbits(128)).hex[:12]}"})),
    "ship-date": (PLACING, lambda o, s, r: o.update(ship_date=f"{r.randint(2024, 2026)}/{r.randint(13, 19)}/0{r.randint(1, 9)}")),
}


def context(rng):
    # shift-point
    customer = f"cus_{rng.randint(10, 99)}"
    return {
        "customers": {customer: {"email": f"{customer}@example.com"}},
        "stock": {"SKU-1": 100, "SKU-2": 5},
        "categories": {"shoes": "apparel", "apparel": None, "loop-a": "loop-b", "loop-b": "loop-a"},
    }, customer


def good_order(rng, customer):
    # shift-point
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128))),
        "qty": rng.randint(1, 4),
        "email": f"{customer}@example.com",
        "customer_id": customer,
        "sku": rng.choice(["SKU-1", "SKU-2"]),
        "category": "shoes",
        "amount": rng.randint(5, 500),
        "card": {"token": "tok_test_visa"},
        "ship_date": "2024-05-0%d" % rng.randint(1, 9),
        "items": json.dumps([{"sku": "SKU-1", "qty": rng.randint(1, 3)}]),
    }


def run(entry, ctx, order, settings_json, body):
    # shift-point
    if entry == "api.create":
        return api.handle_create_order(ctx, {"headers": {"x-tenant-settings": settings_json}, "body": body})
    if entry == "api.update":
        return api.handle_update_order(ctx, {"headers": {"x-tenant-settings": settings_json}, "body": body})
    if entry == "job.sync":
        return jobs.nightly_sync(ctx, {"config": settings_json, "rows": [order]})
    return cli.import_command(ctx, ["shop", "import", settings_json, body])


def main():
    # shift-point
    deploy, seed = sys.argv[1], int(sys.argv[2])
    for bug, (entries, breaker) in BUGS.items():
        for entry in entries:
            rng = random.Random(f"{seed}/{bug}/{entry}")
            ctx, customer = context(rng)
            order = good_order(rng, customer)
            settings_json = json.dumps({"currency": "EUR", "tenant": customer})
            broken = breaker(order, settings_json, rng)
            body = json.dumps(order)
            if broken and broken[0] == "body":
                body = broken[1]
            if broken and broken[0] == "settings":
                settings_json = broken[1]
            try:
                run(entry, ctx, order, settings_json, body)
            except Exception as exc:  # noqa: BLE001 - every escape is an event
                event = {
                    "label": f"python/{bug}",
                    "language": "python",
                    "type": type(exc).__name__,
                    "message": str(exc),
                    "stacktrace": traceback.format_exc(),
                    "service": "corpus-python",
                    "entry": entry,
                    "deploy": deploy,
                }
                print(json.dumps(event))
            else:
                sys.exit(f"{bug} via {entry} did not fail")


if __name__ == "__main__":
    main()
