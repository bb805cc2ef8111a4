"""The mock's CDN edge on loopback (S26-S30), with purges and invalidations taking effect
(S13-S15): the whole life of an asset, seen from the client and from the origin.

The mock runs with --time-scale 0.001: a deploy (30 s) takes 30 ms, an invalidation (60 s)
60 ms, a purge (10 min) 0.6 s, the default TTL (3600 s) 3.6 s and a cached 404 (10 s) 10 ms.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from contract.conform.origin import Origin
from contract.mock.edge.cache import Cached
from contract.mock.edge.server import Edge
from contract.mock.serve import create_app
from contract.mock.settings import MockSettings
from tests.servers import deployed_service, free_port, run_mock

DOMAIN = "www.example.test"
SCALE = 0.001


@contextlib.contextmanager
def serving(*args: str, scale: float = SCALE) -> Iterator[tuple[str, str, Origin]]:
    """The mock with its edge and an origin: (API base URL, edge base URL, origin)."""
    origin, origin_port, edge_port = Origin(), free_port(), free_port()
    origin.start("127.0.0.1", origin_port)
    try:
        with run_mock("2016-08", "--time-scale", str(scale), "--no-rate-limit",
                      "--edge-port", str(edge_port), "--origin-port",
                      f"80={origin_port}", *args) as base:
            yield base, f"http://127.0.0.1:{edge_port}", origin
    finally:
        origin.stop()


@pytest.fixture
def cdn(shared_reference):
    with serving() as served:
        yield served


def create(base: str, **members: Any) -> str:
    return deployed_service(base, domains=[{"domain": DOMAIN}], **members)


def accept(base: str, service: str, url: str, hard: bool) -> None:
    """A purge (`hard`) or an invalidation of `url`, accepted."""
    answer = httpx.delete(f"{base}/v1.0/p1/services/{service}/assets",
                          params={"url": url, "hard": str(hard).lower()},
                          headers={"X-Auth-Token": "t"})
    assert answer.status_code == 202, answer.text


def purge(base: str, service: str, url: str, hard: bool) -> None:
    accept(base, service, url, hard)
    time.sleep((600 if hard else 60) * SCALE + 0.05)  # until the job completes


def get(edge: str, path: str, host: str = DOMAIN, **headers: str) -> httpx.Response:
    return httpx.get(edge + path, headers={"Host": host, **headers})


def cached_then_changed(edge: str, origin: Origin, *paths: str) -> None:
    """Each path cached by the edge as `old`, then changed to `new` at the origin."""
    for path in paths:
        origin.put(path, b"old")
        assert get(edge, path).content == b"old"
        origin.put(path, b"new")


def test_the_life_of_an_asset_through_the_edge_s13_s14_s15_s26_s27_s28_s30(cdn):
    base, edge, origin = cdn
    service = create(base)
    origin.put("/images/a.png", b"version 1")
    first = get(edge, "/images/a.png")
    assert (first.status_code, first.content, first.headers["x-cache"]) == \
        (200, b"version 1", "MISS")
    assert origin.asked()[-1].host == DOMAIN  # S27: hostheadertype domain, the default
    asked = len(origin.asked())
    again = get(edge, "/images/a.png")
    assert (again.content, again.headers["x-cache"]) == (b"version 1", "HIT")
    assert len(origin.asked()) == asked and "age" in again.headers  # S28: from the cache

    origin.put("/images/a.png", b"version 2")  # a change the edge cannot see yet
    assert get(edge, "/images/a.png").content == b"version 1"

    purge(base, service, "/images/a.png", hard=False)  # S14, S15: 200 → the new object
    revalidated = get(edge, "/images/a.png")
    assert revalidated.content == b"version 2" and origin.asked()[-1].if_modified_since
    purge(base, service, "/images/a.png", hard=False)  # 304 → the stale one, renewed
    renewed = get(edge, "/images/a.png")
    assert (renewed.content, renewed.headers["x-cache"]) == (b"version 2", "REVALIDATED")
    assert get(edge, "/images/a.png").headers["x-cache"] == "HIT"
    origin.force("/images/a.png", 500)  # 5xx → the stale object
    purge(base, service, "/images/a.png", hard=False)
    stale = get(edge, "/images/a.png")
    assert (stale.status_code, stale.content, stale.headers["x-cache"]) == \
        (200, b"version 2", "STALE")
    origin.force("/images/a.png", 404)  # 404 → the error, cached 10 s (times the scale)
    purge(base, service, "/images/a.png", hard=False)
    assert get(edge, "/images/a.png").status_code == 404
    origin.force("/images/a.png", None)
    time.sleep(10 * SCALE + 0.02)
    assert get(edge, "/images/a.png").status_code == 200

    origin.put("/images/a.png", b"version 3")  # S13: a purge removes the file; refetched
    asked = len(origin.asked())
    purge(base, service, "/images/a.png", hard=True)
    refetched = get(edge, "/images/a.png")
    assert (refetched.content, refetched.headers["x-cache"]) == (b"version 3", "MISS")
    assert not origin.asked()[asked].if_modified_since  # fetched anew, not revalidated


def once_due(edge: str, path: str, due: float, before: bytes) -> httpx.Response:
    """`path` from the edge once a job is due (a monotonic time), asked again while it
    still serves `before`, for at most half a second more: on a busy machine the job
    starts a little after its request was sent, so it lands a little after `due`."""
    time.sleep(max(0.0, due - time.monotonic()))
    deadline = time.monotonic() + 0.5
    while (answer := get(edge, path)).content == before and time.monotonic() < deadline:
        time.sleep(0.01)
    return answer


# The two tests of a purge seen under way: at SCALE its 10 minutes are 600 ms, and a loaded
# machine took up to 757 ms for the steps that must fit within them (each a new client)
UNDER_WAY = 0.005


def test_a_purge_lands_when_a_later_invalidation_finishes_first_s13_s14(shared_reference):
    """A purge (10 min) accepted before an invalidation (60 s) finishes after it: the
    invalidation takes effect at its time, and the purge still lands at its own."""
    with serving(scale=UNDER_WAY) as (base, edge, origin):
        service = create(base)
        cached_then_changed(edge, origin, "/a.png", "/b.png")
        accepted = time.monotonic()
        accept(base, service, "/a.png", hard=True)
        accept(base, service, "/b.png", hard=False)
        invalidated = once_due(edge, "/b.png", accepted + 60 * UNDER_WAY, b"old")
        assert invalidated.content == b"new"  # the invalidation, taken by the edge
        assert time.monotonic() - accepted < 600 * UNDER_WAY, \
            "too slow to see the purge under way"
        assert get(edge, "/a.png").content == b"old"  # the purge is still under way
        landed = once_due(edge, "/a.png", accepted + 600 * UNDER_WAY, b"old")
        assert (landed.content, landed.headers["x-cache"]) == (b"new", "MISS")


def test_a_purge_under_way_lands_after_a_later_job_was_pruned_s13(shared_reference):
    """--max-jobs 2: an invalidation accepted after a purge finishes and is pruned before
    the edge took it. The edge, told jobs it never took were dropped, empties its cache of
    the service; the purge still under way lands at its time all the same (it was lost
    with the dropped job's id: the copy fetched meanwhile stayed)."""
    with serving("--max-jobs", "2", scale=UNDER_WAY) as (base, edge, origin):
        service = create(base)
        origin.put("/a.png", b"old")
        assert get(edge, "/a.png").content == b"old"
        accepted = time.monotonic()
        accept(base, service, "/a.png", hard=True)
        accept(base, service, "/b.png", hard=False)
        time.sleep(60 * UNDER_WAY + 0.03)
        accept(base, service, "/c.png", hard=False)  # past the bound: /b.png's job goes
        origin.put("/a.png", b"new")
        assert get(edge, "/a.png").content == b"new"  # the cache was emptied
        origin.put("/a.png", b"newer")
        assert time.monotonic() - accepted < 600 * UNDER_WAY, \
            "too slow to see the purge under way"
        landed = once_due(edge, "/a.png", accepted + 600 * UNDER_WAY, b"new")
        assert (landed.content, landed.headers["x-cache"]) == (b"newer", "MISS")


def _poll(edge: Edge, now: float) -> float:
    """The fastest of a few polls of the edge's jobs at `now`, in seconds."""
    times = []
    for _ in range(20):
        started = time.perf_counter()
        edge.apply_jobs("s", now, exact=True)
        times.append(time.perf_counter() - started)
    return min(times)


def _kept_aside(purges: int) -> tuple[Edge, float]:
    """An edge whose cache holds each purged file, after an invalidation passed `purges`
    purges under way; what a poll costs it then."""
    app = create_app("2016-08", MockSettings(db=":memory:", rate_limit=False))
    edge, store = Edge(app.runtime), app.runtime.store
    for number in range(purges):
        store.add_job("p1", "s", "purge", True, f"/{number}.png", 0.0, 600.0)
        edge.cache.put("s", f"/{number}.png", Cached(200, b"OK", [], b"", 0.0, 1e9, ""))
    store.add_job("p1", "s", "invalidate", False, "/i.png", 0.0, 60.0)
    store.commit()
    edge.apply_jobs("s", 100.0, exact=True)  # the invalidation passes them: kept aside
    return edge, _poll(edge, 100.0)


def test_the_purges_kept_aside_cost_a_poll_nothing_until_they_land_s13(shared_reference):
    """Purges passed unfinished by a later invalidation are read once; each poll until they
    land looks at those due, not at every one held (50,000 of them made the edge walk its
    whole list twice a poll: 47 answers a second instead of 1,500)."""
    few_cost = _kept_aside(10)[1]
    many, many_cost = _kept_aside(50_000)
    assert many_cost < few_cost * 3 + 0.0002, (few_cost, many_cost)
    _poll(many, 700.0)
    assert not list(many.cache.of("s")), "the purges landed when due"


def report(base: str, service: str, what: str, url: str) -> dict[str, Any]:
    answer = httpx.get(f"{base}/v1.0/p1/services/{service}/{what}", params={"url": url},
                       headers={"X-Auth-Token": "t"})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_the_asset_reports_answer_from_the_edge_state(cdn):
    """getCachedAsset shows the edge's copy (cached, state, hits), getAssetAnalytics counts
    what the edge served by cache state; a purge that lands empties the copy."""
    base, edge, origin = cdn
    service = create(base)
    assert report(base, service, "assets", "/a.css")["edge"] == {"cached": False}
    origin.put("/a.css", b"body {}")
    for _ in range(3):
        get(edge, "/a.css")
    copy = report(base, service, "assets", "/a.css")["edge"]
    assert (copy["cached"], copy["status"], copy["state"], copy["hits"]) == \
        (True, 200, "fresh", 2)
    assert parsedate_to_datetime(copy["last_modified"]).timestamp() == \
        origin.modified("/a.css")  # the origin's Last-Modified, kept for revalidation
    purge(base, service, "/a.css", hard=False)
    assert report(base, service, "assets", "/a.css")["edge"]["state"] == "stale"
    get(edge, "/a.css")
    analytics = report(base, service, "analytics", "/a.css")
    assert analytics["edge"] == {"hit": 2, "miss": 1, "revalidated": 1}
    assert analytics["asset"]["state"] == "fresh"
    purge(base, service, "/a.css", hard=True)
    assert report(base, service, "assets", "/a.css")["edge"] == {"cached": False}


def test_a_wildcard_invalidation_covers_its_subdirectories_only_s14(cdn):
    base, edge, origin = cdn
    service = create(base)
    cached_then_changed(edge, origin, "/images/sub/b.png", "/css/c.css")
    purge(base, service, "/images/*", hard=False)
    assert get(edge, "/images/sub/b.png").content == b"new"
    assert get(edge, "/css/c.css").content == b"old"  # not covered: still cached


def test_routing_restrictions_origins_and_host_headers_s26_s27_s29_s30(cdn):
    base, edge, origin = cdn
    create(base, origins=[{"origin": "127.0.0.1", "port": 80, "hostheadertype": "custom",
                           "hostheadervalue": "assets.internal",
                           "rules": [{"name": "all", "request_url": "/.*"}]},
                          {"origin": "127.0.0.2", "port": 80,
                           "rules": [{"name": "none", "request_url": "/never"}]}],
           restrictions=[{"name": "no bots", "access": "blacklist",
                          "rules": [{"name": "bots", "referrer": "bots.example"}]}])
    origin.put("/a.txt", b"a")
    assert get(edge, "/a.txt").content == b"a"
    assert origin.asked()[-1].host == "assets.internal"  # S27: custom
    refused = get(edge, "/a.txt", Referer="http://bots.example/page")
    assert refused.status_code == 403 and "no bots" in refused.json()["message"]["errors"][0][
        "message"]
    assert get(edge, "/a.txt", host=f"{DOMAIN}.cdn.mock.invalid").content == b"a"  # access_url
    assert get(edge, "/a.txt", host="unknown.example").status_code == 404
