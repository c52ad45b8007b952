#!/usr/bin/env python3
"""Turn the generator's JSON lines into the comparison table (markdown, also
printed) and a plot of latency and memory against waiters, all systems.

    report.py results.jsonl --md out.md --png out.png --machine "…" --workload "…"
"""

import argparse
import json
import sys

DEFINITIONS = """\
- **RSS / idle waiter**: (VmRSS of the server's processes once every waiter is
  parked and memory has settled − VmRSS before the first waiter connected) / waiters.
  Nchan: nginx master + worker. Pushpin: runner, condure, pushpin-proxy,
  pushpin-handler and zurl (the GRIP backend is not counted: it holds nothing).
- **p50 / p99 / max**: publish → delivery, from the instant the generator stamps
  an event right before writing the publish request (Ledgerline: `POST
  /v1/transactions`, so the SQLite commit is inside the figure; Nchan: `POST
  /pub/<org>`; Pushpin: `POST /publish/`) to the instant a waiter has read the
  whole poll response carrying it. One clock, one process.
- **publish RTT**: the publish request's own round trip (for Ledgerline: parse,
  auth, insert + event + commit, hand to the hub, respond).
- **after response**: delivery − the publish request's response, clamped at
  0 (deliveries read before their publish response count as 0): the part of
  the latency left once the publisher has been told "accepted". For
  Ledgerline this excludes the SQLite write; it is the hub's wake-up, the
  poll's JSON and the socket.
- **deliveries/s**: distinct events received by all waiters / (last delivery −
  first publish).
- **lost**: Σ over waiters of (events accepted for its org − distinct events it
  received) after a drain of up to 5 s. Duplicates are counted apart.
"""


def fmt_bytes(b):
    return f"{b / 1024:.1f} KiB" if abs(b) >= 1024 else f"{b:.0f} B"


def fmt_us(us):
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.0f} µs"


def after(r):
    a = r.get("after_publish_response")
    if not a or not a.get("count"):
        return "—"
    return f"{fmt_us(a['p50_us'])} / {fmt_us(a['p99_us'])}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("jsonl")
    ap.add_argument("--md", required=True)
    ap.add_argument("--png", required=True)
    ap.add_argument("--machine", default="")
    ap.add_argument("--workload", default="")
    ap.add_argument("--load", default="")
    ap.add_argument("--server", default="", help="which Ledgerline server build was measured")
    args = ap.parse_args()

    rows = [json.loads(line) for line in open(args.jsonl) if line.strip()]
    order = {"ledgerline": 0, "nchan": 1, "pushpin": 2}
    rows.sort(key=lambda r: (r["waiters"], order.get(r["target"], 9)))

    head = ("| system | waiters | RSS / idle waiter | p50 | p99 | max | publish RTT p50 "
            "| after response p50 / p99 | deliveries/s | lost | dup | errors |")
    sep = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    lines = [head, sep]
    for r in rows:
        lat = r["latency"]
        waiters = f"{r['parked']:,}" if r["parked"] == r["waiters"] else f"{r['parked']:,} of {r['waiters']:,}"
        lines.append(
            f"| {r['target']} | {waiters} | {fmt_bytes(r['rss_per_waiter_bytes'])} "
            f"| {fmt_us(lat['p50_us'])} | {fmt_us(lat['p99_us'])} | {fmt_us(lat['max_us'])} "
            f"| {fmt_us(r['publish_round_trip']['p50_us'])} "
            f"| {after(r)} "
            f"| {r['deliveries_per_s']:,.0f} | {r['lost']} | {r['duplicates']} | {r['errors']} |"
        )
    table = "\n".join(lines)
    print(table)

    loads = ", ".join(sorted({f"{r['target']}@{r['waiters']}: {r['loadavg_start']}" for r in rows}))
    md = [
        "# Long-poll benchmark: Ledgerline vs Nchan vs Pushpin",
        "",
        f"Machine: {args.machine}.  ",
        f"Workload: {args.workload}.  ",
        f"Ledgerline server: {args.server}.  " if args.server else "",
        f"Load average at the end: {args.load} (other builds running on the machine make figures noisy).",
        "",
        table,
        "",
        "## Definitions",
        "",
        DEFINITIONS,
        "## Load average at the start of each run",
        "",
        loads,
        "",
        f"![latency and memory vs waiters]({args.png.rsplit('/', 1)[-1]})",
        "",
    ]
    with open(args.md, "w") as f:
        f.write("\n".join(md))

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plot", file=sys.stderr)
        return
    fig, (ax_mem, ax_lat) = plt.subplots(1, 2, figsize=(12, 4.5))
    for target in sorted({r["target"] for r in rows}, key=lambda t: order.get(t, 9)):
        rs = [r for r in rows if r["target"] == target]
        xs = [r["parked"] for r in rs]
        ax_mem.plot(xs, [r["rss_per_waiter_bytes"] / 1024 for r in rs], marker="o", label=target)
        p = ax_lat.plot(xs, [r["latency"]["p99_us"] / 1000 for r in rs], marker="o", label=f"{target} p99")
        ax_lat.plot(xs, [r["latency"]["p50_us"] / 1000 for r in rs], marker="x", linestyle="--",
                    color=p[0].get_color(), label=f"{target} p50")
    ax_mem.axhline(8, color="grey", linestyle=":", label="target 8 KiB")
    ax_lat.axhline(2, color="grey", linestyle=":", label="target p99 2 ms")
    for ax in (ax_mem, ax_lat):
        ax.set_xscale("log")
        ax.set_xlabel("parked waiters")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    ax_mem.set_ylabel("RSS per idle waiter (KiB)")
    ax_lat.set_ylabel("publish → delivery (ms)")
    ax_lat.set_yscale("log")
    fig.suptitle(f"Long-poll: {args.machine}", fontsize=9)
    fig.tight_layout()
    fig.savefig(args.png, dpi=110)


if __name__ == "__main__":
    main()
