"""Schemathesis against the running mock, positive and negative: no input produces a 500,
every status is documented, every response body matches its schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from contract.variants import load_document
from tests.servers import run_mock

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.mark.parametrize("variant", ["2015-08", "2016-08"])
def test_no_generated_request_gets_a_500_or_an_undocumented_answer(shared_reference, variant):
    document = {**load_document(variant), "servers": [{"url": "/"}]}
    schema = schemathesis.openapi.from_dict(document)
    failures: dict[str, str] = {}
    calls = 0
    with run_mock(variant, "--no-rate-limit") as base:
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                label = f"{mode.name} {operation.label}"

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                          phases=[Phase.generate], suppress_health_check=list(HealthCheck))
                def exercise(case: schemathesis.Case) -> None:
                    nonlocal calls
                    case.headers = {**(case.headers or {}), "X-Auth-Token": "tok"}
                    response = case.call(base_url=base)
                    calls += 1
                    try:
                        case.validate_response(response, checks=CHECKS)
                    except BaseException as failure:  # schemathesis raises a FailureGroup
                        failures.setdefault(label, str(failure))  # noqa: B023 - run at once

                exercise()
    assert not failures, "\n\n".join(f"{k}:\n{v[:800]}" for k, v in failures.items())
    assert calls > 400
