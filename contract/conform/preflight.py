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
        lines.append(_hint([answer.status for _, answer, _ in answers]))
        raise InputError("\n".join(lines))
    offered = _flavors(answers[2][1].json())
    chosen = target.fixtures.flavor_id
    if chosen is None:
        target.fixtures.flavor_id = offered[0] if offered else "cdn"
    elif offered and chosen not in offered:  # the user's typo, not the target's failure
        raise InputError(f"--flavor-id {chosen}: the target offers no such flavor (GET "
                         f"/flavors lists {', '.join(offered)})")
    _introspect(target)


def _hint(statuses: list[int]) -> str:
    """What to check, from what the four reads got: a 401 on every read is the token."""
    if all(status == 401 for status in statuses):
        return ("Every read was refused with 401: the target does not accept the token. "
                "Check --token (or $CDN_CONTRACT_TOKEN) and any header your gateway wants "
                "(--header).")
    if all(status == 403 for status in statuses):
        return ("Every read was refused with 403: the token is not allowed this project. "
                "Check --project-id and --token.")
    return ("Check the base URL (the part before /v1.0), --token, --project-id and "
            "--header.")


def _flavors(body: Any) -> list[str]:
    """The ids GET /flavors listed (none when its body is not a list of them)."""
    flavors = body.get("flavors") if isinstance(body, dict) else body
    if not isinstance(flavors, list):
        return []
    return [f["id"] for f in flavors if isinstance(f, dict) and isinstance(f.get("id"), str)]


def edge_given(target: Target, groups: tuple[str, ...], edge_url: str | None) -> None:
    """`--checks edge` asks only for the edge checks: with no edge to check (none given,
    none the target names), nothing could be judged: the user's input, exit 2, before
    anything is created (it was exit 1, every statement not observable, and a hint naming
    the --origin-listen the user had given)."""
    if groups == ("edge",) and edge_url is None and target.edge_url is None:
        raise InputError(f"--checks edge: {target.base_url} names no edge (its "
                         "/__mock__/health does not, or it has none) and no --edge-url was "
                         "given: say where the CDN's edge answers, or run --checks api")


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
    target.any_token = data.get("any_token") is True
    scale = data.get("time_scale", 1.0)
    if target.time_scale is None and isinstance(scale, int | float) and scale > 0:
        target.time_scale = float(scale)
    edge = data.get("edge")
    if not isinstance(edge, str) or not edge.startswith(("http://", "https://")):
        return
    target.edge_url = edge if target.trust_edge else on_host_of(edge, target.base_url)
