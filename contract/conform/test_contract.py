"""One pytest test per statement of each variant asked for, plus one for the findings.

    pytest --cdn-base-url http://127.0.0.1:8080 --pyargs contract.conform.test_contract

A test fails exactly when its statement keeps `conform`'s gate shut (it failed, or it is a
MUST the checks that ran did not observe, unless --cdn-allow-unobserved); a statement only
the checks left out observe, or not observable where that is allowed, is skipped. So the
session passes exactly when `conform` with the same options exits 0.
"""

from __future__ import annotations

import pytest

from contract.cli.common import chosen
from contract.conform.outcome import SPEC, Status
from contract.conform.pytest_plugin import Conformance
from contract.conform.report import causes, headline, quote
from contract.conform.runner import VariantReport
from contract.spec.statements import embedded, order
from contract.spec.variants import load_document


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """(variant, statement) for every statement of every variant --cdn-variant names."""
    if "statement" not in metafunc.fixturenames:
        return
    variants = chosen(metafunc.config.getoption("cdn_variant") or "2016-08")
    pairs = [(variant, sid) for variant in variants
             for sid in sorted(embedded(load_document(variant)), key=order)]
    metafunc.parametrize(("variant", "statement"), pairs, ids=[
        sid if len(variants) == 1 else f"{variant}-{sid}" for variant, sid in pairs])


def _report(cdn_run: Conformance, variant: str) -> VariantReport:
    return next(r for r in cdn_run.run.reports if r.variant == variant)


def test_statement(cdn_run: Conformance, variant: str, statement: str) -> None:
    report = _report(cdn_run, variant)
    verdict = next(v for v in report.verdicts if v.id == statement)
    details = "\n\n".join(quote(cdn_run.run, c) for c in causes(report)
                          if c.statement == statement)
    if cdn_run.setup.blocking(cdn_run.run, report, statement):
        pytest.fail(f"{headline(report)}\n{statement} "
                    + ("fails" if verdict.status == Status.FAIL else "is a MUST not observed")
                    + f":\n{details}", pytrace=False)
    if verdict.status == Status.NOT_OBSERVABLE:
        pytest.skip(f"{statement} is not observable on this target: {details}")


def test_no_findings(cdn_run: Conformance) -> None:
    """schemathesis' findings and the spec's own facts our checks saw broken."""
    shut = [report for report in cdn_run.run.reports
            if cdn_run.setup.blocking(cdn_run.run, report, "findings")]
    details = "\n\n".join(quote(cdn_run.run, c) for report in shut
                          for c in causes(report) if c.statement == SPEC
                          and c.status == Status.FAIL)
    assert not shut, f"{'; '.join(headline(r) for r in shut)}\n{details}"
