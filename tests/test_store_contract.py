"""The Store contract (contract/mock/state/store.py), one suite both engines must pass: SQLite (a
file) and PostgreSQL (a throwaway server on loopback, Debian's package). A new engine is one
more parameter here, not a new end-to-end test.

Each test opens a fresh store; what it checks is what the runtime relies on: services scoped
by project and paged by id, jobs in acceptance order with their filters and their bound,
counters, the rate limit's window, the host names each write changed, `commit` making
writes visible to another store on the same database, and `reset` forgetting everything.
"""

from __future__ import annotations

import contextlib
import json
import random
import string
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from contract.checks.messages import Incoming
from contract.mock.edge.server import Edge
from contract.mock.serve import create_app
from contract.mock.settings import MockSettings
from contract.mock.state.hosts import service_hosts
from contract.mock.state.postgres_store import PostgresStore
from contract.mock.state.store import (
    DomainHeld,
    JobsFull,
    Store,
    StoreFailure,
    StoreRefused,
    open_store,
)
from contract.model import RateLimit
from tests.mockapi import service_body
from tests.postgres import Server, postgres

Opener = Callable[..., Store]


@pytest.fixture(scope="module")
def pg() -> Iterator[Server]:
    with postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty database of the engine, as `--db` names it."""
    if request.param == "sqlite":
        return str(tmp_path / "mock.db")
    server: Server = request.getfixturevalue("pg")
    return server.database(f"store_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def opened(database: str) -> Iterator[Opener]:
    """Opens stores on the test's database (as many as asked: replicas), closes them all."""
    stores: list[Store] = []

    def open_one(job_retention: float = 3600.0, max_jobs: int = 100_000) -> Store:
        stores.append(open_store(database, job_retention, max_jobs))
        return stores[-1]

    yield open_one
    for store in stores:
        store.close()


def service(number: int) -> dict[str, object]:
    return {"id": f"00000000-0000-4000-8000-{number:012d}", "name": f"service-{number}"}


def test_services_are_scoped_by_project_and_replaced_and_deleted(opened):
    store = opened()
    first = service(1)
    store.add_service("p1", first, 1.0)
    store.commit()
    assert store.has_service("p1", first["id"]) and not store.has_service("p2", first["id"])
    assert store.service("p1", first["id"]) == first and store.service("p2", first["id"]) is None
    store.replace_service("p1", {**first, "name": "renamed"})
    store.commit()
    assert store.service("p1", first["id"])["name"] == "renamed"
    assert not store.delete_service("p2", first["id"])  # another project's: untouched
    assert store.delete_service("p1", first["id"])
    store.commit()
    assert not store.has_service("p1", first["id"]) and store.service("p1", first["id"]) is None
    assert not store.delete_service("p1", first["id"])


def test_pages_are_ordered_by_id_and_hold_every_service_once(opened):
    store = opened()
    numbers = [7, 3, 11, 1, 5]
    for number in numbers:
        store.add_service("p1", service(number), float(number))
    store.add_service("p2", service(99), 1.0)
    store.commit()
    everything = [s["id"] for s in store.services("p1", None, None)]
    assert everything == sorted(service(n)["id"] for n in numbers)
    walked, marker = [], None
    while True:
        page = store.services("p1", marker, 2)
        assert len(page) <= 2
        if not page:
            break
        walked += [s["id"] for s in page]
        marker = page[-1]["id"]
    assert walked == everything
    assert store.services("p1", everything[-1], 2) == []  # past the end: an empty page
    assert [s["id"] for s in store.services("p2", None, None)] == [service(99)["id"]]


def test_jobs_keep_their_order_and_filters(opened):
    store = opened()
    store.add_job("p1", "s1", "purge", True, "/a.png", 10.0, 20.0)
    store.add_job("p1", "s2", "invalidate", False, "/*", 11.0, 12.0)
    store.add_job("p1", "s1", "invalidate", False, "/b/*", 12.0, 13.0)
    store.commit()
    made = store.jobs()
    assert [(job.service_id, job.url) for job in made] == [("s1", "/a.png"), ("s2", "/*"),
                                                           ("s1", "/b/*")]
    assert [job.id for job in made] == sorted({job.id for job in made})
    assert store.jobs("s1") == [made[0], made[2]]
    assert store.jobs(status="done", now=15.0) == [made[1], made[2]]
    assert store.jobs(status="in_progress", now=15.0) == [made[0]]
    assert store.jobs(after=made[0].id) == made[1:]
    assert store.jobs(after=made[0].id, before=made[2].id) == made[1:2]
    assert store.jobs("s1", urls=("/b/*", "/*")) == [made[2]]
    assert store.jobs(limit=1) == made[:1]
    assert made[0].as_dict(25.0)["status"] == "done"
    assert (made[0].mode, made[0].hard, made[0].accepted_at) == ("purge", True, 10.0)


