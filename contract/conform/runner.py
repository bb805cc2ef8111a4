"""One conformance run: preflight, our checks, the scenario, schemathesis; per variant."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import httpx
import requests

from contract.conform.checks import CHECKS, GROUPS, Check
from contract.conform.fuzz import (
    Finding,
    Fuzzed,
    FuzzSettings,
    fuzz,
    group_findings,
    stricter,
)
from contract.conform.gate import RECORDERS, Breach
from contract.conform.judges import Expect, error_bodies, no_server_errors
from contract.conform.origin import Origin
from contract.conform.outcome import SPEC, Outcome, StatementVerdict, Status
from contract.conform.preflight import edge_given, preflight
from contract.conform.probes import Context, services_needed
from contract.conform.scenario import Beside
from contract.conform.target import EdgeTarget, Target
from contract.conform.terminal import Steps
from contract.errors import InputError
from contract.model import read_contract
from contract.spec.statements import embedded, order
from contract.spec.variants import load_document


@dataclass
class VariantReport:
    variant: str
    verdicts: list[StatementVerdict]
    findings: list[Finding] = field(default_factory=list)
    cases: int = 0
    seconds: float = 0.0
    groups: tuple[str, ...] = GROUPS  # the checks that ran
    notes: list[str] = field(default_factory=list)  # what the run could not do, and why
    informational: list[Outcome] = field(default_factory=list)  # said, never judged
    durations: dict[str, float] = field(default_factory=dict)  # seconds per check and phase

    @property
    def failed(self) -> list[StatementVerdict]:
        """MUST and SHOULD statements that failed (INTERPRETATION rows only warn)."""
        return [v for v in self.verdicts if v.status == Status.FAIL]

    @property
    def unobserved(self) -> list[StatementVerdict]:
        """MUST statements the checks that ran did not observe: a verdict cannot rest on
        them. (A statement only the checks left out by `--checks` observe is not among
        them: the verdict is about the checks asked for, and the report says which.)"""
        looked_at = covered(self.groups)
        return [v for v in self.verdicts if v.level == "MUST" and v.status ==
                Status.NOT_OBSERVABLE and v.id in looked_at]

    @property
    def conforms(self) -> bool:
        """No statement failed, schemathesis found nothing, and every MUST statement was
        observed (`verdict` says what a run that leaves some unobserved shows)."""
        return not self.failed and not self.findings and not self.unobserved

    def verdict(self) -> tuple[str, list[str]]:
        """The word for this variant, and why: failed statements and findings first, then
        the MUST statements not observed, each with how to observe it."""
        why = [f"{v.id} failed" for v in self.failed]
        if self.findings:
            sources = " and ".join(sorted({f.source for f in self.findings}))
            why.append(f"{len(self.findings)} finding(s) of {sources}")
        if why:
            return "DOES NOT CONFORM", why
        if self.unobserved:
            return "NOT SHOWN TO CONFORM", [
                f"MUST {v.id} not observed: " + next(
                    (o.message for o in v.outcomes if o.status == Status.NOT_OBSERVABLE),
                    "no check observed it" + ("" if self.groups == GROUPS else
                                              f" (only --checks {self.groups[0]} ran)"))
                for v in self.unobserved]
        return "CONFORMS", []

    def passes(self, allow_unobserved: bool) -> bool:
        """The gate (the command's exit status and the pytest entry point's): conforms, or
        with `allow_unobserved` nothing failed and only MUST statements went unobserved."""
        return self.conforms or (allow_unobserved and not self.failed and not self.findings)

    def blocking(self, verdict: StatementVerdict, allow_unobserved: bool) -> bool:
        """Whether this statement alone keeps the gate shut: it failed, or it is a MUST the
        checks that ran did not observe (unless that is allowed)."""
        return verdict.status == Status.FAIL or (
            not allow_unobserved and verdict in self.unobserved)


@dataclass(frozen=True)
class EdgeOptions:
    """Where the CDN's edge answers, where the suite's origin listens, and the address the
    CDN is told for it (default: where it listens). The waits' time scale is the target's
    (`Target.time_scale`)."""

    url: str | None = None
    origin_listen: tuple[str, int] | None = None
    origin_url: tuple[str, int] | None = None
    origin_ssl: bool = False  # --origin-url is https://


@dataclass
class RunOptions:
    variants: list[str]
    fuzz: FuzzSettings = field(default_factory=FuzzSettings)
    rate_limit_check: bool = False
    groups: tuple[str, ...] = GROUPS  # "api": the API checks, scenario, schemathesis
    edge: EdgeOptions = field(default_factory=EdgeOptions)
    record: Recorder | None = None  # given: called with every exchange of the run


Recorder = Callable[[httpx.Response], None]  # what keeps the exchanges (a HAR file)


def covered(groups: tuple[str, ...]) -> set[str]:
    """The statements the checks of `groups` observe."""
    found = {sid for check in CHECKS if check.group in groups for sid in check.statements
             if sid != SPEC}
    return found | (set(API_ALSO) if "api" in groups else set())


API_ALSO = ("S16", "S34", "S36")  # the error bodies, the lifecycle, schemathesis' 5xx


def run(target: Target, options: RunOptions,
        progress: Callable[[str], None] = lambda _: None,
        done: list[VariantReport] | None = None,
        stopped: Callable[[BaseException], None] | None = None) -> list[VariantReport]:
    """The reports of every variant asked for. The target must pass the preflight first; a
    target that stops answering midway is bad input (InputError), not a failed statement.
    Each variant's report is appended to `done` as it is judged, that of a variant the run
    stopped in too (what was judged so far). A run that stops (that, an interrupt, a bug)
    calls `stopped` first (its reports are written before the services' deletion takes
    its time); every service the run created is deleted at the end, on failure and on
    Ctrl-C too, unless the fixtures say to keep them."""
    steps = progress if isinstance(progress, Steps) else Steps(progress)
    steps.plan(sum(len(_chosen(options, v)) + 2 * ("api" in options.groups)
                   for v in options.variants))
    reports = [] if done is None else done
    if options.record is not None:
        _record(target.client, options.record)
    try:
        _checked(target, options, steps, reports)
    except BaseException as error:
        if stopped is not None:
            stopped(error)
        raise
    finally:
        _clean_up(target, steps)
    return reports


def _checked(target: Target, options: RunOptions, steps: Steps,
             reports: list[VariantReport]) -> None:
    """The preflight, then every variant; a target that stops answering is InputError."""
    preflight(target, read_contract(load_document(options.variants[0])).token_header)
    edge_given(target, options.groups, options.edge.url)
    edge = _edge(target, options)
    if edge is not None and options.record is not None:
        _record(edge.client, options.record)
    try:
        _run(target, options, edge, steps, reports)
    except Breach as breach:
        raise InputError(f"the run stopped: the target broke conform's bound "
                         f"({breach.bound}): {breach}") from None
    except (httpx.HTTPError, requests.RequestException) as error:
        raise InputError(f"{_where(target, edge, error)} stopped answering during the run "
                         f"({type(error).__name__}: {error})") from None
    finally:
        if edge is not None:
            edge.origin.stop()


def _record(client: httpx.Client, into: Recorder) -> None:
    """Hand every answer `client` receives to `into` once the gate read its body, stamped
    with when its head came (HAR's startedDateTime)."""
    def stamp(response: httpx.Response) -> None:
        response.extensions["started"] = datetime.now(UTC)
    client.event_hooks["response"] = [*client.event_hooks["response"], stamp]
    RECORDERS[client] = into


def _clean_up(target: Target, progress: Callable[[str], None]) -> None:
    if target.fixtures.keep_services:
        if target.created_count:
            progress(f"kept the {target.created_count} services this run created "
                     "(--keep-services)")
        return
    left = target.remove_created(progress)
    for line in left:
        progress(f"  not removed: {line}")


def _where(target: Target, edge: EdgeTarget | None, error: Exception) -> str:
    return f"--edge-url {edge.url}" if edge and edge.url in _url_of(error) \
        else f"--base-url {target.base_url}"


def _url_of(error: Exception) -> str:
    try:
        request = getattr(error, "request", None)
        return str(request.url) if request is not None else ""
    except RuntimeError:  # an error raised before any request was made
        return ""


def _edge(target: Target, options: RunOptions) -> EdgeTarget | None:
    """The edge under test with the suite's origin started, when the edge checks run and
    both an edge and a place to listen are known."""
    url = options.edge.url or target.edge_url
    listen = options.edge.origin_listen
    if "edge" not in options.groups or url is None or listen is None:
        return None
    origin = Origin()
    origin.start(*listen)
    host, port = options.edge.origin_url or listen
    return EdgeTarget(url, origin, host, port, target.scale, options.edge.origin_ssl,
                      target.bounds)


def _run(target: Target, options: RunOptions, edge: EdgeTarget | None,
         progress: Steps, reports: list[VariantReport]) -> None:
    """Each variant's report appended to `reports` once judged; a variant the run stopped
    in (an interrupt, a lost target) appended with what was judged so far, and S34 not yet
    observed for a wait still running."""
    for variant in options.variants:
        started = time.monotonic()
        progress(f"variant {variant}: checks")
        document = load_document(variant)
        contract = read_contract(document)
        ctx = Context(target, contract, document, set(embedded(document)),
                      options.rate_limit_check, edge, progress)
        outcomes: list[Outcome] = []
        durations: dict[str, float] = {}
        try:
            fuzzed = _observe(ctx, options, outcomes, progress, durations)
        except BaseException:
            report = _report(ctx, options, outcomes + ctx.unfinished(), Fuzzed(), started,
                             durations)
            report.notes.insert(0, STOPPED_NOTE)
            reports.append(report)
            raise
        reports.append(_report(ctx, options, outcomes, fuzzed, started, durations))


STOPPED_NOTE = ("the run stopped before this variant's checks ended: what they did not "
                "reach is not observable here")


def _chosen(options: RunOptions, variant: str) -> list[Check]:
    """The checks that run on a variant: of the groups asked for, with a statement of its."""
    mine = embedded(load_document(variant)).keys()
    return [c for c in CHECKS if c.group in options.groups and mine & set(c.statements)]


def _timed(durations: dict[str, float], name: str, steps: Steps) -> Callable[[str], None]:
    """The end of a step: its seconds kept under `name`, its line said with the counts."""
    started = time.monotonic()

    def done(line: str) -> None:
        durations[name] = time.monotonic() - started
        steps.step(line)
    return done


def _observe(ctx: Context, options: RunOptions, outcomes: list[Outcome], steps: Steps,
             durations: dict[str, float]) -> Fuzzed:
    """Our checks, the scenario beside them (its waits overlap theirs) and schemathesis,
    each outcome added to `outcomes` as it is judged. The checks that need no deployed
    service run first, beside the deploy of those the others need (created up front and
    awaited together)."""
    expect = Expect(ctx.contract, frozenset(ctx.statements))
    chosen = sorted(_chosen(options, ctx.variant),
                    key=lambda c: services_needed(c.probe, ctx) > 0)
    api = "api" in options.groups
    created = time.monotonic()
    ctx.prepare([n for c in chosen if (n := services_needed(c.probe, ctx))] + [1] * api)
    durations["services created"] = time.monotonic() - created
    scenario: Beside | None = None
    fuzzed, judged = Fuzzed(), []
    try:
        for check in chosen:
            if api and scenario is None and services_needed(check.probe, ctx):
                ctx.progress(f"variant {ctx.variant}: scenario, beside the checks")
                scenario = Beside(ctx)
            _check(ctx, expect, check, outcomes, _timed(durations, check.name, steps))
        if api:
            scenario = scenario or Beside(ctx)
            steps(f"variant {ctx.variant}: schemathesis")
            done = _timed(durations, "schemathesis", steps)
            fuzzed = fuzz(ctx.document, ctx.target, options.fuzz, steps, options.record)
            done(f"variant {ctx.variant}: schemathesis, {fuzzed.cases} cases")
            ctx.target.created_by_fuzz += fuzzed.created
            done = _timed(durations, "scenario (the rest of its waits)", steps)
            judged = scenario.outcomes()  # once its waits are over
            done(f"variant {ctx.variant}: scenario")
    except BaseException:
        outcomes += scenario.judged if scenario else []  # what it judged so far
        raise
    outcomes += judged
    return fuzzed


def _check(ctx: Context, expect: Expect, check: Check, outcomes: list[Outcome],
           done: Callable[[str], None]) -> None:
    found = check.run(ctx, expect)
    outcomes += found
    failed = sum(o.status == Status.FAIL for o in found)
    done(f"  {check.name} ({','.join(check.statements)}): {len(found)} "
         "observation(s)" + (f", {failed} failed" if failed else ""))


def _report(ctx: Context, options: RunOptions, outcomes: list[Outcome], fuzzed: Fuzzed,
            started: float, durations: dict[str, float]) -> VariantReport:
    """A variant's verdicts from what its checks, the scenario and schemathesis found."""
    document, contract, variant = ctx.document, ctx.contract, ctx.variant
    statements = embedded(document)
    mine = set(statements)
    cases = fuzzed.cases
    outcomes = list(outcomes)
    outcomes += [replace(o, check="error_bodies") for o in error_bodies(ctx.exchanges)]
    outcomes += [replace(o, check="server_errors")
                 for o in no_server_errors(ctx.exchanges, cases)]
    outcomes += [*ctx.lifecycle.values(), *ctx.breaches]
    failing = {o.statement for o in outcomes if o.status == Status.FAIL}
    informational, judged = stricter(list(fuzzed.findings))
    grouped, findings = group_findings(judged, failing, mine)
    outcomes += grouped
    findings = [Finding(o.check, "check", o.message, o.curl, SPEC, source="cdn-contract",
                        status=o.exchange.status_code if o.exchange else 0,
                        exchange=o.exchange)
                for o in outcomes if o.statement == SPEC and o.status == Status.FAIL
                ] + findings
    notes = [] if not (ctx.target.any_token and ctx.target.identity.token_known) else [
        "this mock accepts any X-Auth-Token (it was started without --tokens): the checks "
        "that an invalid token is refused (S10, schemathesis' ignored_auth) fail by its "
        "set-up; start it with --tokens and the token given here"]
    if options.rate_limit_check and contract.purge.operation not in contract.rate_limits:
        notes.append(f"--rate-limit-check: the {variant} docs state no rate limit for "
                     "purges; 21 purges were sent in a row, and a 429 among them is "
                     "reported as a status the variant does not document")
    runnable = covered(options.groups)
    verdicts = []
    for sid in sorted(mine, key=order):
        statement = statements[sid]
        verdict = StatementVerdict(sid, statement.level, statement.text,
                                   [o for o in outcomes if o.statement == sid])
        if statement.level == "INTERPRETATION":  # reported as warnings, never failures
            verdict.outcomes = [replace(o, status=Status.WARNING)
                                if o.status == Status.FAIL else o for o in verdict.outcomes]
        if not verdict.outcomes and sid not in runnable:
            groups = sorted({c.group for c in CHECKS if sid in c.statements})
            verdict.outcomes = [Outcome(sid, Status.NOT_OBSERVABLE, (
                f"not checked: the {' and '.join(groups)} checks observe it and only "
                f"--checks {' '.join(options.groups)} ran") if groups else
                "no check of the suite observes it",
                cause=f"{sid} not checked" if groups else f"{sid} observed by no check")]
        verdicts.append(verdict)
    return VariantReport(variant, verdicts, findings, cases, time.monotonic() - started,
                         options.groups, notes, informational, durations)
