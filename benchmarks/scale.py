"""What each operation costs the mock as its state grows: 100, 10,000 and 100,000 services.

A mock shared by a whole organisation, or a load test that creates services, holds many:
every operation must cost the same whatever the number stored (issue 34). For each store
(SQLite in memory, a SQLite file, PostgreSQL on a throwaway loopback server), this seeds
services through the store itself (spread over 4 projects, each with its own domain),
then times, in the mock's own process (its handlers and commit, no HTTP in between, so
the figures are the state's part of the cost):

- create: a new service (S37's check included), committed;
- get: one service by id;
- list first / list deep: a page of 20, from the start and after a marker near the end;
- purge: a hard purge of one file (rate limit off), committed;
- edge after write: the edge's routing of a host whose service was just written.

It prints p50 and p99 per operation and size, and the ratio of the p50 at the largest size
to the p50 at the smallest (the target: at most 1.5x). Asserts nothing.

    .venv/bin/python benchmarks/scale.py [--sizes 100,10000,100000] [--samples 300]
        [--stores memory,file,postgresql]

PostgreSQL needs Debian's `postgresql` package (as `make test` does).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from peers import ROOT

from contract.checks.messages import Incoming
from contract.mock.app import MockApp
from contract.mock.edge.server import Edge
from contract.mock.serve import create_app
from contract.mock.settings import MockSettings
from contract.mock.state.hosts import service_hosts

sys.path.insert(0, str(ROOT))  # the tests' throwaway PostgreSQL server, reused
from tests.postgres import postgres

PROJECTS = 4  # 25 services each at the smallest size: every page listed is a full one
PAGE = 20
TOKEN = {"x-auth-token": "t"}
OPERATIONS = ["create", "get", "list first", "list deep", "purge", "edge after write"]


def stored(number: int) -> dict[str, Any]:
    """A deployed service as the mock stores it, with a domain of its own."""
    return {"id": str(uuid.UUID(int=number + 1)), "name": f"service-{number}",
            "flavor_id": "cdn", "domains": [{"domain": f"s{number}.scale.example",
                                             "protocol": "http"}],
            "origins": [{"origin": "127.0.0.1", "port": 80, "ssl": False, "rules": []}],
            "caching": [], "restrictions": [], "log_delivery": {"enabled": False},
            "_ready_at": 0.0, "_busy": "create_in_progress"}


class Bench:
    """One mock (its app and edge) on one store, seeded up to a size at a time."""

    def __init__(self, db: str):
        self.app: MockApp = create_app("2016-08", MockSettings(db=db, rate_limit=False))
        self.edge = Edge(self.app.runtime)
        self.store = self.app.runtime.store
        self.seeded = 0
        self.random = random.Random(34)

    def seed(self, size: int) -> float:
        """Services up to `size`, through the store, committed by thousands: seconds."""
        started = time.perf_counter()
        while self.seeded < size:
            document = stored(self.seeded)
            self.store.add_service(f"p{self.seeded % PROJECTS}", document, 1.0,
                                   service_hosts(document["domains"]))
            self.seeded += 1
            if self.seeded % 1000 == 0:
                self.store.commit()
        self.store.commit()
        return time.perf_counter() - started

    def answered(self, status: int, method: str, path: str,
                 query: list[tuple[str, str]] | None = None, body: bytes = b"") -> None:
        headers = {**TOKEN, "content-type": "application/json"} if body else TOKEN
        answer = self.app.answer(Incoming(method, path, query or [], headers, body))
        failed = self.app.commit()
        if answer.status != status or failed is not None:
            raise SystemExit(f"{method} {path}: {answer.status} {answer.body[:200]!r}")

    def operation(self, name: str) -> Callable[[], None]:
        """One sample of the operation, on a service picked at random."""
        number = self.random.randrange(self.seeded)
        project, service = f"p{number % PROJECTS}", stored(number)["id"]
        base = f"/v1.0/{project}/services"
        if name == "create":
            body = json.dumps({"name": "scale-create", "flavor_id": "cdn", "domains": [
                {"domain": f"{uuid.uuid4().hex}.new.example"}], "origins": [
                {"origin": "127.0.0.1"}]}).encode()
            return lambda: self.answered(202, "POST", base, body=body)
        if name == "get":
            return lambda: self.answered(200, "GET", f"{base}/{service}")
        if name == "list first":
            return lambda: self.answered(200, "GET", base, [("limit", str(PAGE))])
        if name == "list deep":  # the marker of the project's last full page
            last = self.seeded - 1 - (self.seeded - 1 - number % PROJECTS) % PROJECTS
            deep = stored(last - PROJECTS * PAGE)["id"]
            return lambda: self.answered(200, "GET", base, [("marker", deep),
                                                            ("limit", str(PAGE))])
        if name == "purge":
            return lambda: self.answered(202, "DELETE", f"{base}/{service}/assets",
                                         [("url", "/logo.png"), ("hard", "true")])
        document = stored(number)
        host = document["domains"][0]["domain"]
        self.store.replace_service(project, {**document, "name": "written"},
                                   service_hosts(document["domains"]))
        self.app.commit()
        return lambda: self.edge.service_for(host, 1.0) or _missing(host)

    def close(self) -> None:
        self.app.close()


def _missing(host: str) -> None:
    raise SystemExit(f"the edge found no service for {host}")


def measure(bench: Bench, samples: int, times: dict[str, list[float]]) -> None:
    """`samples` timings in ms of each operation, added to `times` (after a few to warm
    up)."""
    for name in OPERATIONS:
        for n in range(samples + 5):
            call = bench.operation(name)
            started = time.perf_counter()
            call()
            if n >= 5:
                times.setdefault(name, []).append((time.perf_counter() - started) * 1000)


def percentiles(times: dict[str, list[float]]) -> dict[str, tuple[float, float]]:
    """p50 and p99 of each operation's timings."""
    return {name: (statistics.median(found), sorted(found)[int(len(found) * 0.99) - 1])
            for name, found in times.items()}


