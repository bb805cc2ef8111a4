"""`cdn-contract generate server`: a spec → an ASGI stub server in generated/server/.

For each variant, a package `generated/server/cdn_<variant>/` with:
- `checks.py`: one function per operation that reads and checks the request as plain Python
  (parameters, types, defaults, the body schema), so the request path never calls
  openapi-core;
- `responses.py`: each documented response's check;
- `routes.py`: the route table, the contract's typed facts as `contract.model` reads them from
  the spec (limits, rate limits, durations, defaults), the documented examples and each body's
  own check: what the validators and the mock admit requests with (`contract.checks` only);
- `app.py`: `create_app(settings)`, the route table served by the mock's runtime (which binds
  each operation to its behaviour: nothing here names one).
"""

from __future__ import annotations

import pprint
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contract.codegen.render import construct, environment, header, import_order, snake, used
from contract.codegen.schema_code import (
    SchemaCodeError,
    SharedSchema,
    check_statements,
    citing,
    constraint_statements,
    repeated,
    shared_function,
)
from contract.errors import InputError
from contract.jsonpointer import escape
from contract.model import read_contract
from contract.openapi import accepted_media, inline_refs, operations, parse_yaml, resolve
from contract.spec.variants import server_package

COMMAND = "cdn-contract generate server"
_CONVERT = {"integer": "as_integer", "number": "as_number", "boolean": "as_boolean"}
_KIND_WORD = {"integer": "an integer", "number": "a number", "boolean": "a boolean"}
# the variable holding a converted value: one name per type, so each keeps its own type
_CONVERTED = {"integer": "integer", "number": "number", "boolean": "flag"}


@dataclass
class _Operation:
    id: str
    method: str
    template: str
    summary: str
    statuses: tuple[int, ...]
    statements: tuple[str, ...]
    takes_body: bool
    blocks: list[_Block] = field(default_factory=list)  # reading each parameter, the body
    body_lines: list[str] = field(default_factory=list)  # the body check function's body

    @property
    def lines(self) -> list[str]:
        """The check function's body."""
        return [line for block in self.blocks for line in block.lines]

    @property
    def uses_problems(self) -> bool:
        return _uses_problems(self.lines)


@dataclass
class _Block:
    """The lines of the check that read one parameter (`where`, `name`), or the body."""

    where: str  # path, query, header; "body" for the body
    name: str
    lines: list[str]

    @property
    def key(self) -> tuple[str, str, tuple[str, ...]]:
        """Blocks with the same key read the same way: one generated function serves them."""
        return self.where, self.name, tuple(self.lines)


@dataclass
class _Response:
    """The check of one documented response: its headers, its body or the lack of one."""

    function: str
    lines: list[str]
    users: list[str] = field(default_factory=list)  # "operationId status", for its docstring


@dataclass
class _ResponseTable:
    """An operation's documented statuses → the function checking each, and the statements
    an undocumented status breaks (those of its successes)."""

    operation: str
    checks: dict[int, str]
    statements: tuple[str, ...]
    cited: dict[int, tuple[str, ...]]  # each response's own statements


@dataclass
class _Reader:
    """A parameter read the same way by several operations: one function they all call."""

    name: str
    lines: list[str]
    operations: list[str]

    @property
    def uses_problems(self) -> bool:
        return _uses_problems(self.lines)


def _uses_problems(lines: list[str]) -> bool:
    """Whether generated code refers to `problems` (else its function does not bind it)."""
    return any("problems" in line for line in lines)


