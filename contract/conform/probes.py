"""Probes: send requests to the implementation under test and record what came back.

A probe judges nothing. It returns a `Record` (its exchanges by label, and what else it saw,
such as the purge jobs a target reports), and the judge of its check decides what the record
says about the statements. Every exchange sent through `Context.send` is also kept for the
error-body judge (S16), whichever probe sent it.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contract.conform.target import SERVICE_BODY, EdgeTarget, Exchange, Target
from contract.model import Contract

UNKNOWN_SERVICE = "00000000-0000-4000-8000-000000000000"
DEPLOY_TIMEOUT = 60.0  # seconds to wait for `deployed`; the wait ends as soon as it is
NO_SERVICE = ("the target did not create a service to purge (POST /services did not answer "
              "202 with a Location)")


@dataclass
class Context:
    """The run a probe belongs to: the target, the contract it is held to, the statements of
    the variant, and every exchange sent so far."""

    target: Target
    contract: Contract  # every limit, rate, duration and default the checks expect
    document: dict[str, Any]  # for schemathesis, which reads the spec itself
    statements: set[str]  # ids that belong to this variant
    rate_limit_check: bool = False
    edge: EdgeTarget | None = None  # the CDN edge and the suite's origin, when given
    exchanges: list[Exchange] = field(default_factory=list)  # all sent, for S16

    def __post_init__(self) -> None:
        self.target.token_header = self.contract.token_header  # how the target is addressed

    @property
    def variant(self) -> str:
        return self.contract.variant

    def fresh(self) -> tuple[str, str] | None:
        """A new service in a new project (or the fixed one), or None if none was created."""
        project = self.target.project()
        service = self.target.create_service(project)
        return (project, service) if service else None

    def deployed(self, project: str, service: str) -> tuple[bool, Exchange]:
        """Wait (at most DEPLOY_TIMEOUT) for the service to be `deployed`; the last GET."""
        deadline = time.monotonic() + DEPLOY_TIMEOUT
        while True:
            answer = self.send("GET", f"/v1.0/{project}/services/{service}")
            if answer.status == 200 and answer.response.json().get("status") == "deployed":
                return True, answer
            if time.monotonic() > deadline:
                return False, answer
            time.sleep(0.05)

    def send(self, method: str, path: str, **options: Any) -> Exchange:
        """`target.send`, keeping the exchange for the error-body judge (S16)."""
        exchange = self.target.send(method, path, **options)
        self.exchanges.append(exchange)
        return exchange

    def purge_path(self, project: str, service: str) -> str:
        return self.contract.purge.template.format(project_id=project, service_id=service)

    def purge(self, project: str, service: str, **params: str) -> Exchange:
        return self.send(self.contract.purge.method, self.purge_path(project, service),
                         params=params)


@dataclass
class Record:
    """What one probe saw. `unobservable` says why it could not look, when it could not."""

    exchanges: dict[str, Exchange] = field(default_factory=dict)
    seen: dict[str, Any] = field(default_factory=dict)
    unobservable: str | None = None


def on_a_new_service(probe: Callable[[Context, Record, str, str], None]
                     ) -> Callable[[Context], Record]:
    """A probe that needs a service of its own in a fresh project: it is called with the
    record, the project and the service; when the target creates none, the record says so
    (unobservable) and the probe is not called."""
    @functools.wraps(probe)
    def run(ctx: Context) -> Record:
        record = Record()
        fresh = ctx.fresh()
        if fresh is None:
            record.unobservable = NO_SERVICE
            return record
        record.seen["project"], record.seen["service"] = fresh
        probe(ctx, record, *fresh)
        return record
    return run


@on_a_new_service
def purge_once(ctx: Context, record: Record, project: str, service: str) -> None:
    """A valid purge, then one with a request body (S1-S4, S9)."""
    record.exchanges["purge"] = ctx.purge(project, service, url="/index.html", hard="true")
    record.exchanges["purge with a body"] = ctx.send(
        ctx.contract.purge.method, ctx.purge_path(project, service),
        params={"url": "/index.html"}, content=b'{"x": 1}',
        headers={"Content-Type": "application/json"})


@on_a_new_service
def both_modes(ctx: Context, record: Record, project: str, service: str) -> None:
    """Purge and invalidation of one file, invalidation of everything and of a wildcard
    (S5, S6, S14)."""
    for hard in ("true", "false"):
        record.exchanges[f"hard={hard}"] = ctx.purge(project, service, url="/index.html",
                                                     hard=hard)
    record.exchanges["invalidate everything"] = ctx.purge(project, service, hard="false")
    record.exchanges["invalidate a wildcard"] = ctx.purge(project, service, url="/images/*",
                                                          hard="false")


@on_a_new_service
def purge_without_hard(ctx: Context, record: Record, project: str, service: str) -> None:
    """A purge that leaves `hard` out, and the job the target recorded for it (S7a, S7b,
    S13)."""
    record.exchanges["purge"] = ctx.purge(project, service, url="/index.html")
    record.seen["jobs"] = ctx.target.jobs(project, service)
    record.seen["time_scale"] = ctx.target.time_scale


@on_a_new_service
def project_in_header(ctx: Context, record: Record, project: str, service: str) -> None:
    """The purge with the project in `X-Project-Id` instead of the path (S8)."""
    header = ctx.contract.alternative_headers["project_id"]
    path = ctx.purge_path(project, service).replace(f"/{project}/", "/", 1)
    record.exchanges["header form"] = ctx.send(
        ctx.contract.purge.method, path, params={"url": "/index.html", "hard": "true"},
        headers={header: project})


def tokens(ctx: Context) -> Record:
    """Purges without a token and with an empty one; a listing with an invalid one when the
    user told us a valid token (S10)."""
    record = Record()
    project = ctx.target.project()
    path = ctx.purge_path(project, UNKNOWN_SERVICE)
    for label, token in (("purge without", None), ("purge with an empty", "")):
        record.exchanges[f"{label} token"] = ctx.send(
            ctx.contract.purge.method, path, params={"url": "/index.html"}, token=token)
    if ctx.target.token_known:
        record.exchanges["request with an invalid token"] = ctx.send(
            "GET", f"/v1.0/{project}/services", token=ctx.target.token + "-not-valid")
    return record


@on_a_new_service
def purge_rules(ctx: Context, record: Record, project: str, service: str) -> None:
    """The purges our interpretations refuse (S12, S21-S23, S25)."""
    record.exchanges["wildcard purge"] = ctx.purge(project, service, url="/images/*",
                                                   hard="true")
    record.exchanges["purge without url"] = ctx.purge(project, service, hard="true")
    record.exchanges["non-ASCII url"] = ctx.purge(project, service, url="/café.png",
                                                  hard="false")
    record.exchanges["all with url"] = ctx.purge(project, service, url="/index.html",
                                                 all="true")


@on_a_new_service
def hard_not_boolean(ctx: Context, record: Record, project: str, service: str) -> None:
    """Purges whose `hard` is not a boolean (S17)."""
    for value in ("maybe", "yes"):
        record.exchanges[f"hard={value}"] = ctx.purge(project, service, url="/index.html",
                                                      hard=value)


def unknown_services(ctx: Context) -> Record:
    """A purge of a service that does not exist, and of another project's (S18)."""
    record = Record()
    record.exchanges["an unknown service"] = ctx.purge(ctx.target.project(), UNKNOWN_SERVICE,
                                                    url="/index.html", hard="true")
    fresh = ctx.fresh()
    if fresh is not None and not ctx.target.project_id:  # one fixed project: no other
        record.exchanges["another project's service"] = ctx.purge(
            ctx.target.project(), fresh[1], url="/index.html", hard="true")
    return record


