"""JSON Schema → plain Python statements that check a decoded JSON value.

The generated server checks request bodies with these statements instead of a schema
library, so its request path never interprets a schema at run time. Only the keywords the
contract uses are compiled; any other assertion keyword stops generation with its location,
so a check is never dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from contract.jsonpointer import escape

_ANNOTATIONS = {"description", "title", "default", "example", "examples", "readOnly",
                "writeOnly", "deprecated"}
_COMPILED = {"type", "properties", "required", "items", "minLength", "maxLength", "pattern",
             "format", "enum", "minimum", "maximum", "minItems", "maxItems", "if", "then",
             "else", "additionalProperties"}
_TYPE_TESTS = {
    "object": "isinstance({v}, dict)",
    "array": "isinstance({v}, list)",
    "string": "isinstance({v}, str)",
    "boolean": "isinstance({v}, bool)",
    "integer": "is_integer({v})",
    "number": "is_number({v})",
    "null": "{v} is None",
}
_FORMAT_TESTS = {"uuid": "is_uuid({v})"}
# keyword, the type it applies to, the failing condition, the message
_BOUNDS = (
    ("minLength", "string", "len({v}) < {n}", "is shorter than {n} characters"),
    ("maxLength", "string", "len({v}) > {n}", "is longer than {n} characters"),
    ("minimum", "number", "{v} < {n}", "is less than the minimum of {n}"),
    ("maximum", "number", "{v} > {n}", "is greater than the maximum of {n}"),
    ("minItems", "array", "len({v}) < {n}", "has fewer than {n} items"),
    ("maxItems", "array", "len({v}) > {n}", "has more than {n} items"),
)


class SchemaCodeError(ValueError):
    """The schema uses a keyword (or format) the generator cannot turn into a check."""


@dataclass
class _Names:
    """What compiling one schema keeps: fresh variable names, the shared schemas to call
    rather than compile again (by `key`), and the variable a shared function's pointers
    start from."""

    count: int = 0
    shared: dict[str, str] = field(default_factory=dict)
    base: str | None = None
    cite: bool = False  # problems cite the innermost schema's `x-statements` (responses)

    def fresh(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"


@dataclass(frozen=True)
class SharedSchema:
    """A schema standing at several places of the bodies compiled together: compiled once,
    as a function of its own (`name`), and called from each place."""

    name: str
    schema: dict[str, Any]


SHARED_SIZE = 8  # subschemas with at least this many nodes are worth a function
# Within a shared schema's function, what its caller cites (its `cited` argument): the
# statements of the schema around the place it is called from.
_CALLERS = ("<the caller's>",)


def check_statements(schema: dict[str, Any], value: str,
                     shared: Sequence[SharedSchema] = (), cite: bool = False) -> list[str]:
    """Statements appending a `Problem` to `problems` for each way the body `value` breaks
    `schema`, calling the function of each `shared` schema where one stands. They use
    `Problem`, `is_integer`, `is_number`, `is_uuid` (contract.checks.params) and `re`.

    With `cite` (a response's body), a problem cites the statements of the innermost schema
    around it that cites any (the error body's S16, the members a response holds, S39); one
    with none is graded by the response's own. A request body's schemas cite what their
    defaults or the server's behaviour come from (S38's optional `log_delivery`, S42's
    `custom`), not what their keywords ask for, so its problems cite nothing: they break the
    spec itself."""
    names = _Names(shared={key(s.schema): s.name for s in shared}, cite=cite)
    return _check(schema, value, [], names, "body")


def shared_function(function: SharedSchema, shared: Sequence[SharedSchema]) -> list[str]:
    """The function checking a shared schema (of responses: its problems cite as `cite`
    says, within it): its pointers start at its `at` argument."""
    names = _Names(shared={key(s.schema): s.name for s in shared}, base="at", cite=True)
    lines = _check(function.schema, "value", [], names, "body", _CALLERS) or ["pass"]
    return [f"def {function.name}(value: Any, at: str, problems: list[Problem],",
            f"{' ' * (len(function.name) + 5)}cited: tuple[str, ...] = ()) -> None:",
            *("    " + line for line in lines)]


def key(schema: dict[str, Any]) -> str:
    """What decides the checks of a schema: its assertions, without the annotations."""
    return json.dumps(_assertions(schema), sort_keys=True)


def repeated(bodies: list[tuple[str, dict[str, Any]]]) -> list[SharedSchema]:
    """The subschemas of these bodies (each with the name its function would take where it
    is a whole body) that stand at two places or more and have SHARED_SIZE nodes or more,
    the largest first; one inside another chosen one is counted only where it stands
    alone. A shared schema is named after its first place as a whole body, else after its
    first place."""
    chosen: dict[str, SharedSchema] = {}
    while True:
        places: dict[str, list[tuple[bool, str, dict[str, Any]]]] = {}
        for name, body in bodies:
            for path, schema in _subschemas(body, [], set(chosen)):
                places.setdefault(key(schema), []).append(
                    (bool(path), "_".join([name, *path]), schema))
        candidates = [k for k, found in places.items() if len(found) > 1 and k not in chosen
                      and _size(json.loads(k)) >= SHARED_SIZE]
        if not candidates:
            return list(chosen.values())
        best = max(candidates, key=lambda k: (_size(json.loads(k)), k))
        _, label, schema = min(places[best], key=lambda place: place[0])  # a body first
        chosen[best] = SharedSchema(label, schema)


def _subschemas(schema: dict[str, Any], path: list[str], stop: set[str]
                ) -> Iterator[tuple[list[str], dict[str, Any]]]:
    """Every subschema with its path (property names, `item`), not entering those in
    `stop` (beyond yielding them)."""
    yield path, schema
    if path and key(schema) in stop:
        return
    for name, member in (schema.get("properties") or {}).items():
        yield from _subschemas(member, [*path, _identifier(name)], stop)
    if isinstance(schema.get("items"), dict):
        yield from _subschemas(schema["items"], [*path, "item"], stop)


def _assertions(schema: Any) -> Any:
    """The keywords that decide a schema's checks, and the statements its problems cite."""
    if isinstance(schema, dict):
        return {k: _assertions(v) for k, v in schema.items()
                if k not in _ANNOTATIONS and (k == "x-statements" or not k.startswith("x-"))}
    if isinstance(schema, list):
        return [_assertions(v) for v in schema]
    return schema


def _size(schema: Any) -> int:
    """How many schema nodes (objects) a schema holds."""
    if isinstance(schema, dict):
        return 1 + sum(_size(v) for v in schema.values())
    if isinstance(schema, list):
        return sum(_size(v) for v in schema)
    return 0


def _identifier(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name).lower()


def citing(cited: tuple[str, ...], schema: dict[str, Any]) -> tuple[str, ...]:
    """`cited` and the statements `schema` cites (`x-statements`), each once (a parameter's
    and its schema's: what its form breaks)."""
    return tuple(dict.fromkeys([*cited, *(str(s) for s in schema.get("x-statements", []))]))


def constraint_statements(schema: dict[str, Any], value: str, name: str, where: str,
                          kind: str, cited: tuple[str, ...] = ()) -> list[str]:
    """The checks of a parameter already converted to `kind` (bounds, length, pattern...),
    each problem citing the parameter's statements."""
    return _inner(schema, value, [name], _Names(), where, kind, cited)


def _check(schema: dict[str, Any], var: str, at: list[str], names: _Names,
           where: str, cited: tuple[str, ...] = ()) -> list[str]:
    """Checks of `var` against `schema`, each problem citing `cited`, or where `names.cite`
    and `schema` cites statements (`x-statements`), those."""
    function = names.shared.get(key(schema)) if names.shared else None
    if function is not None and (at or names.base is None):  # never itself, from within
        pointer = _pointer(at, where, names.base)
        location = f'f"{pointer}"' if "{" in pointer else repr(pointer)
        passed = f", {_statements(cited)}" if cited else ""
        return [f"{function}({var}, {location}, problems{passed})"]
    unknown = sorted(k for k in schema if k not in _COMPILED and k not in _ANNOTATIONS
                     and not k.startswith("x-"))
    if unknown:
        where_in_schema = "".join("/*" if part.startswith("{") else f"/{part}" for part in at)
        raise SchemaCodeError(f"unsupported keyword(s) {', '.join(unknown)} at "
                              f"{where_in_schema or '(root)'}")
    pointer = _pointer(at, where, names.base)
    if names.cite and schema.get("x-statements"):
        cited = tuple(str(s) for s in schema["x-statements"])
    lines: list[str] = []
    kinds = schema.get("type")
    if kinds is None:
        return _inner(schema, var, at, names, where, None, cited)
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    inner = _inner(schema, var, at, names, where, kinds[0] if len(kinds) == 1 else None,
                   cited, with_enum=False)
    test = " or ".join(_TYPE_TESTS[kind].format(v=var) for kind in kinds)
    wanted = " or ".join(kinds)
    lines += _enum(schema, var, pointer, where, cited)  # `enum` holds whatever the type
    lines.append(f"if not ({test}):")
    lines.append(f"    {_problem(where, pointer, repr(f'is not of type {wanted}'), var, cited)}")
    if inner:
        lines.append("else:")
        lines += ["    " + line for line in inner]
    return lines


def _inner(schema: dict[str, Any], var: str, at: list[str], names: _Names,
           where: str, known: str | None, cited: tuple[str, ...] = (),
           with_enum: bool = True) -> list[str]:
    """Checks of a value whose type is `known` (already tested) or open (then each check
    applies only to values of its own type, as in JSON Schema)."""
    pointer = _pointer(at, where, names.base)
    lines: list[str] = []

    def typed(kind: str, condition: str) -> str:
        same = known == kind or (kind == "number" and known == "integer")
        return condition if same else f"{_TYPE_TESTS[kind].format(v=var)} and {condition}"

    def guard(kind: str, condition: str, message: str) -> None:
        lines.append(f"if {typed(kind, condition)}:")
        lines.append(f"    {_problem(where, pointer, message, var, cited)}")

    if with_enum:
        lines += _enum(schema, var, pointer, where, cited)
    for keyword, kind, condition, message in _BOUNDS:
        if keyword in schema:
            bound = schema[keyword]
            guard(kind, condition.format(v=var, n=repr(bound)), repr(message.format(n=bound)))
    if "pattern" in schema:
        guard("string", f"not re.search({schema['pattern']!r}, {var})",
              repr("does not match " + schema["pattern"]))
    if "format" in schema:
        test = _FORMAT_TESTS.get(schema["format"])
        if test is None:
            raise SchemaCodeError(f"unsupported format {schema['format']!r} at "
                                  f"{pointer or '(root)'}")
        guard("string", f"not {test.format(v=var)}", repr(f"is not a {schema['format']}"))
    object_lines: list[str] = []
    for name in schema.get("required", []):
        object_lines.append(f"if {name!r} not in {var}:")
        message = repr(f"{name!r} is a required property")
        object_lines.append(f"    {_problem(where, pointer, message, None, cited)}")
    for name, member in (schema.get("properties") or {}).items():
        child = names.fresh("v")
        nested = _check(member, child, [*at, _escape(name)], names, where, cited)
        if nested:
            object_lines.append(f"if {name!r} in {var}:")
            object_lines.append(f"    {child} = {var}[{name!r}]")
            object_lines += ["    " + line for line in nested]
    object_lines += _entries(schema, var, at, names, where, cited)
    if object_lines and known == "object":
        lines += object_lines
    elif len(object_lines) == 2 and object_lines[0].startswith("if "):  # one test: one `if`
        lines.append(f"if isinstance({var}, dict) and {object_lines[0][3:]}")
        lines.append(object_lines[1])
    elif object_lines:
        lines.append(f"if isinstance({var}, dict):")
        lines += ["    " + line for line in object_lines]
    if "if" in schema:
        lines += _conditional(schema, var, at, names, where, cited)
    if isinstance(schema.get("items"), dict):
        index, item = names.fresh("i"), names.fresh("v")
        nested = _check(schema["items"], item, [*at, "{" + index + "}"], names, where,
                        cited)
        if nested and known == "array":
            lines.append(f"for {index}, {item} in enumerate({var}):")
            lines += ["    " + line for line in nested]
        elif nested:
            lines.append(f"if isinstance({var}, list):")
            lines.append(f"    for {index}, {item} in enumerate({var}):")
            lines += ["        " + line for line in nested]
    return lines


def _entries(schema: dict[str, Any], var: str, at: list[str], names: _Names,
             where: str, cited: tuple[str, ...]) -> list[str]:
    """`additionalProperties`: each member `properties` does not name, checked by its
    schema (a map's entries, such as the home document's resources). Its pointer is the
    raw key, as openapi-core reports it."""
    extra = schema.get("additionalProperties", True)
    if extra is True:
        return []
    if not isinstance(extra, dict):
        raise SchemaCodeError(f"unsupported additionalProperties {extra!r} at "
                              f"{_pointer(at) or '(root)'}")
    entry, child = names.fresh("k"), names.fresh("v")
    nested = _check(extra, child, [*at, "{" + entry + "}"], names, where, cited)
    if not nested:
        return []
    named = list(schema.get("properties") or {})
    skip = [f"    if {entry} in {named!r}:", "        continue"] if named else []
    return [f"for {entry}, {child} in {var}.items():", *skip,
            *("    " + line for line in nested)]


def _enum(schema: dict[str, Any], var: str, pointer: str, where: str,
          cited: tuple[str, ...]) -> list[str]:
    if "enum" not in schema:
        return []
    message = repr(f"is not one of {schema['enum']}")
    return [f"if {var} not in {schema['enum']!r}:",
            f"    {_problem(where, pointer, message, var, cited)}"]


def _conditional(schema: dict[str, Any], var: str, at: list[str], names: _Names,
                 where: str, cited: tuple[str, ...]) -> list[str]:
    """`if`/`then`/`else`: the `if` schema is checked into `problems` like any other; when it
    added nothing it holds and `then` applies, else what it added is taken back and `else`
    applies."""
    mark = names.fresh("n")
    then = _check(schema.get("then", {}), var, at, names, where, cited)
    otherwise = _check(schema.get("else", {}), var, at, names, where, cited)
    return [f"{mark} = len(problems)", *_check(schema["if"], var, at, names, where, cited),
            f"if len(problems) > {mark}:", f"    del problems[{mark}:]",
            *("    " + line for line in otherwise),
            *(["else:", *("    " + line for line in then)] if then else [])]


def _escape(name: str) -> str:
    """A pointer token, with braces doubled: the pointer goes into an f-string."""
    return escape(name).replace("{", "{{").replace("}", "}}")


def _pointer(at: list[str], where: str = "body", base: str | None = None) -> str:
    """A JSON pointer in the body (after the pointer in the variable `base`, in a shared
    schema's function); a parameter's name elsewhere."""
    if where != "body":
        return "/".join(at)
    return ("{" + base + "}" if base else "") + "".join("/" + part for part in at)


def _problem(where: str, pointer: str, message: str, var: str | None = None,
             cited: tuple[str, ...] = ()) -> str:
    """`message` is a Python expression; the offending value is shown when there is one."""
    location = f'f"{pointer}"' if "{" in pointer else repr(pointer)
    shown = f"f\"{{{var}!r:.60}} \" + {message}" if var else message
    statements = f", {_statements(cited)}" if cited else ""
    return f"problems.append(Problem({where!r}, {location}, {shown}{statements}))"


def _statements(cited: tuple[str, ...]) -> str:
    """The expression of the statements a problem cites (in a shared schema's function, with
    none of its own, its `cited` argument)."""
    return "cited" if cited == _CALLERS else repr(cited)
