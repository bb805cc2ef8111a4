"""The conformance suite against servers we did not write: a vendor's implementation written
from the docs (`tests.vendor`), under each behaviour the docs allow; a server that does not
speak the API; a target that dies mid-run. No false alarm, nothing hidden, nothing left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from contract.conform.checks import CHECKS
from contract.conform.fuzz import FuzzSettings
from contract.conform.judges import Expect
from contract.conform.outcome import Status
from contract.conform.probes import Context
from contract.conform.runner import RunOptions, covered, run
from contract.conform.target import Fixtures, Identity, Target
from contract.model import read_contract
from contract.spec.statements import embedded
from contract.spec.variants import PROJECT_ROOT, load_document
from tests.servers import run_mock
from tests.vendor import (
    CERTIFICATE_DEFECTS,
    DEFECTS,
    DURATIONS,
    SWITCHES,
    Behaviour,
    Vendor,
    serve,
)

# One case per operation and mode on one fuzzing worker: these runs judge a vendor's ways,
# not the fuzzing (the CLI tests run its defaults), and each defect is caught on its own
# statement with one (three took 188 s of CPU for the module, one 114 s).
QUICK = FuzzSettings(max_examples=1, seed=1, workers=1)
ALLOWED = {  # each a behaviour the docs allow and our mock does not have
    "as documented": Behaviour(),
    "asynchronous delete": Behaviour(delete_seconds=30),
    "a deploy of 90 s": Behaviour(deploy_seconds=90),
    "root domains refused": Behaviour(refuse_root_domains=True),
    "a domain held by another service refused": Behaviour(refuse_taken_domains=True),
    "no purge before deployed": Behaviour(refuse_purge_before_deployed=True,
                                          deploy_seconds=90),
    "a purge body ignored": Behaviour(ignore_purge_body=True),
    "Retry-After as an HTTP-date": Behaviour(retry_after_date=True),
    "the limit's minute is the calendar minute": Behaviour(calendar_minute=True),
    "log_delivery required on create": Behaviour(log_delivery_required=True),
    "a purge with a * taken as one file's": Behaviour(accept_wildcard_purge=True),
    "jobs recorded 1.5 s after their 202": Behaviour(jobs_lag=150),
    # the upstream server's ways the docs allow, each on its own (one may hide another's
    # false alarm) and together (its error body is S16's failure and its 405 cached-asset
    # report an undocumented status: each alone in UPSTREAM_WAYS, all in UPSTREAM)
    "a marker that must be a UUID": Behaviour(uuid_markers=True),
    "a name limit of 64 characters": Behaviour(name_limit=64),
    "`deployed` read after the DELETE": Behaviour(deployed_after_delete=50),
    "PATCH only once deployed": Behaviour(patch_only_when_settled=True),
    "a service updating 3 s after an invalidation, refusing purges": Behaviour(
        undeployed_after_invalidation=300),
    "the upstream server's allowed ways": Behaviour(
        uuid_markers=True, name_limit=64, deployed_after_delete=50, delete_seconds=20,
        patch_only_when_settled=True),
}
# The INTERPRETATION rows a behaviour does not meet: warnings, not failures. The vendor takes
# a domain another service holds (S37) unless it refuses taken domains.
WARNED = {"log_delivery required on create": {"S38"}, "a purge body ignored": {"S32"},
          "a purge with a * taken as one file's": {"S21"}}


def warnings(report) -> set[str]:
    return {v.id for v in report.verdicts if v.status == Status.WARNING}


def changed(behaviour: Behaviour) -> set[str]:
    """The fields of `behaviour` that differ from the vendor's defaults."""
    default = Behaviour()
    return {f.name for f in fields(Behaviour)
            if getattr(behaviour, f.name) != getattr(default, f.name)}