def render_server(spec: Path) -> dict[str, str]:
    """The files of one variant's package, by path relative to generated/server/."""
    document = parse_yaml(spec.read_text(encoding="utf-8"))
    try:
        contract = read_contract(document)
    except InputError as error:
        raise InputError(f"{spec}: {error}") from None
    variant = contract.variant
    try:
        ops = [_operation(document, template, method, op)
               for template, method, op in operations(document)]
    except SchemaCodeError as error:
        raise InputError(f"{spec}: cannot generate the request checks: {error}") from None
    readers = _shared_readers(ops)
    try:
        responses, tables, schema_functions = _responses(document)
    except SchemaCodeError as error:
        raise InputError(f"{spec}: cannot generate the response checks: {error}") from None
    env = environment()
    context = {
        "header": header(COMMAND, spec), "variant": variant,
        "operations": ops,
        "contract": construct(contract),
        "model_classes": used(_MODEL_CLASSES, construct(contract)),
        "examples": _examples(document), "body_checks": _body_checks(ops),
        "body_defaults": _body_defaults(document),
        "uses": _uses(ops, readers), "readers": readers,
        "responses": responses, "tables": tables, "schema_functions": schema_functions,
        "response_uses": _response_uses(responses, schema_functions),
    }
    package = server_package(variant)
    return {f"{package}/{name}": env.get_template(f"server/{name}.j2").render(context)
            for name in ("__init__.py", "checks.py", "responses.py", "routes.py", "app.py")}


def _operation(document: dict[str, Any], template: str, method: str,
               op: dict[str, Any]) -> _Operation:
    op_id = op["operationId"]
    responses = op.get("responses", {})
    result = _Operation(
        id=op_id, method=method.upper(), template=template, summary=op.get("summary", ""),
        statuses=tuple(sorted(int(s) for s in responses if s.isdigit())),
        statements=tuple(str(s) for s in op.get("x-statements", [])),
        takes_body="requestBody" in op)
    result.blocks = [_Block(param["in"], param["name"], _parameter_lines(param))
                     for param in op.get("parameters", [])]
    if "requestBody" in op:
        reading, result.body_lines = _body_lines(op_id, inline_refs(document, op["requestBody"]))
        result.blocks.append(_Block("body", "", reading))
    return result


def _shared_readers(ops: list[_Operation]) -> list[_Reader]:
    """Replace each parameter block of more than two lines that several operations share
    (the uuid check of `service_id`...) by a call to one generated function."""
    users: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
    for op in ops:
        for block in op.blocks:
            if len(block.lines) > 2 and block.where != "body":
                users.setdefault(block.key, []).append(op.id)
    readers: dict[tuple[str, str, tuple[str, ...]], _Reader] = {}
    taken: set[str] = set()
    for (where, name, lines), op_ids in users.items():
        if len(op_ids) < 2:
            continue
        function = base = f"read_{where}_{snake(name)}"
        suffix = 2
        while function in taken:
            function, suffix = f"{base}_{suffix}", suffix + 1
        taken.add(function)
        readers[(where, name, lines)] = _Reader(function, list(lines), op_ids)
    for op in ops:
        op.blocks = [_Block(b.where, b.name, [f"{readers[b.key].name}(request, parsed)"])
                     if b.key in readers else b for b in op.blocks]
    return list(readers.values())


def _parameter_lines(param: dict[str, Any], source: str = "request") -> list[str]:
    """Lines reading one parameter of `source` (the request, or a response for its
    headers) into `parsed`, with a problem for each rule it breaks."""
    name, where = param["name"], param["in"]
    schema = param.get("schema", {})
    kind = schema.get("type", "string")
    own = tuple(str(s) for s in param.get("x-statements", []))  # what asks for it at all
    cited = citing(own, schema)  # what asks for its form too
    read = {"query": f"{source}.query_value({name!r})", "header": f"{source}.header({name!r})",
            "path": f"{source}.path_params.get({name!r})"}[where]
    target = f"parsed.{'headers' if where == 'header' else where}[{name!r}]"

    def problem(message: str, statements: tuple[str, ...] = cited) -> str:
        return f"problems.append(Problem({where!r}, {name!r}, {message}, {statements!r}))"

    described = kind + (f", default {schema['default']!r}" if "default" in schema else "")
    lines = [f"# {where} `{name}`: {described}" + (f" ({', '.join(cited)})" if cited else "")]
    var = _CONVERTED.get(kind, "value")
    checks = constraint_statements(schema, var, name, where, kind, cited)
    if where == "path" and kind not in _CONVERT:  # the route matched a non-empty segment
        assign = f"{target} = request.path_params[{name!r}]"
        return [*lines, f"value = {assign}", *checks] if checks else [*lines, assign]
    lines += [f"raw = {read}", "if raw is None:"]
    if param.get("required"):
        lines.append(f"    {problem(repr('is required'), own)}")
    elif "default" in schema:
        lines.append(f"    {target} = parsed.defaults[{name!r}] = {schema['default']!r}")
    else:
        lines.append("    pass")
    if where == "query":  # OpenAPI: a query value may not be empty (allowEmptyValue)
        lines += ["elif raw == '':", f"    {problem(repr('must not be empty'))}"]
    lines.append("else:")
    if kind in _CONVERT:
        not_converted = 'f"{raw!r} is not ' + _KIND_WORD[kind] + '"'
        lines += [f"    {var} = {_CONVERT[kind]}(raw)", f"    if {var} is None:",
                  f"        {problem(not_converted)}", "    else:", f"        {target} = {var}"]
        lines += ["        " + line for line in checks]
    else:
        lines += ["    value = raw", f"    {target} = value"]
        lines += ["    " + line for line in checks]
    return lines


