"""Memory of `cdn-contract mock` under a long purge load: RSS before and after, the jobs it
still lists, and how long /__mock__/jobs takes, with the default bounds (--job-retention,
--max-jobs) beside a store that keeps (almost) everything. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/soak.py [--seconds 60] [--connections 32]

Needs `wrk` (Debian package `wrk`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import httpx
from peers import ROOT, need_wrk, purge_url, wait, wrk

PORT = 18951


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def soak(label: str, extra: list[str], seconds: int, connections: int) -> None:
    mock = subprocess.Popen([sys.executable, "-m", "contract", "mock", "--quiet",
                             "--no-rate-limit", "--port", str(PORT), *extra], cwd=ROOT,
                            stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{PORT}"
        wait(f"{base}/__mock__/health")
        url = purge_url(base)
        service = url.split("/services/")[1].split("/")[0]
        before = rss_mb(mock.pid)
        load = wrk(url, seconds, connections)
        after = rss_mb(mock.pid)
        started = time.perf_counter()
        page = httpx.get(f"{base}/__mock__/jobs", params={"service_id": service},
                         timeout=120)
        took = time.perf_counter() - started
        counters = httpx.get(f"{base}/v1.0/110011/services/{service}/analytics",
                             headers={"X-Auth-Token": "t"}).json()["counters"]
        print(f"{label:<34}{load['rps']:>9.0f}{load['rps'] * seconds:>12,.0f}"
              f"{before:>9.0f}{after:>9.0f}{len(page.content) / 1e6:>11.1f}{took:>8.2f}"
              f"{counters.get('purge_requests', 0):>12,}")
    finally:
        mock.terminate()
        mock.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="length of each load")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    need_wrk()
    print(f"purge load, wrk -t2 -c{args.connections} -d{args.seconds}s, mock in memory")
    print(f"{'mock':<34}{'req/s':>9}{'purges':>12}{'RSS MB':>9}{'after':>9}"
          f"{'page MB':>11}{'page s':>8}{'counted':>12}")
    soak("defaults (100,000 jobs at most)", [], args.seconds, args.connections)
    soak("--max-jobs 100000000", ["--max-jobs", "100000000"], args.seconds, args.connections)


if __name__ == "__main__":
    main()