@pytest.mark.parametrize("behaviour", sorted(ALLOWED))
def test_an_independent_implementation_conforms_under_every_allowed_behaviour(
        shared_reference, behaviour):
    vendor = Vendor(ALLOWED[behaviour])
    with serve(vendor) as base:
        (report,) = run(Target(base, observer=vendor.jobs, time_scale=0.01),
                        RunOptions(["2016-08"], QUICK, rate_limit_check=True, groups=("api",)))
    failures = [(o.statement, o.message) for v in report.verdicts for o in v.outcomes
                if o.status == Status.FAIL]
    assert report.conforms and not failures, (failures, report.findings)
    taken = set() if ALLOWED[behaviour].refuse_taken_domains else {"S37"}
    assert warnings(report) == WARNED.get(behaviour, set()) | taken, [
        (o.statement, o.message) for v in report.verdicts for o in v.outcomes
        if o.status == Status.WARNING]  # no false alarm as a warning either
    unobserved = [v.id for v in report.verdicts if v.status == Status.NOT_OBSERVABLE
                  and v.id in covered(("api",))]
    assert not unobserved, [(v.id, v.outcomes) for v in report.verdicts
                            if v.id in unobserved]
    time.sleep(30 * 0.01)  # an asynchronous delete completes
    assert vendor.count_all() == 0  # nothing the suite created is left behind


# The upstream server's two ways the docs do not allow, each on its own: its error body fails
# S16, its 405 cached-asset report (for any service) is a status the docs do not document (a
# finding of schemathesis'; S18's requests see it refused on our own service too)
UPSTREAM_WAYS = {"plain_errors": (Behaviour(plain_errors=True), {"S16"}, set()),
                 "no_cached_report": (Behaviour(no_cached_report=True), set(),
                                      {"GET /v1.0/{project_id}/services/{service_id}/assets"})}


def test_every_switch_of_the_vendor_is_run_on_its_own():
    """A switch proven only in company with others could hide a false alarm (or a missed
    defect) the others mask: each is run alone, among the allowed behaviours (a purge
    refused before `deployed` with the long deploy it needs to show) or the upstream ways."""
    runs = [changed(b) for b in ALLOWED.values()] + \
        [changed(way) for way, _, _ in UPSTREAM_WAYS.values()]
    flags = {name for one in runs if len(one - set(DURATIONS)) == 1
             for name in one - set(DURATIONS)}
    assert set(SWITCHES) | {"name_limit"} <= flags, set(SWITCHES) - flags
    assert set(DURATIONS) <= {name for one in runs if len(one) == 1 for name in one}


@pytest.mark.parametrize("way", sorted(UPSTREAM_WAYS))
def test_each_upstream_way_the_docs_forbid_fails_alone(shared_reference, way):
    behaviour, failing, found = UPSTREAM_WAYS[way]
    vendor = Vendor(behaviour)
    with serve(vendor) as base:
        (report,) = run(Target(base, observer=vendor.jobs, time_scale=0.01),
                        RunOptions(["2016-08"], QUICK, rate_limit_check=True, groups=("api",)))
    assert {v.id for v in report.failed} == failing, [
        (o.statement, o.message) for v in report.verdicts for o in v.outcomes
        if o.status == Status.FAIL]
    assert warnings(report) == {"S37"}, report.verdicts
    assert {f.operation for f in report.findings} == found, report.findings
    assert vendor.count_all() == 0


BROKEN = {"status_active": {"S34"}, "never_deploys": {"S34"}, "retry_after_ms": {"S35"},
          "error_500_on_bad_hard": {"S17", "S36"}, "tenancy_ignored_on_get": {"S18"},
          "limit_per_service": {"S11"}, "short_window": {"S11"}, "limit_queued": {"S11"},
          "deleted_still_readable": {"S34"}, "deleted_still_listed": {"S34"},
          "marker_repeated": {"S33"}, "page_overflow": {"S33"}, "patch_any_op": set(),
          "error_500_on_bad_limit": {"S36"}, "uri_limit_ignored": {"S19"},
          "purge_without_url_taken": set(), "all_with_url_taken": {"S25"},
          "service_without_links": {"S39"}, "location_without_project": set(),
          "retry_after_missing": set(), "purge_dropped": {"S1"}, "purge_200": {"S2"},
          "purge_location_of_request": {"S3"}, "purge_body": {"S4"},
          "hard_default_2015": {"S7b"}, "token_only_when_sent": {"S10"},
          "non_ascii_url_taken": set()}
