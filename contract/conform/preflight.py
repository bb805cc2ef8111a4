"""Preflight: before any check, show that the target speaks this API at all.

A target that does not route the API (a wrong base URL, a missing token or header, another
service) would otherwise fail every statement for one reason. Four plain reads, with the
token and headers the user gave, decide it: ping, the home document, the flavors and the
service list. When one does not answer as documented, the run stops (exit 2) with each
request sent and what came back.
"""

from __future__ import annotations

from typing import Any

import httpx

from contract.conform.gate import Breach, on_host_of
from contract.conform.target import Answer, Target
from contract.errors import InputError

STEPS = (("ping", "/ping", (200, 204)), ("home document", "/", (200,)),
         ("flavors", "/flavors", (200,)), ("service list", "/services", (200,)))


def preflight(target: Target, token_header: str) -> None:
    """Raise InputError unless the target answers the four reads as documented; learn the
    flavor to create services with, and whether the target is our mock (its time scale and
    edge)."""
    target.token_header = token_header
    project = target.identity.project_id or f"conform-preflight-{target.run_id}"
    answers: list[tuple[str, Answer, bool]] = []
    for label, path, statuses in STEPS:
        try:
            answer = target.send("GET", f"/v1.0/{project}{path}")
        except Breach as breach:
            raise InputError(f"--base-url {target.base_url}: the preflight's {label} read "
                             f"broke a bound; nothing was checked: {breach}") from None
        except httpx.HTTPError as error:
            raise InputError(f"--base-url {target.base_url}: no HTTP answer "
                             f"({type(error).__name__}: {error})") from None
        answers.append((label, answer, answer.status in statuses and
                        (answer.status == 204 or answer.json() is not None)))
    if not all(ok for _, _, ok in answers):
        lines = [f"--base-url {target.base_url} does not answer as the CDN API does; "
                 "nothing was checked. The preflight sent:"]
        for label, answer, ok in answers:
            lines.append(f"  {'ok ' if ok else 'BAD'} {label}: {answer.describe()}")
            lines.append(f"      {answer.curl}")
        lines.append("Check the base URL (the part before /v1.0), --token, --project-id "
                     "and --header.")
        raise InputError("\n".join(lines))
    if target.fixtures.flavor_id is None:
        target.fixtures.flavor_id = _first_flavor(answers[2][1].json()) or "cdn"
    _introspect(target)


def _first_flavor(body: Any) -> str | None:
    flavors = body.get("flavors") if isinstance(body, dict) else body
    if isinstance(flavors, list) and flavors and isinstance(flavors[0], dict):
        found = flavors[0].get("id")
        return found if isinstance(found, str) else None
    return None


def _introspect(target: Target) -> None:
    """Our mock tells its time scale, its edge and its purge jobs (`/__mock__/health`).
    What a target says here is believed only as far as it cannot send conform elsewhere:
    its edge is reached on the base URL's host, at the port it names, unless the user
    trusts the host it names too (--trust-target-edge)."""
    try:
        health = target.send("GET", "/__mock__/health", token=None)
    except httpx.HTTPError:  # a Breach too: the target is then not our mock
        return
    data = health.json() if health.status == 200 else None
    if not isinstance(data, dict) or "variant" not in data:
        return
    target.introspection = True
    scale = data.get("time_scale", 1.0)
    if target.time_scale is None and isinstance(scale, int | float) and scale > 0:
        target.time_scale = float(scale)
    edge = data.get("edge")
    if not isinstance(edge, str) or not edge.startswith(("http://", "https://")):
        return
    target.edge_url = edge if target.trust_edge else on_host_of(edge, target.base_url)
