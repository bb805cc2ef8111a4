"""Real servers on loopback for the tests: a small upstream (ASGI, run by uvicorn in a
thread) and the CLI's own servers (run as subprocesses)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from contract.spec.variants import PROJECT_ROOT

SERVICE = "96737ae3-cfc1-4c72-be88-5d0e7cc9a3f0"
BROKEN_SERVICE = "00000000-0000-4000-8000-000000000000"
LIST_BODY = b'{"services": [],\n  "links": []}'  # an empty page (S33), spaced as no encoder would
AUTH = {"X-Auth-Token": "t"}
SCALE = "0.001"  # a mock's --time-scale: a deploy (30 s) takes 30 ms, a purge (10 min) 0.6 s
YEAR = 365 * 24 * 3600  # the longest TTL (the limits page): 8.8 hours at this scale


_PORTS_BELOW_EPHEMERAL = 20000, 32000  # Linux hands out 32768-60999 to outgoing sockets
_PORTS_PER_WORKER = 2000


def _worker_ports() -> Iterator[int]:
    """This pytest-xdist worker's own share of the ports below the ephemeral range."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    slots = (_PORTS_BELOW_EPHEMERAL[1] - _PORTS_BELOW_EPHEMERAL[0]) // _PORTS_PER_WORKER
    first = _PORTS_BELOW_EPHEMERAL[0] + int(worker or 0) % slots * _PORTS_PER_WORKER
    return itertools.cycle(range(first, first + _PORTS_PER_WORKER))


_PORTS = _worker_ports()
_PORTS_LOCK = threading.Lock()


def free_port() -> int:
    """A loopback port nothing listens on, for a server a test is about to start.

    Not the kernel's pick (`bind(0)`): that comes from the ephemeral range, where any
    client socket of a parallel test may take it as its source port before the server
    binds (CI once failed so). Each xdist worker walks its own range instead, skipping
    ports in use, so two tests never get the same port and no client ever holds one."""
    with _PORTS_LOCK:
        for port in itertools.islice(_PORTS, _PORTS_PER_WORKER):
            with socket.socket() as sock, contextlib.suppress(OSError):
                sock.bind(("127.0.0.1", port))
                return port
    raise OSError(f"all {_PORTS_PER_WORKER} of this worker's loopback ports are in use")


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends on this connection until it closes it (or resets it)."""
    data = b""
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


def read_all(sock: socket.socket, seconds: float) -> bytes:
    """What the server sends within `seconds` (or until it closes)."""
    sock.settimeout(0.2)
    data, deadline = b"", time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data


def rss_mb(pid: int) -> float:
    """A running server's resident memory, for the tests that bound what an attack costs."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class Upstream:
    """A stand-in implementation: valid answers, one broken service, one slow path."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        self.seen.append((method, path))
        status, headers, body = 404, [(b"content-type", b"application/json")], \
            b'{"message": {"errors": [{"message": "not found"}]}}'
        if method == "DELETE" and path.endswith(f"/services/{SERVICE}/assets"):
            status, headers, body = 202, [
                (b"location", f"http://upstream/v1.0/services/{SERVICE}".encode())], b""
        elif method == "DELETE" and path.endswith(f"/services/{BROKEN_SERVICE}/assets"):
            status, headers, body = 200, [(b"content-type", b"application/json")], b'{"ok": 1}'
        elif method == "GET" and path.endswith("/services"):
            status, headers, body = 200, [(b"content-type", b"application/json"),
                                          (b"x-upstream", b"yes")], LIST_BODY
        elif method == "GET" and path.endswith("/ping"):
            await asyncio.sleep(2.0)
            status, headers, body = 204, [], b""
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@contextlib.contextmanager
def run_upstream(app: Upstream) -> Iterator[int]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for_port(port)
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def run_cli_server(*args: str, port: int, module: tuple[str, ...] = ("contract",)
                   ) -> Iterator[subprocess.Popen[str]]:
    """`python -m contract ARGS --port PORT` (or another `module` with its arguments)."""
    process = subprocess.Popen([sys.executable, "-m", *module, *args, "--port", str(port)],
                               cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port)
        _alive(process, args, port)  # what answered on the port is this server
        yield process
    finally:
        if (process.poll() or 0) > 0:  # it failed under the test (a signal: the test's)
            _alive(process, args, port)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _alive(process: subprocess.Popen[str], args: tuple[str, ...], port: int) -> None:
    """RuntimeError with the server's last words if it has exited: a server that could not
    bind its port (another run of the suite, beside, took it) or died under a test leaves
    only a refusal, or someone else's answers, to the test."""
    if process.poll() is None:
        return
    words = "" if process.stderr is None or process.stderr.closed else \
        process.stderr.read()[-3000:]
    raise RuntimeError(f"{' '.join(args)} on port {port} exited ({process.returncode}) "
                       f"before the test was over: {words}")


@contextlib.contextmanager
def run_mock(variant: str, *args: str, module: tuple[str, ...] = ("contract",)
             ) -> Iterator[str]:
    """`cdn-contract mock` as a subprocess on a free loopback port; yields its base URL."""
    port = free_port()
    with run_cli_server("mock", "--variant", variant, "--quiet", *args, port=port,
                        module=module):
        yield f"http://127.0.0.1:{port}"


def deployed_service(base: str, project: str = "p1", **members: Any) -> str:
    """A service created on the mock at `base` and waited for until `deployed`: the edge's
    test body (its origin 127.0.0.1 on port 80, which --origin-port maps to a local one),
    `members` replacing its parts; its id."""
    body = {"name": "edge-test", "domains": [{"domain": "www.example.test"}],
            "origins": [{"origin": "127.0.0.1", "port": 80}],
            "caching": [{"name": "default", "ttl": 3600}],
            "log_delivery": {"enabled": False}, "flavor_id": "cdn", **members}
    created = httpx.post(f"{base}/v1.0/{project}/services", json=body, headers=AUTH)
    assert created.status_code == 202, created.text
    service = created.headers["Location"].rsplit("/", 1)[-1]
    deadline = time.monotonic() + 5
    while httpx.get(f"{base}/v1.0/{project}/services/{service}",
                    headers=AUTH).json()["status"] != "deployed":
        assert time.monotonic() < deadline, f"service {service} did not deploy"
        time.sleep(0.01)
    return service


def deployed(base: str, project: str = "p1", **members: Any) -> tuple[str, str]:
    """A deployed service with a domain of its own, cached for the longest TTL: (id,
    domain), so that tests sharing one mock and one raw origin never see each other's."""
    domain = f"www.{uuid.uuid4().hex[:10]}.test"
    caching = [{"name": "default", "ttl": YEAR}]
    return deployed_service(base, project, **{"domains": [{"domain": domain}],
                                              "caching": caching, **members}), domain
