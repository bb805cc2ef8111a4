"""`cdn-contract proxy`: a validating reverse proxy on its own HTTP/1.1 server.

Each request is read (httptools, on uvloop when installed), validated by the compiled
validator, forwarded over a pooled keep-alive connection, and the upstream's answer is
validated against it and passed back as the upstream sent it: status line, header names,
their case, order and values, and the body. The proxy adds one header, `X-Contract-Violations`
(the count for this exchange), and removes only the hop-by-hop ones (`Connection`,
`Transfer-Encoding`...); it sets its own `Content-Length`. Violations are logged as JSON lines.

With `strict`, an invalid request is answered 400 and never forwarded, and an invalid
response is replaced by a 502 listing the violations, both with the documented error body
(S16). A response body past `buffer_limit` is streamed through: its status and headers are
validated, its body is not, and the log says so. An unreachable upstream gets 502, a slow
one 504, each with the error body. `rewrite_location` points `Location` at the proxy.

Requests on one connection are answered in order, one at a time (HTTP/1.1 pipelining);
connections run concurrently.
"""

from __future__ import annotations

import asyncio
import collections
import json
import signal
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, cast

import httptools

from contract.asgi import error_document
from contract.errors import InputError
from contract.proxy.log import ViolationLog
from contract.proxy.upstream import UpstreamError, UpstreamPool
from contract.serving import Keeper, ServerLimits, refusal
from contract.validation import HttpRequest, HttpResponse, Violation, validator
from contract.validation.verdict import Validator

COUNT_HEADER = "X-Contract-Violations"
MAX_REQUEST_BODY = 8 * 1024 * 1024  # read whole before forwarding: past this, 413
_HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-authenticate",
                         b"proxy-authorization", b"te", b"trailer", b"trailers",
                         b"transfer-encoding", b"upgrade", b"content-length"})


@dataclass(slots=True)
class _Request:
    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    keep_alive: bool


