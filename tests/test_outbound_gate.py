"""conform against hostile servers (issue 45, the rows about what conform sends and reads):
every request conform sends passes one gate (`contract/conform/gate.py`). Each test plays
one row on loopback with `tests/hostile_peer.py` (a hostile server, most often in front of a
real mock, and a second listener on another address: the other host, which must see
nothing), and fails on the code before the gate."""

from __future__ import annotations

import collections
import json
import re
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from contract.conform.checks import CHECKS
from contract.conform.fuzz import FuzzSettings, fuzz
from contract.conform.gate import Bounds, Gate
from contract.conform.judges import Expect
from contract.conform.outcome import Status
from contract.conform.preflight import preflight
from contract.conform.probes import Context
from contract.conform.target import Identity, Target
from contract.model import read_contract
from contract.spec.statements import embedded
from contract.spec.variants import load_document
from tests.hostile_peer import (
    Answer,
    Exchange,
    Listener,
    Script,
    bomb,
    deep_json,
    endless_chunks,
    hostile_peer,
    huge_body,
    json_answer,
    ok,
    other_host,
    raw_origin,
    relayed,
    response,
    run_measured,
    trickle,
)
from tests.servers import free_port, run_mock

TOKEN = "gate-token"
SECRET = "X-Gateway-Key: s3cret-gateway-key"
RSS_LIMIT_MB = 300


@pytest.fixture(scope="module")
def mock(shared_reference) -> Iterator[str]:
    with run_mock("2016-08", "--time-scale", "0.01", "--tokens", TOKEN,
                  "--no-rate-limit") as base:
        yield base


@pytest.fixture
def other() -> Iterator[Listener]:
    with other_host() as listener:
        yield listener


def context(base: str, *statements: str, bounds: Bounds | None = None
            ) -> tuple[Context, Expect]:
    """A run's context on `base` (through the preflight), as `runner._run` builds it."""
    document = load_document("2016-08")
    contract = read_contract(document)
    target = Target(base, Identity(TOKEN, True, headers=dict([SECRET.split(": ")])),
                    bounds=bounds or Bounds(), time_scale=0.01)
    preflight(target, contract.token_header)
    mine = set(embedded(document))
    return Context(target, contract, document, mine), Expect(contract, frozenset(mine))


def check(name: str) -> Any:
    return next(c for c in CHECKS if c.name == name)


def conform(base: str, *options: str) -> list[str]:
    """conform's command line, quick (`options` may name other --checks: the last wins)."""
    return [sys.executable, "-m", "contract", "conform", "--base-url", base, "--checks", "api",
            "--token", TOKEN, "-H", SECRET, "--workers", "1", "--max-examples", "1",
            "--deploy-timeout", "5", *options]


# -- 1 and 4: schemathesis' cleanup and the re-sent unauthenticated request -----------------
def test_1_the_fuzz_cleanup_never_follows_a_redirect_to_another_host(mock, other):
    """schemathesis' creates are deleted at once; the DELETE is answered 307 to the other
    host: it is an answer, and no DELETE (no token, no -H header) reaches the other host."""
    def script(request: Exchange) -> bytes | None:
        if request.method == "DELETE":
            return response(307, b"", f"Location: {other.url}{request.target}")
        if request.method == "POST" and request.target.endswith("/services"):
            return response(202, b"", "Location: /v1.0/p/services/made-by-a-case")
        return None

    with hostile_peer(script, upstream=mock) as peer:
        ctx, _ = context(peer.url)
        done = fuzz(ctx.document, ctx.target, FuzzSettings(1, 1, 1), lambda _: None)
    assert done.created, "schemathesis created no service: the cleanup was not exercised"
    assert other.seen == []


