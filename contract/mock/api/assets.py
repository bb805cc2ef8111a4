"""Cached assets: purge or invalidate (the focus operation), look up, analytics.

The purge rules, in the order a request meets them: the checked parameters (S6, S17 in the
generated check), the rules of S12 as we interpret them (S21-S23, S25), the service lookup
(S18), then the rate limit (S11, S24). Only a purge the server would accept counts against
the project's 20 a minute: purges of unknown ids (another project's, random ones) never
use up a tenant's allowance, and never leave a window behind. An accepted request becomes a
job that completes after the documented time (S13, S14) and is answered 202 with `Location`
and no body (S2-S4).
"""

from __future__ import annotations

from contract.checks.messages import Outgoing, empty_response, error_response, json_response
from contract.mock import behaviours
from contract.mock.api import services
from contract.mock.runtime import Call
from contract.mock.state.ratelimit import retry_after
from contract.model import PurgeMode


def purge(call: Call) -> Outgoing:
    """S1: 202 (S2) with Location (S3) and no body (S4); 429 with Retry-After past the rate
    limit (S11, S24); a job per request, done after S13/S14's time; 404 (S18)."""
    runtime = call.runtime
    now = runtime.clock()
    hard: bool = call.params.query["hard"]
    url: str | None = call.params.query.get("url")
    every = str(call.params.query.get("all", "")).lower() == "true"
    purge = runtime.facts.contract.purge
    refused = _refused(purge.mode(hard), url, every)
    if refused:
        return error_response(400, refused)
    service_id = call.params.path["service_id"]
    if not call.store.has_service(call.project_id, service_id):
        return services.missing(call)
    limiter = runtime.limiters.get(purge.operation)
    wait = limiter.admit(call.project_id, now) if limiter is not None else None
    if limiter is not None and wait is not None:
        seconds = retry_after(wait)
        cited = ", ".join(limiter.limit.statements)
        return error_response(
            limiter.limit.exceeded_status, f"rate limit: {limiter.limit.requests} purge "
            f"requests per {limiter.limit.period_seconds:g} s per {limiter.limit.scope} "
            f"({cited}); wait {seconds} s and try again",
            headers=behaviours.retry_after(call.behaves, wait, runtime.seconds(
                limiter.limit.period_seconds), now))
    documented = purge.mode(hard).completes_after_seconds
    call.store.add_job(call.project_id, service_id, "purge" if hard else "invalidate", hard,
                       url or "/*", now, now + runtime.seconds(documented))
    return empty_response(202, [("Location", call.url(services.location(call, service_id)))])


def _refused(mode: PurgeMode, url: str | None, every: bool) -> str | None:
    """The rules between the parameters, as the mode's semantics in the spec state them
    (x-purge-semantics: wildcards, files per request) and as we interpret S12."""
    if every and url is not None:
        return "all=true and url cannot be combined: all=true already covers every asset (S25)"
    if url is not None and not url.isascii():
        return f"url {url!r} has non-ASCII characters; percent-encode them (S23)"
    if not mode.wildcards and url is not None and "*" in url:
        return (f"url {url!r} has a wildcard, which {_named(mode)} does not take: name one "
                "file, or use the mode that takes wildcards (S12, S21)")
    if mode.files_per_request is not None and url is None and not every:
        return f"{_named(mode)} needs the url of one file, or all=true (S12, S22)"
    return None


def _named(mode: PurgeMode) -> str:
    return f"a {'purge' if mode.hard else 'cache invalidation'} (hard={str(mode.hard).lower()})"


def cached(call: Call) -> Outgoing:
    """The edge's copy of the asset (our interpretation of the docs' open body: `edge` is
    null when the mock runs no edge), and the purge jobs that name it or everything."""
    if not call.store.has_service(call.project_id, call.params.path["service_id"]):
        return services.missing(call)
    service_id, url = call.params.path["service_id"], call.params.query["url"]
    call.store.count(call.project_id, service_id, "asset_lookups")
    now = call.runtime.clock()
    jobs = [job.as_dict(now) for job in call.store.jobs(service_id)
            if job.url in (url, "/*") and job.project_id == call.project_id]
    edge = call.runtime.edge
    return json_response(200, {"service_id": service_id, "url": url,
                               "edge": edge.asset(service_id, url, now) if edge else None,
                               "jobs": jobs})


def analytics(call: Call) -> Outgoing:
    """The API's counters, and what the edge served by cache state (our interpretation:
    the docs leave the body open; with `url`, the edge's copy of that asset too)."""
    if not call.store.has_service(call.project_id, call.params.path["service_id"]):
        return services.missing(call)
    service_id, url = call.params.path["service_id"], call.params.query.get("url")
    edge = call.runtime.edge
    body = {"service_id": service_id, "url": url,
            "counters": call.store.counters(call.project_id, service_id),
            "edge": edge.analytics(service_id) if edge else None}
    if edge is not None and url is not None:
        body["asset"] = edge.asset(service_id, url, call.runtime.clock())
    return json_response(200, body)
