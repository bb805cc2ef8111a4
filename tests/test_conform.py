"""The conformance suite against the mock (which must pass its own variant) and against
deliberately broken implementations (each must fail on the right statement)."""

from __future__ import annotations

import json
import subprocess
import sys
from xml.etree import ElementTree

import pytest

from contract.conform.fuzz import FuzzSettings
from contract.conform.outcome import Status
from contract.conform.runner import RunOptions, run
from contract.conform.target import Target
from tests import broken
from tests.servers import free_port, run_mock, run_upstream

QUICK = FuzzSettings(max_examples=3, seed=1, workers=2)


def verdicts(report) -> dict[str, Status]:
    return {v.id: v.status for v in report.verdicts}


BROKEN = {
    "default_hard_false": ("S7b",),
    "status_200": ("S2",),
    "no_location": ("S3",),
    "location_of_another_service": ("S3",),
    "body_on_202": ("S4",),
    "error_500_for_bad_hard": ("S17",),
    "no_auth_check": ("S10",),
    "no_rate_limit": ("S11",),
    "not_found_for_existing_service": ("S1", "S2"),
}


@pytest.mark.parametrize("defect", sorted(BROKEN))
def test_a_broken_implementation_fails_on_the_right_statement(shared_reference, defect):
    app = getattr(broken, defect)()
    with run_upstream(app) as port:
        (report,) = run(Target(f"http://127.0.0.1:{port}"),
                        RunOptions(["2016-08"], QUICK, rate_limit_check=True,
                                   groups=("api",)))
    failed = {v.id for v in report.failed}
    assert not report.conforms
    assert set(BROKEN[defect]) <= failed, (defect, failed)


def test_bare_responses_fail_s39_and_an_unreadable_location_warns_s40(shared_reference):
    """A service read without its `links` fails S39 (a SHOULD); a create's Location the
    target cannot answer is a warning under S40 (an INTERPRETATION). Before, no check
    observed either."""
    with run_upstream(broken.bare_responses()) as port:
        (report,) = run(Target(f"http://127.0.0.1:{port}"),
                        RunOptions(["2016-08"], QUICK, groups=("api",)))
    assert verdicts(report)["S39"] == Status.FAIL, report.verdicts
    assert verdicts(report)["S40"] == Status.WARNING, report.verdicts


def test_default_of_hard_is_not_observable_without_jobs_or_observer(shared_reference):
    app = broken.Broken(inbound=lambda s: (404, b"") if s["path"].startswith("/__mock__")
                        else s)
    with run_upstream(app) as port:
        (report,) = run(Target(f"http://127.0.0.1:{port}"), RunOptions(["2016-08"], QUICK))
    assert verdicts(report)["S7b"] == Status.NOT_OBSERVABLE
    assert verdicts(report)["S11"] == Status.NOT_OBSERVABLE  # not asked: --rate-limit-check


def test_cli_writes_reports_and_gates_with_exit_codes(shared_reference, tmp_path):
    """The 2015-08 mock conforms to its own variant only: held to 2016-08 it fails S7b
    (`hard` defaults to false) and S11 (no rate limit). The README runs the 2016-08 mock the
    same way (S7a fails, S7b and S11 pass)."""
    with run_mock("2015-08", "--time-scale", "0.01", "--tokens", "secret") as base:
        command = [sys.executable, "-m", "contract", "conform", "--base-url", base,
                   "--variant", "all", "--token", "secret", "--max-examples", "3",
                   "--checks", "api", "--rate-limit-check",
                   "--seed", "7", "--junit", str(tmp_path / "r.xml"),
                   "--json", str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html")]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    assert "2015-08: CONFORMS" in result.stdout
    assert "2016-08: DOES NOT CONFORM (S7b failed, S11 failed)" in result.stdout
    assert "schemathesis" in result.stderr  # live progress
    data = json.loads((tmp_path / "r.json").read_text())
    assert [v["conforms"] for v in data["variants"]] == [True, False]
    page = (tmp_path / "r.html").read_text()
    assert "does not conform" in page and "curl -i -X DELETE" in page
    junit = ElementTree.parse(tmp_path / "r.xml").getroot()
    suites = {suite.get("name"): suite.attrib for suite in junit}
    assert {name: (a["tests"], a["failures"]) for name, a in suites.items()} == {
        "cdn 2015-08": (str(len(data["variants"][0]["statements"]) + 1), "0"),
        "cdn 2016-08": (str(len(data["variants"][1]["statements"]) + 1), "2")}
    assert int(suites["cdn 2016-08"]["skipped"]) > 0 and junit.get("failures") == "2"
    names = [case.get("name") for case in junit.iter("testcase")]
    assert "S11 (MUST): Rate limit: 20 requests per minute for this operation, counted per " \
        "project (all of its services together); beyond it → 429 (\"wait up to one " \
        "minute\"), and the refusal lasts until that minute is over: a purge 30 s after " \
        "the 21st, within the same calendar minute as the burst, is still refused. Whether " \
        "the minute starts at the first accepted request or at the calendar minute is not " \
        "said; both conform." in names  # whole, never cut mid-phrase
    failure = next(junit.iter("failure"))
    assert failure.get("message") == "S7b fails"


def test_a_must_statement_not_observed_is_not_a_conformance(shared_reference):
    """Without --rate-limit-check, S11 (MUST) is never observed: the verdict says so and how
    to observe it, and the exit code is 1 unless --allow-unobserved."""
    with run_mock("2016-08", "--time-scale", "0.01") as base:
        command = [sys.executable, "-m", "contract", "conform", "--base-url", base,
                   "--max-examples", "2", "--seed", "7", "--quiet"]
        strict = subprocess.run(command, capture_output=True, text=True, timeout=300)
        lenient = subprocess.run([*command, "--allow-unobserved"], capture_output=True,
                                 text=True, timeout=300)
    assert strict.returncode == 1, strict.stdout[-2000:]
    assert "2016-08: NOT SHOWN TO CONFORM\n  MUST S11 not observed: needs a fresh rate-limit " \
        "window: run with --rate-limit-check" in strict.stdout
    assert lenient.returncode == 0 and "NOT SHOWN TO CONFORM" in lenient.stdout


def test_cli_bad_input_exits_2_without_traceback():
    """Each bad input is named in the message: the exit code alone could come from any."""
    cases = {("--base-url", f"http://127.0.0.1:{free_port()}"): "no HTTP answer",
             ("--base-url", "ftp://x"): "not an http(s) URL",
             ("--base-url", "http://x", "--variant", "2020"): "'2020' is not one of",
             ("--base-url", "http://127.0.0.1:1", "--observer", "nope"): "module:function"}
    for args, expected in cases.items():
        result = subprocess.run([sys.executable, "-m", "contract", "conform", *args],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, (args, result.stderr)
        assert expected in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_pytest_entry_point_reports_each_statement(shared_reference, tmp_path):
    """S7b fails by name when the 2015-08 mock is held to the 2016-08 contract."""
    with run_mock("2015-08", "--time-scale", "0.01") as base:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--cdn-base-url",
             base, "--cdn-max-examples", "2", "--pyargs", "contract.conform.test_contract"],
            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "FAILED" in result.stdout and "test_statement[S7b]" in result.stdout
    summary = result.stdout.strip().splitlines()[-1]
    assert "1 failed" in summary and "passed" in summary and "skipped" in summary, summary
