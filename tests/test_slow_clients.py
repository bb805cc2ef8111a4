"""Careless and hostile clients against the mock and the proxy (contract/http/serving.py): slow
request heads, idle keep-alive connections, too many connections. A normal client is served
promptly whatever the others do; each figure is printed for the closing notes."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from contract.spec.variants import PROJECT_ROOT
from tests.servers import free_port, read_until_closed, run_mock, wait_for_port

SLOW = 1000
HEAD = b"GET /v1.0/p1/ping HTTP/1.1\r\nHost: h\r\nX-Auth-To"  # never finished


@contextlib.contextmanager
def server(kind: str, *args: str) -> Iterator[str]:
    if kind == "mock":
        with run_mock("2016-08", *args) as url:
            yield url
        return
    with run_mock("2016-08") as upstream:
        port = free_port()
        process = subprocess.Popen([sys.executable, "-m", "contract", "proxy", "--upstream",
                                    upstream, "--port", str(port), "--log", "/dev/null", *args],
                                   cwd=PROJECT_ROOT, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


@pytest.mark.parametrize("kind", ["mock", "proxy"])
def test_slow_heads_neither_lock_out_others_nor_stay_open(kind, shared_reference):
    with server(kind, "--header-timeout", "1.5", "--max-connections", "2000") as url:
        slow = []
        for _ in range(SLOW):
            sock = connect(url)
            sock.sendall(HEAD)
            slow.append(sock)
        started = time.monotonic()
        answer = httpx.get(f"{url}/v1.0/p1/ping", headers={"X-Auth-Token": "t"}, timeout=5)
        took = time.monotonic() - started
        assert answer.status_code == 204
        assert took < 1.0, took
        print(f"\n{kind}: a normal request with {SLOW} slow connections open: {took * 1000:.1f} ms")
        started = time.monotonic()
        replies = [read_until_closed(sock) for sock in slow]  # each ends when the server closes it
        closed_after = time.monotonic() - started
        for sock in slow:
            sock.close()
    assert all(reply.startswith(b"HTTP/1.1 408") for reply in replies)
    assert closed_after < 5, closed_after
    body = json.loads(replies[0].split(b"\r\n\r\n", 1)[1])
    assert "did not arrive within 1.5 s" in body["message"]["errors"][0]["message"]
    print(f"{kind}: all {SLOW} slow connections answered 408 and closed within "
          f"{closed_after:.1f} s of the test reading them (header timeout 1.5 s)")


@pytest.mark.parametrize("kind", ["mock", "proxy"])
def test_past_the_connection_cap_a_clean_503(kind, shared_reference):
    """With none idle (each is sending a head), a connection past the cap gets a 503; an
    idle one would have made room (tests/test_hostile_round2.py)."""
    with server(kind, "--max-connections", "3") as url:
        held = [connect(url) for _ in range(3)]
        for sock in held:
            sock.sendall(HEAD)
        time.sleep(0.2)
        extra = connect(url)
        reply = read_until_closed(extra)
        assert reply.startswith(b"HTTP/1.1 503")
        message = json.loads(reply.split(b"\r\n\r\n", 1)[1])["message"]["errors"][0]["message"]
        assert "too many connections" in message
        for sock in held:
            sock.close()
        deadline = time.monotonic() + 5  # a place is free once the server saw a close
        while (status := httpx.get(f"{url}/v1.0/p1/ping",
                                   headers={"X-Auth-Token": "t"}).status_code) == 503:
            assert time.monotonic() < deadline, "no connection was let in after the closes"
            time.sleep(0.05)
        assert status == 204


@pytest.mark.parametrize("kind", ["mock", "proxy"])
def test_an_idle_keep_alive_connection_is_closed(kind, shared_reference):
    with server(kind, "--idle-timeout", "0.5") as url:
        sock = connect(url)
        sock.sendall(b"GET /v1.0/p1/ping HTTP/1.1\r\nHost: h\r\nX-Auth-Token: t\r\n\r\n")
        started = time.monotonic()
        reply = read_until_closed(sock)  # the 204, then the close after the idle timeout
        sock.close()
    assert reply.startswith(b"HTTP/1.1 204")
    assert 0.4 < time.monotonic() - started < 3


def test_the_startup_line_names_the_bound_port(shared_reference):
    process = subprocess.Popen([sys.executable, "-m", "contract", "mock", "--port", "0",
                                "--quiet"], cwd=PROJECT_ROOT, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        port = int(line.split("http://127.0.0.1:")[1].split()[0])
        assert port > 0
        assert httpx.get(f"http://127.0.0.1:{port}/__mock__/health").status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_proxy_refuses_a_declared_body_over_its_cap_from_the_head(shared_reference):
    with server("proxy") as url:
        sock = connect(url)
        started = time.monotonic()
        sock.sendall(b"POST /v1.0/p1/services HTTP/1.1\r\nHost: h\r\nX-Auth-Token: t\r\n"
                     b"Content-Length: 999999999\r\n\r\n")
        reply = read_until_closed(sock)
        sock.close()
    assert reply.startswith(b"HTTP/1.1 413") and time.monotonic() - started < 2
