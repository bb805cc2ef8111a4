"""Several mock replicas on one PostgreSQL database behave as one API: services, jobs, the
rate limit and resets are shared; a replica killed with `kill -9` loses nothing it
acknowledged while the others keep serving; a database restart gives clean 503s, then the
replicas recover by themselves. A real PostgreSQL server runs on loopback (`tests.postgres`).
"""

from __future__ import annotations

import contextlib
import itertools
import random
import string
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from contract.conform.origin import Origin
from tests.mockapi import service_body
from tests.postgres import Server, postgres
from tests.servers import free_port, run_cli_server

AUTH = {"X-Auth-Token": "t"}


@pytest.fixture(scope="module")
def pg() -> Iterator[Server]:
    with postgres() as server:
        yield server


@contextlib.contextmanager
def replicas(db: str, *args: str) -> Iterator[list[tuple[str, subprocess.Popen[str]]]]:
    """Two mocks of 2016-08 on the database `db` (each with an edge on a free port, told by
    /__mock__/health), with `args`: (base URL, process) each."""
    with contextlib.ExitStack() as stack:
        found = []
        for _ in range(2):
            port = free_port()
            process = stack.enter_context(run_cli_server(
                "mock", "--variant", "2016-08", "--quiet", "--tokens", "t", "--db", db,
                *args, port=port))
            found.append((f"http://127.0.0.1:{port}", process))
        yield found


def create(base: str, project: str = "p1") -> str:
    created = httpx.post(f"{base}/v1.0/{project}/services", json=service_body(), headers=AUTH)
    assert created.status_code == 202, created.text
    return created.headers["Location"].rsplit("/", 1)[-1]


def purge(base: str, service: str, n: int, project: str = "p1") -> httpx.Response:
    return httpx.delete(f"{base}/v1.0/{project}/services/{service}/assets",
                        params={"url": f"/file-{n}.png", "hard": "true"}, headers=AUTH,
                        timeout=10)


def listed(base: str) -> set[str]:
    """Every service id of p1, page by page."""
    found: list[str] = []
    while True:
        params = {"marker": found[-1]} if found else {}
        page = httpx.get(f"{base}/v1.0/p1/services", params=params, headers=AUTH).json()
        if not page["services"]:
            return set(found)
        found += [service["id"] for service in page["services"]]


def test_replicas_share_services_jobs_counters_and_resets(pg):
    with replicas(pg.database("shared")) as [(a, _), (b, _)]:
        service = create(a)
        assert httpx.get(f"{b}/v1.0/p1/services/{service}", headers=AUTH).status_code == 200
        assert listed(b) == {service}
        assert httpx.get(f"{b}/v1.0/p2/services/{service}", headers=AUTH).status_code == 404
        assert purge(b, service, 1).status_code == 202
        assert purge(a, service, 2).status_code == 202
        jobs = httpx.get(f"{a}/__mock__/jobs", params={"service_id": service},
                         headers=AUTH).json()["jobs"]
        assert [job["url"] for job in jobs] == ["/file-1.png", "/file-2.png"]
        analytics = httpx.get(f"{b}/v1.0/p1/services/{service}/analytics", headers=AUTH)
        assert analytics.json()["counters"] == {"purge_requests": 2}
        assert httpx.post(f"{b}/__mock__/reset", headers=AUTH).status_code in (200, 204)
        assert httpx.get(f"{a}/v1.0/p1/services/{service}", headers=AUTH).status_code == 404
        assert httpx.get(f"{a}/__mock__/jobs", headers=AUTH).json()["jobs"] == []


