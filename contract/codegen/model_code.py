"""JSON Schema → typed Python models (dataclasses) for the generated client.

Every object schema with properties becomes a frozen dataclass with `from_json` (which checks
each member's type, so a server that breaks the contract is caught where it does) and
`to_json` (which leaves out what the caller left unset, so the server applies its documented
defaults). Structurally equal schemas share one class; an enumeration of strings becomes a
`Literal` alias. Names: a root gets the name the generator is given; a nested object is named
after its member, singular (`domains` → `Domain`), prefixed with its root's name when that
name is taken by a different structure (`NewServiceDomain`).
"""

from __future__ import annotations

import json
import keyword
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

from contract.codegen.schema_code import SchemaCodeError
from contract.openapi import inline_refs, resolve

_PRIMITIVES = {"string": ("str", "read_string"), "integer": ("int", "read_integer"),
               "number": ("float", "read_number"), "boolean": ("bool", "read_boolean")}
_RESERVED = {"Error", "Page", "Any", "Literal"}  # would read as exceptions or typing names
_COMPONENTS = "#/components/schemas/"
_IDENTITY_IGNORED = {"description", "title", "example", "examples", "default", "minLength",
                     "maxLength", "minimum", "maximum", "minItems", "maxItems", "pattern",
                     "format"}


@dataclass
class Type:
    """How one schema appears in Python: its annotation, the reader that decodes and checks a
    JSON value into it, and how to turn an attribute back into JSON."""

    annotation: str
    reader: str  # an expression: a callable (value, at) → the typed value
    model: str | None = None  # the dataclass, when it is one
    item: Type | None = None  # the item type, for a list

    def to_json(self, expression: str, depth: int = 0) -> str:
        if self.model is not None:
            return f"{expression}.to_json()"
        if self.item is not None and (self.item.model or self.item.item):
            item = "item" if depth == 0 else f"item{depth + 1}"
            return f"[{self.item.to_json(item, depth + 1)} for {item} in {expression}]"
        return expression


@dataclass
class Field:
    name: str  # the attribute
    key: str  # the JSON member
    type: Type
    required: bool
    doc: str

    @property
    def doc_lines(self) -> list[str]:
        return docstring(self.doc, 10 + len(self.name))

    def reading(self, indent: int) -> str:
        """The `name=...` argument of `from_json`, split after `(` when too long."""
        call = f"{'required' if self.required else 'optional'}(obj, {self.key!r}, " \
               f"{self.type.reader}, at)"
        line = f"{' ' * indent}{self.name}={call},"
        if len(line) <= 100:
            return line
        head, tail = call.split("(", 1)
        return f"{' ' * indent}{self.name}={head}(\n{' ' * (indent + 4)}{tail},"


@dataclass
class Model:
    name: str
    doc: str
    fields: list[Field] = field(default_factory=list)

    @property
    def doc_lines(self) -> list[str]:
        return docstring(self.doc or f"{self.name}.", 4)

    @property
    def ordered(self) -> list[Field]:
        """Required members first (they take no default), each group in schema order."""
        return [f for f in self.fields if f.required] + [f for f in self.fields if not f.required]


@dataclass
class Alias:
    name: str
    values: tuple[str, ...]


