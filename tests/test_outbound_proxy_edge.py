"""The proxy and the edge against hostile upstreams and origins (issue 45, rows 10, 11, 12,
15): each test plays one row on loopback with raw sockets (tests/hostile_peer.py raw_origin)
and fails on the code that had it."""

from __future__ import annotations

import contextlib
import socket
import statistics
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from contract.http.serving import MAX_HEAD
from contract.http.upstream import MAX_HEADER_LINES
from tests.hostile_peer import Answer, Listener, ok, raw_origin
from tests.servers import (
    AUTH,
    SCALE,
    deployed,
    free_port,
    read_all,
    rss_mb,
    run_cli_server,
    wait_for_port,
)

pytestmark = pytest.mark.xdist_group("outbound_proxy_edge")

JSON = "content-type: application/json"
BIG = b"[" + b"1," * 40_000 + b"1]"  # 80 KB: past a --buffer-limit of 1000, so streamed


@contextlib.contextmanager
def proxy_before(answer: Answer, *args: str) -> Iterator[tuple[str, int, Listener]]:
    """The proxy in front of a raw upstream that answers every request with `answer`: its
    URL, its process id, the upstream."""
    port = free_port()
    with raw_origin(lambda host, path: answer) as origin, \
            run_cli_server("proxy", "--upstream", origin.url, "--log", "/dev/null", *args,
                           port=port) as process:
        yield f"http://127.0.0.1:{port}", process.pid, origin


def raw_exchange(proxy: str, requests: bytes, seconds: float = 6.0) -> bytes:
    """Every byte the proxy sends for `requests` until it closes (or `seconds` pass)."""
    host, port = proxy.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(requests)
        return read_all(sock, seconds)


GET = b"GET /v1.0/p1/services HTTP/1.1\r\nHost: h\r\nX-Auth-Token: t\r\n\r\n"
HEAD_OF_BIG = b"HTTP/1.1 200 OK\r\n" + JSON.encode() + b"\r\ncontent-length: %d\r\n\r\n"


# -- row 10: a truncated answer is an aborted connection, never a clean end ------------------

def _truncated_by_close() -> Answer:
    return [HEAD_OF_BIG % len(BIG), BIG[:50_000], None]


def _truncated_by_timeout() -> Answer:
    return [HEAD_OF_BIG % len(BIG), BIG[:50_000]] + [0.4, b"1,"] * 40


@pytest.mark.parametrize("answer", [_truncated_by_close, _truncated_by_timeout],
                         ids=["upstream-closes", "timeout-over-slow-stream"])
def test_a_truncated_upstream_answer_reaches_the_client_as_an_aborted_one(answer):
    """The upstream declares 80 KB and stops after 50 KB (it closes, or trickles past
    --timeout): the proxy used to end its chunked answer cleanly, a 200 with a short body
    that a client takes as whole. Now the client's own HTTP library sees the cut."""
    with proxy_before(answer(), "--buffer-limit", "1000", "--timeout", "2") as (proxy, *_), \
            httpx.stream("GET", f"{proxy}/v1.0/p1/services", headers=AUTH,
                         timeout=10) as response:
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError, match=r"incomplete|without sending"):
            response.read()


# -- row 11: no answer that no request asked for -----------------------------------------------

@pytest.mark.parametrize("answer", [_truncated_by_close, _truncated_by_timeout],
                         ids=["upstream-closes", "timeout-over-slow-stream"])
def test_after_a_truncated_answer_nothing_more_is_written(answer):
    """After the cut, an unrequested 500 ('this is a bug in cdn-contract') followed on the
    same connection, where the client would read it as the answer to its next request.
    One status line; then the connection ends, and the request pipelined behind the cut
    one is neither answered nor forwarded."""
    with proxy_before(answer(), "--buffer-limit", "1000", "--timeout", "2") as (
            proxy, _, origin):
        sent = raw_exchange(proxy, GET + GET.replace(b"services", b"flavors"), 8)
    assert [path for _, path in origin.asked] == ["/v1.0/p1/services"]
    assert sent.startswith(b"HTTP/1.1 200 "), sent[:200]
    assert sent.count(b"HTTP/1.1 ") == 1, sent[-400:]
    assert b"bug in cdn-contract" not in sent
    assert not sent.endswith(b"0\r\n\r\n"), "the truncated answer ended as a whole one"


# -- row 12: upstream and origin heads are bounded --------------------------------------------

ENDLESS_HEADER = [b"HTTP/1.1 200 OK\r\nx-endless: "] + [b"a" * 8192] * 6000  # 49 MB