def test_4_the_resent_unauthenticated_request_follows_no_redirect(mock, other):
    """A target that takes a request without a token once (schemathesis' ignored_auth
    finds it), then redirects it to the other host: the request conform sends again to
    quote it stays an answer (a 307), and the -H headers never reach the other host."""
    asked: set[tuple[str, str]] = set()

    def script(request: Exchange) -> bytes | None:
        if request.headers.get("x-auth-token") == TOKEN:
            return None
        key = (request.method, request.target.partition("?")[0])
        if key in asked:
            return response(307, b"", f"Location: {other.url}{request.target}")
        asked.add(key)
        return json_answer(b'{"services": [], "links": []}')

    with hostile_peer(script, upstream=mock) as peer:
        ctx, _ = context(peer.url)
        done = fuzz(ctx.document, ctx.target, FuzzSettings(2, 1, 1), lambda _: None)
    resent = [f for f in done.findings if f.code == "ST401"]
    assert resent and {f.status for f in resent} == {307}, [f.message for f in done.findings]
    assert other.seen == []


# -- 2: a Location and a `next` link are URLs, resolved, never text appended -----------------
@pytest.mark.parametrize("written", ["@{host}/v1.0/p/services/x", "{url}/v1.0/p/services/x"])
def test_2_a_location_is_resolved_as_a_url_and_never_followed_off_the_origin(mock, other,
                                                                             written):
    """`@HOST:PORT/...` appended to the base URL as text made the base URL a user part
    (sent as Authorization: Basic) and the other host the host. Resolved as RFC 3986 says,
    it stays on the target; an absolute URL to the other host is a finding quoting it."""
    location = written.format(host=other.url.removeprefix("http://"), url=other.url)

    def script(request: Exchange) -> bytes | None:
        if request.method == "POST" and request.target.endswith("/services"):
            return relayed(request.ask_upstream(), Location=location)
        return None

    with hostile_peer(script, upstream=mock) as peer:
        ctx, expect = context(peer.url)
        outcomes = check("location_readable").run(ctx, expect)
    assert other.seen == []
    if written.startswith("{url}"):
        assert any(location in o.message for o in ctx.breaches), ctx.breaches
        assert {o.status for o in outcomes} == {Status.NOT_OBSERVABLE}


def test_2_a_next_link_is_resolved_as_a_url(mock, other):
    """Every `next` href of a listing is `@OTHER/...`: pages are read from the target (at
    the path the reference resolves to), never from the other host."""
    host = other.url.removeprefix("http://")

    def script(request: Exchange) -> bytes | None:
        if request.method == "GET" and "/services?" in request.target:
            answer = request.ask_upstream()
            body = answer.json()
            for link in body.get("links", []):
                link["href"] = f"@{host}/v1.0/p/services?limit=2"
            return relayed(answer, json.dumps(body).encode())
        return None

    with hostile_peer(script, upstream=mock) as peer:
        ctx, expect = context(peer.url)
        check("list_pages").run(ctx, expect)
        followed = [r.target for r in peer.seen if f"@{host}" in r.target]
    assert other.seen == []
    assert followed, "no next link was followed"


