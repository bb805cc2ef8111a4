"""Which contract statements (S-ids) one exchange with the mock touched, read from the spec's
`x-statements` (the operation's own, its parameters the request carried, the status it was
answered with and that status's headers) and from the statements a refusal cites (`CITED`).

Built once per process, on the first journal listing or coverage report: the request path
never pays for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from contract.model import Contract

CITED = re.compile(rb"\bS\d{1,3}[a-z]?\b")  # "(S22)" in a refusal's message


@dataclass
class OperationStatements:
    """An operation's statements: its own, per parameter name, per documented status."""

    own: tuple[str, ...] = ()
    parameters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    statuses: dict[int, tuple[str, ...]] = field(default_factory=dict)

    def every(self) -> set[str]:
        return {*self.own, *_flat(self.parameters.values()), *_flat(self.statuses.values())}


class StatementIndex:
    """The statements of each operation of one variant's spec, and every one a request to
    the API could exercise (`universe`)."""

    def __init__(self, document: dict[str, Any], contract: Contract):
        self.levels = {sid: str(row.get("level", "")) for sid, row in
                       (document.get("x-contract-statements") or {}).items()}
        self.operations: dict[str, OperationStatements] = {}
        for methods in (document.get("paths") or {}).values():
            for operation in methods.values():
                if isinstance(operation, dict) and "operationId" in operation:
                    self.operations[operation["operationId"]] = _read(operation)
        self.token = contract.token_statements
        self.universe = sorted(
            {*_flat(op.every() for op in self.operations.values()), *self.token,
             *contract.limits.statements}, key=_order)

    def touched(self, operation: str | None, query: Iterable[str], status: int,
                cited: Iterable[str]) -> list[str]:
        """The statements one exchange touched, in S-order."""
        found: set[str] = set(self.token)  # every request carries (or lacks) the token
        known = self.operations.get(operation or "")
        if known is not None:
            # a refusal that cites its rule touched that rule, not every one its status
            # lists (the purge's 400 lists S17, S21, S22, S23, S25)
            found.update(known.own, cited or known.statuses.get(status, ()))
            found.update(_flat(known.parameters.get(name, ()) for name in
                               ("project_id", "service_id", "domain_name", *query)))
        found.update(cited)
        return sorted(found, key=_order)


def _read(operation: dict[str, Any]) -> OperationStatements:
    parameters = {str(p.get("name")): _statements(p) + _statements(p.get("schema") or {})
                  for p in operation.get("parameters") or [] if isinstance(p, dict)}
    statuses = {}
    for status, response in (operation.get("responses") or {}).items():
        if str(status).isdigit() and isinstance(response, dict):
            headers = response.get("headers") or {}
            statuses[int(status)] = _statements(response) + tuple(_flat(
                _statements(h) + _statements(h.get("schema") or {})
                for h in headers.values() if isinstance(h, dict)))
    return OperationStatements(_statements(operation), parameters, statuses)


def _statements(node: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(s) for s in node.get("x-statements") or ())


def _flat(groups: Iterable[Iterable[str]]) -> list[str]:
    return [item for group in groups for item in group]


def _order(sid: str) -> tuple[int, str]:
    digits = "".join(c for c in sid if c.isdigit())
    return (int(digits or 0), sid)
