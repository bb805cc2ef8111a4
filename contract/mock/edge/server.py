"""The mock as a CDN edge (S26-S30): the services it holds, serving their assets.

A request on the edge port is routed by its `Host` to the deployed service that owns that
domain, or whose `access_url` link names that host (S30). The asset comes from the edge
cache, or from the service's origin over real HTTP: the origin whose `rules` match the path
(S26), with the `Host` header its `hostheadertype` asks for (S27). It is cached for the `ttl`
of the caching entry whose rules match it, else the `default` entry (S28), and served only
to whom the `restrictions` allow (S29; 403 otherwise). `Age` and `X-Cache` tell the state.
The API's asset reports (`getCachedAsset`, `getAssetAnalytics`) read the cache and the counts
of what was served, by state.

Purges and invalidations are the API's jobs: when one completes (S13, S14, times the
`--time-scale`), a purge removes its file from the cache, an invalidation marks the files its
URL covers stale (`*` and subdirectories). A stale or expired object is revalidated with
`If-Modified-Since` (S15): the origin's 200 replaces it, a 304 renews it, a 404 is cached as
an error for the documented time, and a 5xx or an unreachable origin leaves the stale object
served. Interpretations the docs leave open: `geography` rules never match (the mock knows no
geography); an asset with no matching caching entry and no `default` is not cached; HTTPS
origins are refused with 502 (the mock speaks plain HTTP to origins).

As a CDN caches (RFC 9111): an answer with `Cache-Control: no-store` or `private`, or with
a `Set-Cookie`, is passed to its client and never stored (another client would get the
first one's cookie); the origin's trailers are dropped (contract/http/upstream.py). Misses
of one object are collapsed: while its fetch is under way, other requests for it wait for
that answer instead of each asking the origin (an answer that may not be stored is not
shared: each of them then asks for its own).
"""

from __future__ import annotations

import asyncio
import fnmatch
import heapq
import ipaddress
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

from contract.http.asgi import error_document
from contract.http.serving import Output, Request, header_value, json_bytes
from contract.http.upstream import HOP_BY_HOP, UpstreamError, UpstreamPool
from contract.mock.api.services import is_host
from contract.mock.edge.cache import Cached, EdgeCache, cache_path, normalised
from contract.mock.edge.rules import matches
from contract.mock.runtime import Runtime
from contract.mock.state.hosts import host_key
from contract.mock.state.store import Job, StoreUnavailable

ORIGIN_TIMEOUT = 10.0  # seconds an origin has to answer the edge
# The largest object the edge takes from an origin: past it the answer is a 502 and nothing
# is cached (a truncated copy served as a whole 200 would be worse than none).
MAX_OBJECT = 16 * 1024 * 1024
# How often (real seconds) the edge asks the store which jobs completed: a job takes effect
# at most this late, and a cache hit does not pay for a query.
JOB_POLL_SECONDS = 0.005


@dataclass(frozen=True)
class Served:
    """A service as the edge knows it: its project, its id, its stored document."""

    project_id: str
    id: str
    document: dict[str, Any]