def test_jobs_are_bounded_by_max_jobs_oldest_first(opened):
    store = opened(max_jobs=50)
    for n in range(200):
        store.add_job("p1", "s1", "purge", True, f"/{n}", float(n), float(n) + 1)
    store.commit()
    held = store.jobs()
    assert len(held) <= 50 and [job.id for job in held] == sorted(job.id for job in held)
    # the newest, none skipped
    assert [job.url for job in held] == [f"/{n}" for n in range(200 - len(held), 200)]
    # what an edge that had not taken the dropped ones learns: the last id dropped
    assert store.pruned("s1") == held[0].id - 1 and store.pruned("s2") == 0


def test_counters_are_per_service_and_project(opened):
    store = opened()
    for _ in range(3):
        store.count("p1", "s1", "purge_requests")
    store.count("p1", "s1", "asset_lookups")
    store.count("p2", "s1", "purge_requests")
    store.commit()
    assert store.counters("p1", "s1") == {"purge_requests": 3, "asset_lookups": 1}
    assert store.counters("p2", "s1") == {"purge_requests": 1}
    assert store.counters("p1", "s9") == {}


def test_the_rate_limit_window_admits_its_requests_then_says_how_long_to_wait(opened):
    store = opened()
    limiter = store.limiter("purge", RateLimit(3, 60.0, 429), 1.0)
    assert [limiter.admit("p1", 100.0 + n) for n in range(3)] == [None, None, None]
    wait = limiter.admit("p1", 110.0)
    assert wait is not None and 49.0 <= wait <= 51.0  # the first of the three leaves at 160
    assert limiter.admit("p2", 110.0) is None  # another project has its own window
    assert limiter.admit("p1", 160.5) is None  # the oldest left the window


def test_changed_hosts_name_what_each_write_changed(opened):
    """What the edge's host index drops: the names a create, a replace (old and new) and a
    delete changed, nothing when nothing did, "any" after a reset. PostgreSQL hears them
    back from the commit's notification, at most a poll (5 ms) late."""
    store = opened()

    def changed(expected: list[str] | None) -> set[str] | None:
        """What the store says changed, gathered until it holds `expected` (1 s at most)."""
        found: set[str] = set()
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            names = store.changed_hosts()
            if names is None:
                return None
            found |= names
            if expected is not None and found >= set(expected):
                return found
            time.sleep(0.01)
        return found
    time.sleep(0.05)
    assert store.changed_hosts() == set()
    store.add_service("p1", service(1), 1.0, held("one.example"))
    store.commit()
    assert changed(held("one.example")) == set(held("one.example"))
    store.replace_service("p1", service(1), held("two.example"))
    store.commit()
    both = held("one.example") + held("two.example")
    assert changed(both) == set(both)
    store.delete_service("p1", service(1)["id"])
    store.commit()
    assert changed(held("two.example")) == set(held("two.example"))
    store.reset()
    store.commit()
    assert changed(None) is None


def test_a_committed_write_is_seen_by_another_store_of_the_database(opened):
    """What replicas rely on: two stores on one database (SQLite's file, or PostgreSQL)."""
    store, other = opened(), opened()
    store.add_service("p1", service(1), 1.0)
    store.add_job("p1", service(1)["id"], "purge", True, "/a", 1.0, 2.0)
    store.commit()
    assert other.service("p1", service(1)["id"]) == service(1)
    assert [job.url for job in other.jobs(service(1)["id"])] == ["/a"]
    assert other.service("p1", service(1)["id"]) == service(1)  # another replica sees it


