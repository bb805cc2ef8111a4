"""What a response holds: the members every docs sample of it shows are required (S39).

The WADL's parameter list marks no member of a response required, so `{}` would be a valid
service. The docs' samples are the evidence of what a response holds: this pass, run once
the bodies are named models (so the `Domain` of a read service and of a listed one is one
model, judged by all its samples), walks each success response's samples along its schema
and requires, in every object model the samples reach, the members that every sample
instance of that model shows. A member only some samples show stays optional.

Where the overlay states what the upstream implementation's response schema requires
(`x-upstream-required` on a model), only members both the samples and the upstream show are
required; a member the upstream requires that some sample leaves out stays optional and is
listed as a discrepancy (the samples disagree). A map's entries (`additionalProperties`) are
not members: only `properties` and `items` are walked.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from contract.openapi import operations, resolve
from contract.spec.derive.discrepancies import Discrepancy

STATEMENT = "S39"
UPSTREAM = "x-upstream-required"


@dataclass
class _Seen:
    """The sample instances of one object schema: the members each shows, and where."""

    model: dict[str, Any]
    where: str  # the first place it was met: the operation and status
    members: list[set[str]] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)


def require_shown(document: dict[str, Any]) -> list[Discrepancy]:
    """Require in place what every sample shows; the upstream's requirements samples leave
    out, as discrepancies. Each response whose samples were read cites S39."""
    seen: dict[int, _Seen] = {}
    for operation, status, response, media in _success_media(document):
        examples = media.get("examples") or {}
        if not examples or not isinstance(media.get("schema"), dict):
            continue
        for name, example in sorted(examples.items()):
            source = example.get("x-source", name)
            _walk(document, media["schema"], example.get("value"), source,
                  f"{operation} {status}", seen)
        _cite(response)
    names = {id(model): name for name, model in
             document.get("components", {}).get("schemas", {}).items()}
    found = []
    for key, entry in seen.items():
        found += _require(entry, names.get(key))
    return found


def _success_media(document: dict[str, Any]
                   ) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    for _, _, operation in operations(document):
        for status, response in (operation.get("responses") or {}).items():
            if not status.startswith("2") or "$ref" in response:
                continue
            for media_type, media in (response.get("content") or {}).items():
                if "json" in media_type:
                    yield operation["operationId"], status, response, media


def _walk(document: dict[str, Any], schema: Any, value: Any, source: str, where: str,
          seen: dict[int, _Seen]) -> None:
    node = resolve(document, schema)
    if not isinstance(node, dict):
        return
    properties = node.get("properties")
    if isinstance(value, dict) and isinstance(properties, dict):
        entry = seen.setdefault(id(node), _Seen(node, where))
        entry.members.append(set(value))
        entry.sources.add(source)
        for key, member in value.items():
            if key in properties:
                _walk(document, properties[key], member, source, where, seen)
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for item in value:
            _walk(document, node["items"], item, source, where, seen)


def _require(entry: _Seen, name: str | None) -> list[Discrepancy]:
    model = entry.model
    shown = [key for key in model["properties"]
             if all(key in members for members in entry.members)]
    upstream = model.pop(UPSTREAM, None)
    found = []
    operation, _, status = entry.where.partition(" ")
    where = f"response {status}" + (f", {name}" if name else "")
    if upstream is not None:
        for key in upstream:
            if key not in shown:
                missing = sum(1 for members in entry.members if key not in members)
                found.append(Discrepancy(
                    operation, where,
                    f"the upstream implementation requires `{key}`, but {missing} of the "
                    f"{len(entry.members)} sample instances of this object leave it out; "
                    f"it stays optional (S39)", ", ".join(sorted(entry.sources))))
        extra = [key for key in shown if key not in upstream]
        if extra:
            found.append(Discrepancy(
                operation, where,
                f"every sample shows {', '.join(f'`{key}`' for key in extra)}, which the "
                "upstream implementation does not require; optional (S39)",
                ", ".join(sorted(entry.sources))))
        shown = [key for key in shown if key in upstream]
    if not shown:
        return found
    model["required"] = list(dict.fromkeys([*model.get("required", []), *shown]))
    _cite(model)
    model["x-required-from"] = sorted(entry.sources)
    return found


def _cite(element: dict[str, Any]) -> None:
    statements = element.setdefault("x-statements", [])
    if STATEMENT not in statements:
        statements.append(STATEMENT)
