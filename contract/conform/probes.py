"""Probes: send requests to the implementation under test and record what came back.

A probe judges nothing. It returns a `Record` (its exchanges by label, and what else it saw,
such as the purge jobs a target reports), and the judge of its check decides what the record
says about the statements. Every exchange sent through `Context.send` is also kept for the
error-body judge (S16), whichever probe sent it.
"""

from __future__ import annotations

import collections
import functools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from contract.conform.gate import Breach
from contract.conform.outcome import SPEC, Outcome, Status, curl
from contract.conform.target import OURS, Answer, EdgeTarget, Seen, Target, poll, service_status
from contract.model import Contract, RateLimit
from contract.openapi import operations

UNKNOWN_SERVICE = "00000000-0000-4000-8000-000000000000"
STATUSES = ("create_in_progress", "deployed", "update_in_progress", "delete_in_progress",
            "failed")  # S34


class Unobservable(Exception):
    """A step a probe depends on did not go as documented: the probe's statements cannot
    be observed. `exchange` is the step's request and answer, shown to the user."""

    def __init__(self, why: str, exchange: Answer | None = None, cause: str = ""):
        super().__init__(why)
        self.why, self.exchange, self.cause = why, exchange, cause  # cause: `why` sans values

    def outcome(self, statement: str, check: str) -> Outcome:
        shown = f": {self.exchange.describe()}" if self.exchange else ""
        came = f", got {self.exchange.gist()}" if self.exchange else ""
        return Outcome(statement, Status.NOT_OBSERVABLE, self.why + shown, check,
                       self.exchange.curl if self.exchange else "",
                       self.exchange.response if self.exchange else None,
                       f"{statement} not observable: {self.cause or self.why}{came}")


