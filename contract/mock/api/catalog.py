"""The read-only parts of the API: home document, ping, flavors (seeded from the docs)."""

from __future__ import annotations

import copy
import re
from typing import Any

from contract.checks.messages import Outgoing, empty_response, error_response, json_response
from contract.mock.runtime import Call

_DOCS_BASE = re.compile(r"https?:\s*//global\.cdn\.api\.rackspacecloud\.com/v1\.0/\d+")


def home(call: Call) -> Outgoing:
    return json_response(200, _example(call, "getHomeDocument"))


def ping(call: Call) -> Outgoing:
    return empty_response(204)


def flavors(call: Call) -> Outgoing:
    return json_response(200, {"flavors": [_flavor(call)]})


def flavor(call: Call) -> Outgoing:
    seeded = _flavor(call)
    if call.params.path["flavor_id"] != seeded.get("id"):
        return error_response(404, f"flavor {call.params.path['flavor_id']!r} does not exist "
                              f"(available: {seeded.get('id')!r})")
    return json_response(200, seeded)


def _flavor(call: Call) -> dict[str, Any]:
    """The docs' sample flavor, its links pointing at this mock and this project."""
    flavor = _example(call, "getFlavorDetails")
    here = call.url(f"/v1.0/{call.project_id}")
    for link in flavor.get("links", []):
        link["href"] = _DOCS_BASE.sub(lambda _: here, link["href"])
    return flavor


def _example(call: Call, operation: str) -> dict[str, Any]:
    examples = call.runtime.facts.examples.get(operation, {}).get(200, {})
    return copy.deepcopy(next(iter(examples.values()), {}))
