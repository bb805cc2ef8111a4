"""The mock as a client author's instrument (issue 47): the request journal (what the client
sent), the coverage report (what its tests exercised) and network faults (what it
survives), each driven by a real client (the generated one, and a naive httpx one) against
`cdn-contract mock` running for real on loopback."""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from contract.recorded.har import read_har
from contract.spec.variants import PROJECT_ROOT
from tests import test_client
from tests.servers import free_port, run_cli_server, run_mock

PROJECT = "journal-p"
TOKEN = "journal-secret-token"
AUTH = {"X-Auth-Token": TOKEN}
SERVICE = {"name": "journal.example", "domains": [{"domain": "www.journal.example"}],
           "origins": [{"origin": "origin.journal.example"}], "flavor_id": "cdn"}


def _created(base: str, project: str = PROJECT, domain: str = "www.journal.example") -> str:
    answer = httpx.post(f"{base}/v1.0/{project}/services", headers=AUTH,
                        json={**SERVICE, "domains": [{"domain": domain}]})
    assert answer.status_code == 202, answer.text
    return answer.headers["Location"].rsplit("/", 1)[1]


def _listed(base: str, **query: str) -> dict:
    answer = httpx.get(f"{base}/__mock__/requests", params=query, headers=AUTH)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_journal_shows_what_a_naive_client_sent_filters_pages_and_exports_har(
        shared_reference, tmp_path):
    with run_mock("2016-08", "--time-scale", "0.02", "--no-edge") as base:
        service = _created(base)
        body = json.dumps([{"op": "replace", "path": "/name", "value": "renamed"}]).encode()
        time.sleep(0.8)  # deployed (30 s x 0.02)
        httpx.patch(f"{base}/v1.0/{PROJECT}/services/{service}", content=body,
                    headers={**AUTH, "Content-Type": "application/json-patch+json"})
        httpx.delete(f"{base}/v1.0/{PROJECT}/services/{service}/assets", headers=AUTH,
                     params={"url": "/a.css", "hard": "true"})
        refused = httpx.delete(f"{base}/v1.0/{PROJECT}/services/{service}/assets",
                               headers=AUTH, params={"hard": "true"})  # S22: no url
        assert refused.status_code == 400
        httpx.get(f"{base}/v1.0/{PROJECT}/services/00000000-0000-4000-8000-000000000000",
                  headers=AUTH)

        every = _listed(base)["requests"]
        assert [(e["method"], e["operation"], e["status"]) for e in every] == [
            ("POST", "createService", 202), ("PATCH", "patchService", 202),
            ("DELETE", "deleteCachedAsset", 202), ("DELETE", "deleteCachedAsset", 400),
            ("GET", "getService", 404)]
        patched, purged, bare = every[1], every[2], every[3]
        assert patched["path_params"] == {"project_id": PROJECT, "service_id": service}
        assert patched["body"] == {"size": len(body),
                                   "sha256": hashlib.sha256(body).hexdigest()}
        assert TOKEN not in json.dumps(every)  # masked, yet two tokens stay told apart
        assert patched["headers"]["x-auth-token"].startswith("sha256:")
        assert patched["headers"]["content-type"] == "application/json-patch+json"
        assert purged["query"] == [["url", "/a.css"], ["hard", "true"]]
        assert {"S1", "S2", "S3", "S4", "S5", "S6", "S10"} <= set(purged["statements"])
        assert "S22" in bare["statements"] and bare["refused"] is True
        assert not {"S21", "S23", "S25"} & set(bare["statements"])  # the rule it broke
        assert purged["refused"] is False and purged["fault"] is None

        # filters: operation, method, path prefix, service, status (or class), time
        def ids(**query: str) -> list[int]:
            return [e["id"] for e in _listed(base, **query)["requests"]]

        assert ids(operation="deleteCachedAsset") == [3, 4]
        assert ids(method="patch") == [2]
        assert ids(path=f"/v1.0/{PROJECT}/services/{service}/") == [3, 4]
        assert ids(service=service) == [2, 3, 4]
        assert ids(status="4xx") == [4, 5] and ids(status="202") == [1, 2, 3]
        # both bounds included, to the millisecond shown: what falls between the shown times
        # (a fresh-clone run had the 404 in the same millisecond as the 400, or the clock
        # stepped back between them: the filter took it, as it should)
        since, until = every[2]["time"], every[3]["time"]
        between = [e["id"] for e in every if since <= e["time"] <= until]
        assert {3, 4} <= set(between)
        assert ids(since=since, until=until) == between, [e["time"] for e in every]
        assert ids(until="2000-01-01T00:00:00Z") == []
        # pages like the API: limit, and a next link carrying the marker and the filters
        first = _listed(base, limit="2", method="DELETE")
        assert [e["id"] for e in first["requests"]] == [3, 4] and first["links"] == []
        page = _listed(base, limit="2")
        assert [e["id"] for e in page["requests"]] == [1, 2]
        following = httpx.get(page["links"][0]["href"], headers=AUTH).json()
        assert [e["id"] for e in following["requests"]] == [3, 4]
        for bad, named in (({"status": "9xx"}, "status"), ({"limit": "0"}, "limit"),
                           ({"since": "yesterday"}, "since"), ({"colour": "red"}, "colour")):
            answer = httpx.get(f"{base}/__mock__/requests", params=bad, headers=AUTH)
            assert answer.status_code == 400 and named in answer.text, (bad, answer.text)

        # HAR, read back by validate: every exchange the mock answered conforms
        har = httpx.get(f"{base}/__mock__/requests", params={"format": "har"}, headers=AUTH)
        (tmp_path / "journal.har").write_bytes(har.content)
        assert TOKEN not in har.text
        exchanges = read_har(tmp_path / "journal.har")
        assert [(x.request.method, x.response and x.response.status) for x in exchanges] == [
            (e["method"], e["status"]) for e in every]
        assert exchanges[1].request.body == body
        validated = subprocess.run([sys.executable, "-m", "contract", "validate", "--variant",
                                    "2016-08", str(tmp_path / "journal.har")], cwd=PROJECT_ROOT,
                                   capture_output=True, text=True, timeout=120)
        assert validated.returncode == 0, validated.stdout[-3000:]
        assert "5/5 valid" in validated.stdout

        assert httpx.delete(f"{base}/__mock__/requests", headers=AUTH).status_code == 204
        assert _listed(base)["requests"] == []


