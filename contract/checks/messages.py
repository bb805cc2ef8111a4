"""Requests as the generated checks read them, the responses a server built on them sends,
and the error body (S16)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from contract.http.asgi import error_document


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


class NotUtf8(ValueError):
    """A path or query that is not UTF-8 once percent-decoded (`%FF`): refused, never
    decoded with replacement characters, so `%FF` and `%FE` stay two different values."""


def decode_path(raw: str) -> str:
    """The percent-decoded path; NotUtf8 when it is not UTF-8."""
    if "%" not in raw:
        return raw
    try:
        return unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise NotUtf8(f"the request path {raw!r} is not UTF-8 once percent-decoded") from None


def parse_query(raw: str) -> list[tuple[str, str]]:
    """`parse_qsl(raw, keep_blank_values=True)`, with a shortcut for the usual query that
    has nothing to decode (a test holds the two to the same result); NotUtf8 when a name or
    value is not UTF-8 once decoded."""
    if "%" in raw or "+" in raw:
        try:
            return parse_qsl(raw, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise NotUtf8(f"the query {raw!r} is not UTF-8 once percent-decoded") from None
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
