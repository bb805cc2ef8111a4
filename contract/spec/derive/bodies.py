"""JSON Schema for request and response bodies, from the WADL's `style="plain"` params.

Each plain param names one member by JSONPath (`$.origins.rules.request_url`). The WADL
writes arrays transparently (never `[*]`): `origins` is a list of objects, yet its members are
addressed as `$.origins.origin`. So the param list gives the tree of members and which are
required; whether a member with children is a list or an object, and what JSON type a leaf
has, comes from the docs' JSON samples (the WADL gives plain params no `type`).

A member whose children are bare leaves, and which the samples show as a string, is an
enumeration of the children's names (`status`: `deployed`, `failed`, ...).

Precedence, strongest first: the param list's own structure (a member with children is an
object, or a list of objects), explicit `[*]`/`[n]` in the path, sample evidence, the
description's wording ("a list of ..."). A sample that contradicts the param list does not
change the schema: the sample check reports it as a discrepancy.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from contract.spec.derive import prose, xsd
from contract.spec.wadl.model import Param

Path = tuple[str, ...]
_STEP = re.compile(r"\.([A-Za-z_][\w-]*)|\[(?:'([^']*)'|\"([^\"]*)\"|(\*|\d+))\]")
_LIST_WORDS = re.compile(r"\b(list|collection|array) of\b", re.IGNORECASE)
_JSON_KIND = {dict: "object", list: "array", str: "string", bool: "boolean",
              int: "integer", float: "number", type(None): "null"}


class JsonPathError(ValueError):
    pass


def parse_path(jsonpath: str) -> tuple[Path, frozenset[Path]]:
    """`$.a.b[*].c` → (("a", "b", "c"), {("a", "b")}): member names, and which are arrays."""
    if not jsonpath.startswith("$"):
        raise JsonPathError(f"JSONPath {jsonpath!r} does not start with '$'")
    names: list[str] = []
    arrays: set[Path] = set()
    position = 1
    while position < len(jsonpath):
        match = _STEP.match(jsonpath, position)
        if match is None:
            raise JsonPathError(f"unsupported JSONPath {jsonpath!r} at {jsonpath[position:]!r}"
                                " (supported: $.name, $['name'], [*] and [n])")
        name = match.group(1) or match.group(2) or match.group(3)
        if name is not None:
            names.append(name)
        else:
            arrays.add(tuple(names))
        position = match.end()
    return tuple(names), frozenset(arrays)


def json_kind(value: Any) -> str:
    return _JSON_KIND[type(value)]


@dataclass
class Evidence:
    """JSON kinds seen at each member path of some samples (arrays transparent)."""

    kinds: dict[Path, set[str]] = field(default_factory=lambda: defaultdict(set))
    items: dict[Path, set[str]] = field(default_factory=lambda: defaultdict(set))

    suffixes: bool = False  # also record each value under every tail of its path

    @classmethod
    def of(cls, documents: Iterable[Any], suffixes: bool = False) -> Evidence:
        evidence = cls(suffixes=suffixes)
        for document in documents:
            evidence._walk(document, ())
        return evidence

    def _walk(self, value: Any, path: Path) -> None:
        for tail in self._tails(path):
            self.kinds[tail].add(json_kind(value))
        if isinstance(value, dict):
            for key, member in value.items():
                self._walk(member, (*path, key))
        elif isinstance(value, list):
            for item in value:
                for tail in self._tails(path):
                    self.items[tail].add(json_kind(item))
                if isinstance(item, dict):
                    for key, member in item.items():
                        self._walk(member, (*path, key))

    def _tails(self, path: Path) -> list[Path]:
        return [path[i:] for i in range(len(path))] if self.suffixes and path else [path]

    def lookup(self, path: Path) -> tuple[set[str], set[str]]:
        return set(self.kinds.get(path, ())), set(self.items.get(path, ()))


@dataclass
class _Node:
    param: Param | None = None
    children: dict[str, _Node] = field(default_factory=dict)
    array: bool = False  # marked by [*] / [n] in some path


def body_schema(params: Iterable[Param], local: Evidence, wide: Evidence,
                cite: Callable[[int], str],
                note: Callable[[str, int], None] = lambda message, line: None,
                request: bool = True) -> dict[str, Any]:
    """The schema of a body described by plain params. `local` evidence is from the samples of
    the same representation, `wide` from every sample of the WADL (with suffixes, so a list
    wrapped in `{"services": [...]}` still types `origins.rules.name`); `cite(line)` makes an
    `x-source` value. Evidence is looked up at the member's path: local, then wide.
    `note(message, line)` hears of each place the parameter list and its prose disagree.
    A member the prose requires only "if there is more than one" entry (S31) binds what a
    client sends: in a `request` body it is required of lists of two or more, in a response
    (which describes what the server holds) it is optional."""
    root = _Node()
    for param in params:
        names, arrays = parse_path(param.path or f"$.{param.name}")
        node = root
        if () in arrays:
            root.array = True
        for depth, name in enumerate(names):
            node = node.children.setdefault(name, _Node())
            if names[: depth + 1] in arrays:
                node.array = True
        if names:
            node.param = param
    return _node_schema(root, (), local, wide, cite, note, request)


def _node_schema(node: _Node, path: Path, local: Evidence, wide: Evidence,
                 cite: Callable[[int], str], note: Callable[[str, int], None],
                 request: bool) -> dict[str, Any]:
    kinds, item_kinds = local.lookup(path)
    if not kinds:
        kinds, item_kinds = wide.lookup(path)
    param = node.param
    doc = param.doc if param else ""
    if node.children and _is_enumeration(node, kinds):
        schema = _described(param, cite)
        values = [f"- `{name}`: {child.param.doc}" if child.param and child.param.doc
                  else f"- `{name}`" for name, child in node.children.items()]
        schema["description"] = "\n".join([schema.get("description", ""), "", *values]).strip()
        schema.update({"type": "string", "enum": list(node.children)})
        return schema
    if node.children:
        is_list = node.array or ("array" in kinds and "object" not in kinds) or (
            not kinds and bool(_LIST_WORDS.search(doc)))
        # A member required "if there is more than one" entry, says its description (S31);
        # where the parameter table marks it plainly required, the finer prose wins and the
        # disagreement is noted.
        conditional = {name: (child.param, sentence)
                       for name, child in node.children.items()
                       if is_list and child.param is not None
                       and (sentence := prose.required_when_several(child.param.doc))}
        members: dict[str, Any] = {"type": "object"}
        required = [name for name, child in node.children.items()
                    if child.param is not None and child.param.required
                    and name not in conditional]
        if required:
            members["required"] = required
        members["properties"] = {name: _node_schema(child, (*path, name), local, wide, cite,
                                                    note, request)
                                 for name, child in node.children.items()}
        schema = _described(param, cite)
        if is_list:
            schema.update({"type": "array", "items": members})
        else:
            schema.update(members)
        if conditional and request:
            schema["if"] = {"minItems": 2}
            schema["then"] = {"items": {"required": list(conditional)}}
        for name, (child_param, sentence) in conditional.items():
            if child_param.required and request:
                note(f"`{'.'.join((*path, name))}` is marked required in the parameter "
                     f"table, but its description says: \"{sentence}\" The schema requires "
                     "it only when the list has more than one entry (S31).", child_param.line)
        return schema
    schema = _described(param, cite)
    schema.update(_leaf_type(param, kinds, item_kinds))
    if param is not None:
        stated_constraints(schema, param)
    return schema


def list_wrapper(params: Iterable[Param], samples: list[Any]) -> str | None:
    """The member that wraps a list of items when the parameter table describes one item
    but every sample is a page of them (`{"services": [{...}], "links": [...]}`): the one
    member, not named by the table, holding objects made of the table's members. None when
    the table describes the body itself."""
    names = {path[0] for p in params if (path := parse_path(p.path or f"$.{p.name}")[0])}
    found: set[str] = set()
    for sample in samples:
        if not isinstance(sample, dict):
            return None
        lists = [key for key, value in sample.items() if key not in names
                 and isinstance(value, list) and value
                 and all(isinstance(item, dict) and set(item) <= names for item in value)]
        if len(lists) != 1:
            return None
        found.add(lists[0])
    return found.pop() if len(found) == 1 else None


def wrapped(item: dict[str, Any], wrapper: str, sample: dict[str, Any],
            source: str) -> dict[str, Any]:
    """A page of `item`s under `wrapper`, with the sample's other members (a page's `links`)
    typed by the item's member of that name; the sample's members are required. `source`
    cites the sample that shows the wrapper."""
    properties: dict[str, Any] = {}
    for key in sample:
        if key == wrapper:
            properties[key] = {"description": f"The {wrapper} of this page.",
                               "x-source": source, "type": "array", "items": item}
        elif key in item.get("properties", {}):
            properties[key] = item["properties"][key]
    return {"type": "object", "required": list(properties), "properties": properties}


def _is_enumeration(node: _Node, kinds: set[str]) -> bool:
    """The WADL lists the values of a string member as its children (`status` has
    `deployed`, `failed`, ...): children that are bare leaves (no type, no children of their
    own), under a member the samples show as a string."""
    return kinds == {"string"} and all(
        not child.children and (child.param is None or not child.param.type)
        for child in node.children.values())


def _described(param: Param | None, cite: Callable[[int], str]) -> dict[str, Any]:
    schema: dict[str, Any] = {}
    if param is not None:
        if param.doc:
            schema["description"] = param.doc
        schema["x-source"] = cite(param.line)
    return schema


def _leaf_type(param: Param | None, kinds: set[str], item_kinds: set[str]) -> dict[str, Any]:
    if param is not None and param.type:
        return xsd.schema_for(param.type)
    typed = one_type(kinds)
    if typed == {"type": "array"}:
        items = one_type(item_kinds)
        return {"type": "array", "items": items} if items else typed
    return typed


def one_type(kinds: set[str]) -> dict[str, Any]:
    """A single JSON type when the evidence agrees; nothing when there is none or it clashes."""
    kinds = set(kinds)
    if {"integer", "number"} <= kinds:
        kinds.discard("integer")
    nullable = "null" in kinds and len(kinds) > 1
    kinds.discard("null")
    if len(kinds) != 1:
        return {}
    (kind,) = kinds
    return {"type": [kind, "null"]} if nullable else {"type": kind}


def stated_constraints(schema: dict[str, Any], param: Param) -> None:
    """Add the default (attribute, else prose) and the limits a description states in words.
    A default found in prose carries the sentence in `x-default-from`."""
    declared = schema.get("type")
    kind = next((k for k in declared if k != "null"), None) if isinstance(declared, list) \
        else declared
    if kind == "string" or kind is None:
        schema.update(prose.length_limits(param.doc))
    if kind in {"integer", "number"} and (low := prose.minimum(param.doc)) is not None:
        schema["minimum"] = low
    stated, sentence = param.default, None
    if stated is None and (finding := prose.default_of(param.doc)) is not None:
        stated, sentence = finding.value, finding.sentence
    if stated is None or kind is None:
        return
    try:
        schema["default"] = xsd.literal(stated, {"type": kind})
    except ValueError:
        return  # a default the type cannot hold is not a default we can state
    if sentence:
        schema["x-default-from"] = sentence
