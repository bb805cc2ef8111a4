"""`/docs`: Swagger UI for the variant being served, from the static files the
`swagger-ui-py` package ships (Swagger UI 5, which reads OpenAPI 3.1), so it works offline.
Only the files are used: the package's own web-framework glue is never imported."""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path
from typing import Any

from contract.checks.messages import Incoming, Outgoing, error_response, json_response
from contract.spec.variants import load_document

PREFIX = "/docs"
ROOT = "/"  # not the API (that is /v1.0/...): a person's first visit, sent on to /docs


def points_to_docs(request: Incoming) -> Outgoing:
    """`GET /`: a redirect to Swagger UI, with a line saying where the API and the docs are
    for a client that does not follow it (curl without -L)."""
    text = (f"cdn-contract mock: the API is at {request.base_url}/v1.0/, its documentation "
            f"(Swagger UI) at {request.base_url}{PREFIX}\n")
    return Outgoing(302, [("Location", PREFIX), ("Content-Type", "text/plain; charset=utf-8")],
                    text.encode())


def _static_dir() -> Path:
    found = importlib.util.find_spec("swagger_ui")
    if found is None or not found.submodule_search_locations:
        raise ModuleNotFoundError("swagger-ui-py is not installed: pip install swagger-ui-py")
    return Path(next(iter(found.submodule_search_locations))) / "static"


_STATIC = _static_dir()
_TYPES = {".js": "application/javascript", ".css": "text/css", ".png": "image/png"}
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({{url: "/docs/openapi.json", dom_id: "#ui"}});</script>
</body></html>
"""


def answer(request: Incoming, variant: str) -> Outgoing:
    if request.method != "GET":
        return error_response(405, f"{request.method} is not allowed on {request.path}",
                              headers=[("Allow", "GET")])
    rest = request.path[len(PREFIX):]
    if rest in ("", "/"):
        document = _document(variant)
        page = _PAGE.format(title=f"{document['info']['title']} {document['info']['version']}")
        return Outgoing(200, [("Content-Type", "text/html; charset=utf-8")], page.encode())
    if rest == "/openapi.json":
        return json_response(200, {**_document(variant), "servers": [
            {"url": request.base_url, "description": "this mock"}]})
    name = rest.removeprefix("/static/")
    target = _STATIC / name
    if "/" in name or name.startswith(".") or not target.is_file() \
            or target.suffix not in _TYPES:
        return error_response(404, f"no documentation file at {request.path}")
    return Outgoing(200, [("Content-Type", _TYPES[target.suffix]),
                          ("Cache-Control", "max-age=86400")], target.read_bytes())


@cache
def _document(variant: str) -> dict[str, Any]:
    """The variant's spec as JSON data (YAML may hold values JSON cannot, e.g. dates)."""
    document: dict[str, Any] = json.loads(json.dumps(load_document(variant), default=str))
    return document
