"""What both of our HTTP servers (the mock's and the proxy's) do about careless and hostile
clients: a cap on open connections, and deadlines for slow and idle ones.

A client that opens connections and never finishes its request head (slowloris) would
otherwise hold a file descriptor each until none is left for anyone. The keeper refuses a
connection past the cap with a 503 and the documented error body, gives a request head
`header_timeout` seconds to arrive (then 408 and close) and an idle keep-alive connection
`idle_timeout` seconds (then close). Deadlines are checked by one sweep a few times per
timeout period, not by a timer per request, so the request path pays one clock read.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Protocol

from contract.asgi import error_document


@dataclass(frozen=True)
class ServerLimits:
    header_timeout: float = 10.0  # seconds for a request head to arrive, once begun
    idle_timeout: float = 60.0  # seconds a keep-alive connection may wait for a request
    max_connections: int = 1024  # open at once; past this, new ones get 503 and are closed


class Kept(Protocol):
    """A connection the keeper watches: `expire(now)` closes it if its deadline passed."""

    def expire(self, now: float) -> None: ...


class Keeper:
    def __init__(self, limits: ServerLimits):
        self.limits = limits
        self.open: set[Kept] = set()
        self._sweep: asyncio.TimerHandle | None = None
        self.every = min(1.0, max(0.05, min(limits.header_timeout, limits.idle_timeout) / 4))

    def admit(self, connection: Kept) -> bool:
        """Count a new connection in; False when the cap is reached (refuse it)."""
        if len(self.open) >= self.limits.max_connections:
            return False
        self.open.add(connection)
        if self._sweep is None:
            self._sweep = asyncio.get_running_loop().call_later(self.every, self.sweep)
        return True

    def forget(self, connection: Kept) -> None:
        self.open.discard(connection)

    def sweep(self) -> None:
        now = asyncio.get_running_loop().time()
        for connection in list(self.open):
            connection.expire(now)
        self._sweep = asyncio.get_running_loop().call_later(self.every, self.sweep) \
            if self.open else None


def refusal(status: int, message: str) -> bytes:
    """A complete response that closes the connection: for answers given outside any app
    (too many connections, a head that never arrived)."""
    from http import HTTPStatus

    body = json.dumps(error_document(message)).encode()
    return (b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n" % (status, HTTPStatus(status).phrase.encode(),
                                           len(body)) + body)
