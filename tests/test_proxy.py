"""The validating proxy end to end: real upstream on loopback, proxy started by the CLI."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from tests.mockapi import service_body
from tests.servers import (
    BROKEN_SERVICE,
    LIST_BODY,
    SERVICE,
    Upstream,
    free_port,
    read_until_closed,
    run_cli_server,
    run_mock,
    run_upstream,
)

TOKEN = {"X-Auth-Token": "t"}


@pytest.fixture(scope="module")
def upstream():
    app = Upstream()
    with run_upstream(app) as port:
        yield app, port


@pytest.fixture
def proxy(upstream, tmp_path):
    def start(*extra: str):
        log = tmp_path / f"violations-{len(extra)}.jsonl"
        port = free_port()
        args = ["proxy", "--upstream", f"http://127.0.0.1:{upstream[1]}", "--log", str(log),
                *extra]
        return port, log, run_cli_server(*args, port=port)
    return start


def read_log(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_valid_traffic_passes_through_byte_for_byte(proxy):
    port, log, server = proxy()
    with server:
        response = httpx.get(f"http://127.0.0.1:{port}/v1.0/1/services", headers=TOKEN)
        purge = httpx.delete(f"http://127.0.0.1:{port}/v1.0/1/services/{SERVICE}/assets",
                             params={"url": "/a.png"}, headers=TOKEN)
    assert response.status_code == 200 and response.content == LIST_BODY
    assert response.headers["x-upstream"] == "yes"
    assert response.headers["x-contract-violations"] == "0"
    assert purge.status_code == 202
    assert purge.headers["location"] == f"http://upstream/v1.0/services/{SERVICE}"
    assert purge.headers["x-contract-violations"] == "0"
    assert read_log(log) == []


def test_violations_are_logged_and_counted_but_not_altered(proxy):
    port, log, server = proxy("--variant", "2016-08")
    with server:
        response = httpx.delete(f"http://127.0.0.1:{port}/v1.0/1/services/{BROKEN_SERVICE}"
                                "/assets", params={"hard": "maybe"}, headers={"X-Auth-Token": ""})
    assert response.status_code == 200 and response.content == b'{"ok": 1}'
    records = read_log(log)
    assert response.headers["x-contract-violations"] == str(len(records)) == "3"
    by_location = {r["location"]: r for r in records}
    assert set(by_location) == {"request.header.X-Auth-Token", "request.query.hard",
                                "response.status"}
    assert by_location["request.query.hard"]["statements"][:2] == ["S6", "S17"]
    assert by_location["response.status"]["direction"] == "response"
    assert by_location["response.status"]["operation"] == "deleteCachedAsset"
    # each line says what the upstream answered, a request's too: here it took the invalid
    # request (a 200, not the 400 or 401 it owed); the request's lines said null before
    assert [(r["direction"], r["status"]) for r in records] == [
        ("request", 200), ("request", 200), ("response", 200)]


def test_strict_blocks_invalid_requests_and_replaces_invalid_responses(proxy, upstream):
    app, _ = upstream
    port, log, server = proxy("--strict")
    with server:
        before = len(app.seen)
        blocked = httpx.delete(f"http://127.0.0.1:{port}/v1.0/1/services/{SERVICE}/assets",
                               params={"hard": "maybe"}, headers=TOKEN)
        assert len(app.seen) == before  # never forwarded
        replaced = httpx.delete(f"http://127.0.0.1:{port}/v1.0/1/services/{BROKEN_SERVICE}"
                                "/assets", params={"url": "/a.png"}, headers=TOKEN)
    assert blocked.status_code == 400
    errors = blocked.json()["message"]["errors"]
    assert errors[0]["location"] == "request.query.hard" and "S17" in errors[0]["statements"]
    assert replaced.status_code == 502
    assert replaced.json()["message"]["errors"][0]["location"] == "response.status"
    # the blocked request got no answer of the upstream; the replaced one was its 200
    assert [(r["direction"], r["status"]) for r in read_log(log)] == [("request", None),
                                                                      ("response", 200)]


def test_upstream_down_gives_502_and_slow_upstream_504(tmp_path):
    dead = free_port()
    port = free_port()
    with run_cli_server("proxy", "--upstream", f"http://127.0.0.1:{dead}", port=port):
        response = httpx.get(f"http://127.0.0.1:{port}/v1.0/1/ping", headers=TOKEN, timeout=10)
    assert response.status_code == 502
    assert "unreachable" in response.json()["message"]["errors"][0]["message"]


def test_slow_upstream_gives_504(proxy):
    port, _, server = proxy("--timeout", "0.3")
    with server:
        response = httpx.get(f"http://127.0.0.1:{port}/v1.0/1/ping", headers=TOKEN, timeout=10)
    assert response.status_code == 504
    assert "did not answer within 0.3 s" in response.json()["message"]["errors"][0]["message"]


def test_bad_upstream_url_is_bad_input():
    from tests.test_cli import cli
    result = cli("proxy", "--upstream", "ftp://x")
    assert result.returncode == 2 and "is not an http:// URL" in result.stderr


def raw_exchange(port: int, data: bytes) -> bytes:
    """Send bytes on one connection; everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        return read_until_closed(sock)