# -- 5: bounds on what is read ---------------------------------------------------------------
ATTACKS = {
    "a 2 GiB body": lambda: huge_body(2 << 30),
    "an endless chunked body": endless_chunks,
    "a gzip bomb (512 MiB inflated)": lambda: bomb(512 << 20, "gzip"),
    "a deflate bomb (512 MiB inflated)": lambda: bomb(512 << 20, "deflate"),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_5_an_answer_past_max_body_stops_the_read_not_conform(mock, attack):
    """The flavors the preflight reads are an attack: conform reads 16 MiB (the default),
    says which bound the target passed, exits 2 (nothing could be judged) without a
    traceback, and its RSS stays under 300 MB."""
    made = ATTACKS[attack]()

    def script(request: Exchange) -> Any:
        return made if request.target.endswith("/flavors") else None

    with hostile_peer(script, upstream=mock) as peer:
        done, rss, _seconds = run_measured(conform(peer.url), timeout=60)
    assert done.returncode == 2, done.stderr
    assert "passed --max-body 16777216 bytes" in done.stderr
    assert "Traceback" not in done.stderr
    assert rss < RSS_LIMIT_MB, f"{attack}: conform's peak RSS {rss:.0f} MB"


def test_5_a_2m_service_listing_past_a_small_cap_is_a_finding(mock):
    """Every listing is 2M services (~80 MB): with --max-body 1MiB each read stops at 1 MiB
    and is a finding of cdn-contract on the target (exit 1), the report written."""
    page = b'{"services": [' + b",".join([b'{"id": "x", "name": "n"}'] * 2_000_000) + b']}'
    made = json_answer(page)

    def script(request: Exchange) -> bytes | None:
        if request.method == "GET" and "/services?" in request.target:
            return made
        return None

    with hostile_peer(script, upstream=mock) as peer:
        done, rss, _ = run_measured(conform(peer.url, "--max-body", "1MiB"), timeout=180)
    assert done.returncode == 1, done.stderr
    assert "passed --max-body 1048576 bytes" in done.stdout, done.stdout
    assert rss < RSS_LIMIT_MB


# -- 6: one deadline per whole exchange -------------------------------------------------------
def test_6_a_byte_every_half_second_meets_the_request_deadline(mock):
    """One byte every 0.5 s keeps every read alive (each well within the 10 s read
    timeout): the deadline of the whole exchange ends it."""
    def script(request: Exchange) -> Any:
        return trickle(0.5, b'{"flavors": []}' + b" " * 60) \
            if request.target.endswith("/flavors") else None

    with hostile_peer(script, upstream=mock) as peer:
        done, _, seconds = run_measured(conform(peer.url, "--request-deadline", "2"),
                                        timeout=25)
    assert done.returncode == 2, done.stderr
    assert "no whole answer within --request-deadline 2 s" in done.stderr
    assert seconds < 20


# -- 7: no traceback, whatever comes ------------------------------------------------------------
def test_7_json_100k_deep_is_a_named_bound_not_a_traceback(mock):
    made = deep_json(100_000)

    def script(request: Exchange) -> bytes | None:
        return made if request.target.endswith("/flavors") else None

    with hostile_peer(script, upstream=mock) as peer:
        done, _, _ = run_measured(conform(peer.url), timeout=60)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "nests deeper than --max-json-depth 64" in done.stderr


def test_7_purge_jobs_that_are_not_json_leave_the_default_of_hard_not_observable(mock):
    def script(request: Exchange) -> bytes | None:
        if request.target.startswith("/__mock__/jobs"):
            return response(200, b"<html>jobs</html>", "Content-Type: text/html")
        return None

    with hostile_peer(script, upstream=mock) as peer:
        ctx, expect = context(peer.url)
        outcomes = check("default_of_hard").run(ctx, expect)
    assert outcomes
    assert Status.NOT_OBSERVABLE in {o.status for o in outcomes if o.statement == "S7b"}


# -- 14: edge probes go where the user said --------------------------------------------------
def _names_its_edge(at: str) -> Script:
    """A mock whose /__mock__/health names its edge at `at`."""
    def script(request: Exchange) -> bytes | None:
        if request.target.startswith("/__mock__/health"):
            answer = request.ask_upstream()
            return relayed(answer, json.dumps({**answer.json(), "edge": at}).encode())
        return None
    return script


def test_14_edge_probes_never_go_to_a_host_the_target_names(shared_reference, other):
    """The target says its edge is on the other host: conform's edge checks reach that
    port on the base URL's host (where nothing listens: no edge statement holds), and not
    one request reaches the other host."""
    listen = free_port()
    with run_mock("2016-08", "--time-scale", "0.01", "--tokens", TOKEN, "--origin-port",
                  f"80={listen}") as mock, \
            hostile_peer(_names_its_edge(other.url), upstream=mock) as peer:
        done, _, _ = run_measured(conform(peer.url, "--checks", "edge", "--origin-listen",
                                          f"127.0.0.1:{listen}", "--origin-url",
                                          "http://127.0.0.1:80", "--deploy-timeout", "1200"),
                                  timeout=60)
    assert other.seen == []
    port = other.url.rsplit(":", 1)[1]
    shown = done.stdout + done.stderr
    assert done.returncode in (1, 2) and f"127.0.0.1:{port}" in shown, shown
    assert "Traceback" not in shown


def test_14_trust_target_edge_takes_the_host_it_names(mock, other):
    with hostile_peer(_names_its_edge(other.url), upstream=mock) as peer:
        trusting = Target(peer.url, Identity(TOKEN, True), trust_edge=True)
        preflight(trusting, read_contract(load_document("2016-08")).token_header)
    assert trusting.edge_url == other.url


# -- a bound broken by every create: one finding per check, the statements quoting it -------
def test_a_create_past_max_body_in_every_group_is_one_finding_per_check(mock):
    """Every createService is answered 202 with 1 MiB of body, past --max-body 64 KiB: the
    three prepared groups all break the bound, which is one finding of the `services` step
    (it was one per group), one of each check that creates its own; and the statements of
    the checks that take a prepared group quote the bytes that came back, not only the
    bound's name (commit 245277b)."""
    made = json_answer(b'{"x": "' + b"a" * (1 << 20) + b'"}', 202,
                       "Location: /v1.0/p/services/never-read")

    def script(request: Exchange) -> bytes | None:
        if request.method == "POST" and request.target.endswith("/services"):
            return made
        return None

    with hostile_peer(script, upstream=mock) as peer:
        ctx, expect = context(peer.url, bounds=Bounds(max_body=64 * 1024))
        ctx.prepare([1, 2, 1])
        outcomes = [o for name in ("project_in_header", "patch_rules", "location_readable")
                    for o in check(name).run(ctx, expect)]
    per_check = collections.Counter(o.check for o in ctx.breaches)
    assert per_check == {"services": 1, "location_readable": 1}, ctx.breaches
    assert all("passed --max-body 65536 bytes" in o.message for o in ctx.breaches)
    taken = [o for o in outcomes if o.check in ("project_in_header", "patch_rules")]
    assert taken and {o.status for o in taken} == {Status.NOT_OBSERVABLE}
    for one in taken:
        assert re.search(r"passed --max-body 65536 bytes \(\d+ bytes read", one.message), \
            one.message


# -- schemathesis' own requests: ignored_auth's case without the token -----------------------
UNAUTHENTICATED = {
    "a 1 GiB body": lambda: huge_body(1 << 30),
    "an endless chunked body": endless_chunks,
}


@pytest.mark.parametrize("attack", list(UNAUTHENTICATED))
def test_4_schemathesis_own_unauthenticated_request_is_read_within_the_bounds(mock, attack,
                                                                              tmp_path):
    """schemathesis' ignored_auth sends a case again itself, without the token and with an
    invalid one; the target answers those (and only those: no token, and not httpx's
    User-Agent, which our own probes send) with `attack`. They pass the gate like every
    case: conform stops reading at --max-body, reports the bound broken, and ends; its RSS
    stays under 300 MB (schemathesis' own session read the whole body)."""
    def unauthenticated(request: Exchange) -> bool:
        return request.headers.get("x-auth-token") != TOKEN and \
            not request.headers.get("user-agent", "").startswith("python-httpx/")

    def script(request: Exchange) -> Any:
        return UNAUTHENTICATED[attack]() if unauthenticated(request) else None

    with hostile_peer(script, upstream=mock) as peer:
        done, rss, _ = run_measured(conform(peer.url, "--max-body", "1MiB", "--json",
                                            str(tmp_path / "report.json")), timeout=240)
        attacked = [r for r in peer.seen if unauthenticated(r)]
    assert attacked, "schemathesis sent no request without the token"
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stdout + done.stderr
    reported = (tmp_path / "report.json").read_text()
    assert any(f"GET {peer.url}{r.target}: the answer's body passed --max-body 1048576 bytes"
               in reported for r in attacked), reported
    assert rss < RSS_LIMIT_MB, f"{attack}: conform's peak RSS {rss:.0f} MB"


def test_4_the_resent_unauthenticated_request_past_a_bound_is_a_finding(mock):
    """The target takes a request without a token (schemathesis' ignored_auth finds it),
    then answers the same request, sent again to be quoted, with 4 MiB: a finding of the
    bound on that operation beside the ignored token, and fuzzing goes on (that Breach
    stopped the run)."""
    asked: set[tuple[str, str]] = set()

    def script(request: Exchange) -> Any:
        if request.headers.get("x-auth-token") == TOKEN:
            return None
        key = (request.method, request.target.partition("?")[0])
        if key in asked:
            return huge_body(4 << 20)
        asked.add(key)
        return json_answer(b'{"services": [], "links": []}')

    with hostile_peer(script, upstream=mock) as peer:
        ctx, _ = context(peer.url, bounds=Bounds(max_body=1 << 20))
        done = fuzz(ctx.document, ctx.target, FuzzSettings(2, 1, 1), lambda _: None)
    ignored = {f.operation for f in done.findings if f.code == "ST401"}
    bounds = {f.operation for f in done.findings if f.code == "bound"}
    assert ignored and ignored <= bounds, [f.message for f in done.findings]
    assert all("passed --max-body 1048576 bytes" in f.message
               for f in done.findings if f.code == "bound")


# -- a kept-alive connection the server closes as the next request goes out ----------------
@pytest.mark.parametrize("method", ["GET", "DELETE", "POST"])
def test_an_idempotent_request_is_sent_again_when_its_kept_alive_connection_closed(method):
    """The docs' slow target answered without `Connection: close` and then closed; under
    load conform's next request went out on that connection and met `no HTTP answer`. Such
    a request, if idempotent (GET, DELETE), is sent once more on a new connection and gets
    its answer; a POST is not (it may have been acted on), and neither is a request whose
    connection was new: the server's close is then its answer."""
    closed_once: list[str] = []

    def answer(_host: str, path: str) -> Answer:
        if path == "/second" and not closed_once:
            closed_once.append(path)
            return [None]  # read, then closed: no answer at all
        return ok(b"{}", "Content-Type: application/json")

    with raw_origin(answer) as origin:
        gate = Gate(origin.url, Bounds())
        assert gate.send(httpx.Request("GET", f"{origin.url}/first")).status_code == 200
        second = httpx.Request(method, f"{origin.url}/second", content=b"{}")
        if method == "POST":
            with pytest.raises(httpx.RemoteProtocolError):
                gate.send(second)
        else:
            assert gate.send(second).status_code == 200
        assert [e.target for e in origin.seen] == ["/first", "/second"] + (
            [] if method == "POST" else ["/second"])
        closed_once.clear()  # a new connection closed under the request: no retry
        before = len(origin.seen)
        with pytest.raises(httpx.RemoteProtocolError):
            Gate(origin.url, Bounds()).send(httpx.Request("GET", f"{origin.url}/second"))
        assert len(origin.seen) == before + 1


def test_a_malformed_answer_on_a_kept_alive_connection_is_not_sent_again():
    """httpx names a garbled head as it names a close (RemoteProtocolError): the garbled
    head is the server's answer, reported, not a close to retry past (a review showed the
    retry masking it)."""
    def answer(_host: str, path: str) -> Answer:
        if path == "/second":
            return [b"HTTP/1.1 200 OK\r\nno colon in this header line\r\n\r\n", None]
        return ok(b"{}", "Content-Type: application/json")

    with raw_origin(answer) as origin:
        gate = Gate(origin.url, Bounds())
        assert gate.send(httpx.Request("GET", f"{origin.url}/first")).status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            gate.send(httpx.Request("GET", f"{origin.url}/second"))
        assert [e.target for e in origin.seen] == ["/first", "/second"]
