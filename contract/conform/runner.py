"""One conformance run: preflight, our checks, the scenario, schemathesis; per variant."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import httpx

from contract.conform.checks import CHECKS, GROUPS
from contract.conform.fuzz import Finding, FuzzSettings, fuzz
from contract.conform.judges import Expect, error_bodies
from contract.conform.origin import Origin
from contract.conform.outcome import Outcome, StatementVerdict, Status
from contract.conform.probes import Context
from contract.conform.scenario import lifecycle
from contract.conform.target import EdgeTarget, Target
from contract.errors import InputError
from contract.model import read_contract
from contract.statements import load_statements
from contract.variants import load_document, notes_path


@dataclass
class VariantReport:
    variant: str
    verdicts: list[StatementVerdict]
    findings: list[Finding] = field(default_factory=list)
    cases: int = 0
    seconds: float = 0.0
    groups: tuple[str, ...] = GROUPS  # the checks that ran

    @property
    def failed(self) -> list[StatementVerdict]:
        """MUST and SHOULD statements that failed (INTERPRETATION rows only warn)."""
        return [v for v in self.verdicts if v.status == Status.FAIL]

    @property
    def unobserved(self) -> list[StatementVerdict]:
        """MUST statements no check observed: a verdict cannot rest on them."""
        return [v for v in self.verdicts
                if v.level == "MUST" and v.status == Status.NOT_OBSERVABLE]

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
            why.append(f"{len(self.findings)} schemathesis finding(s)")
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


@dataclass(frozen=True)
class EdgeOptions:
    """Where the CDN's edge answers, where the suite's origin listens, the address the CDN
    is told for it (default: where it listens), and the time scale of the waits (default:
    what the target reports, else 1)."""

    url: str | None = None
    origin_listen: tuple[str, int] | None = None
    origin_url: tuple[str, int] | None = None
    origin_ssl: bool = False  # --origin-url is https://
    time_scale: float | None = None


@dataclass
class RunOptions:
    variants: list[str]
    fuzz: FuzzSettings = field(default_factory=FuzzSettings)
    rate_limit_check: bool = False
    groups: tuple[str, ...] = GROUPS  # "api": the API checks, scenario, schemathesis
    edge: EdgeOptions = field(default_factory=EdgeOptions)


def run(target: Target, options: RunOptions,
        progress: Callable[[str], None] = lambda _: None) -> list[VariantReport]:
    """The reports of every variant asked for. A target that stops answering midway is bad
    input (InputError), not a failed statement."""
    target.preflight()
    edge = _edge(target, options)
    try:
        return _run(target, options, edge, progress)
    except httpx.HTTPError as error:
        where = f"--edge-url {edge.url}" if edge and edge.url in _url_of(error) \
            else f"--base-url {target.base_url}"
        raise InputError(f"{where} stopped answering during the run "
                         f"({type(error).__name__}: {error})") from None
    finally:
        if edge is not None:
            edge.origin.stop()


def _url_of(error: httpx.HTTPError) -> str:
    try:
        return str(error.request.url)
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
    return EdgeTarget(url, origin, host, port, options.edge.time_scale or target.time_scale,
                      options.edge.origin_ssl)


def _run(target: Target, options: RunOptions, edge: EdgeTarget | None,
         progress: Callable[[str], None]) -> list[VariantReport]:
    statements = load_statements(notes_path())
    reports = []
    for variant in options.variants:
        started = time.monotonic()
        progress(f"variant {variant}: checks")
        document = load_document(variant)
        mine = {sid for sid, s in statements.items() if s.variant in ("both", variant)}
        contract = read_contract(document)
        ctx = Context(target, contract, document, mine, options.rate_limit_check, edge)
        expect = Expect(contract, frozenset(mine))
        outcomes: list[Outcome] = []
        for check in (c for c in CHECKS if c.group in options.groups):
            found = check.run(ctx, expect)
            outcomes += found
            failed = sum(o.status == Status.FAIL for o in found)
            progress(f"  {check.name} ({','.join(check.statements)}): {len(found)} "
                     "observation(s)" + (f", {failed} failed" if failed else ""))
        cases, findings = 0, list[Finding]()
        if "api" in options.groups:
            progress(f"variant {variant}: scenario")
            outcomes += list(lifecycle(ctx))
            progress(f"variant {variant}: schemathesis")
            cases, findings = fuzz(document, target.base_url, target.token,
                                   target.token_known, options.fuzz, progress)
        outcomes += [replace(o, check="error_bodies") for o in error_bodies(ctx.exchanges)]
        verdicts = []
        for sid in sorted(mine, key=_order):
            statement = statements[sid]
            verdict = StatementVerdict(sid, statement.level, statement.text,
                                       [o for o in outcomes if o.statement == sid])
            if statement.level == "INTERPRETATION":  # reported as warnings, never failures
                verdict.outcomes = [replace(o, status=Status.WARNING)
                                    if o.status == Status.FAIL else o for o in verdict.outcomes]
            verdicts.append(verdict)
        reports.append(VariantReport(variant, verdicts, findings, cases,
                                     time.monotonic() - started, options.groups))
    return reports


def _order(sid: str) -> tuple[int, str]:
    return int("".join(ch for ch in sid if ch.isdigit())), sid
