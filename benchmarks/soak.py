"""Memory of `cdn-contract mock` under a long purge load: RSS before and after, the jobs it
still lists, and how long /__mock__/jobs takes, with the default bounds (--job-retention,
--max-jobs) beside a store that keeps (almost) everything. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/soak.py [--seconds 60] [--connections 32]

With `--attacks`, instead: the hostile clients of issue 33 at the size the review ran them
(endless trailers, pipelining clients that never read, a 4 GiB upstream body, 60 KB cache
keys, idle sockets, costly rules), each against fresh servers on loopback, with the peak
RSS of the server attacked (the issue's bound: 300 MB) and what normal clients got.

Needs `wrk` (Debian package `wrk`).
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from origin import Origin
from peers import ROOT, need_wrk, purge_url, wait, wrk

PORT = 18951


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def soak(label: str, extra: list[str], seconds: int, connections: int) -> None:
    mock = subprocess.Popen([sys.executable, "-m", "contract", "mock", "--quiet",
                             "--no-rate-limit", "--port", str(PORT), *extra], cwd=ROOT,
                            stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{PORT}"
        wait(f"{base}/__mock__/health")
        url = purge_url(base)
        service = url.split("/services/")[1].split("/")[0]
        before = rss_mb(mock.pid)
        load = wrk(url, seconds, connections)
        after = rss_mb(mock.pid)
        started = time.perf_counter()
        page = httpx.get(f"{base}/__mock__/jobs", params={"service_id": service},
                         timeout=120)
        took = time.perf_counter() - started
        counters = httpx.get(f"{base}/v1.0/110011/services/{service}/analytics",
                             headers={"X-Auth-Token": "t"}).json()["counters"]
        print(f"{label:<34}{load['rps']:>9.0f}{load['rps'] * seconds:>12,.0f}"
              f"{before:>9.0f}{after:>9.0f}{len(page.content) / 1e6:>11.1f}{took:>8.2f}"
              f"{counters.get('purge_requests', 0):>12,}")
    finally:
        mock.terminate()
        mock.wait(timeout=30)


# -- issue 33's attacks ----------------------------------------------------------------------

AUTH = {"X-Auth-Token": "t"}


@contextlib.contextmanager
def servers(origin: Origin) -> Iterator[dict[str, Any]]:
    """The mock (API and edge, its port 80 the origin) and a proxy in front of the origin."""
    ports = [free_port() for _ in range(3)]
    started = [subprocess.Popen([sys.executable, "-m", "contract", "mock", "--quiet",
                                 "--time-scale", "0.001", "--no-rate-limit", "--port",
                                 str(ports[0]), "--edge-port", str(ports[1]), "--origin-port",
                                 f"80={origin.port}"], cwd=ROOT),
               subprocess.Popen([sys.executable, "-m", "contract", "proxy", "--upstream",
                                 f"http://127.0.0.1:{origin.port}", "--log",
                                 "/dev/null", "--port", str(ports[2])], cwd=ROOT,
                                stderr=subprocess.DEVNULL)]
    try:
        wait(f"http://127.0.0.1:{ports[0]}/__mock__/health")
        wait(f"http://127.0.0.1:{ports[2]}/v1.0/p/ping")
        yield {"api": ports[0], "edge": ports[1], "proxy": ports[2],
               "mock_pid": started[0].pid, "proxy_pid": started[1].pid}
    finally:
        for process in started:
            process.terminate()
            process.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss(pid: int, seconds: float, attack: Callable[[float], None]) -> tuple[float, float]:
    """RSS (MB) before, and its peak while `attack(deadline)` runs for `seconds`."""
    before, peak, stop = rss_mb(pid), [0.0], threading.Event()

    def watch() -> None:
        while not stop.wait(0.1):
            peak[0] = max(peak[0], rss_mb(pid))
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        attack(time.monotonic() + seconds)
    finally:
        stop.set()
        watcher.join()
    return before, max(peak[0], rss_mb(pid))


def unread(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    return sock


def flood(socks: list[socket.socket], data: bytes, deadline: float) -> None:
    """Send `data` again and again on each socket, as far as the server takes it."""
    while time.monotonic() < deadline:
        for sock in socks:
            with contextlib.suppress(BlockingIOError, OSError):
                sock.send(data)
        time.sleep(0.01)


def deployed(api: int, **members: Any) -> str:
    domain = f"www.{uuid.uuid4().hex[:12]}.test"
    body = {"name": "soak-attack", "domains": [{"domain": domain}], "flavor_id": "cdn",
            "origins": [{"origin": "127.0.0.1", "port": 80}], **members,
            "caching": [{"name": "default", "ttl": 31536000}]}
    created = httpx.post(f"http://127.0.0.1:{api}/v1.0/soak/services", json=body, headers=AUTH)
    assert created.status_code == 202, created.text
    time.sleep(0.2)  # deployed (30 s at time scale 0.001)
    return domain


def attacks(seconds: int) -> None:
    origin = Origin()
    print(f"issue 33's attacks, {seconds} s each; peak RSS of the server attacked "
          "(bound: 300 MB)")
    print(f"{'attack':<58}{'server':>7}{'RSS MB':>8}{'peak':>8}")

    def row(label: str, server: str, figures: tuple[float, float], note: str = "") -> None:
        print(f"{label:<58}{server:>7}{figures[0]:>8.0f}{figures[1]:>8.0f}  {note}")

    with servers(origin) as at:
        trailer = b"X-T: " + b"b" * 65536 + b"\r\n"
        for server in ("api", "edge", "proxy"):
            def trailers(deadline: float, port: int = at[server]) -> None:
                head = (b"POST /v1.0/p/services HTTP/1.1\r\nHost: h\r\nX-Auth-Token: t\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n0\r\n")
                while time.monotonic() < deadline:
                    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(8)]
                    for sock in socks:
                        sock.sendall(head)
                    with contextlib.suppress(OSError):
                        while time.monotonic() < deadline:
                            for sock in socks:
                                sock.sendall(trailer)
                    for sock in socks:
                        sock.close()
            pid = at["proxy_pid"] if server == "proxy" else at["mock_pid"]
            row("1 endless trailers, 8 connections", server, peak_rss(pid, seconds, trailers))

        domain = deployed(at["api"])
        httpx.get(f"http://127.0.0.1:{at['edge']}/big", headers={"Host": domain}, timeout=60)
        gets = f"GET /big HTTP/1.1\r\nHost: {domain}\r\n\r\n".encode() * 200
        row("2 200 pipelined GETs of a 16 MiB object, never read", "edge",
            peak_rss(at["mock_pid"], seconds, lambda d: flood([unread(at["edge"])], gets, d)))

        for _ in range(20):
            httpx.post(f"http://127.0.0.1:{at['api']}/v1.0/big/services", headers=AUTH, json={
                "name": "x" * 200, "flavor_id": "cdn",
                "origins": [{"origin": "127.0.0.1", "port": 80}],
                "domains": [{"domain": f"www.{'d' * 120}.{uuid.uuid4().hex}.test"}
                            for _ in range(10)]})
        listing = b"GET /v1.0/big/services HTTP/1.1\r\nHost: h\r\nX-Auth-Token: t\r\n\r\n" * 500
        row("2 4 sockets pipelining lists (40 KB pages), never read", "api",
            peak_rss(at["mock_pid"], seconds, lambda d: flood(
                [unread(at["api"]) for _ in range(4)], listing, d)))

        def huge(deadline: float) -> None:
            sock = unread(at["proxy"])
            sock.send(b"GET /huge HTTP/1.1\r\nHost: h\r\nX-Auth-Token: t\r\n\r\n")
            time.sleep(max(0.0, deadline - time.monotonic()))
            sock.close()
        row("2 a 4 GiB upstream body, never read", "proxy",
            peak_rss(at["proxy_pid"], seconds, huge))

        def keys(deadline: float) -> None:
            with httpx.Client(base_url=f"http://127.0.0.1:{at['edge']}",
                              headers={"Host": domain}) as client:
                n = 0
                while time.monotonic() < deadline and n < 8000:  # 480 MB of keys
                    client.get(f"/{n}-" + "p" * 60_000)
                    n += 1
            print(f"{'':<4}{n} objects of 60 KB keys asked for")
        row("5 60 KB paths, 1-byte bodies (--edge-cache-bytes default)", "edge",
            peak_rss(at["mock_pid"], 60, keys))

    with servers(origin) as at:
        held = [socket.create_connection(("127.0.0.1", at["api"]),
                                         source_address=("127.0.0.2", 0)) for _ in range(1100)]
        time.sleep(0.5)
        answers = [httpx.get(f"http://127.0.0.1:{at['api']}/v1.0/p/ping", headers=AUTH
                             ).status_code for _ in range(116)]
        print(f"4 1,100 idle sockets (cap 1,024): {answers.count(204)} of 116 normal requests "
              f"answered 204, {answers.count(503)} got 503")
        for sock in held:
            sock.close()

        pattern = "[a-z/]{1,1000}" * 72 + "$"
        started = time.monotonic()
        statuses = [httpx.post(f"http://127.0.0.1:{at['api']}/v1.0/re/services", headers=AUTH,
                               timeout=120, json={
            "name": "regex", "flavor_id": "cdn", "domains": [{"domain": f"{n}.re.test"}],
            "origins": [{"origin": "127.0.0.1", "port": 80, "rules": [
                {"name": "slow", "request_url": pattern}]}]}).status_code for n in range(7)]
        print(f"3 7 rules of 72 x [a-z/]{{1,1000}}: {statuses} in "
              f"{time.monotonic() - started:.2f} s")
    origin.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="length of each load")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--attacks", action="store_true", help="issue 33's attacks instead")
    args = parser.parse_args()
    if args.attacks:
        attacks(min(args.seconds, 10))
        return
    need_wrk()
    print(f"purge load, wrk -t2 -c{args.connections} -d{args.seconds}s, mock in memory")
    print(f"{'mock':<34}{'req/s':>9}{'purges':>12}{'RSS MB':>9}{'after':>9}"
          f"{'page MB':>11}{'page s':>8}{'counted':>12}")
    soak("defaults (100,000 jobs at most)", [], args.seconds, args.connections)
    soak("--max-jobs 100000000", ["--max-jobs", "100000000"], args.seconds, args.connections)


if __name__ == "__main__":
    main()
