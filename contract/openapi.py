"""Walking OpenAPI documents: the few traversals every stage needs, written once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


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


def template_regex(template: str, exact: bool = False) -> re.Pattern[str]:
    """A path template (`/v1.0/{project_id}/ping`) as a regex for concrete paths, each
    parameter a named group. A trailing slash is tolerated unless `exact` (how servers
    route: `/services/` is not `/services`)."""
    parts = re.split(r"\{([^}]+)\}", template if exact else template.rstrip("/"))
    pattern = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)"
                      for i, part in enumerate(parts))
    return re.compile(f"^{pattern}$" if exact else f"^{pattern}/?$")
