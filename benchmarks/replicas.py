"""Purges per second of mock replicas sharing PostgreSQL, beside one process on SQLite.

Runs a throwaway PostgreSQL server on loopback (Debian's package, as `make test` does) and
measures, in turns, under the same wrk load (purges, rate limit off):

- one process on a SQLite file (the embedded default, durable like PostgreSQL);
- one replica on PostgreSQL;
- two replicas on PostgreSQL, each under half the connections at once (summed).

It also counts the CPU time each purge costs the mock and PostgreSQL's processes, and from
it what N replicas on N cores would do and where PostgreSQL becomes the bottleneck; then
sends 64 purges at once spread over the two replicas with the rate limit on, and prints
how many were accepted (the contract: 20). Prints figures; asserts nothing.

    .venv/bin/python benchmarks/replicas.py [--seconds 8] [--rounds 3] [--connections 32]
        [--port 18961]

Needs `wrk` and PostgreSQL's server (Debian packages `wrk`, `postgresql`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from peers import (
    LOAD_ARGS,
    PURGE_LUA,
    ROOT,
    Figures,
    need_wrk,
    purge_url,
    stop,
    wait,
    wrk_command,
    wrk_figures,
)

from contract.spec.variants import load_contract

sys.path.insert(0, str(ROOT))  # the tests' throwaway PostgreSQL server, reused
from tests.postgres import postgres

CLOCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of these processes so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK


def postgres_pids() -> list[int]:
    found = subprocess.run(["pgrep", "-x", "postgres"], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def mocks(db: str, count: int, first_port: int, *args: str) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, "-m", "contract", "mock", "--quiet", "--no-edge",
                              "--port", str(first_port + n), "--db", db, *args], cwd=ROOT)
            for n in range(count)]


def load(urls: list[str], seconds: int, connections: int) -> Figures:
    """wrk on every URL at once, connections split between them: summed req/s, worst
    p50/p99."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(PURGE_LUA)
    try:
        runs = [subprocess.Popen(wrk_command(url, seconds, max(1, connections // len(urls)),
                                             script.name, threads=2 // len(urls) or 1),
                                 stdout=subprocess.PIPE, text=True) for url in urls]
        outs = [run.communicate()[0] for run in runs]
    finally:
        os.unlink(script.name)
    each = [wrk_figures(out, url) for out, url in zip(outs, urls, strict=True)]
    return {"rps": sum(f["rps"] for f in each), "p50": max(f["p50"] for f in each),
            "p99": max(f["p99"] for f in each), "non_2xx": sum(f["non_2xx"] for f in each)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=8, help="length of one measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per set-up")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--port", type=int, default=18961,
                        help="the first of the 6 loopback ports the mocks listen on")
    args = parser.parse_args()
    first = args.port
    need_wrk()
    with postgres() as pg, tempfile.TemporaryDirectory() as folder:
        setups = {"1 process, SQLite file": mocks(str(Path(folder) / "mock.db"), 1, first,
                                                  *LOAD_ARGS),
                  "1 replica, PostgreSQL": mocks(pg.database("one"), 1, first + 1,
                                                 *LOAD_ARGS),
                  "2 replicas, PostgreSQL": mocks(pg.database("two"), 2, first + 2,
                                                  *LOAD_ARGS)}
        servers = [p for processes in setups.values() for p in processes]
        try:
            urls: dict[str, list[str]] = {}
            for name, processes in setups.items():
                bases = [f"http://127.0.0.1:{p.args[p.args.index('--port') + 1]}"
                         for p in processes]
                for base in bases:
                    wait(f"{base}/__mock__/health")
                path = purge_url(bases[0]).removeprefix(bases[0])
                urls[name] = [base + path for base in bases]
            report(setups, urls, args)
            exactness(pg.database("limit"), first + 4)
        finally:
            stop(servers)


def report(setups: dict[str, list[subprocess.Popen[bytes]]], urls: dict[str, list[str]],
           args: argparse.Namespace) -> None:
    for name in urls:  # warm-up
        load(urls[name], 2, args.connections)
    print(f"purges, wrk -c{args.connections} -d{args.seconds}s split over the replicas, "
          f"{args.rounds} rounds in turns")
    print(f"{'set-up':<26}{'round':>6}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}"
          f"{'mock µs':>10}{'pg µs':>10}")
    results: dict[str, list[dict[str, float]]] = {name: [] for name in urls}
    for number in range(1, args.rounds + 1):
        for name, processes in setups.items():
            pids = [p.pid for p in processes]
            before = cpu_seconds(pids), cpu_seconds(postgres_pids())
            figures = load(urls[name], args.seconds, args.connections)
            after = cpu_seconds(pids), cpu_seconds(postgres_pids())
            done = figures["rps"] * args.seconds
            row = {**figures, "mock_us": (after[0] - before[0]) / done * 1e6,
                   "pg_us": (after[1] - before[1]) / done * 1e6}
            results[name].append(row)
            print(f"{name:<26}{number:>6}{row['rps']:>10.0f}{row['p50']:>10.2f}"
                  f"{row['p99']:>10.2f}{row['mock_us']:>10.0f}{row['pg_us']:>10.0f}")
    m = {name: {key: statistics.median(r[key] for r in rows) for key in rows[0]}
         for name, rows in results.items()}
    for name, row in m.items():
        print(f"{name:<26}{'median':>6}{row['rps']:>10.0f}{row['p50']:>10.2f}"
              f"{row['p99']:>10.2f}{row['mock_us']:>10.0f}{row['pg_us']:>10.0f}")
    sqlite, one, two = (m[name] for name in setups)
    print(f"1 replica on PostgreSQL / SQLite: {one['rps'] / sqlite['rps']:.2f}x req/s; "
          f"2 replicas / 1: {two['rps'] / one['rps']:.2f}x (2 cores, wrk on them too)")
    mock_us, pg_us = one["mock_us"], one["pg_us"]
    print(f"per purge: {mock_us:.0f} µs of CPU in the mock, {pg_us:.0f} µs in PostgreSQL")
    share = pg_us / mock_us
    print(f"N replicas on N cores: about N x {1e6 / mock_us:,.0f} purges/s, as long as "
          f"PostgreSQL has {share:.2f} of a core per replica; on P cores of its own it "
          f"becomes the bottleneck past N = {1 / share:.1f} x P replicas, at "
          f"{1e6 / pg_us:,.0f} purges/s per PostgreSQL core")
    for replicas, cores in ((2, 1), (4, 2), (8, 4), (16, 8)):
        print(f"  {replicas:>2} replicas, PostgreSQL on {cores} core(s): about "
              f"{min(replicas * 1e6 / mock_us, cores * 1e6 / pg_us):,.0f} purges/s, bound by "
              f"{'the replicas' if replicas * pg_us < cores * mock_us else 'PostgreSQL'}")


def exactness(db: str, port: int) -> None:
    """64 purges at once over two replicas, rate limit on: how many were accepted."""
    servers = mocks(db, 2, port, "--tokens", "t")
    try:
        bases = [f"http://127.0.0.1:{port + n}" for n in range(2)]
        for base in bases:
            wait(f"{base}/__mock__/health")
        path = purge_url(bases[0]).removeprefix(bases[0])

        def purge(n: int) -> int:
            return httpx.delete(f"{bases[n % 2]}{path}&hard=true",
                                headers={"X-Auth-Token": "t"}, timeout=10).status_code
        with ThreadPoolExecutor(64) as pool:
            statuses = list(pool.map(purge, range(64)))
        contract = load_contract("2016-08")
        limit = contract.rate_limits[contract.purge.operation]
        print(f"rate limit: 64 purges at once over 2 replicas: {statuses.count(202)} "
              f"accepted, {statuses.count(limit.exceeded_status)} refused with "
              f"{limit.exceeded_status} (the contract: {limit.requests} per "
              f"{limit.period_seconds:g} s per {limit.scope})")
    finally:
        stop(servers)


if __name__ == "__main__":
    main()