@dataclass
class Context:
    """The run a probe belongs to: the target, the contract it is held to, the statements of
    the variant, every exchange sent so far, and what the services' lifecycle showed."""

    target: Target
    contract: Contract  # every limit, rate, duration and default the checks expect
    document: dict[str, Any]  # for schemathesis, which reads the spec itself
    statements: set[str]  # ids that belong to this variant
    rate_limit_check: bool = False
    edge: EdgeTarget | None = None  # the CDN edge and the suite's origin, when given
    progress: Callable[[str], None] = lambda _: None
    exchanges: list[Answer] = field(default_factory=list)  # all sent, for S16
    lifecycle: dict[str, Outcome] = field(default_factory=dict)  # S34, by cause
    breaches: list[Outcome] = field(default_factory=list)  # the bounds the target passed
    _ready: list[tuple[str, list[str]] | Unobservable] = field(default_factory=list)
    _deploys: dict[tuple[str, str], Seen] = field(default_factory=dict)  # what each showed
    _undeployed: bool = False  # this variant's S34 says a deploy wait ran out
    _purges: collections.deque[float] = field(default_factory=collections.deque)
    _unawaited: list[tuple[str, str]] = field(default_factory=list)  # created, not waited for
    # the deletions being waited for (`gone`), beside the checks: when each wait began, and
    # the last answer read
    _waiting: dict[tuple[str, str], tuple[float, Answer | None]] = field(default_factory=dict)
    # held by a rate-limit burst: no purge of another thread (the scenario) falls within it
    purging: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.target.token_header = self.contract.token_header  # how the target is addressed

    @property
    def variant(self) -> str:
        return self.contract.variant

    def send(self, method: str, path: str, **options: Any) -> Answer:
        """`target.send`, keeping the exchange for the error-body judge (S16)."""
        exchange = self.target.send(method, path, **options)
        self.exchanges.append(exchange)
        return exchange

    # -- services ---------------------------------------------------------------------------
    def prepare(self, groups: list[int]) -> None:
        """Create the services the checks need, `groups[i]` of them in one project for
        each; the first `services()` waits for them all together, within one
        --deploy-timeout (S34), so the checks that need none run beside their deploy."""
        made: list[tuple[str, list[str]] | Unobservable] = []
        for size in groups:
            try:
                made.append(self._create_group(size))
            except Unobservable as failed:
                made.append(failed)
            except Breach as breach:
                made.append(self.breached(breach, "services"))
        self._unawaited += [(group[0], one) for group in made
                            if not isinstance(group, Unobservable) for one in group[1]]
        self._ready += made

    def breached(self, breach: Breach, check: str) -> Unobservable:
        """A bound the target passed (or a URL off its origin) is a finding on it, said
        once per check; what the step needed cannot be observed."""
        cause = f"conform's bound {breach.bound} broken"
        if not any(o.check == check and o.cause == cause for o in self.breaches):
            self.breaches.append(Outcome(SPEC, Status.FAIL, f"the target broke conform's "
                                         f"bound ({breach.bound}): {breach}", check,
                                         cause=cause))
        return Unobservable(f"the target broke conform's bound ({breach.bound}): {breach}",
                            cause=f"the target broke conform's bound {breach.bound}")

    def service(self) -> tuple[str, str]:
        """A deployed service of its own, in a fresh project (or the fixed one): (project,
        service). Raises Unobservable with the step that failed."""
        project, (service,) = self.services(1)
        return project, service

    def services(self, count: int) -> tuple[str, list[str]]:
        """`count` deployed services of one project, no other probe uses: prepared ones when
        there are, else new ones, waited for together."""
        if self._unawaited:
            awaited, self._unawaited = self._unawaited, []
            try:
                self._await_deploys(awaited)
            except Breach as breach:  # none of the prepared services can be judged
                self._ready = [self.breached(breach, "services")] * len(self._ready)
        group = next((g for g in self._ready if not isinstance(g, Unobservable) and
                      len(g[1]) == count), None) or \
            next((g for g in self._ready if isinstance(g, Unobservable)), None)
        if group is not None:
            self._ready.remove(group)
        else:
            try:
                group = self._create_group(count)
            except Unobservable as failed:
                group = failed
            if not isinstance(group, Unobservable):
                self._await_deploys([(group[0], one) for one in group[1]])
        if isinstance(group, Unobservable):
            raise group
        for one in group[1]:
            self._check_deployed(group[0], one)
        return group

    def create(self, project: str, body: dict[str, Any]) -> str:
        """createService with `body`; the new service's id, or Unobservable with the
        target's answer."""
        service, answer = self.target.create_service(project, body)
        self.exchanges.append(answer)
        if service is None:
            raise Unobservable("the target did not create a service (expected 202 with a "
                               "Location)", answer)
        return service

    def _create_group(self, size: int) -> tuple[str, list[str]]:
        project = self.target.project()
        return project, [self.create(project, self.target.service_body()[0])
                         for _ in range(size)]

    def deployed(self, project: str, service: str) -> None:
        """Wait for `deployed` (see `_check_deployed`)."""
        self._await_deploys([(project, service)])
        self._check_deployed(project, service)

    def _await_deploys(self, services: list[tuple[str, str]]) -> None:
        """Read the services until none is `create_in_progress`, all in one wait. Once a
        wait of this run ran out (S34 failed), no later one waits: one read each."""
        if not services:
            return
        limit = 0.0 if self.target.deploy_wait_over else self._limit()
        for seen in poll(self.send, services, lambda a: service_status(a) !=
                         "create_in_progress", limit, "deploy", self.progress,
                         self.target.scale):
            self._deploys[(seen.project, seen.service)] = seen
        stuck = [s for s in self._deploys.values() if service_status(s.last) ==
                 "create_in_progress"]
        if stuck and not self._undeployed:
            self._undeployed = self.target.deploy_wait_over = True
            waited = f"after --deploy-timeout ({self._limit():g} s)" if limit else \
                "(the run's one deploy wait ran out before: read once)"
            self._lifecycle(False, f"{len(stuck)} of {len(self._deploys)} new service(s) were "
                            f"still create_in_progress {waited}: {stuck[0].service} showed "
                            f"{stuck[0].history()}", stuck[0].last, "deploy never completed")

    def _check_deployed(self, project: str, service: str) -> None:
        """A service that fails, reports a status the docs do not list, or never deploys
        within --deploy-timeout is judged under S34, and the probe that needed it cannot
        observe its statements (Unobservable)."""
        seen = self._deploys[(project, service)]
        answer, status = seen.last, service_status(seen.last)
        if status == "deployed":
            self._lifecycle(True, "a new service went from create_in_progress to deployed",
                            answer)
            return
        if answer.status != 200:
            raise Unobservable(f"the new service {service} could not be read", answer,
                               "the new service could not be read")
        if status == "create_in_progress":
            raise Unobservable(f"no new service deployed within --deploy-timeout "
                               f"({self._limit():g} s; S34 quotes the statuses seen)", answer,
                               "no service deployed in time")
        if status == "failed":
            self._lifecycle(None, "a new service ended `failed` (the docs allow it; a valid "
                            "service is expected to deploy)", answer)
        else:
            self._lifecycle(False, f"a new service reported status {status!r}, not one of "
                            f"{', '.join(STATUSES)}", answer)
        raise Unobservable(f"the new service {service} did not deploy (last status: "
                           f"{status}; see S34)", answer, "the new service did not deploy")

    def updated(self, project: str, service: str) -> Answer:
        """After an update: wait while the service is `update_in_progress` (S34); the last
        GET (a service still updating after --deploy-timeout is judged under S34)."""
        (seen,) = poll(self.send, [(project, service)], lambda a: service_status(a) !=
                       "update_in_progress", self._limit(), "update", self.progress,
                       self.target.scale)
        answer, status = seen.last, service_status(seen.last)
        if status == "update_in_progress":
            self._lifecycle(False, f"an updated service was still update_in_progress after "
                            f"--deploy-timeout ({self._limit():g} s): {seen.history()}",
                            answer, "update never completed")
        elif status not in STATUSES:
            self._lifecycle(False, f"an updated service reported status {status!r}, not one "
                            f"of {', '.join(STATUSES)}", answer)
        return answer

    def gone(self, project: str, service: str) -> Seen:
        """After an accepted DELETE: read the service until it answers 404, within
        --deploy-timeout; what it showed meanwhile is judged under S34 (`delete_in_progress`
        while it lasts; a read that still shows `deployed` before that only lags). The
        deletion completed only when the last read is a 404."""
        key, began = (project, service), time.monotonic()
        self._waiting[key] = (began, None)

        def send(method: str, path: str, **options: Any) -> Answer:
            answer = self.send(method, path, **options)
            self._waiting[key] = began, answer
            return answer

        (seen,) = poll(send, [key], lambda a: a.status == 404, self._limit(), "be deleted",
                       self.progress, self.target.scale)
        del self._waiting[key]
        statuses = [service_status(answer) for _, answer in seen.reads[:-1]]
        wrong = next((n for n, status in enumerate(statuses) if status not in (
            "deployed", "delete_in_progress") or (status == "deployed" and
                                                  "delete_in_progress" in statuses[:n])), None)
        if seen.last.status != 404:
            self._lifecycle(False, f"a deleted service still answered {seen.last.status} "
                            f"after --deploy-timeout ({self._limit():g} s): "
                            f"{seen.history()}", seen.last, "deletion never completed")
        elif wrong is not None:
            self._lifecycle(False, f"a deleted service showed {seen.history()} (expected "
                            "delete_in_progress, then 404)", seen.reads[wrong][1],
                            "a status out of order during deletion")
        else:
            self._lifecycle(True, f"a deleted service answered 404 once its deletion "
                            f"completed ({seen.history()})", seen.last, "deletion completed")
        return seen

    def unfinished(self) -> list[Outcome]:
        """S34 for each deletion still waited for when the run stopped: not yet observed,
        how long it was waited for and the last answer (the report of a stopped run)."""
        now, found = time.monotonic(), []
        for (project, service), (began, last) in list(self._waiting.items()):
            said = last.describe() if last is not None else "none yet"
            found.append(Outcome("S34", Status.NOT_OBSERVABLE, f"not yet observed: the "
                                 f"deletion of {service} (project {project}) was waited for "
                                 f"{now - began:.0f} s, last answer: {said}", "lifecycle",
                                 last.curl if last else "", last.response if last else None,
                                 "S34 lifecycle: deletion not yet observed"))
        return found

    def _limit(self) -> float:
        return self.target.fixtures.deploy_timeout * self.target.scale

    def _lifecycle(self, ok: bool | None, message: str, exchange: Answer,
                   cause: str | None = None) -> None:
        """An S34 outcome, one per cause (`message` when it names none)."""
        status = Status.WARNING if ok is None else Status.PASS if ok else Status.FAIL
        key = f"S34 lifecycle: {cause or message}"
        self.lifecycle.setdefault(key, Outcome("S34", status, message, "lifecycle",
                                               exchange.curl, exchange.response, key))

    # -- purges -----------------------------------------------------------------------------
    def purge_path(self, project: str, service: str) -> str:
        return self.contract.purge.template.format(project_id=project, service_id=service)

    def purge(self, project: str, service: str, **params: str) -> Answer:
        return self.purge_at(self.purge_path(project, service), params)

    def purge_at(self, path: str, params: dict[str, str], **options: Any) -> Answer:
        """A purge request to `path`, paced (see `pace`), never within another thread's
        burst (`purging`)."""
        with self.purging:
            self.pace()
            answer = self.send(self.contract.purge.method, path, params=params, **options)
            if answer.accepted:
                self._purges.append(time.monotonic())
        return answer

    def pace(self, fresh_window: bool = False) -> None:
        """In one fixed project (a real account) every purge counts against the rate limit
        (S11): wait so that no check meets a 429 it did not ask for, and, for the burst, until
        a new window surely began (a minute after the last accepted purge)."""
        limit = self.contract.rate_limits.get(self.contract.purge.operation)
        if limit is None or self.target.identity.project_id is None:
            return
        now = time.monotonic()
        while self._purges and now - self._purges[0] > limit.period_seconds:
            self._purges.popleft()
        wait = 0.0
        if fresh_window and self._purges:
            wait = self._purges[-1] + limit.period_seconds + 1 - now
        elif len(self._purges) >= limit.requests - 1:
            wait = self._purges[0] + limit.period_seconds + 1 - now
        if wait > 0:
            self.progress(f"  waiting {wait:.0f} s: the rate limit counts this project's "
                          "purges")
            time.sleep(wait)
            self._purges.clear()


