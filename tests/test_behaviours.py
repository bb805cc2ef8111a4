"""`cdn-contract mock --behave`: each freedom the docs allow, taken by the mock; the
conformance suite finds the mock conforming under each one and under `random` draws; the
generated client's own tests pass under them; a naive client fails under the one that
breaks it."""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from contract.checks.messages import Incoming, Outgoing
from contract.conform.fuzz import FuzzSettings
from contract.conform.outcome import Status
from contract.conform.runner import RunOptions, run
from contract.conform.target import Target
from contract.errors import InputError
from contract.mock import behaviours
from contract.mock.app import MockApp
from contract.mock.behaviours import FREEDOMS, Freedom, PurgeAdmission, choose
from contract.mock.serve import create_app
from contract.mock.settings import MockSettings
from contract.spec.variants import PROJECT_ROOT
from tests import test_client
from tests.servers import free_port, run_cli_server, run_upstream

pytestmark = [pytest.mark.xdist_group("behaviours"), pytest.mark.long]

SCALE = 0.02  # a minute lasts 1.2 s, a deploy 0.6 s
CLIENT_SCALE = 0.05  # the client's 429 test sends 22 purges in one minute: 3 s here
SEEDS = (1, 2, 3, 4, 5)
PROJECT = "123456"
SERVICE = {"name": "mysite", "domains": [{"domain": "www.example.com"}],
           "origins": [{"origin": "origin.example.com"}], "log_delivery": {"enabled": False},
           "flavor_id": "cdn"}
# the INTERPRETATION statements a behaviour does not meet: warnings, never failures
WARNED = {"purge-body-ignored": {"S32"}, "log-delivery-required": {"S38"},
          "retry-after-absent": {"S24"}, "bare-purge-accepted": {"S22"}}


def mock(*behave: str, seed: int | None = None, scale: float = SCALE) -> MockApp:
    return create_app("2016-08", MockSettings(time_scale=scale, quiet=True, behave=behave,
                                              seed=seed))


class Driver:
    """Requests straight into the app (`MockApp.answer`, as every transport calls it), on a
    clock the test moves."""

    def __init__(self, app: MockApp):
        self.app, self.now = app, 1_000_000.0
        app.runtime.clock = lambda: self.now

    def send(self, method: str, path: str, body: Any = None, **query: str) -> Outgoing:
        data = json.dumps(body).encode() if body is not None else b""
        request = Incoming(method, path, list(query.items()), {
            "x-auth-token": "t", "content-type": "application/json"}, data, "http://mock")
        response = self.app.answer(request)
        assert self.app.commit() is None
        return response

    def create(self, body: dict[str, Any] | None = None) -> str:
        answer = self.send("POST", f"/v1.0/{PROJECT}/services", body or SERVICE)
        assert answer.status == 202, answer.body
        return dict(answer.headers)["Location"].rsplit("/", 1)[1]

    def status(self, service: str) -> str | int:
        answer = self.send("GET", f"/v1.0/{PROJECT}/services/{service}")
        return json.loads(answer.body)["status"] if answer.status == 200 else answer.status

    def wait(self, contract_seconds: float) -> None:
        self.now += contract_seconds * SCALE

    def burst(self, service: str, count: int) -> Outgoing:
        answers = [self.send("DELETE", f"/v1.0/{PROJECT}/services/{service}/assets",
                             url=f"/f{n}.css") for n in range(count)]
        return answers[-1]


def _async_delete(d: Driver) -> str:
    service = d.create()
    d.wait(31)
    assert d.send("DELETE", f"/v1.0/{PROJECT}/services/{service}").status == 202
    shown = d.status(service)
    d.wait(31)
    return f"{shown} then {d.status(service)}"


def _slow_deploy(d: Driver) -> str:
    service = d.create()
    d.wait(31)
    early = d.status(service)
    d.wait(90)
    return f"{early} then {d.status(service)}"


def _deploy_fails(d: Driver) -> str:
    service = d.create()
    shown = []
    for name in ("first", "second"):
        d.wait(31)
        d.send("PATCH", f"/v1.0/{PROJECT}/services/{service}",
               [{"op": "replace", "path": "/name", "value": name}])
        d.wait(31)
        shown.append(d.status(service))
    return " then ".join(map(str, shown))


