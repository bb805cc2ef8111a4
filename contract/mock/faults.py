"""Network faults the mock injects, for client resilience tests: what breaks clients in
production besides a 503 (issue 47).

A fault is asked per request (`Prefer: fault=NAME`) or drawn (`--faults NAME=RATE,...`,
reproducible with `--seed`). `503` answers the documented error at once, the request not
served; the others serve the request (its writes are kept, as a server that fails after
doing the work does) and then break its answer on the wire, which the transport carries
out (`contract.mock.transport`):

- `reset`: the connection is reset (TCP RST) before any byte of the answer;
- `truncate`: the answer is cut half-way (mid-body; mid-head when it has no body), then
  the connection closes;
- `slow-body`: the answer is dribbled over `SLOW_SECONDS`;
- `stall`: nothing is answered for `STALL_SECONDS` (past any client's timeout), then the
  connection is reset.

A faulted answer is the last of its connection. Each is logged and journaled. The mock's
own server (`cdn-contract mock`) carries them out; the app embedded in another ASGI server
sends a faulted answer whole (only the 503 holds there).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

from contract.checks.messages import Incoming, Outgoing, error_response
from contract.errors import InputError
from contract.mock.api.controls import preference

UNAVAILABLE = "503"
NETWORK = ("reset", "truncate", "slow-body", "stall")  # carried out by the transport
NAMES = (*NETWORK, UNAVAILABLE)
SLOW_SECONDS = 3.0  # a slow answer's bytes are spread over this long
SLOW_PIECES = 12
STALL_SECONDS = 60.0  # a stalled answer is never sent; the connection is reset after this


@dataclass(slots=True)
class Faulted(Outgoing):
    """An answer the transport breaks on the wire as `fault` says."""

    fault: str = ""


def parse(groups: Iterable[str], error_rate: float = 0.0) -> dict[str, float]:
    """`--faults reset=0.1,stall=0.01` as {name: rate}, checked (a known name, a rate of 0
    to 1, all rates at most 1 together); `--error-rate R` is `503=R`."""
    rates: dict[str, float] = {}
    for group in groups:
        for given in filter(None, (part.strip() for part in group.split(","))):
            name, equals, rate = (part.strip() for part in given.partition("="))
            if name not in NAMES:
                raise InputError(f"--faults {given!r}: {name!r} is not a fault (known: "
                                 f"{', '.join(NAMES)})")
            rates[name] = _rate(given, rate if equals else "")
    if error_rate:
        if UNAVAILABLE in rates:
            raise InputError("--error-rate and --faults 503=RATE say the same: give one")
        rates[UNAVAILABLE] = error_rate
    if sum(rates.values()) > 1:
        raise InputError(f"--faults: the rates add up to {sum(rates.values()):g}, over 1 "
                         "(each request draws one fault at most)")
    return rates


def _rate(given: str, text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        rate = -1.0
    if not 0 <= rate <= 1:
        raise InputError(f"--faults {given!r}: the rate must be a number from 0 to 1 "
                         "(NAME=RATE, e.g. reset=0.05)")
    return rate


class Faults:
    """The faults one mock process injects: drawn from `rates` with `seed`, or asked."""

    def __init__(self, rates: dict[str, float], seed: int | None):
        self.rates = tuple((name, rate) for name, rate in rates.items() if rate)
        self._random = random.Random(seed)

    def for_request(self, request: Incoming) -> str:
        """The fault this request asks (`Prefer: fault=NAME`) or draws; "" for none. A
        name it does not know is refused by `refusal`."""
        if "prefer" in request.headers:
            asked = preference(request).get("fault")
            if asked is not None:
                return asked
        if not self.rates:
            return ""
        draw, bound = self._random.random(), 0.0
        for name, rate in self.rates:
            bound += rate
            if draw < bound:
                return name
        return ""

    @staticmethod
    def refusal(fault: str) -> Outgoing | None:
        """The answer a fault gives instead of serving the request: 503, or the 400 naming
        an unknown fault."""
        if fault == UNAVAILABLE:
            return error_response(503, "fault injected by the mock (503: Prefer: fault=503, "
                                  "--faults or --error-rate)")
        if fault not in NAMES:
            return error_response(400, f"Prefer: fault={fault} is not a fault the mock "
                                  f"injects (known: {', '.join(NAMES)})")
        return None


def broken(response: Outgoing, fault: str) -> Faulted:
    """`response` marked to be broken on the wire by `fault` (one of NETWORK)."""
    return Faulted(response.status, response.headers, response.body, fault)