class Edge:
    """The edge's state and its answers: a `contract.http.serving` handler."""

    max_request_body = 65536

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.limits = runtime.settings.limits
        self.origin_ports = runtime.settings.origin_ports
        self.clock = runtime.clock  # the clock the jobs are timed by
        self.cache = EdgeCache(runtime.settings.edge_cache_bytes)
        self.applied: dict[str, int] = {}  # service id → last job id taken into account
        # service id → jobs below that id that were unfinished when it was passed: a heap
        # by (done_at, id), so a poll looks at the jobs that are due, not at every one held
        self._pending: dict[str, list[tuple[float, int, Job]]] = {}
        self._polled: dict[str, float] = {}  # service id → when the store was last asked
        self._hosts: dict[str, Served] = {}  # normalised host → its service, as last read
        self._pools: dict[tuple[str, int], UpstreamPool] = {}
        self.served: dict[str, Counter[str]] = {}  # service id → answers by X-Cache state
        # (service id, path) → the fetch under way: (object, state, whether it was stored)
        self._fetching: dict[tuple[str, str], asyncio.Future[tuple[Cached, str, bool]]] = {}
        runtime.edge = self

    # -- what the API's jobs do to the cache -------------------------------------------------

    def apply_jobs(self, service_id: str, now: float, exact: bool = False) -> None:
        """Take the jobs of the service that completed since last time into account, in the
        order they were accepted; unless `exact`, at most once per JOB_POLL_SECONDS.

        Jobs do not finish in the order they were accepted (an invalidation takes 60 s, a
        purge 10 min): the id watermark passes a purge still under way when a later
        invalidation finishes, or when it jumps past jobs the store dropped, so the jobs it
        passes unfinished are kept aside and taken when their time comes (their records do
        not change, so they are not read again)."""
        if not exact and now - self._polled.get(service_id, -JOB_POLL_SECONDS) < \
                JOB_POLL_SECONDS:
            return
        self._polled[service_id] = now
        store, passed = self.runtime.store, self.applied.get(service_id, 0)
        done = store.jobs(service_id, status="done", now=now, after=passed)
        applied = max(passed, store.pruned(service_id))
        if applied > passed:  # jobs this edge never took were dropped: what they did is lost
            for path, _ in list(self.cache.of(service_id)):
                self.cache.pop(service_id, path)
        done = [job for job in done if job.id > applied]
        mark = done[-1].id if done else applied
        if mark > passed:  # the jobs it passes under way now are kept (never pruned)
            pending = self._pending.setdefault(service_id, [])
            for job in store.jobs(service_id, status="in_progress", now=now, after=passed,
                                  before=mark):
                heapq.heappush(pending, (job.done_at, job.id, job))
            self.applied[service_id] = mark
        due = self._due(service_id, now)
        for job in sorted(due + done, key=lambda job: job.id):
            (self.purge if job.hard else self.invalidate)(service_id, job.url)

    def _due(self, service_id: str, now: float) -> list[Job]:
        """The jobs kept aside for the service that have finished by `now`, taken out."""
        pending, due = self._pending.get(service_id, []), []
        while pending and pending[0][0] <= now:
            due.append(heapq.heappop(pending)[2])
        if not pending:
            self._pending.pop(service_id, None)
        return due

    def purge(self, service_id: str, url: str) -> None:
        """A purge job completed (S13): its one file leaves the cache."""
        self.cache.pop(service_id, normalised(url))

    def invalidate(self, service_id: str, url: str) -> None:
        """An invalidation job completed (S14): what its URL covers is stale, revalidated
        on its next request (S15)."""
        url = normalised(url)
        for path, cached in self.cache.of(service_id):
            if covers(url, path):
                cached.stale = True

    # -- what the API's asset reports read ---------------------------------------------------

    def asset(self, service_id: str, url: str, now: float) -> dict[str, Any]:
        self.apply_jobs(service_id, now, exact=True)
        cached = self.cache.get(service_id, cache_path(url))
        if cached is None:
            return {"cached": False}
        state = "stale" if cached.stale else "fresh" if now < cached.expires_at else "expired"
        scale = self.runtime.settings.time_scale
        return {"cached": True, "status": cached.status, "state": state,
                "age_seconds": int((now - cached.stored_at) / scale),
                "expires_in_seconds": max(0, int((cached.expires_at - now) / scale)),
                "last_modified": cached.last_modified, "hits": cached.hits}

    def analytics(self, service_id: str) -> dict[str, int]:
        return {state.lower(): count for state, count
                in sorted(self.served.get(service_id, Counter()).items())}

    def reset(self) -> None:
        self.cache.clear()
        self.applied.clear()
        self._pending.clear()
        self._polled.clear()
        self.served.clear()

    # -- routing -----------------------------------------------------------------------------

    def service_for(self, host: str, now: float) -> Served | None:
        """The deployed service answering for `host` (without its port), if any (S30).
        The index holds what the store said for each host asked; a write drops the hosts
        it changed (`changed_hosts`), which the next request reads again by key: no
        request costs more as the services grow."""
        store = self.runtime.store
        changed = store.changed_hosts()
        if changed is None:
            self._hosts.clear()
        elif changed:
            for name in changed:
                self._hosts.pop(name, None)
        key = host_key(host)
        served = self._hosts.get(key)
        if served is None:
            found = store.served(key)
            if found is None:
                return None  # not cached: a client naming random hosts grows nothing
            served = self._hosts[key] = Served(found[0], found[1]["id"], found[1])
        if now < served.document.get("_ready_at", 0):
            return None  # unknown, or not deployed yet
        return served

    # -- the handler -------------------------------------------------------------------------

    async def exchange(self, request: Request, write: Output) -> None:
        started = time.perf_counter()
        statuses: list[bytes] = []

        def answer(data: bytes) -> None:
            statuses.append(data[9:12])  # b"HTTP/1.1 200 ...": its status
            write(data)

        try:
            await self._exchange(request, answer)
        except StoreUnavailable as error:  # a shared store's database is down: retry later
            answer(json_bytes(503, error_document(
                f"the mock's database is unavailable ({error})"), request.keep_alive,
                [(b"Retry-After", b"1")]))
        self._log(request, statuses[0] if statuses else b"-", started)

    def _log(self, request: Request, status: bytes, started: float) -> None:
        """The edge's access log line, as the API's (unless --quiet), with the Host it was
        routed by: `edge www.example.com GET /logo.png 200 0.4ms`."""
        if not self.runtime.settings.quiet:
            elapsed = (time.perf_counter() - started) * 1000
            host = header_value(request.headers, b"host")
            print(f"edge {host} {request.method.decode('latin-1')} "
                  f"{request.target.decode('latin-1')} {status.decode('latin-1')} "
                  f"{elapsed:.1f}ms", file=sys.stderr, flush=True)

    async def _exchange(self, request: Request, write: Callable[[bytes], None]) -> None:
        now = self.clock()
        host = header_value(request.headers, b"host").rsplit(":", 1)[0].strip("[]")
        path = cache_path(request.target.decode("latin-1"))
        served = self.service_for(host, now)
        if served is None:
            write(json_bytes(404, error_document(
                f"no deployed service answers for the host {host!r} on this edge (S30)"),
                request.keep_alive))
            return
        if request.method not in (b"GET", b"HEAD"):
            write(json_bytes(405, error_document("the edge serves GET and HEAD"),
                             request.keep_alive, [(b"Allow", b"GET, HEAD")]))
            return
        counts = self.served.get(served.id)
        if counts is None:
            counts = self.served[served.id] = Counter()
        refused = restricted(served.document, path, request.client,
                             header_value(request.headers, b"referer"))
        if refused:
            counts["REFUSED"] += 1
            write(json_bytes(403, error_document(refused), request.keep_alive))
            return
        self.apply_jobs(served.id, now)
        cached, state = await self._object(served, host, path, now)
        counts[state] += 1
        write(self._encode(cached, state, now, request))

    async def _object(self, served: Served, host: str, path: str, now: float
                      ) -> tuple[Cached, str]:
        """The object to serve and its cache state (HIT, MISS, STALE, REVALIDATED...)."""
        cached = self.cache.get(served.id, path)
        if cached is not None and not cached.stale and now < cached.expires_at:
            cached.hits += 1
            return cached, "HIT"
        key = (served.id, path)
        under_way = self._fetching.get(key)
        if under_way is not None:  # collapsed: the answer of the fetch already asked for
            shared, state, stored = await under_way
            if stored:
                return shared, state
            return (await self._refresh(served, host, path, now, cached))[:2]  # not shared
        fetch = self._fetching[key] = asyncio.get_running_loop().create_future()
        try:
            shared, state, stored = await self._refresh(served, host, path, now, cached)
            fetch.set_result((shared, state, stored))
        except Exception as error:
            fetch.set_exception(error)
            fetch.exception()  # retrieved here: the waiters (if any) raise it too
            raise
        finally:
            del self._fetching[key]
            if not fetch.done():  # cancelled: so are the waiters
                fetch.cancel()
        return shared, state

    async def _refresh(self, served: Served, host: str, path: str, now: float,
                       cached: Cached | None) -> tuple[Cached, str, bool]:
        """The object from the origin (or the stale copy the origin cannot replace), its
        state, and whether the cache holds it."""
        # only a real object is revalidated; a cached error is fetched anew
        conditional = cached.last_modified if cached is not None and cached.status == 200 \
            else None
        try:
            fetched = await self._fetch(served, host, path, conditional)
        except (UpstreamError, OriginRefused) as error:
            if cached is not None:  # S15: the stale object, while the origin cannot answer
                return cached, "STALE", True
            return Cached(502, b"Bad Gateway", [(b"content-type", b"application/json")],
                          json.dumps(error_document(str(error))).encode(), now, now,
                          ""), "ERROR", True
        if cached is not None and fetched.status == 304:  # S15: the stale object, renewed
            cached.stale, cached.stored_at = False, now
            cached.expires_at = now + self._ttl(served.document, path)
            return cached, "REVALIDATED", True
        if cached is not None and fetched.status >= 500:
            return cached, "STALE", True
        if fetched.status == 404:
            error_ttl = self.runtime.facts.contract.purge.invalidation.error_ttl_seconds or 0
            fetched.expires_at = now + self.runtime.seconds(error_ttl)
        elif fetched.status == 200:
            fetched.expires_at = now + self._ttl(served.document, path)
        stored = storable(fetched.headers)
        if fetched.status in (200, 404) and stored:
            self.cache.put(served.id, path, fetched)
        elif not stored:
            self.cache.pop(served.id, path)  # the origin now says: not for a shared cache
        return fetched, "REFRESHED" if cached is not None else "MISS", stored

    def _ttl(self, document: dict[str, Any], path: str) -> float:
        seconds = caching_ttl(document, path)
        return self.runtime.seconds(seconds) if seconds is not None else 0.0

    async def _fetch(self, served: Served, host: str, path: str,
                     if_modified_since: str | None) -> Cached:
        origin = choose_origin(served.document, path)
        if origin is None:
            raise OriginRefused(f"no origin of the service serves {path} (S26)")
        if origin.get("ssl"):
            raise OriginRefused("the mock edge reaches origins over plain HTTP only; this "
                                "origin asks for HTTPS")
        name, port = str(origin["origin"]), origin.get("port", 80)
        host_header = origin_host_header(origin, host)
        if not is_host(name) or port not in (80, 443) or not is_host(host_header, port=True):
            # the API refuses such a service; one stored before it did is never followed
            raise OriginRefused(f"the origin {name!r}, port {port!r} or Host "
                                f"{host_header!r} is not a host name, address and port")
        local = self.origin_ports.get(port, port)
        pool = self._pools.get((name, local))
        if pool is None:
            pool = self._pools[(name, local)] = UpstreamPool(
                f"http://{name if ':' not in name else f'[{name}]'}:{local}", ORIGIN_TIMEOUT)
        head = b"GET %s HTTP/1.1\r\nhost: %s\r\nuser-agent: cdn-contract-edge\r\n" % (
            path.encode(), host_header.encode())
        if if_modified_since:
            head += b"if-modified-since: %s\r\n" % if_modified_since.encode()
        answer = await pool.request(head + b"\r\n", b"", MAX_OBJECT)
        if not answer.complete:
            answer.abort()
            raise OriginRefused(f"the origin's object for {path} is over {MAX_OBJECT} bytes, "
                                "the most this edge caches")
        now = self.clock()
        headers = [(k, v) for k, v in answer.headers if k.lower() not in HOP_BY_HOP]
        modified = header_value(answer.headers, b"last-modified") or \
            formatdate(now, usegmt=True)
        return Cached(answer.status, answer.reason, headers, b"".join(answer.buffered),
                      now, now, modified)

    def _encode(self, cached: Cached, state: str, now: float, request: Request) -> bytes:
        age = max(0, int((now - cached.stored_at) / self.runtime.settings.time_scale))
        head = cached.head + b"age: %d\r\nx-cache: %s\r\ncontent-length: %d\r\n" % (
            age, state.encode(), len(cached.body))
        if not request.keep_alive:
            head += b"connection: close\r\n"
        return head + b"\r\n" + (b"" if request.method == b"HEAD" else cached.body)

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()


