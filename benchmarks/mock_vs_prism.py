"""Purge throughput of `cdn-contract mock` beside Prism 5 serving the same spec and WireMock 3
serving a static stub of the purge, under wrk.

The servers run at the same time on loopback, are warmed up, then measured in turns with
the same wrk load (rate limit off, validation on, access logs off), several rounds so that
a noisy moment of the machine hits both. Prints requests/s, p50 and p99 latency of every
round, the medians, and the ratios of the medians; asserts nothing.

    .venv/bin/python benchmarks/mock_vs_prism.py [--seconds 8] [--rounds 3] [--connections 32]
        [--db PATH] [--port 18931]

Needs `wrk` (Debian package `wrk`), Prism (`npm install @stoplight/prism-cli@5`; found on
PATH, in $PRISM, or in ./node_modules/.bin and /tmp/prism/node_modules/.bin) and WireMock
(`npm install wiremock@3`, which ships the jar, and Java 17; in $WIREMOCK_JAR, ./node_modules
or /tmp/wiremock/node_modules). A peer that is missing is left out, and said so.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from peers import (
    LOAD_ARGS,
    ROOT,
    find_prism,
    find_wiremock,
    in_turns,
    medians,
    need_wrk,
    purge_url,
    ratios,
    start_wiremock,
    stop,
    wait,
    wrk,
)

SPEC = ROOT / "spec" / "cdn-2016-08.openapi.yaml"
SAMPLE_SERVICE = "96737ae3-cfc1-4c72-be88-5d0e7cc9a3f0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=8, help="length of one measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per server")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--port", type=int, default=18931, help="the first of the three "
                        "loopback ports the servers listen on")
    parser.add_argument("--db", default=":memory:", help="the mock's --db (a file: WAL, a "
                        "commit per purge)")
    args = parser.parse_args()
    need_wrk()
    prism, wiremock = find_prism(), find_wiremock()
    ours_port, prism_port, wiremock_port = args.port, args.port + 1, args.port + 2
    stubs = tempfile.TemporaryDirectory()
    mock = [sys.executable, "-m", "contract", "mock", "--quiet", *LOAD_ARGS,
            "--port", str(ours_port), "--db", args.db]
    servers = [subprocess.Popen(mock, cwd=ROOT)]
    if prism:
        servers.append(subprocess.Popen([prism, "mock", "-p", str(prism_port), "-v", "silent",
                                         str(SPEC)], stdout=subprocess.DEVNULL))
    if wiremock:
        servers.append(start_wiremock(wiremock, wiremock_port, Path(stubs.name)))
    try:
        ours = f"http://127.0.0.1:{ours_port}"
        wait(f"{ours}/__mock__/health")
        targets = {"cdn-contract mock": purge_url(ours)}
        if prism:
            base = f"http://127.0.0.1:{prism_port}"
            wait(f"{base}/v1.0/110011/ping")
            targets["prism 5"] = (f"{base}/v1.0/110011/services/{SAMPLE_SERVICE}/assets"
                                  "?url=/images/logo.png")
        if wiremock:
            base = f"http://127.0.0.1:{wiremock_port}"
            wait(f"{base}/__admin/health")
            targets["wiremock 3"] = (f"{base}/v1.0/110011/services/{SAMPLE_SERVICE}/assets"
                                     "?url=/images/logo.png")
            wrk(targets["wiremock 3"], 5, args.connections)  # the JVM's JIT, beyond in_turns'
        print(f"purge (DELETE .../assets), wrk -t2 -c{args.connections} -d{args.seconds}s, "
              f"{args.rounds} rounds in turns, mock --db {args.db}")
        results = in_turns(targets, args.seconds, args.rounds, args.connections)
        medians(results)
        if "prism 5" in results:
            ratios(results, "cdn-contract mock", "prism 5", 5)
        else:
            print("prism not found: npm install @stoplight/prism-cli@5 (or set $PRISM)")
        if "wiremock 3" in results:
            ratios(results, "cdn-contract mock", "wiremock 3", 1.5)
        else:
            print("wiremock not found: npm install wiremock@3 (or set $WIREMOCK_JAR)")
    finally:
        stop(servers)
        stubs.cleanup()


if __name__ == "__main__":
    main()