def test_the_journal_is_bounded_off_with_0_and_takes_an_unscoped_token(shared_reference):
    with run_mock("2016-08", "--journal", "3", "--tokens", "admin,tenant=p1") as base:
        for _ in range(5):
            httpx.get(f"{base}/v1.0/p1/ping", headers={"X-Auth-Token": "tenant"})
        kept = httpx.get(f"{base}/__mock__/requests", headers={"X-Auth-Token": "admin"})
        assert [e["id"] for e in kept.json()["requests"]] == [3, 4, 5]
        assert kept.json()["dropped"] == 2
        for token in ("tenant", "nobody"):  # scoped to one project, or not a token at all
            for method, route in (("GET", "requests"), ("DELETE", "requests"),
                                  ("GET", "coverage")):
                answer = httpx.request(method, f"{base}/__mock__/{route}",
                                       headers={"X-Auth-Token": token})
                assert answer.status_code == 401, (token, route)
    with run_mock("2016-08", "--journal", "0") as base:
        httpx.get(f"{base}/v1.0/p1/ping", headers=AUTH)
        off = httpx.get(f"{base}/__mock__/requests")
        assert off.status_code == 404 and "--journal 0" in off.text
        coverage = httpx.get(f"{base}/__mock__/coverage").json()  # counted all the same
        assert coverage["requests"] == 1


