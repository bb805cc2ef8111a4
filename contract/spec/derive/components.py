"""Named models: every object schema of the bodies moved to `components/schemas` and `$ref`'d.

The builder writes each body inline, as the WADL describes it operation by operation; tools
that generate code from the document then emit one class per place (a `Domain` for create,
another for get, another for the list). This pass, run after the overlays, gives each object
one name and one definition:

- a body's root is named after its operation (`ROOTS`); a member's object after the member,
  singular (`domains` → `Domain`), a `rules` member after its owner (`OriginRule`);
- two objects are the same model when their structure is (types, members, constraints;
  descriptions and sources aside), so the service of `getService` and of each list item share
  members, and the request's `origins` (with the stated port and host rules) is a model of
  its own (`NewOrigin`): a request-side model takes the `New` prefix when its name is taken;
- each component keeps the description and `x-source` of the member that introduced it.

Overlays keep targeting the inline bodies (they run first), and everything that reads the
spec follows `$ref` (`contract.openapi.resolve`, `inline_refs`).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

from contract.openapi import operations

# A body's root model, by operation and side, in the order names are given out (so the
# service of getService is `Service`); bodies not listed keep their inline schema.
ROOTS = {
    ("getHomeDocument", "response"): "HomeDocument",
    ("getService", "response"): "Service",
    ("getAllServices", "response"): "ServicePage",
    ("getFlavorDetails", "response"): "Flavor",
    ("getFlavors", "response"): "FlavorList",
    ("createService", "request"): "NewService",
    ("patchService", "request"): "PatchOperation",
    ("createSSLCertificate", "request"): "NewSSLCertificate",
}
# The items of a page's list, named after what they are (first free name wins).
_LIST_ITEMS = {"ServicePage": ["Service", "ServiceSummary"], "FlavorList": ["Flavor"]}
_DOCUMENTATION = {"description", "x-source", "x-default-from", "example", "examples", "title"}
_PREFIX = "#/components/schemas/"


def name_models(document: dict[str, Any]) -> None:
    """Move the object schemas of every listed body into `components/schemas` (in place)."""
    namer = _Namer(document.setdefault("components", {}).setdefault("schemas", {}))
    order = list(ROOTS)
    bodies = sorted(((side, op, media) for side, op, media in _bodies(document)
                     if (op["operationId"], side) in ROOTS),
                    key=lambda body: order.index((body[1]["operationId"], body[0])))
    for side, operation, media in bodies:
        if isinstance(media.get("schema"), dict):
            source = {"x-source": operation["x-source"]} if "x-source" in operation else {}
            root = ROOTS[operation["operationId"], side]
            media["schema"] = namer.hoist(media["schema"], [root], side, source)


def _bodies(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """("request" | "response", operation, media object) of every JSON body, in order."""
    for _, _, operation in operations(document):
        body = operation.get("requestBody") or {}
        for media_type, media in (body.get("content") or {}).items():
            if "json" in media_type:
                yield "request", operation, media
        for status, response in sorted((operation.get("responses") or {}).items()):
            if status.startswith("2"):
                for media_type, media in (response.get("content") or {}).items():
                    if "json" in media_type:
                        yield "response", operation, media


class _Namer:
    def __init__(self, schemas: dict[str, Any]):
        self.schemas = schemas
        self.identities: dict[str, str] = {}  # structure → component name

    def hoist(self, schema: dict[str, Any], names: list[str], side: str,
              documentation: dict[str, Any]) -> dict[str, Any]:
        """`schema` with its objects replaced by references; an array's items are hoisted
        under the array's own names (the item of `domains` is a `Domain`). `names` are the
        candidates, best first."""
        if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
            return {**schema, "items": self.hoist(schema["items"], names, side,
                                                  {**documentation, **_documentation(schema)})}
        if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
            return schema
        owner = names[0]
        properties = {key: self.hoist(member, _member_names(owner, key), side,
                                      _documentation(member))
                      for key, member in schema["properties"].items()}
        model = {**documentation, **schema, "properties": properties}
        return {"$ref": _PREFIX + self._register(model, names, side)}

    def _register(self, model: dict[str, Any], names: list[str], side: str) -> str:
        identity = json.dumps(_structure(model), sort_keys=True)
        if identity in self.identities:
            return self.identities[identity]
        if side == "request" and not names[0].startswith("New"):
            names = [names[0], f"New{names[0]}", *names[1:]]  # what a client sends: `NewOrigin`
        numbered = (f"{names[-1]}{number}" for number in itertools.count(2))
        chosen = next(name for name in itertools.chain(names, numbered)
                      if name not in self.schemas)
        self.schemas[chosen] = model
        self.identities[identity] = chosen
        return chosen


def _member_names(owner: str, key: str) -> list[str]:
    """Names for the object a member holds, best first: `domains` → `Domain`; a `rules` list
    is its owner's (`OriginRule`); the items of a page's list are named after the page
    (`ServicePage.services` → `Service`); a name taken is tried with its owner's in front
    (the service's `errors` → `ServiceError`, as `Error` is the error body)."""
    owner = owner.removeprefix("New")
    if key == "rules":
        return [f"{owner}Rule"]
    if key != "links" and owner in _LIST_ITEMS:
        return _LIST_ITEMS[owner]
    pascal = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", key)
                     if part)
    singular = pascal[:-1] if pascal.endswith("s") and not pascal.endswith("ss") else pascal
    return [singular, f"{owner}{singular}"]


def _documentation(schema: dict[str, Any]) -> dict[str, Any]:
    return {key: schema[key] for key in ("description", "x-source") if key in schema}


def _structure(node: Any) -> Any:
    """What makes two schemas the same model: everything but the words about it."""
    if isinstance(node, dict):
        return {key: _structure(value) for key, value in node.items()
                if key not in _DOCUMENTATION}
    if isinstance(node, list):
        return [_structure(value) for value in node]
    return node
