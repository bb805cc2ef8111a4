"""Per-request cost of the mock on its request path, in process: a purge and a GET of a
service through the app alone (`answer` and `commit`), and through its HTTP/1.1 connection
(request bytes in, response bytes out, no socket), plus a 404.

Why CPU time, the minimum of many short rounds: on a machine shared with other work, wrk's
requests/s move by 30% between rounds of the same server, which hides a change of a few
microseconds; the least CPU time a round took per request moves by a few per cent.
`--compare DIR...` runs the same measurement in other checkouts (e.g. a `git worktree` of
the commit before a change), in turns with this one, and prints each one's ratio to the
first. Figures, never assertions.

    .venv/bin/python benchmarks/request_path.py [--seconds 2] [--turns 3] [--compare DIR...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "0f6e9f63600142f0a970911583522217"
SERVICE = {"name": "mywebsite.com", "domains": [{"domain": "www.mywebsite.com"}],
           "origins": [{"origin": "mywebsite.com", "port": 80, "ssl": False}],
           "caching": [{"name": "default", "ttl": 3600}], "flavor_id": "cdn"}


def least(work: Callable[[], object], seconds: float, rounds: int = 40) -> float:
    """Microseconds of CPU time per call: the least of `rounds` rounds, after a warm-up."""
    warm = time.perf_counter() + 0.3
    while time.perf_counter() < warm:
        work()
    best = float("inf")
    for _ in range(rounds):
        count, cpu, start = 0, time.process_time(), time.perf_counter()
        while time.perf_counter() - start < seconds / rounds:
            for _ in range(50):
                work()
            count += 50
        best = min(best, (time.process_time() - cpu) / count * 1e6)
    return best


class _Transport:
    """What the connection writes to, kept in memory."""

    def __init__(self) -> None:
        self.out: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.out.append(data)

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5555), "sockname": ("127.0.0.1", 8080)}.get(name,
                                                                                      default)

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def get_write_buffer_size(self) -> int:
        return 0

    def close(self) -> None: ...

    abort = close


async def measure(seconds: float) -> dict[str, float]:
    from contract.checks.messages import Incoming, parse_query
    from contract.http.serving import Keeper
    from contract.mock import transport
    from contract.mock.serve import create_app
    from contract.mock.settings import MockSettings

    # rate limit off; jobs done in 0.6 s, so `--max-jobs` prunes finished ones as under load
    app = create_app("2016-08", MockSettings(rate_limit=False, quiet=True, time_scale=0.001))
    headers = {"x-auth-token": TOKEN}
    created = app.answer(Incoming("POST", "/v1.0/110011/services", [], {
        **headers, "content-type": "application/json"}, json.dumps(SERVICE).encode()))
    app.commit()
    service = dict(created.headers)["Location"].rsplit("/", 1)[-1]
    purge = (f"/v1.0/110011/services/{service}/assets", "url=/images/logo.png")
    get = (f"/v1.0/110011/services/{service}", "")

    def answered(method: str, path: str, query: str, status: int) -> Callable[[], None]:
        def work() -> None:
            response = app.answer(Incoming(method, path, parse_query(query), dict(headers)))
            app.commit()
            assert response.status == status, response.body
        return work

    outbox = transport.Outbox(app)
    outbox.add = lambda connection: outbox.waiting.append(connection)  # type: ignore[method-assign]
    connection = transport.Connection(app, outbox, Keeper(app.settings.limits))
    wire = _Transport()
    connection.connection_made(wire)  # type: ignore[arg-type]

    def sent(method: str, path: str, query: str, status: int) -> Callable[[], None]:
        raw = (f"{method} {path}{'?' if query else ''}{query} HTTP/1.1\r\nHost: 127.0.0.1:8080"
               f"\r\nX-Auth-Token: {TOKEN}\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n").encode()
        expected = b"HTTP/1.1 %d" % status

        def work() -> None:
            connection.data_received(raw)
            outbox.flush()
            assert wire.out.pop().startswith(expected)
        return work

    figures = {
        "app: purge": least(answered("DELETE", *purge, 202), seconds),
        "app: GET service": least(answered("GET", *get, 200), seconds),
        "app: 404": least(answered("GET", "/v1.0/110011/nothing/here", "", 404), seconds),
        "HTTP: purge": least(sent("DELETE", *purge, 202), seconds),
        "HTTP: GET service": least(sent("GET", *get, 200), seconds),
    }
    connection.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per case and turn")
    parser.add_argument("--turns", type=int, default=3, help="runs of each checkout")
    parser.add_argument("--compare", nargs="*", default=[], metavar="DIR",
                        help="other checkouts to measure in turns with this one")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(measure(args.seconds))))
        return
    trees = [ROOT, *(Path(tree).resolve() for tree in args.compare)]
    runs: dict[Path, list[dict[str, float]]] = {tree: [] for tree in trees}
    for _ in range(args.turns):
        for tree in trees:
            out = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--one", "--seconds",
                 str(args.seconds)], cwd=tree, capture_output=True, text=True, check=True,
                env={**os.environ, "PYTHONPATH": str(tree)}).stdout
            runs[tree].append(json.loads(out.splitlines()[-1]))
    cases = list(runs[ROOT][0])
    print(f"{'case':<20}" + "".join(f"{tree.name[:18]:>20}" for tree in trees)
          + "   (us of CPU per request, least of each checkout's turns; ratio to the first)")
    for case in cases:
        best = {tree: min(run[case] for run in runs[tree]) for tree in trees}
        print(f"{case:<20}" + "".join(
            f"{best[tree]:>12.1f} x{best[tree] / best[ROOT]:<6.2f}" for tree in trees)
            + f"   spread of the first: {statistics.pstdev(r[case] for r in runs[ROOT]):.1f}")


if __name__ == "__main__":
    main()
