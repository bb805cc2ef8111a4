"""The mock's CDN edge on loopback (S26-S30), with purges and invalidations taking effect
(S13-S15): the whole life of an asset, seen from the client and from the origin.

The mock runs with --time-scale 0.001: a deploy (30 s) takes 30 ms, an invalidation (60 s)
60 ms, a purge (10 min) 0.6 s, the default TTL (3600 s) 3.6 s and a cached 404 (10 s) 10 ms.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from contract.conform.origin import Origin
from tests.servers import deployed_service, free_port, run_mock

DOMAIN = "www.example.test"
SCALE = 0.001


@pytest.fixture
def cdn(shared_reference):
    origin, origin_port, edge_port = Origin(), free_port(), free_port()
    origin.start("127.0.0.1", origin_port)
    try:
        with run_mock("2016-08", "--time-scale", str(SCALE), "--no-rate-limit",
                      "--edge-port", str(edge_port), "--origin-port",
                      f"80={origin_port}") as base:
            yield base, f"http://127.0.0.1:{edge_port}", origin
    finally:
        origin.stop()


def create(base: str, **members: Any) -> str:
    return deployed_service(base, domains=[{"domain": DOMAIN}], **members)


def purge(base: str, service: str, url: str, hard: bool) -> None:
    answer = httpx.delete(f"{base}/v1.0/p1/services/{service}/assets",
                          params={"url": url, "hard": str(hard).lower()},
                          headers={"X-Auth-Token": "t"})
    assert answer.status_code == 202, answer.text
    time.sleep((600 if hard else 60) * SCALE + 0.05)  # until the job completes


def get(edge: str, path: str, host: str = DOMAIN, **headers: str) -> httpx.Response:
    return httpx.get(edge + path, headers={"Host": host, **headers})


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


def test_a_purge_lands_when_a_later_invalidation_finishes_first_s13_s14(cdn):
    """A purge (10 min) accepted before an invalidation (60 s) finishes after it: the
    invalidation takes effect at its time, and the purge still lands at its own."""
    base, edge, origin = cdn
    service = create(base)
    for path in ("/a.png", "/b.png"):
        origin.put(path, b"old")
        assert get(edge, path).content == b"old"
        origin.put(path, b"new")
    accepted = time.monotonic()
    for path, hard in (("/a.png", True), ("/b.png", False)):
        answer = httpx.delete(f"{base}/v1.0/p1/services/{service}/assets",
                              params={"url": path, "hard": str(hard).lower()},
                              headers={"X-Auth-Token": "t"})
        assert answer.status_code == 202, answer.text
    time.sleep(60 * SCALE + 0.05)
    assert get(edge, "/b.png").content == b"new"  # the invalidation, taken by the edge
    assert time.monotonic() - accepted < 600 * SCALE, "too slow to see the purge under way"
    assert get(edge, "/a.png").content == b"old"  # the purge is still under way
    time.sleep(max(0.0, accepted + 600 * SCALE + 0.05 - time.monotonic()))
    landed = get(edge, "/a.png")
    assert (landed.content, landed.headers["x-cache"]) == (b"new", "MISS")


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
    for path in ("/images/sub/b.png", "/css/c.css"):
        origin.put(path, b"old")
        assert get(edge, path).content == b"old"
        origin.put(path, b"new")
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