@dataclass
class Record:
    """What one probe saw (a probe that cannot look raises Unobservable instead)."""

    exchanges: dict[str, Answer] = field(default_factory=dict)
    seen: dict[str, Any] = field(default_factory=dict)


def on_a_new_service(probe: Callable[[Context, Record, str, str], None]
                     ) -> Callable[[Context], Record]:
    """A probe that needs a deployed service of its own: it is called with the record, the
    project and the service; when none can be had, Unobservable says which step failed."""
    @functools.wraps(probe)
    def run(ctx: Context) -> Record:
        record = Record()
        record.seen["project"], record.seen["service"] = fresh = ctx.service()
        probe(ctx, record, *fresh)
        return record
    return needs(lambda ctx: 1)(run)


Probe = Callable[[Context], Record]


def needs(count: Callable[[Context], int]) -> Callable[[Probe], Probe]:
    """Marks a probe that takes `count(ctx)` deployed services of one project (`services`):
    the runner creates them before any check runs, and waits for all together."""
    def mark(probe: Probe) -> Probe:
        probe.needs = count  # type: ignore[attr-defined]
        return probe
    return mark


def services_needed(probe: Probe, ctx: Context) -> int:
    """How many deployed services of one project `probe` takes (0: it makes its own)."""
    count: Callable[[Context], int] = getattr(probe, "needs", lambda _: 0)
    return count(ctx)