def header_lines(response: bytes) -> list[bytes]:
    head = response.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    return [line for line in head[1:] if not line.lower().startswith(b"date:")]


def test_the_response_head_is_the_upstreams_plus_the_count(proxy, upstream):
    """Names keep their case and order, values are unchanged, nothing is added but the
    violation count: no second Date or Server header. The framing is the proxy's own: it
    reads the whole body, so a chunked upstream answer gets a Content-Length."""
    request = (b"GET /v1.0/1/services HTTP/1.1\r\nHost: x\r\nX-Auth-Token: t\r\n"
               b"Connection: close\r\n\r\n")
    direct = raw_exchange(upstream[1], request)
    port, _, server = proxy()
    with server:
        proxied = raw_exchange(port, request)
    assert proxied.split(b"\r\n", 1)[0] == direct.split(b"\r\n", 1)[0]  # the status line
    framing = (b"connection", b"content-length", b"transfer-encoding")
    expected = [line for line in header_lines(direct) if not line.lower().startswith(framing)]
    got = [line for line in header_lines(proxied) if not line.lower().startswith(framing[0])]
    assert got == [*expected, b"X-Contract-Violations: 0",
                   b"content-length: %d" % len(LIST_BODY)]
    assert sum(line.lower().startswith(b"date:") for line in
               proxied.split(b"\r\n\r\n")[0].split(b"\r\n")) == 1
    assert proxied.endswith(LIST_BODY)


def test_pipelined_requests_are_answered_in_order(proxy):
    port, _, server = proxy()
    with server:
        answer = raw_exchange(port, (
            b"GET /v1.0/1/services HTTP/1.1\r\nHost: x\r\nX-Auth-Token: t\r\n\r\n"
            b"DELETE /v1.0/1/services/" + SERVICE.encode() + b"/assets?url=/a.png HTTP/1.1\r\n"
            b"Host: x\r\nX-Auth-Token: t\r\nConnection: close\r\n\r\n"))
    first, second = answer.index(b"HTTP/1.1 200"), answer.index(b"HTTP/1.1 202")
    assert first < second


@pytest.mark.parametrize("rewrite", [False, True])
def test_rewrite_location_points_at_the_proxy(rewrite, shared_reference):
    with run_mock("2016-08") as mock:
        port = free_port()
        flags = ["--rewrite-location"] if rewrite else []
        with run_cli_server("proxy", "--upstream", mock, *flags, port=port):
            created = httpx.post(f"http://127.0.0.1:{port}/v1.0/1/services", headers=TOKEN,
                                 json=service_body())
    assert created.status_code == 202
    base = f"http://127.0.0.1:{port}" if rewrite else mock
    assert created.headers["location"].startswith(f"{base}/v1.0/services/")


def test_a_body_past_the_buffer_limit_is_streamed_and_not_validated(proxy):
    port, log, server = proxy("--buffer-limit", "10")
    with server:
        response = httpx.get(f"http://127.0.0.1:{port}/v1.0/1/services", headers=TOKEN)
    assert response.status_code == 200 and response.content == LIST_BODY
    assert response.headers["transfer-encoding"] == "chunked"
    notes = [r["note"] for r in read_log(log) if "note" in r]
    assert notes == ["body not validated: over the buffer limit of 10 bytes (streamed)"]
