"""OpenAPI Overlay 1.0: apply `actions` (JSONPath `target` + `update` or `remove`) in order.

Targets are evaluated with jsonpath-ng's extended parser (filters such as
`[?(@.name == 'hard')]`). Per the Overlay spec, `update` merges recursively into each matched
object (properties of the update win; arrays in the update are appended to matched arrays),
and `remove: true` deletes each match from its parent. An action whose target matches
nothing is an error here: in a contract, a silently skipped statement is a lost statement.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from jsonpath_ng import DatumInContext, Fields
from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
from jsonpath_ng.ext.parser import parse

from contract.errors import InputError
from contract.inputs import read_text
from contract.spec.derive.discrepancies import Discrepancy


class _LineLoader(yaml.SafeLoader):
    """A YAML loader that remembers the line of every mapping, for error messages."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = {str(key): value for key, value in
               loader.construct_mapping(node, deep=True).items()}
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def load_overlay(path: Path) -> dict[str, Any]:
    """Read an overlay document; its actions keep their source line as `__line__`."""
    text = read_text(path, "an overlay")
    try:
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise InputError(f"invalid YAML: {getattr(error, 'problem', error)}", path,
                         mark.line + 1 if mark else None) from None
    if not isinstance(data, dict) or "overlay" not in data:
        raise InputError("not an OpenAPI Overlay document (no `overlay` version field)", path, 1)
    if not str(data["overlay"]).startswith("1."):
        raise InputError(f"unsupported overlay version {data['overlay']!r} (expected 1.x)", path,
                         data.get("__line__"))
    actions = data.get("actions")
    if not isinstance(actions, list) or not actions:
        raise InputError("an overlay needs a non-empty `actions` list", path, data.get("__line__"))
    return data


_DISCREPANCY = ("operation", "where", "message", "source")


def apply_overlay(document: dict[str, Any], overlay: dict[str, Any], path: Path
                  ) -> list[Discrepancy]:
    """Apply every action of `overlay` (from `load_overlay`) to `document`, in place. An
    action that settles a contradiction of the docs says so in `x-discrepancy` (operation,
    where, message, source): those are returned, to be listed with the builder's."""
    settled = []
    for action in overlay["actions"]:
        line = action.get("__line__")
        noted = action.get("x-discrepancy")
        if noted is not None:
            if not isinstance(noted, dict) or not all(
                    isinstance(noted.get(key), str) for key in _DISCREPANCY):
                raise InputError(f"x-discrepancy needs {', '.join(_DISCREPANCY)} (strings)",
                                 path, line)
            settled.append(Discrepancy(*(noted[key] for key in _DISCREPANCY)))
        target = action.get("target")
        if not isinstance(target, str):
            raise InputError("action without a `target` JSONPath", path, line)
        try:
            expression = parse(target)
        except (JsonPathLexerError, JsonPathParserError, Exception) as error:
            raise InputError(f"invalid JSONPath target {target!r}: {error}", path, line) from None
        matches = expression.find(document)
        if not matches:
            raise InputError(f"target {target!r} matches nothing in the document", path, line)
        if action.get("remove") is True:
            for match in reversed(matches):
                _remove(match)
        elif "update" in action:
            update = _strip_lines(action["update"])
            for match in matches:
                if isinstance(match.value, dict) and isinstance(update, dict):
                    _merge(match.value, update)
                elif isinstance(match.value, list):
                    match.value.extend(copy.deepcopy(update if isinstance(update, list)
                                                     else [update]))
                else:
                    raise InputError(f"target {target!r} matched a {type(match.value).__name__}"
                                     "; `update` needs an object or an array", path, line)
        else:
            raise InputError("action has neither `update` nor `remove: true`", path, line)
    return settled


def _merge(into: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        elif isinstance(value, list) and isinstance(into.get(key), list):
            into[key].extend(copy.deepcopy(value))
        else:
            into[key] = copy.deepcopy(value)


def _remove(match: DatumInContext) -> None:
    parent = match.context.value if match.context is not None else None
    step = match.path
    if isinstance(step, Fields) and isinstance(parent, dict):
        for field in step.fields:
            parent.pop(field, None)
    elif isinstance(parent, list):  # an index or a filter: remove that very item
        parent[:] = [item for item in parent if item is not match.value]


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value