FOUND = {"patch_any_op": "patch_rules"}  # a defect against the spec's own facts: a finding
DEFECT_WARNS = {"purge_without_url_taken": {"S22"},  # an INTERPRETATION row it does not meet
                "location_without_project": {"S40"}, "retry_after_missing": {"S24"},
                "non_ascii_url_taken": {"S23"}}
# The statements a defect leaves with nothing to judge (never a pass): no 202 to read S3 and
# S4 on; no job to read the applied `hard` on (S1 fails it), nor a purge job to time (S13);
# no 429 (S24, S35) or no Retry-After (S35) to read. A service never `deployed` leaves
# twenty-odd (test_a_target_that_never_deploys_is_judged_in_one_deploy_timeout).
DEFECT_UNOBSERVED = {"purge_200": {"S3", "S4"}, "purge_dropped": {"S7b", "S13"},
                     "hard_default_2015": {"S13"}, "limit_per_service": {"S24", "S35"},
                     "limit_queued": {"S24", "S35"},
                     "retry_after_missing": {"S35"}}
NEVER_DEPLOYED = {"never_deploys", "status_active"}


@pytest.mark.parametrize("defect", sorted(BROKEN))
def test_each_vendor_defect_fails_on_its_own_statements(shared_reference, defect):
    """The checks new with real implementations (lifecycle, Retry-After, no 5xx, tenancy on
    every operation, the limits' controls, the purge rules, the response members, the
    Location read back) and the first ones (the purge's 202, its job and the default of
    `hard` the observer shows, the token) proven on a server we did not write: exactly the
    defect's statements fail, nothing else (the others are passed or, past a service that
    never deploys, not observable); a defect against an INTERPRETATION row warns on it alone
    (DEFECT_WARNS); what is left not observable is what the defect hides (DEFECT_UNOBSERVED:
    a statement skipped where it could be judged shows)."""
    assert set(BROKEN) == set(DEFECTS)
    vendor = Vendor(Behaviour(defects=frozenset({defect})))
    with serve(vendor) as base:
        (report,) = run(Target(base, fixtures=Fixtures(deploy_timeout=60),
                               observer=vendor.jobs, time_scale=0.01),
                        RunOptions(["2016-08"], QUICK, rate_limit_check=True, groups=("api",)))
    assert {v.id for v in report.failed} == BROKEN[defect], [
        (o.statement, o.message) for v in report.verdicts for o in v.outcomes
        if o.status == Status.FAIL]
    assert warnings(report) - {"S37"} == DEFECT_WARNS.get(defect, set()), [
        (o.statement, o.message) for v in report.verdicts for o in v.outcomes
        if o.status == Status.WARNING]  # S37: the vendor's default, as documented (above)
    assert [f.operation for f in report.findings] == ([FOUND[defect]] * 4 if defect in FOUND
                                                      else []), report.findings
    if defect not in NEVER_DEPLOYED:
        unobserved = {v.id for v in report.verdicts if v.status == Status.NOT_OBSERVABLE
                      and v.id in covered(("api",))}
        assert unobserved == DEFECT_UNOBSERVED.get(defect, set()), [
            (v.id, v.outcomes) for v in report.verdicts if v.id in unobserved]
        # each says why: a statement its check left with no outcome showed a row with none
        assert all(v.outcomes for v in report.verdicts if v.id in unobserved), [
            v.id for v in report.verdicts if v.id in unobserved and not v.outcomes]


