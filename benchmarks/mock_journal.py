"""What the request journal costs the mock's purge path: a purge through the mock's
HTTP/1.1 connection (request bytes in, response bytes out, no socket), in process, with the
journal on (the default: 5000 entries) and off (`--journal 0`), coverage counted in both.

CPU time per request, the least of many short rounds (as benchmarks/request_path.py, whose
measure it shares: on a shared machine wrk's requests/s move by 30% between rounds, which
hides a few microseconds). Throughput is the inverse: prints each turn, the least of each,
and the ratio (issue 47's target: the journal on keeps >= 0.9x of its throughput off);
asserts nothing.

    .venv/bin/python benchmarks/mock_journal.py [--seconds 2] [--turns 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable

from request_path import SERVICE, TOKEN, _Transport, least


async def purge_cost(journal: int, seconds: float) -> float:
    """Microseconds of CPU per purge through the connection, the journal holding `journal`
    entries at most."""
    from contract.checks.messages import Incoming
    from contract.http.serving import Keeper
    from contract.mock import transport
    from contract.mock.serve import create_app
    from contract.mock.settings import MockSettings

    app = create_app("2016-08", MockSettings(rate_limit=False, quiet=True, time_scale=0.001,
                                             journal=journal))
    created = app.answer(Incoming("POST", "/v1.0/110011/services", [], {
        "x-auth-token": TOKEN, "content-type": "application/json"},
        json.dumps(SERVICE).encode()))
    app.commit()
    service = dict(created.headers)["Location"].rsplit("/", 1)[-1]
    outbox = transport.Outbox(app)
    outbox.add = lambda connection: outbox.waiting.append(connection)  # type: ignore[method-assign]
    connection = transport.Connection(app, outbox, Keeper(app.settings.limits))
    wire = _Transport()
    connection.connection_made(wire)  # type: ignore[arg-type]
    raw = (f"DELETE /v1.0/110011/services/{service}/assets?url=/images/logo.png HTTP/1.1\r\n"
           f"Host: 127.0.0.1:8080\r\nX-Auth-Token: {TOKEN}\r\nUser-Agent: wrk\r\n"
           "Accept: */*\r\n\r\n").encode()

    def work() -> None:
        connection.data_received(raw)
        outbox.flush()
        assert wire.out.pop().startswith(b"HTTP/1.1 202")

    cost: Callable[[], None] = work
    figure = least(cost, seconds)
    connection.close()
    return figure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per case and turn")
    parser.add_argument("--turns", type=int, default=3, help="measurements of each")
    args = parser.parse_args()
    runs: dict[str, list[float]] = {"journal on": [], "journal off": []}
    for turn in range(args.turns):
        for name, size in (("journal on", 5000), ("journal off", 0)):
            runs[name].append(asyncio.run(purge_cost(size, args.seconds)))
            print(f"turn {turn + 1}: {name:<12} {runs[name][-1]:7.1f} us of CPU per purge "
                  f"({1e6 / runs[name][-1]:,.0f}/s)")
    on, off = min(runs["journal on"]), min(runs["journal off"])
    print(f"least: journal on {on:.1f} us ({1e6 / on:,.0f}/s), off {off:.1f} us "
          f"({1e6 / off:,.0f}/s)")
    print(f"throughput with the journal on: x{off / on:.2f} of off (target >= 0.9)")


if __name__ == "__main__":
    main()
