"""Controls users expect from a mock: `Prefer` (forced status or example) and CORS (faults:
`contract.mock.faults`). None of them changes state."""

from __future__ import annotations

import json

from contract.checks.messages import Incoming, Outgoing, empty_response, error_response
from contract.checks.routing import Match
from contract.mock.runtime import Runtime
from contract.mock.state.ratelimit import retry_after


def preference(request: Incoming) -> dict[str, str]:
    """`Prefer: code=503, example=cdn-getService_response` → {"code": "503", ...}."""
    found: dict[str, str] = {}
    for token in (request.header("prefer") or "").replace(";", ",").split(","):
        name, _, value = token.strip().partition("=")
        if name and value:
            found[name.strip().lower()] = value.strip().strip('"')
    return found


def preferred(request: Incoming, match: Match, runtime: Runtime) -> Outgoing | None:
    """The response `Prefer` asks for, or None when it asks for nothing."""
    wanted = preference(request)
    operation = match.operation
    examples = runtime.facts.examples.get(operation.id, {})
    if "example" in wanted:
        for status, named in sorted(examples.items()):
            if wanted["example"] in named:
                return _with_body(status, named[wanted["example"]], request, match, runtime)
        known = sorted(name for named in examples.values() for name in named)
        return error_response(400, f"Prefer: example={wanted['example']} is not an example of "
                              f"{operation.id} (known: {', '.join(known) or 'none'})")
    if "code" in wanted:
        code = wanted["code"]
        if not code.isdigit() or int(code) not in operation.statuses:
            documented = ", ".join(str(s) for s in operation.statuses)
            return error_response(400, f"Prefer: code={code} is not a documented status of "
                                  f"{operation.id} (documented: {documented})")
        status = int(code)
        documented_examples = examples.get(status)
        if documented_examples:
            return _with_body(status, next(iter(documented_examples.values())), request, match,
                              runtime)
        if status >= 400:
            limit = runtime.facts.contract.rate_limits.get(operation.id)
            headers = [("Retry-After", retry_after(limit.period_seconds))] \
                if limit is not None and status == limit.exceeded_status else []
            return error_response(status, f"status {status} forced by Prefer: code={code}",
                                  headers=headers)
        # no example: a documented body is one the docs show no sample of, open by rule (S39)
        shows_body = status in runtime.facts.contract.with_body.get(operation.id, ())
        body: dict[str, object] | None = {} if shows_body else None
        return _with_body(status, body, request, match, runtime)
    return None


def _with_body(status: int, value: object, request: Incoming, match: Match,
               runtime: Runtime) -> Outgoing:
    headers = []
    if status in runtime.facts.contract.located.get(match.operation.id, ()):
        service_id = match.path_params.get("service_id")
        target = f"/v1.0/services/{service_id}" if service_id else "/v1.0/services"
        headers.append(("Location", request.base_url + target))
    if value is None:
        return empty_response(status, headers)
    body = json.dumps(value, ensure_ascii=False).encode("utf-8")
    return Outgoing(status, [("Content-Type", "application/json"), *headers], body)


CORS_EXPOSED = "Location, Retry-After, X-Contract-Violations"


def cors_headers(request: Incoming) -> list[tuple[str, str]]:
    return [("Access-Control-Allow-Origin", request.header("origin") or "*"),
            ("Access-Control-Expose-Headers", CORS_EXPOSED), ("Vary", "Origin")]


def preflight(request: Incoming) -> Outgoing:
    asked = request.header("access-control-request-headers") or "X-Auth-Token, Content-Type"
    return empty_response(204, [
        *cors_headers(request),
        ("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS"),
        ("Access-Control-Allow-Headers", asked), ("Access-Control-Max-Age", "600")])
