"""The conformance suite against the mock (which must pass its own variant) and against
deliberately broken implementations (each must fail on the right statement)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from contract.cli.conform import configure, conform
from contract.conform.checks import CHECKS
from contract.conform.fuzz import FuzzSettings
from contract.conform.judges import Expect, unobservable
from contract.conform.outcome import StatementVerdict, Status, curl, secrets_note
from contract.conform.probes import Context
from contract.conform.report import Run, as_html, as_json, as_junit, group, summary
from contract.conform.runner import RunOptions, VariantReport, run
from contract.conform.target import Identity, Target
from contract.model import read_contract
from contract.spec.statements import embedded
from contract.spec.variants import load_document
from tests import broken
from tests.servers import free_port, run_mock, run_upstream
from tests.vendor import Behaviour, Vendor, serve

QUICK = FuzzSettings(max_examples=1, seed=1, workers=1)
TOKEN = "t0k3n-from-an-option"


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


@pytest.mark.long
def test_default_of_hard_is_not_observable_without_jobs_or_observer(shared_reference):
    app = broken.Broken(inbound=lambda s: (404, b"") if s["path"].startswith("/__mock__")
                        else s)
    with run_upstream(app) as port:
        (report,) = run(Target(f"http://127.0.0.1:{port}"), RunOptions(["2016-08"], QUICK))
    assert verdicts(report)["S7b"] == Status.NOT_OBSERVABLE
    assert verdicts(report)["S11"] == Status.NOT_OBSERVABLE  # not asked: --rate-limit-check
    # S13's job time cannot be read either: said, not left with no outcome and no reason
    s13 = next(v for v in report.verdicts if v.id == "S13")
    timed = [o for o in s13.outcomes if o.message.startswith("no purge job to time")]
    assert s13.status == Status.NOT_OBSERVABLE and len(timed) == 1, s13.outcomes
    assert "no /__mock__/jobs" in timed[0].message, timed


def test_cli_writes_reports_and_gates_with_exit_codes(shared_reference, tmp_path):
    """The 2015-08 mock conforms to its own variant only: held to 2016-08 it fails S7b
    (`hard` defaults to false), S11 (no rate limit) and S41 (no SSL certificates: the
    create's 404, a status it does not document, is also schemathesis' finding). docs/conform.md
    runs the 2016-08 mock the same way (S7a fails, S7b and S11 pass)."""
    with run_mock("2015-08", "--time-scale", "0.01", "--tokens", TOKEN) as base:
        command = [sys.executable, "-m", "contract", "conform", "--base-url", base,
                   "--variant", "all", "--token", TOKEN, "--max-examples", "3",
                   "--checks", "api", "--rate-limit-check",
                   "--seed", "7", "--junit", str(tmp_path / "r.xml"),
                   "--json", str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html")]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    assert "2015-08: CONFORMS on the API statements; edge checks not run" in result.stdout
    assert "2016-08: DOES NOT CONFORM (S7b failed, S11 failed, S41 failed, 2 finding(s) of " \
        "schemathesis) on the API statements; edge checks not run" in result.stdout
    assert "schemathesis" in result.stderr  # live progress
    data = json.loads((tmp_path / "r.json").read_text())
    assert [v["conforms"] for v in data["variants"]] == [True, False]
    found = data["variants"][1]["findings"]  # each with the answer it is about
    assert found and all(f["answer"]["status"] >= 400 for f in found), found
    # The token was given as an option: masked everywhere, and the curl lines say so.
    written = [result.stdout, *(p.read_text() for p in tmp_path.iterdir())]
    assert not [text[:80] for text in written if TOKEN in text]
    assert "x-auth-token: ***" in result.stdout and "*** stands for a token" in result.stdout
    # Valid cases the mock refuses (a body over its 8 KiB limit, which the spec's schema
    # does not bound) are said, and the variant still conforms.
    assert data["variants"][0]["informational"], data["variants"][0]["causes"]
    page = (tmp_path / "r.html").read_text()
    assert "does not conform" in page and "curl -i -X DELETE" in page
    junit = ElementTree.parse(tmp_path / "r.xml").getroot()
    suites = {suite.get("name"): suite.attrib for suite in junit}
    assert {name: (a["tests"], a["failures"]) for name, a in suites.items()} == {
        "cdn 2015-08": (str(len(data["variants"][0]["statements"]) + 1), "0"),
        "cdn 2016-08": (str(len(data["variants"][1]["statements"]) + 1), "4")}
    assert int(suites["cdn 2016-08"]["skipped"]) > 0 and junit.get("failures") == "4"
    names = [case.get("name") for case in junit.iter("testcase")]
    assert "S11 (MUST): Rate limit: 20 requests per minute for this operation, counted per " \
        "project (all of its services together); beyond it → 429 (\"wait up to one " \
        "minute\"), and the refusal lasts until that minute is over: a purge 30 s after " \
        "the 21st, within the same calendar minute as the burst, is still refused. Whether " \
        "the minute starts at the first accepted request or at the calendar minute is not " \
        "said; both conform." in names  # whole, never cut mid-phrase
    failure = next(junit.iter("failure"))
    assert failure.get("message") == "S7b fails"


def conform_and_pytest(base: str, *options: str, cwd: Path
                       ) -> tuple[subprocess.CompletedProcess[str], ...]:
    """`conform` and the pytest entry point on one target with one set of options (each
    `--option` as `--cdn-option`), each in a folder of its own under `cwd`."""
    ran = []
    for name, command in (
            ("cli", [sys.executable, "-m", "contract", "conform", "--base-url", base,
                     "--quiet", *options]),
            ("pytest", [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "--cdn-base-url", base,
                        *(f"--cdn-{word[2:]}" if word.startswith("--") else word
                          for word in options),
                        "--pyargs", "contract.conform.test_contract"])):
        (cwd / name).mkdir(exist_ok=True)
        ran.append(subprocess.run(command, capture_output=True, text=True, timeout=300,
                                  cwd=cwd / name))
    return tuple(ran)


@pytest.mark.long
def test_a_must_statement_not_observed_is_not_a_conformance(shared_reference, tmp_path):
    """Without --rate-limit-check, S11 (MUST) is never observed: the verdict says so and how
    to observe it, and the exit code is 1 unless --allow-unobserved; the pytest entry point
    fails it by name, as the same gate."""
    options = ("--max-examples", "2", "--seed", "7", "--checks", "api")
    with run_mock("2016-08", "--time-scale", "0.01") as base:
        strict, plugin = conform_and_pytest(base, *options, cwd=tmp_path)
        lenient = subprocess.run([sys.executable, "-m", "contract", "conform", "--base-url",
                                  base, "--quiet", *options, "--allow-unobserved"],
                                 capture_output=True, text=True, timeout=300)
    assert strict.returncode == 1, strict.stdout[-2000:]
    assert "2016-08: NOT SHOWN TO CONFORM on the API statements; edge checks not run\n  " \
        "MUST S11 not observed: needs a fresh rate-limit window: run with --rate-limit-check" \
        in strict.stdout
    assert lenient.returncode == 0 and "NOT SHOWN TO CONFORM" in lenient.stdout
    assert plugin.returncode == 1, plugin.stdout[-2000:]
    summary = plugin.stdout.strip().splitlines()[-1]
    assert "FAILED ::test_statement[S11]" in plugin.stdout and "1 failed" in summary, summary


def test_cli_bad_input_exits_2_without_traceback():
    """Each bad input is named in the message: the exit code alone could come from any."""
    cases = {("--base-url", f"http://127.0.0.1:{free_port()}"): "no HTTP answer",
             ("--base-url", "ftp://x"): "not an http(s) URL",
             ("--base-url", "http://x", "--variant", "2020"): "'2020' is not one of",
             ("--base-url", "http://127.0.0.1:1", "--observer", "nope"): "module:function",
             # a report path is checked before the run, and its folder is never made
             ("--base-url", "http://127.0.0.1:1", "--junit", "/nonexistent/dir/r.xml"):
                 "Invalid value for --junit: '/nonexistent/dir/r.xml' is in /nonexistent/dir, "
                 "which does not exist",
             ("--base-url", "http://127.0.0.1:1", "--har", "/"): "--har"}
    for args, expected in cases.items():
        result = subprocess.run([sys.executable, "-m", "contract", "conform", *args],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, (args, result.stderr)
        assert expected in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not Path("/nonexistent").exists()


def test_without_a_target_both_entry_points_exit_2(tmp_path, monkeypatch):
    """No --base-url: `conform` exits 2, and so does the pytest entry point (it skipped
    every test before, and a CI that forgot the target passed)."""
    monkeypatch.delenv("CDN_CONTRACT_BASE_URL", raising=False)
    cli = subprocess.run([sys.executable, "-m", "contract", "conform"], capture_output=True,
                         text=True, timeout=60)
    plugin = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "--pyargs", "contract.conform.test_contract"],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert cli.returncode == 2 and "--base-url" in cli.stderr, cli.stderr
    assert plugin.returncode == 2, plugin.stdout[-2000:]
    assert "no --cdn-base-url (or $CDN_CONTRACT_BASE_URL) given" in plugin.stdout + \
        plugin.stderr


@pytest.mark.long
def test_the_command_and_the_pytest_entry_point_agree(shared_reference, tmp_path):
    """One gate: on the vendor's server, with only the edge checks asked for and an edge
    but no origin to put behind it, both exit 0 when the unobserved MUSTs are allowed, and
    the headline says the API was not checked; with no edge at all (none given, none the
    target names) both exit 2 at the preflight (the user's input, issue 48); on a report
    path under a regular file both exit 2 before sending anything, naming the option. (On
    the mock and on a broken vendor, with the API checks, both exit 1: the tests above and
    below.)"""
    vendor = Vendor(Behaviour())
    with serve(vendor) as base:
        cli, plugin = conform_and_pytest(base, "--checks", "edge", "--time-scale", "0.01",
                                         "--edge-url", f"http://127.0.0.1:{free_port()}",
                                         "--allow-unobserved", cwd=tmp_path)
        no_edge = conform_and_pytest(base, "--checks", "edge", "--time-scale", "0.01",
                                     "--allow-unobserved", cwd=tmp_path)
    assert cli.returncode == 0 and plugin.returncode == 0, (cli.stdout[-3000:],
                                                           plugin.stdout[-3000:])
    assert "2016-08: NOT SHOWN TO CONFORM on the edge statements; API checks not run" in \
        cli.stdout
    assert "failed" not in plugin.stdout.splitlines()[-1]
    for result in no_edge:
        shown = result.stdout + result.stderr
        assert result.returncode == 2 and "--checks edge: " in shown, shown[-3000:]
    (tmp_path / "a-file").write_text("")
    for result in conform_and_pytest(f"http://127.0.0.1:{free_port()}", "--json",
                                     str(tmp_path / "a-file" / "r.json"), cwd=tmp_path):
        shown = result.stdout + result.stderr
        assert result.returncode == 2 and "--json" in shown and "not a folder" in shown, shown
        assert "Traceback" not in shown


@pytest.mark.long
def test_one_cause_is_one_row_with_its_answer_and_a_replay_that_replays(shared_reference,
                                                                       tmp_path):
    """A vendor whose errors are `{"message": "text"}`: S16 fails on every error it sends,
    and the report is one row per cause (its count, operations and one example quoting the
    body received), short enough to read (a few lines a cause); the 8 KiB body goes to a file
    the curl line reads; --har holds every exchange, and `validate` reads it back; no
    `.hypothesis/` is left behind; the pytest entry point gives the same exit status."""
    vendor = Vendor(Behaviour(plain_errors=True))
    options = ("--max-examples", "1", "--seed", "3", "--checks", "api", "--time-scale",
               "0.01", "--json", "r.json", "--har", "r.har", "--html", "r.html")
    with serve(vendor) as base:
        cli, plugin = conform_and_pytest(base, *options, cwd=tmp_path)
    assert cli.returncode == 1 and plugin.returncode == 1, cli.stdout[-3000:]
    assert "FAILED ::test_statement[S16]" in plugin.stdout
    lines = cli.stdout.splitlines()
    # short enough to read: each cause one block of a few lines (its row, one example and
    # its curl), beside the verdict and the table of the statements. A bound on the whole
    # (150 lines) moved with the fuzzed cases: 147 or 162 lines as they drew a 413 or not.
    blocks: list[list[str]] = []
    for line in lines:
        if re.match(r"  (FAIL|warn|info|n/o) ", line):
            blocks.append([line])
        elif blocks and line.startswith("      "):
            blocks[-1].append(line)
    assert blocks and max(map(len, blocks)) <= 12, blocks
    assert len(lines) - sum(map(len, blocks)) <= 60, cli.stdout
    assert "2016-08: DOES NOT CONFORM (S16 failed" in cli.stdout
    folder = tmp_path / "cli"
    data = json.loads((folder / "r.json").read_text())["variants"][0]
    rows = [c for c in data["causes"] if c["statement"] == "S16"
            and c["example"]["check"] == "error_bodies"]
    not_found = next(c for c in rows if c["example"]["answer"]["status"] == 404)
    assert not_found["count"] > 10 and len(not_found["operations"]) > 2, not_found
    assert not_found["cause"].endswith("got 404 {message: str}")
    body = not_found["example"]["answer"]["body"]
    assert json.loads(body).keys() == {"message"}
    # the terminal quotes it as it came, cut to its width (80 columns in a pipe)
    assert any(len(line) <= 80 and len(line.strip()) > 20 and body.startswith(
        line.strip().removesuffix("…")) for line in lines), body
    assert len({c["cause"] for c in rows}) == len(rows)  # one row per cause
    # The oversized-body probe's curl reads its body from a file beside the report.
    replay = next(line for line in lines if "--data-binary @" in line)
    path = Path(replay.split("--data-binary @")[1].split()[0])
    assert path.parent == folder and path.stat().st_size > 8192, replay
    har = json.loads((folder / "r.har").read_text())["log"]["entries"]
    assert len(har) > data["cases"], len(har)
    read = subprocess.run([sys.executable, "-m", "contract", "validate", str(folder / "r.har"),
                           "--format", "json"], capture_output=True, text=True, timeout=120)
    assert read.returncode in (0, 1), read.stderr  # read back whole: no entry refused
    assert len(json.loads(read.stdout)["exchanges"]) == len(har)
    assert not (folder / ".hypothesis").exists() and not (tmp_path / "pytest" /
                                                          ".hypothesis").exists()


def test_hypothesis_keeps_its_tables_in_our_cache_folder_or_a_temporary_one(tmp_path):
    """The Unicode tables hypothesis builds on first use (two seconds a run) are kept in
    $XDG_CACHE_HOME/cdn-contract/hypothesis, and no example database; where that cannot be
    written, a temporary folder takes them and is removed after the run."""
    script = ("from hypothesis.configuration import storage_directory\n"
              "from contract.conform import fuzz\n"
              "with fuzz._storage(): fuzz._unicode_tables(); print(storage_directory().path)")
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_STORAGE_DIRECTORY"}
    for cache, kept in ((tmp_path / "cache", True), (tmp_path / "a-file", False)):
        if not kept:
            cache.write_text("")  # no folder can be made under a file
        ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             timeout=120, cwd=tmp_path, check=False,
                             env={**env, "XDG_CACHE_HOME": str(cache)})
        assert ran.returncode == 0, ran.stderr
        used = Path(ran.stdout.strip())
        folder = cache / "cdn-contract" / "hypothesis"
        if kept:
            assert used == folder and (folder / "unicode_data").is_dir(), ran.stdout
            assert not list(folder.rglob("examples")), list(folder.rglob("*"))
        else:
            assert used.name.startswith("cdn-contract-hypothesis-") and not used.exists()
        assert not (tmp_path / ".hypothesis").exists()


def test_a_token_the_target_echoes_is_masked_in_every_report(shared_reference):
    """A target that quotes the token it was sent in its errors' bodies and headers: every
    report masks it, JSON included (its answers were written as they came: 22 times)."""
    def echoed(scope: dict, status: int, headers: list, body: bytes) -> tuple[int, list, bytes]:
        if status < 400:
            return status, headers, body
        sent = dict(scope["headers"]).get(b"x-auth-token", b"").decode()
        error = {"message": {"errors": [{"message": f"refused for token {sent}"}]}}
        return status, [*headers, (b"x-seen-token", sent.encode())], json.dumps(error).encode()

    with run_upstream(broken.Broken(outbound=echoed)) as port:
        target = Target(f"http://127.0.0.1:{port}", Identity(TOKEN, True))
        reports = run(target, RunOptions(["2016-08"], FuzzSettings(1, 1, 1), groups=("api",)))
    shown = Run(reports, target.base_url, target.identity.secrets())
    written = {"terminal": summary(shown), "json": as_json(shown), "html": as_html(shown),
               "junit": as_junit(shown)}
    assert {name: text.count(TOKEN) for name, text in written.items()} == dict.fromkeys(
        written, 0)
    assert "refused for token ***" in written["json"]  # the answer is still quoted


class DropsOnHugeNumbers:
    """The mock, but a request whose query holds `1e999` gets its status line and then a
    closed connection (uvicorn closes it when the app fails mid-answer)."""

    def __init__(self) -> None:
        self.app = broken.Broken()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and b"1e999" in scope["query_string"]:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            raise RuntimeError("dropped on purpose")
        await self.app(scope, receive, send)


def test_a_dropped_connection_fails_s36_with_a_curl_line_that_asks_again(shared_reference):
    """Nothing came back to quote: the failure says so and gives the request as a curl
    line (it gave neither answer nor curl before), one row for all the drops."""
    (check,) = [c for c in CHECKS if c.name == "hostile_inputs"]
    document = load_document("2016-08")
    contract, statements = read_contract(document), frozenset(embedded(document))
    with run_upstream(DropsOnHugeNumbers()) as port:
        target = Target(f"http://127.0.0.1:{port}", Identity(TOKEN, True), time_scale=0.01)
        outcomes = check.run(Context(target, contract, document, set(statements)),
                             Expect(contract, statements))
    dropped = [o for o in outcomes if "closed without an answer" in o.message]
    assert dropped and all(o.status == Status.FAIL for o in dropped), outcomes
    assert all(o.curl.startswith("curl -i -X ") and "1e999" in o.curl and TOKEN not in o.curl
               for o in dropped), [o.curl for o in dropped]
    (row,) = group(dropped)
    assert len(row.outcomes) == len(dropped)


def test_the_terminal_merges_the_statements_not_observable_for_one_reason_only():
    """Statements not observable for one reason share a row; two with no exchange and
    reasons of their own (no observer; no second tenant) each keep theirs (both had the
    default cause `<statement> not observable`, and the row said the first's for both)."""
    why = {"S7b": "the target has no /__mock__/jobs and no --observer was given",
           "S18": "another project's service: a second tenant needs --other-project-id",
           "S3": "no 202 to judge", "S4": "no 202 to judge"}
    verdicts = [StatementVerdict(sid, "MUST", "", [unobservable(sid, reason)])
                for sid, reason in why.items()]
    shown = summary(Run([VariantReport("2016-08", verdicts, groups=("api",))], "http://t"))
    rows = [line for line in shown.splitlines() if line.startswith("  n/o ")]
    assert rows == [f"  n/o S7b: {why['S7b']}", f"  n/o S18: {why['S18']}",
                    "  n/o S3, S4: no 202 to judge"], shown


def test_a_token_shows_as_its_variable_only_when_it_came_from_one(monkeypatch, tmp_path):
    """From $CDN_CONTRACT_TOKEN: the curl line names the variable (the shell fills it in,
    an invalid token made from it included) and the note says to set it; from --token:
    masked. A body over CURL_BODY is read from a file in the reports' folder, never cut."""
    def secrets(*arguments: str) -> dict[str, str]:
        with conform.make_context("conform", ["--base-url", "http://x", *arguments]) as made:
            return configure(made.params).target.identity.secrets()

    assert secrets("--token", "abc") == {"abc": "***"}
    monkeypatch.setenv("CDN_CONTRACT_TOKEN", "abc")
    from_env = secrets()
    assert from_env == {"abc": "$CDN_CONTRACT_TOKEN"}
    request = httpx.Request("POST", "http://x/v1.0/p/services", content=b"x" * 300,
                            headers={"X-Auth-Token": "abc-not-valid"})
    line = curl(request, from_env, tmp_path)
    assert '-H "x-auth-token: $CDN_CONTRACT_TOKEN-not-valid"' in line and "abc" not in line
    assert f"--data-binary @{tmp_path}/body-" in line and "…" not in line
    assert secrets_note(from_env) == "set CDN_CONTRACT_TOKEN before running a curl line"


def test_a_token_checked_against_a_mock_that_takes_any_says_how_to_start_it(shared_reference):
    """Issue 46, item 2: `conform --token t` against a mock started without --tokens failed
    S10 and four ignored_auth findings with no word of why: the run now says so."""
    with run_mock("2016-08", "--time-scale", "0.01") as base:
        result = subprocess.run(
            [sys.executable, "-m", "contract", "conform", "--base-url", base, "--token", "t",
             "--checks", "api", "--max-examples", "1", "--seed", "1", "--quiet"],
            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "note: this mock accepts any X-Auth-Token (it was started without --tokens)" \
        in result.stdout and "start it with --tokens and the token given here" in result.stdout
