"""Verdicts that hold still on a real server (issue 48): a refusal about the service's state
is no statement's failure, a typo of the user's is no verdict on the target."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import httpx
import pytest

from contract.conform.fuzz import FuzzSettings
from contract.conform.judges import Expect, both_modes_accepted
from contract.conform.outcome import Status, operation_of
from contract.conform.probes import Record
from contract.conform.runner import RunOptions, run
from contract.conform.target import Answer, Fixtures, Target
from contract.errors import InputError
from contract.model import read_contract
from contract.spec.statements import embedded
from contract.spec.variants import PROJECT_ROOT, load_document
from contract.validation.verdict import OWN_NOTE
from tests.vendor import Behaviour, Vendor, serve


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


def conform(base: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "contract", "conform", "--base-url", base,
                           "--time-scale", "0.01", *options], capture_output=True, text=True,
                          timeout=120, cwd=PROJECT_ROOT)


def test_a_typo_of_the_users_exits_2_at_the_preflight_before_anything_is_created(
        shared_reference):
    """Issue 48 item 6: `--flavor-id nosuch` gave DOES NOT CONFORM (S41 failed) though the
    preflight had listed the flavors; `--checks edge` against a target with no edge gave
    exit 1, every statement not observable. Both are the user's input: exit 2, one line
    naming the option and what the target offers, and no service or certificate made."""
    vendor = Vendor(Behaviour())
    with serve(vendor) as base:
        typo = conform(base, "--flavor-id", "nosuch", "--checks", "api")
        no_edge = conform(base, "--checks", "edge", "--origin-listen", "127.0.0.1:25080")
    for result, line in ((typo, "error: --flavor-id nosuch: the target offers no such "
                                "flavor (GET /flavors lists cdn)"),
                         (no_edge, f"error: --checks edge: {base} names no edge")):
        assert result.returncode == 2, (result.stdout[-1500:], result.stderr[-1500:])
        errors = [e for e in result.stderr.splitlines() if e.startswith("error:")]
        assert len(errors) == 1 and errors[0].startswith(line), result.stderr[-1500:]
        assert "Traceback" not in result.stderr
    assert "--edge-url" in no_edge.stderr
    assert vendor.services == {} and vendor.certificates == {}  # nothing was created


def test_every_exchange_is_labelled_by_the_operation_the_spec_matched():
    """Issue 48 item 5: a cause row read `DELETE /v1.0/{project_id}/ssl_certificate/y\\x9f\\x8f`
    (only services and flavors were templated): each label is the spec's path template."""
    def label(method: str, url: str, **headers: str) -> str:
        return operation_of(httpx.Request(method, "http://cdn.test" + url, headers=headers))

    assert label("DELETE", "/v1.0/p1/ssl_certificate/y%9F%8F") == \
        "DELETE /v1.0/{project_id}/ssl_certificate/{domain_name}"
    assert label("GET", "/v1.0/p1/services/s1/assets?url=/x") == \
        "GET /v1.0/{project_id}/services/{service_id}/assets"
    assert label("GET", "/v1.0/p1/") == label("GET", "/v1.0/p1") == "GET /v1.0/{project_id}/"
    assert label("DELETE", "/v1.0/services/s1/assets", **{"X-Project-Id": "p1"}) == \
        "DELETE /v1.0/{project_id}/services/{service_id}/assets"  # the header form
    assert label("GET", "/v1.0/services", **{"X-Project-Id": "p1"}) == \
        "GET /v1.0/{project_id}/services"
    assert label("PUT", "/v1.0/p1/services") == "PUT /v1.0/{project_id}/services"
    assert label("GET", "/v1.0/p1/no/such/thing") == "GET /v1.0/{project_id}/no/such/thing"