class ValidatingProxy:
    """What the proxy does with one exchange; the connections below do the I/O."""

    def __init__(self, upstream: str, variant: str = "2016-08", *, strict: bool = False,
                 log: ViolationLog | None = None, timeout: float = 30.0,
                 buffer_limit: int = 8 * 1024 * 1024, engine: str = "compiled",
                 rewrite_location: bool = False, limits: ServerLimits | None = None):
        self.pool = UpstreamPool(upstream, timeout)
        self.upstream = upstream.rstrip("/")
        self.variant = variant
        self.strict = strict
        self.log = log or ViolationLog(None)
        self.timeout = timeout
        self.buffer_limit = buffer_limit
        self.validator: Validator = validator(variant, engine)
        self.rewrite_location = rewrite_location
        self.limits = limits or ServerLimits()

    async def exchange(self, request: _Request, write: Callable[[bytes], None]) -> None:
        target = request.target.decode("latin-1")
        headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers)
        seen = HttpRequest(request.method.decode("ascii"), target, headers, request.body)
        report = self.validator.validate_request(seen)
        self._log(seen, "request", report.operation, report.violations)
        if self.strict and report.violations:
            write(_json(400, _error_body(report.violations), len(report.violations),
                        request.keep_alive))
            return
        head_only = request.method == b"HEAD"
        try:
            answer = await self.pool.request(self._head(request), request.body,
                                             self.buffer_limit, head_only)
        except UpstreamError as error:
            write(_json(504 if error.timeout else 502, error_document(str(error)), 0,
                        request.keep_alive))
            return
        chunks, complete = answer.buffered, answer.complete
        body = _decoded(b"".join(chunks), _header(answer.headers, b"content-encoding"))
        response = HttpResponse(answer.status, tuple(
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in answer.headers),
            body if complete else b"", answer.reason.decode("latin-1"))
        violations = self.validator.validate_response(seen, response, report.operation)
        if not complete:
            violations = [v for v in violations if not v.location.startswith("response.body")]
        self._log(seen, "response", report.operation, violations, answer.status,
                  None if complete else "body over the buffer limit: streamed, not validated")
        if self.strict and violations:
            write(_json(502, _error_body(violations), len(violations), request.keep_alive))
            return
        count = len(report.violations) + len(violations)
        forwarded = [(k, v) for k, v in answer.headers if k.lower() not in _HOP_BY_HOP]
        if self.rewrite_location:
            forwarded = self._relocated(forwarded, request)
        head = _status_line(answer.status, answer.reason) + b"".join(
            b"%s: %s\r\n" % pair for pair in forwarded) + \
            b"%s: %d\r\n" % (COUNT_HEADER.encode(), count)
        if not request.keep_alive:
            head += b"connection: close\r\n"
        if complete:
            length = b"" if answer.status in (204, 304) else \
                b"content-length: %d\r\n" % sum(map(len, chunks))
            write(head + length + b"\r\n" + (b"" if head_only else b"".join(chunks)))
            return
        write(head + b"transfer-encoding: chunked\r\n\r\n")  # streamed: the length is unknown
        for chunk in chunks:
            write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        try:
            async with asyncio.timeout(self.timeout):
                async for chunk in answer.remainder():
                    write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        finally:
            write(b"0\r\n\r\n")

    def _head(self, request: _Request) -> bytes:
        """The request as the upstream gets it: its own target, `Host`, and the client's
        other end-to-end headers as sent."""
        lines = [b"%s %s%s HTTP/1.1\r\nhost: %s\r\n" % (
            request.method, self.pool.prefix.encode(), request.target,
            self.pool.netloc.encode())]
        lines += [b"%s: %s\r\n" % (k, v) for k, v in request.headers
                  if k.lower() not in _HOP_BY_HOP and k.lower() != b"host"]
        if request.body or request.method in (b"POST", b"PUT", b"PATCH"):
            lines.append(b"content-length: %d\r\n" % len(request.body))
        lines.append(b"\r\n")
        return b"".join(lines)

    def _relocated(self, headers: list[tuple[bytes, bytes]], request: _Request
                   ) -> list[tuple[bytes, bytes]]:
        """`Location` pointing at the upstream, made to point at the proxy (the client's
        `Host`)."""
        host = _header(request.headers, b"host")
        upstream = self.upstream.encode()
        return [(k, b"http://" + host.encode() + v[len(upstream):])
                if k.lower() == b"location" and host and v.startswith(upstream) else (k, v)
                for k, v in headers]

    def _log(self, request: HttpRequest, direction: str, operation: str | None,
             violations: list[Violation], status: int | None = None,
             note: str | None = None) -> None:
        for violation in violations:
            self.log.write({"variant": self.variant, "direction": direction,
                            "method": request.method, "target": request.url, "status": status,
                            "operation": operation, **violation.as_dict()})
        if note:
            self.log.write({"variant": self.variant, "direction": direction,
                            "method": request.method, "target": request.url, "note": note})

    def close(self) -> None:
        self.pool.close()
        self.log.close()


