"""`/docs`: Swagger UI for the variant being served, from the vendored `swagger-ui-bundle`
package, so it works offline."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import swagger_ui_bundle
import yaml

from contract.mock.messages import Incoming, Outgoing, error_response, json_response
from contract.variants import SPEC_DIR

PREFIX = "/docs"
_STATIC = Path(swagger_ui_bundle.swagger_ui_path)
_TYPES = {".js": "application/javascript", ".css": "text/css", ".png": "image/png"}
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({{url: "/docs/openapi.json", dom_id: "#ui"}});</script>
</body></html>
"""


def answer(request: Incoming, spec_file: str) -> Outgoing:
    if request.method != "GET":
        return error_response(405, f"{request.method} is not allowed on {request.path}",
                              headers=[("Allow", "GET")])
    rest = request.path[len(PREFIX):]
    if rest in ("", "/"):
        document = _document(spec_file)
        page = _PAGE.format(title=f"{document['info']['title']} {document['info']['version']}")
        return Outgoing(200, [("Content-Type", "text/html; charset=utf-8")], page.encode())
    if rest == "/openapi.json":
        return json_response(200, {**_document(spec_file), "servers": [
            {"url": request.base_url, "description": "this mock"}]})
    name = rest.removeprefix("/static/")
    target = _STATIC / name
    if "/" in name or name.startswith(".") or not target.is_file() \
            or target.suffix not in _TYPES:
        return error_response(404, f"no documentation file at {request.path}")
    return Outgoing(200, [("Content-Type", _TYPES[target.suffix]),
                          ("Cache-Control", "max-age=86400")], target.read_bytes())


@cache
def _document(spec_file: str) -> dict:
    return json.loads(json.dumps(yaml.safe_load((SPEC_DIR / spec_file).read_text("utf-8"))))