def test_reset_forgets_services_jobs_counters_and_windows(opened):
    store = opened()
    store.add_service("p1", service(1), 1.0)
    store.add_job("p1", service(1)["id"], "purge", True, "/a", 1.0, 2.0)
    store.count("p1", service(1)["id"], "asset_lookups")
    limiter = store.limiter("purge", RateLimit(1, 60.0, 429), 1.0)
    assert limiter.admit("p1", 1.0) is None and limiter.admit("p1", 2.0) is not None
    store.commit()
    store.reset()
    store.commit()
    assert store.services("p1", None, None) == [] and store.services("p2", None, None) == []
    assert store.jobs() == [] and store.counters("p1", service(1)["id"]) == {}
    assert limiter.admit("p1", 3.0) is None


def certificate(domain: str, project: str = "p1") -> dict[str, object]:
    return {"cert_type": "san", "domain_name": domain, "flavor_id": "cdn",
            "project_id": project}


def test_certificates_are_one_per_domain_and_project_seen_by_replicas_and_reset(opened):
    """S43: a second certificate for a domain of the project is refused (nothing is kept),
    another project's is its own (S45, S46); deleted once, a certificate can be created
    again; another store of the database sees what was committed; reset forgets them."""
    store, other = opened(), opened()
    assert store.add_certificate("p1", "www.example.com", certificate("www.example.com"), 1.0)
    assert not store.add_certificate("p1", "www.example.com", certificate("WWW.example.com"),
                                     2.0)
    assert store.add_certificate("p2", "www.example.com", certificate("www.example.com", "p2"),
                                 2.0)
    store.commit()
    assert other.certificate("p1", "www.example.com") == certificate("www.example.com")
    assert other.certificate("p3", "www.example.com") is None
    assert not other.add_certificate("p1", "www.example.com", certificate("www.example.com"),
                                     3.0)  # the replica keeps the rule too
    other.commit()
    assert not store.delete_certificate("p3", "www.example.com")  # another project's
    assert store.delete_certificate("p1", "www.example.com")
    assert not store.delete_certificate("p1", "www.example.com")  # gone
    store.commit()
    assert other.certificate("p1", "www.example.com") is None
    assert other.certificate("p2", "www.example.com") == certificate("www.example.com", "p2")
    other.commit()  # ends its read, as the runtime does after each turn
    assert store.add_certificate("p1", "www.example.com", certificate("www.example.com"), 4.0)
    store.commit()
    store.reset()
    store.commit()
    assert store.certificate("p1", "www.example.com") is None
    assert store.certificate("p2", "www.example.com") is None


def held(domain: str) -> list[str]:
    return service_hosts([{"domain": domain}])


def test_a_host_name_has_one_owner_as_dns_compares_names_s37(opened):
    """Issue 33 item 6: domains are compared without case, trailing dot or IDNA spelling,
    and a domain and another service's access host are one namespace; a refused write
    keeps nothing, the batch's other writes are kept."""
    store = opened()
    store.add_service("a", {**service(1), "domains": [{"domain": "WWW.Victim-One.com"}]}, 1.0,
                      held("WWW.Victim-One.com") + held("Bücher.example"))
    store.commit()
    for stolen in ("www.victim-one.com.", "www.victim-one.com.cdn.mock.invalid",
                   "xn--bcher-kva.example", "BÜCHER.example."):
        with pytest.raises(DomainHeld):
            store.add_service("b", service(2), 2.0, held(stolen))
    store.add_service("b", service(3), 3.0, held("free.example"))
    with pytest.raises(DomainHeld):
        store.replace_service("b", service(3), held("x.example") + held("www.victim-one.com"))
    store.commit()
    assert [s["id"] for s in store.services("b", None, None)] == [service(3)["id"]]
    owner = store.served("www.victim-one.com.cdn.mock.invalid")
    assert owner is not None and owner[0] == "a" and owner[1]["id"] == service(1)["id"]
    assert store.served("x.example") is None  # the refused replace changed nothing
    assert store.served("free.example.cdn.mock.invalid")[0] == "b"
    assert store.service("b", service(3)["id"]) == service(3)
    store.replace_service("a", service(1), held("moved.example"))
    store.commit()
    assert store.served("www.victim-one.com") is None
    store.add_service("b", service(2), 4.0, held("www.victim-one.com"))  # let go: free
    assert store.delete_service("b", service(3)["id"])
    store.commit()
    assert store.served("www.victim-one.com")[1]["id"] == service(2)["id"]
    assert store.served("free.example") is None