@pytest.mark.long
def test_a_fixed_project_and_one_token_reach_every_request(shared_reference):
    """A real account: one project (schemathesis included: no invented project ids), the
    user's header on every request, services made from --service-body's template; the second
    tenant is not observable without --other-project-id, and says so."""
    vendor = Vendor(Behaviour(required_header=("X-Api-Key", "k"), refuse_root_domains=True,
                              tokens=frozenset({"secret"})))
    template = {"name": "{name}", "domains": [{"domain": "{domain}"}],
                "origins": [{"origin": "{origin}"}], "caching": [{"name": "default",
                                                                   "ttl": 60}],
                "log_delivery": {"enabled": False}, "flavor_id": "{flavor_id}"}
    with serve(vendor) as base:
        target = Target(base, Identity("secret", True, "110011", headers={"X-Api-Key": "k"}),
                        Fixtures(template=template), observer=vendor.jobs, time_scale=0.01)
        # 16 cases per operation: enough for schemathesis' creates to make a service or
        # more (with 8, run alone, it made none, and the assertions below saw nothing)
        (report,) = run(target, RunOptions(["2016-08"], FuzzSettings(16, 1, 1),
                                           groups=("api",)))
    assert vendor.projects == {"110011"}  # no invented project, schemathesis' included
    assert target.created and target.created_by_fuzz  # schemathesis created some too
    assert target.removed == target.created_count
    assert vendor.count_all() == 0
    assert report.conforms is False and not report.failed and not report.findings
    s18 = next(v for v in report.verdicts if v.id == "S18")
    assert any("--other-project-id" in o.message for o in s18.outcomes)


class _NotFound(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(404)
        self.send_header("Content-Length", "9")
        self.end_headers()
        self.wfile.write(b"not found")

    do_POST = do_DELETE = do_PATCH = do_GET

    def log_message(self, *args: object) -> None:
        pass


def test_a_target_that_does_not_serve_the_api_stops_at_the_preflight(shared_reference):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    started = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "contract", "conform", "--base-url",
             f"http://127.0.0.1:{server.server_address[1]}"], capture_output=True,
            text=True, timeout=60, cwd=PROJECT_ROOT)
    finally:
        server.shutdown()
    assert time.monotonic() - started < 10
    assert result.returncode == 2, result.stderr
    assert "does not answer as the CDN API does" in result.stderr, result.stderr
    for step in ("ping", "home document", "flavors", "service list"):
        assert f"BAD {step}: GET http://127.0.0.1" in result.stderr
    assert "answered 404: not found" in result.stderr and "curl -i -X GET" in result.stderr
    assert "Traceback" not in result.stderr


class _HtmlPage(_NotFound):
    """A web server's error page, fifty lines of HTML (issue 46: printed whole, four times)."""

    def do_GET(self) -> None:
        page = "<!doctype html>\n<html>\n" + "<p>not here</p>\n" * 48 + "</html>\n"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page.encode())


def test_the_preflight_quotes_a_page_on_one_line_and_blames_a_refused_token(shared_reference):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HtmlPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        html = subprocess.run(
            [sys.executable, "-m", "contract", "conform", "--base-url",
             f"http://127.0.0.1:{server.server_address[1]}"], capture_output=True,
            text=True, timeout=60, cwd=PROJECT_ROOT)
    finally:
        server.shutdown()
    assert html.returncode == 2
    lines = html.stderr.strip().splitlines()
    assert len(lines) == 1 + 4 * 2 + 1, html.stderr  # the verdict, each step and its curl
    assert "answered 404: <!doctype html> <html> <p>not here</p> <p>" in html.stderr
    assert lines[-1].startswith("Check the base URL")
    with run_mock("2016-08", "--tokens", "good") as base:
        refused = subprocess.run(
            [sys.executable, "-m", "contract", "conform", "--base-url", base, "--token",
             "bad"], capture_output=True, text=True, timeout=60, cwd=PROJECT_ROOT)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1] == (
        "Every read was refused with 401: the target does not accept the token. Check --token "
        "(or $CDN_CONTRACT_TOKEN) and any header your gateway wants (--header).")


def test_a_target_that_dies_mid_run_gives_exit_2_and_one_line(shared_reference):
    vendor = Vendor(Behaviour(deploy_seconds=90))
    with serve(vendor) as base:
        process = subprocess.Popen(
            [sys.executable, "-m", "contract", "conform", "--base-url", base, "--checks",
             "api", "--time-scale", "0.01", "--quiet"], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, cwd=PROJECT_ROOT)
        deadline = time.monotonic() + 60  # the preflight passed once a service is created
        while vendor.count_all() == 0 and process.poll() is None:  # (a sleep of 3 s had 0.3 s
            assert time.monotonic() < deadline  # to spare on a loaded machine)
            time.sleep(0.05)
        vendor.dead = True  # services are being created and deployed
    out, err = process.communicate(timeout=120)
    assert process.returncode == 2, (out[-2000:], err[-2000:])
    assert "Traceback" not in err and "stopped answering during the run" in err, err
    assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1, err