@on_a_new_service
def purge_once(ctx: Context, record: Record, project: str, service: str) -> None:
    """A valid purge and the jobs the target then recorded, then a purge with a request
    body (S1-S4, S9)."""
    record.exchanges["purge"] = done = ctx.purge(project, service, url="/index.html",
                                                 hard="true")
    record.seen["jobs"] = ctx.target.jobs(project, service, awaited=done)
    record.exchanges["purge with a body"] = ctx.purge_at(
        ctx.purge_path(project, service), {"url": "/index.html"}, content=b'{"x": 1}',
        headers={"Content-Type": "application/json"})


BOTH_MODES = (("hard=true", {"url": "/index.html", "hard": "true"}),
              ("hard=false", {"url": "/index.html", "hard": "false"}),
              ("invalidate everything", {"hard": "false"}),
              ("invalidate a wildcard", {"url": "/images/*", "hard": "false"}))


@needs(lambda ctx: len(BOTH_MODES))
def both_modes(ctx: Context) -> Record:
    """Purge and invalidation of one file, invalidation of everything and of a wildcard
    (S5, S6, S14), each on a service of its own: a target may keep a service out of
    `deployed` after an invalidation and refuse the next purge on it (issue 48: S5 and S14
    failed or passed by the server's backlog when the four shared one)."""
    record = Record()
    project, services = ctx.services(len(BOTH_MODES))
    for (label, params), service in zip(BOTH_MODES, services, strict=True):
        record.exchanges[label] = ctx.purge(project, service, **params)
    return record


@on_a_new_service
def purge_without_hard(ctx: Context, record: Record, project: str, service: str) -> None:
    """A purge that leaves `hard` out, and the job the target recorded for it (S7a, S7b,
    S13)."""
    record.exchanges["purge"] = done = ctx.purge(project, service, url="/index.html")
    record.seen["jobs"] = ctx.target.jobs(project, service, awaited=done)
    record.seen["time_scale"] = ctx.target.scale


@on_a_new_service
def project_in_header(ctx: Context, record: Record, project: str, service: str) -> None:
    """The purge with the project in `X-Project-Id` instead of the path (S8)."""
    header = ctx.contract.alternative_headers["project_id"]
    path = ctx.purge_path(project, service).replace(f"/{project}/", "/", 1)
    record.exchanges["header form"] = ctx.purge_at(
        path, {"url": "/index.html", "hard": "true"}, headers={header: project})