class _Connection(asyncio.Protocol):
    """One client connection: requests parsed as they come, answered in order."""

    def __init__(self, proxy: ValidatingProxy, keeper: Keeper):
        self.proxy = proxy
        self.keeper = keeper
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.queue: collections.deque[_Request] = collections.deque()
        self.busy = False
        self.closing = False
        self.deadline = float("inf")  # loop time; the keeper closes the connection past it
        self.in_head = False
        self._reset()

    def _reset(self) -> None:
        self.target = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.size = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.loop = asyncio.get_running_loop()
        if not self.keeper.admit(self):
            self.closing = True
            self.transport.write(refusal(503, f"too many connections: this proxy holds "
                                         f"{self.keeper.limits.max_connections} at once; "
                                         "try again later"))
            self.transport.close()
            return
        self.deadline = self.loop.time() + self.keeper.limits.header_timeout

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.keeper.forget(self)

    def expire(self, now: float) -> None:
        if now < self.deadline or self.closing or self.transport is None:
            return
        if self.in_head:
            self._write(refusal(408, f"the request did not arrive within "
                                f"{self.keeper.limits.header_timeout:g} s"))
        self._close()

    def on_message_begin(self) -> None:
        self.in_head = True
        self.deadline = self.loop.time() + self.keeper.limits.header_timeout

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass
        except httptools.HttpParserError as error:
            self._write(_json(400, error_document(f"malformed HTTP request: {error}"), 0,
                              False))
            self._close()

    def on_url(self, url: bytes) -> None:
        self.target += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        declared = _header(self.headers, b"content-length")
        if declared.isdigit() and int(declared) > MAX_REQUEST_BODY:
            # answer from the head, then close: a body that may never come is not awaited
            self._write(_json(413, error_document(
                f"the request body is over {MAX_REQUEST_BODY} bytes"), 0, False))
            self._close()

    def on_body(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size <= MAX_REQUEST_BODY:
            self.body.append(chunk)

    def on_message_complete(self) -> None:
        self.in_head, self.deadline = False, float("inf")
        method = self.parser.get_method()
        keep_alive = self.parser.should_keep_alive()
        if self.size > MAX_REQUEST_BODY:
            self.queue.append(_Request(b"", b"", [], b"", False))  # answered 413 in turn
        else:
            self.queue.append(_Request(method, self.target, self.headers, b"".join(self.body),
                                       keep_alive))
        self._reset()
        if not self.busy:
            self.busy = True
            asyncio.get_running_loop().create_task(self._work())

    async def _work(self) -> None:
        while self.queue and not self.closing:
            request = self.queue.popleft()
            if not request.method:
                self._write(_json(413, error_document(
                    f"the request body is over {MAX_REQUEST_BODY} bytes"), 0, False))
                self._close()
                break
            try:
                await self.proxy.exchange(request, self._write)
            except Exception as error:  # a bug of the proxy: answer, keep serving others
                self._write(_json(500, error_document(
                    f"the proxy failed on this request ({type(error).__name__}); this is a "
                    "bug in cdn-contract, please report it"), 0, False))
                self._close()
                break
            if not request.keep_alive:
                self._close()
                break
        self.busy = False
        if not self.in_head:  # all answered: idle until the next request
            self.deadline = self.loop.time() + self.keeper.limits.idle_timeout

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def _close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()


def _status_line(status: int, reason: bytes) -> bytes:
    return b"HTTP/1.1 %d %s\r\n" % (status, reason)


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str:
    return next((v.decode("latin-1") for k, v in headers if k.lower() == name), "")


def _decoded(body: bytes, encoding: str) -> bytes:
    """What the body says, for validation; the client still gets the bytes as sent."""
    try:
        if encoding.strip().lower() in {"gzip", "x-gzip"}:
            return zlib.decompress(body, 16 + zlib.MAX_WBITS)
        if encoding.strip().lower() == "deflate":
            return zlib.decompress(body)
    except zlib.error:
        return body
    return body


def _error_body(violations: list[Violation]) -> dict[str, Any]:
    return {"message": {"errors": [
        {"message": f"{v.location}: {v.message}", "location": v.location,
         "statements": list(v.statements)} for v in violations]}}


def _json(status: int, body: dict[str, Any], count: int, keep_alive: bool) -> bytes:
    data = json.dumps(body).encode()
    return (_status_line(status, HTTPStatus(status).phrase.encode())
            + b"content-type: application/json\r\ncontent-length: %d\r\n%s: %d\r\n%s\r\n"
            % (len(data), COUNT_HEADER.encode(), count,
               b"" if keep_alive else b"connection: close\r\n") + data)


async def listen(proxy: ValidatingProxy, host: str, port: int) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    keeper = Keeper(proxy.limits)
    try:
        return await loop.create_server(lambda: _Connection(proxy, keeper), host, port,
                                        backlog=2048)
    except OSError as error:
        raise InputError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


def serve(proxy: ValidatingProxy, host: str, port: int,
          started: Callable[[str], None] = lambda url: None) -> None:
    """Serve until SIGINT or SIGTERM; `started(url)` once listening, with the real port."""
    async def run() -> None:
        server = await listen(proxy, host, port)
        bound = server.sockets[0].getsockname()
        started(f"http://{host}:{bound[1]}")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with server:
            await stop.wait()

    try:
        import uvloop
    except ImportError:
        asyncio.run(run())
    else:
        uvloop.run(run())
    finally:
        proxy.close()
