"""The mock's state in PostgreSQL, shared by every replica pointed at the same database.

Services, purge jobs, counters, SSL certificates and the rate limit's windows live in the
database, so any replica answers for what another accepted: a purge limit of 20 a minute is
20 across all of them. Each replica holds two connections:

- the *batch* connection carries the requests' reads and writes in one open transaction,
  committed by `commit` before the responses that acknowledge them are sent (group commit,
  as with SQLite): a replica killed with `kill -9` loses nothing it acknowledged. As
  SQLite's `synchronous=NORMAL` leaves the fsync to checkpoints, the commit does not wait
  for PostgreSQL's flush of its log (`synchronous_commit = off`): only a crash of the
  database server itself could lose its last fraction of a second (`wal_writer_delay`).
  The purges of a batch are inserted by one statement sent with the commit, in one round
  trip: a purge costs a replica no wait of its own;
- the *shared* connection (autocommit) takes the rate limit's decisions, one statement each
  under a row lock (exact across replicas, never held until a batch commits), and the reads
  that run outside the requests' batches: the edge's, and the job listings (which see
  committed jobs only, so not a purge pipelined in the same batch).

When the database cannot be reached (stopped, restarting), every call raises
`StoreUnavailable` at once (the mock answers 503 with the error body); the store reconnects
by itself on a later request, at most every RECONNECT_SECONDS. The schema is created, or
migrated, on start under an advisory lock, so replicas starting together do not race.

A write the database refuses fails alone: the batch remembers its writes, and one that
fails rolls the transaction back and replays the others before its request is told (a
PostgreSQL transaction takes no statement after an error; a savepoint per write would cost
two more round trips on every purge). S37 is the unique key of the `hosts` table, which
holds every host name of every service: two replicas creating one domain at once get one
owner, the second insert waiting for the first's commit. Each batch that changes services
notifies the host names it changed (`NOTIFY`, delivered at commit to every replica), so an
edge drops exactly those from its host index, and a replica forgets a deleted service it
had seen (the purge path asks the database only about a service it never saw).

What stays per replica: its CDN edge's cache (each edge node has its own disk), fed by the
shared jobs. An edge takes completed jobs in id order; a job whose commit lagged behind a
later one by more than an invalidation's duration could be skipped, which needs a commit
slower than 60 s times the time scale.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg.abc import Params

from contract.errors import InputError
from contract.mock.state.hosts import CHANGED_HOSTS
from contract.mock.state.store import (
    DomainHeld,
    Job,
    JobBound,
    JobsFull,
    StoreFailure,
    StoreRefused,
    StoreUnavailable,
    job_filter,
    redacted,
)
from contract.model import RateLimit

RECONNECT_SECONDS = 0.25  # a lost database is tried again at most this often
POLL_SECONDS = 0.005  # how late a replica may hear what another's batch changed
CONNECT: dict[str, Any] = {"connect_timeout": 2, "application_name": "cdn-contract mock",
           "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
           "keepalives_count": 2, "options": "-c statement_timeout=5000 -c lock_timeout=5000"}
CHANNEL = "cdn_services"  # what a batch that changed services notifies: hosts, services
NOTIFY_BYTES = 7000  # a notification's payload is at most 8000 bytes
# The longest project id a service is kept under. An index entry holds at most 2704 bytes;
# the counters' (project, service id, name), which a pruning folds jobs into, is the widest
# that a service's project must fit (one that fit the services' index alone, by a few bytes,
# made every later pruning fail, and with it every purge of every project).
PROJECT_BYTES = 2048
JOB_COLUMNS = "project_id, service_id, mode, hard, url, accepted_at, done_at"
INSERT_JOBS = (f"INSERT INTO jobs ({JOB_COLUMNS}) SELECT * FROM unnest(%s::text[], %s::text[], "
               "%s::text[], %s::boolean[], %s::text[], %s::float8[], %s::float8[]) RETURNING id")
JobRow = tuple[str, str, str, bool, str, float, float]
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
    # S37 as a constraint: every host name of every service under one unique key (names of
    # a database from before, ASCII ones normalised as `hosts.host_key` does; a name two
    # services held then stays with one of them)
    r"""
    CREATE TABLE hosts (
        host TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        service_id TEXT NOT NULL
    );
    CREATE INDEX hosts_by_service ON hosts (project_id, service_id);
    CREATE INDEX jobs_by_done ON jobs (done_at);
    CREATE TABLE pruned (
        service_id TEXT PRIMARY KEY,
        last_id BIGINT NOT NULL
    );
    INSERT INTO hosts SELECT name || suffix, project_id, id FROM (
        SELECT DISTINCT lower(regexp_replace(d->>'domain', '\.$', '')) AS name, project_id, id
        FROM services, jsonb_array_elements(document->'domains') AS d) AS n,
        (VALUES (''), ('.cdn.mock.invalid')) AS s (suffix) ON CONFLICT DO NOTHING;
    """,
    """
    CREATE INDEX services_by_id ON services (id);  -- S40: a Location without its project
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
        self._polled = float("-inf")
        self._done: list[tuple[str, Params]] = []  # the writes of this batch, for a replay
        # the statements of the write under way (None: no `_unit` is under way)
        self._steps: list[tuple[str, Params]] | None = None
        self._notify: set[str] = set()  # what this batch changed: hosts, "project service"
        self._changed: set[str] | None = set()  # hosts notified since `changed_hosts`
        self._known: set[tuple[str, str]] = set()  # services seen, until notified deleted
        self._jobs: list[JobRow] = []  # accepted, inserted with the commit
        try:
            self._connect()
            self._migrate()
            self._count_jobs()
        except StoreUnavailable as error:
            raise InputError(f"--db {redacted(url)}: {error.__cause__ or error}") from None

    # -- connections -------------------------------------------------------------------------

    def _connect(self) -> None:
        try:
            self._batch = psycopg.connect(self.url, autocommit=False, **CONNECT)
            self._batch.execute("SET synchronous_commit = off")
            self._batch.commit()
            self._shared = psycopg.connect(self.url, autocommit=True, **CONNECT)
            # the rate limit's windows need no fsync of their own: after a database crash
            # a window may forget its last hits, never double them
            self._shared.execute("SET synchronous_commit = off")
            self._shared.add_notify_handler(self._notified)
            self._shared.execute(f"LISTEN {CHANNEL}")
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
        self._changed = None  # what other replicas did meanwhile was not heard
        self._known.clear()
        self._done.clear()
        self._jobs.clear()

    def _notified(self, notification: psycopg.Notify) -> None:
        """Another batch (of any replica) changed these hosts and services."""
        for entry in notification.payload.split("\n"):
            if entry == "*":  # a reset
                self._changed = None
                self._known.clear()
            elif " " in entry:
                project_id, service_id = entry.split(" ", 1)
                self._known.discard((project_id, service_id))
            elif self._changed is not None:
                self._changed.add(entry)
        if self._changed is not None and len(self._changed) > CHANGED_HOSTS:
            self._changed = None  # nobody asked for a while: any may have changed

    def _use(self, shared: bool, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """`work` on a connection, reconnecting if need be; a lost database raises
        StoreUnavailable, a value it cannot hold StoreRefused (a program limit is an
        OperationalError, but the connection is fine: once taken for a lost database, one
        random 3,000-character X-Project-Id gave every client 503s), any other database
        error StoreFailure (the batch's transaction is aborted: `_unit` replays it)."""
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
        except (psycopg.DataError, psycopg.errors.ProgramLimitExceeded) as error:
            self._pending = True
            raise StoreRefused(_first_line(error)) from error
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
        """A statement of the write under way; outside a `_unit`, a unit of its own (else
        it would be left out of a replay, and lost with the rollback of a later failure)."""
        if self._steps is None:
            with self._unit():
                return self._write(statement, values)
        cursor = self._use(False, lambda c: c.execute(statement, values))
        self._steps.append((statement, values))
        self._pending = True
        return cursor

    @contextlib.contextmanager
    def _unit(self, hosts: Sequence[str] = (), owner: tuple[str, str] = ("", "")
              ) -> Iterator[None]:
        """One write, all of it or none. If the database refuses one of its statements,
        the transaction is rolled back and the batch's earlier writes replayed, so this one
        fails alone: DomainHeld when the refusal is the unique key of `hosts` (naming one
        that a service other than `owner`, project and id, holds), else StoreFailure."""
        steps: list[tuple[str, Params]] = []
        self._steps = steps
        try:
            yield
        except StoreUnavailable:
            raise  # the connection, and the batch with it, is gone
        except StoreFailure as failure:
            cause = failure.__cause__
            self._replay()
            if isinstance(cause, psycopg.errors.UniqueViolation) and \
                    cause.diag.table_name == "hosts":
                taken = self._rows("SELECT host FROM hosts WHERE host = ANY(%s) AND NOT "
                                   "(project_id = %s AND service_id = %s) LIMIT 1",
                                   (list(hosts), *owner))
                raise DomainHeld(taken[0][0] if taken else hosts[0]) from None
            raise
        finally:
            self._steps = None
        self._done += steps

    def _replay(self) -> None:
        """Roll the batch back and run its earlier writes again; if one fails now, the
        transaction stays aborted and the commit fails the whole batch."""
        def replay(connection: psycopg.Connection[Any]) -> None:
            connection.rollback()
            for statement, values in self._done:
                connection.execute(statement, values)
        self._use(False, replay)

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

    def _count_jobs(self) -> None:
        """The jobs held and the last id given (of any replica): what `--max-jobs` counts
        from."""
        self.bound.counted(*self._rows(
            "SELECT (SELECT COUNT(*) FROM jobs), (SELECT CASE WHEN is_called THEN last_value "
            "ELSE 0 END FROM jobs_id_seq)")[0])

    def commit(self) -> None:
        """Commit the batch (with no write in it, this only ends its read transaction), or
        raise having kept none of it. The jobs it held back, its notifications and the
        commit go in one round trip (a pipeline), unless the jobs are due a pruning."""
        rows: list[JobRow] = []
        if self._jobs and self._batch is not None:
            if self._prune_due(len(self._jobs)):
                self._send_jobs()
            else:
                rows, self._jobs = self._jobs, []
        pending, self._pending = self._pending, False
        self._done.clear()
        notify, self._notify = self._notify, set()
        batch = self._batch
        if batch is None:
            if pending:
                raise StoreUnavailable("the database connection was lost")
            return
        status = batch.info.transaction_status
        if status == psycopg.pq.TransactionStatus.IDLE and not rows:
            return
        if status == psycopg.pq.TransactionStatus.INERROR:
            self._use(False, lambda c: c.rollback())
            raise StoreFailure("a statement of this batch failed; nothing of it was kept")

        def finish(connection: psycopg.Connection[Any]) -> None:
            try:
                with connection.pipeline():
                    inserted = connection.execute(INSERT_JOBS, _columns(rows)) if rows \
                        else None
                    if notify:
                        self._send(connection, sorted(notify))
                    connection.commit()
            except psycopg.Error:
                if connection.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
                    connection.rollback()
                raise
            if inserted is not None:
                self._inserted(len(rows), [row[0] for row in inserted.fetchall()])
        self._use(False, finish)

    @staticmethod
    def _send(connection: psycopg.Connection[Any], entries: list[str]) -> None:
        """Notify the entries in payloads under NOTIFY_BYTES, counted in bytes as
        PostgreSQL counts them (sent at the commit: a payload it refuses fails the whole
        batch). An entry too long for a payload of its own is sent as `*`: any may have
        changed."""
        sized = [(entry, len(entry.encode()) + 1) for entry in entries]
        if any(length > NOTIFY_BYTES for _, length in sized):
            sized = [("*", 2)]
        chunks: list[list[str]] = [[]]
        size = 0
        for entry, length in sized:
            if size + length > NOTIFY_BYTES and chunks[-1]:
                chunks.append([])
                size = 0
            chunks[-1].append(entry)
            size += length
        connection.execute("SELECT pg_notify(%s, c) FROM unnest(%s::text[]) AS c",
                           (CHANNEL, ["\n".join(chunk) for chunk in chunks]))

    def close(self) -> None:
        try:
            self.commit()
        finally:
            for connection in (self._batch, self._shared):
                if connection is not None:
                    connection.close()

    def _poll(self) -> None:
        """Take the notifications the shared connection received (`_notified`), asking
        for them at most every POLL_SECONDS (a query delivers them)."""
        now = time.monotonic()
        if now - self._polled >= POLL_SECONDS:
            self._rows("SELECT 1", shared=True)
            self._polled = now

    def limiter(self, operation: str, limit: RateLimit, time_scale: float) -> SharedLimiter:
        return SharedLimiter(self, operation, limit, limit.period_seconds * time_scale)

    # -- services ----------------------------------------------------------------------------

    def add_service(self, project_id: str, document: dict[str, Any], now: float,
                    hosts: Sequence[str] = ()) -> None:
        if len(project_id.encode()) > PROJECT_BYTES:
            raise StoreRefused(f"a project id is at most {PROJECT_BYTES} bytes")
        with self._unit(hosts, (project_id, document["id"])):
            self._hold(project_id, document["id"], hosts)
            self._write("INSERT INTO services VALUES (%s, %s, %s, %s)",
                        (project_id, document["id"], _dump(document), now))
        self._known.add((project_id, document["id"]))

    def _hold(self, project_id: str, service_id: str, hosts: Sequence[str]) -> None:
        """Give the service these host names; notified once held (a name the database
        refused, e.g. one too long for its index, is no change to tell anyone of)."""
        if hosts:
            self._write("INSERT INTO hosts SELECT unnest(%s::text[]), %s, %s",
                        (list(hosts), project_id, service_id))
        self._notify.update(hosts)

    def _release(self, project_id: str, service_id: str) -> None:
        """The service holds no host name any more (its names are notified)."""
        self._notify.update(row[0] for row in self._write(
            "DELETE FROM hosts WHERE project_id = %s AND service_id = %s RETURNING host",
            (project_id, service_id)).fetchall())

    def project_of(self, service_id: str) -> str | None:
        rows = self._rows("SELECT project_id FROM services WHERE id = %s LIMIT 1",
                          (service_id,))
        return str(rows[0][0]) if rows else None

    def has_service(self, project_id: str, service_id: str) -> bool:
        """A service this replica saw is known until a deletion is notified (at most
        POLL_SECONDS late); one it never saw is looked up."""
        self._poll()
        if (project_id, service_id) in self._known:
            return True
        found = bool(self._rows("SELECT 1 FROM services WHERE project_id = %s AND id = %s",
                                (project_id, service_id)))
        if found:
            self._known.add((project_id, service_id))
        return found

    def service(self, project_id: str, service_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT document FROM services WHERE project_id = %s AND id = %s",
                          (project_id, service_id))
        return dict(rows[0][0]) if rows else None

    def services(self, project_id: str, after: str | None, limit: int | None
                 ) -> list[dict[str, Any]]:
        rows = self._rows("SELECT document FROM services WHERE project_id = %s AND id > %s "
                          "ORDER BY id LIMIT %s", (project_id, after or "", limit))
        return [dict(row[0]) for row in rows]

    def replace_service(self, project_id: str, document: dict[str, Any],
                        hosts: Sequence[str] = ()) -> None:
        with self._unit(hosts, (project_id, document["id"])):
            self._release(project_id, document["id"])
            self._hold(project_id, document["id"], hosts)
            self._write("UPDATE services SET document = %s WHERE project_id = %s AND id = %s",
                        (_dump(document), project_id, document["id"]))

    def delete_service(self, project_id: str, service_id: str) -> bool:
        with self._unit():
            self._release(project_id, service_id)
            deleted = self._write("DELETE FROM services WHERE project_id = %s AND id = %s",
                                  (project_id, service_id)).rowcount
        self._known.discard((project_id, service_id))
        self._notify.add(f"{project_id} {service_id}")
        return deleted > 0

    def served(self, host: str) -> tuple[str, dict[str, Any]] | None:
        rows = self._rows(
            "SELECT s.project_id, s.document FROM hosts AS h JOIN services AS s ON "
            "s.project_id = h.project_id AND s.id = h.service_id WHERE h.host = %s",
            (host,), shared=True)
        return (rows[0][0], dict(rows[0][1])) if rows else None

    def changed_hosts(self) -> set[str] | None:
        self._poll()
        changed = self._changed
        if changed is None or changed:
            self._changed = set()
        return changed

    # -- jobs and counters -------------------------------------------------------------------

    def add_job(self, project_id: str, service_id: str, mode: str, hard: bool, url: str,
                accepted_at: float, done_at: float) -> None:
        """The purge path's only write, sent with the batch's other jobs in one statement
        before the commit (a round trip per purge made a replica a fraction of a SQLite
        process). Near `--max-jobs`, the batch's jobs go at once and this one is inserted
        alone, so the bound is decided exactly."""
        wait = self.bound.refused(accepted_at)
        if wait is not None:
            raise JobsFull(wait)
        row = (project_id, service_id, mode, hard, url, accepted_at, done_at)
        if "\0" in project_id + url:  # refused now: in the batch's statement, all would fail
            raise StoreRefused("PostgreSQL text fields cannot contain NUL (0x00) bytes")
        if self.bound.held + len(self._jobs) < self.bound.max_jobs:
            self._jobs.append(row)
            self._pending = True
            return
        self._send_jobs()
        with self._unit():
            (job_id,) = self._write(
                f"INSERT INTO jobs ({JOB_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "RETURNING id", row).fetchone() or (0,)
            self._added += 1
            kept = self.bound.kept(
                job_id, self._added % self.PRUNE_EVERY == 0,
                lambda last: self.prune(accepted_at, last),
                lambda job: self._write("DELETE FROM jobs WHERE id = %s", (job,)))
        if not kept:
            raise JobsFull(self.bound.full_until - accepted_at)

    def _send_jobs(self) -> None:
        """Insert the jobs the batch holds back, in the order they were accepted, with one
        statement; prune if they took the store past its bound or a PRUNE_EVERY."""
        rows, self._jobs = self._jobs, []
        if not rows:
            return
        with self._unit():
            due = self._prune_due(len(rows))
            ids = [row[0] for row in self._write(INSERT_JOBS, _columns(rows)).fetchall()]
            if self._inserted(len(rows), ids) or due:
                self.prune(rows[-1][5], max(ids))

    def _prune_due(self, count: int) -> bool:
        """Whether `count` more jobs take this replica past a multiple of PRUNE_EVERY."""
        return (self._added + count) // self.PRUNE_EVERY > self._added // self.PRUNE_EVERY

    def _inserted(self, count: int, ids: list[int]) -> bool:
        """`count` jobs were inserted with these ids: whether past the bound."""
        self._added += count
        return self.bound.added(max(ids))

    def prune(self, now: float, last: int) -> None:
        """As SQLite's (by the index of `done_at`, never an unfinished job). What is held is
        the bound's upper estimate less what was dropped; it is counted only when no
        finished job is left to drop (other replicas may have dropped some)."""
        held = self.bound.held - self._drop("done_at < %s", (now - self.job_retention,))
        if held > self.bound.max_jobs:
            held -= self._drop("id IN (SELECT id FROM jobs WHERE done_at <= %s ORDER BY "
                               "done_at LIMIT %s)", (now, self.bound.excess(held)))
        if held > self.bound.max_jobs:
            held = self._rows("SELECT COUNT(*) FROM jobs")[0][0]
            self.bound.full_until = self._rows("SELECT MIN(done_at) FROM jobs")[0][0] or now
        self.bound.counted(held, last)

    def _drop(self, condition: str, values: tuple[float, ...]) -> int:
        """As SQLite's, in one statement: the jobs are found once (a queue table's index
        holds the entries of deleted rows until a vacuum, which every extra scan would
        walk again)."""
        (count,) = self._write(
            f"WITH gone AS (DELETE FROM jobs WHERE {condition} RETURNING project_id, "
            "service_id, mode, id), counted AS (INSERT INTO counters SELECT project_id, "
            "service_id, mode || '_requests', COUNT(*) FROM gone GROUP BY project_id, "
            "service_id, mode ON CONFLICT (project_id, service_id, name) DO UPDATE SET value = "
            "counters.value + excluded.value), noted AS (INSERT INTO pruned SELECT "
            "service_id, MAX(id) FROM gone GROUP BY service_id ON CONFLICT (service_id) DO "
            "UPDATE SET last_id = GREATEST(pruned.last_id, excluded.last_id)) "
            "SELECT COUNT(*) FROM gone", values).fetchone() or (0,)
        return int(count)

    def jobs(self, service_id: str | None = None, *, status: str | None = None,
             now: float = 0.0, after: int = 0, before: int | None = None,
             urls: Sequence[str] = (), limit: int = -1) -> list[Job]:
        where, values = job_filter(service_id, status, now, after, before, urls, "%s")
        rows = self._rows(
            "SELECT id, project_id, service_id, mode, hard, url, accepted_at, done_at FROM jobs "
            f"WHERE {where} ORDER BY id LIMIT %s",
            (*values, None if limit < 0 else limit), shared=True)
        return [Job(*row) for row in rows]

    def pruned(self, service_id: str) -> int:
        rows = self._rows("SELECT last_id FROM pruned WHERE service_id = %s", (service_id,),
                          shared=True)
        return int(rows[0][0]) if rows else 0

    def count(self, project_id: str, service_id: str, name: str) -> None:
        with self._unit():
            self._write("INSERT INTO counters VALUES (%s, %s, %s, 1) ON CONFLICT (project_id, "
                        "service_id, name) DO UPDATE SET value = counters.value + 1",
                        (project_id, service_id, name))

    def counters(self, project_id: str, service_id: str) -> dict[str, int]:
        self._send_jobs()  # they count too
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
        """Empty every table, for every replica (their edges are told: `*`)."""
        self._jobs.clear()
        with self._unit():
            self._write("TRUNCATE services, hosts, jobs, pruned, counters, certificates, "
                        "rate_windows")
        self._notify.add("*")
        self._changed = None
        self._known.clear()
        self._count_jobs()
        self.bound.full_until = float("-inf")

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


def _columns(rows: list[JobRow]) -> list[list[Any]]:
    """The jobs as INSERT_JOBS's arrays, one per column."""
    return [list(column) for column in zip(*rows, strict=True)]


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
