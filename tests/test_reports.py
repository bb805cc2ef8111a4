"""The conformance reports a person reads at a glance (issue 46, items 3 and 4) and that
account for what the run did (issue 48, items 3 and 9): the terminal (failures first, fitted
to its width, in colour when asked, progress with counts and time left), the services the
run created, removed and left with the command that removes each, and a gate on what changed
since a baseline report."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest

from contract.conform.target import Fixtures, Identity, Target
from contract.conform.terminal import Terminal, detect
from contract.spec.variants import PROJECT_ROOT
from tests.servers import free_port, run_mock
from tests.test_conform import conform_and_pytest
from tests.vendor import Behaviour, Vendor, serve

ANSI = re.compile(r"\x1b\[[0-9;]*m")
TOKEN = "t0k3n-given-as-an-option"


def conform(base: str, *options: str, columns: int = 80, cwd: Path | None = None
            ) -> subprocess.CompletedProcess[str]:
    """`conform` as a user runs it, its output in a pipe `columns` wide ($COLUMNS)."""
    return subprocess.run([sys.executable, "-m", "contract", "conform", "--base-url", base,
                           *options], capture_output=True, text=True, timeout=300,
                          cwd=cwd or PROJECT_ROOT,
                          env={**os.environ, "COLUMNS": str(columns)})


def test_the_terminal_shows_failures_first_fitted_to_its_width_in_colour(
        shared_reference, tmp_path):
    """The 2015-08 mock held to 2016-08 fails S7b and S41: each variant opens with its
    verdict and its failures, before the table of statements; every line fits 80 columns
    but the verdict lines (searched by CI logs) and the curl lines (pasted; whole up to
    four lines' worth); a row whose answer was cut says where it is whole; --color colours
    it; the progress counts the steps and says the time left; the run accounts for its
    services in the terminal, the JSON and the HTML."""
    with run_mock("2015-08", "--time-scale", "0.01", "--tokens", TOKEN) as base:
        result = conform(base, "--variant", "2016-08", "--checks", "api", "--token", TOKEN,
                         "--max-examples", "2", "--seed", "1", "--color",
                         "--html", str(tmp_path / "r.html"), "--json", str(tmp_path / "r.json"))
    assert result.returncode == 1, result.stderr[-2000:]
    assert "\x1b[1;31mDOES NOT CONFORM\x1b[0m" in result.stdout
    assert "\x1b[1;31mFAIL\x1b[0m S7b" in result.stdout
    lines = ANSI.sub("", result.stdout).splitlines()
    opening = lines.index(next(line for line in lines if " against the 2016-08 contract" in line))
    assert lines[opening + 1].startswith("  2016-08: DOES NOT CONFORM (S7b failed"), lines[:5]
    table = lines.index("  id    level           result  counts")
    first_fail = next(i for i, line in enumerate(lines) if line.startswith("  FAIL S7b"))
    assert opening < first_fail < table, lines[:first_fail + 1]
    verdicts = {i for i, line in enumerate(lines) if "DOES NOT CONFORM" in line}
    long = [line for i, line in enumerate(lines) if len(line) > 80 and i not in verdicts
            and not (line.startswith("      curl ") and len(line) <= 320)]
    assert not long, long
    # A row cut to the width points to its anchor in the HTML report, where it is whole.
    pointers = [line for line in lines if line.startswith("      (cut to 80 columns; whole in ")]
    assert pointers, result.stdout
    page = (tmp_path / "r.html").read_text()
    for pointer in pointers:
        anchor = pointer.split("#")[1].rstrip(")")
        assert f"id={anchor}>" in page, anchor
    # Progress: a count of the steps, the time spent and the time left.
    steps = re.findall(r"^\[(\d+)/(\d+) \d+ s(, about \d+ s left)?\] ", result.stderr, re.M)
    assert len(steps) > 10 and steps[-1][0] == steps[-1][1] and steps[0][2], result.stderr
    # The services: every id created, each seen removed, none left (the mock deletes).
    services = json.loads((tmp_path / "r.json").read_text())["services"]
    created = {(s["project"], s["id"]) for s in services["created"]}
    assert len(created) > 5 and created == {(s["project"], s["id"])
                                            for s in services["removed"]}
    assert services["left"] == [], services
    assert f"services: {len(created)} created, {len(created)} removed" in lines
    assert f"services: {len(created)} created, {len(created)} removed" in page
    assert all(service in page for _, service in created)
    assert TOKEN not in result.stdout + page


def test_colour_is_on_on_a_terminal_unless_no_color_or_asked_off(monkeypatch):
    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert detect(None, Tty()).colour and not detect(False, Tty()).colour
    with open(os.devnull, "w") as pipe:
        assert not detect(None, pipe).colour  # a pipe, a file
        assert detect(True, pipe).colour  # --color
    monkeypatch.setenv("NO_COLOR", "1")
    assert not detect(None, Tty()).colour
    monkeypatch.setenv("COLUMNS", "57")
    assert detect(None, Tty()).width == 57
    assert Terminal(10).fit("0123456789abc") == ("012345678…", True)
    cut, _ = Terminal(40).fit(f"GET http://x/{'y' * 40} → 404 Not Found")
    assert cut == f"GET http://x/{'y' * 10}… → 404 Not Found"  # the URL cut, not the status
    assert Terminal(10).wrap("  n/o S1, S2, S3: why") == ["  n/o S1,", "      S2,", "      S3:",
                                                          "      why"]


def test_the_services_left_are_listed_with_a_command_that_removes_each(shared_reference):
    """With --keep-services every service is left, each with a curl line that deletes
    it (run here: the mock then answers 404); a deletion that never completes leaves the
    service listed as still present, with its history, and none counted removed."""
    with run_mock("2016-08", "--time-scale", "0.01", "--tokens", TOKEN) as base:
        target = Target(base, Identity(TOKEN, True), Fixtures(keep_services=True))
        target.token_header = "X-Auth-Token"
        made = [target.create_service("p1", target.service_body()[0])[0] for _ in range(2)]
        account = target.account()
        assert [(x.project, x.service) for x in account.left] == [("p1", s) for s in made]
        assert account.line() == "services: 2 created, kept (--keep-services)"
        for left in account.left:
            assert TOKEN not in left.delete and "x-auth-token: ***" in left.delete
            sent = subprocess.run(shlex.split(left.delete.replace("***", TOKEN)),
                                  capture_output=True, text=True, timeout=30)
            assert sent.stdout.startswith("HTTP/1.1 202"), sent.stdout
        deadline = time.monotonic() + 10
        while any(httpx.get(f"{base}/v1.0/p1/services/{s}", headers={"X-Auth-Token": TOKEN}
                            ).status_code != 404 for s in made):
            assert time.monotonic() < deadline, "the delete lines did not delete"
            time.sleep(0.05)
    slow = Vendor(Behaviour(delete_seconds=10 ** 6))
    with serve(slow) as base:
        target = Target(base, time_scale=0.01, fixtures=Fixtures(deploy_timeout=50))
        target.token_header = "X-Auth-Token"
        made = [target.create_service("p", target.service_body()[0])[0] for _ in range(2)]
        target.remove_created(lambda _: None)
        account = target.account()
    assert account.removed == [] and [x.service for x in account.left] == made
    assert all(x.why.startswith("deletion accepted, still present after") and
               x.delete.startswith("curl -i -X DELETE") and x.delete.endswith(
                   f"/v1.0/p/services/{x.service}") for x in account.left), account.left
    assert account.line() == "services: 2 created, 0 removed, 2 left"


@pytest.mark.long
def test_a_baseline_names_what_is_new_and_what_was_fixed(shared_reference, tmp_path):
    """The base vendor's report as the baseline: a run of a vendor that answers purges
    200 names exactly S2 as new, exits 1 under --fail-on new, and its HTML and JUnit mark
    S2 new; with that report as the baseline, a rerun of the base vendor passes --fail-on
    new, S2 marked fixed."""
    options = ("--checks", "api", "--max-examples", "1", "--seed", "1", "--time-scale",
               "0.01", "--rate-limit-check", "--allow-unobserved", "--quiet")
    with serve(Vendor(Behaviour())) as base:
        first = conform(base, *options, "--json", "base.json", cwd=tmp_path)
    assert first.returncode == 0, first.stdout[-3000:]
    with serve(Vendor(Behaviour(defects=frozenset({"purge_200"})))) as base:
        defect = conform(base, *options, "--baseline", "base.json", "--fail-on", "new",
                         "--json", "defect.json", "--html", "defect.html",
                         "--junit", "defect.xml", cwd=tmp_path)
    assert defect.returncode == 1, defect.stdout[-3000:]
    assert "  against the baseline: new S2; nothing fixed; nothing stays" in defect.stdout
    variant = json.loads((tmp_path / "defect.json").read_text())["variants"][0]
    assert variant["baseline"] == {"new": ["S2"], "fixed": [], "stays": []}
    page = (tmp_path / "defect.html").read_text()
    assert re.search(r"id=2016-08-S2>.*?<span class='badge new'>new</span>", page)
    assert page.count("class='badge new'") == 1
    junit = ElementTree.parse(tmp_path / "defect.xml").getroot()
    marked = {case.get("name").split()[0]: prop.get("value") for case in junit.iter("testcase")
              for prop in case.iter("property") if prop.get("name") == "baseline"}
    assert marked == {"S2": "new"}
    failure = next(junit.iter("failure"))
    assert failure.get("message") == "S2 fails (new since the baseline)"
    with serve(Vendor(Behaviour())) as base:
        rerun = conform(base, *options, "--baseline", "defect.json", "--fail-on", "new",
                        "--html", "rerun.html", "--junit", "rerun.xml", cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    assert "  against the baseline: nothing new; fixed S2; nothing stays" in rerun.stdout
    assert "<span class='badge fixed'>fixed</span>" in (tmp_path / "rerun.html").read_text()
    # The known defect again: both entry points pass --fail-on new (S2 stays), as one gate.
    with serve(Vendor(Behaviour(defects=frozenset({"purge_200"})))) as base:
        again = conform_and_pytest(base, *options[:-1], "--baseline",  # it adds --quiet
                                   str(tmp_path / "defect.json"), "--fail-on", "new",
                                   cwd=tmp_path)
    assert [result.returncode for result in again] == [0, 0], again[1].stdout[-3000:]
    assert "  against the baseline: nothing new; nothing fixed; stays S2" in again[0].stdout


@pytest.mark.parametrize("content, problem", [
    (None, "does not exist"),
    ("{not json", "--baseline {path}: not JSON (line 1, column 2"),
    ('{"variants": [{"variant": "2016-08"}]}', "--baseline {path}: not a `conform --json` "
                                              "report"),
    ("[]", "not a `conform --json` report")])
def test_a_bad_baseline_exits_2_naming_it_before_anything_is_sent(tmp_path, content, problem):
    path = tmp_path / "base.json"
    if content is not None:
        path.write_text(content)
    # nothing listens there: a request sent would be the preflight's "no HTTP answer"
    result = conform(f"http://127.0.0.1:{free_port()}", "--baseline", str(path),
                     "--fail-on", "new")
    assert result.returncode == 2, result.stderr
    assert problem.format(path=path) in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3 and "Traceback" not in result.stderr
    assert "no HTTP answer" not in result.stderr
    alone = conform("http://127.0.0.1:1", "--fail-on", "new")
    assert alone.returncode == 2 and "--fail-on" in alone.stderr and "--baseline" in alone.stderr


def test_on_a_terminal_the_progress_is_a_bar_with_counts_and_time_left(shared_reference):
    """Standard error a terminal: each check's line, and a bar (rich) with the steps done
    of the total, the time spent and the time left, cleared at the end."""
    import pty
    import threading

    primary, secondary = pty.openpty()
    with run_mock("2016-08", "--time-scale", "0.01") as base:
        process = subprocess.Popen(
            [sys.executable, "-m", "contract", "conform", "--base-url", base, "--checks",
             "api", "--max-examples", "1", "--seed", "1"], stdout=subprocess.PIPE,
            stderr=secondary, cwd=PROJECT_ROOT, env={**os.environ, "COLUMNS": "100"})
        os.close(secondary)
        shown = bytearray()

        def read() -> None:
            while True:
                try:
                    chunk = os.read(primary, 65536)
                except OSError:  # the terminal closed with the process
                    return
                if not chunk:
                    return
                shown.extend(chunk)
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        stdout = process.communicate(timeout=300)[0].decode()
        reader.join(10)
    os.close(primary)
    text = ANSI.sub("", shown.decode("utf-8", "replace"))
    assert process.returncode == 1 and "2016-08: NOT SHOWN TO CONFORM" in stdout, text[-2000:]
    total = int(re.findall(r"conform\s.*?\s(\d+)/(\d+)", text)[-1][1])
    assert total > 10 and re.search(rf"\b{total}/{total}\b", text), text[-2000:]
    assert re.search(r"\d+/\d+ \d+:\d\d:\d\d left", text), text[-2000:]
    assert "purge_is_accepted (S1,S2,S3,S4,S9,S32): 6 observation(s)" in text
    assert "\x1b[?25l" in shown.decode("utf-8", "replace")  # rich hid the cursor (a live bar)
