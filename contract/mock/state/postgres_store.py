"""The mock's state in PostgreSQL, shared by every replica pointed at the same database.

Services, purge jobs, counters, SSL certificates and the rate limit's windows live in the
database, so any replica answers for what another accepted: a purge limit of 20 a minute is
20 across all of them. Each replica holds two connections:

- the *batch* connection carries the requests' reads and writes in one open transaction,
  committed by `commit` before the responses that acknowledge them are sent (group commit,
  as with SQLite): a replica killed with `kill -9` loses nothing it acknowledged;
- the *shared* connection (autocommit) takes the rate limit's decisions, one statement each
  under a row lock (exact across replicas, never held until a batch commits), and the reads
  that run outside the requests' batches: the edge's, and the job listings (which see
  committed jobs only, so not a purge pipelined in the same batch).

When the database cannot be reached (stopped, restarting), every call raises
`StoreUnavailable` at once (the mock answers 503 with the error body); the store reconnects
by itself on a later request, at most every RECONNECT_SECONDS. The schema is created, or
migrated, on start under an advisory lock, so replicas starting together do not race.

What stays per replica: its CDN edge's cache (each edge node has its own disk), fed by the
shared jobs. An edge takes completed jobs in id order; a job whose commit lagged behind a
later one by more than an invalidation's duration could be skipped, which needs a commit
slower than 60 s times the time scale.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg.abc import Params

from contract.errors import InputError
from contract.mock.state.store import (
    Job,
    JobBound,
    StoreFailure,
    StoreUnavailable,
    job_filter,
    redacted,
)
from contract.model import RateLimit

RECONNECT_SECONDS = 0.25  # a lost database is tried again at most this often
POLL_SECONDS = 0.005  # how stale the edge's view of the services' version may be
CONNECT: dict[str, Any] = {"connect_timeout": 2, "application_name": "cdn-contract mock",
           "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
           "keepalives_count": 2, "options": "-c statement_timeout=5000 -c lock_timeout=5000"}
SCHEMA_LOCK = 0x63646E  # the advisory lock replicas take to create or migrate the schema
# Each migration runs once, in order; `schema_version` says how many have.
MIGRATIONS = [
    """
    CREATE TABLE services (
        project_id TEXT NOT NULL,
        id TEXT NOT NULL,
        document JSONB NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (project_id, id)
    );
    CREATE TABLE jobs (
        id BIGSERIAL PRIMARY KEY,
        project_id TEXT NOT NULL,
        service_id TEXT NOT NULL,
        mode TEXT NOT NULL,
        hard BOOLEAN NOT NULL,
        url TEXT NOT NULL,
        accepted_at DOUBLE PRECISION NOT NULL,
        done_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX jobs_by_service ON jobs (service_id, id);
    CREATE TABLE counters (
        project_id TEXT NOT NULL,
        service_id TEXT NOT NULL,
        name TEXT NOT NULL,
        value BIGINT NOT NULL,
        PRIMARY KEY (project_id, service_id, name)
    );
    CREATE TABLE rate_windows (
        key TEXT PRIMARY KEY,
        hits DOUBLE PRECISION[] NOT NULL
    );
    CREATE SEQUENCE services_version;
    CREATE FUNCTION admit(k TEXT, now DOUBLE PRECISION, since DOUBLE PRECISION, most INT)
    RETURNS DOUBLE PRECISION LANGUAGE plpgsql AS $$
    DECLARE
        kept DOUBLE PRECISION[];
    BEGIN
        INSERT INTO rate_windows VALUES (k, '{}') ON CONFLICT DO NOTHING;
        SELECT ARRAY(SELECT h FROM unnest(hits) AS h WHERE h > since ORDER BY h) INTO kept
            FROM rate_windows WHERE key = k FOR UPDATE;
        IF cardinality(kept) < most THEN
            UPDATE rate_windows SET hits = kept || now WHERE key = k;
            RETURN NULL;
        END IF;
        UPDATE rate_windows SET hits = kept WHERE key = k;
        RETURN kept[1];
    END $$;
    """,
    """
    CREATE TABLE certificates (
        project_id TEXT NOT NULL,
        domain TEXT NOT NULL,
        document JSONB NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (project_id, domain)
    );
    """,
]
T = TypeVar("T")


class PostgresStore:
    """The `Store` of a replica, in a PostgreSQL database shared with the others."""

    PRUNE_EVERY = 1024  # jobs added by this replica between two prunings

    def __init__(self, url: str, job_retention: float = 3600.0, max_jobs: int = 100_000):
        self.url = url
        self.job_retention = job_retention
        self.bound = JobBound(max_jobs)  # this replica's view; others only raise the floor
        self._added = 0
        self._batch: psycopg.Connection[Any] | None = None
        self._shared: psycopg.Connection[Any] | None = None
        self._down_until = 0.0
        self._pending = False  # writes await the next commit
        self._services_changed = False
        self._version, self._version_read = 0, float("-inf")
        try:
            self._connect()
            self._migrate()
        except StoreUnavailable as error:
            raise InputError(f"--db {redacted(url)}: {error.__cause__ or error}") from None

    # -- connections -------------------------------------------------------------------------

    def _connect(self) -> None:
        try:
            self._batch = psycopg.connect(self.url, autocommit=False, **CONNECT)
            self._shared = psycopg.connect(self.url, autocommit=True, **CONNECT)
            # the rate limit's windows need no fsync of their own: after a database crash
            # a window may forget its last hits, never double them
            self._shared.execute("SET synchronous_commit = off")
        except psycopg.Error as error:
            self._lost()
            raise StoreUnavailable(f"cannot connect: {_first_line(error)}") from error

    def _lost(self) -> None:
        """Drop both connections; the next call reconnects, not before RECONNECT_SECONDS."""
        for connection in (self._batch, self._shared):
            if connection is not None:
                connection.close()
        self._batch = self._shared = None
        self._down_until = time.monotonic() + RECONNECT_SECONDS

    def _use(self, shared: bool, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """`work` on a connection, reconnecting if need be; a lost database raises
        StoreUnavailable, any other database error StoreFailure (the batch is lost)."""
        if self._batch is None or self._shared is None:
            if self._pending:  # the writes of this batch went with the lost connection
                raise StoreUnavailable("the database connection was lost")
            if time.monotonic() < self._down_until:
                raise StoreUnavailable("the database is unreachable; trying again shortly")
            self._connect()
        connection = self._shared if shared else self._batch
        assert connection is not None
        try:
            return work(connection)
        except (psycopg.OperationalError, psycopg.InterfaceError) as error:
            self._lost()
            raise StoreUnavailable(_first_line(error)) from error
        except psycopg.Error as error:
            self._pending = True  # the transaction is aborted: so is the batch
            raise StoreFailure(_first_line(error)) from error

    def _rows(self, statement: str, values: Params = (), shared: bool = False
              ) -> list[tuple[Any, ...]]:
        return self._use(shared, lambda c: c.execute(statement, values).fetchall())

    def _write(self, statement: str, values: Params = ()) -> psycopg.Cursor[Any]:
        cursor = self._use(False, lambda c: c.execute(statement, values))
        self._pending = True
        return cursor

    def _migrate(self) -> None:
        def migrate(connection: psycopg.Connection[Any]) -> None:
            with connection.transaction():
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                connection.execute("CREATE TABLE IF NOT EXISTS schema_version (applied INT)")
                row = connection.execute("SELECT applied FROM schema_version").fetchone()
                if row is None:
                    connection.execute("INSERT INTO schema_version VALUES (0)")
                applied = row[0] if row else 0
                for migration in MIGRATIONS[applied:]:
                    connection.execute(migration.encode())  # our own SQL, no input
                connection.execute("UPDATE schema_version SET applied = %s", (len(MIGRATIONS),))
        self._use(True, migrate)

    def commit(self) -> None:
        """Commit the batch (with no write in it, this only ends its read transaction), or
        raise having kept none of it."""
        pending, self._pending = self._pending, False
        batch = self._batch
        if batch is None:
            if pending:
                raise StoreUnavailable("the database connection was lost")
            return
        status = batch.info.transaction_status
        if status == psycopg.pq.TransactionStatus.IDLE:
            return
        if status == psycopg.pq.TransactionStatus.INERROR:
            self._use(False, lambda c: c.rollback())
            raise StoreFailure("a statement of this batch failed; nothing of it was kept")
        self._use(False, lambda c: c.commit())
        if self._services_changed:
            self._services_changed = False
            self._version = self._rows("SELECT nextval('services_version')", shared=True)[0][0]

    def close(self) -> None:
        try:
            self.commit()
        finally:
            for connection in (self._batch, self._shared):
                if connection is not None:
                    connection.close()

    @property
    def version(self) -> int:
        """The services' version, read at most every POLL_SECONDS (bumped after a commit, so
        a replica that sees it change reads the committed services)."""
        now = time.monotonic()
        if now - self._version_read >= POLL_SECONDS:
            # a fresh sequence says 1 before its first nextval and 1 after it: `is_called`
            # tells the two apart, or the first service of a database would go unseen
            self._version = self._rows("SELECT CASE WHEN is_called THEN last_value ELSE 0 "
                                       "END FROM services_version", shared=True)[0][0]
            self._version_read = now
        return self._version

    def limiter(self, operation: str, limit: RateLimit, time_scale: float) -> SharedLimiter:
        return SharedLimiter(self, operation, limit, limit.period_seconds * time_scale)

    # -- services ----------------------------------------------------------------------------

    def add_service(self, project_id: str, document: dict[str, Any], now: float) -> None:
        self._services_changed = True
        self._write("INSERT INTO services VALUES (%s, %s, %s, %s)",
                    (project_id, document["id"], _dump(document), now))

    def has_service(self, project_id: str, service_id: str) -> bool:
        return bool(self._rows("SELECT 1 FROM services WHERE project_id = %s AND id = %s",
                               (project_id, service_id)))

    def service(self, project_id: str, service_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT document FROM services WHERE project_id = %s AND id = %s",
                          (project_id, service_id))
        return dict(rows[0][0]) if rows else None

    def services(self, project_id: str, after: str | None, limit: int | None
                 ) -> list[dict[str, Any]]:
        rows = self._rows("SELECT document FROM services WHERE project_id = %s AND id > %s "
                          "ORDER BY id LIMIT %s", (project_id, after or "", limit))
        return [dict(row[0]) for row in rows]

    def replace_service(self, project_id: str, document: dict[str, Any]) -> None:
        self._services_changed = True
        self._write("UPDATE services SET document = %s WHERE project_id = %s AND id = %s",
                    (_dump(document), project_id, document["id"]))

    def delete_service(self, project_id: str, service_id: str) -> bool:
        self._services_changed = True
        return self._write("DELETE FROM services WHERE project_id = %s AND id = %s",
                           (project_id, service_id)).rowcount > 0

    def all_services(self) -> list[tuple[str, dict[str, Any]]]:
        rows = self._rows("SELECT project_id, document FROM services", shared=True)
        return [(row[0], dict(row[1])) for row in rows]

    # -- jobs and counters -------------------------------------------------------------------

    def add_job(self, project_id: str, service_id: str, mode: str, hard: bool, url: str,
                accepted_at: float, done_at: float) -> Job:
        (job_id,) = self._write(
            "INSERT INTO jobs (project_id, service_id, mode, hard, url, accepted_at, done_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (project_id, service_id, mode, hard, url, accepted_at, done_at)).fetchone() or (0,)
        self._added += 1
        if self._added % self.PRUNE_EVERY == 0 or self.bound.over(job_id):
            self.prune(accepted_at)
        return Job(job_id, project_id, service_id, mode, hard, url, accepted_at, done_at)

    def prune(self, now: float) -> None:
        """As SQLite's: finished jobs past their retention and the oldest past `max_jobs` go,
        as a prefix of the id order, counted into the counters first."""
        first, last = self._rows("SELECT MIN(id), MAX(id) FROM jobs")[0]
        if first is None:
            return
        kept = self._rows("SELECT id FROM jobs WHERE done_at >= %s ORDER BY id LIMIT 1",
                          (now - self.job_retention,))
        cut = max(self.bound.cut(last), kept[0][0] if kept else last + 1)
        self.bound.floor = max(first, cut)
        if cut > first:
            self._write("INSERT INTO counters SELECT project_id, service_id, mode || "
                        "'_requests', COUNT(*) FROM jobs WHERE id < %s GROUP BY project_id, "
                        "service_id, mode ON CONFLICT (project_id, service_id, name) DO UPDATE "
                        "SET value = counters.value + excluded.value", (cut,))
            self._write("DELETE FROM jobs WHERE id < %s", (cut,))

    def jobs(self, service_id: str | None = None, *, status: str | None = None,
             now: float = 0.0, after: int = 0, limit: int = -1) -> list[Job]:
        where, values = job_filter(service_id, status, now, after, "%s")
        rows = self._rows(
            "SELECT id, project_id, service_id, mode, hard, url, accepted_at, done_at FROM jobs "
            f"WHERE {where} ORDER BY id LIMIT %s",
            (*values, None if limit < 0 else limit), shared=True)
        return [Job(*row) for row in rows]

    def count(self, project_id: str, service_id: str, name: str) -> None:
        self._write("INSERT INTO counters VALUES (%s, %s, %s, 1) ON CONFLICT (project_id, "
                    "service_id, name) DO UPDATE SET value = counters.value + 1",
                    (project_id, service_id, name))

    def counters(self, project_id: str, service_id: str) -> dict[str, int]:
        rows = self._rows(
            "SELECT name, SUM(value)::BIGINT FROM (SELECT name, value FROM counters "
            "WHERE project_id = %(p)s AND service_id = %(s)s "
            "UNION ALL SELECT mode || '_requests', COUNT(*) FROM jobs "
            "WHERE project_id = %(p)s AND service_id = %(s)s GROUP BY mode) AS c "
            "GROUP BY name ORDER BY 1", {"p": project_id, "s": service_id})
        return {name: int(value) for name, value in rows}

    # -- SSL certificates --------------------------------------------------------------------

    def add_certificate(self, project_id: str, domain: str, document: dict[str, Any],
                        now: float) -> bool:
        """One statement, so two replicas creating one domain's certificate at once keep
        one: the second waits on the first's row and then inserts nothing."""
        return self._write("INSERT INTO certificates VALUES (%s, %s, %s, %s) ON CONFLICT DO "
                           "NOTHING", (project_id, domain, _dump(document), now)).rowcount > 0

    def certificate(self, project_id: str, domain: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT document FROM certificates WHERE project_id = %s AND "
                          "domain = %s", (project_id, domain))
        return dict(rows[0][0]) if rows else None

    def delete_certificate(self, project_id: str, domain: str) -> bool:
        return self._write("DELETE FROM certificates WHERE project_id = %s AND domain = %s",
                           (project_id, domain)).rowcount > 0

    def reset(self) -> None:
        """Empty every table, for every replica (their edges see the services' version
        change)."""
        self._services_changed = True
        self._write("TRUNCATE services, jobs, counters, certificates, rate_windows")

    def admit(self, key: str, now: float, window: float, most: int) -> float | None:
        """The rate limit's decision for `key` (see SharedLimiter), exact across replicas."""
        rows = self._rows("SELECT admit(%s, %s, %s, %s)", (key, now, now - window, most),
                          shared=True)
        oldest = rows[0][0]
        return None if oldest is None else float(oldest) + window - now


class SharedLimiter:
    """A sliding-window rate limit whose window lives in the database: the check and the
    count are one statement under the window's row lock, so 64 purges at once spread over
    any number of replicas get exactly `requests` acceptances."""

    def __init__(self, store: PostgresStore, operation: str, limit: RateLimit, window: float):
        self.store, self.operation, self.limit, self.window = store, operation, limit, window

    def admit(self, key: str, now: float) -> float | None:
        return self.store.admit(f"{self.operation}:{key}", now, self.window,
                                self.limit.requests)


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