def _location(d: Driver) -> str:
    answer = d.send("POST", f"/v1.0/{PROJECT}/services", SERVICE)
    return dict(answer.headers)["Location"].removeprefix("http://mock").rsplit("/", 1)[0]


def _booleans(d: Driver) -> str:
    service = d.create()
    return str(d.send("DELETE", f"/v1.0/{PROJECT}/services/{service}/assets", hard="True",
                      url="/a.css").status)


def _calendar_minute(d: Driver) -> str:
    service = d.create()
    d.now = d.now - d.now % (60 * SCALE) + 50 * SCALE  # ten seconds before the minute ends
    refused = d.burst(service, 21).status
    d.wait(11)  # a new calendar minute; 11 s after the first purge of the burst
    return f"{refused} then {d.burst(service, 1).status}"


def _retry_after(d: Driver) -> str:
    service = d.create()
    answer = d.burst(service, 21)
    value = dict(answer.headers).get("Retry-After")
    if value and not value.isdigit():
        return "an HTTP-date" if email.utils.parsedate_to_datetime(value) else value
    return str(value)


def _retry_after_late(d: Driver) -> str:
    """A refusal 45 s into the minute: the 15 s left (0.3 s scaled, rounded up to 1), or
    the whole minute (1.2 s, 2)."""
    service = d.create()
    d.burst(service, 20)
    d.wait(45)
    return dict(d.burst(service, 1).headers)["Retry-After"]


def _purge_body(d: Driver) -> str:
    service = d.create()
    return str(d.send("DELETE", f"/v1.0/{PROJECT}/services/{service}/assets",
                      {"url": "/a.css"}, url="/a.css").status)


def _two_labels(d: Driver) -> str:
    return str(d.send("POST", f"/v1.0/{PROJECT}/services", {
        **SERVICE, "domains": [{"domain": "example.com"}]}).status)


def _next_link(d: Driver) -> str:
    d.create()
    page = json.loads(d.send("GET", f"/v1.0/{PROJECT}/services").body)
    return str([link["rel"] for link in page["links"]])


def _log_delivery(d: Driver) -> str:
    body = {key: value for key, value in SERVICE.items() if key != "log_delivery"}
    return str(d.send("POST", f"/v1.0/{PROJECT}/services", body).status)


def _bare_purge(d: Driver) -> str:
    service = d.create()
    d.wait(31)
    return str(d.send("DELETE", f"/v1.0/{PROJECT}/services/{service}/assets",
                      hard="true").status)


def _busy(d: Driver) -> str:
    """A purge and an update right after the create, then both once it is deployed."""
    service = d.create()
    shown = []
    for _ in range(2):
        purged = d.send("DELETE", f"/v1.0/{PROJECT}/services/{service}/assets", url="/a.css")
        patched = d.send("PATCH", f"/v1.0/{PROJECT}/services/{service}",
                         [{"op": "replace", "path": "/name", "value": "renamed"}])
        shown.append(f"{purged.status} {patched.status}")
        if purged.status == 400:
            assert json.loads(purged.body)["message"]["errors"][0]["message"] == \
                f"Service {service} is not deployed."
        d.wait(31)
    return " then ".join(shown)


def _error_members(d: Driver) -> str:
    missing = d.send("GET", f"/v1.0/{PROJECT}/services/00000000-0000-4000-8000-000000000000")
    body = json.loads(missing.body)
    return str(sorted(body)) + str(sorted(body["message"]["errors"][0]))


