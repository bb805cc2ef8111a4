"""The generated request checks agree with openapi-core, the oracle: same accept/reject
verdict, same defaults applied, on thousands of generated requests (valid and invalid)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from contract.mock.messages import Incoming
from contract.mock.serve import create_app
from contract.mock.settings import MockSettings
from contract.validation.messages import HttpRequest
from contract.validation.reference import validator_for
from tests.strategies import requests


def incoming(request: HttpRequest) -> Incoming:
    return Incoming(request.method, request.path, request.query,
                    {k.lower(): v for k, v in reversed(request.headers)}, request.body)


@pytest.mark.parametrize("variant", ["2015-08", "2016-08"])
def test_generated_checks_agree_with_openapi_core(shared_reference, variant):
    app = create_app(variant, MockSettings(rate_limit=False))
    oracle = validator_for(variant)
    seen = {"accepted": 0, "refused": 0}

    @settings(max_examples=1500, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(requests())
    def agree(request: HttpRequest) -> None:
        report = oracle.validate_request(request)
        admission = app.admit(incoming(request))
        ours = admission.refusal is None
        theirs = not report.violations
        assert ours == theirs, (request, admission.refusal and admission.refusal.body,
                                report.violations)
        if ours:
            assert admission.params is not None
            assert admission.params.defaults == report.defaults, request
        seen["accepted" if ours else "refused"] += 1

    agree()
    # Both verdicts occur often enough for the agreement to mean something.
    assert seen["accepted"] > 200 and seen["refused"] > 200, seen
