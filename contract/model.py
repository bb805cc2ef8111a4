"""The contract as typed facts: one reading of an OpenAPI document, shared by every stage.

The code generators, the mock runtime, the conformance checks and the validators ask this
model for a limit, a default, a duration or a rate; none of them walks the document for it or
writes the value down again. Change the spec and every stage follows.

`read_contract(document)` builds it once. A document that lacks a fact the stages rely on
(the token header, the limits, the purge operation) is refused with the JSON pointer of what
is missing, so a hand-edited spec fails at load time, not halfway through a run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contract.errors import InputError
from contract.openapi import alternative_headers, operations, resolve

Document = dict[str, Any]


@dataclass(frozen=True)
class Limits:
    """What every request meets before its operation is known (`x-limits`, S19)."""

    max_body_bytes: int
    max_uri_length: int
    statements: tuple[str, ...] = ()


@dataclass(frozen=True)
class RateLimit:
    """A documented rate limit of one operation (`x-rate-limit`, S11)."""

    requests: int
    period_seconds: float
    exceeded_status: int
    scope: str = "project"
    statements: tuple[str, ...] = ()


@dataclass(frozen=True)
class PurgeMode:
    """Purge (`hard=true`) or invalidation (`hard=false`), as `x-purge-semantics` states it."""

    hard: bool
    wildcards: bool
    completes_after_seconds: float
    statements: tuple[str, ...] = ()
    revalidation: str | None = None  # the conditional header the edge revalidates with (S15)
    error_ttl_seconds: float | None = None  # how long the edge keeps an origin's 404 (S15)
    files_per_request: int | None = None  # a purge names one file (S12); None: no bound


@dataclass(frozen=True)
class Purge:
    """The focus operation: where it lives, the default of `hard` (S7a/S7b), its two modes."""

    operation: str
    method: str
    template: str
    hard_default: bool | None
    purge: PurgeMode
    invalidation: PurgeMode

    def mode(self, hard: bool) -> PurgeMode:
        return self.purge if hard else self.invalidation


@dataclass(frozen=True)
class Bounds:
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Contract:
    """Every fact of one variant that some stage acts on."""

    variant: str
    token_header: str  # the API key header of the security scheme (S10)
    limits: Limits
    purge: Purge
    page_limit: Bounds  # `limit` of the service listing; its maximum is the page size
    alternative_headers: dict[str, str] = field(default_factory=dict)  # S8
    rate_limits: dict[str, RateLimit] = field(default_factory=dict)  # by operationId
    defaults: dict[str, dict[str, Any]] = field(default_factory=dict)  # op → parameter → value
    token_statements: tuple[str, ...] = ()  # what the security scheme cites (S10)
    alternative_header_statements: tuple[str, ...] = ()  # what those parameters cite (S8)
    levels: dict[str, str] = field(default_factory=dict)  # statement → MUST, SHOULD, ...
    # S39: the members a success body holds, by operation (`op` for the body, `op/member`
    # for the items of a list member)
    members: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # by operation, the successes whose documented response has a body, and the statuses
    # that carry a Location (what a response forced with `Prefer: code=` must hold)
    with_body: dict[str, tuple[int, ...]] = field(default_factory=dict)
    located: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def page_size(self) -> int | None:
        """How many services a page holds when the client names no `limit`: the most it may
        name (the limits page states one number for both)."""
        return self.page_limit.maximum


def read_contract(document: Document) -> Contract:
    """The typed facts of `document` (a derived spec), or InputError naming what is missing."""
    variant = str(_need(document, ("info", "x-variant")))
    return Contract(
        variant=variant,
        token_header=_token_header(document),
        token_statements=_token_statements(document),
        alternative_header_statements=_alternative_header_statements(document),
        limits=_limits(document),
        purge=_purge(document),
        page_limit=_page_limit(document),
        alternative_headers=alternative_headers(document),
        rate_limits=_rate_limits(document),
        defaults=_defaults(document),
        levels=_levels(document),
        members=_members(document),
        with_body=_statuses(document, lambda status, response: status < 300
                            and bool(response.get("content"))),
        located=_statuses(document, lambda _, response: "Location" in (response.get("headers")
                                                                      or {})),
    )


def _levels(document: Document) -> dict[str, str]:
    """Each statement's level, from the statements the spec carries (x-contract-statements):
    what makes a violation a failure or a warning."""
    rows = document.get("x-contract-statements")
    return {str(sid): str(row["level"]) for sid, row in rows.items()
            if isinstance(row, dict) and "level" in row} if isinstance(rows, dict) else {}


def _need(node: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        if not isinstance(node, dict) or step not in node:
            raise InputError(f"the spec has no /{'/'.join(path)}: the contract model needs it")
        node = node[step]
    return node


def _statements(node: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(s) for s in node.get("x-statements", []))


def _token_header(document: Document) -> str:
    schemes = _need(document, ("components", "securitySchemes"))
    for scheme in schemes.values():
        if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
            return str(scheme["name"])
    raise InputError("the spec has no apiKey header among /components/securitySchemes")


def _token_statements(document: Document) -> tuple[str, ...]:
    schemes = _need(document, ("components", "securitySchemes"))
    return tuple(dict.fromkeys(sid for scheme in schemes.values()
                               for sid in _statements(scheme)))


def _alternative_header_statements(document: Document) -> tuple[str, ...]:
    return tuple(dict.fromkeys(sid for _, _, op in operations(document)
                               for param in op.get("parameters", [])
                               if param.get("x-alternative-header")
                               for sid in _statements(param)))


def _limits(document: Document) -> Limits:
    limits = _need(document, ("x-limits",))
    return Limits(max_body_bytes=int(_need(limits, ("max-body-bytes",))),
                  max_uri_length=int(_need(limits, ("max-uri-length",))),
                  statements=_statements(limits))


def _purge(document: Document) -> Purge:
    for template, method, op in operations(document):
        semantics = op.get("x-purge-semantics")
        if not isinstance(semantics, dict):
            continue
        hard: dict[str, Any] = next(
            (p for p in op.get("parameters", []) if p.get("name") == "hard"), {})
        default = (hard.get("schema") or {}).get("default")
        return Purge(operation=op["operationId"], method=method.upper(), template=template,
                     hard_default=default if isinstance(default, bool) else None,
                     purge=_mode(semantics, "purge"),
                     invalidation=_mode(semantics, "invalidation"))
    raise InputError("no operation of the spec has x-purge-semantics: the purge operation "
                     "cannot be found")


def _mode(semantics: dict[str, Any], name: str) -> PurgeMode:
    mode = _need(semantics, (name,))
    error_ttl = mode.get("error-ttl-seconds")
    files = mode.get("files-per-request")
    return PurgeMode(hard=bool(_need(mode, ("hard",))), wildcards=bool(mode.get("wildcards")),
                     completes_after_seconds=float(_need(mode, ("completes-after-seconds",))),
                     statements=_statements(mode), revalidation=mode.get("revalidation"),
                     error_ttl_seconds=float(error_ttl) if error_ttl is not None else None,
                     files_per_request=int(files) if files is not None else None)


def _page_limit(document: Document) -> Bounds:
    for _, method, op in operations(document):
        if method != "get" or "x-collection" not in op.get("responses", {}).get("200", {}):
            continue
        for param in op.get("parameters", []):
            if param.get("name") == "limit" and param.get("in") == "query":
                schema = param.get("schema") or {}
                return Bounds(schema.get("minimum"), schema.get("maximum"))
    return Bounds()


def _rate_limits(document: Document) -> dict[str, RateLimit]:
    found = {}
    for _, _, op in operations(document):
        limit = op.get("x-rate-limit")
        if not isinstance(limit, dict):
            continue
        found[op["operationId"]] = RateLimit(
            requests=int(limit["requests"]), period_seconds=float(limit["period-seconds"]),
            scope=str(limit.get("scope", "project")),
            exceeded_status=int(_need(limit, ("exceeded-status",))),
            statements=_statements(limit))
    return found


def _defaults(document: Document) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for _, _, op in operations(document):
        for param in op.get("parameters", []):
            schema = resolve(document, param.get("schema") or {})
            if "default" in schema:
                found.setdefault(op["operationId"], {})[param["name"]] = schema["default"]
    return found


def _members(document: Document) -> dict[str, tuple[str, ...]]:
    """What each operation's JSON success body must hold (S39): the body's required members,
    and those of the items of each list member, where the docs' samples show them."""
    found: dict[str, tuple[str, ...]] = {}
    for _, _, op in operations(document):
        for status, response in (op.get("responses") or {}).items():
            media = (resolve(document, response).get("content") or {}).get("application/json")
            if not status.startswith("2") or not isinstance(media, dict):
                continue
            body = resolve(document, media.get("schema") or {})
            if "S39" in body.get("x-statements", []):
                found[op["operationId"]] = tuple(body.get("required", ()))
            for name, member in (body.get("properties") or {}).items():
                items = resolve(document, resolve(document, member).get("items") or {})
                if "S39" in items.get("x-statements", []):
                    found[f"{op['operationId']}/{name}"] = tuple(items.get("required", ()))
    return found


def _statuses(document: Document, holds: Callable[[int, dict[str, Any]], bool]
              ) -> dict[str, tuple[int, ...]]:
    """By operation, the documented statuses whose response `holds` (operations with none
    left out)."""
    found: dict[str, tuple[int, ...]] = {}
    for _, _, op in operations(document):
        statuses = tuple(int(status) for status, response in (op.get("responses") or {}).items()
                         if status.isdigit() and holds(int(status), resolve(document, response)))
        if statuses:
            found[op["operationId"]] = statuses
    return found
