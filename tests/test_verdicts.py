"""Verdicts that hold still on a real server (issue 48): a refusal about the service's state
is no statement's failure, a typo of the user's is no verdict on the target."""

from __future__ import annotations

import json
from typing import Any

import httpx

from contract.conform.judges import Expect, both_modes_accepted
from contract.conform.outcome import Status
from contract.conform.probes import Record
from contract.conform.target import Answer
from contract.model import read_contract
from contract.spec.statements import embedded
from contract.spec.variants import load_document


def answer(status: int, body: Any = None) -> Answer:
    request = httpx.Request("DELETE", "http://cdn.test/v1.0/p/services/s/assets?hard=false")
    content = b"" if body is None else json.dumps(body).encode()
    return Answer(httpx.Response(status, content=content, request=request), "curl ...")


def test_a_refusal_about_the_services_state_is_not_observable_pointing_to_s34(
        shared_reference):
    """The upstream server's 400 `Service ... is not deployed.` after an invalidation failed
    S5 and S14 (url optional, wildcards allowed) on a refusal that is about state: it is
    not observable, the answer quoted; a 400 about the request itself still fails."""
    document = load_document("2016-08")
    expect = Expect(read_contract(document), frozenset(embedded(document)))
    busy = answer(400, {"message": "Service 6f1c is not deployed."})
    wrong = answer(400, {"message": {"errors": [{"message": "url is required"}]}})
    record = Record({"hard=true": answer(202), "hard=false": answer(202),
                     "invalidate everything": busy, "invalidate a wildcard": wrong})
    judged = {o.statement: o for o in both_modes_accepted(record, expect)}
    s5, s14 = judged["S5"], judged["S14"]
    assert s5.status == Status.NOT_OBSERVABLE, s5
    assert s5.message.startswith("the service was not deployed: DELETE http://cdn.test/")
    assert "Service 6f1c is not deployed." in s5.message and "see S34" in s5.message
    assert s5.cause == "S5 not observable: the service was not deployed, got 400 {message: str}"
    assert s14.status == Status.FAIL, s14  # refused for what it asks: S14's failure
    assert judged["S6"].status == Status.PASS
