"""Check every example of a finished document against the schema it illustrates.

Runs after the overlays, so a limit added by an overlay is checked too. A failure is not an
error: the docs' samples are evidence, the parameter list is the contract, and the
disagreement becomes a `Discrepancy`. Members a sample has but the parameter list does not
mention are reported the same way (bodies stay open objects, so they would pass silently).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator

from contract.derive.discrepancies import Discrepancy
from contract.openapi import inline_refs, media_objects


def check_examples(document: dict[str, Any]) -> list[Discrepancy]:
    found = []
    for operation, part, media_type, media in media_objects(document):
        where = f"{part} ({media_type})"
        if media.get("schema") is None:
            continue
        schema = inline_refs(document, media["schema"])
        validator = Draft202012Validator(schema)
        for name, example in sorted((media.get("examples") or {}).items()):
            source = example.get("x-source", name)
            value = example.get("value")
            for error in sorted(validator.iter_errors(value), key=lambda e: list(e.path)):
                found.append(Discrepancy(operation, where, f"example `{name}` at "
                                         f"`{_pointer(error.absolute_path)}`: {error.message}",
                                         source))
            for pointer, member in _undescribed(schema, value, ""):
                found.append(Discrepancy(operation, where, f"example `{name}` has member "
                                         f"`{member}` at `{pointer or '/'}`, which the "
                                         "parameter list does not describe", source))
    return found


def _undescribed(schema: dict[str, Any], value: Any, pointer: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict) and "properties" in schema:
        properties = schema["properties"]
        for key, member in value.items():
            if key in properties:
                yield from _undescribed(properties[key], member, f"{pointer}/{key}")
            else:
                yield pointer, key
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from _undescribed(schema["items"], item, f"{pointer}/{index}")


def _pointer(path: Any) -> str:
    return "/" + "/".join(str(p) for p in path) if path else "/"
