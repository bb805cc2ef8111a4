"""`/__mock__/...`: what tests and the conformance suite ask the mock directly.

The prefix cannot collide with the API: every API path starts with `/v1.0/`.
"""

from __future__ import annotations

from contract.mock.messages import Incoming, Outgoing, empty_response, error_response, json_response
from contract.mock.runtime import Runtime

PREFIX = "/__mock__/"


def answer(request: Incoming, runtime: Runtime) -> Outgoing:
    handler = _ROUTES.get((request.method, request.path[len(PREFIX):]))
    if handler is None:
        known = ", ".join(f"{m} {PREFIX}{n}" for m, n in _ROUTES)
        return error_response(404, f"{request.method} {request.path} is not a mock control "
                              f"(known: {known})")
    return handler(request, runtime)


def _health(request: Incoming, runtime: Runtime) -> Outgoing:
    settings = runtime.settings
    return json_response(200, {"status": "ok", "variant": runtime.facts.contract.variant,
                               "rate_limit": bool(runtime.limiters),
                               "time_scale": settings.time_scale,
                               "db": settings.db})


def _reset(request: Incoming, runtime: Runtime) -> Outgoing:
    runtime.reset()
    return empty_response(204)


def _jobs(request: Incoming, runtime: Runtime) -> Outgoing:
    """Every accepted purge request, with the `hard` the mock applied (S7a/S7b)."""
    service_id = request.query_value("service_id")
    now = runtime.clock()
    return json_response(200, {"jobs": [job.as_dict(now)
                                        for job in runtime.store.jobs(service_id)]})


_ROUTES = {("GET", "health"): _health, ("POST", "reset"): _reset, ("GET", "jobs"): _jobs}
