"""The mock's state in SQLite (the embedded default): services, purge jobs, usage counters,
SSL certificates.

SQLite is the embedded default because it is durable with no server to run. Writes gather
in one open transaction until `commit`, which the server calls before it sends the responses
that acknowledge them: one commit per turn of the event loop for every request answered in
it (group commit, as databases do for their own logs), so a `kill -9` of the mock loses
nothing acknowledged, and a busy mock pays for a commit per batch rather than per request.
WAL mode with `synchronous=NORMAL` leaves the fsync to checkpoints, so only a power cut
could lose the last commits. `:memory:` gives a throwaway store.
The whole mock runs on one event loop, so one connection serves every request, and the
mock owns its file: the set of service ids is kept in memory for the purge path, and so is
the rate limit's window (one process: nothing to share).
Every write is one savepoint: a write SQLite refuses leaves the batch's others to commit.
The host names of the services are rows of their own under a unique key (S37 is that
constraint), which the edge's routing reads by key; nothing a request does reads a whole
table.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from contract.errors import InputError
from contract.mock.state.hosts import CHANGED_HOSTS, service_hosts
from contract.mock.state.ratelimit import Limiter
from contract.mock.state.store import (
    DomainHeld,
    Job,
    JobBound,
    JobsFull,
    StoreFailure,
    job_filter,
)
from contract.model import RateLimit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS services (
    project_id TEXT NOT NULL,
    id TEXT NOT NULL,
    document TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (project_id, id)
);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    mode TEXT NOT NULL,
    hard INTEGER NOT NULL,
    url TEXT NOT NULL,
    accepted_at REAL NOT NULL,
    done_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS services_by_id ON services (id);
CREATE INDEX IF NOT EXISTS jobs_by_service ON jobs (service_id);
CREATE INDEX IF NOT EXISTS jobs_by_done ON jobs (done_at);
CREATE TABLE IF NOT EXISTS pruned (
    service_id TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hosts (
    host TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    service_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS hosts_by_service ON hosts (project_id, service_id);
CREATE TABLE IF NOT EXISTS counters (
    project_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (project_id, service_id, name)
);
CREATE TABLE IF NOT EXISTS certificates (
    project_id TEXT NOT NULL,
    domain TEXT NOT NULL,
    document TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (project_id, domain)
);
"""


