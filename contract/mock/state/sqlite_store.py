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
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from contract.errors import InputError
from contract.mock.state.ratelimit import Limiter
from contract.mock.state.store import Job, JobBound, StoreFailure, job_filter
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
CREATE INDEX IF NOT EXISTS jobs_by_service ON jobs (service_id);
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
        self.bound = JobBound(max_jobs)  # past it, the oldest jobs go, finished or not
        self._added = 0
        self.version = 0  # grows with every write to services: the edge's host index follows
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
            self.bound.floor = self._db.execute("SELECT MIN(id) FROM jobs").fetchone()[0] or 1
            if path != ":memory:":
                resolved = Path(path).expanduser().resolve()
                self._file = (resolved, resolved.stat().st_ino)
        except sqlite3.DatabaseError as error:
            raise InputError(f"--db {path}: not a usable SQLite database ({error})") from None

    def _write(self, statement: str, values: tuple[Any, ...]) -> sqlite3.Cursor:
        if not self._db.in_transaction:
            self._db.execute("BEGIN")
        return self._db.execute(statement, values)

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

    def add_service(self, project_id: str, document: dict[str, Any], now: float) -> None:
        self.version += 1
        self._write("INSERT INTO services VALUES (?, ?, ?, ?)",
                    (project_id, document["id"], _dump(document), now))
        self._ids.add((project_id, document["id"]))

    def has_service(self, project_id: str, service_id: str) -> bool:
        return (project_id, service_id) in self._ids

    def service(self, project_id: str, service_id: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT document FROM services WHERE project_id = ? AND id = ?",
                               (project_id, service_id)).fetchone()
        return json.loads(row[0]) if row else None

    def services(self, project_id: str, after: str | None, limit: int | None
                 ) -> list[dict[str, Any]]:
        """A page of services, ordered by id, after the `marker` id (all when no `limit`)."""
        rows = self._db.execute(
            "SELECT document FROM services WHERE project_id = ? AND id > ? ORDER BY id LIMIT ?",
            (project_id, after or "", -1 if limit is None else limit)).fetchall()
        return [json.loads(row[0]) for row in rows]

    def replace_service(self, project_id: str, document: dict[str, Any]) -> None:
        self.version += 1
        self._write("UPDATE services SET document = ? WHERE project_id = ? AND id = ?",
                    (_dump(document), project_id, document["id"]))

    def delete_service(self, project_id: str, service_id: str) -> bool:
        self.version += 1
        deleted = self._write("DELETE FROM services WHERE project_id = ? AND id = ?",
                              (project_id, service_id)).rowcount
        self._ids.discard((project_id, service_id))
        return deleted > 0

    # -- jobs and counters -------------------------------------------------------------------

    def add_job(self, project_id: str, service_id: str, mode: str, hard: bool, url: str,
                accepted_at: float, done_at: float) -> Job:
        """The purge path's only write (its `<mode>_requests` counter is counted from the
        jobs when analytics asks)."""
        cursor = self._write(
            "INSERT INTO jobs (project_id, service_id, mode, hard, url, accepted_at, done_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (project_id, service_id, mode, int(hard), url, accepted_at, done_at))
        job_id = int(cursor.lastrowid or 0)
        self._added += 1
        if self._added % self.PRUNE_EVERY == 0 or self.bound.over(job_id):
            self.prune(accepted_at)
        return Job(job_id, project_id, service_id, mode, hard, url, accepted_at, done_at)

    def prune(self, now: float) -> None:
        """Drop the jobs finished more than `job_retention` seconds ago, and the oldest past
        `max_jobs`; what they counted is folded into the counters first, so analytics still
        adds them up. Jobs go as a prefix of the id order (ids grow as jobs are accepted), so
        finding the cut reads a row or two, never the table: a finished job waits behind an
        older one still under way (purges run longer than invalidations), which only keeps
        it a little past its retention."""
        # one aggregate a query: SQLite reads MIN or MAX of the rowid from the b-tree's end,
        # but scans the whole table for both at once
        first = self._db.execute("SELECT MIN(id) FROM jobs").fetchone()[0]
        last = self._db.execute("SELECT MAX(id) FROM jobs").fetchone()[0]
        if first is None:
            return
        kept = self._db.execute("SELECT id FROM jobs WHERE done_at >= ? ORDER BY id LIMIT 1",
                                (now - self.job_retention,)).fetchone()
        cut = max(self.bound.cut(last), kept[0] if kept else last + 1)
        if cut > first:
            self._drop("id < ?", cut)
        self.bound.floor = max(first, cut)

    def _drop(self, condition: str, value: float) -> None:
        """Fold the jobs matching `condition` into the counters, then delete them."""
        self._write("INSERT INTO counters SELECT project_id, service_id, mode || '_requests', "
                    f"COUNT(*) FROM jobs WHERE {condition} GROUP BY project_id, service_id, "
                    "mode ON CONFLICT (project_id, service_id, name) DO UPDATE SET value = "
                    "value + excluded.value", (value,))
        self._write(f"DELETE FROM jobs WHERE {condition}", (value,))

    def jobs(self, service_id: str | None = None, *, status: str | None = None,
             now: float = 0.0, after: int = 0, limit: int = -1) -> list[Job]:
        """Jobs in the order they were accepted: of one service or all, `done` or
        `in_progress` at `now` or both, those after the id `after`, at most `limit`."""
        where, values = job_filter(service_id, status, now, after, "?")
        rows = self._db.execute(
            "SELECT id, project_id, service_id, mode, hard, url, accepted_at, done_at FROM jobs "
            f"WHERE {where} ORDER BY id LIMIT ?", (*values, limit))
        return [Job(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6], row[7])
                for row in rows.fetchall()]

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

    def all_services(self) -> list[tuple[str, dict[str, Any]]]:
        """(project id, stored document) of every service: what the edge indexes by host."""
        rows = self._db.execute("SELECT project_id, document FROM services").fetchall()
        return [(row[0], json.loads(row[1])) for row in rows]

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
        self.version += 1
        for table in ("services", "jobs", "counters", "certificates"):
            self._write(f"DELETE FROM {table}", ())  # fixed table names, no input
        self._ids.clear()
        for limiter in self._limiters:
            limiter.reset()


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))