def over_the_limits(ctx: Context) -> Record:
    """A URI and a body one over the contract's limits, a `limit` one over its maximum
    (S19)."""
    record = Record()
    project = ctx.target.project()
    limits = ctx.contract.limits
    path = f"/v1.0/{project}/services"
    marker = "a" * (limits.max_uri_length + 1 - len(path + "?marker="))
    record.exchanges["long URI"] = ctx.send("GET", path, params={"marker": marker})
    empty = json.dumps({**SERVICE_BODY, "name": ""})
    padded = json.dumps({**SERVICE_BODY,
                         "name": "x" * (limits.max_body_bytes + 1 - len(empty.encode()))})
    record.exchanges["large body"] = ctx.send("POST", path, content=padded.encode(),
                                              headers={"Content-Type": "application/json"})
    maximum = ctx.contract.page_limit.maximum
    if maximum is not None:
        record.exchanges["limit over the maximum"] = ctx.send(
            "GET", path, params={"limit": str(maximum + 1)})
    return record


def json_listing(ctx: Context) -> Record:
    """A listing that asks for JSON (S20)."""
    return Record({"listing": ctx.send("GET", f"/v1.0/{ctx.target.project()}/services",
                                       headers={"Accept": "application/json"})})


def purge_burst(ctx: Context) -> Record:
    """One purge more than the rate limit allows, in a row, on a new service (S11, S24)."""
    if ctx.contract.purge.operation not in ctx.contract.rate_limits:
        return Record()
    if not ctx.rate_limit_check:
        return Record(unobservable="needs a fresh rate-limit window: run with "
                      "--rate-limit-check")
    return _burst(ctx)


@on_a_new_service
def _burst(ctx: Context, record: Record, project: str, service: str) -> None:
    limit = ctx.contract.rate_limits[ctx.contract.purge.operation]
    for n in range(limit.requests + 1):
        record.exchanges[f"purge {n + 1}"] = ctx.purge(project, service, url=f"/file-{n}.png",
                                                       hard="true")

