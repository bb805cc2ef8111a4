"""The mock's state as its runtime sees it: one interface, two engines.

`sqlite_store` is the embedded default (a file or memory, one process); `postgres_store`
shares the state of several replicas through one PostgreSQL database (`--db
postgresql://...`). Both keep services, purge jobs, usage counters, SSL certificates and the
rate limit's window, and both commit by batch: the writes of every request answered in one
turn of the event loop become durable in one commit, before any of those responses is sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from contract.errors import InputError
from contract.model import RateLimit


@dataclass(frozen=True)
class Job:
    id: int
    project_id: str
    service_id: str
    mode: str  # purge | invalidate
    hard: bool
    url: str
    accepted_at: float
    done_at: float

    def as_dict(self, now: float) -> dict[str, Any]:
        return {"id": self.id, "project_id": self.project_id, "service_id": self.service_id,
                "mode": self.mode, "hard": self.hard, "url": self.url,
                "accepted_at": self.accepted_at, "done_at": self.done_at,
                "status": "done" if now >= self.done_at else "in_progress"}


class StoreFailure(Exception):
    """The store could not do what was asked; nothing of the current batch was kept."""


class StoreRefused(StoreFailure):
    """The database cannot hold a value of this request (PostgreSQL: a NUL character, a key
    past its index's size): the request is refused (400), nothing of it kept; the store,
    and the batch of the other requests, go on."""


class StoreUnavailable(StoreFailure):
    """The database cannot be reached (down, restarting): the request may be retried; the
    store reconnects by itself."""


class DomainHeld(Exception):
    """The write would give its service a host name another service holds (S37): the
    store's unique key on normalised names refused it, and nothing of the write was kept."""

    def __init__(self, host: str):
        super().__init__(f"the host name {host!r} belongs to another service")
        self.host = host


class JobsFull(Exception):
    """`--max-jobs` jobs are held and none of them has finished: the new job was not kept
    (an accepted job is never dropped before it completes). `retry_after`: seconds until
    the first held job finishes."""

    def __init__(self, retry_after: float):
        super().__init__(f"{retry_after:.1f} s until a held job finishes")
        self.retry_after = retry_after


class Admitter(Protocol):
    """A rate limit's window (S11), kept where the store keeps its state."""

    limit: RateLimit

    def admit(self, key: str, now: float) -> float | None:
        """None if the request may go ahead (and it is counted), else the seconds to wait."""


class Store(Protocol):
    """What the mock's runtime asks of its state. Reads see every committed write, of this
    process or of another replica; writes wait for `commit`."""

    def commit(self) -> None:
        """Make every write since the last commit durable, or raise StoreFailure having
        kept none of them."""

    def close(self) -> None: ...

    def limiter(self, operation: str, limit: RateLimit, time_scale: float) -> Admitter:
        """The window of an operation's rate limit, shared by every process of the store."""

    def add_service(self, project_id: str, document: dict[str, Any], now: float,
                    hosts: Sequence[str] = ()) -> None:
        """Store a new service holding the host names `hosts` (`hosts.service_hosts`), or
        raise DomainHeld having stored nothing."""

    def has_service(self, project_id: str, service_id: str) -> bool: ...

    def service(self, project_id: str, service_id: str) -> dict[str, Any] | None: ...

    def project_of(self, service_id: str) -> str | None:
        """The project holding the service id, whatever the project (S40: a project-less
        Location read back), an indexed lookup."""

    def services(self, project_id: str, after: str | None, limit: int | None
                 ) -> list[dict[str, Any]]:
        """A page of services, ordered by id, after the `marker` id (all when no `limit`)."""

    def replace_service(self, project_id: str, document: dict[str, Any],
                        hosts: Sequence[str] = ()) -> None:
        """Replace a service's document and the host names it holds, or raise DomainHeld
        having changed nothing."""

    def delete_service(self, project_id: str, service_id: str) -> bool: ...

    def served(self, host: str) -> tuple[str, dict[str, Any]] | None:
        """(project id, stored document) of the service holding the normalised host name:
        what the edge routes by, an indexed lookup."""

    def changed_hosts(self) -> set[str] | None:
        """The host names whose service may have changed since the last call (None: any
        of them, e.g. after a lost connection): what the edge drops from its host index."""

    def add_job(self, project_id: str, service_id: str, mode: str, hard: bool, url: str,
                accepted_at: float, done_at: float) -> None:
        """Keep a new job (its id is given when the batch commits: `jobs` tells it), or
        raise JobsFull when `max_jobs` unfinished jobs are held."""

    def jobs(self, service_id: str | None = None, *, status: str | None = None,
             now: float = 0.0, after: int = 0, before: int | None = None,
             urls: Sequence[str] = (), limit: int = -1) -> list[Job]:
        """Jobs in the order they were accepted: of one service or all, `done` or
        `in_progress` at `now` or both, those with an id above `after` (and below
        `before`), naming one of `urls` (if given), at most `limit`."""

    def pruned(self, service_id: str) -> int:
        """The highest id of the service's jobs the store dropped (0: none): an edge that
        had not taken them into account must drop what it caches of the service."""

    def count(self, project_id: str, service_id: str, name: str) -> None: ...

    def counters(self, project_id: str, service_id: str) -> dict[str, int]: ...

    def add_certificate(self, project_id: str, domain: str, document: dict[str, Any],
                        now: float) -> bool:
        """Keep the SSL certificate of a domain (its key: lower case) in a project; False,
        keeping nothing, when the project holds one for the domain already (S43)."""

    def certificate(self, project_id: str, domain: str) -> dict[str, Any] | None: ...

    def delete_certificate(self, project_id: str, domain: str) -> bool: ...

    def reset(self) -> None:
        """Forget every service, job, counter, certificate and rate-limit window."""


class JobBound:
    """`--max-jobs` as a bound that never drops an accepted job before it completes: past
    it, finished jobs go (oldest finished first, a little more than needed: `slack`, so a
    store at its bound prunes once per `slack` inserts), and when every held job is still
    under way a new one is refused until the first of them finishes (`full_until`).
    `held` is an upper bound of the jobs held, exact after `counted`: every insert since
    adds at most its id's distance from the last one counted (other replicas insert too)."""

    def __init__(self, max_jobs: int):
        self.max_jobs = max_jobs
        self.slack = max(1, min(1024, max_jobs // 16))
        self.held = 0
        self._counted, self._last = 0, 0
        self.full_until = float("-inf")  # while full: when the first held job finishes

    def counted(self, held: int, last: int) -> None:
        """The store counted `held` jobs, the newest with the id `last`."""
        self.held, self._counted, self._last = held, held, last

    def added(self, job_id: int) -> bool:
        """A job was inserted with this id: whether the store is now past its bound."""
        self.held = self._counted + max(1, job_id - self._last)
        return self.held > self.max_jobs

    def kept(self, job_id: int, prune_due: bool, prune: Callable[[int], None],
             remove: Callable[[int], object]) -> bool:
        """After the insert of `job_id`: prune if past the bound (or `prune_due`), and if
        only unfinished jobs were left to drop, `remove` the new one (False: not kept)."""
        if self.added(job_id) or prune_due:
            prune(job_id)
        if self.held <= self.max_jobs:
            return True
        remove(job_id)  # what the pruning dropped stays dropped
        self.counted(self.held - 1, job_id)
        return False

    def excess(self, held: int) -> int:
        """How many finished jobs to drop when `held` are."""
        return held - self.max_jobs + self.slack

    def refused(self, now: float) -> float | None:
        """Seconds to wait when the store is full of unfinished jobs, else None."""
        return self.full_until - now if self.held >= self.max_jobs and \
            now < self.full_until else None


def job_filter(service_id: str | None, status: str | None, now: float, after: int,
               before: int | None, urls: Sequence[str], mark: str
               ) -> tuple[str, list[object]]:
    """The WHERE clause of `Store.jobs` and its values, with the engine's placeholder."""
    conditions, values = [f"id > {mark}"], list[object]([after])
    if before is not None:
        conditions.append(f"id < {mark}")
        values.append(before)
    if urls:  # an asset report's: filtered by the database, not as Job objects in Python
        # (an index of its own would cost every purge's insert ~1 µs, 8%)
        conditions.append(f"url IN ({', '.join([mark] * len(urls))})")
        values += urls
    if service_id:
        conditions.append(f"service_id = {mark}")
        values.append(service_id)
    if status is not None:
        conditions.append(f"done_at <= {mark}" if status == "done" else f"done_at > {mark}")
        values.append(now)
    return " AND ".join(conditions), values


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def open_store(db: str, job_retention: float, max_jobs: int) -> Store:
    """The store `--db` names: a `postgresql://` URL, else a SQLite file or `:memory:`."""
    if db.startswith(("postgresql://", "postgres://")):
        from contract.mock.state.postgres_store import PostgresStore

        return PostgresStore(db, job_retention, max_jobs)
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", db)
    if scheme:  # mysql://x/y was read as a file in the folder mysql:
        raise InputError(f"--db {redacted(db)}: {scheme.group(1)}:// is not a database the "
                         "mock keeps its state in (a SQLite file, :memory:, or "
                         "postgresql://USER@HOST:PORT/DB)")
    from contract.mock.state.sqlite_store import SQLiteStore

    return SQLiteStore(db, job_retention, max_jobs)