def test_the_generated_clients_tests_reach_the_coverage_they_claim(shared_reference,
                                                                    tmp_path, monkeypatch):
    """tests/test_client.py says the client is correct "for every operation": run against a
    mock with --coverage, its test of every operation serves every operation its documented
    success; a naive client's refused requests are listed with why, and the markdown and
    HTML forms say the same."""
    report_path = tmp_path / "coverage.json"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with run_cli_server("mock", "--variant", "2016-08", "--quiet", "--time-scale", "0.02",
                        "--coverage", str(report_path), port=port) as process:
        monkeypatch.setattr(test_client, "run_mock_scaled", lambda variant: _Given(base))
        test_client.test_every_operation_against_the_mock("2016-08", base)
        httpx.delete(f"{base}/v1.0/p/services/x/assets", headers=AUTH)  # not a uuid: S9
        httpx.get(f"{base}/v1.0/p/services", headers=AUTH, params={"limit": "50"})  # S19
        live = httpx.get(f"{base}/__mock__/coverage").json()
        # the journal shows what our client sent: its PATCH's media type, its token masked
        (patched,) = _listed(base, operation="patchService")["requests"]
        assert patched["headers"]["content-type"] == "application/json-patch+json"
        assert patched["headers"]["x-auth-token"].startswith("sha256:")
        assert patched["path_params"]["project_id"] == test_client.PROJECT
    summary = process.stderr.read() if process.stderr else ""
    report = json.loads(report_path.read_text())
    assert report == live | {"requests": report["requests"]}  # the file at exit: same counts
    success = {"getHomeDocument": "200", "getPing": "204", "getAllServices": "200",
               "createService": "202", "getService": "200", "patchService": "202",
               "deleteService": "202", "getCachedAsset": "200", "deleteCachedAsset": "202",
               "getAssetAnalytics": "200", "getFlavors": "200", "getFlavorDetails": "200",
               "createSSLCertificate": "202", "deleteSSLCertificate": "202"}
    rows = {row["operation"]: row for row in report["operations"]}
    assert set(rows) == set(success) and report["summary"]["operations_served"] == 14
    for operation, status in success.items():
        assert rows[operation]["statuses"][status]["served"], operation
    assert rows["deleteCachedAsset"]["statuses"]["202"]["count"] == 1
    assert rows["deleteCachedAsset"]["statuses"]["429"] == {"served": False, "count": 0}
    assert rows["getService"]["statuses"]["404"]["count"] == 1  # after the delete
    exercised = {s["id"] for s in report["statements"] if s["exercised"]}
    assert {"S1", "S2", "S3", "S4", "S8", "S9", "S10", "S18", "S41", "S44"} <= exercised
    assert "S11" not in exercised  # no 429 met: what a suite that never sees one misses
    reasons = {(r["request"], r["status"]): r["reason"] for r in report["refused"]}
    assert "uuid" in reasons[("deleteCachedAsset", 400)]
    assert "limit" in reasons[("getAllServices", 400)]
    assert report["summary"]["refused"] == 2  # the client sent nothing the contract refuses
    assert "coverage (2016-08," in summary and "never served:" in summary
    assert f"coverage written to {report_path}" in summary
    from contract.mock.coverage import as_html, markdown

    text = markdown(report)
    assert "| deleteCachedAsset | 429 | **never** |" in text
    assert "<td>deleteCachedAsset</td><td>429</td><td>never</td>" in as_html(report)


class _Given:
    def __init__(self, base: str):
        self.base = base

    def __enter__(self) -> str:
        return self.base

    def __exit__(self, *_: object) -> None:
        return None


def _raw(base: str, path: str, fault: str, timeout: float = 10) -> tuple[bytes, str]:
    """What the socket receives for a GET asking `fault`, and how it ended."""
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Auth-Token: t\r\n"
                     f"Prefer: fault={fault}\r\n\r\n".encode())
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            return received, "reset"
        except TimeoutError:
            return received, "timeout"
    return received, "closed"


