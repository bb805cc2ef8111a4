"""Deliberately broken implementations of the API, for proving the conformance suite
catches each defect: the correct mock, with one thing changed on the way in or out."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from contract.mock.serve import create_app
from contract.mock.settings import MockSettings

UNKNOWN = "00000000-0000-4000-8000-000000000000"
Scope = dict[str, Any]


def _is_purge(scope: Scope) -> bool:
    return scope["method"] == "DELETE" and scope["path"].endswith("/assets")


class Broken:
    """The mock with `inbound(scope)` applied to requests and `outbound(scope, status,
    headers, body)` to responses."""

    def __init__(self, variant: str = "2016-08", rate_limit: bool = True,
                 inbound: Callable[[Scope], Scope | tuple[int, bytes]] | None = None,
                 outbound: Callable[[Scope, int, list, bytes], tuple[int, list, bytes]]
                 | None = None):
        self.app = create_app(variant, MockSettings(rate_limit=rate_limit, quiet=True,
                                                    time_scale=0.01))
        self.inbound, self.outbound = inbound, outbound

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.inbound:
            changed = self.inbound(scope)
            if isinstance(changed, tuple):
                status, body = changed
                await send({"type": "http.response.start", "status": status, "headers": []})
                await send({"type": "http.response.body", "body": body})
                return
            scope = changed
        if not self.outbound:
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            status, headers, body = self.outbound(scope, start["status"],
                                                  list(start["headers"]), message["body"])
            headers = [(k, v) for k, v in headers if k != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)


def _query(scope: Scope, extra: bytes) -> Scope:
    query = scope.get("query_string", b"")
    return {**scope, "query_string": query + (b"&" if query else b"") + extra}


def default_hard_false() -> Broken:
    return Broken(inbound=lambda s: _query(s, b"hard=false") if _is_purge(s) and
                  b"hard=" not in s.get("query_string", b"") else s)


def _on_purge_202(change: Callable[[int, list, bytes], tuple[int, list, bytes]]) -> Callable:
    def outbound(scope: Scope, status: int, headers: list, body: bytes):
        return change(status, headers, body) if _is_purge(scope) and status == 202 \
            else (status, headers, body)
    return outbound


def status_200() -> Broken:
    return Broken(outbound=_on_purge_202(lambda s, h, b: (200, h, b)))


def no_location() -> Broken:
    return Broken(outbound=_on_purge_202(
        lambda s, h, b: (s, [(k, v) for k, v in h if k != b"location"], b)))


def location_of_another_service() -> Broken:
    return Broken(outbound=_on_purge_202(lambda s, h, b: (s, [
        (k, v.rsplit(b"/", 1)[0] + b"/" + UNKNOWN.encode() if k == b"location" else v)
        for k, v in h], b)))


def body_on_202() -> Broken:
    return Broken(outbound=_on_purge_202(
        lambda s, h, b: (s, [*h, (b"content-type", b"application/json")], b'{"ok": true}')))


def error_500_for_bad_hard() -> Broken:
    def inbound(scope: Scope) -> Scope | tuple[int, bytes]:
        query = scope.get("query_string", b"").lower()
        if _is_purge(scope) and b"hard=" in query and not (b"hard=true" in query or
                                                           b"hard=false" in query):
            return 500, b""
        return scope
    return Broken(inbound=inbound)


def no_auth_check() -> Broken:
    def inbound(scope: Scope) -> Scope:
        headers = [(k, v) for k, v in scope["headers"] if k != b"x-auth-token"]
        return {**scope, "headers": [*headers, (b"x-auth-token", b"anything")]}
    return Broken(inbound=inbound)


def no_rate_limit() -> Broken:
    return Broken(rate_limit=False)


def not_found_for_existing_service() -> Broken:
    def inbound(scope: Scope) -> Scope | tuple[int, bytes]:
        return (404, b'{"message": {"errors": [{"message": "not found"}]}}') \
            if _is_purge(scope) else scope
    return Broken(inbound=inbound)


def bare_responses() -> Broken:
    """A project-less URL (the create's Location) answered 404, as the mock did before S40,
    and every service read without its `links` (S39)."""
    def inbound(scope: Scope) -> Scope | tuple[int, bytes]:
        return (404, b'{"message": {"errors": [{"message": "has no project id"}]}}') \
            if scope["method"] == "GET" and scope["path"].startswith("/v1.0/services/") \
            else scope

    def outbound(scope: Scope, status: int, headers: list, body: bytes
                 ) -> tuple[int, list, bytes]:
        if scope["method"] == "GET" and "/services/" in scope["path"] and status == 200:
            service = json.loads(body)
            service.pop("links", None)
            body = json.dumps(service).encode()
        return status, headers, body
    return Broken(inbound=inbound, outbound=outbound)
