"""Deliberately broken CDN edges, for proving each edge check fails on its own statement.

`python -m tests.broken_edges DEFECT mock ...` runs `cdn-contract mock ...` with one thing
of the mock's edge changed; each defect below says which.
"""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from contract.checks import purge_rules
from contract.mock.edge import server as edge
from contract.mock.edge.server import Cached, Edge


def stale_never_revalidated() -> None:
    """An invalidation drops what it covers: the next request fetches anew, without
    If-Modified-Since, and an origin in trouble leaves nothing to serve (S15)."""
    def invalidate(self: Edge, service_id: str, url: str) -> None:
        for path in [p for p, _ in self.cache.of(service_id) if edge.covers(url, p)]:
            self.cache.pop(service_id, path)
    Edge.invalidate = invalidate  # type: ignore[method-assign]


def purge_never_lands() -> None:
    """A purge job completes, and the edge keeps the file (S13)."""
    Edge.purge = lambda self, service_id, url: None  # type: ignore[method-assign]


def wildcard_ignored() -> None:
    """An invalidation covers the one path it names, `*` read as a character (S14)."""
    original = Edge.invalidate

    def invalidate(self: Edge, service_id: str, url: str) -> None:
        if "*" not in url:
            original(self, service_id, url)
    Edge.invalidate = invalidate  # type: ignore[method-assign]


def error_cached_forever() -> None:
    """A 404 from the origin is cached for good, not for the documented time (S15)."""
    original = Edge._object

    async def _object(self: Edge, *args: Any) -> tuple[Cached, str]:
        cached, state = await original(self, *args)
        if cached.status == 404:
            cached.expires_at = math.inf
        return cached, state
    Edge._object = _object  # type: ignore[method-assign]


def error_never_cached_far() -> None:
    """A 404 from the origin is never cached (the edge asks the origin every time), and
    reaches the edge 60 ms late, from a far origin (S15: a slow edge that does not cache
    must not pass for one that could not be seen caching)."""
    fetch, original = Edge._fetch, Edge._object

    async def _fetch(self: Edge, *args: Any) -> Any:
        got = await fetch(self, *args)
        if got.status == 404:
            await asyncio.sleep(0.06)
        return got

    async def _object(self: Edge, *args: Any) -> tuple[Cached, str]:
        cached, state = await original(self, *args)
        if cached.status == 404:
            cached.expires_at = 0.0
        return cached, state
    Edge._fetch = _fetch  # type: ignore[method-assign]
    Edge._object = _object  # type: ignore[method-assign]


def restriction_ignored() -> None:
    """Restrictions are never applied: every request is served (S29)."""
    edge.restricted = lambda *args: None


def ttl_ignored() -> None:
    """Every asset is cached for a day, whatever its caching rules say (S28)."""
    edge.caching_ttl = lambda document, path: 86400


def wildcard_purged() -> None:
    """The API takes a purge (hard=true) whose url has a `*`, and the edge removes every
    file the `*` matches (S12; refusing it at the API is only our interpretation, S21)."""
    refused = purge_rules.purge_problems
    purge_rules.purge_problems = lambda purge, query: refused(
        replace(purge, purge=replace(purge.purge, wildcards=True)), query)

    def purge(self: Edge, service_id: str, url: str) -> None:
        for path in [p for p, _ in self.cache.of(service_id) if edge.covers(url, p)]:
            self.cache.pop(service_id, path)
    Edge.purge = purge  # type: ignore[method-assign]


DEFECTS: dict[str, Callable[[], None]] = {defect.__name__: defect for defect in (
    stale_never_revalidated, purge_never_lands, wildcard_ignored, error_cached_forever,
    error_never_cached_far, restriction_ignored, ttl_ignored, wildcard_purged)}

if __name__ == "__main__":
    DEFECTS[sys.argv.pop(1)]()
    from contract.cli import main

    main()