@contextlib.contextmanager
def databases(store: str, sizes: list[int]) -> Iterator[dict[int, str]]:
    """A `--db` of the store per size: memory, a file in a temporary folder, a database
    of a throwaway PostgreSQL server."""
    with contextlib.ExitStack() as stack:
        if store == "memory":
            yield dict.fromkeys(sizes, ":memory:")
        elif store == "file":
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            yield {size: str(folder / f"scale-{size}.db") for size in sizes}
        else:
            server = stack.enter_context(postgres())
            yield {size: server.database(f"scale_{size}") for size in sizes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,10000,100000",
                        help="services stored, comma-separated")
    parser.add_argument("--samples", type=int, default=300, help="timings per operation")
    parser.add_argument("--rounds", type=int, default=3,
                        help="the sizes are measured in turns, this many times")
    parser.add_argument("--stores", default="memory,file,postgresql")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    print(f"p50 / p99 ms per operation, {args.samples} samples each ({args.rounds} rounds, "
          f"the sizes in turns), in the mock's process; services over {PROJECTS} projects")
    for store in args.stores.split(","):
        with databases(store, sizes) as dbs:
            benches = {size: Bench(db) for size, db in dbs.items()}
            try:
                for size, bench in benches.items():
                    seconds = bench.seed(size)
                    print(f"{store}: {size:,} services seeded in {seconds:.1f} s", flush=True)
                times: dict[int, dict[str, list[float]]] = {size: {} for size in sizes}
                for _ in range(args.rounds):
                    for size, bench in benches.items():
                        measure(bench, max(1, args.samples // args.rounds), times[size])
            finally:
                for bench in benches.values():
                    bench.close()
            report(store, sizes, {size: percentiles(times[size]) for size in sizes})


def report(store: str, sizes: list[int], results: dict[int, dict[str, tuple[float, float]]]
           ) -> None:
    header = "".join(f"{f'{size:,}':>18}" for size in sizes)
    print(f"\n{store:<18}{header}{'p50 ratio':>12}")
    for name in OPERATIONS:
        cells = "".join(f"{results[size][name][0]:>9.3f} /{results[size][name][1]:>7.3f}"
                        for size in sizes)
        ratio = results[sizes[-1]][name][0] / results[sizes[0]][name][0]
        verdict = "met" if ratio <= 1.5 else "NOT met"
        print(f"{name:<18}{cells}{ratio:>8.2f}x {verdict}")
    print(flush=True)


if __name__ == "__main__":
    main()
