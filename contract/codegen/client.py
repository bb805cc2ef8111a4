"""`cdn-contract generate client`: a spec → an installable, typed Python client.

For each variant, a standalone distribution `generated/client/cdn-client-<variant>/` (its own
pyproject, only httpx and its httpcore at run time) holding the package `cdn_client_<variant>`:
- `models.py`: a dataclass per body schema (see model_code);
- `_checks.py`: the parameter and body rules as plain Python, so a value the contract forbids
  (`hard="yes"`, `limit=21`) is refused before anything is sent;
- `_operations.py`: one `prepare_<operation>` per operation (checks, path, query, body and
  how to read the answer), shared by both clients;
- `_core.py`, `errors.py`: addressing, retries (429; 503 and no answer on reads),
  statuses → typed exceptions;
- `_bounds.py`: a deadline for each whole request, a size cap for each body;
- `client.py` and `aio.py`: `Client` and `AsyncClient`, one method per operation named from
  its operationId, rendered from one template.
"""

from __future__ import annotations

import builtins
import json
import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contract.codegen.model_code import Models, Type, docstring
from contract.codegen.render import all_order, environment, header, import_order, snake, used
from contract.codegen.schema_code import (
    SchemaCodeError,
    check_statements,
    citing,
    constraint_statements,
)
from contract.errors import InputError
from contract.model import Purge, read_contract
from contract.openapi import operations, parse_yaml

COMMAND = "cdn-contract generate client"
# The spec names its models (`components/schemas`, see contract.spec.derive.components) and each
# becomes the class of that name; a body without a named model is `<OperationId>Request` /
# `<OperationId>Response`. The error body is `ErrorDocument`: `Error` would read as an
# exception.
ROOT_NAMES = {"#/components/schemas/Error": "ErrorDocument"}
# Error classes by status, named as HTTP names the status (RFC 9110), with `Error` added
# unless the name already ends so (`NotFoundError`, `InternalServerError`): fixed names, so the
# output does not depend on the Python version (whose `HTTPStatus` phrases change). 408 keeps
# `Server`: `RequestTimeoutError` is the client's own deadline passing.
ERROR_NAMES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
               405: "MethodNotAllowed", 408: "ServerRequestTimeout", 409: "Conflict",
               413: "PayloadTooLarge", 414: "UriTooLong", 415: "UnsupportedMediaType",
               429: "TooManyRequests", 431: "RequestHeaderFieldsTooLarge",
               500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable",
               504: "GatewayTimeout"}
# Names the classes had before, kept as aliases so that code catching them still runs.
FORMER_NAMES = {431: "HeadersTooLargeError", 500: "InternalServerErrorError"}
_WIRE = {"string": ("str", "isinstance({v}, str)", "a string", "{v}"),
         "integer": ("int", "isinstance({v}, int) and not isinstance({v}, bool)",
                     "an integer", "str({v})"),
         "number": ("float", "isinstance({v}, int | float) and not isinstance({v}, bool)",
                    "a number", "str({v})"),
         "boolean": ("bool", "isinstance({v}, bool)", "a boolean",
                     '"true" if {v} else "false"')}


@dataclass
class _Param:
    name: str  # the Python argument
    key: str  # the name on the wire
    where: str
    annotation: str
    required: bool
    doc_lines: list[str]
    wire: str  # the expression sending it as text
    default: str | None = None  # the server's default, as JSON
    from_location: str | None = None  # the regex taking it out of a `Location` (S40)