def test_validate_judges_a_har_of_a_run_as_conform_did(shared_reference, tmp_path):
    """Issue 48 item 4: an undocumented status is judged on its own, the same way in
    validate (and the proxy, which runs the same validators) as in conform: the 405 of a
    cached-asset report breaks the spec itself (it was an S30 warning: a HAR of it alone
    exited 0, while conform reported a failing finding), a 500 on a purge is S36 (it was S2
    and S4); the suite's own /__mock__/ reads are marked, not judged (one was INVALID)."""
    vendor = Vendor(Behaviour(no_cached_report=True,
                              defects=frozenset({"error_500_on_bad_hard"})))
    har, report = tmp_path / "run.har", tmp_path / "run.json"
    with serve(vendor) as base:
        ran = conform(base, "--checks", "api", "--max-examples", "1", "--seed", "1",
                      "--har", str(har), "--json", str(report), "--quiet")
    assert ran.returncode == 1, ran.stderr[-1500:]
    judged = json.loads(report.read_text())["variants"][0]
    failed = {s["id"] for s in judged["statements"] if s["status"] == "fail"}
    assert {"S17", "S36"} <= failed, failed
    assert [f for f in judged["findings"] if f["operation"] ==  # a finding: a failure
            "GET /v1.0/{project_id}/services/{service_id}/assets"], judged["findings"]

    validated = validate(har)
    assert validated.returncode == 1
    exchanges = json.loads(validated.stdout)["exchanges"]
    by_status: dict[int, set[tuple[str, ...]]] = {}
    for exchange in exchanges:
        for violation in exchange["verdicts"][0]["violations"]:
            if violation["location"] == "response.status":
                by_status.setdefault(exchange["status"], set()).add(
                    tuple(violation["statements"]))
    assert by_status[405] == {()} and by_status[500] == {("S36",)}, by_status
    own = [e for e in exchanges if "/__mock__/" in e["url"]]
    assert own and all(e["verdicts"][0]["valid"] and OWN_NOTE in e["notes"] for e in own)

    alone = tmp_path / "405.har"  # the 405 alone: a failure, exit 1 (was 0, a warning)
    entries = json.loads(har.read_text())
    entries["log"]["entries"] = [e for e in entries["log"]["entries"]
                                 if e["response"]["status"] == 405][:1]
    alone.write_text(json.dumps(entries))
    assert validate(alone).returncode == 1


def validate(har: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "contract", "validate", str(har), "--variant",
                           "2016-08", "--format", "json"], capture_output=True, text=True,
                          timeout=120, cwd=PROJECT_ROOT)


def test_a_deletion_wait_runs_beside_the_checks_and_a_stopped_run_says_what_it_waited_for(
        shared_reference):
    """Issue 48 item 10: against a vendor whose deleted service keeps answering 200, the
    scenario's deletion wait ran after the checks, for the whole --deploy-timeout, and a CI
    limit then left no report. The wait runs beside the checks: it is still running when
    schemathesis starts (it ended before, after the whole timeout); a run stopped during it
    (here: the target dies) keeps the variant's report so far, S34 "not yet observed" with
    the time waited and the last answer."""
    vendor = Vendor(Behaviour(defects=frozenset({"deleted_still_readable"})))
    done: list[Any] = []

    def progress(line: str) -> None:
        if "schemathesis" in line:
            vendor.dead = True  # a CI job's limit, in the middle of the deletion wait

    with serve(vendor) as base:
        target = Target(base, fixtures=Fixtures(deploy_timeout=6000), observer=vendor.jobs,
                        time_scale=0.01)  # a wait of 60 s
        with pytest.raises(InputError, match="stopped answering"):
            run(target, RunOptions(["2016-08"], FuzzSettings(1, 1, 2), groups=("api",)),
                progress, done)
    (report,) = done
    s34 = [o for v in report.verdicts if v.id == "S34" for o in v.outcomes
           if o.status == Status.NOT_OBSERVABLE]
    assert len(s34) == 1 and s34[0].message.startswith("not yet observed: the deletion of "), \
        s34
    assert re.search(r"was waited for \d+ s, last answer: GET http://127\.0\.0\.1:\d+/v1\.0/"
                     r"\S+ answered 200", s34[0].message), s34[0].message
    assert any(v.status == Status.PASS for v in report.verdicts)  # what was judged, kept