def test_service_body_must_fit_the_create_schema(tmp_path):
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"name": "{name}", "domains": "not a list"}))
    broken = tmp_path / "broken.json"
    broken.write_text('{"name":\n  oops}')
    for path, expected in ((body, "body.json: not a valid create body under 2016-08"),
                           (broken, "broken.json:2: not JSON")):
        result = subprocess.run(
            [sys.executable, "-m", "contract", "conform", "--base-url", "http://127.0.0.1:1",
             "--service-body", str(path)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and expected in result.stderr, result.stderr


def test_a_429_under_a_variant_that_documents_no_limit_is_a_finding(shared_reference):
    """2015-08 states no rate limit: a server that limits purges answers a status that
    variant does not document. The vendor limits them (it implements 2016-08)."""
    vendor = Vendor(Behaviour())
    with serve(vendor) as base:
        (report,) = run(Target(base, observer=vendor.jobs, time_scale=0.01),
                        RunOptions(["2015-08"], QUICK, rate_limit_check=True, groups=("api",)))
    limited = [f for f in report.findings if f.operation == "rate_limit"]
    assert len(limited) == 1 and limited[0].source == "cdn-contract", report.findings
    assert "429, a status the 2015-08 docs do not document" in limited[0].message
    assert any("21 purges were sent in a row" in note for note in report.notes)


# The upstream open-source server's ways (issue 32): all but its error body are allowed
UPSTREAM = Behaviour(plain_errors=True, uuid_markers=True, name_limit=64,
                     deployed_after_delete=50, delete_seconds=20, no_cached_report=True,
                     patch_only_when_settled=True, defects=frozenset({"patch_any_op"}))
PLAIN_ERROR = "S16 error body: expected application/json {message: {errors: [{message: str}]}}" \
    ", got 400 {message: str}"


def test_the_upstream_servers_ways_fail_only_what_they_break_and_three_runs_agree(
        shared_reference):
    """Errors as {"message": "text"} fail S16, and nothing else fails: a marker that must be
    a UUID and a name limit leave S19 to requests padded where no rule applies (414 and 413
    seen, each after its control at the limit); a 405 cached-asset report, the answer for
    any service, is not blamed on tenancy (not observable, the 405 quoted); a `deployed`
    read after the DELETE is polled past until the 404; accepted copy/move ops cannot spoil
    the valid update (its service is its own). Three runs on one target: one verdict per
    statement, and each run's `removed` is what answers 404."""
    vendor = Vendor(UPSTREAM)
    reports = []
    with serve(vendor) as base:
        for _ in range(3):
            target = Target(base, observer=vendor.jobs, time_scale=0.01)
            (report,) = run(target, RunOptions(["2016-08"], QUICK,
                                               rate_limit_check=True, groups=("api",)))
            reports.append(report)
            assert target.removed == target.created_count and not target.left, target.left
            assert vendor.count_all() == 0  # removed means gone: nothing left to wait for
    verdicts = [{v.id: v.status for v in report.verdicts} for report in reports]
    assert verdicts[0] == verdicts[1] == verdicts[2]
    assert len({tuple(sorted(f.operation for f in r.findings)) for r in reports}) == 1
    report = reports[0]
    failed = [o for v in report.verdicts for o in v.outcomes if o.status == Status.FAIL]
    assert {v.id for v in report.failed} == {"S16"}, [(o.statement, o.message) for o in failed]
    ours = [o for o in failed if o.check != "schemathesis"]  # its findings: fuzz.py's
    assert all(o.exchange is not None and o.cause for o in ours)  # each quotes the answer
    assert PLAIN_ERROR in {o.cause for o in ours}
    by_id = {v.id: v for v in report.verdicts}
    s19 = by_id["S19"].outcomes
    assert [o.status for o in s19] == [Status.PASS] * 3, s19
    assert {o.exchange.status_code for o in s19 if o.exchange} == {414, 413, 400}
    s18 = [o for o in by_id["S18"].outcomes if o.status != Status.PASS]
    assert [o.cause for o in s18] == [
        "S18 a cached-asset report of another project's service: refused on our own service "
        "too, got 405 {message: str}"], s18
    assert s18[0].exchange is not None and s18[0].exchange.status_code == 405
    assert by_id["S34"].status == Status.PASS, by_id["S34"].outcomes
    assert any("deployed" in o.message and "then delete_in_progress" in o.message
               for o in by_id["S34"].outcomes)


def test_removed_counts_the_services_seen_gone(shared_reference):
    """An accepted DELETE is not a removal: the cleanup reads each service until it answers
    404, within the deploy timeout, and lists the others as still present."""
    vendor = Vendor(Behaviour(deployed_after_delete=100, delete_seconds=50))  # 1.5 s
    slow = Vendor(Behaviour(delete_seconds=10 ** 6))
    with serve(vendor) as base, serve(slow) as slow_base:
        for server, timeout in ((base, 600), (slow_base, 50)):  # 6 s, 0.5 s
            target = Target(server, time_scale=0.01, fixtures=Fixtures(deploy_timeout=timeout))
            target.token_header = "X-Auth-Token"
            for _ in range(3):
                target.create_service("p", target.service_body()[0])
            said: list[str] = []
            started = time.monotonic()
            left = target.remove_created(said.append)
            if server == base:
                assert time.monotonic() - started >= 1.5 and not left
                assert target.removed == 3 and vendor.count_all() == 0
            else:
                assert target.removed == 0 and slow.count_all() == 3 and len(left) == 3
                assert all("deletion accepted, still present after 1 s (delete_in_progress "
                           "from" in line for line in left), left
            assert said[-1] == f"removed {target.removed} of the 3 services this run created"


def test_a_target_that_never_deploys_is_judged_in_one_deploy_timeout(shared_reference,
                                                                     tmp_path):
    """Issue 41: the services the checks need are awaited together, once: S34 fails with
    the statuses seen, the statements that needed a deployed service are not observable
    with that reason, the others are judged, the reports are written, exit 1; progress
    tells the time left of the whole wait."""
    vendor = Vendor(Behaviour(defects=frozenset({"never_deploys"})))
    timeout = 8.0  # seconds: --deploy-timeout 800 at --time-scale 0.01
    with serve(vendor) as base:
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "contract", "conform", "--base-url", base, "--checks",
             "api", "--time-scale", "0.01", "--deploy-timeout", "800", "--rate-limit-check",
             "--max-examples", "3", "--seed", "1", "--json", str(tmp_path / "r.json"),
             "--junit", str(tmp_path / "r.xml")], capture_output=True, text=True,
            timeout=300, cwd=PROJECT_ROOT, env={**os.environ, "COLUMNS": "500"})  # rows whole
        took = time.monotonic() - started
    assert result.returncode == 1, result.stderr[-2000:]
    assert took < timeout + 50, took  # one wait; a wait per check took 15 of them
    assert "s left of 8" in result.stderr, result.stderr[-2000:]
    assert (tmp_path / "r.xml").is_file()
    text = (tmp_path / "r.json").read_text()
    status = {s["id"]: s["status"] for s in json.loads(text)["variants"][0]["statements"]}
    assert status["S34"] == "fail"
    assert "still create_in_progress after --deploy-timeout (8 s)" in text
    assert "showed create_in_progress from 0.0 to 8." in text  # the statuses over time
    needed = ("S1", "S2", "S3", "S4", "S7b", "S8", "S11", "S17", "S21", "S37")
    assert {sid: status[sid] for sid in needed} == dict.fromkeys(needed, "not observable")
    assert "no new service deployed within --deploy-timeout (8 s; S34 quotes" in text
    assert {sid: status[sid] for sid in ("S10", "S19", "S20", "S33")} == \
        dict.fromkeys(("S10", "S19", "S20", "S33"), "pass")
    # The terminal says the one reason once, naming every statement it holds for (it was a
    # row of five lines per statement, 25 of them), and the edge's unchecked ones in a line.
    rows = [line for line in result.stdout.splitlines() if "no new service deployed" in line]
    assert len(rows) == 1 and rows[0].startswith("  n/o S1, S2, S3, S4, "), rows
    assert all(f" {sid}," in rows[0] for sid in needed), rows
    assert "  n/o S12, S15, S26, S27, S28, S29, S30: not checked: the edge checks" in \
        result.stdout


