"""Absent members read as their default: the one step of unmarshalling a server needs.

The generated routes list, per operation, each member of its JSON body the spec gives a
`default` (a JSON Pointer, `*` standing for every item of an array); a server stores what a
client left out as that default, as openapi-core's unmarshalling would hand it over.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from contract.jsonpointer import unescape

Defaults = tuple[tuple[str, Any], ...]  # (pointer, value), a member before its own members


def fill_defaults(document: Any, defaults: Sequence[tuple[str, Any]]) -> None:
    """Set, in place, every member `defaults` names that `document` lacks (each a copy)."""
    for pointer, value in defaults:
        _fill(document, pointer.split("/")[1:], value)


def _fill(node: Any, steps: list[str], value: Any) -> None:
    step, rest = steps[0], steps[1:]
    if step == "*":
        for item in node if isinstance(node, list) else ():
            _fill(item, rest, value)
    elif isinstance(node, dict):
        key = unescape(step)
        if not rest:
            node.setdefault(key, copy.deepcopy(value))
        elif key in node:
            _fill(node[key], rest, value)