def tokens(ctx: Context) -> Record:
    """Purges without a token and with an empty one; a listing with an invalid one when the
    user told us a valid token (S10)."""
    record = Record()
    project = ctx.target.project()
    path = ctx.purge_path(project, UNKNOWN_SERVICE)
    for label, token in (("purge without", None), ("purge with an empty", "")):
        record.exchanges[f"{label} token"] = ctx.send(
            ctx.contract.purge.method, path, params={"url": "/index.html"}, token=token)
    if ctx.target.identity.token_known:
        record.exchanges["request with an invalid token"] = ctx.send(
            "GET", f"/v1.0/{project}/services",
            token=ctx.target.identity.token + "-not-valid")
    return record


@on_a_new_service
def purge_rules(ctx: Context, record: Record, project: str, service: str) -> None:
    """The purges our interpretations refuse (S21-S23, S25)."""
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
    for value in ("maybe", "yes", "(", "a b"):
        record.exchanges[f"hard={value}"] = ctx.purge(project, service, url="/index.html",
                                                      hard=value)


def _other_tenant(ctx: Context) -> bool:
    """Whether a second tenant can be asked for (a real account needs one given)."""
    identity = ctx.target.identity
    return identity.project_id is None or identity.other_project_id is not None


OWN = "the same on our own service: "  # the label of an S18 request's control


@needs(lambda ctx: 1 if _other_tenant(ctx) else 0)
def unknown_services(ctx: Context) -> Record:
    """A purge of a service that does not exist; every operation on a service of ours asked
    by another tenant (S18): another project with our token, or with a real account the
    second one the user gave (--other-project-id, --other-token). Each is followed by the
    same request on our own service (a refusal is blamed on tenancy only when that one is
    accepted); an update is waited for before the delete."""
    record = Record()
    record.exchanges["a purge of an unknown service"] = ctx.purge(
        ctx.target.project(), UNKNOWN_SERVICE, url="/index.html", hard="true")
    if not _other_tenant(ctx):
        record.seen["no other tenant"] = True
        return record
    identity = ctx.target.identity
    other = identity.other_project_id or ctx.target.project()
    token = identity.other_token or OURS
    project, service = ctx.service()
    asset = {"url": "/index.html"}
    for label, method, suffix, options in (
            ("a read", "GET", "", {}),
            ("a purge", ctx.contract.purge.method, "/assets", {}),
            ("a cached-asset report", "GET", "/assets", {"params": asset}),
            ("an analytics report", "GET", "/analytics", {}),
            ("an update", "PATCH", "", {"json": [{"op": "replace", "path": "/name",
                                                  "value": "not-yours"}]}),
            ("a delete", "DELETE", "", {})):
        for key, owner, extra in ((f"{label} of another project's service", other,
                                   {"token": token}), (OWN + label, project, {})):
            path = f"/v1.0/{owner}/services/{service}{suffix}"
            own = record.exchanges[key] = ctx.purge_at(path, asset, **extra) \
                if label == "a purge" else ctx.send(method, path, **options, **extra)
        if method == "PATCH" and own.accepted:
            ctx.updated(project, service)
    return record


PADDING = "conform-padding"  # a query parameter the contract sets no rule on


def over_the_limits(ctx: Context) -> Record:
    """A URI and a body one over the contract's limits, a `limit` one over its maximum
    (S19). Each after a control that differs only by being at the limit: a listing padded
    with a query parameter the contract sets no rule on (not `marker`, which names a
    service), a create body padded with JSON whitespace (not a member a target may limit),
    `limit` at its maximum. A refused control shows another rule at work, not the limit."""
    record = Record()
    project = ctx.target.project()
    limits = ctx.contract.limits
    path = f"/v1.0/{project}/services"
    for label, size in (("URI at the limit", limits.max_uri_length),
                        ("long URI", limits.max_uri_length + 1)):
        pad = "a" * (size - len(f"{path}?{PADDING}="))
        record.exchanges[label] = ctx.send("GET", path, params={PADDING: pad})
    for label, size in (("body at the limit", limits.max_body_bytes),
                        ("large body", limits.max_body_bytes + 1)):
        text = json.dumps(ctx.target.service_body()[0])
        padded = "{" + " " * (size - len(text.encode())) + text[1:]
        record.exchanges[label] = ctx.send("POST", path, content=padded.encode(),
                                           headers={"Content-Type": "application/json"})
        ctx.target.remember(project, record.exchanges[label])  # created: removed at the end
    maximum = ctx.contract.page_limit.maximum
    if maximum is not None:
        for label, value in (("limit at the maximum", maximum),
                             ("limit over the maximum", maximum + 1)):
            record.exchanges[label] = ctx.send("GET", path, params={"limit": str(value)})
    return record