CERTIFICATE_BROKEN = {"certificate_flavor_unchecked": "S41", "certificate_custom_taken": "S42",
                      "certificate_replaced": "S43", "certificate_delete_body": "S44",
                      "certificate_unknown_delete_202": "S45",
                      "certificate_body_project": "S46"}


@pytest.mark.parametrize("defect", ["as documented", *sorted(CERTIFICATE_BROKEN)])
def test_each_certificate_defect_fails_its_own_statement_only(shared_reference, defect):
    """The SSL-certificate check (2016-08) on the vendor with one defect: exactly the
    defect's statement fails (an INTERPRETATION row's failure, the runner reports as a
    warning); as documented, all six pass and no certificate is left. The check alone, not
    a whole run: the defects touch only the certificates' two operations (the whole run's
    pass is above)."""
    assert set(CERTIFICATE_BROKEN) == set(CERTIFICATE_DEFECTS)
    (check,) = [c for c in CHECKS if c.name == "ssl_certificates"]
    document = load_document("2016-08")
    contract = read_contract(document)
    statements = frozenset(embedded(document))
    failing = CERTIFICATE_BROKEN.get(defect)
    vendor = Vendor(Behaviour(defects=frozenset({defect} if failing else ())))
    with serve(vendor) as base:
        ctx = Context(Target(base, time_scale=0.01), contract, document, set(statements))
        outcomes = check.run(ctx, Expect(contract, statements))
    assert {o.statement for o in outcomes} == set(check.statements), outcomes
    assert {o.statement for o in outcomes if o.status == Status.FAIL} == (
        {failing} if failing else set()), outcomes
    assert all(o.status == Status.PASS for o in outcomes if o.statement != failing), outcomes
    if failing is None:
        assert vendor.certificates == {}  # the check leaves none behind