def test_an_edge_serves_what_another_replica_created_and_purged_s13_s30(pg):
    """The edges keep their own caches, fed by the shared services and jobs: a service
    created through one replica is served by the other's edge, and a purge accepted by
    the first lands on the second's cache."""
    origin, origin_port = Origin(), free_port()
    origin.start("127.0.0.1", origin_port)
    try:
        with replicas(pg.database("edges"), "--time-scale", "0.001", "--origin-port",
                      f"80={origin_port}") as [(a, _), (b, _)]:
            edge = httpx.get(f"{b}/__mock__/health").json()["edge"]
            origin.put("/a.txt", b"one")
            created = httpx.post(f"{a}/v1.0/p1/services", headers=AUTH, json={
                **service_body(), "domains": [{"domain": "shared.example"}],
                "origins": [{"origin": "127.0.0.1", "port": 80}],
                "caching": [{"name": "default", "ttl": 3600}]})
            service = created.headers["Location"].rsplit("/", 1)[-1]
            deadline = time.monotonic() + 5
            while (served := httpx.get(f"{edge}/a.txt", headers={"Host": "shared.example"})
                   ).status_code != 200:
                assert time.monotonic() < deadline, served.text  # routed once deployed
                time.sleep(0.02)
            assert served.content == b"one"
            origin.put("/a.txt", b"two")
            assert httpx.get(f"{edge}/a.txt", headers={"Host": "shared.example"}).content \
                == b"one"  # cached
            answer = httpx.delete(f"{a}/v1.0/p1/services/{service}/assets", headers=AUTH,
                                  params={"url": "/a.txt", "hard": "true"})
            assert answer.status_code == 202
            time.sleep(600 * 0.001 + 0.1)  # the purge's documented time, scaled
            assert httpx.get(f"{edge}/a.txt", headers={"Host": "shared.example"}).content \
                == b"two"
            # the other replica's edge follows a domain that moved (the write notified the
            # names it changed), and its API forgets a service deleted elsewhere
            moved = httpx.patch(f"{a}/v1.0/p1/services/{service}", headers={
                **AUTH, "Content-Type": "application/json-patch+json"}, json=[
                {"op": "replace", "path": "/domains", "value": [{"domain": "moved.example"}]}])
            assert moved.status_code == 202, moved.text
            deadline = time.monotonic() + 5
            while (httpx.get(f"{edge}/a.txt", headers={"Host": "shared.example"}).status_code,
                   httpx.get(f"{edge}/a.txt", headers={"Host": "Moved.Example."}).status_code
                   ) != (404, 200):
                assert time.monotonic() < deadline
                time.sleep(0.02)
            assert purge(b, service, 1).status_code == 202
            assert httpx.delete(f"{a}/v1.0/p1/services/{service}", headers=AUTH
                                ).status_code == 202
            deadline = time.monotonic() + 5
            while purge(b, service, 2).status_code != 404:
                assert time.monotonic() < deadline
                time.sleep(0.02)
    finally:
        origin.stop()