def json_listing(ctx: Context) -> Record:
    """A listing that asks for JSON (S20)."""
    return Record({"listing": ctx.send("GET", f"/v1.0/{ctx.target.project()}/services",
                                       headers={"Accept": "application/json"})})


def _burst_services(ctx: Context) -> int:
    """Two services of one project under a documented limit, one without; none unless
    asked for (--rate-limit-check)."""
    if not ctx.rate_limit_check:
        return 0
    return 1 if ctx.contract.rate_limits.get(ctx.contract.purge.operation) is None else 2


@needs(_burst_services)
def purge_burst(ctx: Context) -> Record:
    """One purge more than the rate limit allows, spread over two services of one project,
    then one more half a minute after the refused one (S11, S24, S35). Under a variant that
    documents no limit, the same burst on one service: a 429 there is a status the variant
    does not document."""
    if not ctx.rate_limit_check:
        raise Unobservable("needs a fresh rate-limit window: run with --rate-limit-check")
    record = Record()
    limit = ctx.contract.rate_limits.get(ctx.contract.purge.operation)
    project, services = ctx.services(_burst_services(ctx))
    service = services[0]
    if limit is None:  # documented nowhere: one service, one burst, whatever comes back
        for n in range(LIMITLESS_BURST):
            record.exchanges[f"purge {n + 1}"] = ctx.purge(project, service,
                                                           url=f"/file-{n}.png", hard="true")
        return record
    with ctx.purging:  # the scenario's purges, beside, wait until the burst is over
        return _burst(ctx, record, limit, project, services)


def _burst(ctx: Context, record: Record, limit: RateLimit, project: str,
           services: list[str]) -> Record:
    """One purge more than `limit` allows over two services, and the late one. A burst
    that was all accepted but did not fit in one minute is sent once more: on a loaded
    machine (or a slow server) a minute can end within the burst, and a window that ends
    there is no fault of the server (the verdict moved between runs)."""
    ctx.pace(fresh_window=True)
    minute = limit.period_seconds * ctx.target.scale
    for attempt in range(1, BURST_ATTEMPTS + 1):
        if attempt > 1:  # a fresh window under every reading: a minute since the last purge
            time.sleep(minute)
        record.exchanges.clear()
        took = _one_burst(ctx, record, limit, project, services, minute)
        record.seen.update(burst=took, attempts=attempt)
        overaccepted = sum(a.accepted for a in record.exchanges.values()) > limit.requests
        if took < minute or not overaccepted:
            break
    time.sleep(minute / 2)
    record.seen["late purge"] = ctx.purge(project, services[0], url="/late.png", hard="true")
    # within the minute if answered within it: a purge judged so before it was sent could
    # reach the server after the minute, on a machine that stalled between the two
    record.seen["late"] = time.monotonic() - record.seen["started"] < minute
    record.seen["minute"] = minute
    return record


def _one_burst(ctx: Context, record: Record, limit: RateLimit, project: str,
               services: list[str], minute: float) -> float:
    """`limit` + 1 purges in a row, alternating between the two services (the limit counts
    the project, not each service), from the start of a calendar minute: such a burst is
    within one minute under both readings of the window (from the first purge, or the
    calendar minute: S11). Returns how long it took, from that start (not from the end of a
    sleep that overshot it, under load) to the last answer."""
    for _ in range(3):  # sleep keeps the monotonic clock, the minute is the wall clock's:
        time.sleep(minute - time.time() % minute)  # woken early, or past half the minute,
        if (late := time.time() % minute) < minute / 2:  # it waits for the next one
            break
    started = record.seen["started"] = time.monotonic() - late  # where the minute began
    spans = []  # (sent, took) of each purge, sent from the minute's start
    for n in range(limit.requests + 1):
        sent = time.monotonic()
        record.exchanges[f"purge {n + 1}"] = ctx.purge(project, services[n % 2],
                                                       url=f"/file-{n}.png", hard="true")
        spans.append((sent - started, time.monotonic() - sent))
    (sent, took), others = spans[-1], [t for _, t in spans[:-1]]
    # the purge past the limit, sent within the minute, answered after it and far slower
    # than any other: held by the server until a new window began, not refused
    record.seen["held"] = record.seen.get("held", True) and sent < minute <= sent + took \
        and took > 2 * max(others)
    record.seen["held for"] = (limit.requests + 1, sent, took)
    return time.monotonic() - started


BURST_ATTEMPTS = 2  # a burst that overran its minute is sent once more, then judged as seen


LIMITLESS_BURST = 21  # purges sent in a row under a variant that states no rate limit