class Models:
    """The models of one spec, collected as operations ask for the types of their bodies."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.models: list[Model] = []
        self.aliases: list[Alias] = []
        self._by_identity: dict[str, str] = {}
        self._taken: set[str] = set()

    def type_of(self, schema: dict[str, Any], name: str, root: str | None = None,
                about: str = "", parent: str | None = None) -> Type:
        """The Python type of `schema`; `name` is the class name an object schema would get,
        `about` what it is, for a docstring when the schema has no description. A reference
        to a named model of the spec (`components/schemas`) takes that model's name."""
        reference = schema.get("$ref")
        if isinstance(reference, str) and reference.startswith(_COMPONENTS):
            named = reference.removeprefix(_COMPONENTS)
            if named not in _RESERVED:
                name, root, parent = named, None, None
        schema = self._resolved(schema)
        kind = schema.get("type")
        if isinstance(kind, list):
            raise SchemaCodeError(f"{name}: a schema of several types is not supported")
        if "enum" in schema and kind == "string":
            return self._alias(schema, (root or "") + name)
        if kind in _PRIMITIVES:
            annotation, reader = _PRIMITIVES[kind]
            return Type(annotation, reader)
        if kind == "array":
            items = schema.get("items")
            if not isinstance(items, dict) or not items:
                return Type("list[Any]", "read_list(read_any)", item=Type("Any", "read_any"))
            item = self.type_of(items, _singular(name), root, f"An item of {about}", parent)
            return Type(f"list[{item.annotation}]", f"read_list({item.reader})", item=item)
        if kind == "object" and schema.get("properties"):
            model = self._model(schema, name, root, about, parent)
            return Type(model, f"{model}.from_json", model=model)
        if kind == "object":
            return Type("dict[str, Any]", "read_object")
        return Type("Any", "read_any")

    def member(self, owner: Type, key: str) -> Field | None:
        """The field of the model `owner` that holds the JSON member `key`, if any."""
        model = next((m for m in self.models if m.name == owner.model), None)
        return next((f for f in model.fields if f.key == key), None) if model else None

    def _model(self, schema: dict[str, Any], name: str, root: str | None, about: str,
               parent: str | None) -> str:
        identity = _identity(schema)
        if identity in self._by_identity:
            return self._by_identity[identity]
        chosen = self._free(name, parent, root)
        self._by_identity[identity] = chosen
        model = Model(chosen, _first_paragraph(schema.get("description", "")) or f"{about}.")
        self.models.append(model)
        required = set(schema.get("required", []))
        for key, member in schema["properties"].items():
            member_type = self.type_of(member, _pascal(key), root or chosen,
                                       f"`{chosen}.{_attribute(key)}`", chosen)
            model.fields.append(Field(_attribute(key), key, member_type, key in required,
                                      _member_doc(self._resolved(member))))
        return chosen

    def _alias(self, schema: dict[str, Any], name: str) -> Type:
        values = tuple(str(value) for value in schema["enum"])
        for alias in self.aliases:
            if alias.values == values:
                break
        else:
            alias = Alias(self._free(name), values)
            self.aliases.append(alias)
        return Type(alias.name, f"read_one_of({alias.name})")

    def _free(self, name: str, *prefixes: str | None) -> str:
        """`name`, or prefixed by its parent's or root's name when taken or reserved, or
        numbered."""
        candidates = [name] if name not in _RESERVED else []
        candidates += [prefix + name for prefix in prefixes if prefix]
        for candidate in candidates:
            if candidate not in self._taken:
                self._taken.add(candidate)
                return candidate
        number = 2
        while f"{candidates[-1]}{number}" in self._taken:
            number += 1
        self._taken.add(f"{candidates[-1]}{number}")
        return f"{candidates[-1]}{number}"

    def inlined(self, schema: dict[str, Any]) -> dict[str, Any]:
        """`schema` with every reference replaced by its target (for compiled checks)."""
        inlined: dict[str, Any] = inline_refs(self.document, schema)
        return inlined

    def _resolved(self, schema: dict[str, Any]) -> dict[str, Any]:
        resolved: dict[str, Any] = resolve(self.document, schema)
        return resolved


def docstring(text: str, indent: int, width: int = 96) -> list[str]:
    """Docstring lines (without the quotes) wrapped at `width`, safe inside triple quotes."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        if lines:
            lines.append("")
        lines += textwrap.wrap(" ".join(paragraph.split()), width - indent,
                               break_long_words=False, break_on_hyphens=False)
    return lines


def _identity(schema: dict[str, Any]) -> str:
    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items()
                    if k not in _IDENTITY_IGNORED and not k.startswith("x-")}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node
    return json.dumps(strip(schema), sort_keys=True)


def _member_doc(schema: dict[str, Any]) -> str:
    doc = _first_paragraph(schema.get("description", ""))
    if "default" in schema:
        doc += f" Server default: {json.dumps(schema['default'])}."
    return doc.strip()


def _first_paragraph(text: str) -> str:
    return " ".join(re.split(r"\n\s*\n", text.strip())[0].split()) if text.strip() else ""


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", name)
                   if part)


def _singular(name: str) -> str:
    return name[:-1] if name.endswith("s") and not name.endswith("ss") else name


def _attribute(key: str) -> str:
    name = re.sub(r"\W", "_", key)
    return f"{name}_" if keyword.iskeyword(name) else name
