"""The validating proxy as a plain ASGI application.

Each request is read, validated, forwarded to the upstream with httpx; the upstream's answer
is validated against it and passed back unchanged, plus one header, `X-Contract-Violations`
(the count for this exchange). Violations are logged as JSON lines. With `strict`, an invalid
request is answered 400 and never forwarded, and an invalid response is replaced by a 502
listing the violations; both use the documented error body (S16).

Bodies: the request body is read whole (it must be validated before it is forwarded, and the
contract caps it at 8 KB). The response body is buffered up to `buffer_limit` to validate it
before the status line goes out (the count is a header); past that limit it is streamed
through and only its status and headers are validated, which the log says.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import httpx

from contract.asgi import Receive, Scope, Send, error_document, read_body, run_lifespan
from contract.proxy.log import ViolationLog
from contract.validation import (
    HttpRequest,
    HttpResponse,
    RequestReport,
    Violation,
    validator_for,
)

COUNT_HEADER = "X-Contract-Violations"
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
               "trailer", "trailers", "transfer-encoding", "upgrade", "host"}


class ValidatingProxy:
    def __init__(self, upstream: str, variant: str = "2016-08", *, strict: bool = False,
                 log: ViolationLog | None = None, timeout: float = 30.0,
                 buffer_limit: int = 8 * 1024 * 1024):
        self.upstream = upstream.rstrip("/")
        self.variant = variant
        self.strict = strict
        self.log = log or ViolationLog(None)
        self.timeout = timeout
        self.buffer_limit = buffer_limit
        self.validator = validator_for(variant)
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await run_lifespan(receive, send, self._shutdown)
        elif scope["type"] == "http":
            await self._exchange(scope, receive, send)

    async def _shutdown(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        self.log.close()

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        return self._client

    async def _exchange(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive) or b""
        target = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"])
        request = HttpRequest(scope["method"], target, headers, body)
        report = self.validator.validate_request(request)
        self._log(request, "request", report.operation, report.violations)
        if self.strict and report.violations:
            await _send_json(send, 400, _error_body(report.violations), len(report.violations))
            return
        try:
            upstream = await self.client.send(self.client.build_request(
                scope["method"], self.upstream + target, content=body,
                headers=[(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP]),
                stream=True)
        except httpx.TimeoutException:
            await _send_json(send, 504, error_document(f"upstream {self.upstream} did not answer "
                                                 f"within {self.timeout:g} s"))
            return
        except httpx.HTTPError as error:
            await _send_json(send, 502, error_document(f"upstream {self.upstream} unreachable: "
                                                 f"{type(error).__name__}"))
            return
        try:
            await self._relay(request, report, upstream, send)
        finally:
            await upstream.aclose()

    async def _relay(self, request: HttpRequest, report: RequestReport,
                     upstream: httpx.Response, send: Send) -> None:
        chunks: list[bytes] = []
        size = 0
        stream = upstream.aiter_raw()
        complete = True
        async for chunk in stream:
            chunks.append(chunk)
            size += len(chunk)
            if size > self.buffer_limit:
                complete = False
                break
        headers = [(k, v) for k, v in upstream.headers.multi_items()
                   if k.lower() not in _HOP_BY_HOP]
        body = _decoded(b"".join(chunks), upstream.headers.get("content-encoding", ""))
        response = HttpResponse(upstream.status_code, tuple(headers), body if complete else b"")
        violations = self.validator.validate_response(request, response)
        if not complete:
            violations = [v for v in violations if not v.location.startswith("response.body")]
        self._log(request, "response", report.operation, violations, upstream.status_code,
                  None if complete else "body over the buffer limit: streamed, not validated")
        if self.strict and violations:
            await _send_json(send, 502, _error_body(violations), len(violations))
            return
        count = len(report.violations) + len(violations)
        await send({"type": "http.response.start", "status": upstream.status_code,
                    "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
                    + [(COUNT_HEADER.encode(), str(count).encode())]})
        for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if not complete:
            async for chunk in stream:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

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


async def _send_json(send: Send, status: int, body: dict[str, Any], count: int = 0) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
        (COUNT_HEADER.encode(), str(count).encode())]})
    await send({"type": "http.response.body", "body": data, "more_body": False})
