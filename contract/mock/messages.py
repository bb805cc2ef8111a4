"""Requests as the mock's pipeline sees them, responses it sends, and the error body (S16)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from contract.asgi import error_document


@dataclass(slots=True)
class Incoming:
    """One HTTP request, decoded once: the generated checks and the behaviours read this."""

    method: str  # upper case
    path: str  # percent-decoded, as routed
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names, first value
    body: bytes = b""
    base_url: str = "http://127.0.0.1"  # scheme://host the client used, for Location headers
    path_params: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def query_value(self, name: str) -> str | None:
        """The first value of a query parameter, as OpenAPI's `form` style reads it."""
        for key, value in self.query:
            if key == name:
                return value
        return None


def parse_query(raw: str) -> list[tuple[str, str]]:
    """`parse_qsl(raw, keep_blank_values=True)`, with a shortcut for the usual query that
    has nothing to decode (a test holds the two to the same result)."""
    if "%" in raw or "+" in raw:
        return parse_qsl(raw, keep_blank_values=True)
    pairs = []
    for part in raw.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((name, value))
    return pairs


@dataclass(slots=True)
class Outgoing:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def json_response(status: int, data: Any, headers: list[tuple[str, str]] | None = None
                  ) -> Outgoing:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Outgoing(status, [("Content-Type", "application/json"), *(headers or [])], body)


def error_response(status: int, *messages: str,
                   headers: list[tuple[str, str]] | None = None) -> Outgoing:
    """The documented error body (S16), with one entry per message."""
    return json_response(status, error_document(*messages), headers)


def empty_response(status: int, headers: list[tuple[str, str]] | None = None) -> Outgoing:
    return Outgoing(status, list(headers or []))