def test_each_fault_breaks_the_answer_as_named_and_is_journaled(shared_reference):
    with run_mock("2016-08", "--time-scale", "0.02", "--no-edge") as base:
        service = _created(base)
        path = f"/v1.0/{PROJECT}/services/{service}"
        time.sleep(0.7)  # deployed: the answer no longer changes
        whole = httpx.get(base + path, headers=AUTH).content
        assert _raw(base, path, "reset") == (b"", "reset")
        cut, ended = _raw(base, path, "truncate")
        assert ended == "closed" and cut.startswith(b"HTTP/1.1 200")
        head, _, partial = cut.partition(b"\r\n\r\n")
        assert 0 < len(partial) < len(whole) and whole.startswith(partial)
        assert f"content-length: {len(whole)}".encode() in head  # it promised more
        started = time.monotonic()
        slow, ended = _raw(base, path, "slow-body")
        took = time.monotonic() - started
        assert ended == "closed" and slow.endswith(whole) and took >= 2.5, took
        started = time.monotonic()
        assert _raw(base, path, "stall", timeout=1.5) == (b"", "timeout")
        assert time.monotonic() - started >= 1.4
        unavailable = httpx.get(base + path, headers={**AUTH, "Prefer": "fault=503"})
        assert unavailable.status_code == 503 and "fault" in unavailable.text
        # a naive client meets them as httpx's errors; a purge reset after it was served
        # was served all the same (its job is there): retrying it purges twice
        with pytest.raises(httpx.ReadError):
            httpx.get(base + path, headers={**AUTH, "Prefer": "fault=reset"})
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(base + path, headers={**AUTH, "Prefer": "fault=truncate"})
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(base + path, headers={**AUTH, "Prefer": "fault=stall"}, timeout=0.5)
        with pytest.raises(httpx.ReadError):
            httpx.delete(f"{base}{path}/assets", params={"url": "/r.css"},
                         headers={**AUTH, "Prefer": "fault=reset"})
        jobs = httpx.get(f"{base}/__mock__/jobs", params={"service_id": service}).json()
        assert [job["url"] for job in jobs["jobs"]] == ["/r.css"]
        faults = [e["fault"] for e in _listed(base)["requests"]]
        assert faults == [None, None, "reset", "truncate", "slow-body", "stall", "503",
                          "reset", "truncate", "stall", "reset"]
        unknown = httpx.get(base + path, headers={**AUTH, "Prefer": "fault=gremlins"})
        assert unknown.status_code == 400 and "reset, truncate" in unknown.text
        counted = httpx.get(f"{base}/__mock__/coverage").json()["faults"]
        assert counted == {"503": 1, "reset": 3, "slow-body": 1, "stall": 2, "truncate": 2}


def test_drawn_faults_follow_the_seed_and_bad_rates_exit_2(shared_reference):
    def drawn(seed: str) -> list[str | None]:
        with run_mock("2016-08", "--faults", "reset=0.3,503=0.3", "--seed", seed) as base:
            for _ in range(20):
                with contextlib.suppress(httpx.TransportError):
                    httpx.get(f"{base}/v1.0/p/ping", headers=AUTH)
            return [e["fault"] for e in _listed(base)["requests"]]

    first = drawn("7")
    assert first == drawn("7") and first != drawn("8")
    assert {"reset", "503", None} == set(first)
    for bad, said in ((("--faults", "gremlins=0.1"), "'gremlins' is not a fault"),
                      (("--faults", "reset=2"), "from 0 to 1"),
                      (("--faults", "reset=0.6,stall=0.6"), "add up to 1.2"),
                      (("--faults", "503=0.1", "--error-rate", "0.1"), "give one"),
                      (("--coverage", "/nowhere/at/all.json"), "does not exist"),
                      (("--coverage", "report.txt"), ".json, .html, .md")):
        run = subprocess.run([sys.executable, "-m", "contract", "mock", *bad, "--port", "0"],
                             cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
        assert run.returncode == 2 and said in run.stderr and "Traceback" not in run.stderr, \
            (bad, run.stderr)


def test_a_journal_of_endless_requests_holds_its_bound(tmp_path: Path):
    """The journal's bounds hold in entries and in bytes; coverage's counts stay bounded
    against a client that sends endless distinct query names."""
    from contract.checks.messages import Incoming, Outgoing
    from contract.mock.coverage import MAX_KEYS, Coverage
    from contract.mock.journal import Journal, Served

    journal, coverage = Journal(size=10, max_bytes=5000), Coverage()  # 3 of 1324 B
    for n in range(MAX_KEYS + 50):
        served = Served(Incoming("GET", "/v1.0/p/ping", [(f"q{n}", "")], {}, b"x" * 300),
                        frozenset(), "", 0.0, response=Outgoing(204))
        journal.add(served)
        coverage.count(served)
    assert len(journal.entries) == 3 and journal.held <= 5000
    assert len(coverage.exchanges) == MAX_KEYS + 1 and coverage.requests == MAX_KEYS + 50