@dataclass
class _Operation:
    id: str
    name: str
    method: str
    summary: str
    doc_lines: list[str]
    prefix: str
    rest: str
    success: int
    returns: str
    read: str
    returns_doc: str
    errors: list[tuple[int, str]]
    path: list[_Param] = field(default_factory=list)
    options: list[_Param] = field(default_factory=list)  # query and header, keyword-only
    body: Type | None = None
    body_required: bool = False
    content_type: str | None = None
    check_lines: list[str] = field(default_factory=list)
    body_check_lines: list[str] = field(default_factory=list)
    reader_lines: list[str] = field(default_factory=list)  # a reader of its own, if any
    pages: str | None = None  # the listed member, when it answers one page of a listing
    marker: str | None = None  # the parameter asking for the next page
    item: str | None = None  # the type of the listed items

    @property
    def arguments(self) -> list[_Param]:
        return [*self.path, *self.options]

    @property
    def parameters(self) -> list[str]:
        """The Python parameters: path ones and the body positional, the others keyword-only
        and optional unless required."""
        listed = [f"{p.name}: {p.annotation}" for p in self.path]
        if self.body is not None:
            listed.append(f"body: {self.body.annotation}" +
                          ("" if self.body_required else " | None = None"))
        if self.options:
            listed.append("*")
        listed += [f"{p.name}: {p.annotation}" + ("" if p.required else " | None = None")
                   for p in self.options]
        return listed

    @property
    def checked(self) -> list[str]:
        """What `prepare_<operation>` hands its check: the arguments, and the body as the
        JSON it would send (`document`)."""
        return [p.name for p in self.arguments] + (["document"] if self.body else [])

    @property
    def checked_parameters(self) -> list[str]:
        """The check function's: untyped on purpose, it is what catches wrong types."""
        return [f"{p.name}: object" for p in self.arguments] + (
            ["body: Any"] if self.body else [])

    @property
    def arguments_passed(self) -> list[str]:
        """How a client method passes its arguments on to `prepare_<operation>`."""
        positional = [p.name for p in self.path] + (["body"] if self.body else [])
        return positional + [f"{p.name}={p.name}" for p in self.options]

    @property
    def iterator(self) -> str | None:
        """The method going through every page of a paged listing."""
        return f"iter_{self.pages}" if self.pages and self.marker else None

    @property
    def passed_on(self) -> list[_Param]:
        """The listing's options its iterator takes: all but the marker."""
        return [p for p in self.options if p.key != self.marker]

    @property
    def iterator_parameters(self) -> list[str]:
        listed = [f"{p.name}: {p.annotation} | None = None" for p in self.passed_on]
        return ["*", *listed] if listed else []

    @property
    def rest_expression(self) -> str:
        if "{" not in self.rest:
            return repr(self.rest)
        return 'f"' + re.sub(r"\{(\w+)\}", lambda m: "{path_value(" + _argument(m.group(1)) + ")}",
                             self.rest) + '"'


def package_name(variant: str) -> str:
    return "cdn_client_" + variant.replace("-", "_")


def distribution_name(variant: str) -> str:
    return "cdn-client-" + variant


def render_client(spec: Path) -> dict[str, str]:
    """The files of one variant's distribution, by path relative to generated/client/."""
    document = parse_yaml(spec.read_text(encoding="utf-8"))
    try:
        contract = read_contract(document)
    except InputError as error:
        raise InputError(f"{spec}: {error}") from None
    variant = contract.variant
    models = Models(document)
    projects = contract.alternative_headers
    if len(projects) != 1:
        raise InputError(f"{spec}: the client needs exactly one path parameter with an "
                         f"x-alternative-header (the project), found {sorted(projects) or 0}")
    error_model = ROOT_NAMES["#/components/schemas/Error"]
    try:
        error_type = models.type_of({"$ref": "#/components/schemas/Error"}, error_model,
                                    about="The documented error body")
        ops = _operations(document, models, next(iter(projects)))
        for op in ops:
            if op.id == contract.purge.operation:
                op.check_lines += _purge_rule_lines(contract.purge, op)
    except SchemaCodeError as error:
        raise InputError(f"{spec}: cannot generate the client: {error}") from None
    if error_type.annotation != error_model:
        raise InputError(f"{spec}: the Error schema must be an object with properties")
    package = package_name(variant)
    context = {
        "header": header(COMMAND, spec), "variant": variant, "package": package,
        "distribution": distribution_name(variant), "title": document["info"]["title"],
        "canonical": bool(document["info"].get("x-canonical")),
        "operations": ops, "models": models.models, "aliases": models.aliases,
        "paged": any(op.iterator for op in ops),
        "creates": any(op.returns == "Created" for op in ops),
        "errors": _errors(ops), "waiter": _waiter(document, ops),
        "project_header": next(iter(projects.values())),
        "token_header": contract.token_header, "base_url": document["servers"][0]["url"],
        "uses_re": any("re.search(" in line for op in ops
                       for line in (*op.check_lines, *op.body_check_lines)),
        "imports": _imports(ops, models),
        "defaults": [(op.name, p.name, p.default) for op in ops for p in op.arguments
                     if p.default is not None],
    }
    context["exports"] = _exports(context)
    context["exported"] = all_order({"VARIANT", *(n for _, names in context["exports"]
                                                  for n in names)})
    env = environment()
    env.globals["define"] = define
    env.globals["invoke"] = invoke
    env.filters["wrap"] = lambda text, indent: f"\n{' ' * indent}".join(docstring(text, indent))
    root = distribution_name(variant)
    files = {f"{root}/pyproject.toml": "pyproject.toml", f"{root}/README.md": "README.md"}
    files.update({f"{root}/{package}/{name}": name for name in (
        "__init__.py", "py.typed", "models.py", "errors.py", "_checks.py", "_core.py",
        "_bounds.py", "_operations.py")})
    rendered = {path: env.get_template(f"client/{name}.j2").render(context)
                for path, name in files.items()}
    for module, is_async in (("client.py", False), ("aio.py", True)):
        rendered[f"{root}/{package}/{module}"] = env.get_template("client/client.py.j2").render(
            context, is_async=is_async)
    return rendered


