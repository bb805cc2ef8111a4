"""`cdn-contract proxy`: a validating reverse proxy on its own HTTP/1.1 server.

Each request is read (httptools, on uvloop when installed), validated by the compiled
validator, forwarded over a pooled keep-alive connection, and the upstream's answer is
validated against it and passed back as the upstream sent it: status line, header names,
their case, order and values, and the body. The proxy adds one header, `X-Contract-Violations`
(the count for this exchange), and removes only the hop-by-hop ones (`Connection`,
`Transfer-Encoding`...); it sets its own `Content-Length`. Violations are logged as JSON lines,
each with its statements and their level (`warning` when it breaks only INTERPRETATION rows)
and the status the upstream answered (a request's too: whether the upstream refused it;
null when it was not forwarded or got no answer).

With `strict`, an invalid request is answered 400 and never forwarded, and an invalid
response is replaced by a 502 listing the violations, both with the documented error body
(S16). A response body past `buffer_limit` is streamed through, as fast as the client reads
it (contract/http/upstream.py reads the upstream no faster): its status and headers are
validated, its body is not, and the log says so. An unreachable upstream gets 502, a slow
one 504, each with the error body; a streamed body the upstream cuts short (or that passes
the timeout) is cut short for the client too, the connection aborted without its last
chunk. `rewrite_location` points a `Location` on the upstream's own origin (scheme, host,
port, under its base path) at the proxy; any other is passed on as sent.
Warnings alone never stop an exchange, as they fail no `conform` run.

contract/http/serving.py serves it: requests on one connection answered in order, one at a time
(HTTP/1.1 pipelining); connections run concurrently.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

from contract.http.asgi import error_document
from contract.http.serving import (
    Output,
    Request,
    ServerLimits,
    header_value,
    json_bytes,
    status_line,
)
from contract.http.upstream import HOP_BY_HOP, UpstreamError, UpstreamPool, UpstreamResponse
from contract.proxy.log import ViolationLog
from contract.validation import HttpRequest, HttpResponse, Violation, validator
from contract.validation.verdict import Validator

COUNT_HEADER = "X-Contract-Violations"
# Answered by the proxy itself, never forwarded: `Host` is the upstream's, and the body is
# read whole before forwarding, so `Expect: 100-continue` was already answered (an upstream's
# interim 100 would otherwise reach the client as a final response).
_OURS = frozenset({b"host", b"expect"})
MAX_REQUEST_BODY = 8 * 1024 * 1024  # read whole before forwarding: past this, 413


class ValidatingProxy:
    """What the proxy does with one exchange; the connections below do the I/O."""

    def __init__(self, upstream: str, variant: str = "2016-08", *, strict: bool = False,
                 log: ViolationLog | None = None, timeout: float = 30.0,
                 buffer_limit: int = 8 * 1024 * 1024, engine: str = "compiled",
                 rewrite_location: bool = False, limits: ServerLimits | None = None):
        self.pool = UpstreamPool(upstream, timeout)
        self.variant = variant
        self.strict = strict
        self.log = log or ViolationLog(None)
        self.timeout = timeout
        self.buffer_limit = buffer_limit
        self.validator: Validator = validator(variant, engine)
        self.rewrite_location = rewrite_location
        self.limits = limits or ServerLimits()
        self.max_request_body = MAX_REQUEST_BODY

    async def exchange(self, request: Request, write: Output) -> None:
        target = request.target.decode("latin-1")
        headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers)
        seen = HttpRequest(request.method.decode("ascii"), target, headers, request.body)
        report = self.validator.validate_request(seen)
        if self.strict and any(not v.warning for v in report.violations):
            self._log(seen, "request", report.operation, report.violations)  # not sent on
            write(json_bytes(400, _error_body(report.violations), request.keep_alive,
                             _count(len(report.violations))))
            return
        head_only = request.method == b"HEAD"
        try:
            answer = await self.pool.request(self._head(request), request.body,
                                             self.buffer_limit, head_only)
        except UpstreamError as error:
            self._log(seen, "request", report.operation, report.violations)
            write(json_bytes(504 if error.timeout else 502, error_document(str(error)),
                             request.keep_alive, _count(0)))
            return
        # a request's violations with what the upstream answered it: refused, or taken
        self._log(seen, "request", report.operation, report.violations, answer.status)
        chunks, complete = answer.buffered, answer.complete
        body = _decoded(b"".join(chunks), header_value(answer.headers, b"content-encoding"),
                        self.buffer_limit) if complete else None
        response = HttpResponse(answer.status, tuple(
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in answer.headers),
            body or b"", answer.reason.decode("latin-1"))
        violations = self.validator.validate_response(seen, response, report.operation)
        if body is None:
            violations = [v for v in violations if not v.location.startswith("response.body")]
        self._log(seen, "response", report.operation, violations, answer.status,
                  None if body is not None else
                  "body not validated: over the buffer limit of "
                  f"{self.buffer_limit} bytes{'' if complete else ' (streamed)'}")
        if self.strict and any(not v.warning for v in violations):
            write(json_bytes(502, _error_body(violations), request.keep_alive,
                             _count(len(violations))))
            return
        count = len(report.violations) + len(violations)
        forwarded = [(k, v) for k, v in answer.headers if k.lower() not in HOP_BY_HOP]
        if self.rewrite_location:
            forwarded = self._relocated(forwarded, request)
        head = status_line(answer.status, answer.reason) + b"".join(
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
        await self._stream(answer, write)

    async def _stream(self, answer: UpstreamResponse, write: Output) -> None:
        """The rest of a body past the buffer limit, as fast as the client reads it. Cut
        short (the upstream closed, broke HTTP or passed --timeout), it is cut short for the
        client too, as HTTP says: the connection aborted, with no last chunk, which would
        make the part a whole answer."""
        try:
            async with asyncio.timeout(self.timeout):
                async for chunk in answer.remainder():
                    write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    if not await write.drained():  # read as fast as the client reads
                        answer.abort()
                        return
        except (UpstreamError, TimeoutError):
            answer.abort()
            write.abort()
            return
        write(b"0\r\n\r\n")

    def _head(self, request: Request) -> bytes:
        """The request as the upstream gets it: its own target, `Host`, and the client's
        other end-to-end headers as sent."""
        lines = [b"%s %s%s HTTP/1.1\r\nhost: %s\r\n" % (
            request.method, self.pool.prefix.encode(), request.target,
            self.pool.netloc.encode())]
        lines += [b"%s: %s\r\n" % (k, v) for k, v in request.headers
                  if k.lower() not in HOP_BY_HOP and k.lower() not in _OURS]
        if request.body or request.method in (b"POST", b"PUT", b"PATCH"):
            lines.append(b"content-length: %d\r\n" % len(request.body))
        lines.append(b"\r\n")
        return b"".join(lines)

    def _relocated(self, headers: list[tuple[bytes, bytes]], request: Request
                   ) -> list[tuple[bytes, bytes]]:
        """A `Location` on the upstream's own origin, made to point at the proxy (the
        client's `Host`); one elsewhere is the upstream's to give (UpstreamPool.within)."""
        host = header_value(request.headers, b"host").encode()
        if not host:
            return headers
        relocated = []
        for name, value in headers:
            rest = self.pool.within(value) if name.lower() == b"location" else None
            relocated.append((name, value if rest is None else b"http://" + host + rest))
        return relocated

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


def _decoded(body: bytes, encoding: str, limit: int) -> bytes | None:
    """What the body says, for validation (the client still gets the bytes as sent); None
    when it says more than `limit` bytes: a small compressed body can decode to gigabytes,
    and decoding it whole would stall every client."""
    coding = encoding.strip().lower()
    if coding not in {"gzip", "x-gzip", "deflate"}:
        return body
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS if coding != "deflate" else zlib.MAX_WBITS)
    try:
        decoded = decoder.decompress(body, limit + 1)
    except zlib.error:
        return body
    return None if len(decoded) > limit else decoded


def _error_body(violations: list[Violation]) -> dict[str, Any]:
    return {"message": {"errors": [
        {"message": f"{v.location}: {v.message}", "location": v.location,
         "statements": list(v.statements)} for v in violations]}}


def _count(violations: int) -> list[tuple[bytes, bytes]]:
    return [(COUNT_HEADER.encode(), str(violations).encode())]
