"""The reference engine: requests and responses validated by openapi-core (the oracle the
compiled validator is tested against; `--engine openapi-core`).

openapi-core does the validation; this module locates each error (query, header, body
pointer), names the statement behind the spec element (`x-statements`), phrases it for a
person, and adds the checks openapi-core does not make: a body where the contract says
there is none (S4), the `X-Project-Id` form of the URI (S8), which it cannot route, and the
rules between the purge's parameters (`contract.checks.purge_rules`: S21-S23, S25).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from openapi_core import Config, OpenAPI
from openapi_core.casting.schemas import oas31_casters_dict
from openapi_core.casting.schemas.casters import (
    AnyCaster,
    BooleanCaster,
    PrimitiveCaster,
    TypesCaster,
)
from openapi_core.casting.schemas.factories import SchemaCastersFactory
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.validation.request import exceptions as request_errors
from openapi_core.validation.response import exceptions as response_errors
from openapi_core.validation.schemas import oas31_schema_validators_factory
from werkzeug.datastructures import Headers, ImmutableMultiDict

from contract.checks.purge_rules import purge_problems
from contract.model import read_contract
from contract.openapi import (
    ALSO_ACCEPTED,
    accepted_media,
    media_objects,
    operations,
    resolve,
    template_regex,
)
from contract.spec.variants import load_document
from contract.validation.messages import HeaderList, HttpRequest, HttpResponse, first
from contract.validation.report_types import (
    RequestReport,
    Violation,
    graded,
    undocumented_status,
)


@dataclass(frozen=True)
class _Operation:
    id: str
    method: str
    regex: re.Pattern[str]
    spec: dict[str, Any]


class ContractValidator:
    """The contract of one variant, ready to validate exchanges. Build once, reuse."""

    def __init__(self, variant: str, document: dict[str, Any] | None = None):
        self.variant = variant
        self.document = copy.deepcopy(document) if document is not None \
            else load_document(variant)
        # Validate paths only: the servers of the docs are not where a tested server lives.
        self.document["servers"] = [{"url": "/"}]
        # openapi-core reads `content` only: the media types a body accepts too join it.
        for _, _, operation in operations(self.document):
            if ALSO_ACCEPTED in (operation.get("requestBody") or {}):
                operation["requestBody"]["content"] = accepted_media(operation["requestBody"])
        # Structured-syntax JSON types (application/json-patch+json) are JSON too.
        json_types: dict[str, Callable[[bytes], Any]] = {
            media: _json for *_, media, _ in media_objects(self.document)
            if media.endswith("+json")}
        self.openapi = OpenAPI.from_dict(self.document, config=Config(
            extra_media_type_deserializers=json_types,
            schema_casters_factory=_STRICT_CASTERS))
        self._operations = [_Operation(op.get("operationId", ""), method,
                                       template_regex(template, exact=True), op)
                            for template, method, op in operations(self.document)]
        scheme = self.document["components"]["securitySchemes"]
        self._auth = next(iter(scheme.values()))
        self._token = self._auth["name"]
        self._header_forms = _header_forms(self.document)
        contract = read_contract(self.document)
        self._purge, self._levels = contract.purge, contract.levels

    # -- requests ----------------------------------------------------------------------------

    def validate_request(self, request: HttpRequest) -> RequestReport:
        """The request's report, each violation with its statements' level."""
        report = self._request(request)
        report.violations = graded(report.violations, self._levels)
        return report

    def _request(self, request: HttpRequest) -> RequestReport:
        path, operation, notes = self._route(request)
        report = RequestReport(operation.id if operation else None, notes)
        try:
            result = self.openapi.unmarshal_request(OpenAPIRequest(request, path))
        except RecursionError:  # openapi-core parses the body recursively
            report.violations.append(Violation("request.body", "not valid JSON: nested too "
                                               "deeply to parse"))
            return report
        for error in result.errors:
            if notes and isinstance(error, PathNotFound):
                continue  # already explained: the project id is missing
            report.violations.extend(self._request_violations(error, operation, request))
        token = request.header(self._token)
        if operation is not None and token is not None and not token.strip():
            report.violations.append(Violation(f"request.header.{self._token}",
                                               f"the {self._token} header is empty",
                                               _cited(self._auth)))
        if operation is not None and "requestBody" not in operation.spec and request.body:
            report.violations.append(Violation(
                "request.body", f"{operation.id} takes no request body, got "
                f"{len(request.body)} bytes", _cited(operation.spec)))
        if operation is not None and operation.id == self._purge.operation and not any(
                isinstance(e, (request_errors.ParameterValidationError,
                               request_errors.SecurityValidationError)) for e in result.errors):
            report.violations += [
                Violation(f"request.query.{p.name}", f"query parameter `{p.name}`: "
                          f"{p.message}", p.statements)
                for p in purge_problems(self._purge, result.parameters.query)]
        sent = {name for name, _ in request.query}
        report.defaults = {name: value for name, value in result.parameters.query.items()
                           if name not in sent}
        return report

    def _route(self, request: HttpRequest) -> tuple[str, _Operation | None, list[Violation]]:
        """The path openapi-core can route, its operation, and why there is none. A path
        parameter the spec marks with `x-alternative-header` (project_id: `X-Project-Id`, S8)
        may be left out of the URI and sent in that header; its value is put back in place.
        When the header is sent, that shorter form is tried first: `/v1.0/services` with the
        header lists services, it is not the home document of a project named `services`."""
        path = request.path
        shortened = [(prefix, param) for regex, prefix, param in self._header_forms
                     if regex.match(path)]
        for prefix, param in shortened:
            value = request.header(param["x-alternative-header"])
            if value:
                full = f"{prefix}/{value}{path[len(prefix):]}"
                operation = self._operation(request.method, full)
                if operation is not None:
                    return full, operation, []
        operation = self._operation(request.method, path)
        if operation is not None or not shortened:
            return path, operation, []
        prefix, param = shortened[0]
        if request.header(param["x-alternative-header"]):
            return path, None, []
        return path, None, [Violation(
            "request.path", f"{path} has no {param['name']}: put it in the URI or send the "
            f"{param['x-alternative-header']} header", _cited(param))]

    def _request_violations(self, error: Exception, operation: _Operation | None,
                            request: HttpRequest) -> list[Violation]:
        if isinstance(error, (PathNotFound, OperationNotFound)):
            if isinstance(error, OperationNotFound):
                return [Violation("request.method", f"{request.method.upper()} is not an "
                                  f"operation of {request.path}")]
            return [Violation("request.path", f"no operation of the contract matches "
                              f"{request.method.upper()} {request.path}")]
        if isinstance(error, request_errors.SecurityValidationError):
            name = self._token
            state = "missing" if request.header(name) is None else "not accepted"
            return [Violation(f"request.header.{name}", f"the {name} header is {state}; every "
                              "operation requires it", _cited(self._auth))]
        if isinstance(error, request_errors.ParameterValidationError):
            param = _find_param(operation, error.name, error.location)
            where = f"request.{error.location}.{error.name}"
            if isinstance(error, request_errors.MissingParameterError):
                return [Violation(where, f"required {error.location} parameter `{error.name}` "
                                  "is missing", _cited(param))]
            return [Violation(where, f"{error.location} parameter `{error.name}`: "
                              f"{_cause_text(error)}", _cited(param, param.get("schema", {})))]
        if isinstance(error, request_errors.RequestBodyValidationError):
            return self._schema_violations("request.body", error) or [
                Violation("request.body", _cause_text(error))]
        return [Violation("request", str(error))]

    # -- responses ---------------------------------------------------------------------------

    def validate_response(self, request: HttpRequest, response: HttpResponse,
                          operation: str | None = None) -> list[Violation]:
        """The response's violations, each with its statements' level (`operation` is
        accepted for the compiled validator's interface; openapi-core routes the request
        itself)."""
        return graded(self._response(request, response), self._levels)

    def _response(self, request: HttpRequest, response: HttpResponse) -> list[Violation]:
        path, routed, _ = self._route(request)
        if routed is None:
            return []  # the request's own report says why; a response cannot be placed
        result = self.openapi.unmarshal_response(OpenAPIRequest(request, path),
                                                 OpenAPIResponse(response))
        documented = routed.spec.get("responses", {})
        spec = _response_spec(documented, response.status, self.document)
        violations = []
        for error in result.errors:
            violations.extend(self._response_violations(error, routed, spec, response))
        if spec is not None and "content" not in spec and response.body.strip():
            violations.append(Violation("response.body", f"{response.status} is documented "
                                        f"without a body, got {len(response.body)} bytes",
                                        _cited(spec) or _cited(routed.spec)))
        return violations

    def _response_violations(self, error: Exception, operation: _Operation,
                             spec: dict[str, Any] | None,
                             response: HttpResponse) -> list[Violation]:
        if isinstance(error, ResponseNotFound):
            documented = operation.spec.get("responses", {})
            success = [s for s in documented if s.startswith("2")]
            statements = tuple(dict.fromkeys(sid for s in success
                                             for sid in _cited(documented[s])))
            return [undocumented_status(operation.id, response.status, documented,
                                        statements)]
        if isinstance(error, response_errors.HeaderValidationError):
            header = ((spec or {}).get("headers") or {}).get(error.name, {})
            where = f"response.header.{error.name}"
            if isinstance(error, response_errors.MissingHeaderError):
                return [Violation(where, f"required header {error.name} is missing from the "
                                  f"{response.status} response", _cited(header))]
            return [Violation(where, f"header {error.name}: {_cause_text(error)}",
                              _cited(header, header.get("schema", {})))]
        if isinstance(error, response_errors.DataValidationError):
            statements = _cited(spec or {})
            media = _media_for(spec or {}, response)
            found = self._schema_violations("response.body", error, media.get("schema", {}),
                                            statements)
            return found or [Violation("response.body", _cause_text(error), statements)]
        return [Violation("response", str(error))]

    def _schema_violations(self, prefix: str, error: Exception, schema: Any = None,
                           fallback: tuple[str, ...] = ()) -> list[Violation]:
        """A violation per schema error. In a response's body (`schema`), each cites the
        statements of the innermost schema around the failed keyword that cites any, else
        `fallback` (the response's), as the compiled checks do; a request body's cite
        none (see `contract.codegen.schema_code.check_statements`)."""
        found = []
        for schema_error in getattr(error.__cause__, "schema_errors", None) or ():
            pointer = "/" + "/".join(str(p) for p in schema_error.absolute_path)
            statements = (self._innermost(schema, schema_error.absolute_schema_path)
                          if schema is not None else ()) or fallback
            found.append(Violation(prefix + (pointer if pointer != "/" else ""),
                                   schema_error.message, statements))
        return found

    def _innermost(self, schema: Any, path: Iterable[str | int]) -> tuple[str, ...]:
        """The statements of the innermost schema on `path` (a schema error's keyword path,
        which goes through `$ref`s) that cites any."""
        node: Any = resolve(self.document, schema)
        cited: tuple[str, ...] = ()
        for step in [None, *path]:  # None: the body's schema itself
            if step is not None:
                node = resolve(self.document, _child(node, step))
            if isinstance(node, dict) and node.get("x-statements"):
                cited = _cited(node)
        return cited

    # -- lookup ------------------------------------------------------------------------------

    def _operation(self, method: str, path: str) -> _Operation | None:
        verb = method.lower()
        return next((op for op in self._operations
                     if op.method == verb and op.regex.match(path)), None)


class _JsonBooleanCaster(BooleanCaster):
    """A boolean in a query or header is `true` or `false` (any case), as JSON spells it.
    openapi-core also takes yes/no/on/off/1/0; the contract calls those not a boolean (S17)."""

    def validate(self, value: Any) -> None:
        if not isinstance(value, bool) and value.lower() not in ("true", "false"):
            raise ValueError("not a boolean format")


_STRICT_CASTERS = SchemaCastersFactory(
    oas31_schema_validators_factory,
    TypesCaster({**oas31_casters_dict, "boolean": _JsonBooleanCaster}, AnyCaster,
                multi=PrimitiveCaster))


def _json(data: bytes) -> Any:
    return json.loads(data)


@cache
def validator_for(variant: str) -> ContractValidator:
    """A shared validator per variant: building one parses the whole document."""
    return ContractValidator(variant)


def _header_forms(document: dict[str, Any]) -> list[tuple[re.Pattern[str], str, dict[str, Any]]]:
    """For each path parameter with an `x-alternative-header`: the regex of the template
    without that segment, the template's prefix before it, and the parameter."""
    forms: dict[str, tuple[re.Pattern[str], str, dict[str, Any]]] = {}
    for template, _, operation in operations(document):
        for param in operation.get("parameters", []):
            segment = "/{" + param["name"] + "}"
            if param.get("x-alternative-header") and segment in template:
                shortened = template.replace(segment, "", 1) or "/"
                forms.setdefault(shortened, (template_regex(shortened, exact=True),
                                             template.split(segment, 1)[0], param))
    return list(forms.values())


def _cited(*elements: dict[str, Any]) -> tuple[str, ...]:
    ids: list[str] = []
    for element in elements:
        ids += [str(s) for s in (element or {}).get("x-statements", []) if str(s) not in ids]
    return tuple(ids)


def _find_param(operation: _Operation | None, name: str, location: str) -> dict[str, Any]:
    if operation is None:
        return {}
    return next((p for p in operation.spec.get("parameters", [])
                 if p.get("name") == name and p.get("in") == location), {})


def _response_spec(documented: dict[str, Any], status: int,
                   document: dict[str, Any]) -> dict[str, Any] | None:
    spec = documented.get(str(status)) or documented.get(f"{str(status)[0]}XX") \
        or documented.get("default")
    if spec and "$ref" in spec:
        name = spec["$ref"].rsplit("/", 1)[-1]
        spec = document["components"]["responses"].get(name, {})
    return spec


def _cause_text(error: Exception) -> str:
    """The most specific explanation in openapi-core's chain of causes."""
    cause: BaseException | None = error.__cause__
    while cause is not None:
        if getattr(cause, "schema_errors", None):
            return "; ".join(e.message for e in cause.schema_errors)  # type: ignore[attr-defined]
        if type(cause).__name__ == "CastError":
            value, kind = getattr(cause, "value", ""), getattr(cause, "type", "")
            return f"{value!r} is not a {kind}"
        if cause.__cause__ is None:
            return str(cause)
        cause = cause.__cause__
    return str(error)


def _child(node: Any, step: str | int) -> Any:
    """The member or item `step` of a schema node (None where there is none)."""
    if isinstance(node, dict):
        return node.get(step)
    if isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
        return node[step]
    return None


def _media_for(spec: dict[str, Any], response: HttpResponse) -> dict[str, Any]:
    """The media object of the response's Content-Type (else the first one documented)."""
    content = spec.get("content") or {}
    declared = (response.header("Content-Type") or "").split(";")[0].strip().lower()
    media: Any = content.get(declared) or next(iter(content.values()), {})
    return media if isinstance(media, dict) else {}


# -- our messages in the shapes of openapi-core's protocols ------------------------------------
def _content_type(headers: HeaderList) -> str:
    value = first(headers, "Content-Type")
    return value.lower() if value else "application/json"


class OpenAPIRequest:
    """`HttpRequest` in the shape of openapi-core's `Request` protocol."""

    def __init__(self, request: HttpRequest, path: str | None = None):
        self.host_url = "http://contract.invalid"
        self.path = path or request.path
        self.method = request.method.lower()
        self.body = request.body or None
        self.content_type = _content_type(request.headers)
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(request.query), header=Headers(list(request.headers)),
            cookie=ImmutableMultiDict(), path={})


class OpenAPIResponse:
    """`HttpResponse` in the shape of openapi-core's `Response` protocol."""

    def __init__(self, response: HttpResponse):
        self.status_code = response.status
        self.data = response.body
        self.headers = Headers(list(response.headers))
        self.content_type = _content_type(response.headers)
