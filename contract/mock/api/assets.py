"""Cached assets: purge or invalidate (the focus operation), look up, analytics.

The purge rules, in the order a request meets them: the checked parameters (S6, S17 in the
generated check) and the rules of S12 as we interpret them (S21-S23, S25), both met at
admission (`contract.checks.purge_rules`); then here the service lookup
(S18), then the rate limit (S11, S24). Only a purge the server would accept counts against
the project's 20 a minute: purges of unknown ids (another project's, random ones) never
use up a tenant's allowance, and never leave a window behind. An accepted request becomes a
job that completes after the documented time (S13, S14) and is answered 202 with `Location`
and no body (S2-S4). A job's url is the path as the edge's cache keys it (its fragment and
query dropped, normalised as `contract.mock.edge.cache` says), so a purge reaches every
spelling of its file.
"""

from __future__ import annotations

from contract.checks.messages import Outgoing, empty_response, error_response, json_response
from contract.mock import behaviours
from contract.mock.api import services
from contract.mock.edge.cache import cache_path
from contract.mock.runtime import Call
from contract.mock.state.ratelimit import retry_after
from contract.mock.state.store import JobsFull


def purge(call: Call) -> Outgoing:
    """S1: 202 (S2) with Location (S3) and no body (S4); 429 with Retry-After past the rate
    limit (S11, S24); a job per request, done after S13/S14's time; 404 (S18)."""
    runtime = call.runtime
    now = runtime.clock()
    hard: bool = call.params.query["hard"]
    url: str | None = call.params.query.get("url")
    purge = runtime.facts.contract.purge  # its rules are the admission's (purge_rules)
    service_id = call.params.path["service_id"]
    refused = _unknown_or_busy(call, service_id)
    if refused is not None:
        return refused
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
    try:
        call.store.add_job(call.project_id, service_id, "purge" if hard else "invalidate",
                           hard, cache_path(url or "/*"), now, now + runtime.seconds(documented))
    except JobsFull as full:  # --max-jobs: an accepted job is never dropped unfinished
        return error_response(503, "the mock holds --max-jobs purge jobs, none of them "
                              "finished yet; try again later",
                              headers=[("Retry-After", retry_after(full.retry_after))])
    return empty_response(202, [("Location", call.url(services.location(call, service_id)))])


def _unknown_or_busy(call: Call, service_id: str) -> Outgoing | None:
    """404 for a service not found (S18); under `busy-until-deployed`, the 400 for one not
    deployed (its stored document read only then: a purge otherwise asks if it exists)."""
    if "busy-until-deployed" not in call.runtime.behaviours.offered:
        return None if call.store.has_service(call.project_id, service_id) \
            else services.missing(call)
    document = services.find(call)
    return services.missing(call) if document is None else \
        services.not_deployed(call, document)


def cached(call: Call) -> Outgoing:
    """The edge's copy of the asset (our interpretation of the docs' open body: `edge` is
    null when the mock runs no edge), and the purge jobs that name it or everything."""
    if not call.store.has_service(call.project_id, call.params.path["service_id"]):
        return services.missing(call)
    service_id, url = call.params.path["service_id"], call.params.query["url"]
    call.store.count(call.project_id, service_id, "asset_lookups")
    now = call.runtime.clock()
    keys = (cache_path(url), "/*")  # as the jobs are keyed
    jobs = [job.as_dict(now) for job in call.store.jobs(service_id, urls=keys)
            if job.project_id == call.project_id]
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
