"""Our checks, one small named function per observable statement of CONTRACT-NOTES.

Each takes the `Context` and yields `Outcome`s citing its statement. A check that cannot
observe its statement on this target says so (`not observable`); it never passes by
default. Failures of INTERPRETATION rows are reported as warnings (by the runner).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from contract.conform.outcome import Outcome, Status
from contract.conform.target import SERVICE_BODY, Exchange, Target
from contract.formats import CANONICAL_UUID
from contract.model import Contract

UNKNOWN_SERVICE = "00000000-0000-4000-8000-000000000000"


@dataclass
class Context:
    target: Target
    contract: Contract  # every limit, rate, duration and default the checks expect
    document: dict[str, Any]  # for schemathesis, which reads the spec itself
    statements: set[str]  # ids that belong to this variant
    rate_limit_check: bool = False
    errors_seen: list[Exchange] = field(default_factory=list)  # every 4xx, for S16

    def fresh(self) -> tuple[str, str] | None:
        project = self.target.project()
        service = self.target.create_service(project)
        return (project, service) if service else None

    def send(self, method: str, path: str, **options: Any) -> Exchange:
        """`target.send`, keeping every 4xx for the error-body check (S16)."""
        exchange = self.target.send(method, path, **options)
        if 400 <= exchange.status < 500:
            self.errors_seen.append(exchange)
        return exchange

    @property
    def variant(self) -> str:
        return self.contract.variant

    def purge_path(self, project: str, service: str) -> str:
        return self.contract.purge.template.format(project_id=project, service_id=service)

    def purge(self, project: str, service: str, **params: str) -> Exchange:
        return self.send(self.contract.purge.method, self.purge_path(project, service),
                         params=params)


Check = Callable[[Context], Iterator[Outcome]]
CHECKS: list[tuple[str, Check]] = []


def check(*statements: str) -> Callable[[Check], Check]:
    """Register a check for the statements it observes."""
    def register(function: Check) -> Check:
        CHECKS.append((",".join(statements), function))
        return function
    return register


ServiceCheck = Callable[[Context, str, str], Iterator[Outcome]]


def on_a_new_service(*statements: str) -> Callable[[ServiceCheck], Check]:
    """Register a check that needs a service of its own in a fresh project."""
    def register(function: ServiceCheck) -> Check:
        def run(ctx: Context) -> Iterator[Outcome]:
            return _with_new_service(ctx, statements, function)

        run.__name__ = function.__name__
        return check(*statements)(run)
    return register


def _with_new_service(ctx: Context, statements: tuple[str, ...],
                      function: ServiceCheck) -> Iterator[Outcome]:
    """`function(ctx, project, service)`; when the target creates no service, its
    statements are reported not observable."""
    fresh = ctx.fresh()
    if fresh is None:
        for statement in statements:
            if statement in ctx.statements:
                yield _unobservable(statement, "the target did not create a service to purge "
                                    "(POST /services did not answer 202 with a Location)")
        return
    yield from function(ctx, *fresh)


def _outcome(statement: str, ok: bool, message: str, exchange: Exchange | None = None
             ) -> Outcome:
    """Pass or fail; the runner turns failures of INTERPRETATION rows into warnings."""
    status = Status.PASS if ok else Status.FAIL
    return Outcome(statement, status, message, curl=exchange.curl if exchange else "")


def _unobservable(statement: str, why: str) -> Outcome:
    return Outcome(statement, Status.NOT_OBSERVABLE, why)


@on_a_new_service("S1", "S2", "S3", "S4", "S9")
def purge_is_accepted(ctx: Context, project: str,
                      service: str) -> Iterator[Outcome]:
    canonical = bool(CANONICAL_UUID.fullmatch(service))
    yield _outcome("S9", canonical, f"service id {service!r} from the Location of "
                   f"createService {'is' if canonical else 'is not'} a UUID")
    done = ctx.purge(project, service, url="/index.html", hard="true")
    yield _outcome("S1", done.status not in (404, 405), f"DELETE .../assets answered "
                   f"{done.status}", done)
    yield _outcome("S2", done.status == 202, f"a valid purge answered {done.status} "
                   "(expected 202)", done)
    location = done.response.headers.get("Location")
    expected = re.compile(rf"^https?://[^/]+(/.*)?/v1\.0/({re.escape(project)}/)?services/"
                          rf"{re.escape(service)}$")
    yield _outcome("S3", bool(location and expected.match(location)),
                   f"Location is {location!r} (expected <base>/v1.0/services/{service})",
                   done)
    yield _outcome("S4", done.response.content == b"", f"the 202 carries "
                   f"{len(done.response.content)} body bytes (expected none)", done)
    with_body = ctx.send(ctx.contract.purge.method, ctx.purge_path(project, service),
                         params={"url": "/index.html"}, content=b'{"x": 1}',
                         headers={"Content-Type": "application/json"})
    yield _outcome("S4", 400 <= with_body.status < 500, f"a purge with a request body "
                   f"answered {with_body.status} (expected 400)", with_body)


@on_a_new_service("S5", "S6", "S14")
def optional_url_and_both_modes(ctx: Context, project: str,
                                service: str) -> Iterator[Outcome]:
    for hard in ("true", "false"):
        done = ctx.purge(project, service, url="/index.html", hard=hard)
        yield _outcome("S6", done.status == 202, f"hard={hard} answered {done.status}", done)
    everything = ctx.purge(project, service, hard="false")
    yield _outcome("S5", everything.status == 202, f"an invalidation without url answered "
                   f"{everything.status} (url is optional)", everything)
    if "S14" in ctx.statements:
        wildcard = ctx.purge(project, service, url="/images/*", hard="false")
        yield _outcome("S14", wildcard.status == 202, f"an invalidation of /images/* "
                       f"answered {wildcard.status} (wildcards are allowed)", wildcard)


@on_a_new_service("S7a", "S7b", "S13")
def default_of_hard(ctx: Context, project: str,
                    service: str) -> Iterator[Outcome]:
    statement = "S7b" if "S7b" in ctx.statements else "S7a"
    expected = ctx.contract.purge.hard_default
    done = ctx.purge(project, service, url="/index.html")
    jobs = ctx.target.jobs(project, service)
    if jobs is None:
        yield _unobservable(statement, "the target has no /__mock__/jobs and no --observer "
                            "was given: the hard it applied cannot be seen over HTTP")
        return
    if done.status != 202 or not jobs:
        yield _outcome(statement, False, f"a purge without hard answered {done.status} and "
                       "recorded no job", done)
        return
    applied = jobs[-1].get("hard")
    yield _outcome(statement, applied is expected, f"a purge without hard was applied with "
                   f"hard={applied} (the {ctx.variant} docs say {expected})", done)
    if "S13" in ctx.statements and "done_at" in jobs[-1] and applied is True:
        took = jobs[-1]["done_at"] - jobs[-1]["accepted_at"]
        wanted = ctx.contract.purge.purge.completes_after_seconds * ctx.target.time_scale
        yield _outcome("S13", abs(took - wanted) <= max(1.0, 0.1 * wanted), f"the purge job "
                       f"completes {took:.1f} s after the 202 (documented: about "
                       f"{wanted:.0f} s)", done)


@on_a_new_service("S8")
def project_in_header(ctx: Context, project: str,
                      service: str) -> Iterator[Outcome]:
    done = ctx.target.send("DELETE", f"/v1.0/services/{service}/assets",
                           params={"url": "/index.html", "hard": "true"},
                           headers={"X-Project-Id": project})
    yield _outcome("S8", done.status == 202, f"the X-Project-Id form answered {done.status} "
                   "(expected 202, like the URI form)", done)


@check("S10")
def token_required(ctx: Context) -> Iterator[Outcome]:
    project = ctx.target.project()
    path = f"/v1.0/{project}/services/{UNKNOWN_SERVICE}/assets?url=/index.html"
    for label, token in (("without X-Auth-Token", None), ("with an empty X-Auth-Token", "")):
        answer = ctx.send("DELETE", path, token=token)
        yield _outcome("S10", answer.status == 401, f"a purge {label} answered "
                       f"{answer.status} (expected 401)", answer)
    if ctx.target.token_known:
        answer = ctx.send("GET", f"/v1.0/{project}/services",
                          token=ctx.target.token + "-not-valid")
        yield _outcome("S10", answer.status == 401, f"a request with an invalid token "
                       f"answered {answer.status} (expected 401)", answer)


@on_a_new_service("S12", "S21", "S22", "S23", "S25")
def purge_rules(ctx: Context, project: str,
                service: str) -> Iterator[Outcome]:
    wildcard = ctx.purge(project, service, url="/images/*", hard="true")
    yield _outcome("S12", wildcard.status != 202, f"a purge (hard=true) of /images/* "
                   f"answered {wildcard.status}: wildcards are not in effect for purges",
                   wildcard)
    yield _outcome("S21", wildcard.status == 400, f"hard=true with a wildcard answered "
                   f"{wildcard.status} (our interpretation: 400)", wildcard)
    no_url = ctx.purge(project, service, hard="true")
    yield _outcome("S22", no_url.status == 400, f"hard=true without url answered "
                   f"{no_url.status} (our interpretation: 400)", no_url)
    accented = ctx.purge(project, service, url="/café.png", hard="false")
    yield _outcome("S23", accented.status == 400, f"a non-ASCII url answered "
                   f"{accented.status} (our interpretation: 400)", accented)
    both = ctx.purge(project, service, url="/index.html", all="true")
    yield _outcome("S25", both.status == 400, f"all=true with url answered {both.status} "
                   "(expected 400)", both)


@on_a_new_service("S17")
def hard_must_be_boolean(ctx: Context, project: str,
                         service: str) -> Iterator[Outcome]:
    for value in ("maybe", "yes"):
        answer = ctx.purge(project, service, url="/index.html", hard=value)
        yield _outcome("S17", answer.status == 400, f"hard={value} answered {answer.status} "
                       "(expected 400)", answer)


@check("S18")
def unknown_service_is_404(ctx: Context) -> Iterator[Outcome]:
    project = ctx.target.project()
    unknown = ctx.purge(project, UNKNOWN_SERVICE, url="/index.html", hard="true")
    yield _outcome("S18", unknown.status == 404, f"a purge of an unknown service answered "
                   f"{unknown.status} (expected 404)", unknown)
    fresh = ctx.fresh()
    if fresh is None or ctx.target.project_id:
        return  # one fixed project: there is no other project to try
    _, service = fresh
    other = ctx.purge(ctx.target.project(), service, url="/index.html", hard="true")
    yield _outcome("S18", other.status == 404, f"a purge of another project's service "
                   f"answered {other.status} (expected 404)", other)


@check("S19")
def request_limits(ctx: Context) -> Iterator[Outcome]:
    project = ctx.target.project()
    limits = ctx.contract.limits
    path = f"/v1.0/{project}/services"
    marker = "a" * (limits.max_uri_length + 1 - len(path + "?marker="))  # one over the limit
    long = ctx.send("GET", path, params={"marker": marker})
    yield _outcome("S19", long.status == 414, f"a {limits.max_uri_length + 1}-character URI "
                   f"answered {long.status} (expected 414: at most {limits.max_uri_length})",
                   long)
    body = json.dumps({**SERVICE_BODY, "name": ""}).encode()
    padded = json.dumps({**SERVICE_BODY, "name": "x" * (limits.max_body_bytes + 1 - len(body))})
    big = ctx.send("POST", path, content=padded.encode(),
                   headers={"Content-Type": "application/json"})
    yield _outcome("S19", big.status == 413, f"a {len(padded)}-byte body answered "
                   f"{big.status} (expected 413: at most {limits.max_body_bytes})", big)
    maximum = ctx.contract.page_limit.maximum
    if maximum is not None:
        over = ctx.send("GET", f"/v1.0/{project}/services", params={"limit": str(maximum + 1)})
        yield _outcome("S19", over.status == 400, f"limit={maximum + 1} answered {over.status} "
                       f"(expected 400: at most {maximum})", over)


@check("S20")
def json_is_served(ctx: Context) -> Iterator[Outcome]:
    answer = ctx.target.send("GET", f"/v1.0/{ctx.target.project()}/services",
                             headers={"Accept": "application/json"})
    media = answer.response.headers.get("Content-Type", "")
    yield _outcome("S20", answer.status == 200 and media.startswith("application/json"),
                   f"Accept: application/json got {answer.status} {media!r}", answer)


@check("S11", "S24")
def rate_limit(ctx: Context) -> Iterator[Outcome]:
    if "S11" not in ctx.statements or ctx.contract.purge.operation not in ctx.contract.rate_limits:
        return
    if not ctx.rate_limit_check:
        yield _unobservable("S11", "needs a fresh one-minute window: run with "
                            "--rate-limit-check")
        return
    yield from _with_new_service(ctx, ("S11", "S24"), _burst)


def _burst(ctx: Context, project: str,
           service: str) -> Iterator[Outcome]:
    limit = ctx.contract.rate_limits[ctx.contract.purge.operation]
    answers = [ctx.purge(project, service, url=f"/file-{n}.png", hard="true")
               for n in range(limit.requests + 1)]
    accepted = sum(a.status == 202 for a in answers)
    last = answers[-1]
    yield _outcome("S11", accepted == limit.requests and last.status == limit.exceeded_status,
                   f"{limit.requests + 1} purges in a row: {accepted} accepted, the last "
                   f"answered {last.status} (expected {limit.requests} and "
                   f"{limit.exceeded_status})", last)
    if last.status == limit.exceeded_status:
        retry = last.response.headers.get("Retry-After", "")
        yield _outcome("S24", retry.isdigit(), f"the 429 carries Retry-After {retry!r} "
                       "(seconds)", last)


@check("S15")
def edge_revalidation(ctx: Context) -> Iterator[Outcome]:
    if "S15" in ctx.statements:
        yield _unobservable("S15", "how the edge revalidates with the origin after an "
                            "invalidation happens between the CDN and the origin, not over "
                            "this API")


@check("S16")
def error_bodies(ctx: Context) -> Iterator[Outcome]:
    """Runs last: judges the error answers every other check collected."""
    for exchange in ctx.errors_seen:
        if not 400 <= exchange.status < 500:
            continue
        try:
            body = exchange.response.json()
            messages = [e["message"] for e in body["message"]["errors"]]
            ok = bool(messages) and all(isinstance(m, str) for m in messages) and \
                exchange.response.headers.get("Content-Type", "").startswith(
                    "application/json")
        except (ValueError, KeyError, TypeError):
            ok = False
        yield _outcome("S16", ok, f"the {exchange.status} " + ("carries" if ok else "lacks")
                       + " the documented error body", exchange)