class SQLiteStore:
    """The `Store` of one process, in a SQLite file or in memory."""

    PRUNE_EVERY = 1024  # jobs added between two prunings: the purge path stays one insert

    def __init__(self, path: str = ":memory:", job_retention: float = 3600.0,
                 max_jobs: int = 100_000):
        self.job_retention = job_retention  # seconds a finished job is kept
        self.bound = JobBound(max_jobs)  # past it, finished jobs go; unfinished ones stay
        self._added = 0
        self._changed: set[str] | None = set()  # hosts written since `changed_hosts`
        self._limiters: list[Limiter] = []
        self._file: tuple[Path, int] | None = None  # the file and its inode, if not memory
        self._checked = 0.0
        if path != ":memory:":
            parent = Path(path).expanduser().resolve().parent
            if not parent.is_dir():
                raise InputError(f"--db {path}: folder {parent} does not exist")
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._ids = self._service_ids()
            self._count_jobs()
            self._index_hosts()
            if path != ":memory:":
                resolved = Path(path).expanduser().resolve()
                self._file = (resolved, resolved.stat().st_ino)
        except sqlite3.DatabaseError as error:
            raise InputError(f"--db {path}: not a usable SQLite database ({error})") from None

    def _index_hosts(self) -> None:
        """A database from before the hosts table: index its services' names once (a name
        two services held then stays with the first)."""
        if self._db.execute("SELECT 1 FROM hosts LIMIT 1").fetchone() is not None:
            return
        rows = self._db.execute("SELECT project_id, id, document FROM services").fetchall()
        self._db.executemany("INSERT OR IGNORE INTO hosts VALUES (?, ?, ?)", [
            (host, project_id, service_id) for project_id, service_id, document in rows
            for host in service_hosts(json.loads(document).get("domains") or [])])

    def _count_jobs(self) -> None:
        """The jobs held, exactly, and the last id given (AUTOINCREMENT never gives one
        twice, even after a delete): what `--max-jobs` counts from (a scan, on open)."""
        self.bound.counted(*self._db.execute(
            "SELECT COUNT(*), (SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = "
            "'jobs') FROM jobs").fetchone())

    def _write(self, statement: str, values: tuple[Any, ...]) -> sqlite3.Cursor:
        if not self._db.in_transaction:
            self._db.execute("BEGIN")
        return self._db.execute(statement, values)

    @contextlib.contextmanager
    def _unit(self) -> Iterator[None]:
        """One write, all of it or none: a savepoint in the batch's transaction, so a write
        that fails fails alone (the batch's other writes still commit)."""
        if not self._db.in_transaction:
            self._db.execute("BEGIN")
        self._db.execute("SAVEPOINT write")
        try:
            yield
        except BaseException as error:
            self._db.execute("ROLLBACK TO write")
            self._db.execute("RELEASE write")
            if isinstance(error, sqlite3.Error):
                raise StoreFailure(str(error)) from error
            raise
        self._db.execute("RELEASE write")

    def commit(self) -> None:
        """Make every write so far durable. If SQLite refuses, they are all rolled back (the
        in-memory id set is read again) and the error is raised for the caller to answer."""
        if not self._db.in_transaction:
            return
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as error:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            self._ids = self._service_ids()
            self._count_jobs()
            self._changed = None
            raise StoreFailure(str(error)) from error
        self._check_file()

    def _check_file(self) -> None:
        """Warn (once a second at most) when the database file was deleted or replaced
        under the running mock: SQLite keeps writing to the unlinked file, so what it
        acknowledges is lost when the process ends. A restart is the remedy."""
        now = time.monotonic()
        if self._file is None or now - self._checked < 1.0:
            return
        self._checked = now
        path, inode = self._file
        try:
            same = os.stat(path).st_ino == inode
        except OSError:
            same = False
        if not same:
            self._file = None  # said once
            print(f"warning: the mock's database {path} was deleted or replaced while it "
                  "runs; what it stores now is lost when it stops: restart the mock",
                  file=sys.stderr, flush=True)

    def limiter(self, operation: str, limit: RateLimit, time_scale: float) -> Limiter:
        limiter = Limiter(limit, time_scale)
        self._limiters.append(limiter)  # for `reset`
        return limiter

    def _service_ids(self) -> set[tuple[str, str]]:
        return set(self._db.execute("SELECT project_id, id FROM services").fetchall())

    def close(self) -> None:
        self.commit()
        self._db.close()

    # -- services ----------------------------------------------------------------------------

    def add_service(self, project_id: str, document: dict[str, Any], now: float,
                    hosts: Sequence[str] = ()) -> None:
        with self._unit():
            self._hold(project_id, document["id"], hosts)
            self._write("INSERT INTO services VALUES (?, ?, ?, ?)",
                        (project_id, document["id"], _dump(document), now))
        self._ids.add((project_id, document["id"]))

    def _hold(self, project_id: str, service_id: str, hosts: Sequence[str]) -> None:
        """Give the service these host names, or raise DomainHeld (the unit is undone)."""
        self._note(hosts)
        try:
            self._db.executemany("INSERT INTO hosts VALUES (?, ?, ?)",
                                 [(host, project_id, service_id) for host in hosts])
        except sqlite3.IntegrityError:
            taken = self._db.execute(
                f"SELECT host FROM hosts WHERE host IN ({', '.join('?' * len(hosts))}) AND "
                "NOT (project_id = ? AND service_id = ?) LIMIT 1",
                (*hosts, project_id, service_id)).fetchone()
            raise DomainHeld(taken[0] if taken else hosts[0]) from None

    def _release(self, project_id: str, service_id: str) -> None:
        """The service holds no host name any more."""
        self._note([row[0] for row in self._db.execute(
            "SELECT host FROM hosts WHERE project_id = ? AND service_id = ?",
            (project_id, service_id))])
        self._write("DELETE FROM hosts WHERE project_id = ? AND service_id = ?",
                    (project_id, service_id))

    def _note(self, hosts: Sequence[str]) -> None:
        if self._changed is not None:
            self._changed.update(hosts)
            if len(self._changed) > CHANGED_HOSTS:
                self._changed = None  # nobody asked for a while: any may have changed

    def has_service(self, project_id: str, service_id: str) -> bool:
        return (project_id, service_id) in self._ids

    def service(self, project_id: str, service_id: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT document FROM services WHERE project_id = ? AND id = ?",
                               (project_id, service_id)).fetchone()
        return json.loads(row[0]) if row else None

    def project_of(self, service_id: str) -> str | None:
        row = self._db.execute("SELECT project_id FROM services WHERE id = ? LIMIT 1",
                               (service_id,)).fetchone()
        return str(row[0]) if row else None

    def services(self, project_id: str, after: str | None, limit: int | None
                 ) -> list[dict[str, Any]]:
        """A page of services, ordered by id, after the `marker` id (all when no `limit`)."""
        rows = self._db.execute(
            "SELECT document FROM services WHERE project_id = ? AND id > ? ORDER BY id LIMIT ?",
            (project_id, after or "", -1 if limit is None else limit)).fetchall()
        return [json.loads(row[0]) for row in rows]

    def replace_service(self, project_id: str, document: dict[str, Any],
                        hosts: Sequence[str] = ()) -> None:
        with self._unit():
            self._release(project_id, document["id"])
            self._hold(project_id, document["id"], hosts)
            self._write("UPDATE services SET document = ? WHERE project_id = ? AND id = ?",
                        (_dump(document), project_id, document["id"]))

    def delete_service(self, project_id: str, service_id: str) -> bool:
        with self._unit():
            self._release(project_id, service_id)
            deleted = self._write("DELETE FROM services WHERE project_id = ? AND id = ?",
                                  (project_id, service_id)).rowcount
        self._ids.discard((project_id, service_id))
        return deleted > 0

    def served(self, host: str) -> tuple[str, dict[str, Any]] | None:
        row = self._db.execute(
            "SELECT s.project_id, s.document FROM hosts AS h JOIN services AS s ON "
            "s.project_id = h.project_id AND s.id = h.service_id WHERE h.host = ?",
            (host,)).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def changed_hosts(self) -> set[str] | None:
        changed = self._changed
        if changed is None or changed:  # an empty set is returned as it is, not renewed
            self._changed = set()
        return changed

    # -- jobs and counters -------------------------------------------------------------------

    def add_job(self, project_id: str, service_id: str, mode: str, hard: bool, url: str,
                accepted_at: float, done_at: float) -> None:
        """The purge path's only write (its `<mode>_requests` counter is counted from the
        jobs when analytics asks)."""
        wait = self.bound.refused(accepted_at)
        if wait is not None:
            raise JobsFull(wait)
        row = (project_id, service_id, mode, int(hard), url, accepted_at, done_at)
        self._added += 1
        if self.bound.held < self.bound.max_jobs and self._added % self.PRUNE_EVERY:
            # one statement, all of it or none: no savepoint needed, no pruning due
            self.bound.added(self._insert_job(row))
            return
        with self._unit():
            kept = self.bound.kept(
                self._insert_job(row), self._added % self.PRUNE_EVERY == 0,
                lambda last: self.prune(accepted_at, last),
                lambda job: self._write("DELETE FROM jobs WHERE id = ?", (job,)))
        if not kept:
            raise JobsFull(self.bound.full_until - accepted_at)

    def _insert_job(self, row: tuple[object, ...]) -> int:
        return int(self._write("INSERT INTO jobs (project_id, service_id, mode, hard, url, "
                               "accepted_at, done_at) VALUES (?, ?, ?, ?, ?, ?, ?)", row
                               ).lastrowid or 0)

    def prune(self, now: float, last: int) -> None:
        """Drop the jobs finished more than `job_retention` seconds ago, then, past
        `max_jobs`, the oldest finished ones; what they counted is folded into the counters
        first, so analytics still adds them up. Both find their rows by the index of
        `done_at`, never by reading the table; an unfinished job is never dropped (past the
        bound with none finished, `full_until` says when one will be)."""
        held = self.bound.held - self._drop("done_at < ?", (now - self.job_retention,))
        self.bound.counted(held, last)
        if held > self.bound.max_jobs:
            held -= self._drop("id IN (SELECT id FROM jobs WHERE done_at <= ? ORDER BY "
                               "done_at LIMIT ?)", (now, self.bound.excess(held)))
            self.bound.counted(held, last)
            self.bound.full_until = self._db.execute("SELECT MIN(done_at) FROM jobs"
                                                     ).fetchone()[0] or now

    def _drop(self, condition: str, values: tuple[float, ...]) -> int:
        """Drop the jobs matching `condition`: what they counted is folded into the
        counters, the last id of each service noted in `pruned` (for the edges that had not
        taken them), then they are deleted; how many."""
        # `+service_id`: grouping by the index of service ids would read the whole table
        self._write(f"INSERT INTO pruned SELECT service_id, MAX(id) FROM jobs WHERE {condition} "
                    "GROUP BY +service_id ON CONFLICT (service_id) DO UPDATE SET last_id = "
                    "MAX(last_id, excluded.last_id)", values)
        self._write("INSERT INTO counters SELECT project_id, service_id, mode || '_requests', "
                    f"COUNT(*) FROM jobs WHERE {condition} GROUP BY project_id, service_id, "
                    "mode ON CONFLICT (project_id, service_id, name) DO UPDATE SET value = "
                    "value + excluded.value", values)
        return self._write(f"DELETE FROM jobs WHERE {condition}", values).rowcount

    def jobs(self, service_id: str | None = None, *, status: str | None = None,
             now: float = 0.0, after: int = 0, before: int | None = None,
             urls: Sequence[str] = (), limit: int = -1) -> list[Job]:
        where, values = job_filter(service_id, status, now, after, before, urls, "?")
        rows = self._db.execute(
            "SELECT id, project_id, service_id, mode, hard, url, accepted_at, done_at FROM jobs "
            f"WHERE {where} ORDER BY id LIMIT ?", (*values, limit))
        return [Job(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6], row[7])
                for row in rows.fetchall()]

    def pruned(self, service_id: str) -> int:
        row = self._db.execute("SELECT last_id FROM pruned WHERE service_id = ?",
                               (service_id,)).fetchone()
        return int(row[0]) if row else 0

    def count(self, project_id: str, service_id: str, name: str) -> None:
        self._write("INSERT INTO counters VALUES (?, ?, ?, 1) ON CONFLICT (project_id, "
                    "service_id, name) DO UPDATE SET value = value + 1",
                    (project_id, service_id, name))

    def counters(self, project_id: str, service_id: str) -> dict[str, int]:
        rows = self._db.execute(
            "SELECT name, SUM(value) FROM (SELECT name, value FROM counters "
            "WHERE project_id = ?1 AND service_id = ?2 "
            "UNION ALL SELECT mode || '_requests', COUNT(*) FROM jobs "
            "WHERE project_id = ?1 AND service_id = ?2 GROUP BY mode) GROUP BY name ORDER BY 1",
            (project_id, service_id))
        return dict(rows.fetchall())

    # -- SSL certificates --------------------------------------------------------------------

    def add_certificate(self, project_id: str, domain: str, document: dict[str, Any],
                        now: float) -> bool:
        return self._write("INSERT INTO certificates VALUES (?, ?, ?, ?) ON CONFLICT DO "
                           "NOTHING", (project_id, domain, _dump(document), now)).rowcount > 0

    def certificate(self, project_id: str, domain: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT document FROM certificates WHERE project_id = ? AND "
                               "domain = ?", (project_id, domain)).fetchone()
        return json.loads(row[0]) if row else None

    def delete_certificate(self, project_id: str, domain: str) -> bool:
        return self._write("DELETE FROM certificates WHERE project_id = ? AND domain = ?",
                           (project_id, domain)).rowcount > 0

    def reset(self) -> None:
        for table in ("services", "hosts", "jobs", "pruned", "counters", "certificates"):
            self._write(f"DELETE FROM {table}", ())  # fixed table names, no input
        self._ids.clear()
        self._changed = None
        self._count_jobs()
        self.bound.full_until = float("-inf")
        for limiter in self._limiters:
            limiter.reset()


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))
