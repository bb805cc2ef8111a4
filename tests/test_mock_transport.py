"""The mock's own HTTP/1.1 server (contract/mock/transport.py), over raw loopback sockets:
the framing that httpx would hide (pipelining, keep-alive, Expect, HEAD, 204, malformed
requests), and the S19 limits on the wire."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator

import httpx
import pytest

from contract.checks.messages import Outgoing
from contract.mock.app import MockApp
from contract.mock.serve import create_app
from contract.mock.settings import MockSettings
from contract.mock.transport import encode, listen
from tests.mockapi import Api, service_body
from tests.servers import free_port, rss_mb, run_cli_server, run_mock, wait_for_port
from tests.wire import Wire

TOKEN = b"X-Auth-Token: t\r\n"


@pytest.fixture(scope="module")
def base(shared_reference) -> Iterator[str]:
    with run_mock("2016-08", "--no-rate-limit") as url:
        yield url


@pytest.fixture
def wire(base) -> Iterator[Wire]:
    connection = Wire(base)
    yield connection
    connection.close()


def _service(wire: Wire) -> str:
    body = json.dumps(service_body()).encode()
    wire.send(b"POST /v1.0/p1/services HTTP/1.1\r\nHost: h\r\n" + TOKEN +
              b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    created = wire.reply()
    assert created.status == 202
    return created.headers["location"].rsplit("/", 1)[-1]


def test_pipelined_requests_are_answered_in_order_on_one_connection(wire):
    service = _service(wire)
    purge = (f"DELETE /v1.0/p1/services/{service}/assets?url=/a.png HTTP/1.1\r\n"
             "Host: h\r\n").encode() + TOKEN + b"\r\n"
    ping_without_token = b"GET /v1.0/p1/ping HTTP/1.1\r\nHost: h\r\n\r\n"
    health = b"GET /__mock__/health HTTP/1.1\r\nHost: h\r\n\r\n"
    wire.send(purge + ping_without_token + health + purge)
    statuses = [wire.reply().status for _ in range(4)]
    assert statuses == [202, 401, 200, 202]


def test_keep_alive_by_default_close_on_request_and_for_http_1_0(base):
    for request, kept in [(b"GET /v1.0/p1/ping HTTP/1.1\r\nHost: h\r\n", True),
                          (b"GET /v1.0/p1/ping HTTP/1.1\r\nHost: h\r\nConnection: close\r\n",
                           False),
                          (b"GET /v1.0/p1/ping HTTP/1.0\r\n", False)]:
        wire = Wire(base)
        wire.send(request + TOKEN + b"\r\n")
        reply = wire.reply()
        assert reply.status == 204
        assert ("connection" in reply.headers) is not kept
        if kept:
            wire.send(request + TOKEN + b"\r\n")
            assert wire.reply().status == 204
        else:
            assert wire.closed()
        wire.close()


def test_204_has_no_content_length_and_head_has_no_body(wire):
    wire.send(b"GET /v1.0/p1/ping HTTP/1.1\r\nHost: h\r\n" + TOKEN + b"\r\n")
    ping = wire.reply()
    assert ping.status == 204 and "content-length" not in ping.headers and ping.body == b""
    assert "date" in ping.headers
    wire.send(b"HEAD /v1.0/p1/ping HTTP/1.1\r\nHost: h\r\n" + TOKEN + b"\r\n")
    head = wire.reply(head_only=True)
    assert head.status == 405 and int(head.headers["content-length"]) > 0
    wire.send(b"GET /v1.0/p1/ping HTTP/1.1\r\nHost: h\r\n" + TOKEN + b"\r\n")
    assert wire.reply().status == 204  # nothing of HEAD's body was sent in between


def test_malformed_request_is_400_with_the_error_body_then_closed_s16(wire):
    wire.send(b"NOT HTTP AT ALL\r\n\r\n")
    reply = wire.reply()
    assert reply.status == 400 and reply.headers["connection"] == "close"
    message = json.loads(reply.body)["message"]["errors"][0]["message"]
    assert message.startswith("malformed HTTP request")
    assert wire.closed()


def test_a_declared_body_over_the_limit_is_413_at_once_then_closed_s19(base):
    """Statements S19. The body never comes: the answer must not wait for it."""
    wire = Wire(base)
    started = time.monotonic()
    wire.send(b"POST /v1.0/p1/services HTTP/1.1\r\nHost: h\r\n" + TOKEN +
              b"Content-Length: 9000\r\n\r\n")
    reply = wire.reply()
    assert reply.status == 413 and reply.headers["connection"] == "close"
    assert time.monotonic() - started < 2
    assert wire.closed()
    wire.close()


def test_a_chunked_body_over_the_limit_is_413_and_the_connection_stays_usable_s19(wire):
    """Statements S19."""
    chunked = b"".join(b"%x\r\n%s\r\n" % (1000, b"y" * 1000) for _ in range(9)) + b"0\r\n\r\n"
    wire.send(b"POST /v1.0/p1/services HTTP/1.1\r\nHost: h\r\n" + TOKEN +
              b"Transfer-Encoding: chunked\r\n\r\n" + chunked)
    reply = wire.reply()
    assert reply.status == 413 and b"8192" in reply.body
    wire.send(b"GET /v1.0/p1/ping HTTP/1.1\r\nHost: h\r\n" + TOKEN + b"\r\n")
    assert wire.reply().status == 204


def test_expect_100_continue_is_honoured_and_refused_early_when_too_large_s19(base):
    """Statements S19."""
    wire = Wire(base)
    body = json.dumps(service_body()).encode()
    wire.send(b"POST /v1.0/p1/services HTTP/1.1\r\nHost: h\r\n" + TOKEN +
              b"Content-Type: application/json\r\nExpect: 100-continue\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body))
    assert wire.reply().status == 100
    wire.send(body)
    assert wire.reply().status == 202
    wire.send(b"POST /v1.0/p1/services HTTP/1.1\r\nHost: h\r\n" + TOKEN +
              b"Expect: 100-continue\r\nContent-Length: 100000\r\n\r\n")
    refused = wire.reply()
    assert refused.status == 413 and refused.headers["connection"] == "close"
    assert wire.closed()
    wire.close()


def test_long_uri_is_414_on_the_wire_s19(wire):
    """Statements S19."""
    wire.send(b"GET /v1.0/p1/services?marker=" + b"a" * 320 + b" HTTP/1.1\r\nHost: h\r\n" +
              TOKEN + b"\r\n")
    assert wire.reply().status == 414


def test_a_huge_request_head_is_refused_before_it_is_all_read(base):
    """A URI or headers past 64 KiB: 414 or 431 with the error body, then closed."""
    for head, status in [(b"GET /v1.0/p1/ping?x=" + b"a" * 70000 + b" HTTP/1.1\r\n", 414),
                         (b"GET /v1.0/p1/ping HTTP/1.1\r\n" +
                          b"".join(b"X-H%d: %s\r\n" % (n, b"v" * 1000) for n in range(70)),
                          431)]:
        wire = Wire(base)
        wire.send(head)  # the head is not even finished: no blank line yet
        reply = wire.reply()
        assert reply.status == status and reply.headers["connection"] == "close"
        assert json.loads(reply.body)["message"]["errors"]
        wire.close()


def test_latency_holds_responses_back_without_reordering(shared_reference):
    with run_mock("2016-08", "--latency-ms", "1000") as url:
        wire = Wire(url)
        started = time.perf_counter()
        wire.send(b"GET /v1.0/p1/ping HTTP/1.1\r\nHost: h\r\n" + TOKEN + b"\r\n"
                  b"GET /__mock__/health HTTP/1.1\r\nHost: h\r\n\r\n")
        first, second = wire.reply(), wire.reply()
        assert (first.status, second.status) == (204, 200)  # health is never delayed itself
        assert time.perf_counter() - started >= 1.0
        wire.send(b"GET /__mock__/health HTTP/1.1\r\nHost: h\r\n\r\n")
        started = time.perf_counter()
        assert wire.reply().status == 200
        assert time.perf_counter() - started < 0.5  # ~1 ms; a loaded machine's stall is not
        # the 1 s it would take held back
        wire.close()


@pytest.mark.parametrize("padding", [
    b"X-Pad: " + b"p" * 7000 + b"\r\n",
    b"".join(b"a%d: b\r\n" % number for number in range(1000))], ids=["long", "many"])
def test_latency_bounds_what_a_pipelining_client_that_does_not_read_holds(
        shared_reference, padding):
    """Under --latency-ms every reply is held: 204s, counted by their empty bodies alone,
    let one client's pipelined pings with 7 KB heads take the mock to 525 MB, and when
    counted with their requests' header bytes, a thousand small headers held 16 MB. Reading
    stops once the held replies pass OWED_BYTES, a reply keeping of its request what the
    access log needs; another client is answered meanwhile."""
    port = free_port()
    with run_cli_server("mock", "--variant", "2016-08", "--quiet", "--latency-ms", "2000",
                        port=port) as process:
        before = rss_mb(process.pid)
        ping = b"GET /v1.0/p1/ping HTTP/1.1\r\nHost: h\r\n" + TOKEN + padding + b"\r\n"
        flood = socket.create_connection(("127.0.0.1", port))
        flood.setblocking(False)
        batch, sent, deadline = ping * 64, 0, time.monotonic() + 1.5
        while time.monotonic() < deadline:
            try:  # whole requests only: a cut one would be a malformed request, refused
                sent += flood.send(batch[sent % len(batch):])
            except BlockingIOError:
                time.sleep(0.01)
        grown = rss_mb(process.pid) - before
        other = Wire(f"http://127.0.0.1:{port}")
        started = time.perf_counter()
        other.send(b"GET /v1.0/p1/ping HTTP/1.1\r\nHost: h\r\n" + TOKEN + b"\r\n")
        assert other.reply().status == 204 and time.perf_counter() - started < 4
        other.close()
        flood.close()
    assert grown < 8, f"the mock grew by {grown:.0f} MB ({sent >> 20} MiB sent to it)"
    print(f"\nmock: {grown:.0f} MB more for {sent >> 20} MiB of pipelined pings unread")


def test_a_header_value_cannot_split_the_response_head():
    response = Outgoing(202, [("Location", "http://h/x\r\nSet-Cookie: a=b")])
    head = encode(response, keep_alive=True).decode("latin-1")
    assert head.count("\r\n") == 5  # status, date, location, content-length, blank line
    assert "\r\nSet-Cookie" not in head and "Location: http://h/x  Set-Cookie: a=b" in head


def test_port_in_use_exits_2_naming_it(shared_reference):
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        result = subprocess.run([sys.executable, "-m", "contract", "mock", "--quiet",
                                 "--port", str(port)], capture_output=True, text=True,
                                timeout=60)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_sigterm_stops_the_server_cleanly(shared_reference):
    port = free_port()
    with run_cli_server("mock", "--quiet", port=port) as process:
        wait_for_port(port)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert "Traceback" not in process.stderr.read()


@contextlib.contextmanager
def serving(app: MockApp) -> Iterator[str]:
    """The transport on its own loop in a thread, for an app the test holds in hand."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(listen(app, "127.0.0.1", 0), loop).result(10)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_a_failed_commit_answers_500_instead_of_acknowledging(shared_reference, tmp_path):
    """The group commit fails (a deferred foreign key, checked by SQLite only at COMMIT):
    the requests of that batch get the error body, and nothing of them is kept."""
    app = create_app("2016-08", MockSettings(db=str(tmp_path / "s.db"), quiet=True))
    with serving(app) as base:
        api = Api(base, "2016-08")
        service = api.create_service()
        database = app.runtime.store._db
        database.executescript("""
            PRAGMA foreign_keys = ON;
            CREATE TABLE parent (id INTEGER PRIMARY KEY);
            CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY
                                DEFERRED);
            CREATE TRIGGER dangling_delete AFTER DELETE ON services BEGIN
                INSERT INTO child VALUES (42); END;""")
        deleted = api.request("DELETE", f"/services/{service}", conforms=False)
        assert deleted.status_code == 500 and "could not store" in api.errors(deleted)[0]
        assert api.request("GET", f"/services/{service}").status_code == 200
        assert api.purge(service, url="/kept.png", hard="false").status_code == 202
        database.executescript("""
            CREATE TRIGGER dangling_job AFTER INSERT ON jobs BEGIN
                INSERT INTO child VALUES (42); END;
            CREATE TRIGGER dangling_service AFTER INSERT ON services BEGIN
                INSERT INTO child VALUES (42); END;""")
        refused = api.purge(service, url="/a.png", conforms=False)
        assert refused.status_code == 500
        assert [job["url"] for job in api.jobs(service)] == ["/kept.png"]
        created = httpx.post(f"{base}/v1.0/{api.project}/services", json=service_body(),
                             headers={"X-Auth-Token": "t"})
        assert created.status_code == 500
        listed = api.request("GET", "/services").json()["services"]
        assert [entry["id"] for entry in listed] == [service]  # the refused one is not there
    app.close()