def test_a_refused_replace_names_the_host_another_service_holds_s37(opened):
    """DomainHeld names a host name another service holds, never one the replaced service
    holds itself (the 400 names the holder's domain: its own would say it belongs to
    another service)."""
    store = opened()
    store.add_service("p1", service(2), 1.0, held("a.example"))  # first in any order
    store.add_service("p1", service(1), 1.0, held("z.example"))
    store.commit()
    with pytest.raises(DomainHeld) as refused:
        store.replace_service("p1", service(2), held("a.example") + held("z.example"))
    assert refused.value.host in held("z.example")


def test_a_failing_write_fails_alone_and_the_batch_commits(opened):
    """Issue 33 item 9: a write the database refuses (here a service id given twice) is
    refused alone; the writes before and after it in the same batch are kept."""
    store = opened()
    store.add_service("p1", service(1), 1.0, held("one.example"))
    store.add_job("p1", service(1)["id"], "purge", True, "/a", 1.0, 2.0)
    with pytest.raises(StoreFailure):
        store.add_service("p1", service(1), 1.0, held("two.example"))
    store.add_service("p1", service(2), 2.0, held("three.example"))
    store.commit()
    assert [s["id"] for s in store.services("p1", None, None)] == [service(1)["id"],
                                                                   service(2)["id"]]
    assert [job.url for job in store.jobs()] == ["/a"]
    assert store.served("two.example") is None and store.served("three.example") is not None


def test_a_certificate_written_before_a_failing_write_is_kept(opened):
    """A write that fails alone leaves the batch's earlier writes kept, a certificate's too
    (PostgreSQL replays the batch's writes after the rollback: one left out of the replay
    would be lost, its 202 sent after the commit all the same)."""
    store = opened()
    store.add_service("p1", service(1), 1.0, held("one.example"))
    store.commit()
    assert store.add_certificate("p1", "www.example.com", certificate("www.example.com"), 1.0)
    assert store.delete_certificate("p1", "www.example.com")
    assert store.add_certificate("p1", "api.example.com", certificate("api.example.com"), 1.0)
    with pytest.raises(StoreFailure):
        store.add_service("p1", service(1), 2.0, held("two.example"))
    store.commit()
    assert store.certificate("p1", "api.example.com") == certificate("api.example.com")
    assert store.certificate("p1", "www.example.com") is None


@pytest.mark.parametrize("names", [["a" * 8000], ["a" * 2690, "\U0001F600" * 675]],
                         ids=["too-long-to-hold", "notified-past-the-payload-cap"])
def test_no_host_name_makes_the_batch_fail_for_the_others(opened, names):
    """A host name the store cannot hold fails its own write alone; names it holds are
    notified in payloads PostgreSQL takes (8000 bytes, counted in bytes, not characters):
    either way the batch's other writes commit (one tenant's create made every answer of
    its batch a 500)."""
    store = opened()
    store.add_service("p1", service(1), 1.0, held("one.example"))
    hosts = [host for name in names for host in held(name)]
    with contextlib.suppress(StoreFailure):  # too long for the database's index: alone
        store.add_service("p2", service(2), 1.0, hosts)
    store.add_service("p1", service(3), 1.0, held("three.example"))
    store.commit()
    assert store.served("three.example") is not None
    assert store.served("one.example") is not None


def test_a_value_the_database_cannot_hold_is_refused_alone(opened):
    """A NUL character (PostgreSQL text holds none) and a key too long for its index (one
    that does not compress) are kept, or refused with StoreRefused alone: never taken for a
    lost database (that gave every client 503s), never the batch's failure."""
    store = opened()
    store.add_service("p1", service(1), 1.0, held("one.example"))
    long_project = "".join(random.Random(7).choices(string.ascii_lowercase, k=3000))
    writes = {"NUL in a name": lambda: store.add_service(
                  "p1", {**service(2), "name": "a\0b"}, 1.0, held("two.example")),
              "NUL in a job's url": lambda: store.add_job(
                  "p1", service(1)["id"], "purge", True, "/a\0b", 1.0, 2.0),
              "a long project": lambda: store.add_service(
                  long_project, service(3), 1.0, held("three.example")),
              "a long project's certificate": lambda: store.add_certificate(
                  long_project, "www.example.com", certificate("www.example.com"), 1.0)}
    refused = set()
    for name, write in writes.items():
        try:
            write()
        except StoreRefused:
            refused.add(name)
    store.add_job("p1", service(1)["id"], "purge", True, "/kept", 1.0, 2.0)
    store.add_service("p1", service(4), 1.0, held("four.example"))
    store.commit()
    assert store.served("four.example") is not None and store.served("one.example")
    assert [job.url for job in store.jobs()] == \
        ["/a\0b", "/kept"][("NUL in a job's url" in refused):]
    if isinstance(store, PostgresStore):  # SQLite holds them all
        assert refused == set(writes)
    else:
        assert not refused


