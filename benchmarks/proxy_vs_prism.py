"""`cdn-contract proxy` beside `prism proxy`, both in front of the same upstream, under wrk.

The upstream is our mock (rate limit off). Both proxies validate requests and responses
against the 2016-08 spec and forward to it; the same wrk load (purges) hits each in turns,
several rounds, and the mock alone is measured too, as the ceiling. Prints every round, the
medians and the ratios (target: our req/s >= 5x Prism's, p99 <= Prism's); asserts nothing.

    .venv/bin/python benchmarks/proxy_vs_prism.py [--seconds 8] [--rounds 3]
        [--connections 32] [--engine compiled]

Needs `wrk` (Debian package `wrk`) and Prism (`npm install @stoplight/prism-cli@5`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from peers import (
    LOAD_ARGS,
    ROOT,
    find_prism,
    in_turns,
    medians,
    need_wrk,
    purge_url,
    ratios,
    stop,
    wait,
)

SPEC = ROOT / "spec" / "cdn-2016-08.openapi.yaml"
UPSTREAM, OURS, PRISM = 18941, 18942, 18943


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=8, help="length of one measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per server")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--engine", default="compiled", choices=["compiled", "openapi-core"])
    args = parser.parse_args()
    need_wrk()
    prism = find_prism()
    upstream = f"http://127.0.0.1:{UPSTREAM}"
    servers = [
        subprocess.Popen([sys.executable, "-m", "contract", "mock", "--quiet", *LOAD_ARGS,
                          "--port", str(UPSTREAM)], cwd=ROOT),
        subprocess.Popen([sys.executable, "-m", "contract", "proxy", "--upstream", upstream,
                          "--port", str(OURS), "--engine", args.engine, "--log", "/dev/null"],
                         cwd=ROOT, stderr=subprocess.DEVNULL)]
    if prism:
        servers.append(subprocess.Popen([prism, "proxy", "-p", str(PRISM), "-v", "silent",
                                         "--errors", str(SPEC), upstream],
                                        stdout=subprocess.DEVNULL))
    try:
        wait(f"{upstream}/__mock__/health")
        path = purge_url(upstream).removeprefix(upstream)
        targets = {f"cdn-contract proxy ({args.engine})": f"http://127.0.0.1:{OURS}{path}"}
        wait(f"http://127.0.0.1:{OURS}/v1.0/110011/ping")
        if prism:
            wait(f"http://127.0.0.1:{PRISM}/v1.0/110011/ping")
            targets["prism 5 proxy"] = f"http://127.0.0.1:{PRISM}{path}"
        targets["mock alone (upstream)"] = upstream + path
        print(f"purge through each proxy to the same mock, wrk -t2 -c{args.connections} "
              f"-d{args.seconds}s, {args.rounds} rounds in turns")
        results = in_turns(targets, args.seconds, args.rounds, args.connections)
        medians(results)
        if prism:
            ratios(results, next(iter(targets)), "prism 5 proxy", 5)
        else:
            print("prism not found: npm install @stoplight/prism-cli@5 (or set $PRISM)")
    finally:
        stop(servers)


if __name__ == "__main__":
    main()