def list_pages(ctx: Context) -> Record:
    """Services walked page by page (`limit`, `marker`, the `next` links), a page past the
    end, a `limit` of 0, and the flavors' list (S33)."""
    record = Record()
    project = ctx.target.project()
    record.seen["created"] = [ctx.create(project, ctx.target.service_body()[0])
                              for _ in range(PAGED)]
    record.seen["limit"] = PAGE_LIMIT
    url = f"/v1.0/{project}/services"
    params: dict[str, str] | None = {"limit": str(PAGE_LIMIT)}
    pages = ctx.target.bounds.max_pages
    for page in range(1, pages + 1):
        answer = record.exchanges[f"page {page}"] = ctx.send("GET", url, params=params)
        following = next_link(answer)
        if following is None:
            break
        # a URL resolved, never text appended; its query whole (httpx drops it for params)
        url, params = ctx.target.follow(following, answer), None
    else:
        record.seen["cut"] = pages
    last = [i for e in record.exchanges.values() for i in listed_ids(e) or []][-1:]
    if last:
        record.exchanges["past the end"] = ctx.send(
            "GET", f"/v1.0/{project}/services", params={"marker": last[0]})
    record.exchanges["limit=0"] = ctx.send("GET", f"/v1.0/{project}/services",
                                           params={"limit": "0"})
    record.exchanges["flavors"] = ctx.send("GET", f"/v1.0/{project}/flavors")
    return record


PAGED, PAGE_LIMIT = 5, 2  # services created and walked two at a time: three pages


def listed_ids(answer: Answer) -> list[str] | None:
    """The ids on a services page, or None when the answer is not one (S33)."""
    body = answer.json()
    services = body.get("services") if isinstance(body, dict) else None
    if answer.status != 200 or not isinstance(services, list):
        return None
    return [str(s.get("id")) for s in services if isinstance(s, dict)]


def next_link(answer: Answer) -> str | None:
    """The `href` of a page's `rel: next` link, if any."""
    body = answer.json()
    links = body.get("links") if isinstance(body, dict) else None
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("rel") == "next":
            return str(link.get("href", ""))
    return None


REFUSE = "refuse: "  # the label of a request the spec does not allow


@needs(lambda ctx: 2)
def patch_service(ctx: Context) -> Record:
    """JSON Patch operations the spec does not allow and a path that names nothing, on one
    service (one the target takes leaves it updating: the next waits until it is done);
    then a valid update of another, untouched one, and what it shows once it is deployed
    again (S34)."""
    record = Record()
    project, (refusing, updating) = ctx.services(2)
    patch = {"Content-Type": "application/json-patch+json"}
    path = f"/v1.0/{project}/services/{refusing}"
    refused: dict[str, list[dict[str, Any]]] = {
        f"op {op}": [{"op": op, "from": "/name", "path": "/name", "value": "conform-patched"}]
        for op in ("copy", "move", "test", "merge")}
    refused["a path that names nothing"] = [{"op": "replace", "path": "/no_such_member",
                                             "value": 1}]
    for label, body in refused.items():
        answer = record.exchanges[REFUSE + label] = ctx.send("PATCH", path, headers=patch,
                                                             json=body)
        if answer.accepted:  # taken: the next one waits until it is done
            ctx.updated(project, refusing)
    name = f"conform-renamed-{ctx.target.run_id}"
    record.seen["name"] = name
    record.exchanges["update"] = ctx.send(
        "PATCH", f"/v1.0/{project}/services/{updating}", headers=patch,
        json=[{"op": "replace", "path": "/name", "value": name}])
    if record.exchanges["update"].accepted:
        record.exchanges["after the update"] = ctx.updated(project, updating)
    return record


HOSTILE = ("(", "a b", '"', "'", "\\", "%FF", "%00", "9" * 40, "-1", "1e999", "[]", "{}",
           "\u00e9\u0301", "*" * 300)
HOSTILE_BODIES = (b"[]", b"{}", b'"x"', b"1e999", b"null", b"[" * 4000 + b"]" * 4000,
                  b"\xff\xfe{", b'{"name": {"$gt": ""}}', b'{"domains": "x"}',
                  b'{"name": "' + b"\\u0000" * 50 + b'"}')  # each within the 8 KB of S19


