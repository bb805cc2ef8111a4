"""Check every example of a finished document against the schema it illustrates.

Runs after the overlays, so a limit added by an overlay is checked too. A failure is not an
error: the docs' samples are evidence, the parameter list is the contract, and the
disagreement becomes a `Discrepancy`. Members a sample has but the parameter list does not
mention are reported the same way (bodies stay open objects, so they would pass silently).
The parameters get their examples here too, for the same reason: only the finished schema
says which of the values the docs' requests show is a valid one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator

from contract.openapi import inline_refs, media_objects, operations
from contract.spec.derive.discrepancies import Discrepancy
from contract.spec.derive.xsd import literal

_FORMATS = Draft202012Validator.FORMAT_CHECKER


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


def parameter_examples(document: dict[str, Any],
                       shown: dict[str, dict[str, tuple[str, str]]]) -> list[Discrepancy]:
    """Give every parameter an example from the docs' raw requests (in place): the value its
    own operation's example shows, else what another operation's example shows for the same
    name (tools such as Dredd need one for each required parameter). A value that breaks the
    finished schema is left out, and noted when it was the operation's own."""
    found = []
    everywhere: dict[str, list[tuple[str, str]]] = {}
    for values in shown.values():
        for name, value in values.items():
            everywhere.setdefault(name, []).append(value)
    for _, _, operation in operations(document):
        own = shown.get(operation["operationId"], {})
        for parameter in operation.get("parameters", []):
            name = parameter["name"]
            if "example" not in parameter and parameter.get("examples"):  # an overlay's
                parameter["example"] = next(iter(parameter["examples"].values()))["value"]
            schema = inline_refs(document, parameter.get("schema", {}))
            candidates = ([own[name]] if name in own else []) + everywhere.get(name, [])
            for index, (text, source) in enumerate(candidates):
                value, problem = _typed(text, schema)
                if problem is None:
                    parameter["examples"] = {"docs": {"value": value, "x-source": source}}
                    parameter["example"] = value  # what Dredd (and other tools) read
                    break
                if index == 0 and name in own:
                    found.append(Discrepancy(operation["operationId"], f"parameter {name}",
                                             f"the example shows `{text}`, not a valid "
                                             f"value ({problem}); left out of the spec",
                                             source))
    return found


def _typed(text: str, schema: dict[str, Any]) -> tuple[Any, str | None]:
    """`text` as a value of `schema`'s type, and why it is not valid (None when it is)."""
    try:
        value = literal(text, schema)
    except ValueError as error:
        return None, str(error)
    errors = list(Draft202012Validator(schema, format_checker=_FORMATS).iter_errors(value))
    return value, (errors[0].message if errors else None)


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
