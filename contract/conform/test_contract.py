"""One pytest test per statement of CONTRACT-NOTES, plus one for schemathesis' findings.

    pytest --cdn-base-url http://127.0.0.1:8080 --pyargs contract.conform.test_contract
"""

from __future__ import annotations

import pytest

from contract.conform.outcome import Status
from contract.conform.runner import VariantReport
from contract.spec.statements import embedded, order
from contract.spec.variants import VARIANTS, load_document

STATEMENTS = sorted({sid for name in VARIANTS for sid in embedded(load_document(name))},
                    key=order)


@pytest.mark.parametrize("statement", STATEMENTS)
def test_statement(cdn_conformance: VariantReport, statement: str) -> None:
    verdict = next((v for v in cdn_conformance.verdicts if v.id == statement), None)
    if verdict is None:
        pytest.skip(f"{statement} is not part of the {cdn_conformance.variant} contract")
    details = "\n".join(f"{o.status.value}: {o.message}\n  {o.curl}" for o in verdict.outcomes)
    if verdict.status == Status.NOT_OBSERVABLE:
        pytest.skip(f"{statement} is not observable on this target: {details}")
    assert verdict.status != Status.FAIL, f"{statement} fails:\n{details}"


def test_schemathesis_finds_nothing(cdn_conformance: VariantReport) -> None:
    findings = "\n\n".join(f"{f.operation} ({f.mode})\n{f.message}\n{f.curl}"
                           for f in cdn_conformance.findings)
    assert not cdn_conformance.findings, findings