# The upstream server's ways with state and domains (issue 48): a service out of `deployed`
# after an invalidation, refusing purges with "not deployed" meanwhile; the certificate for
# a domain under the suite's own suffix refused as "must be a valid non-root domain"
UNSETTLED = Behaviour(undeployed_after_invalidation=300, refused_domain_suffix=".example")


def _statuses(report) -> dict[str, Status]:
    return {v.id: v.status for v in report.verdicts}


def test_state_and_domain_refusals_are_never_a_statements_failure_and_three_runs_agree(
        shared_reference):
    """Issue 48 items 1 and 2: the four purges of S5/S6/S14 each have a service of their
    own (sharing one, S5 failed in 5 of 11 runs and S14 in 2 of 5 on a refusal about the
    service's state); the certificate refused for the suite's domain leaves S41-S46 not
    observable with the answer quoted, never failed. Three runs, one verdict per
    statement; with --certificate-domain naming one it accepts, S41-S46 pass."""
    vendor = Vendor(UNSETTLED)
    reports = []
    with serve(vendor) as base:
        for _ in range(3):
            (report,) = run(Target(base, observer=vendor.jobs, time_scale=0.01),
                            RunOptions(["2016-08"], QUICK,
                                       rate_limit_check=True, groups=("api",)))
            reports.append(report)
        (chosen,) = run(Target(base, fixtures=Fixtures(
            certificate_domains=("www.cdn.vendor.test",)),
                               observer=vendor.jobs, time_scale=0.01),
                        RunOptions(["2016-08"], QUICK, groups=("api",)))
    assert _statuses(reports[0]) == _statuses(reports[1]) == _statuses(reports[2])
    # S16's count moved by 2 with the state's 400s; its 429s are left out: how many of the
    # burst's 21 purges a 0.6 s window refuses depends on the machine's load
    counts = [{v.id: sum(o.exchange is None or o.exchange.status_code != 429
                         for o in v.outcomes)
               for v in r.verdicts if v.id in ("S5", "S14", "S16")} for r in reports]
    assert counts[0] == counts[1] == counts[2], counts
    report = reports[0]
    assert not report.failed and not report.findings, [
        (o.statement, o.message) for v in report.verdicts for o in v.outcomes
        if o.status == Status.FAIL]
    by_id = {v.id: v for v in report.verdicts}
    for sid in ("S5", "S6", "S14"):
        assert by_id[sid].status == Status.PASS, by_id[sid].outcomes
    s41 = [o for o in by_id["S41"].outcomes if o.status == Status.NOT_OBSERVABLE]
    assert s41 and s41[0].message.startswith("the target refused the suite's domain: POST "), \
        by_id["S41"].outcomes
    assert "must be a valid non-root domain" in s41[0].message  # the answer quoted
    assert s41[0].exchange is not None and s41[0].exchange.status_code == 400
    # S41's create without flavor_id is refused for its flavor, as it should: a pass
    assert {sid: by_id[sid].status for sid in ("S42", "S43", "S44", "S46")} == \
        dict.fromkeys(("S42", "S43", "S44", "S46"), Status.NOT_OBSERVABLE)
    certified = {v.id: v.status for v in chosen.verdicts if v.id in CERTIFICATE_BROKEN.values()}
    assert certified == dict.fromkeys(CERTIFICATE_BROKEN.values(), Status.PASS), chosen.verdicts


