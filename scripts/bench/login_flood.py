"""The login flood of scripts/bench-login.sh: stdlib only, loopback only.

usage: login_flood.py URL SERVER_PID PROFILE
"""

import collections
import http.client
import json
import sys
import threading
import time
from urllib.parse import urlparse

URL = urlparse(sys.argv[1])
PID = sys.argv[2]
PROFILE = sys.argv[3]
FLOOD = 400


def rss_kib(field):
    with open(f"/proc/{PID}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def login(email, password, source="127.0.0.1"):
    connection = http.client.HTTPConnection(
        URL.hostname, URL.port, timeout=60, source_address=(source, 0)
    )
    started = time.perf_counter()
    connection.request(
        "POST",
        "/v1/auth/login",
        json.dumps({"email": email, "password": password}),
        {"Content-Type": "application/json"},
    )
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status, time.perf_counter() - started


def flood(name, target):
    statuses = collections.Counter()
    lock = threading.Lock()
    gate = threading.Barrier(FLOOD + 1)

    def attacker(i):
        email, source = target(i)
        gate.wait()
        try:
            status, _ = login(email, "wrong-guess", source)
        except OSError as error:
            status = type(error).__name__
        with lock:
            statuses[status] += 1

    threads = [threading.Thread(target=attacker, args=(i,)) for i in range(FLOOD)]
    for thread in threads:
        thread.start()
    gate.wait()
    started = time.perf_counter()
    time.sleep(0.05)
    legit_status, legit_latency = login("owner@demo.test", "demo", "127.0.1.1")
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    codes = ", ".join(f"{n}x {code}" for code, n in sorted(statuses.items(), key=str))
    print(
        f"{name}: {FLOOD} attempts in {elapsed:.2f} s ({FLOOD / elapsed:.0f}/s): {codes}; "
        f"colleague's login {legit_status} in {legit_latency * 1000:.0f} ms; "
        f"server peak RSS {rss_kib('VmHWM') / 1024:.1f} MiB, now {rss_kib('VmRSS') / 1024:.1f} MiB, {rss_kib('Threads')} threads"
    )


print(f"login flood against the {PROFILE} build; RSS before: {rss_kib('VmRSS') / 1024:.1f} MiB")
flood("one account, one address", lambda i: ("manager@demo.test", "127.0.0.2"))
flood(
    "unknown accounts, 400 addresses",
    lambda i: (f"nobody{i}@demo.test", f"127.0.{2 + i // 250}.{1 + i % 250}"),
)