def _operations(document: dict[str, Any], models: Models, project: str) -> list[_Operation]:
    """Every operation, in document order."""
    located = _located(document)
    return [_operation(template, method, op, models, project, located)
            for template, method, op in operations(document)]


def _located(document: dict[str, Any]) -> dict[str, str]:
    """The path parameters a success response's links take out of its `Location` header
    (`service_id`: `/services/([^/?#]+)$`, the create's), with the regex: the client
    returns that value from the operation, and takes a `Location` wherever it takes one."""
    found: dict[str, str] = {}
    for _, _, op in operations(document):
        for status, response in (op.get("responses") or {}).items():
            taken = _taken_from_location(response) if status.startswith("2") else None
            if taken is not None:
                found.setdefault(*taken)
    return found


def _operation(template: str, method: str, op: dict[str, Any], models: Models,
               project: str, located: dict[str, str]) -> _Operation:
    op_id = op["operationId"]
    responses = op.get("responses", {})
    successes = sorted(int(s) for s in responses if s.isdigit() and s.startswith("2"))
    if len(successes) != 1:
        raise InputError(f"operation {op_id}: the client needs exactly one success status, "
                         f"the spec documents {successes or 'none'}")
    success = successes[0]
    prefix, rest = _split(template, project)
    result = _Operation(
        id=op_id, name=snake(op_id), method=method.upper(), summary=op.get("summary", op_id),
        doc_lines=docstring(op.get("description", ""), 8), prefix=prefix, rest=rest,
        success=success, returns="None", read="read_nothing", returns_doc="",
        errors=[(int(s), error_name(int(s))) for s in sorted(responses)
                if s.isdigit() and int(s) >= 400])
    _response(result, op, responses[str(success)], models)
    for param in op.get("parameters", []):
        if param["name"] == project:
            continue  # the client's, in the path or the header
        made = _param(param, located.get(param["name"]) if param["in"] == "path" else None)
        (result.path if param["in"] == "path" else result.options).append(made)
        result.check_lines += _check_lines(param, made)
    if "requestBody" in op:
        _request_body(result, op["requestBody"], models)
    return result


def error_name(status: int) -> str:
    """The exception class of an error status."""
    name = ERROR_NAMES.get(status, f"Status{status}")
    return name if name.endswith("Error") else f"{name}Error"


def _split(template: str, project: str) -> tuple[str, str]:
    """The path before and after the project segment (with `{name}` left for the others)."""
    segment = f"/{{{project}}}"
    if segment in template:
        prefix, rest = template.split(segment, 1)
        return prefix, rest or "/"
    return template, ""


def _response(result: _Operation, op: dict[str, Any], response: dict[str, Any],
              models: Models) -> None:
    headers = response.get("headers") or {}
    media = (response.get("content") or {}).get("application/json")
    name = ROOT_NAMES.get(f"{result.id}.response", f"{result.id[:1].upper()}{result.id[1:]}"
                          "Response")
    if media is not None and media.get("schema") is not None:
        collection = response.get("x-collection")
        if collection:
            _collection(result, media["schema"], collection, name, models)
            return
        kind = models.type_of(media["schema"], name, about=f"The answer of {result.id}")
        noun = f"`{kind.annotation}`" if kind.model else "decoded JSON body"
        result.returns, result.returns_doc = kind.annotation, f"The {noun}."
        result.read = f"_read_{result.name}"
        result.reader_lines = [f"return {kind.reader}(json_body(response), '')"]
    elif "Location" in headers and (taken := _taken_from_location(response)):
        name, regex = taken
        result.returns, result.read = "Created", f"_read_{result.name}"
        result.returns_doc = f"The new `{name}`, a `str` whose `.location` is the `Location` (S40)."
        result.reader_lines = ["location = read_location(response)",
                               f"return Created(id_from_location(location, {regex!r}), "
                               "location)"]
    elif "Location" in headers:
        result.returns, result.read = "str", "read_location"
        result.returns_doc = ("The `Location` of the accepted request (where to follow its "
                              "progress).")


