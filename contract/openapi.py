"""Walking OpenAPI documents: the few traversals every stage needs, written once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

from contract.jsonpointer import unescape

# libyaml's parser when PyYAML was built with it (every wheel on PyPI is): the derived spec
# is some 300 KB, which the pure-Python parser takes a second over, and every command and
# every worker process of a conformance run reads it.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# A request body's media types accepted beside the one it declares, with the same schema
# (the WADL's application/json where the docs' samples send application/json-patch+json).
ALSO_ACCEPTED = "x-also-accepted"


def parse_yaml(text: str) -> Any:
    """A YAML (or JSON) document's data, read as `yaml.safe_load` reads it; raises
    yaml.YAMLError, with its mark, on text that is not YAML."""
    return yaml.load(text, Loader=_LOADER)


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path template, method, operation) for every operation, in document order."""
    for template, item in (document.get("paths") or {}).items():
        for method in METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                yield template, method, operation


def media_objects(document: dict[str, Any]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(operationId, "request body" | "response 200", media type, media object)."""
    for _, method, operation in operations(document):
        name = operation.get("operationId", method)
        body = operation.get("requestBody") or {}
        for media_type, media in (body.get("content") or {}).items():
            yield name, "request body", media_type, media
        for status, response in (operation.get("responses") or {}).items():
            for media_type, media in (response.get("content") or {}).items():
                yield name, f"response {status}", media_type, media


def accepted_media(body: dict[str, Any]) -> dict[str, Any]:
    """A request body's media objects by media type: those it declares (`content`), then
    each it accepts too (`x-also-accepted`), with the first declared one's schema."""
    content = dict(body.get("content") or {})
    if content:
        first = next(iter(content.values()))
        for media_type in body.get(ALSO_ACCEPTED) or ():
            content.setdefault(str(media_type), first)
    return content


def resolve(document: dict[str, Any], node: Any, hops: int = 20) -> Any:
    """`node` with its local `$ref`s followed (a bounded number of hops, for cyclic
    documents); a reference that leads nowhere gives {}."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and hops > 0:
        reference = node["$ref"]
        if not reference.startswith("#/"):
            return node
        target: Any = document
        for part in reference[2:].split("/"):
            target = target.get(unescape(part), {}) if isinstance(target, dict) else {}
        node, hops = target, hops - 1
    return node


def alternative_headers(document: dict[str, Any]) -> dict[str, str]:
    """Path parameters that a header may carry instead (`x-alternative-header`, S8):
    parameter name → header name."""
    found: dict[str, str] = {}
    for _, _, operation in operations(document):
        for param in operation.get("parameters", []):
            if param.get("x-alternative-header"):
                found[param["name"]] = param["x-alternative-header"]
    return found


def template_regex(template: str, exact: bool = False) -> re.Pattern[str]:
    """A path template (`/v1.0/{project_id}/ping`) as a regex for concrete paths, each
    parameter a named group. A trailing slash is tolerated unless `exact` (how servers
    route: `/services/` is not `/services`)."""
    parts = re.split(r"\{([^}]+)\}", template if exact else template.rstrip("/"))
    pattern = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)"
                      for i, part in enumerate(parts))
    return re.compile(f"^{pattern}$" if exact else f"^{pattern}/?$")


def inline_refs(document: dict[str, Any], node: Any, depth: int = 0) -> Any:
    """`node` with every local `$ref` replaced by what it points to, at any depth (for code
    generators that compile a schema to plain statements). Cycles stop at 32 levels."""
    if depth > 32:
        raise ValueError("a $ref cycle, or a schema nested more than 32 levels deep")
    node = resolve(document, node)
    if isinstance(node, dict):
        return {key: inline_refs(document, value, depth + 1) for key, value in node.items()}
    if isinstance(node, list):
        return [inline_refs(document, value, depth + 1) for value in node]
    return node
