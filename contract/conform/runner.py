"""One conformance run: preflight, our checks, the scenario, schemathesis; per variant."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import httpx

from contract.conform.checks import CHECKS
from contract.conform.fuzz import Finding, FuzzSettings, fuzz
from contract.conform.judges import Expect, error_bodies
from contract.conform.outcome import Outcome, StatementVerdict, Status
from contract.conform.probes import Context
from contract.conform.scenario import lifecycle
from contract.conform.target import Target
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
                    "no check observed it") for v in self.unobserved]
        return "CONFORMS", []


@dataclass
class RunOptions:
    variants: list[str]
    fuzz: FuzzSettings = field(default_factory=FuzzSettings)
    rate_limit_check: bool = False


def run(target: Target, options: RunOptions,
        progress: Callable[[str], None] = lambda _: None) -> list[VariantReport]:
    """The reports of every variant asked for. A target that stops answering midway is bad
    input (InputError), not a failed statement."""
    target.preflight()
    try:
        return _run(target, options, progress)
    except httpx.HTTPError as error:
        raise InputError(f"--base-url {target.base_url} stopped answering during the run "
                         f"({type(error).__name__}: {error})") from None


def _run(target: Target, options: RunOptions,
         progress: Callable[[str], None]) -> list[VariantReport]:
    statements = load_statements(notes_path())
    reports = []
    for variant in options.variants:
        started = time.monotonic()
        progress(f"variant {variant}: checks")
        document = load_document(variant)
        mine = {sid for sid, s in statements.items() if s.variant in ("both", variant)}
        contract = read_contract(document)
        ctx = Context(target, contract, document, mine, options.rate_limit_check)
        expect = Expect(contract, frozenset(mine))
        outcomes: list[Outcome] = []
        for check in CHECKS:
            found = check.run(ctx, expect)
            outcomes += found
            failed = sum(o.status == Status.FAIL for o in found)
            progress(f"  {check.name} ({','.join(check.statements)}): {len(found)} "
                     "observation(s)" + (f", {failed} failed" if failed else ""))
        progress(f"variant {variant}: scenario")
        outcomes += list(lifecycle(ctx))
        outcomes += [replace(o, check="error_bodies") for o in error_bodies(ctx.exchanges)]
        progress(f"variant {variant}: schemathesis")
        cases, findings = fuzz(document, target.base_url, target.token, target.token_known,
                               options.fuzz, progress)
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
                                     time.monotonic() - started))
    return reports


def _order(sid: str) -> tuple[int, str]:
    return int("".join(ch for ch in sid if ch.isdigit())), sid
