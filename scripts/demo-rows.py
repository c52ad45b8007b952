#!/usr/bin/env python3
"""Adds a month of sample revenues and expenses to the demo org through the
server's API, so `make run` opens on a working page. Idempotent: every row has
a fixed client_mutation_id, so running it again creates nothing new.

    scripts/demo-rows.py http://127.0.0.1:8787
"""
import datetime
import json
import random
import sys
import urllib.error
import urllib.request

base = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8787"


def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(req, data, timeout=10) as r:
        return json.loads(r.read() or b"null")


login = call("POST", "/v1/auth/login", {"email": "owner@demo.test", "password": "demo"})
token, properties = login["token"], login["properties"]
today = datetime.date.today()
rng = random.Random(7)  # the same rows every time
revenue = [("Rooms", 45_000, 180_000), ("Restaurant", 8_000, 60_000), ("Bar", 2_000, 25_000), ("Spa", 5_000, 30_000)]
expense = [("Payroll", 60_000, 150_000), ("Linen", 4_000, 15_000), ("Utilities", 9_000, 30_000), ("Supplies", 1_500, 12_000)]
created = 0
for day in range(today.day):
    on = today.replace(day=day + 1)
    for n, prop in enumerate(properties[:3]):
        for kind, table in (("revenue", revenue), ("expense", expense)):
            category, lo, hi = rng.choice(table)
            body = {
                "kind": kind, "property_id": prop["id"], "amount_minor": rng.randint(lo, hi),
                "currency": "USD", "category": category, "memo": f"{category} {on:%b %d}",
                "occurred_on": on.isoformat(), "client_mutation_id": f"demo-{on}-{n}-{kind}",
            }
            try:
                call("POST", "/v1/transactions", body, token)
                created += 1
            except urllib.error.HTTPError as e:
                sys.exit(f"demo rows: {e.code} {e.read().decode()}")
call("POST", "/v1/auth/logout", None, token)
print(f"demo rows: {created} sample transactions in place for {today:%B %Y}")
