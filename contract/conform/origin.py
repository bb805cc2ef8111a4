"""The controllable origin the edge checks put behind the CDN under test.

The suite starts it on `--origin-listen`; the services it creates name it as their origin,
at the address the CDN is told (`--origin-url`). The checks change an asset, make a path
answer 404 or 503, and read back what the CDN asked: which path, with which `Host`, with
`If-Modified-Since` or without. That log is the only way to see how an edge revalidates
(S15), which origin it chose (S26) and what `Host` it sent (S27).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from contract.errors import InputError


@dataclass(frozen=True)
class Asked:
    """One request the CDN sent to the origin."""

    path: str
    host: str
    if_modified_since: str
    status: int  # what the origin answered
    at: float = field(default_factory=time.monotonic)  # when it was asked


class Origin:
    """Assets by path, each with its Last-Modified; a status forced per path; the log of
    what was asked. Thread-safe: the server answers on its own threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._content: dict[str, tuple[bytes, int]] = {}
        self._forced: dict[str, int] = {}
        self._asked: list[Asked] = []
        self._server: ThreadingHTTPServer | None = None

    def put(self, path: str, body: bytes) -> None:
        """Publish `body` at `path`, modified at a later whole second than before (what
        If-Modified-Since can tell apart)."""
        with self._lock:
            before = self._content.get(path, (b"", 0))[1]
            self._content[path] = (body, max(int(time.time()), before + 1))
            self._forced.pop(path, None)

    def force(self, path: str, status: int | None) -> None:
        """Answer `status` (and no body) for `path` from now on; None: serve it again."""
        with self._lock:
            if status is None:
                self._forced.pop(path, None)
            else:
                self._forced[path] = status

    def modified(self, path: str) -> int:
        """The Last-Modified of what `path` serves, in seconds since the epoch."""
        with self._lock:
            return self._content[path][1]

    def asked(self, path: str | None = None) -> list[Asked]:
        """What the CDN asked for `path` (or for anything), in order."""
        with self._lock:
            return [entry for entry in self._asked if path in (None, entry.path)]

    def answer(self, path: str, host: str, since: str) -> tuple[int, bytes, int | None]:
        """Status, body and Last-Modified for one request, logged."""
        with self._lock:
            status, body, modified = self._forced.get(path, 200), b"", None
            if status == 200:
                if path not in self._content:
                    status = 404
                else:
                    body, modified = self._content[path]
                    if since and _not_modified(since, modified):
                        status, body = 304, b""
            self._asked.append(Asked(path, host, since, status))
            return status, body, modified

    def start(self, host: str, port: int) -> None:
        """Listen on host:port, answering on background threads until `stop`."""
        origin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as CDNs reach origins

            def do_GET(self) -> None:  # the standard library's name for it
                status, body, modified = origin.answer(
                    self.path.split("?", 1)[0], self.headers.get("Host", ""),
                    self.headers.get("If-Modified-Since", ""))
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "public")
                if modified is not None:
                    self.send_header("Last-Modified", formatdate(modified, usegmt=True))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the checks read the log, not stderr."""

        try:
            self._server = ThreadingHTTPServer((host, port), Handler)
        except OSError as error:
            raise InputError(f"--origin-listen {host}:{port}: cannot listen "
                             f"({error.strerror or error})") from None
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         name="conform-origin").start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _not_modified(since: str, modified: int) -> bool:
    try:
        return parsedate_to_datetime(since).timestamp() >= modified
    except (TypeError, ValueError):
        return False  # an unreadable date: send the object