# each behaviour: what shows it, what the mock answers without it, and with it
WITNESSES: dict[str, tuple[Callable[[Driver], str], str, str]] = {
    "async-delete": (_async_delete, "404 then 404", "delete_in_progress then 404"),
    "slow-deploy": (_slow_deploy, "deployed then deployed", "create_in_progress then deployed"),
    "deploy-fails": (_deploy_fails, "deployed then deployed", "failed then deployed"),
    "location-with-project": (_location, "/v1.0/services", f"/v1.0/{PROJECT}/services"),
    "case-sensitive-booleans": (_booleans, "202", "400"),
    "calendar-minute": (_calendar_minute, "429 then 429", "429 then 202"),
    "retry-after-date": (_retry_after, "2", "an HTTP-date"),
    "retry-after-60": (_retry_after_late, "1", "2"),
    "retry-after-absent": (_retry_after, "2", "None"),
    "purge-body-ignored": (_purge_body, "400", "202"),
    "two-label-domains-refused": (_two_labels, "202", "400"),
    "next-on-every-page": (_next_link, "[]", "['next']"),
    "log-delivery-required": (_log_delivery, "202", "400"),
    "bare-purge-accepted": (_bare_purge, "400", "202"),
    "busy-until-deployed": (_busy, "202 202 then 202 202", "400 400 then 202 202"),
    "error-extra-members": (_error_members, "['message']['message']",
                            "['message', 'request_id']['code', 'message']"),
}


def test_every_behaviour_changes_what_the_mock_answers():
    """Each name of the registry has a witness: the answer without the behaviour (the mock's
    own point) and with it."""
    assert set(WITNESSES) == {freedom.name for freedom in FREEDOMS}
    for name, (witness, without, with_it) in WITNESSES.items():
        assert witness(Driver(mock())) == without, name
        shown = witness(Driver(mock(name)))
        assert shown == with_it, (name, shown)


def test_a_purges_admission_changes_as_the_drawn_freedoms_declare(monkeypatch):
    """`MockApp.admit` names no behaviour: a freedom it never heard of, declaring that it
    waives S22, refuses a `url` under /private and ignores a purge's body, changes a purge's
    admission so (a bare purge accepted, the private url refused with its reason, a body
    served as if absent), together with a registered one (`case-sensitive-booleans`), and
    changes no other operation's."""
    def private(query: list[tuple[str, str]]) -> str | None:
        return "no purge under /private" if ("url", "/private/a.css") in query else None

    declared = Freedom("test-purge-rules", "S22", "a test's", "request", purge=PurgeAdmission(
        waives=frozenset({("S22",)}), refuse=(private,), body_ignored=True))
    monkeypatch.setitem(behaviours.BY_NAME, declared.name, declared)
    behaviours.purge_admission.cache_clear()
    d = Driver(mock(declared.name, "case-sensitive-booleans"))
    service = d.create()
    d.wait(31)
    assets = f"/v1.0/{PROJECT}/services/{service}/assets"
    assert d.send("DELETE", assets, hard="true").status == 202
    refused = d.send("DELETE", assets, url="/private/a.css")
    assert (refused.status, json.loads(refused.body)["message"]["errors"][0]["message"]) == \
        (400, "no purge under /private")
    assert d.send("DELETE", assets, {"url": "/a.css"}, url="/a.css").status == 202
    assert d.send("DELETE", assets, hard="True", url="/a.css").status == 400
    assert d.send("DELETE", f"/v1.0/{PROJECT}/services/{service}", {"x": 1}).status == 400
    behaviours.purge_admission.cache_clear()


def test_async_deletes_end_in_order_and_only_those_under_way_are_kept():
    """`async-delete`: each delete shows `delete_in_progress` until its own end, the ended
    ones are dropped as they end (the oldest first, never a scan of every delete under
    way); a delete with no behaviour that needs the stored service does not read it."""
    d = Driver(mock("async-delete"))
    services = [d.create({**SERVICE, "domains": [{"domain": f"www{n}.example.com"}]})
                for n in range(3)]
    d.wait(31)
    for service in services:
        assert d.send("DELETE", f"/v1.0/{PROJECT}/services/{service}").status == 202
        d.wait(10)
    d.wait(1)  # the first delete ended (31 s), the others have not
    assert [d.status(s) for s in services] == [404, "delete_in_progress", "delete_in_progress"]
    assert len(d.app.runtime.behaviours.deleting) == 2
    d.wait(20)
    assert [d.status(s) for s in services] == [404, 404, 404]
    assert not d.app.runtime.behaviours.deleting
    plain = Driver(mock("location-with-project"))
    service = plain.create()
    read = []
    plain.app.runtime.store.service = lambda *key: read.append(key)  # type: ignore[method-assign]
    assert plain.send("DELETE", f"/v1.0/{PROJECT}/services/{service}").status == 202
    assert read == []
    drawing = plain.app.runtime.behaviours
    assert drawing.for_request("GET /") is drawing.for_request("GET /")  # drawn once