def test_the_rate_limit_is_exact_across_replicas_s11_s24(pg):
    """64 purges at once, spread over two replicas: exactly 20 accepted, 44 refused with a
    Retry-After within the minute."""
    with replicas(pg.database("ratelimit")) as [(a, _), (b, _)]:
        service = create(a)
        with ThreadPoolExecutor(64) as pool:
            answers = list(pool.map(lambda n: purge((a, b)[n % 2], service, n), range(64)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [202] * 20 + [429] * 44
    retry = {int(a.headers["Retry-After"]) for a in answers if a.status_code == 429}
    assert retry and all(1 <= seconds <= 60 for seconds in retry), retry
    for replica in (0, 1):  # both took part: the even requests went to a, the odd to b
        assert any(a.status_code == 202 for a in answers[replica::2])


def until(condition: Callable[[], bool], seconds: float = 30) -> None:
    """Wait for `condition` (load on a busy machine comes slower): at most `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_kill_9_of_a_replica_loses_no_acknowledged_write(pg):
    """Clients create services on both replicas; one is killed with SIGKILL mid-load. Every
    service either replica acknowledged (202) exists afterwards, and the survivor kept
    answering throughout."""
    with replicas(pg.database("kill")) as [(a, victim), (b, _)]:
        acknowledged: dict[str, list[str]] = {a: [], b: []}
        survivor_failures: list[str] = []
        stop = threading.Event()

        def client(base: str) -> None:
            with httpx.Client(timeout=5) as session:
                while not stop.is_set():
                    try:
                        answer = session.post(f"{base}/v1.0/p1/services", json=service_body(),
                                              headers=AUTH)
                    except httpx.HTTPError as error:
                        if base == b:
                            survivor_failures.append(repr(error))
                        continue
                    if answer.status_code == 202:
                        acknowledged[base].append(answer.headers["Location"].rsplit("/", 1)[1])
                    elif base == b:
                        survivor_failures.append(f"{answer.status_code} {answer.text}")

        threads = [threading.Thread(target=client, args=(base,))
                   for base in itertools.islice(itertools.cycle((a, b)), 8)]
        for thread in threads:
            thread.start()
        until(lambda: len(acknowledged[a]) > 50)  # mid-load, however busy the machine
        victim.send_signal(9)
        victim.wait(timeout=10)
        killed_at = len(acknowledged[b])
        until(lambda: len(acknowledged[b]) > killed_at + 20)
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        assert len(acknowledged[a]) > 50 and len(acknowledged[b]) > killed_at, (
            len(acknowledged[a]), killed_at, len(acknowledged[b]), survivor_failures[:3])
        assert not survivor_failures, survivor_failures[:3]
        stored = listed(b)
        missing = set(acknowledged[a] + acknowledged[b]) - stored
        assert not missing, f"{len(missing)} acknowledged services were lost"


def test_a_database_restart_gives_503s_then_the_replicas_recover(pg):
    """While PostgreSQL restarts, every request is answered at once: 503 with the error
    body and Retry-After, never a 500 or a hang; afterwards both replicas serve again
    without being restarted."""
    with replicas(pg.database("restart")) as [(a, _), (b, _)]:
        service = create(a)
        seen: list[tuple[int, float, str]] = []
        stop = threading.Event()

        def client(base: str) -> None:
            with httpx.Client(timeout=10) as session:
                while not stop.is_set():
                    started = time.monotonic()
                    answer = session.get(f"{base}/v1.0/p1/services/{service}", headers=AUTH)
                    seen.append((answer.status_code, time.monotonic() - started,
                                 answer.text))
                    time.sleep(0.005)

        threads = [threading.Thread(target=client, args=(base,)) for base in (a, b, a, b)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(0.5)
            pg.stop("fast")
            time.sleep(1.0)
        finally:
            pg.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(
                httpx.get(f"{base}/v1.0/p1/services/{service}", headers=AUTH).status_code
                == 200 for base in (a, b)):
            time.sleep(0.1)
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
        statuses = {status for status, _, _ in seen}
        assert statuses == {200, 503}, statuses
        refused = [text for status, _, text in seen if status == 503]
        assert all("database is unavailable" in text for text in refused)
        assert max(seconds for _, seconds, _ in seen) < 3.0  # never a hang
        for base in (a, b):  # recovered by themselves, writes included
            assert httpx.get(f"{base}/v1.0/p1/services/{service}",
                             headers=AUTH).status_code == 200
            assert purge(base, service, 7).status_code == 202


def test_a_value_postgresql_cannot_hold_is_a_400_that_locks_nobody_out(pg):
    """A NUL character or a key too long for its index (a random 3,000-character project)
    was a 500, or taken for a lost database: then every client got 503s. Now each is a 400
    with the error body, and the replicas serve everyone else meanwhile."""
    long_project = "".join(random.Random(3).choices(string.ascii_lowercase, k=3000))
    with replicas(pg.database("unholdable"), "--no-rate-limit") as [(a, _), (b, _)]:
        service = create(a)
        named = {**service_body(), "name": "a\0b"}
        answers = {
            "NUL in a name": httpx.post(f"{a}/v1.0/p1/services", json=named, headers=AUTH),
            "NUL in a project": httpx.get(f"{a}/v1.0/p%00/services", headers=AUTH),
            "NUL in a purge url": httpx.delete(
                f"{a}/v1.0/p1/services/{service}/assets", headers=AUTH,
                params={"url": "/a\0b", "hard": "true"}),
            "a long project": httpx.post(f"{a}/v1.0/services", json=service_body(),
                                         headers={**AUTH, "X-Project-Id": long_project})}
        for name, answer in answers.items():
            assert answer.status_code == 400, (name, answer.text)
            (error,) = answer.json()["message"]["errors"]
            assert "database cannot hold a value of this request" in error["message"], name
        for base in (a, b):
            assert purge(base, service, 1).status_code == 202
            assert httpx.get(f"{base}/v1.0/p1/services/{service}",
                             headers=AUTH).status_code == 200