def _taken_from_location(response: dict[str, Any]) -> tuple[str, str] | None:
    """The parameter the response's links take out of its `Location`, and the regex."""
    for link in (response.get("links") or {}).values():
        for name, expression in (link.get("parameters") or {}).items():
            head, _, regex = str(expression).partition("#regex:")
            if head.lower() == "$response.header.location" and regex:
                return name, regex
    return None


def _collection(result: _Operation, schema: dict[str, Any], collection: dict[str, Any],
                name: str, models: Models) -> None:
    """A listing: the page is the schema's model, its items in `collection['items']`; with a
    marker, the reader also returns the marker of the next page (while a `next` link says
    more remain, S33)."""
    page = models.type_of(schema, name, about=f"One page of {result.id}")
    member = collection["items"]
    items = models.member(page, member)
    if items is None or items.type.item is None:
        raise SchemaCodeError(f"{result.id}: the page has no list of `{member}`")
    item = items.type.item
    result.read = f"_read_{result.name}"
    lines = [f"page = {page.reader}(json_body(response), '')",
             f"items = page.{items.name}{'' if items.required else ' or []'}"]
    marker = collection.get("marker")
    if marker is None:
        result.returns, result.returns_doc = f"list[{item.annotation}]", f"The `{member}`."
        result.reader_lines = [*lines, "return items"]
        return
    links = models.member(page, "links")
    if links is None:
        raise SchemaCodeError(f"{result.id}: a page with a marker needs its `links`")
    rel = collection.get("next-link-rel", "next")
    result.returns, result.returns_doc = f"Page[{item.annotation}]", f"One page of `{member}`."
    result.pages, result.marker, result.item = member, marker["parameter"], item.annotation
    result.reader_lines = [
        *lines,
        f"links = page.{links.name}{'' if links.required else ' or []'}",
        f"more = bool(items) and any(link.rel == {rel!r} for link in links)",
        f"return Page(items, items[-1].{marker['from-item']} if more else None)"]


def _param(param: dict[str, Any], from_location: str | None = None) -> _Param:
    schema = param.get("schema", {})
    kind = schema.get("type", "string")
    if kind not in _WIRE:
        raise SchemaCodeError(f"parameter {param['name']}: type {kind!r} is not supported")
    annotation = _WIRE[kind][0]
    if "enum" in schema:
        annotation = "Literal[" + ", ".join(repr(v) for v in schema["enum"]) + "]"
    name = _argument(param["name"])
    description = " ".join(param.get("description", "").split())
    if "default" in schema:
        description += (f" Left out (None), the server applies its default, "
                        f"{json.dumps(schema['default'])}.")
    if from_location:
        description += " Or the `Location` the API answered with, which ends with it (S40)."
    cited = _cited(param)
    if cited:
        description += f" ({', '.join(cited)})"
    return _Param(name=name, key=param["name"], where=param["in"],
                  annotation=annotation, required=bool(param.get("required")),
                  doc_lines=docstring(description, 14 + len(name)),
                  wire=_WIRE[kind][3].format(v=name),
                  default=json.dumps(schema["default"]) if "default" in schema else None,
                  from_location=from_location)


def _argument(name: str) -> str:
    """A parameter's Python name: snake case, with a trailing underscore where it would
    shadow a builtin or be a keyword (the purge's `all` is `all_`)."""
    python = snake(name)
    return f"{python}_" if keyword.iskeyword(python) or hasattr(builtins, python) else python


def _cited(param: dict[str, Any]) -> tuple[str, ...]:
    """What a parameter breaks: its own statements and its schema's (as the server's)."""
    return citing(tuple(str(s) for s in param.get("x-statements", [])), param.get("schema", {}))


