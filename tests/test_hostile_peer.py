"""The hostile peer of tests/hostile_peer.py, on its own: the tests that use it mostly assert
that nothing reached the other host, which proves something only if the other host records
what does reach it; and a relay, a script's own answer and the stop at the end of a test are
what those tests build on. The raw origin's tests count what the edge and the proxy asked
it for on connections they keep alive, so its keep-alive and its record are tested here."""

from __future__ import annotations

import socket
import time

import httpx

from tests.hostile_peer import (
    Answer,
    Exchange,
    Reply,
    hostile_peer,
    json_answer,
    ok,
    other_host,
    raw_origin,
)
from tests.servers import read_until_closed


def test_the_other_host_records_what_reaches_it_and_answers_200():
    with other_host() as other:
        got = httpx.post(f"{other.url}/v1.0/p/services?x=1", content=b"body",
                         headers={"X-Auth-Token": "secret"})
    assert (got.status_code, got.json()) == (200, {})
    assert [(e.method, e.target, e.header("X-Auth-Token"), e.body) for e in other.seen] == [
        ("POST", "/v1.0/p/services?x=1", "secret", b"body")]
    assert other.url.startswith("http://127.0.0.21:")


def test_none_relays_to_the_upstream_unless_the_script_acted():
    def upstream_script(exchange: Exchange) -> Reply:
        return json_answer(b'{"from": "upstream"}', 200, "X-Upstream: yes")

    def script(exchange: Exchange) -> Reply:
        if exchange.target == "/acted":
            exchange.answer(201, b'{"from": "script"}')
        return None

    with hostile_peer(upstream_script) as upstream, \
            hostile_peer(script, upstream=upstream.url) as peer:
        relayed = httpx.get(f"{peer.url}/relayed", headers={"X-Auth-Token": "t"})
        acted = httpx.get(f"{peer.url}/acted")
    assert (relayed.status_code, relayed.json(), relayed.headers["x-upstream"]) == (
        200, {"from": "upstream"}, "yes")
    assert (acted.status_code, acted.json()) == (201, {"from": "script"})
    assert [(e.target, e.header("x-auth-token")) for e in upstream.seen] == [("/relayed", "t")]
    assert [(e.number, e.target) for e in peer.seen] == [(0, "/relayed"), (1, "/acted")]


def test_a_stall_ends_when_the_test_leaves_the_block():
    """A stalled (or dripping) script must not outlive its test: the connection closes."""
    with hostile_peer(lambda exchange: exchange.stall()) as peer:
        client = socket.create_connection(("127.0.0.1", httpx.URL(peer.url).port))
        client.sendall(b"GET /stalled HTTP/1.1\r\nHost: x\r\n\r\n")
        client.settimeout(0.3)
        try:
            early: bytes | None = client.recv(1)
        except TimeoutError:
            early = None  # nothing while the test lasts
        left = time.monotonic()
    client.settimeout(5)
    with client:
        assert early is None and client.recv(1) == b"" and time.monotonic() - left < 2


def test_a_raw_origin_answers_each_request_on_a_kept_alive_connection_until_a_none():
    """Requests pipelined on one connection are answered in turn on it (a request's body
    read, the next request kept), each (host, path) recorded; a float pauses the answer
    and None ends the connection."""
    def answer(host: str, path: str) -> Answer:
        if path == "/close":
            return [ok(b"bye")[:20], 0.05, ok(b"bye")[20:], None]
        return ok(path.encode())

    with raw_origin(answer) as origin, \
            socket.create_connection(("127.0.0.1", origin.port), timeout=5) as client:
        client.sendall(b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
                       b"POST /two HTTP/1.1\r\nHost: b\r\nContent-Length: 2\r\n\r\n{}"
                       b"GET /close HTTP/1.1\r\nHost: c\r\n\r\n")
        sent = read_until_closed(client)
    assert sent == ok(b"/one") + ok(b"/two") + ok(b"bye")
    assert origin.asked == [("a", "/one"), ("b", "/two"), ("c", "/close")]
    assert origin.seen[1].body == b"{}"


def test_a_raw_origin_reads_a_chunked_body_whole_before_the_next_request():
    """A chunked request body (what a proxy relays of a client's streamed upload) is read
    whole: its chunks are not taken for the next request on the kept-alive connection."""
    with raw_origin(lambda host, path: ok(path.encode())) as origin, \
            socket.create_connection(("127.0.0.1", origin.port), timeout=5) as client:
        client.sendall(b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                       b"2\r\n{}\r\n3;x=y\r\n[1]\r\n0\r\nTrailer: t\r\n\r\n"
                       b"GET /next HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        client.shutdown(socket.SHUT_WR)
        sent = read_until_closed(client)
    assert sent == ok(b"/up") + ok(b"/next")
    assert origin.asked == [("a", "/up"), ("a", "/next")] and origin.seen[0].body == b"{}[1]"


def test_a_raw_origin_ends_its_kept_alive_connections_when_the_test_leaves_the_block():
    """An origin that never times out its connections held a pooled one open after the
    test (its thread blocked reading, the client waiting for an end that never came)."""
    with raw_origin(lambda host, path: ok(b"{}")) as origin:
        client = socket.create_connection(("127.0.0.1", origin.port), timeout=5)
        client.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert client.recv(65536) == ok(b"{}")
    with client:
        client.settimeout(3)
        assert client.recv(1) == b""


def test_a_malformed_chunk_size_ends_the_body_instead_of_the_connections_thread():
    """A size line that is not hex raised ValueError in the peer's connection thread."""
    import io

    from tests.hostile_peer import _read_body

    reader = io.BufferedReader(io.BytesIO(b"4\r\nabcd\r\nzz\r\nrest\r\n\r\n"))  # type: ignore[arg-type]
    assert _read_body(reader, {"transfer-encoding": "chunked"}) == b"abcd"
