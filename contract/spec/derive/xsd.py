"""XML Schema simple types as JSON Schema, and their literals as JSON values."""

from __future__ import annotations

from typing import Any

XSD_NS = "http://www.w3.org/2001/XMLSchema"

_SCHEMAS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "normalizedString": {"type": "string"},
    "token": {"type": "string"},
    "boolean": {"type": "boolean"},
    "integer": {"type": "integer"},
    "int": {"type": "integer", "format": "int32"},
    "long": {"type": "integer", "format": "int64"},
    "short": {"type": "integer"},
    "nonNegativeInteger": {"type": "integer", "minimum": 0},
    "positiveInteger": {"type": "integer", "minimum": 1},
    "unsignedInt": {"type": "integer", "minimum": 0},
    "decimal": {"type": "number"},
    "double": {"type": "number", "format": "double"},
    "float": {"type": "number", "format": "float"},
    "dateTime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "time": {"type": "string", "format": "time"},
    "anyURI": {"type": "string", "format": "uri"},
}


class UnknownXsdType(ValueError):
    pass


def schema_for(qualified: str | None, namespaces: dict[str | None, str] | None = None
               ) -> dict[str, Any]:
    """JSON Schema for a type written as `xsd:boolean` (any prefix bound to XML Schema)."""
    if qualified is None:
        return {"type": "string"}
    prefix, _, local = qualified.rpartition(":")
    if namespaces is not None and prefix and namespaces.get(prefix) not in {XSD_NS, None}:
        raise UnknownXsdType(f"type {qualified!r} is not an XML Schema type")
    if local not in _SCHEMAS:
        known = ", ".join(sorted(_SCHEMAS))
        raise UnknownXsdType(f"unsupported XML Schema type {qualified!r} (supported: {known})")
    return dict(_SCHEMAS[local])


def literal(value: str, schema: dict[str, Any]) -> Any:
    """Convert an XML literal to the JSON value its schema type implies; ValueError if it
    is not a valid literal of that type (xsd:boolean accepts true/false/1/0)."""
    text = value.strip()
    kind = schema.get("type")
    if kind == "boolean":
        lowered = text.lower()
        if lowered in {"true", "1"}:
            return True
        if lowered in {"false", "0"}:
            return False
        raise ValueError(f"{value!r} is not a boolean")
    if kind == "integer":
        return int(text)
    if kind == "number":
        return float(text)
    return value