def test_the_jobs_of_a_project_the_store_holds_are_pruned_whatever_its_length(opened):
    """A project id of 2,636 random letters fit PostgreSQL's index of services, not that of
    the counters a pruning folds its jobs into: once one of its jobs was due to go, every
    purge of every project failed (400 on PostgreSQL). A project a service is kept under
    is one the counters hold (longer ones are refused with the service)."""
    store = opened(max_jobs=1)
    long_project = "".join(random.Random(11).choices(string.ascii_lowercase, k=2636))
    store.add_service("p1", service(1), 1.0, held("one.example"))
    try:
        store.add_service(long_project, service(2), 1.0, held("two.example"))
        store.add_job(long_project, service(2)["id"], "invalidate", False, "/a", 1.0, 2.0)
        store.commit()
    except StoreRefused:
        assert isinstance(store, PostgresStore)  # SQLite holds any length
    for number in range(3):  # past --max-jobs: the finished jobs are pruned
        store.add_job("p1", service(1)["id"], "purge", True, f"/{number}", 3.0 + number, 3.5)
        store.commit()
    assert [job.url for job in store.jobs()] == ["/2"]
    assert store.counters("p1", service(1)["id"]) == {"purge_requests": 3}


def test_notifications_fit_postgresql_payloads_whatever_the_names():
    """Each payload is under 8000 bytes as PostgreSQL counts them; a name too long for one
    is sent as `*` (any may have changed)."""
    from contract.mock.state.postgres_store import NOTIFY_BYTES

    class Sent:
        def __init__(self) -> None:
            self.payloads: list[str] = []

        def execute(self, statement: str, values: tuple[str, list[str]]) -> None:
            self.payloads += values[1]

    for entries, whole in ((["\U0001F600" * 600] * 20, False), (["x" * 9000, "y.example"], True)):
        sent = Sent()
        PostgresStore._send(sent, entries)  # type: ignore[arg-type]
        assert all(len(payload.encode()) < NOTIFY_BYTES for payload in sent.payloads)
        assert (sent.payloads == ["*"]) is whole


def test_max_jobs_never_drops_an_unfinished_job(opened):
    """Issue 33 item 10: past `--max-jobs`, finished jobs go; when every held job is still
    under way a new one is refused (JobsFull, with the wait) and none is dropped."""
    store = opened(max_jobs=20)
    for n in range(19):
        store.add_job("p1", "s1", "purge", True, f"/{n}", 1.0, 100.0)
    store.add_job("p2", "s2", "purge", True, "/logo.png", 2.0, 100.0)  # the victim's
    with pytest.raises(JobsFull) as full:
        store.add_job("p1", "s1", "purge", True, "/20", 3.0, 100.0)
    assert 96 <= full.value.retry_after <= 97
    store.commit()
    assert [job.url for job in store.jobs()] == [f"/{n}" for n in range(19)] + ["/logo.png"]
    store.add_job("p1", "s1", "purge", True, "/21", 101.0, 200.0)  # all finished by now
    store.commit()
    held_jobs = store.jobs()
    assert held_jobs[-1].url == "/21" and len(held_jobs) <= 20
    assert store.counters("p2", "s2") == {"purge_requests": 1}  # counted, though pruned


