"""What changed between two OpenAPI documents, and whom it breaks.

Each change is judged twice:
- for clients: does a client written against OLD still work against a server of NEW?
- for servers: does a server built to OLD still satisfy NEW?
A default that changes is breaking for both: a client that omits the parameter gets other
behaviour, and a server applying the old default no longer conforms.

Provenance extensions (`x-source`, `x-statements`, ...) and prose are not contract and are not
compared; other extensions are, with `x-rate-limit` judged as behaviour.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from contract.jsonpointer import escape as _escape
from contract.openapi import METHODS, resolve
from contract.spec.statements import citations

_PROVENANCE = {"x-source", "x-statements", "x-default-from", "x-description-source",
               "x-alternative-header"}
_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems")


class Severity(StrEnum):
    BREAKING = "breaking"
    POTENTIALLY_BREAKING = "potentially breaking"
    NON_BREAKING = "non-breaking"


B, P, N = Severity.BREAKING, Severity.POTENTIALLY_BREAKING, Severity.NON_BREAKING


@dataclass(frozen=True)
class Change:
    pointer: str  # JSON pointer into NEW (or OLD for what was removed)
    kind: str  # e.g. "parameter.default", "response.added"
    message: str
    clients: Severity
    servers: Severity
    statements: tuple[str, ...] = ()  # x-statements of the elements involved

    def as_dict(self) -> dict[str, Any]:
        return {"pointer": self.pointer, "kind": self.kind, "message": self.message,
                "clients": self.clients.value, "servers": self.servers.value,
                "statements": list(self.statements)}


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    return _Differ(old, new).run()


def _statements(*elements: Any) -> tuple[str, ...]:
    """The statement ids an element carries itself (or, for an extension's value, anywhere
    inside it)."""
    found: list[str] = []
    for element in elements:
        cited = element.get("x-statements", []) if isinstance(element, dict) else []
        if isinstance(element, dict) and not cited and "x-source" not in element:
            cited = [sid for _, ids in citations(element) for sid in ids]
        found += [str(s) for s in cited if str(s) not in found]
    return tuple(found)


def _promised(response: dict[str, Any]) -> tuple[Any, ...]:
    """A response and its headers: what a response added or removed cites (a 429's
    `Retry-After` is S24's, the response S11's)."""
    return (response, *(response.get("headers") or {}).values())


class _Differ:
    def __init__(self, old: dict[str, Any], new: dict[str, Any]):
        self.old, self.new = old, new
        self.changes: list[Change] = []

    def add(self, pointer: str, kind: str, message: str, clients: Severity, servers: Severity,
            *elements: Any) -> None:
        self.changes.append(Change(pointer, kind, message, clients, servers,
                                   _statements(*elements)))

    def run(self) -> list[Change]:
        self.security("/security", self.old.get("security"), self.new.get("security"))
        old_paths, new_paths = self.old.get("paths", {}), self.new.get("paths", {})
        for path in [*old_paths, *(p for p in new_paths if p not in old_paths)]:
            pointer = f"/paths/{_escape(path)}"
            old_item, new_item = old_paths.get(path, {}), new_paths.get(path, {})
            for method in METHODS:
                old_op, new_op = old_item.get(method), new_item.get(method)
                where = f"{pointer}/{method}"
                name = f"{method.upper()} {path}"
                if old_op is None and new_op is not None:
                    self.add(where, "operation.added", f"{name} added", N, B, new_op)
                elif old_op is not None and new_op is None:
                    self.add(where, "operation.removed", f"{name} removed", B, N, old_op)
                elif old_op is not None and new_op is not None:
                    self.operation(where, name, old_op, new_op,
                                   old_item.get("parameters", []), new_item.get("parameters", []))
        return self.changes

    # -- operations ------------------------------------------------------------------------

    def operation(self, pointer: str, name: str, old: dict[str, Any], new: dict[str, Any],
                  old_shared: list[Any], new_shared: list[Any]) -> None:
        self.parameters(pointer, name, [*old_shared, *old.get("parameters", [])],
                        [*new_shared, *new.get("parameters", [])])
        self.request_body(f"{pointer}/requestBody", name, old.get("requestBody"),
                          new.get("requestBody"))
        self.responses(f"{pointer}/responses", name, old.get("responses", {}),
                       new.get("responses", {}))
        self.security(f"{pointer}/security", old.get("security", self.old.get("security")),
                      new.get("security", self.new.get("security")))
        self.extensions(pointer, name, old, new)

    def parameters(self, pointer: str, name: str, old: list[Any], new: list[Any]) -> None:
        def index(document: dict[str, Any], params: list[Any]) -> dict[tuple[str, str], Any]:
            resolved = (resolve(document, p) for p in params)
            return {(p.get("in", ""), p.get("name", "")): p for p in resolved}

        before, after = index(self.old, old), index(self.new, new)
        for position, key in enumerate([*before, *(k for k in after if k not in before)]):
            where = f"{pointer}/parameters/{position}"
            label = f"{key[0]} parameter `{key[1]}` of {name}"
            was, now = before.get(key), after.get(key)
            if was is None:
                required = bool(now and now.get("required"))
                self.add(where, "parameter.added", f"{'required' if required else 'optional'} "
                         f"{label} added", B if required else N, N if required else P, now)
            elif now is None:
                self.add(where, "parameter.removed", f"{label} removed", P, N, was)
            else:
                self.required_flag(where, "parameter.required", label, was.get("required"),
                                   now.get("required"), "request", was, now)
                self.schema(f"{where}/schema", label, was.get("schema", {}),
                            now.get("schema", {}), "request", was, now)

    def required_flag(self, pointer: str, kind: str, label: str, was: Any, now: Any,
                      direction: str, *elements: Any) -> None:
        was, now = bool(was), bool(now)
        if was == now:
            return
        if direction == "request":  # a client must now send it / a server may no longer rely
            clients, servers = (B, N) if now else (N, B)
        else:  # a response member: clients may now rely / servers must now send it
            clients, servers = (N, B) if now else (B, N)
        state = "now required" if now else "no longer required"
        self.add(pointer, kind, f"{label} is {state}", clients, servers, *elements)

    def request_body(self, pointer: str, name: str, old: Any, new: Any) -> None:
        old, new = resolve(self.old, old), resolve(self.new, new)
        if not old and not new:
            return
        if not old:
            required = bool(new.get("required"))
            self.add(pointer, "request-body.added", f"{name} now takes a request body",
                     B if required else N, P, new)
            return
        if not new:
            self.add(pointer, "request-body.removed", f"{name} no longer takes a request body",
                     B, N, old)
            return
        self.required_flag(pointer, "request-body.required", f"the request body of {name}",
                           old.get("required"), new.get("required"), "request", old, new)
        self.content(f"{pointer}/content", f"request body of {name}", old.get("content", {}),
                     new.get("content", {}), "request")

    def content(self, pointer: str, label: str, old: dict[str, Any], new: dict[str, Any],
                direction: str) -> None:
        for media, where, was, now in self.pairs(pointer, old, new):
            if now is None:
                clients, servers = (B, N) if direction == "request" else (N, P)
                self.add(where, "media-type.removed", f"{label}: {media} removed", clients,
                         servers)
            elif was is None:
                clients, servers = (N, P) if direction == "request" else (P, N)
                self.add(where, "media-type.added", f"{label}: {media} added", clients, servers)
            else:
                self.schema(f"{where}/schema", f"{label} ({media})", was.get("schema", {}),
                            now.get("schema", {}), direction)

    def pairs(self, pointer: str, old: dict[str, Any], new: dict[str, Any]
              ) -> Iterator[tuple[str, str, Any, Any]]:
        """Each key of either mapping (old order, then new keys), with its pointer and both
        values, references resolved; a side without the key gives None."""
        for key in [*old, *(k for k in new if k not in old)]:
            yield (key, f"{pointer}/{_escape(key)}", resolve(self.old, old.get(key)),
                   resolve(self.new, new.get(key)))

    def responses(self, pointer: str, name: str, old: dict[str, Any],
                  new: dict[str, Any]) -> None:
        for status, where, was, now in self.pairs(pointer, old, new):
            if was is None:
                self.add(where, "response.added", f"{name} may now answer {status}", P,
                         P if status.startswith(("2", "4")) else N, *_promised(now))
            elif now is None:
                self.add(where, "response.removed", f"{name} no longer answers {status}", N,
                         P, *_promised(was))
            else:
                self.headers(f"{where}/headers", f"{status} response of {name}",
                             was.get("headers", {}), now.get("headers", {}))
                self.content(f"{where}/content", f"{status} response of {name}",
                             was.get("content", {}), now.get("content", {}), "response")

    def headers(self, pointer: str, label: str, old: dict[str, Any],
                new: dict[str, Any]) -> None:
        for header, where, was, now in self.pairs(pointer, old, new):
            if was is None and now is not None:
                required = bool(now.get("required"))
                self.add(where, "response-header.added", f"{label}: header {header} added"
                         f"{' (required)' if required else ''}", N, B if required else N, now)
            elif now is None:
                self.add(where, "response-header.removed", f"{label}: header {header} removed",
                         B if was.get("required") else P, N, was)
            else:
                self.required_flag(where, "response-header.required",
                                   f"{label}: header {header}", was.get("required"),
                                   now.get("required"), "response", was, now)
                self.schema(f"{where}/schema", f"{label}: header {header}",
                            was.get("schema", {}), now.get("schema", {}), "response", was, now)

    def security(self, pointer: str, old: Any, new: Any) -> None:
        def names(requirements: Any) -> set[frozenset[str]]:
            return {frozenset(r) for r in requirements or []}

        if names(old) != names(new):
            before = sorted(sorted(r) for r in names(old))
            after = sorted(sorted(r) for r in names(new))
            self.add(pointer, "security.changed", f"security requirements {before} → {after}",
                     B, B)

    def extensions(self, pointer: str, name: str, old: dict[str, Any],
                   new: dict[str, Any]) -> None:
        for key in sorted({k for k in (*old, *new) if k.startswith("x-")} - _PROVENANCE):
            was, now = _without_provenance(old.get(key)), _without_provenance(new.get(key))
            if was == now:
                continue
            behaviour = key == "x-rate-limit"
            state = "added" if was is None else "removed" if now is None else "changed"
            severity = P if behaviour else N
            self.add(f"{pointer}/{_escape(key)}", f"extension.{state}",
                     f"{name}: {key} {state}" + (f": {now}" if now is not None else ""),
                     severity, B if behaviour and now is not None else N,
                     old.get(key), new.get(key))

    # -- schemas -----------------------------------------------------------------------------

    def schema(self, pointer: str, label: str, old: Any, new: Any, direction: str,
               *owners: Any) -> None:
        old, new = resolve(self.old, old) or {}, resolve(self.new, new) or {}
        if not isinstance(old, dict) or not isinstance(new, dict):
            return
        elements = (*owners, old, new)
        for key in ("type", "format"):
            if old.get(key) != new.get(key):
                self.add(f"{pointer}/{key}", f"schema.{key}", f"{label}: {key} "
                         f"{old.get(key)!r} → {new.get(key)!r}", B, B, *elements)
        if old.get("default") != new.get("default"):
            self.add(f"{pointer}/default", "schema.default", f"{label}: default "
                     f"{_show(old.get('default'))} → {_show(new.get('default'))} (behaviour "
                     "changes for requests that omit it)", B, B, *elements)
        self.enum(pointer, label, old.get("enum"), new.get("enum"), direction, elements)
        self.bounds(pointer, label, old, new, direction, elements)
        self.properties(pointer, label, old, new, direction)
        if isinstance(old.get("items"), dict) or isinstance(new.get("items"), dict):
            self.schema(f"{pointer}/items", f"{label}[]", old.get("items", {}),
                        new.get("items", {}), direction)

    def enum(self, pointer: str, label: str, old: Any, new: Any, direction: str,
             elements: tuple[Any, ...]) -> None:
        if old == new:
            return
        before = set(map(repr, old)) if old is not None else None
        after = set(map(repr, new)) if new is not None else None
        narrowed = after is not None and (before is None or bool(before - after))
        widened = before is not None and (after is None or bool(after - before))
        if direction == "request":
            clients, servers = (B if narrowed else N), (P if widened else N)
        else:
            clients, servers = (P if widened else N), (B if narrowed else N)
        self.add(f"{pointer}/enum", "schema.enum", f"{label}: enum {old} → {new}", clients,
                 servers, *elements)

    def bounds(self, pointer: str, label: str, old: dict[str, Any], new: dict[str, Any],
               direction: str, elements: tuple[Any, ...]) -> None:
        for key in (*_LOWER_BOUNDS, *_UPPER_BOUNDS):
            was, now = old.get(key), new.get(key)
            if was == now:
                continue
            upper = key in _UPPER_BOUNDS
            tighter = was is None or (now is not None and (now < was if upper else now > was))
            if direction == "request":
                clients, servers = (B, N) if tighter else (N, P)
            else:
                clients, servers = (N, B) if tighter else (P, N)
            self.add(f"{pointer}/{key}", "schema.bounds", f"{label}: {key} {_show(was)} → "
                     f"{_show(now)}", clients, servers, *elements)

    def properties(self, pointer: str, label: str, old: dict[str, Any], new: dict[str, Any],
                   direction: str) -> None:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        for name in [*old_props, *(p for p in new_props if p not in old_props)]:
            where = f"{pointer}/properties/{_escape(name)}"
            member = f"{label}: member `{name}`"
            if name not in new_props:
                clients, servers = (P, N) if direction == "request" else (
                    B if name in old_required else P, N)
                self.add(where, "property.removed", f"{member} removed", clients, servers,
                         old_props[name])
            elif name not in old_props:
                required = name in new_required
                if direction == "request":
                    clients, servers = (B if required else N), (N if required else P)
                else:
                    clients, servers = N, (B if required else N)
                self.add(where, "property.added", f"{member} added"
                         f"{' (required)' if required else ''}", clients, servers,
                         new_props[name])
            else:
                self.required_flag(where, "property.required", member, name in old_required,
                                   name in new_required, direction)
                self.schema(where, member, old_props[name], new_props[name], direction)


def _without_provenance(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_provenance(v) for k, v in value.items() if k not in _PROVENANCE}
    if isinstance(value, list):
        return [_without_provenance(v) for v in value]
    return value


def _show(value: Any) -> str:
    return "(none)" if value is None else repr(value).replace("True", "true").replace(
        "False", "false")
