"""A throwaway PostgreSQL server on loopback, for the replica tests and benchmark.

It runs the server binaries of Debian's `postgresql` package (which `make test` installs
when they are missing) in a temporary folder, on a free port, trusting local connections.
PostgreSQL refuses to run as root: as root, the cluster belongs to the package's `postgres`
user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.servers import free_port


def bindir() -> Path:
    """The folder of initdb and pg_ctl: `pg_config --bindir`'s, or Debian's newest."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    if shutil.which("initdb"):
        return Path(shutil.which("initdb") or "").parent
    raise AssertionError("PostgreSQL's server is not installed: `make test` installs "
                         "Debian's postgresql package (apt-get install postgresql)")


@dataclass
class Server:
    folder: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://cdn@127.0.0.1:{self.port}/postgres"

    def database(self, name: str) -> str:
        """A new empty database's URL."""
        with psycopg.connect(self.url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
            admin.execute(f'CREATE DATABASE "{name}"'.encode())
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def _ctl(self, *args: str) -> None:
        _run([str(bindir() / "pg_ctl"), "-D", str(self.folder / "data"), *args])

    def start(self) -> None:
        self._ctl("-l", str(self.folder / "log"), "-w", "-t", "30", "-o",
                  f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} "
                  "-c max_connections=200", "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "stop")


def _run(command: list[str]) -> None:
    if os.geteuid() == 0:  # PostgreSQL will not run as root
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, capture_output=True, timeout=60)


@contextlib.contextmanager
def postgres() -> Iterator[Server]:
    """A running server in a temporary folder, stopped and removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="cdn-contract-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    server = Server(folder, free_port())
    try:
        _run([str(bindir() / "initdb"), "-D", str(folder / "data"), "-U", "cdn",
              "--auth=trust", "-E", "UTF8", "--no-sync"])
        server.start()
        yield server
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            server.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