def _check_lines(param: dict[str, Any], made: _Param) -> list[str]:
    """The checks of one argument: its type, then the schema's constraints."""
    schema = param.get("schema", {})
    kind = schema.get("type", "string")
    name, where, cited = made.name, param["in"], _cited(param)
    _, test, wanted, _ = _WIRE[kind]

    def problem(message: str) -> str:
        return f"problems.append(Problem({where!r}, {param['name']!r}, {message}, {cited!r}))"

    shown = 'f"{' + name + '!r:.60} is not ' + wanted + '"'
    test = test.format(v=name)
    checks = constraint_statements(schema, name, param["name"], where, kind, cited)
    if kind == "string":
        checks = [f"if {name} == '':", f"    {problem(repr('must not be empty'))}", *checks]
    lines = [f"# {where} `{param['name']}`" + (f" ({', '.join(cited)})" if cited else "")]
    negated = f"not ({test})" if " and " in test else f"not {test}"
    if not made.required and not checks:
        return [*lines, f"if {name} is not None and {negated}:", f"    {problem(shown)}"]
    body = [f"if {negated}:", f"    {problem(shown)}"]
    if checks:
        body += ["else:", *("    " + line for line in checks)]
    if made.required:
        return lines + body
    return [*lines, f"if {name} is not None:", *("    " + line for line in body)]


def _purge_rule_lines(purge: Purge, op: _Operation) -> list[str]:
    """The rules between the purge's parameters, as the server applies them once each is
    valid (contract.checks.purge_rules, from the modes' semantics in the spec): `all` with a
    `url` (S25), a non-ASCII `url` (S23), a wildcard where the mode takes none (S21), a
    purge naming no file (S22)."""
    names = {p.key: p.name for p in op.options}
    url, hard, every = names.get("url"), names.get("hard"), names.get("all")
    if url is None or hard is None:
        return []

    def problem(name: str, message: str, statement: str) -> str:
        return f"problems.append(Problem('query', {name!r}, {message!r}, ({statement!r},)))"

    default = bool(purge.hard_default)
    given = f"{every} is True" if every else "False"
    lines = ["# the rules between them (S21, S22, S23, S25), once each is valid",
             "if not problems:",
             f"    purging = {hard} if isinstance({hard}, bool) else {default!r}"]
    rules: list[tuple[str, str]] = []
    if every:
        rules.append((f"{given} and {url} is not None",
                      problem("all", "all=true and url cannot be combined", "S25")))
    rules.append((f"isinstance({url}, str) and not {url}.isascii()",
                  problem("url", "has non-ASCII characters; percent-encode them", "S23")))
    for mode, test in ((purge.purge, "purging"), (purge.invalidation, "not purging")):
        if not mode.wildcards:
            rules.append((f"{test} and isinstance({url}, str) and '*' in {url}",
                          problem("url", f"has a wildcard, which hard={str(mode.hard).lower()} "
                                  "does not take", "S21")))
        if mode.files_per_request is not None:
            rules.append((f"{test} and {url} is None and {every} is not True" if every
                          else f"{test} and {url} is None",
                          problem("url", f"hard={str(mode.hard).lower()} needs the url of one "
                                  "file, or all=true", "S22")))
    for index, (condition, line) in enumerate(rules):
        lines += [f"    {'if' if index == 0 else 'elif'} {condition}:", f"        {line}"]
    return lines


def _request_body(result: _Operation, body: dict[str, Any], models: Models) -> None:
    content = body.get("content", {})
    media_type = next(iter(content), None)
    schema = (content.get(media_type) or {}).get("schema") if media_type else None
    if schema is None:
        return
    name = ROOT_NAMES.get(f"{result.id}.request", f"{result.id[:1].upper()}{result.id[1:]}"
                          "Request")
    result.body = models.type_of(schema, name, about=f"The request body of {result.id}")
    result.body_required = bool(body.get("required"))
    result.content_type = media_type
    result.body_check_lines = check_statements(models.inlined(schema), "body")


def _waiter(document: dict[str, Any], ops: list[_Operation]) -> _Operation | None:
    """The operation `wait_until_deployed` polls: the one reading a resource whose `status`
    can be `deployed` and `failed` (getService, S34), or None for a spec without one."""
    for op in ops:
        schema = _success_schema(document, op)
        properties = (schema or {}).get("properties") or {}
        status = properties.get("status") or {}
        if {"deployed", "failed"} <= set(status.get("enum") or ()) and "errors" in properties \
                and len(op.path) == 1:
            return op
    return None


