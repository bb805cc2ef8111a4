"""The edge's cache: objects keyed by service and normalised path, bounded in bytes.

Keys are normalised the way RFC 3986 section 6 compares URIs (percent-encodings of
unreserved characters decoded, the others in upper case, dot segments removed), and runs
of `/` are merged as nginx does: `/./logo.png`, `//logo.png`, `/%6Cogo.png` and
`/x/../logo.png` are one object, so a purge of `/logo.png` removes what any of them cached.
Beyond RFC 3986, so that no spelling escapes a purge: an encoded slash is a slash
(`/a%2Fb` is `/a/b`), empty path parameters go (`/logo.png;`), and the fragment and the
query are no part of the key (`cache_path`; a fragment is never sent to an origin). The
API's purge jobs are keyed the same way.

The cache holds at most `max_bytes` (keys, bodies, heads and headers counted); past it, the
least recently used objects go first. Without the bound, a client asking for distinct paths
grows the process until it dies.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from contract.http.serving import status_line

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
OVERHEAD = 256  # bytes counted per object beyond its key, body and headers: its record
HEADER_OVERHEAD = 120  # per header kept as a pair of bytes objects in a tuple


@dataclass
class Cached:
    """One object in the edge cache."""

    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    stored_at: float  # loop time it was fetched or last revalidated
    expires_at: float
    last_modified: str  # what If-Modified-Since sends back
    stale: bool = False  # an invalidation covered it
    hits: int = 0  # requests served from this copy without asking the origin
    head: bytes = b""  # its status line and headers, encoded once

    def __post_init__(self) -> None:
        self.head = status_line(self.status, self.reason) + b"".join(
            b"%s: %s\r\n" % pair for pair in self.headers)

    @property
    def size(self) -> int:
        """What it costs held: its body, its encoded head and the headers it is made of."""
        return len(self.body) + 2 * len(self.head) + HEADER_OVERHEAD * len(self.headers) + \
            OVERHEAD


def cache_path(target: str) -> str:
    """The cache key of a request target (or a purge's url): its path, without fragment or
    query, normalised."""
    return normalised(target.partition("#")[0].partition("?")[0])


def normalised(path: str) -> str:
    """The path as the cache keys it (see the module's docstring)."""
    if "%" not in path and "/." not in path and "//" not in path and ";" not in path:
        return path  # already normal: the common case costs four scans
    def percent(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED or char == "/" else "%" + match.group(1).upper()

    path = _PERCENT.sub(percent, path)
    segments: list[str] = []
    parts = path.split("/")
    for index, segment in enumerate(parts):
        last = index == len(parts) - 1
        segment = segment.rstrip(";")  # empty parameters: `/logo.png;` is `/logo.png`
        if segment == "..":
            if segments:
                segments.pop()
            if last:
                segments.append("")
        elif segment == ".":
            if last:
                segments.append("")
        elif segment or last:
            segments.append(segment)
    return "/" + "/".join(segments)


class EdgeCache:
    """Objects by (service id, normalised path), least recently used first."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.size = 0
        self._objects: OrderedDict[tuple[str, str], Cached] = OrderedDict()

    @staticmethod
    def charge(service_id: str, path: str, cached: Cached) -> int:
        """The bytes an object counts for: itself and its key."""
        return cached.size + len(service_id) + len(path)

    def get(self, service_id: str, path: str) -> Cached | None:
        key = (service_id, path)
        cached = self._objects.get(key)
        if cached is not None:
            self._objects.move_to_end(key)
        return cached

    def put(self, service_id: str, path: str, cached: Cached) -> None:
        """Keep `cached`, unless it alone is over the bound; evict the least recently used
        objects until the cache is within it."""
        self.pop(service_id, path)
        charge = self.charge(service_id, path, cached)
        if charge > self.max_bytes:
            return
        self._objects[(service_id, path)] = cached
        self.size += charge
        while self.size > self.max_bytes:
            (owner, evicted_path), evicted = self._objects.popitem(last=False)
            self.size -= self.charge(owner, evicted_path, evicted)

    def pop(self, service_id: str, path: str) -> None:
        cached = self._objects.pop((service_id, path), None)
        if cached is not None:
            self.size -= self.charge(service_id, path, cached)

    def of(self, service_id: str) -> Iterator[tuple[str, Cached]]:
        """(path, object) of one service's objects."""
        for (owner, path), cached in self._objects.items():
            if owner == service_id:
                yield path, cached

    def __len__(self) -> int:
        return len(self._objects)

    def clear(self) -> None:
        self._objects.clear()
        self.size = 0
