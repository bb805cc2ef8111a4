"""The Store contract (contract/mock/state/store.py), one suite both engines must pass: SQLite (a
file) and PostgreSQL (a throwaway server on loopback, Debian's package). A new engine is one
more parameter here, not a new end-to-end test.

Each test opens a fresh store; what it checks is what the runtime relies on: services scoped
by project and paged by id, jobs in acceptance order with their filters and their bound,
counters, the rate limit's window, `version` growing with committed changes, `commit` making
writes visible to another store on the same database, and `reset` forgetting everything.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from contract.mock.state.store import Store, open_store
from contract.model import RateLimit
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
    assert {project for project, _ in store.all_services()} == {"p1", "p2"}
    assert len(store.all_services()) == len(numbers) + 1


def test_jobs_keep_their_order_and_filters(opened):
    store = opened()
    made = [store.add_job("p1", "s1", "purge", True, "/a.png", 10.0, 20.0),
            store.add_job("p1", "s2", "invalidate", False, "/*", 11.0, 12.0),
            store.add_job("p1", "s1", "invalidate", False, "/b/*", 12.0, 13.0)]
    store.commit()
    assert [job.id for job in made] == sorted(job.id for job in made)
    assert store.jobs() == made
    assert store.jobs("s1") == [made[0], made[2]]
    assert store.jobs(status="done", now=15.0) == [made[1], made[2]]
    assert store.jobs(status="in_progress", now=15.0) == [made[0]]
    assert store.jobs(after=made[0].id) == made[1:]
    assert store.jobs(limit=1) == made[:1]
    assert made[0].as_dict(25.0)["status"] == "done"
    assert (made[0].mode, made[0].hard, made[0].url) == ("purge", True, "/a.png")


def test_jobs_are_bounded_by_max_jobs_oldest_first(opened):
    store = opened(max_jobs=50)
    ids = [store.add_job("p1", "s1", "purge", True, f"/{n}", float(n), float(n) + 1).id
           for n in range(200)]
    store.commit()
    held = [job.id for job in store.jobs()]
    assert len(held) <= 50 and held == sorted(held) and held[-1] == ids[-1]
    assert held == ids[len(ids) - len(held):]  # the newest, none skipped


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


def test_version_grows_with_each_committed_change_from_the_first(opened):
    """`version` may lag a commit by a poll (PostgreSQL reads it at most every 5 ms): it
    must have grown soon after, from the very first service of a new database on."""
    store = opened()
    for change in (lambda: store.add_service("p1", service(1), 1.0),
                   lambda: store.replace_service("p1", {**service(1), "name": "renamed"}),
                   lambda: store.delete_service("p1", service(1)["id"])):
        before = store.version
        change()
        store.commit()
        deadline = time.monotonic() + 1.0
        while store.version <= before and time.monotonic() < deadline:
            time.sleep(0.01)
        assert store.version > before


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
    assert store.services("p1", None, None) == [] and store.all_services() == []
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
