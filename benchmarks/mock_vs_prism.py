"""Purge throughput of `cdn-contract mock` beside Prism 5 serving the same spec, under wrk.

Both servers run at the same time on loopback, are warmed up, then measured in turns with
the same wrk load (rate limit off, validation on, access logs off), several rounds so that
a noisy moment of the machine hits both. Prints requests/s, p50 and p99 latency of every
round, the medians, and the ratios of the medians; asserts nothing.

    .venv/bin/python benchmarks/mock_vs_prism.py [--seconds 8] [--rounds 3] [--connections 32]
        [--db PATH]

Needs `wrk` (Debian package `wrk`) and Prism (`npm install @stoplight/prism-cli@5`; found on
PATH, in $PRISM, or in ./node_modules/.bin and /tmp/prism/node_modules/.bin).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from contract.conform.target import SERVICE_BODY

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "cdn-2016-08.openapi.yaml"
SAMPLE_SERVICE = "96737ae3-cfc1-4c72-be88-5d0e7cc9a3f0"
LUA = """wrk.method = "DELETE"
wrk.headers["X-Auth-Token"] = "0f6e9f63600142f0a970911583522217"
"""


def find_prism() -> str | None:
    candidates = [os.environ.get("PRISM"), shutil.which("prism"),
                  str(ROOT / "node_modules/.bin/prism"), "/tmp/prism/node_modules/.bin/prism"]
    return next((c for c in candidates if c and Path(c).exists()), None)


def wait(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answered at {url} after {timeout:.0f} s")


def wrk(url: str, seconds: int, connections: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA)
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "-s", script.name, url], capture_output=True, text=True,
                         check=True).stdout
    os.unlink(script.name)
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for label in ("50", "99"):
        value, unit = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out).groups()
        figures[f"p{label}"] = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    statuses = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    figures["non_2xx"] = float(statuses.group(1)) if statuses else 0.0
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=8, help="length of one measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per server")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--db", default=":memory:", help="the mock's --db (a file: WAL, a "
                        "commit per purge)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    prism = find_prism()
    ours_port, prism_port = 18931, 18932
    mock = [sys.executable, "-m", "contract", "mock", "--quiet", "--no-rate-limit",
            "--port", str(ours_port), "--db", args.db]
    servers = [subprocess.Popen(mock, cwd=ROOT)]
    if prism:
        servers.append(subprocess.Popen([prism, "mock", "-p", str(prism_port), "-v", "silent",
                                         str(SPEC)], stdout=subprocess.DEVNULL))
    try:
        ours = f"http://127.0.0.1:{ours_port}"
        wait(f"{ours}/__mock__/health")
        created = httpx.post(f"{ours}/v1.0/110011/services", headers={"X-Auth-Token": "t"},
                             json=SERVICE_BODY)
        service = created.headers["Location"].rsplit("/", 1)[-1]
        targets = {"cdn-contract mock": f"{ours}/v1.0/110011/services/{service}/assets"
                                        "?url=/images/logo.png"}
        if prism:
            base = f"http://127.0.0.1:{prism_port}"
            wait(f"{base}/v1.0/110011/ping")
            targets["prism 5"] = (f"{base}/v1.0/110011/services/{SAMPLE_SERVICE}/assets"
                                  "?url=/images/logo.png")
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        for url in targets.values():
            wrk(url, 2, args.connections)  # warm-up (Node's JIT, our caches)
        load = f"wrk -t2 -c{args.connections} -d{args.seconds}s"
        print(f"purge (DELETE .../assets), {load}, {args.rounds} rounds in turns, "
              f"mock --db {args.db}")
        print(f"{'server':<20}{'round':>6}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}"
              f"{'non-2xx':>10}")
        for number in range(1, args.rounds + 1):
            for name, url in targets.items():
                r = wrk(url, args.seconds, args.connections)
                rounds[name].append(r)
                print(f"{name:<20}{number:>6}{r['rps']:>10.0f}{r['p50']:>10.2f}"
                      f"{r['p99']:>10.2f}{r['non_2xx']:>10.0f}", flush=True)
        medians = {name: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
                   for name, runs in rounds.items()}
        for name, m in medians.items():
            print(f"{name:<20}{'median':>6}{m['rps']:>10.0f}{m['p50']:>10.2f}{m['p99']:>10.2f}"
                  f"{m['non_2xx']:>10.0f}")
        if "prism 5" in medians:
            a, b = medians["cdn-contract mock"], medians["prism 5"]
            each = [x["rps"] / y["rps"] for x, y in zip(rounds["cdn-contract mock"],
                                                       rounds["prism 5"], strict=True)]
            print(f"ratio req/s (ours / prism, medians): {a['rps'] / b['rps']:.1f}x "
                  f"(per round {min(each):.1f}x to {max(each):.1f}x; target >= 5x)")
            print(f"ratio p99 (ours / prism, medians): {a['p99'] / b['p99']:.2f} (target <= 1)")
        else:
            print("prism not found: npm install @stoplight/prism-cli@5 (or set $PRISM)")
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