def test_the_list_names_each_statement_and_bad_choices_exit_2():
    listed = subprocess.run([sys.executable, "-m", "contract", "mock", "--list-behaviours"],
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    for freedom in FREEDOMS:
        drawn = "by random+warnings only" if freedom.name in WARNED else "by random"
        assert f"{freedom.name}\n    allowed by {freedom.statement}; drawn per " \
            f"{freedom.scope} {drawn}" in listed.stdout
        assert freedom.does in listed.stdout.replace("\n    ", " ")
    refused = subprocess.run([sys.executable, "-m", "contract", "mock", "--behave",
                              "retry-after-date,retry-after-absent", "--port", "0"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "retry-after-date and retry-after-absent conflict" in refused.stderr
    for bad, why in {("nope",): "nope is not a behaviour", ("random", "slow-deploy"):
                     "give it alone"}.items():
        with pytest.raises(InputError, match=why):
            choose(bad)
    with pytest.raises(InputError, match="no purge rate limit"):
        create_app("2015-08", MockSettings(behave=("calendar-minute",)))


def test_random_draws_are_reproducible_and_shown_by_health():
    def draws(seed: int, drawing: str = "random") -> tuple[list[list[str]], list[int]]:
        driver = Driver(mock(drawing, seed=seed))
        depth = []  # 3: Location without the project, 4: with it (drawn per request)
        for n in range(16):
            answer = driver.send("POST", f"/v1.0/{PROJECT}/services", {
                **SERVICE, "domains": [{"domain": f"www.site{n}.com"}]})
            depth.append(dict(answer.headers)["Location"].removeprefix("http://mock")
                         .count("/"))
        health = json.loads(driver.send("GET", "/__mock__/health").body)["behave"]
        assert health["random"] and health["seed"] == seed
        assert set(health["names"]) == {freedom.name for freedom in FREEDOMS
                                        if drawing != "random" or not freedom.warns}
        return list(health["services"].values()), depth

    assert {f.name for f in FREEDOMS if f.warns} == set(WARNED)  # random never draws them
    draws(11, "random+warnings")

    first, again, other = draws(11), draws(11), draws(12)
    assert first == again  # the same seed, the same draws, per service and per request
    assert first != other
    assert len(first[0]) == 16 and len({tuple(draw) for draw in first[0]}) > 1
    assert set(first[1]) == {3, 4}


@contextlib.contextmanager
def served(app: MockApp) -> Iterator[str]:
    with run_upstream(app) as port:
        yield f"http://127.0.0.1:{port}"


def conform(base: str) -> dict[str, Any]:
    """One conformance run, API checks with the rate limit (S11), as test_conform's."""
    (report,) = run(Target(base), RunOptions(["2016-08"], FuzzSettings(1, 1, 1),
                                             rate_limit_check=True, groups=("api",)))
    return {"conforms": report.conforms,
            "failures": [[o.statement, o.message] for v in report.verdicts
                         for o in v.outcomes if o.status == Status.FAIL],
            "warned": sorted(v.id for v in report.verdicts if v.status == Status.WARNING)}


RUNS = 4  # conform processes at once, each running its share of the targets in turn


def test_conform_finds_the_mock_conforming_under_each_behaviour_and_random_seeds(
        shared_reference):
    """One in-process mock per choice, started one after another (each on its own free
    port); the runs in a few processes of their own (schemathesis forks its workers, which
    a threaded process must not do), as they wait on scaled time far more than they
    compute."""
    choices = [((freedom.name,), None) for freedom in FREEDOMS] + \
        [(("random",), seed) for seed in SEEDS]
    with contextlib.ExitStack() as stack:
        bases = [stack.enter_context(served(mock(*names, seed=seed)))
                 for names, seed in choices]
        shares = [bases[n::RUNS] for n in range(RUNS)]
        runs = [subprocess.Popen([sys.executable, "-c", "import sys; from tests.test_behaviours "
                                  "import conform; import json; print(json.dumps([conform(u) "
                                  "for u in sys.argv[1:]]))", *share], cwd=PROJECT_ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for share in shares]
        answers = [process.communicate(timeout=400) for process in runs]
    reports = {}
    for share, (out, err) in zip(shares, answers, strict=True):
        assert out, err[-3000:]
        reports.update(zip(share, json.loads(out.splitlines()[-1]), strict=True))
    for (names, seed), base in zip(choices, bases, strict=True):
        report = reports[base]
        allowed = WARNED.get(names[0], set())  # random draws none of them
        assert report["conforms"] and not report["failures"], (names, seed, report)
        assert set(report["warned"]) <= allowed, (names, seed, report["warned"])
        assert set(report["warned"]) == allowed or seed, (names, report["warned"])


class _Records(logging.Handler):
    """What caplog gives test_client's 429 test (the records logged, `clear()`), in a
    process with no pytest around it."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def clear(self) -> None:
        self.records.clear()


def client_tests_under(seed: int, port: int) -> None:
    """tests/test_client.py's tests that talk to the mock, against one `--behave random
    --seed` mock as the CLI runs it, with its edge (the 429 test on the same mock: its
    projects are its own); run in a process of its own by the test below, on a port it
    chose (each process would walk the same worker's ports: see free_port)."""
    tests = (test_client.test_every_operation_against_the_mock,
             test_client.test_a_purge_left_at_its_default_gets_the_variants_default_s7a_s7b,
             test_client.test_both_addressing_styles_list_every_service_page_by_page_s8,
             test_client.test_async_client_runs_every_operation)
    records = _Records()
    logging.getLogger().addHandler(records)
    with run_cli_server("mock", "--variant", "2016-08", "--quiet", "--time-scale",
                        str(CLIENT_SCALE), "--behave", "random", "--seed", str(seed), port=port):
        base = f"http://127.0.0.1:{port}"
        test_client.run_mock_scaled = lambda variant: contextlib.nullcontext(base)
        for test in tests:
            test("2016-08", base)
        test_client.test_429_is_retried_after_retry_after_or_raised_when_retries_are_off_s11_s24(
            records)


def test_the_generated_clients_own_tests_pass_under_random_seeds(shared_reference):
    """One process per seed, all at once: the tests wait on scaled time far more than they
    compute."""
    runs = {seed: subprocess.Popen(
        [sys.executable, "-c", "import sys; from tests.test_behaviours import "
         "client_tests_under; client_tests_under(*map(int, sys.argv[1:]))", str(seed),
         str(free_port())],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for seed in SEEDS}
    for seed, process in runs.items():
        _, err = process.communicate(timeout=400)
        assert process.returncode == 0, f"under --behave random --seed {seed}:\n{err[-4000:]}"


def naive_delete(base: str, service: str) -> None:
    """A client that takes a 202 to DELETE as done: the service must be gone at once."""
    headers = {"X-Auth-Token": "t"}
    httpx.delete(f"{base}/v1.0/{PROJECT}/services/{service}", headers=headers)
    assert httpx.get(f"{base}/v1.0/{PROJECT}/services/{service}",
                     headers=headers).status_code == 404


def naive_wait(base: str, service: str) -> float:
    """A client that reads Retry-After as a number of seconds."""
    with httpx.Client(base_url=base, headers={"X-Auth-Token": "t"}) as client:
        for n in range(21):
            answer = client.delete(f"/v1.0/{PROJECT}/services/{service}/assets",
                                   params={"url": f"/f{n}.css"})
    return float(int(answer.headers["Retry-After"]))


def test_a_naive_client_passes_the_mock_and_fails_under_the_behaviour_that_breaks_it():
    """(A minute of 30 s here: the 21 purges surely fall in one window, on a busy machine
    too; a deletion then lasts seconds, and the naive client reads at once.)"""
    for naive, breaking, error in ((naive_delete, "async-delete", AssertionError),
                                   (naive_wait, "retry-after-date", ValueError)):
        for behave in ((), (breaking,)):
            with served(mock(*behave, scale=0.5)) as base:
                service = httpx.post(f"{base}/v1.0/{PROJECT}/services", json=SERVICE,
                                     headers={"X-Auth-Token": "t"}).headers["Location"]
                if behave:
                    with pytest.raises(error):
                        naive(base, service.rsplit("/", 1)[1])
                else:
                    naive(base, service.rsplit("/", 1)[1])
