"""`cdn-contract validate` as a CI job runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from contract.spec.variants import PROJECT_ROOT, VARIANTS

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
    assert "response.status  [S2 S4 MUST] status 200 is not documented" in result.stdout


def test_a_violation_of_an_interpretation_only_is_a_warning_unless_strict(shared_reference,
                                                                          tmp_path):
    """A purge with `hard=true` and a wildcard, answered 202: the request breaks S21 (an
    INTERPRETATION), so it is named with its level, as a warning: exit 0, and 1 with
    --strict. Before, `validate` said `valid` (it never looked at S21)."""
    request = tmp_path / "wildcard-http.txt"
    request.write_text(_with_query(PURGE[0].read_text(), "hard=true&url=/images/*"))
    result = cli(request, PURGE[1], "--variant", "2016-08")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2016-08  valid, 1 warning(s)" in result.stdout
    assert "request.query.url  [S21 INTERPRETATION] warning: " in result.stdout
    assert cli(request, PURGE[1], "--variant", "2016-08", "--strict").returncode == 1


@pytest.mark.parametrize("engine", ["compiled", "openapi-core"])
def test_a_429_is_judged_by_the_statement_of_each_part_it_breaks(shared_reference, tmp_path,
                                                                  engine):
    """The 429's `Retry-After` is asked for by S24 alone (an INTERPRETATION), its form by
    S35 (SHOULD), the error body by S16 (SHOULD): a 429 without the header is valid with a
    warning (exit 0, 1 with --strict); one asking for 120 s fails on S35; a body that is not
    the documented error fails on S16. Both engines say so alike. Before, a missing header
    was a SHOULD failure (S24 and S35 cited together) and the body's shape was S11 and S24's."""
    error = '{"message": {"errors": [{"message": "Too many requests"}]}}'

    def answered(name: str, headers: str, body: str = error) -> Path:
        path = tmp_path / f"{name}-http.txt"
        path.write_text("HTTP/1.1 429 Too Many Requests\nContent-Type: application/json\n"
                        f"{headers}\n{body}")
        return path

    def judged(response: Path, *options: str) -> subprocess.CompletedProcess[str]:
        return cli(PURGE[0], response, "--variant", "2016-08", "--engine", engine, *options)

    without = answered("without", "")
    result = judged(without)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2016-08  valid, 1 warning(s)" in result.stdout
    assert "response.header.Retry-After  [S24 INTERPRETATION] warning: required header" \
        in result.stdout
    assert judged(without, "--strict").returncode == 1
    result = judged(answered("too-long", "Retry-After: 120\n"))
    assert result.returncode == 1
    assert "response.header.Retry-After  [S24 S35 SHOULD] header" in result.stdout
    result = judged(answered("plain", "Retry-After: 30\n", '{"message": "slow down"}'))
    assert result.returncode == 1
    assert "response.body/message  [S16 SHOULD] 'slow down' is not of type" \
        in result.stdout
    assert judged(answered("documented", "Retry-After: 30\n")).returncode == 0


def _with_query(message: str, query: str) -> str:
    """A raw request with its query replaced."""
    line, _, rest = message.partition("\n")
    method, target, version = line.split(" ", 2)
    return f"{method} {target.split('?', 1)[0]}?{query} {version}\n{rest}"


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


def test_each_exchange_says_what_came_back_and_a_repeated_violation_is_counted_once(
        shared_reference, tmp_path):
    """A HAR of three purges answered 200, one of them asking `hard=maybe`: each entry's line
    names the request and the status that came back (table, JSON, JUnit), and the table
    ends with the violation the three share, counted, before the one of a single entry.
    Before, an entry was its name and operation only, and a cause repeated a thousand times
    was read a thousand times."""
    url = "http://cdn.example/v1.0/1/services/96737ae3-cfc1-4c72-be88-5d0e7cc9a3f0/assets"
    entries = [{"request": {"method": "DELETE", "url": f"{url}?{query}", "headers": [
        {"name": "X-Auth-Token", "value": "t"}]}, "response": {"status": 200, "headers": [],
                                                              "content": {"text": ""}}}
               for query in ("url=/a.png", "url=/b.png", "hard=maybe&url=/c.png")]
    har = tmp_path / "purges.har"
    har.write_text(json.dumps({"log": {"entries": entries}}))
    table = cli(har, "--variant", "2016-08")
    assert table.returncode == 1, table.stderr
    lines = table.stdout.splitlines()
    assert f"purges.har#2  [deleteCachedAsset]  DELETE {url}?hard=maybe&url=/c.png → 200" in lines
    closing = lines[lines.index("violations found in more than one exchange, most first:") + 1:]
    assert closing[0].startswith("  3 x 2016-08  response.status  [S2 S4 MUST] status 200 is "
                                 "not documented"), closing
    assert closing[0].endswith("(first: purges.har#0)") and closing[1] == "", closing
    data = json.loads(cli(har, "--variant", "2016-08", "--format", "json").stdout)
    assert [(e["method"], e["url"].rsplit("?", 1)[1], e["status"]) for e in data["exchanges"]
            ] == [("DELETE", entry["request"]["url"].rsplit("?", 1)[1], 200) for entry in entries]
    junit = ET.fromstring(cli(har, "--variant", "2016-08", "--format", "junit").stdout)
    failures = [f.text.splitlines()[0] for f in junit.iter("failure")]
    assert failures == [f"DELETE {entry['request']['url']} → 200" for entry in entries]


def test_bad_input_exits_2_with_one_line(tmp_path):
    broken = tmp_path / "broken-http.txt"
    broken.write_text("GET / HTTP/1.1\nno colon\n")
    result = cli(broken)
    assert result.returncode == 2
    assert result.stderr == f"error: {broken}:2: malformed header line: 'no colon'\n"
    assert cli(tmp_path / "absent.txt").returncode == 2


REQUEST = {"method": "GET", "url": "http://h/v1.0/p/ping", "headers": []}
MALFORMED_HARS = {  # what each gave before: a traceback (issue 21, item 16)
    "log is a list": ('{"log": []}', "no log.entries list"),
    "a header name is a number": (json.dumps({"log": {"entries": [{"request": {
        **REQUEST, "headers": [{"name": 5, "value": "x"}]}}]}}),
        "`request.headers[0].name` is a number"),
    "a URL that is not one": (json.dumps({"log": {"entries": [{"request": {
        **REQUEST, "url": "http://[::1/v1.0/p/ping"}}]}}), "`request.url`"),
    "content.text is a number": (json.dumps({"log": {"entries": [{"request": REQUEST,
        "response": {"status": 200, "content": {"text": 5}}}]}}),
        "`response.content.text` is a number"),
    "postData.text is an object": (json.dumps({"log": {"entries": [{"request": {
        **REQUEST, "postData": {"text": {"a": 1}}}}]}}),
        "`request.postData.text` is an object"),
    "JSON nested 100,000 deep": ("[" * 100_000 + "]" * 100_000, "nested too deep"),
}


def test_malformed_har_files_get_one_line_and_exit_2(tmp_path):
    for name, (text, message) in MALFORMED_HARS.items():
        path = tmp_path / "recorded.har"
        path.write_text(text)
        result = cli(path)
        assert result.returncode == 2, (name, result.stderr[-500:])
        assert result.stderr.count("\n") == 1 and message in result.stderr, (name, result.stderr)
        assert str(path) in result.stderr


def test_a_request_without_its_response_is_said_to_be_judged_on_the_request_only(
        shared_reference, tmp_path):
    """Every format says so; --require-response makes it a failure."""
    said = "request only: response not judged"
    table = cli(PURGE[0], "--variant", "2016-08")
    assert table.returncode == 0 and f"note: {said}" in table.stdout, table.stdout
    document = json.loads(cli(PURGE[0], "--variant", "2016-08", "--format", "json").stdout)
    assert document["exchanges"][0]["notes"] == [said]
    junit = ET.fromstring(cli(PURGE[0], "--variant", "2016-08", "--format", "junit").stdout)
    assert junit.find("testsuite/testcase/system-out").text == said
    har = tmp_path / "request-only.har"
    har.write_text(json.dumps({"log": {"entries": [{"request": {
        "method": "GET", "url": "http://h/v1.0/p1/ping",
        "headers": [{"name": "X-Auth-Token", "value": "t"}]}}]}}))
    required = cli(har, "--variant", "2016-08", "--require-response")
    assert required.returncode == 1
    assert "INVALID (1)" in required.stdout, required.stdout
    assert f"response  {said} (--require-response)" in required.stdout