def test_the_proxy_refuses_an_upstream_head_past_the_inbound_cap():
    """An upstream sending one endless header line was read until --timeout (its value
    concatenated again at every read: quadratic), then 504; the proxy grew with it. Past
    the head cap the exchange ends: 502 naming the cap, at once."""
    with proxy_before(ENDLESS_HEADER, "--timeout", "20") as (proxy, pid, _):
        before = rss_mb(pid)
        started = time.monotonic()
        response = httpx.get(f"{proxy}/v1.0/p1/services", headers=AUTH, timeout=30)
        took = time.monotonic() - started
        grown = rss_mb(pid) - before
    assert response.status_code == 502, response.text
    assert f"over {MAX_HEAD} bytes" in response.text
    assert took < 5, f"the 502 came after {took:.1f} s"
    assert grown < 32, f"the proxy grew by {grown:.0f} MB"


ENDLESS_TRAILERS = [b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n[]\r\n0\r\n"] + \
    [b"x-t: " + b"b" * 8187 + b"\r\n"] * 2000
ENDLESS_INTERIM = [b"HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n"] * 20000


@pytest.mark.parametrize("answer", [ENDLESS_TRAILERS, ENDLESS_INTERIM],
                         ids=["endless-trailers", "endless-interim-heads"])
def test_the_proxy_bounds_trailers_and_interim_heads_as_a_head(answer):
    """Trailers after the last chunk and 103 Early Hints before the answer were read until
    --timeout (504 after 20 s): they count as a head does, and end the exchange with a 502."""
    with proxy_before(answer, "--timeout", "20") as (proxy, *_):
        response = httpx.get(f"{proxy}/v1.0/p1/services", headers=AUTH, timeout=30)
    assert response.status_code == 502, response.text
    assert "its response head is over" in response.text
    assert response.elapsed.total_seconds() < 5


def test_the_proxy_refuses_an_upstream_head_of_too_many_lines():
    """Thousands of short header lines stay under the byte cap but each is a pair held and
    passed on: past MAX_HEADER_LINES the answer is a 502 naming the count."""
    head = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n" + b"a: b\r\n" * 5000 + b"\r\n[]"
    with proxy_before(head) as (proxy, *_):
        response = httpx.get(f"{proxy}/v1.0/p1/services", headers=AUTH, timeout=30)
    assert response.status_code == 502, response.headers
    assert f"over {MAX_HEADER_LINES} header lines" in response.text


def test_a_head_at_the_cap_with_its_body_in_the_same_read_still_passes():
    """The cap counts the head, not the body that arrives with it in one read."""
    filler = b"x-fill: " + b"f" * (MAX_HEAD - 200) + b"\r\n"
    body = b"[" + b"0," * 30_000 + b"0]"
    with proxy_before(ok(body, JSON, filler.decode().strip())) as (proxy, *_):
        response = httpx.get(f"{proxy}/v1.0/p1/services", headers=AUTH, timeout=30)
    assert response.status_code == 200, response.text[:300]
    assert response.content == body


def test_one_tenants_endless_origin_header_does_not_slow_another_tenants_api_reads(
        shared_reference):
    """Tenant A's origin sends an endless header to the edge while tenant B reads its
    services from the mock's API: B's reads went from 1-4 ms to a median of 2.7 s, and the
    mock from 37 to 482 MB (here: a read stalled 4.9 s, +47 MB, A's fetch 10 s). A's fetch
    now ends at once with a 502 past the head cap, every read of B succeeds within 2 s, and
    the mock hardly grows."""
    def answer(host: str, path: str) -> Answer:
        return ENDLESS_HEADER if path.startswith("/endless") else ok(b"fine")

    edge_port, port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    with raw_origin(answer) as origin, \
            run_cli_server("mock", "--variant", "2016-08", "--quiet", "--time-scale", SCALE,
                           "--no-rate-limit", "--edge-port", str(edge_port),
                           "--origin-port", f"80={origin.port}", port=port) as mock:
        wait_for_port(edge_port)
        _, domain = deployed(base, "tenant-a")
        deployed(base, "tenant-b")
        before = rss_mb(mock.pid)
        reads: list[float] = []
        with ThreadPoolExecutor(1) as pool:
            attack = pool.submit(httpx.get, f"http://127.0.0.1:{edge_port}/endless/x",
                                 headers={"Host": domain}, timeout=30)
            try:
                _read_while(base, "tenant-b", reads, attack.done)
            finally:
                fetched = attack.result()
        grown = rss_mb(mock.pid) - before
    median = statistics.median(reads)
    print(f"\ntenant B: {len(reads)} reads, median {median * 1000:.1f} ms, "
          f"max {max(reads) * 1000:.0f} ms; the mock grew by {grown:.0f} MB; tenant A: "
          f"{fetched.status_code} after {fetched.elapsed.total_seconds():.2f} s")
    assert fetched.status_code == 502, fetched.text
    assert f"over {MAX_HEAD} bytes" in fetched.text
    assert fetched.elapsed.total_seconds() < 5, "the origin's endless head was read on"
    assert median < 0.1, f"tenant B's reads took a median of {median * 1000:.0f} ms"
    assert grown < 25, f"the mock grew by {grown:.0f} MB"


READ_TIMEOUT = 2.0  # seconds each of tenant B's reads may take (1-4 ms unattacked)


def _read_while(base: str, project: str, reads: list[float], done: Callable[[], bool]
                ) -> None:
    """Tenant B's list reads, timed, while the attack is under way (and at least 20)."""
    with httpx.Client(base_url=base, headers=AUTH, timeout=READ_TIMEOUT) as client:
        while len(reads) < 20 or (not done() and len(reads) < 2000):
            started = time.monotonic()
            response = client.get(f"/v1.0/{project}/services")
            reads.append(time.monotonic() - started)
            assert response.status_code == 200, response.text
            assert len(response.json()["services"]) == 1


# -- row 15: --rewrite-location matches the upstream's origin exactly -------------------------

def _location_answer(location: str) -> bytes:
    return b"HTTP/1.1 202 Accepted\r\nlocation: %s\r\ncontent-length: 0\r\n\r\n" % \
        location.encode()


@pytest.mark.parametrize(("location", "rewritten"), [
    ("http://{up}/v1.0/p1/services/s", "http://{proxy}/v1.0/p1/services/s"),
    ("HTTP://{up}/v1.0/p1/services/s", "http://{proxy}/v1.0/p1/services/s"),
    ("http://{up}?next=1", "http://{proxy}?next=1"),
    ("http://{up}@127.0.0.24:24080/v1.0/p1/services/s", None),
    ("http://{up}.other.test/v1.0/p1/services/s", None),
    ("http://{up}0/v1.0/p1/services/s", None),
    ("https://{up}/v1.0/p1/services/s", None),
    ("/v1.0/p1/services/s", None),
])
def test_rewrite_location_matches_the_upstream_origin_exactly(location, rewritten):
    """`http://UP@other/...` (userinfo UP, host other) was made to look like the proxy's
    own URL, as was any Location that merely began with the upstream's text; `HTTP://UP/`
    was not rewritten. Now scheme (any case), host and port must be the upstream's."""
    state: dict[str, str] = {}
    port = free_port()
    with raw_origin(lambda host, path: _location_answer(state["location"])) as origin:
        up, proxy = f"127.0.0.1:{origin.port}", f"127.0.0.1:{port}"
        state["location"] = location.format(up=up)
        with run_cli_server("proxy", "--upstream", f"http://{up}", "--log", "/dev/null",
                            "--rewrite-location", port=port):
            response = httpx.patch(f"http://{proxy}/v1.0/p1/services/s", headers=AUTH,
                                   content=b"[]", timeout=10)
    expected = rewritten.format(proxy=proxy) if rewritten else state["location"]
    assert response.headers["location"] == expected


def test_rewrite_location_keeps_to_the_upstreams_path():
    """An upstream with a base path: only a Location under that path (a boundary, not a
    prefix of text) is the upstream's."""
    answers = {"/base/in": "http://{up}/base/v1.0/x", "/base/out": "http://{up}/basement/x"}
    state: dict[str, str] = {}
    port = free_port()
    with raw_origin(lambda host, path: _location_answer(
            answers[path.split("?")[0][:9]].format(up=state["up"]))) as origin:
        state["up"] = f"127.0.0.1:{origin.port}"
        with run_cli_server("proxy", "--upstream", f"http://{state['up']}/base", "--log",
                            "/dev/null", "--rewrite-location", port=port):
            inside = httpx.get(f"http://127.0.0.1:{port}/in", timeout=10)
            outside = httpx.get(f"http://127.0.0.1:{port}/out", timeout=10)
    assert inside.headers["location"] == f"http://127.0.0.1:{port}/v1.0/x"
    assert outside.headers["location"] == f"http://{state['up']}/basement/x"


