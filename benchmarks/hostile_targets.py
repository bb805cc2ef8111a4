"""conform against hostile targets (issue 45): each attack of tests/hostile_peer.py at full
size, served in place of the preflight's flavors by a hostile server in front of a real
mock; prints conform's peak RSS (the issue's bound: 300 MB), wall time and exit code per
attack, with the default bounds. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/hostile_targets.py
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from peers import ROOT

sys.path.insert(0, str(ROOT))

from tests.hostile_peer import (
    Exchange,
    bomb,
    deep_json,
    endless_chunks,
    hostile_peer,
    huge_body,
    json_answer,
    run_measured,
    trickle,
)
from tests.servers import run_mock

TOKEN = "bench"
LISTING = json_answer(b'{"services": [' + b",".join(
    [b'{"id": "x", "name": "n"}'] * 2_000_000) + b'], "links": []}')
ATTACKS: dict[str, Callable[[], Any]] = {
    "2 GiB body": lambda: huge_body(2 << 30),
    "endless chunked body": endless_chunks,
    "gzip bomb (2 GiB inflated)": lambda: bomb(2 << 30, "gzip"),
    "deflate bomb (2 GiB inflated)": lambda: bomb(2 << 30, "deflate"),
    "2M-service list (80 MB)": lambda: LISTING,
    "a byte every 5 s": lambda: trickle(5.0),
    "100k-deep JSON": lambda: deep_json(100_000),
}


def main() -> None:
    print(f"{'attack':32} {'peak RSS':>9} {'wall':>7} exit  what conform said")
    with run_mock("2016-08", "--time-scale", "0.01", "--tokens", TOKEN) as base:
        for name, make in ATTACKS.items():
            made = make()

            def script(request: Exchange, made: Any = made) -> Any:
                return made if request.target.endswith("/flavors") else None

            with hostile_peer(script, upstream=base) as peer:
                done, rss, seconds = run_measured(
                    [sys.executable, "-m", "contract", "conform", "--base-url", peer.url,
                     "--token", TOKEN, "--checks", "api", "--workers", "1"], timeout=600)
            said = done.stderr.strip().splitlines()[-2][-70:] if done.stderr else ""
            print(f"{name:32} {rss:7.0f}MB {seconds:6.1f}s {done.returncode:4}  {said}",
                  flush=True)


if __name__ == "__main__":
    main()