@on_a_new_service
def hostile_inputs(ctx: Context, record: Record, project: str, service: str) -> None:
    """Values no client should send, in every query parameter, path parameter and body of
    every operation, and in the headers a server parses (S36). Purges go to an unknown
    service: a value that happens to be valid must not spend the rate limit."""
    def send(label: str, method: str, path: str, **options: Any) -> None:
        try:
            record.exchanges[label] = ctx.send(method.upper(), path, **options)
        except httpx.TransportError as error:  # dropped: a failure of the server (S36)
            record.seen.setdefault("dropped", []).append((
                f"{label}: the connection closed without an answer ({error!r})",
                curl(error.request, ctx.target.identity.secrets())))  # nothing else to quote

    for template, method, operation in operations(ctx.document):
        ids = {"project_id": project, "service_id": service,
               "flavor_id": ctx.target.fixtures.flavor_id or "cdn"}
        if method.upper() == ctx.contract.purge.method and template == ctx.contract.purge.template:
            ids["service_id"] = UNKNOWN_SERVICE
        where = operation.get("operationId", f"{method} {template}")
        for param in operation.get("parameters", []):
            name, place = param.get("name"), param.get("in")
            for value in HOSTILE:
                if place == "query":
                    send(f"{where} {name}={value!r}", method, template.format(**ids),
                         params={name: value})
                elif place == "path" and name in ids and name != "project_id":
                    send(f"{where} {name}={value!r}", method, template.format(**{
                        **ids, name: value if value.startswith("%") else quote(value, safe="")}))
        if "requestBody" in operation and method != "delete":
            media = next(iter(operation["requestBody"].get("content") or {}), "")
            for body in HOSTILE_BODIES:
                send(f"{where} body {body[:20]!r}", method, template.format(**ids),
                     content=body, headers={"Content-Type": media or "application/json"})
    for value in ("(((", "application/json;q=abc", "*/*;;;"):
        send(f"header Accept: {value!r}", "GET", f"/v1.0/{project}/services",
             headers={"Accept": value})
    header = ctx.contract.alternative_headers.get("project_id")
    if header is None or ctx.target.identity.project_id is not None:
        return  # a real account's requests name its project only
    for value in [v for v in HOSTILE if v.isascii()]:  # the project in its header (S8)
        send(f"header {header}: {value!r}", "GET", "/v1.0/services", headers={header: value})


@on_a_new_service
def domain_taken(ctx: Context, record: Record, project: str, service: str) -> None:
    """A service in another project claiming the domain of a live one (S37)."""
    held = ctx.send("GET", f"/v1.0/{project}/services/{service}").json() or {}
    domains = held.get("domains") if isinstance(held, dict) else None
    if not domains or not isinstance(domains, list) or not isinstance(domains[0], dict):
        raise Unobservable("the service's domains could not be read")
    record.seen["domain"] = domain = domains[0].get("domain")
    body = {**ctx.target.service_body()[0], "domains": [{"domain": domain}]}
    other = ctx.target.identity.other_project_id or ctx.target.project()
    _, answer = ctx.target.create_service(other, body)
    ctx.exchanges.append(answer)
    record.exchanges["the same domain, another service"] = answer


def without_log_delivery(ctx: Context) -> Record:
    """A create that leaves `log_delivery` out, as the SDK sends it (S38); every other create
    of the suite sends it."""
    record = Record()
    body = {key: value for key, value in ctx.target.service_body()[0].items()
            if key != "log_delivery"}
    project = ctx.target.project()
    service, answer = ctx.target.create_service(project, body)
    ctx.exchanges.append(answer)
    record.exchanges["create without log_delivery"] = answer
    if service is not None:
        shown = ctx.send("GET", f"/v1.0/{project}/services/{service}")
        record.exchanges["the service created"] = shown
    return record



def location_read_back(ctx: Context) -> Record:
    """A create, then a GET of its `Location` as the target wrote it, with the same token and
    nothing else (no X-Project-Id): what a client library that follows the Location does
    (S40)."""
    record = Record()
    project = ctx.target.project()
    service, created = ctx.target.create_service(project, ctx.target.service_body()[0])
    ctx.exchanges.append(created)
    location = created.response.headers.get("Location")
    if service is None or not location:
        raise Unobservable("the target did not create a service (expected 202 with a "
                           "Location)", created)
    record.seen["service"], record.seen["location"] = service, location
    record.exchanges["Location read back"] = ctx.send("GET", ctx.target.follow(location,
                                                                               created))
    return record


@on_a_new_service
def responses_read(ctx: Context, record: Record, project: str, service: str) -> None:
    """The reads whose bodies the docs' samples show (S39): a service, the page listing it,
    the flavors, the home document; each recorded under its operation."""
    for operation, path in (("getService", f"/services/{service}"),
                            ("getAllServices", "/services"), ("getFlavors", "/flavors"),
                            ("getHomeDocument", "/")):
        record.exchanges[operation] = ctx.send("GET", f"/v1.0/{project}{path}")