def test_replicas_creating_one_domain_at_once_give_it_one_owner_s37(pg):
    """Issue 33 item 7: the second replica's insert waits for the first one's commit, then
    is refused by the unique key (a read-then-write gave a domain 2-3 owners)."""
    database = pg.database(f"race_{uuid.uuid4().hex[:12]}")
    first, second = open_store(database, 3600.0, 100), open_store(database, 3600.0, 100)
    try:
        first.add_service("a", service(1), 1.0, held("race.example"))
        outcome: list[BaseException | None] = []

        def race() -> None:
            try:
                second.add_service("b", service(2), 1.0, held("RACE.example."))
                outcome.append(None)
            except BaseException as error:  # told to the test's thread
                outcome.append(error)
        thread = threading.Thread(target=race)
        thread.start()
        time.sleep(0.2)
        assert not outcome  # waiting for the first one's commit
        first.commit()
        thread.join(timeout=10)
        assert isinstance(outcome[0], DomainHeld)
        second.commit()
        assert first.served("race.example")[0] == "a"
    finally:
        first.close()
        second.close()


def stored(number: int) -> dict[str, Any]:
    """A service as the mock stores it, deployed."""
    return {**service(number), "flavor_id": "cdn", "domains": [{"domain": f"s{number}.example"}],
            "origins": [{"origin": "127.0.0.1", "port": 80, "rules": []}], "caching": [],
            "restrictions": [], "_ready_at": 0.0, "_busy": "create_in_progress"}


OPERATIONS = ["create", "edge's first hit after a write", "get", "deep page", "purge"]


def _steps(folder: Path, size: int) -> dict[str, int]:
    """SQLite's virtual machine steps (a progress handler's count) each operation costs
    the mock, through its handlers and its edge's routing, with `size` services stored
    (seeded through the store)."""
    app = create_app("2016-08", MockSettings(db=str(folder / f"{size}.db"), rate_limit=False))
    edge = Edge(app.runtime)
    store = app.runtime.store
    for number in range(size):
        store.add_service(f"p{number % 7}", stored(number), 1.0, held(f"s{number}.example"))
    store.commit()
    middle, project = service(size // 2)["id"], f"p{size // 2 % 7}"
    base = f"/v1.0/{project}/services"
    token = {"x-auth-token": "t"}
    created: list[str] = []

    def answered(status: int, method: str, path: str, query: Any = ()) -> None:
        answer = app.answer(Incoming(method, path, list(query), token))
        assert answer.status == status, answer.body

    def create() -> None:
        answer = app.answer(Incoming("POST", base, headers={
            **token, "content-type": "application/json"}, body=json.dumps(
                {**service_body(), "domains": [{"domain": "new.example"}]}).encode()))
        assert answer.status == 202, answer.body
        created.append(dict(answer.headers)["Location"].rsplit("/", 1)[1])

    def first_hit() -> None:  # the write before it made the edge drop what it changed
        assert edge.service_for("s1.example", 0.0) is not None
        store.replace_service("p1", stored(1), held("s1.example"))
        store.commit()
        assert edge.service_for("S1.example.", 0.0) is not None

    calls = {"create": create, "edge's first hit after a write": first_hit,
             "get": lambda: answered(200, "GET", f"{base}/{middle}"),
             "deep page": lambda: answered(200, "GET", base, [("marker", middle),
                                                              ("limit", "5")]),
             "purge": lambda: answered(202, "DELETE", f"{base}/{middle}/assets",
                                       [("url", "/a.png"), ("hard", "true")])}
    counted = dict.fromkeys(calls, 0)
    for name, call in calls.items():
        def step(name: str = name) -> int:
            counted[name] += 1
            return 0
        store._db.set_progress_handler(step, 1)
        call()
        app.commit()
        store._db.set_progress_handler(None, 1)
    app.close()
    return counted


def test_no_request_reads_more_as_the_services_grow(tmp_path, shared_reference):
    """Issue 34: what a create, the edge's first hit after a write, a get, a deep page and
    a purge cost SQLite is the same with 100 and with 3,000 services stored: every
    lookup goes by a key (S37's check read every service, and the edge rebuilt its host
    index from all of them after each write)."""
    small, large = _steps(tmp_path, 100), _steps(tmp_path, 3000)
    for name in OPERATIONS:
        assert large[name] <= small[name] * 1.1 + 20, (name, small[name], large[name])


def test_the_project_of_a_service_id_is_found_by_key_s40(opened):
    """S40: a project-less Location names only the service; the store finds its project (an
    index on the id: a read of every service did it before)."""
    store = opened()
    store.add_service("p1", service(1), 1.0, held("one.example"))
    store.commit()
    assert store.project_of(service(1)["id"]) == "p1"
    assert store.project_of(service(2)["id"]) is None
