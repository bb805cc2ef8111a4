"""`cdn-contract validate` as a CI job runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from xml.etree import ElementTree as ET

from contract.variants import PROJECT_ROOT, VARIANTS

SAMPLES = VARIANTS["2016-08"].wadl_path.parent / "samples"
PURGE = [SAMPLES / "cdn-deleteCachedAsset_request-json-http.txt",
         SAMPLES / "cdn-deleteCachedAsset_response-json-http.txt"]


def cli(*args) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "contract", "validate", *map(str, args)],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)


def test_valid_sample_exits_0_with_a_table_per_variant(shared_reference):
    result = cli(*PURGE)
    assert result.returncode == 0, result.stderr
    assert "2015-08  valid   defaults applied: hard=false" in result.stdout
    assert "2016-08  valid   defaults applied: hard=true" in result.stdout
    assert result.stdout.rstrip().endswith("1 exchange(s); 2015-08: 1/1 valid; 2016-08: 1/1 valid")


def test_violations_exit_1_and_name_the_statement(shared_reference, tmp_path):
    altered = tmp_path / "purge-200-http.txt"
    altered.write_text("HTTP/1.1 200 OK\n")
    result = cli(PURGE[0], altered, "--variant", "2016-08")
    assert result.returncode == 1
    assert "response.status  [S2 S4] status 200 is not documented" in result.stdout


def test_json_and_junit_reports(shared_reference, tmp_path):
    request = tmp_path / "maybe-http.txt"
    request.write_text(PURGE[0].read_text().replace("?url=", "?hard=maybe&url="))
    report = json.loads(cli(request, "--format", "json").stdout)
    assert report["valid"] is False
    verdicts = report["exchanges"][0]["verdicts"]
    assert [v["variant"] for v in verdicts] == ["2015-08", "2016-08"]
    assert verdicts[1]["violations"][0]["location"] == "request.query.hard"
    assert "S17" in verdicts[1]["violations"][0]["statements"]
    junit = ET.fromstring(cli(request, "--format", "junit").stdout)
    assert [s.get("failures") for s in junit.iter("testsuite")] == ["1", "1"]


def test_bad_input_exits_2_with_one_line(tmp_path):
    broken = tmp_path / "broken-http.txt"
    broken.write_text("GET / HTTP/1.1\nno colon\n")
    result = cli(broken)
    assert result.returncode == 2
    assert result.stderr == f"error: {broken}:2: malformed header line: 'no colon'\n"
    assert cli(tmp_path / "absent.txt").returncode == 2
