"""Deliberately broken CDN edges, for proving each edge check fails on its own statement.

`python -m tests.broken_edges DEFECT mock ...` runs `cdn-contract mock ...` with one thing
of the mock's edge changed; each defect below says which.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any

from contract.mock import edge
from contract.mock.edge import Cached, Edge


def _apply_jobs(purge: Callable[[Edge, str, str], None],
                invalidate: Callable[[Edge, str, str], None]) -> Callable[..., None]:
    """An `Edge.apply_jobs` doing `purge(edge, service, url)` and `invalidate(...)`."""
    def apply_jobs(self: Edge, service_id: str, now: float) -> None:
        done = self.runtime.store.jobs(service_id, status="done", now=now,
                                       after=self.applied.get(service_id, 0))
        for job in done:
            (purge if job.hard else invalidate)(self, service_id, job.url)
            self.applied[service_id] = job.id
    return apply_jobs


def _drop(edge_: Edge, service_id: str, url: str, covers: Callable[[str, str], bool]) -> None:
    for key in [k for k in edge_.cache if k[0] == service_id and covers(url, k[1])]:
        del edge_.cache[key]


def _mark_stale(edge_: Edge, service_id: str, url: str,
                covers: Callable[[str, str], bool]) -> None:
    for (owner, path), cached in edge_.cache.items():
        if owner == service_id and covers(url, path):
            cached.stale = True


def _purge(e: Edge, s: str, u: str) -> None:
    _drop(e, s, u, lambda url, path: url == path)


def stale_never_revalidated() -> None:
    """An invalidation drops what it covers: the next request fetches anew, without
    If-Modified-Since, and an origin in trouble leaves nothing to serve (S15)."""
    Edge.apply_jobs = _apply_jobs(_purge, lambda e, s, u: _drop(e, s, u, edge.covers))


def purge_never_lands() -> None:
    """A purge job completes, and the edge keeps the file (S13)."""
    Edge.apply_jobs = _apply_jobs(lambda e, s, u: None,
                                  lambda e, s, u: _mark_stale(e, s, u, edge.covers))


def wildcard_ignored() -> None:
    """An invalidation covers the one path it names, `*` read as a character (S14)."""
    Edge.apply_jobs = _apply_jobs(_purge, lambda e, s, u: _mark_stale(
        e, s, u, lambda url, path: url == path))


def error_cached_forever() -> None:
    """A 404 from the origin is cached for good, not for the documented time (S15)."""
    original = Edge._object

    async def _object(self: Edge, *args: Any) -> tuple[Cached, str]:
        cached, state = await original(self, *args)
        if cached.status == 404:
            cached.expires_at = math.inf
        return cached, state
    Edge._object = _object  # type: ignore[method-assign]


def restriction_ignored() -> None:
    """Restrictions are never applied: every request is served (S29)."""
    edge.restricted = lambda *args: None


def ttl_ignored() -> None:
    """Every asset is cached for a day, whatever its caching rules say (S28)."""
    edge.caching_ttl = lambda document, path: 86400


DEFECTS: dict[str, Callable[[], None]] = {defect.__name__: defect for defect in (
    stale_never_revalidated, purge_never_lands, wildcard_ignored, error_cached_forever,
    restriction_ignored, ttl_ignored)}

if __name__ == "__main__":
    DEFECTS[sys.argv.pop(1)]()
    from contract.cli import main

    main()