def storable(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether a shared cache may store the answer (RFC 9111 3, 5.2.2.3, 5.2.2.7): not with
    `no-store` or `private`, nor with a `Set-Cookie` (one client's cookie, RFC 6265 8)."""
    for name, value in headers:
        lower = name.lower()
        if lower == b"set-cookie":
            return False
        if lower == b"cache-control" and any(
                directive.split(b"=", 1)[0].strip().lower() in (b"no-store", b"private")
                for directive in value.split(b",")):
            return False
    return True


class OriginRefused(Exception):
    """The service's configuration gives the edge no origin it can reach for this path."""


def covers(url: str, path: str) -> bool:
    """Whether an invalidation of `url` covers `path`: `*` matches anything, subdirectories
    included (S14); no wildcard: that path only."""
    return fnmatch.fnmatchcase(path, url) if "*" in url else path == url


def choose_origin(document: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The origin whose rules match the path; a single origin without rules serves all."""
    origins = document.get("origins") or []
    for origin in origins:
        if any(matches(str(rule.get("request_url", "")), path)
               for rule in origin.get("rules") or []):
            return dict(origin)
    if len(origins) == 1 and not origins[0].get("rules"):
        return dict(origins[0])
    return next((dict(o) for o in origins if not o.get("rules")), None)


def origin_host_header(origin: dict[str, Any], requested: str) -> str:
    """S27: `domain` (the default) sends the requested domain, `origin` the origin's host,
    `custom` its `hostheadervalue`."""
    kind = origin.get("hostheadertype", "domain")
    if kind == "origin":
        return str(origin["origin"])
    if kind == "custom" and origin.get("hostheadervalue"):
        return str(origin["hostheadervalue"])
    return requested


def caching_ttl(document: dict[str, Any], path: str) -> int | None:
    """S28: the ttl of the caching entry whose rules match the path, else of `default`;
    None when neither exists (the asset is not cached)."""
    entries = document.get("caching") or []
    for entry in entries:
        if any(matches(str(rule.get("request_url", "")), path)
               for rule in entry.get("rules") or []):
            return int(entry["ttl"])
    return next((int(e["ttl"]) for e in entries if e.get("name") == "default"), None)


def restricted(document: dict[str, Any], path: str, client: str, referer: str) -> str | None:
    """S29: why a request is refused (403), or None. A whitelist (the default) lets through
    only what matches one of its rules; a blacklist refuses what matches one."""
    referrer_host = urlsplit(referer).hostname or "" if referer else ""
    for restriction in document.get("restrictions") or []:
        access = restriction.get("access", "whitelist")
        rules = restriction.get("rules") or []
        matched = any(_rule_matches(rule, path, client, referrer_host) for rule in rules)
        name = restriction.get("name", "")
        if access == "blacklist" and matched:
            return f"refused by the blacklist restriction {name!r} (S29)"
        if access != "blacklist" and rules and not matched:
            return f"not allowed by the whitelist restriction {name!r} (S29)"
    return None


def _rule_matches(rule: dict[str, Any], path: str, client: str, referrer: str) -> bool:
    if "geography" in rule:
        return False  # the mock knows no geography: such a rule never matches
    if "referrer" in rule and referrer.lower() != str(rule["referrer"]).lower():
        return False
    if "client_ip" in rule:
        try:
            if ipaddress.ip_address(client) not in ipaddress.ip_network(
                    str(rule["client_ip"]), strict=False):
                return False
        except ValueError:
            return False
    return covers(str(rule.get("request_url", "/*")), path)
