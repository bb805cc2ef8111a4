"""`/__mock__/...`: what tests and the conformance suite ask the mock directly.

The prefix cannot collide with the API: every API path starts with `/v1.0/`.
"""

from __future__ import annotations

import itertools

from contract.checks.messages import (
    Incoming,
    Outgoing,
    empty_response,
    error_response,
    json_response,
)
from contract.mock.api import filters
from contract.mock.journal import as_dict, cited, har
from contract.mock.runtime import Runtime
from contract.mock.state.store import redacted

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
                               "any_token": settings.tokens is None,
                               "time_scale": settings.time_scale,
                               "db": redacted(settings.db), "edge": runtime.edge_url,
                               "behave": runtime.behaviours.describe()})


def _reset(request: Incoming, runtime: Runtime) -> Outgoing:
    runtime.reset()
    return empty_response(204)


JOBS_PAGE = 1000  # jobs a page holds unless `limit` says otherwise (at most 10,000)


def _jobs(request: Incoming, runtime: Runtime) -> Outgoing:
    """The accepted purge requests, with the `hard` the mock applied (S7a/S7b), a page at a
    time: `service_id`, `status` (done, in_progress), `limit`, and `marker` (the last id of
    the previous page, which `next` gives)."""
    service_id = request.query_value("service_id")
    status = request.query_value("status")
    limit, marker = request.query_value("limit") or str(JOBS_PAGE), \
        request.query_value("marker") or "0"
    if status not in (None, "done", "in_progress"):
        return error_response(400, f"status {status!r} is not done or in_progress")
    if not (limit.isdigit() and 1 <= int(limit) <= 10 * JOBS_PAGE) or not marker.isdigit():
        return error_response(400, f"limit must be 1 to {10 * JOBS_PAGE} and marker a job id "
                              f"(got limit={limit!r}, marker={marker!r})")
    now = runtime.clock()
    page = runtime.store.jobs(service_id, status=status, now=now, after=int(marker),
                              limit=int(limit))
    return json_response(200, {"jobs": [job.as_dict(now) for job in page],
                               "next": page[-1].id if len(page) == int(limit) else None})


def _requests(request: Incoming, runtime: Runtime) -> Outgoing:
    """The journal, oldest first, a page at a time (`limit`, and `marker`: the last id of
    the previous page, which the `next` link carries), filtered by `operation`, `method`,
    `path` (a prefix), `service` (its id), `status` (404, or a class: 4xx) and
    `since`/`until` (ISO 8601 or epoch seconds); `format=har` gives the page as HAR."""
    journal = runtime.journal
    if journal is None:
        return error_response(404, "the journal is off (--journal 0)")
    try:
        keep, limit, marker = filters.parse(request)
    except ValueError as error:
        return error_response(400, str(error))
    page = list(itertools.islice(journal.select(keep, marker), limit + 1))
    more, page = len(page) > limit, page[:limit]
    if request.query_value("format") == "har":
        return Outgoing(200, [("Content-Type", "application/json")],
                        har(page, runtime.facts.contract.variant).encode("utf-8"))
    index = runtime.statements
    links = [{"rel": "next", "href": filters.next_href(request, page[-1].id)}] \
        if more else []
    return json_response(200, {"requests": [as_dict(served, index.touched(
        served.operation, (name for name, _ in served.request.query), served.status,
        cited(served.response.body if served.status >= 400 and served.response else b"")))
        for served in page], "links": links, "kept": len(journal.entries),
        "dropped": journal.dropped})


def _clear_requests(request: Incoming, runtime: Runtime) -> Outgoing:
    if runtime.journal is not None:
        runtime.journal.clear()
    return empty_response(204)


def _coverage(request: Incoming, runtime: Runtime) -> Outgoing:
    return json_response(200, runtime.coverage_report())


_ROUTES = {("GET", "health"): _health, ("POST", "reset"): _reset, ("GET", "jobs"): _jobs,
           ("GET", "requests"): _requests, ("DELETE", "requests"): _clear_requests,
           ("GET", "coverage"): _coverage}
_OPEN = {("GET", "health")}  # what a load balancer or a client may ask without a token


def is_open(request: Incoming) -> bool:
    """Whether the route answers without a token even under --tokens: the health check
    only; reset wipes every project, jobs, requests and coverage show them all, so they
    are no back door."""
    return (request.method, request.path[len(PREFIX):]) in _OPEN
