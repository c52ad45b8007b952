"""Schemathesis hooks for Ledgerline (loaded through SCHEMATHESIS_HOOKS by
scripts/schemathesis.sh).

- Auth: every request carries a bearer token of the demo owner. Logout gets a
  fresh token of its own each time, so it never revokes the one the other
  operations share. Logins for tokens come from 127.0.0.2, another loopback
  address than the fuzzer's, so the per-address login throttle that the
  fuzzer's own random logins trip never locks the token supply out.
- The list's `after=` has the format `ledgerline-page-cursor`: the `next` of
  a previous page, base64url of "YYYY-MM-DD|<id>". Generated values are
  well-formed ones (pointing anywhere), as a client would send; the coverage
  phase does not know the format and picks strings by the pattern alone, so
  a pattern-valid value that is no such cursor is replaced by one that is.
- Rules JSON Schema cannot state (they are in the operations' descriptions):
  `from` <= `to`, and a profit-loss range of at most 3660 days. Valid days
  that break them are put in order / cut to the range before the request.
"""

import base64
import datetime
import http.client
import json
import os
import re
from urllib.parse import urlparse

import schemathesis
from hypothesis import strategies as st

URL = urlparse(os.environ["LEDGERLINE_URL"])
EMAIL = "owner@demo.test"
PASSWORD = os.environ.get("LEDGERLINE_PASSWORD", "demo")


def login() -> str:
    connection = http.client.HTTPConnection(
        URL.hostname, URL.port, timeout=30, source_address=("127.0.0.2", 0)
    )
    body = json.dumps({"email": EMAIL, "password": PASSWORD})
    connection.request(
        "POST", "/v1/auth/login", body, {"Content-Type": "application/json"}
    )
    response = connection.getresponse()
    data = response.read()
    if response.status != 200:
        raise RuntimeError(f"login for the fuzzer failed: {response.status} {data!r}")
    return json.loads(data)["token"]


@schemathesis.auth(refresh_interval=None)
class Bearer:
    def __init__(self):
        self.shared = None

    def get(self, case, context):
        if case.operation.path == "/v1/auth/logout":
            return login()
        if self.shared is None:
            self.shared = login()
        return self.shared

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


def _day(value):
    if not isinstance(value, str):
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


def _is_page_cursor(value):
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        day, row_id = raw.split("|", 1)
        datetime.date.fromisoformat(day)
        return bool(row_id) and len(value) <= 256 and len(day) == 10
    except (ValueError, UnicodeDecodeError):
        return False


@schemathesis.hook
def before_call(context, case, kwargs):
    """Every phase's requests (the coverage phase bypasses the query hooks)."""
    query = case.query
    if not query:
        return
    after = query.get("after")
    if isinstance(after, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,256}", after):
        if not _is_page_cursor(after):
            query["after"] = _page_cursor(datetime.date(2026, 11, 20), after[:40])
    start, end = _day(query.get("from")), _day(query.get("to"))
    if start is None or end is None:
        return
    if start > end:
        start, end = end, start
    if case.operation.path == "/v1/reports/profit-loss" and (end - start).days > 3660:
        end = start + datetime.timedelta(days=3660)
    query["from"], query["to"] = start.isoformat(), end.isoformat()


def _page_cursor(day, row_id):
    raw = f"{day.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


schemathesis.openapi.format(
    "ledgerline-page-cursor",
    st.builds(
        _page_cursor,
        st.dates(datetime.date(1900, 1, 1), datetime.date(9999, 12, 31)),
        st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=40),
    ),
)