def _body_lines(op_id: str, body: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The lines reading the body in the operation's check, and those of its schema check
    (a function of its own, which PATCH reuses on the patched service)."""
    content = accepted_media(body)
    schemas = [media.get("schema", {}) for media in content.values()]
    if any(schema != schemas[0] for schema in schemas):
        raise SchemaCodeError("media types with different schemas are not supported")
    media_types = tuple(content)
    reading = [f"# body: {', '.join(media_types)}" + (", required" if body.get("required")
                                                     else ""),
               f"body = read_body(request, {media_types!r}, {bool(body.get('required'))!r}, "
               "problems)", "if body is not NO_BODY:", "    parsed.body = body"]
    checking = check_statements(schemas[0], "body") if schemas else []
    if checking:
        reading.append(f"    check_{snake(op_id)}_body(body, problems)")
    return reading, checking


def _responses(document: dict[str, Any]
               ) -> tuple[list[_Response], list[_ResponseTable], list[list[str]]]:
    """One check function per distinct documented response (the Error responses of many
    operations share one), each operation's table of them, and the functions of the
    schemas several responses hold (the service, in a listing and alone)."""
    shared = repeated([(f"check_{snake(op['operationId'])}_{status}_body", schema)
                       for _, _, op in operations(document)
                       for status, response in (op.get("responses") or {}).items()
                       for schema in _body_schemas(document, resolve(document, response))])
    functions: dict[tuple[str, ...], _Response] = {}
    tables = []
    for _, _, op in operations(document):
        checks: dict[int, str] = {}
        cited_by: dict[int, tuple[str, ...]] = {}
        for status, response in (op.get("responses") or {}).items():
            if not status.isdigit():
                raise SchemaCodeError(f"{op['operationId']}: response {status!r} (only "
                                      "explicit statuses are compiled)")
            lines = _response_lines(document, resolve(document, response), shared)
            if tuple(lines) not in functions:
                name = f"check_{snake(op['operationId'])}_{status}"
                functions[tuple(lines)] = _Response(name, lines)
            functions[tuple(lines)].users.append(f"{op['operationId']} {status}")
            checks[int(status)] = functions[tuple(lines)].function
            own = resolve(document, response).get("x-statements", [])
            if own:
                cited_by[int(status)] = tuple(str(sid) for sid in own)
        successes = [resolve(document, r) for s, r in op.get("responses", {}).items()
                     if s.startswith("2")]
        cited = tuple(dict.fromkeys(str(sid) for r in successes
                                    for sid in r.get("x-statements", [])))
        tables.append(_ResponseTable(op["operationId"], dict(sorted(checks.items())), cited,
                                     dict(sorted(cited_by.items()))))
    return list(functions.values()), tables, [shared_function(s, shared) for s in shared]


def _body_schemas(document: dict[str, Any], response: dict[str, Any]
                  ) -> list[dict[str, Any]]:
    """The schema of each media type of a response's body (refs inlined)."""
    return [inline_refs(document, media.get("schema", {}))
            for media in (response.get("content") or {}).values()]


def _response_lines(document: dict[str, Any], response: dict[str, Any],
                    shared: list[SharedSchema]) -> list[str]:
    cited = tuple(str(s) for s in response.get("x-statements", []))
    lines: list[str] = []
    for name, declared in (response.get("headers") or {}).items():
        lines += _parameter_lines({**inline_refs(document, declared), "name": name,
                                   "in": "header"}, source="response")
    content = response.get("content") or {}
    if not content:
        message = repr("the response is documented without a body, got ") + \
            " + f\"{len(response.body)} bytes\""
        return [*lines, "# body: none", "if response.body.strip():",
                f"    problems.append(Problem('body', '', {message}, {cited!r}))"]
    schemas = _body_schemas(document, response)
    if any(schema != schemas[0] for schema in schemas):
        raise SchemaCodeError("response media types with different schemas")
    media_types = tuple(content)
    read = f"read_body(response, {media_types!r}, True, problems, {_NO_RESPONSE_BODY!r})"
    checking = check_statements(schemas[0], "body", shared, cite=True)
    lines.append(f"# body: {', '.join(media_types)}")
    if not checking:
        return [*lines, read]
    if len(checking) == 2 and checking[0].startswith("if "):  # one test: one `if`
        return [*lines, f"body = {read}",
                f"if body is not NO_BODY and {checking[0][3:]}", checking[1]]
    return [*lines, f"body = {read}", "if body is not NO_BODY:",
            *("    " + line for line in checking)]


def _examples(document: dict[str, Any]) -> dict[str, str]:
    """Each operation's named response examples, as Python literals for the template."""
    found: dict[str, dict[int, dict[str, Any]]] = {}
    for _, _, op in operations(document):
        for status, response in op.get("responses", {}).items():
            media = (response.get("content") or {}).get("application/json") or {}
            named = {name: example["value"] for name, example in
                     (media.get("examples") or {}).items() if "value" in example}
            if named and status.isdigit():
                found.setdefault(op["operationId"], {})[int(status)] = named
    return {op_id: pprint.pformat(value, width=88, sort_dicts=False)
            for op_id, value in found.items()}


def _body_checks(ops: list[_Operation]) -> dict[str, str]:
    """operationId → the function checking its JSON body on its own, for the operations
    whose checks have one."""
    return {op.id: f"check_{snake(op.id)}_body" for op in ops if op.body_lines}


def _body_defaults(document: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """operationId → each member of its JSON body the spec gives a default: (JSON Pointer,
    `*` for every item of an array; the value as a Python literal), a member before its
    own members."""
    found: dict[str, list[tuple[str, str]]] = {}
    for _, _, op in operations(document):
        body = inline_refs(document, op.get("requestBody") or {})
        media = (body.get("content") or {}).get("application/json") or {}
        pairs = _defaults(media.get("schema") or {}, "")
        if pairs:
            found[op["operationId"]] = [(pointer, repr(value)) for pointer, value in pairs]
    return found


def _defaults(schema: dict[str, Any], pointer: str) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for name, member in (schema.get("properties") or {}).items():
        if isinstance(member, dict):
            here = f"{pointer}/{escape(name)}"
            if "default" in member:
                found.append((here, member["default"]))
            found.extend(_defaults(member, here))
    items = schema.get("items")
    if isinstance(items, dict):
        found.extend(_defaults(items, f"{pointer}/*"))
    return found


_NO_RESPONSE_BODY = "the response is documented with a body, got none"
_MODEL_CLASSES = ("Bounds", "Contract", "Limits", "Purge", "PurgeMode", "RateLimit")
_HELPERS = ("NO_BODY", "Problem", "as_boolean", "as_integer", "as_number", "is_integer",
            "is_number", "is_uuid", "read_body")


def _response_uses(responses: list[_Response], functions: list[list[str]]) -> dict[str, Any]:
    code = "\n".join([*(line for response in responses for line in response.lines),
                      *(line for function in functions for line in function)])
    return {"helpers": import_order({"Parsed", "Problem", *used(_HELPERS, code)}),
            "re": "re.search(" in code}


def _uses(ops: list[_Operation], readers: list[_Reader]) -> dict[str, Any]:
    """What checks.py must import: only what its code uses (ruff-clean output)."""
    code = "\n".join([*(line for op in ops for line in (*op.lines, *op.body_lines)),
                      *(line for reader in readers for line in reader.lines)])
    return {"helpers": import_order({"Parsed", *used(_HELPERS, code)}),  # every check: Parsed
            "re": "re.search(" in code}
