"""The mock's state as its runtime sees it: one interface, two engines.

`sqlite_store` is the embedded default (a file or memory, one process); `postgres_store`
shares the state of several replicas through one PostgreSQL database (`--db
postgresql://...`). Both keep services, purge jobs, usage counters, SSL certificates and the
rate limit's window, and both commit by batch: the writes of every request answered in one
turn of the event loop become durable in one commit, before any of those responses is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

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


class StoreUnavailable(StoreFailure):
    """The database cannot be reached (down, restarting): the request may be retried; the
    store reconnects by itself."""


class Admitter(Protocol):
    """A rate limit's window (S11), kept where the store keeps its state."""

    limit: RateLimit

    def admit(self, key: str, now: float) -> float | None:
        """None if the request may go ahead (and it is counted), else the seconds to wait."""


class Store(Protocol):
    """What the mock's runtime asks of its state. Reads see every committed write, of this
    process or of another replica; writes wait for `commit`."""

    @property
    def version(self) -> int:
        """Grows with every committed change to the services: the edge re-reads its host
        index when it does."""

    def commit(self) -> None:
        """Make every write since the last commit durable, or raise StoreFailure having
        kept none of them."""

    def close(self) -> None: ...

    def limiter(self, operation: str, limit: RateLimit, time_scale: float) -> Admitter:
        """The window of an operation's rate limit, shared by every process of the store."""

    def add_service(self, project_id: str, document: dict[str, Any], now: float) -> None: ...

    def has_service(self, project_id: str, service_id: str) -> bool: ...

    def service(self, project_id: str, service_id: str) -> dict[str, Any] | None: ...

    def services(self, project_id: str, after: str | None, limit: int | None
                 ) -> list[dict[str, Any]]:
        """A page of services, ordered by id, after the `marker` id (all when no `limit`)."""

    def replace_service(self, project_id: str, document: dict[str, Any]) -> None: ...

    def delete_service(self, project_id: str, service_id: str) -> bool: ...

    def all_services(self) -> list[tuple[str, dict[str, Any]]]:
        """(project id, stored document) of every service: what the edge indexes by host."""

    def add_job(self, project_id: str, service_id: str, mode: str, hard: bool, url: str,
                accepted_at: float, done_at: float) -> Job: ...

    def jobs(self, service_id: str | None = None, *, status: str | None = None,
             now: float = 0.0, after: int = 0, limit: int = -1) -> list[Job]:
        """Jobs in the order they were accepted: of one service or all, `done` or
        `in_progress` at `now` or both, those after the id `after`, at most `limit`."""

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
    """`--max-jobs` as a bound, not a target: the jobs held are ids in [floor, last] (they
    go as a prefix of the id order), so an insert whose id is `max_jobs` past the floor
    prunes at once. Each pruning cuts a little more than needed (`slack`) so that a store
    at its bound prunes once per `slack` inserts, not on every purge."""

    def __init__(self, max_jobs: int):
        self.max_jobs = max_jobs
        self.slack = max(1, min(1024, max_jobs // 16))
        self.floor = 1  # no job with a smaller id is held

    def over(self, job_id: int) -> bool:
        return job_id - self.floor + 1 > self.max_jobs

    def cut(self, last: int) -> int:
        """The first id kept when `last` is the newest: at most `max_jobs - slack` remain."""
        return last - self.max_jobs + 1 + self.slack if self.over(last) else \
            last - self.max_jobs + 1


def job_filter(service_id: str | None, status: str | None, now: float, after: int,
               mark: str) -> tuple[str, list[object]]:
    """The WHERE clause of `Store.jobs` and its values, with the engine's placeholder."""
    conditions, values = [f"id > {mark}"], list[object]([after])
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
    from contract.mock.state.sqlite_store import SQLiteStore

    return SQLiteStore(db, job_retention, max_jobs)
