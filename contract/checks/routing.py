"""The generated route table, and matching a request to one of its operations.

A path parameter the spec marks with `x-alternative-header` (`project_id`: `X-Project-Id`,
S8) may be left out of the URI when the header carries it; when the header is present, that
shorter form is tried first, so `/v1.0/services` with the header lists services rather than
reading as the home document of a project named `services`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from contract.checks.messages import Incoming
from contract.checks.params import Parsed
from contract.openapi import template_regex


@dataclass(frozen=True)
class Operation:
    """One row of the generated route table."""

    id: str
    method: str
    template: str
    check: Callable[[Incoming], Parsed]
    statuses: tuple[int, ...]  # documented
    takes_body: bool
    statements: tuple[str, ...] = ()  # what the operation cites (a body it refuses: S4)


class Match(NamedTuple):
    operation: Operation
    path_params: dict[str, str]


@dataclass(frozen=True)
class NoMatch:
    """No operation serves the request. `allowed`: the methods other operations at its path
    take (then it is a 405); `header`: the alternative header that would have routed it (the
    project id left out of the URI without X-Project-Id, S8). `admission` words it."""

    allowed: tuple[str, ...] = ()
    header: str | None = None
    path_params: dict[str, str] = field(default_factory=dict)  # of that shorter form


@dataclass
class Router:
    operations: list[Operation]
    alternative_headers: dict[str, str] = field(default_factory=dict)  # param → header

    def __post_init__(self) -> None:
        self._full = [(template_regex(op.template, exact=True), op) for op in self.operations]
        self._by_method: dict[str, list[tuple[re.Pattern[str], Operation]]] = {}
        for regex, op in self._full:
            self._by_method.setdefault(op.method, []).append((regex, op))
        self._short: list[tuple[re.Pattern[str], Operation, str, str]] = []
        self._headers = {header.lower() for header in self.alternative_headers.values()}
        for op in self.operations:
            for param, header in self.alternative_headers.items():
                segment = "/{" + param + "}"
                if segment in op.template:
                    shortened = op.template.replace(segment, "", 1)
                    self._short.append((template_regex(shortened, exact=True), op, param, header))

    def match(self, request: Incoming) -> Match | NoMatch:
        """The operation for a request, or why there is none (the caller answers)."""
        allowed: set[str] = set()
        for regex, op, param, header in self._short if self._headers & request.headers.keys() \
                else ():
            value = request.header(header)
            found = regex.match(request.path) if value else None
            if found and value:
                if op.method == request.method:
                    return Match(op, {**found.groupdict(), param: value})
                allowed.add(op.method)
        for regex, op in self._by_method.get(request.method, ()):
            found = regex.match(request.path)
            if found:
                return Match(op, found.groupdict())
        # no operation of this method at this path: 405 (when another method has one) or 404
        allowed.update(op.method for regex, op in self._full if regex.match(request.path))
        if allowed:
            return NoMatch(tuple(sorted(allowed)))
        for regex, _, _, name in self._short:
            short = regex.match(request.path)
            if short:
                return NoMatch(header=name, path_params=short.groupdict())
        return NoMatch()