class _SpikedVendor(Vendor):
    """The vendor on a machine under load: its first `slow` purges each take `delay`
    seconds before they are served (a load spike), the rest none; and the late purge
    (`/late.png`) `late` seconds."""

    def __init__(self, slow: int, delay: float, late: float = 0.0) -> None:
        super().__init__(Behaviour())
        self.slow, self.delay, self.late = slow, delay, late

    def _purge(self, project, service_id, query, *args):  # type: ignore[no-untyped-def]
        if query.get("url") == "/late.png":
            time.sleep(self.late)
        elif self.slow > 0:
            self.slow -= 1
            time.sleep(self.delay)
        return super()._purge(project, service_id, query, *args)


@pytest.mark.parametrize("spike", ["first burst", "every purge", "late purge"])
def test_a_burst_or_late_purge_that_overran_its_minute_is_never_a_failure(
        shared_reference, spike):
    """S11 failed on CI: at time scale 0.01 the minute is 0.6 s, a loaded machine stretched
    the 21 purges past it, the vendor's window began again and took them all. A burst that
    overran its minute is sent once more (a spike over the first burst only: S11 passes);
    one that overran it twice leaves S11 not observable, its cause naming the minute, and
    fails nothing. A late purge (half a minute after the refusal) served after the minute
    is over, a stall between judging it within the minute and sending it, leaves the
    refusal's length not observable, not failed. The vendor's limit is the documented one
    in all three."""
    (check,) = [c for c in CHECKS if c.name == "rate_limit"]
    document = load_document("2016-08")
    contract = read_contract(document)
    statements = frozenset(embedded(document))
    vendor = {"first burst": _SpikedVendor(21, 0.05),  # 21 x 0.05 s > 0.6 s
              "every purge": _SpikedVendor(1000, 0.05),
              "late purge": _SpikedVendor(0, 0.0, late=0.4)}[spike]  # 0.3 s + 0.4 s > 0.6 s
    with serve(vendor) as base:
        ctx = Context(Target(base, time_scale=0.01), contract, document, set(statements),
                      rate_limit_check=True)
        outcomes = check.run(ctx, Expect(contract, statements))
    s11 = [o.status for o in outcomes if o.statement == "S11"]
    assert not [o for o in outcomes if o.status == Status.FAIL], outcomes
    if spike == "first burst":
        assert s11 == [Status.PASS, Status.PASS], outcomes
    elif spike == "late purge":
        assert s11 == [Status.PASS, Status.NOT_OBSERVABLE], outcomes
    else:
        (only,) = [o for o in outcomes if o.statement == "S11"]
        assert only.status == Status.NOT_OBSERVABLE and "2 attempts" in only.message, only
        assert "longer than the minute" in only.cause, only