def _success_schema(document: dict[str, Any], op: _Operation) -> dict[str, Any] | None:
    """The JSON schema of an operation's success body, its `$ref` followed."""
    for _, _, spec in operations(document):
        if spec["operationId"] == op.id:
            media = (spec["responses"][str(op.success)].get("content") or {}).get(
                "application/json") or {}
            schema = media.get("schema") or {}
            ref = schema.get("$ref", "")
            return document["components"]["schemas"].get(ref.rsplit("/", 1)[-1]) if ref \
                else schema
    return None


def _errors(ops: list[_Operation]) -> list[dict[str, Any]]:
    by_status: dict[int, dict[str, Any]] = {}
    for op in ops:
        for status, name in op.errors:
            by_status.setdefault(status, {"status": status, "name": name, "operations": [],
                                          "former": FORMER_NAMES.get(status)})
            by_status[status]["operations"].append(op.name)
    return [by_status[status] for status in sorted(by_status)]


def _imports(ops: list[_Operation], models: Models) -> dict[str, list[str]]:
    """What each module imports: only the names its code uses (ruff-clean output), in the
    order ruff sorts them (constants, classes, then functions)."""
    model_names = {m.name for m in models.models} | {a.name for a in models.aliases} | {"Page"}
    helpers = {"read_list", "read_object", "read_any", "read_string", "read_integer",
               "read_number", "read_boolean", "read_one_of"}
    signatures = " ".join(" ".join(op.parameters) + " " + op.returns for op in ops)
    bodies = " ".join([*(line for op in ops for line in op.reader_lines),
                       *(op.body.to_json("body") for op in ops if op.body)])
    core = {"Prepared", *(op.read for op in ops if not op.read.startswith("_read_"))}
    core |= {*used(["Created", "json_body", "id_from_location", "read_location"],
                   bodies),
             *(["path_value"] if any("{" in op.rest for op in ops) else []),
             *(["id_from_location"] if any(p.from_location for op in ops for p in op.path)
               else [])}
    typing = used(["Any", "Literal"], signatures)
    return {"operations": used(model_names | helpers, signatures + " " + bodies),
            "core": import_order(core), "typing": typing,
            "client": used(model_names, signatures),
            "client_typing": import_order({"Any", "TypeVar", *typing})}


def _exports(context: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """What the package's `__init__` offers, by module (in import order)."""
    errors = {"ApiError", "CdnError", "InvalidRequestError", "PagingError", "Problem",
              "RequestTimeoutError", "ResponseTooLargeError", "TransportError",
              "UnexpectedResponseError", "UnexpectedStatusError",
              *(["DeployTimeoutError", "ServiceFailedError"] if context["waiter"] else []),
              *(error["name"] for error in context["errors"]),
              *(error["former"] for error in context["errors"] if error["former"])}
    models = {"ModelError", *(m.name for m in context["models"]),
              *(a.name for a in context["aliases"]), *(["Page"] if context["paged"] else [])}
    core = ["Created", "Retry"] if context["creates"] else ["Retry"]
    return [("_core", core), ("aio", ["AsyncClient"]), ("client", ["Client"]),
            ("errors", import_order(errors)), ("models", import_order(models))]


def invoke(function: str, arguments: list[str], indent: int) -> str:
    """A call after `prepared = ` at `indent`, one argument per line when it would be longer
    than 100 characters."""
    line = f"{function}({', '.join(arguments)})"
    if indent + len("prepared = ") + len(line) <= 100:
        return line
    pad = " " * (indent + 4)
    listed = "".join(f"{pad}{argument},\n" for argument in arguments)
    return f"{function}(\n{listed}{' ' * indent})"


def define(name: str, parameters: list[str], returns: str, indent: int = 0,
           keyword: str = "def") -> str:
    """A `def` line, or one parameter per line (with a trailing comma) when it would be
    longer than 100 characters."""
    pad = " " * indent
    line = f"{pad}{keyword} {name}({', '.join(parameters)}) -> {returns}:"
    if len(line) <= 100:
        return line
    listed = "".join(f"{pad}    {parameter},\n" for parameter in parameters)
    return f"{pad}{keyword} {name}(\n{listed}{pad}) -> {returns}:"
