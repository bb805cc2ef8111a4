"""WADL model → OpenAPI 3.1 document (a plain dict, in a stable order).

What comes from where:
- paths, operations, parameters, statuses, descriptions: the WADL;
- body schemas: the plain params (see `bodies`), typed by the docs' JSON samples;
- response headers (`Location` of the 202s): the raw HTTP samples, which are the only place
  the docs show them;
- `X-Auth-Token` security, the error body and 401 on every operation: the general API pages
  (common headers, response codes), which apply to every operation of both variants.
Traceability (`x-statements`) is not added here; the overlays in `spec/overlays/` add it.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from contract.errors import InputError
from contract.http.raw import RawHttpError, RawMessage, parse_message
from contract.openapi import template_regex
from contract.spec.derive import bodies, xsd
from contract.spec.derive.discrepancies import Discrepancy
from contract.spec.wadl.model import Application, Method, Param, Representation, Resource, Sample

OPENAPI_VERSION = "3.1.0"
SECURITY_SCHEME = "AuthToken"
ERROR_REF = "#/components/schemas/Error"
_HEADERS_NOT_DOCUMENTED = {"content-type", "content-length", "host", "date", "accept",
                           "x-auth-token"}
_GENERAL_PAGES = "rackspace-cdn/docs-2016-08/general-api-info"

# The documented error body (response-codes page); see S16.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Error responses carry a JSON body listing the error messages.",
    "required": ["message"],
    "properties": {
        "message": {
            "type": "object",
            "required": ["errors"],
            "properties": {
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["message"],
                        "properties": {"message": {"type": "string"}},
                    },
                },
            },
        },
    },
    "example": {"message": {"errors": [{"message": "['domains']-[] is too short"}]}},
    "x-source": f"{_GENERAL_PAGES}/response-codes.rst",
}


@dataclass
class BuildResult:
    document: dict[str, Any]
    discrepancies: list[Discrepancy] = field(default_factory=list)
    # operationId → parameter → (value, source): what the raw request examples show, for
    # the parameters' examples once the overlays have said what is valid
    shown: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)


def build_openapi(app: Application, *, title: str, version: str,
                  label: Callable[[Path], str]) -> BuildResult:
    """Build the OpenAPI document of one WADL. `label(path)` names a reference file the way
    `x-source` and discrepancy entries cite it."""
    return _Builder(app, label).build(title, version)


class _Builder:
    def __init__(self, app: Application, label: Callable[[Path], str]):
        self.app = app
        self.label = label
        self.wadl_label = label(app.source)
        self.found: list[Discrepancy] = []
        self.shown: dict[str, dict[str, tuple[str, str]]] = {}
        self._json_cache: dict[Path, Any] = {}
        self.wide = bodies.Evidence.of(
            (value for _, method in app.operations() for rep in _representations(method)
             for _, value in self._json_samples(rep, method.id)), suffixes=True)

    def cite(self, line: int) -> str:
        return f"{self.wadl_label}:{line}"

    def note(self, operation: str, where: str, message: str, source: str) -> None:
        self.found.append(Discrepancy(operation, where, message, source))

    def build(self, title: str, version: str) -> BuildResult:
        paths: dict[str, dict[str, Any]] = {}
        for resource, method in self.app.operations():
            item = paths.setdefault(resource.path, {})
            verb = method.name.lower()
            if verb in item:
                raise InputError(f"two {method.name} methods on {resource.path} "
                                 f"({item[verb]['operationId']} and {method.id})",
                                 self.app.source, method.line)
            item[verb] = self.operation(resource, method)
        document: dict[str, Any] = {
            "openapi": OPENAPI_VERSION,
            "info": {"title": title, "version": version},
            "servers": [{"url": self.app.base.rstrip("/") or "/"}],
            "security": [{SECURITY_SCHEME: []}],
            "tags": [{"name": name} for name in dict.fromkeys(
                tag for item in paths.values() for op in item.values() for tag in op["tags"])],
            "paths": paths,
            "components": {
                "securitySchemes": {SECURITY_SCHEME: {
                    "type": "apiKey", "in": "header", "name": "X-Auth-Token",
                    "description": "Authentication token. Required on every request.",
                    "x-source": f"{_GENERAL_PAGES}/common-headers.rst",
                }},
                "schemas": {"Error": copy.deepcopy(ERROR_SCHEMA)},
                "responses": {"Unauthorized": {
                    "description": "Authentication failed: the `X-Auth-Token` header is "
                                   "missing or not valid.",
                    "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
                    "x-source": f"{_GENERAL_PAGES}/response-codes.rst",
                }},
            },
        }
        return BuildResult(document, self.found, self.shown)

    # -- operations ------------------------------------------------------------------------

    def operation(self, resource: Resource, method: Method) -> dict[str, Any]:
        op: dict[str, Any] = {"operationId": method.id, "tags": [resource_tag(resource.path)]}
        if method.title:
            op["summary"] = method.title
        if method.doc:
            op["description"] = method.doc
        op["x-source"] = self.cite(method.line)
        own = [p for p in resource.params if p.style != "template"] + list(method.request_params)
        templates = [p for p in resource.params if p.style == "template"]
        declared = {p.name for p in templates}
        for name in re.findall(r"{([^}]+)}", resource.path):
            if name not in declared:
                raise InputError(f"path {resource.path} uses {{{name}}} but no template param "
                                 f"declares it", self.app.source, resource.line)
        parameters = [self.parameter(p, method.id) for p in templates]
        parameters += [self.parameter(p, method.id) for p in own if p.style != "plain"]
        if parameters:
            op["parameters"] = parameters
        body = self.request_body(method, [p for p in own if p.style == "plain"])
        if body:
            op["requestBody"] = body
        op["responses"] = self.responses(method)
        op["security"] = [{SECURITY_SCHEME: []}]
        self.shown[method.id] = self.request_samples(resource, method)
        return op

    def parameter(self, param: Param, operation: str) -> dict[str, Any]:
        location = {"template": "path", "query": "query", "header": "header",
                    "matrix": "path"}[param.style]
        try:
            schema = xsd.schema_for(param.type)
        except xsd.UnknownXsdType as error:
            raise InputError(f"param {param.name!r}: {error}", self.app.source,
                             param.line) from None
        if param.options:
            schema["enum"] = [xsd.literal(option, schema) for option in param.options]
        bodies.stated_constraints(schema, param)
        if param.fixed is not None:
            schema["const"] = xsd.literal(param.fixed, schema)
        if param.repeating:
            schema = {"type": "array", "items": schema}
        out: dict[str, Any] = {"name": param.name, "in": location,
                               "required": location == "path" or param.required}
        if param.doc:
            out["description"] = param.doc
        out["schema"] = schema
        out["x-source"] = self.cite(param.line)
        return out

    # -- bodies ----------------------------------------------------------------------------

    def request_body(self, method: Method, method_plain: list[Param]) -> dict[str, Any] | None:
        content: dict[str, Any] = {}
        also: dict[str, dict[str, Any]] = {}
        required = False
        for rep in method.request_representations:
            params = method_plain + [p for p in rep.params if p.style == "plain"]
            if not params:
                continue
            media_type, declared = self.request_media_type(rep, method.id)
            content[media_type] = self.media(rep, params, method.id, request=True)
            if declared:  # the WADL's type, with the schema (the samples show the other)
                also.setdefault(declared, {"schema": copy.deepcopy(
                    content[media_type]["schema"])})
            required = required or any(p.required for p in params)
        if not content:
            return None
        for media_type, media in also.items():
            content.setdefault(media_type, media)
        return {"required": required, "content": content}

    def request_media_type(self, rep: Representation, operation: str
                           ) -> tuple[str, str | None]:
        """The media type a body is declared with: the one its raw sample sends (the docs'
        example of the exchange), else the WADL's. The WADL's, when the sample sends another,
        is declared second, with the same schema: real clients send it (every SDK sends its
        PATCH as application/json), and a validator reading the spec alone (openapi-core,
        Prism's proxy) must take it. A code generator that cannot give one body two media
        types (the pinned openapi-python-client) is given one in the ecosystem test."""
        declared = rep.media_type or "application/json"
        for sample in rep.samples:
            message = self._raw(sample, operation)
            sent = message.header("Content-Type") if message else None
            if sent and sent.split(";")[0].strip().lower() != declared.lower():
                self.note(operation, "request body",
                          f"the WADL declares {declared}, its raw sample sends {sent}: the "
                          f"body is declared as the sample sends it first, and as "
                          f"{declared} (what real clients send) with the same schema",
                          self.sample_source(sample))
                return sent.split(";")[0].strip(), declared
        return declared, None

    def media(self, rep: Representation, params: list[Param], operation: str,
              request: bool = False) -> dict[str, Any]:
        samples = self._json_samples(rep, operation)
        if params:
            wrapper = bodies.list_wrapper(params, [v for _, v in samples])
            items = [item for _, v in samples for item in v[wrapper]] if wrapper else \
                [v for _, v in samples]
            schema = bodies.body_schema(
                params, bodies.Evidence.of(items), self.wide, self.cite,
                lambda message, line: self.note(operation, "request body", message,
                                                self.cite(line)), request)
            if wrapper:
                schema = bodies.wrapped(schema, wrapper, samples[0][1],
                                        self.sample_source(samples[0][0]))
                self.note(operation, "response body", f"the parameter table lists the "
                          f"members of one item at the top level; the sample wraps the items "
                          f"in `{wrapper}`, as the upstream implementation and the SDKs do, "
                          "and so does the contract (S33)",
                          self.sample_source(samples[0][0]))
        elif samples:
            schema = bodies.one_type({bodies.json_kind(v) for _, v in samples})
        else:
            schema = {}
        media: dict[str, Any] = {"schema": schema}
        if samples:
            media["examples"] = {s.path.stem: {"value": v, "x-source": self.label(s.path)}
                                 for s, v in samples}
        return media

    # -- responses -------------------------------------------------------------------------

    def responses(self, method: Method) -> dict[str, Any]:
        grouped: dict[int, list[str]] = {}
        reps: dict[int, list[Representation]] = {}
        params: dict[int, list[Param]] = {}
        for response in method.responses:
            text = response.doc or response.title
            for status in response.statuses:
                if text and text not in grouped.setdefault(status, []):
                    grouped[status].append(text)
                grouped.setdefault(status, [])
                reps.setdefault(status, []).extend(response.representations)
                params.setdefault(status, []).extend(response.params)
        out: dict[str, Any] = {}
        for status in sorted(grouped):
            texts = grouped[status]
            description = (texts[0] if len(texts) == 1
                           else "\n".join(f"- {t}" for t in texts)) if texts \
                else _reason(status)
            out[str(status)] = self.response(method, status, description, reps[status],
                                             params[status])
        if "401" not in out:
            out["401"] = {"$ref": "#/components/responses/Unauthorized"}
        return dict(sorted(out.items()))

    def response(self, method: Method, status: int, description: str,
                 reps: list[Representation], params: list[Param]) -> dict[str, Any]:
        out: dict[str, Any] = {"description": description}
        headers: dict[str, Any] = {}
        content: dict[str, Any] = {}
        for rep in reps:
            for sample in rep.samples:
                if sample.is_raw_http:
                    headers.update(self.raw_response_headers(sample, status, method.id))
            plain = [p for p in params + list(rep.params) if p.style == "plain"]
            has_json = any(not s.is_raw_http for s in rep.samples)
            if plain or has_json:
                content[rep.media_type or "application/json"] = self.media(rep, plain, method.id)
        if status >= 400 and not content:
            content["application/json"] = {"schema": {"$ref": ERROR_REF}}
        if headers:
            out["headers"] = headers
        if content:
            out["content"] = content
        return out

    def raw_response_headers(self, sample: Sample, status: int,
                             operation: str) -> dict[str, Any]:
        message = self._raw(sample, operation)
        if message is None:
            return {}
        if message.kind != "response":
            self.note(operation, f"response {status}", "the raw sample is a request, not a "
                      "response", self.sample_source(sample))
            return {}
        if message.status != status:
            self.note(operation, f"response {status}", f"the raw sample shows status "
                      f"{message.status}", self.sample_source(sample))
        headers = {}
        for name, value in message.headers:
            if name.lower() in _HEADERS_NOT_DOCUMENTED:
                continue
            headers[name] = {"description": f"Shown in the docs' example: `{name}: {value}`.",
                             "required": True, "schema": {"type": "string"}, "example": value,
                             "x-source": self.sample_source(sample)}
        return headers

    # -- samples ---------------------------------------------------------------------------

    def request_samples(self, resource: Resource, method: Method) -> dict[str, tuple[str, str]]:
        """What the raw request examples show that the parameter list does not say (noted),
        and the values they give the parameters: name → (value, source), the path's
        segments (`110011`, the service id) and the query (`url=/images/logo.png`)."""
        template = template_regex(resource.path)
        names = {p.name for p in [*resource.params, *method.request_params]
                 if p.style == "query"}
        values: dict[str, tuple[str, str]] = {}
        for rep in method.request_representations:
            for sample in rep.samples:
                message = self._raw(sample, method.id) if sample.is_raw_http else None
                if message is None or message.kind != "request":
                    continue
                where, source = "request example", self.sample_source(sample)
                if message.method != method.name:
                    self.note(method.id, where, f"the example uses {message.method}, the WADL "
                              f"{method.name}", source)
                parts = urlsplit((message.target or "").split("{", 1)[0])
                match = template.match(parts.path)
                if not match and not _header_form_matches(
                        template, parts.path, message.header("X-Project-Id")):
                    self.note(method.id, where, f"the example path {parts.path} does not "
                              f"match {resource.path}", source)
                query = parse_qsl(parts.query, keep_blank_values=True)
                for key, _ in query:
                    if key not in names:
                        self.note(method.id, where, f"query `{key}` is not a documented "
                                  "parameter", source)
                for name, value in [*(match.groupdict().items() if match else ()), *query]:
                    values.setdefault(name, (unquote(value), source))
        return values

    def sample_source(self, sample: Sample) -> str:
        return self.label(sample.path)

    def _raw(self, sample: Sample, operation: str) -> RawMessage | None:
        if not sample.is_raw_http:
            return None
        try:
            message = parse_message(sample.path.read_text(encoding="utf-8"))
        except RawHttpError as error:
            self.note(operation, "raw example", f"not an HTTP message: {error}",
                      f"{self.sample_source(sample)}:{error.line}")
            return None
        for quirk in message.quirks:
            self.note(operation, "raw example", quirk, self.sample_source(sample))
        return message

    def _json_samples(self, rep: Representation, operation: str) -> list[tuple[Sample, Any]]:
        """The representation's JSON samples that parse, with their values."""
        return [(s, v) for s in rep.samples if not s.is_raw_http
                for v in [self._json(s, operation)] if v is not _NOT_JSON]

    def _json(self, sample: Sample, operation: str) -> Any:
        if sample.path in self._json_cache:
            return self._json_cache[sample.path]
        try:
            value = json.loads(sample.path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            line = getattr(error, "lineno", None)
            self.note(operation, "JSON example", f"not JSON, left out of the spec: {error}",
                      self.sample_source(sample) + (f":{line}" if line else ""))
            value = _NOT_JSON
        self._json_cache[sample.path] = value
        return value


_NOT_JSON = object()


def _header_form_matches(template: re.Pattern[str], path: str, project: str | None) -> bool:
    """`/v1.0/services/...` with an `X-Project-Id` header: the docs' other URI form."""
    head, _, rest = path.lstrip("/").partition("/")
    return bool(project) and bool(template.match(f"/{head}/{project}/{rest}"))


def resource_tag(path: str) -> str:
    """An operation's group: the resource it acts on, named by the last fixed segment of its
    path after the project (`/services/{service_id}` → services, `/assets` → assets); the
    project's own document is `home`."""
    segments = path.strip("/").split("/")
    after = next((i for i, segment in enumerate(segments) if segment.startswith("{")),
                 len(segments))
    fixed = [segment for segment in segments[after + 1:]
             if segment and not segment.startswith("{")]
    return fixed[-1] if fixed else "home"


def _representations(method: Method) -> list[Representation]:
    return [*method.request_representations,
            *(rep for response in method.responses for rep in response.representations)]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"Status {status}"
