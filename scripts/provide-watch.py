#!/usr/bin/env python3
"""Watches the DHT requests a set of rsipfs nodes answer (`stats dht`, both
DHTs summed) while someone provides into them. Starts from the counts at
launch; ends once ADD_PROVIDER has grown and then stayed still for QUIET
seconds (or at DEADLINE). Prints one JSON line: the requests of each kind
that arrived, and the seconds from the first ADD_PROVIDER seen until 99% of
them had arrived.
    provide-watch.py QUIET DEADLINE API_ADDR...   (API_ADDR: host:port)"""
import json
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

quiet, deadline = float(sys.argv[1]), float(sys.argv[2])
apis = sys.argv[3:]


def counts(api):
    url = f"http://{api}/api/v0/stats/dht"
    with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=10) as r:
        total = {}
        for line in r.read().decode().splitlines():
            for kind, n in json.loads(line).get("RequestsAnswered", {}).items():
                total[kind] = total.get(kind, 0) + n
        return total


def snapshot(pool):
    total = {}
    for one in pool.map(counts, apis):
        for kind, n in one.items():
            total[kind] = total.get(kind, 0) + n
    return total


with ThreadPoolExecutor(len(apis)) as pool:
    base = snapshot(pool)
    print(json.dumps({"watching": len(apis)}), flush=True)
    start = time.monotonic()
    samples = []  # (time, ADD_PROVIDER so far)
    last_growth = None
    while time.monotonic() - start < deadline:
        now = snapshot(pool)
        t = time.monotonic()
        added = now.get("ADD_PROVIDER", 0) - base.get("ADD_PROVIDER", 0)
        if not samples or added > samples[-1][1]:
            last_growth = t if added > 0 else last_growth
        samples.append((t, added))
        if last_growth is not None and t - last_growth >= quiet:
            break
        time.sleep(0.25)
    final = samples[-1][1]
    first = next((t for t, n in samples if n > 0), None)
    at99 = next((t for t, n in samples if n >= 0.99 * final), None) if final else None
    delta = {k: now.get(k, 0) - base.get(k, 0) for k in now}
    print(json.dumps({
        "requests": delta,
        "add_provider": final,
        "seconds_to_99": round(at99 - first, 2) if first is not None and at99 is not None else None,
        "timed_out": last_growth is None or time.monotonic() - start >= deadline,
    }), flush=True)