def test_embedded_as_asgi_it_commits_before_it_answers(shared_reference, tmp_path):
    """Under any ASGI server the app commits each request's writes before its response:
    another connection to the file sees the job as soon as the 202 arrives."""
    database = tmp_path / "asgi.db"
    app = create_app("2016-08", MockSettings(db=str(database), quiet=True))

    async def scenario() -> int:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://mock", headers={"X-Auth-Token": "t"}
                                     ) as client:
            created = await client.post("/v1.0/p1/services", json=service_body())
            service = created.headers["Location"].rsplit("/", 1)[-1]
            purged = await client.delete(f"/v1.0/p1/services/{service}/assets",
                                         params={"url": "/a.png"})
            assert purged.status_code == 202
            with sqlite3.connect(database) as reader:
                return reader.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]

    assert asyncio.run(scenario()) == 1
    app.close()


def test_deeply_nested_json_is_a_400_not_a_crash_s16(wire):
    """Any body that cannot be parsed, however deep, is a 400 with the error body."""
    for depth in (70, 1000, 4000):  # 4000: 8,000 bytes, just inside the body limit
        body = b"[" * depth + b"]" * depth
        wire.send(b"POST /v1.0/p1/services HTTP/1.1\r\nHost: h\r\n" + TOKEN +
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                  % len(body) + body)
        reply = wire.reply()
        assert reply.status == 400, depth
        message = json.loads(reply.body)["message"]["errors"][0]["message"]
        assert "nested more than 64 levels deep" in message
    patch = b'[{"op": "add", "path": "/name", "value": ' + b"[" * 900 + b"]" * 900 + b"}]"
    wire.send(b"PATCH /v1.0/p1/services/96737ae3-cfc1-4c72-be88-5d0e7cc9a3f0 HTTP/1.1\r\n"
              b"Host: h\r\n" + TOKEN + b"Content-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(patch) + patch)
    assert wire.reply().status == 400


def test_a_path_that_is_not_utf8_is_a_400_and_tenants_never_merge(wire):
    for path in (b"/v1.0/%FF/services", b"/v1.0/%FE/services",
                 b"/v1.0/p1/services?marker=%FF"):
        wire.send(b"GET " + path + b" HTTP/1.1\r\nHost: h\r\n" + TOKEN + b"\r\n")
        reply = wire.reply()
        assert reply.status == 400, path
        assert "not UTF-8" in json.loads(reply.body)["message"]["errors"][0]["message"]
    # U+FFFD itself is valid UTF-8: a tenant of its own, which %FF never reaches
    body = json.dumps(service_body()).encode()
    wire.send(b"POST /v1.0/%EF%BF%BD/services HTTP/1.1\r\nHost: h\r\n" + TOKEN +
              b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
              + body)
    assert wire.reply().status == 202
    wire.send(b"GET /v1.0/%EF%BF%BD/services HTTP/1.1\r\nHost: h\r\n" + TOKEN + b"\r\n")
    assert len(json.loads(wire.reply().body)["services"]) == 1


def test_an_http_1_1_request_without_exactly_one_host_is_refused(base):
    """RFC 9112 3.2, as the edge and the proxy read it too (one HTTP/1.1 reading): 400
    with the documented error body, then the connection closes."""
    for hosts in (b"", b"Host: a\r\nHost: b\r\n"):
        wire = Wire(base)
        wire.send(b"GET /v1.0/p1/ping HTTP/1.1\r\n" + hosts + TOKEN + b"\r\n")
        reply = wire.reply()
        assert reply.status == 400 and b"exactly one Host header" in reply.body, reply
        assert wire.closed()


class _Listening(Exception):
    """Raised in place of the API's listen: what the edge did at that moment."""


def test_the_edge_listens_before_the_api(shared_reference, monkeypatch):
    """A client that reads /__mock__/health as soon as the API answers finds the edge it
    names listening (the API listened first, and under load the replica test read no
    edge): when the API's listen is called, the edge already takes connections."""
    from contract.mock import transport

    def api_listen(app: MockApp, host: str, port: int, keeper: object = None) -> None:
        edge = app.runtime.edge_url
        assert edge, "the API listens before the edge has a URL"
        with socket.create_connection(tuple(edge.removeprefix("http://").split(":")),
                                      timeout=5):
            raise _Listening(edge)

    monkeypatch.setattr(transport, "listen", api_listen)
    app = create_app("2016-08", MockSettings(edge_port=0, quiet=True))
    handlers = [signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)]
    with warnings.catch_warnings(record=True) as caught, \
            pytest.raises(_Listening, match=r"http://127\.0\.0\.1:\d+"):
        warnings.simplefilter("always", ResourceWarning)
        transport.serve(app, "127.0.0.1", 0)
    # and the failed start leaves nothing behind: the edge closed (not left to the loop's
    # close, which warned), the process's Ctrl-C as it was (uvloop's handlers ignored it)
    assert not [str(w.message) for w in caught if "TCPServer" in str(w.message)]
    assert [signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)] == handlers
