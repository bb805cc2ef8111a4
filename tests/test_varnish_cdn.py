"""The edge checks of `conform` against a CDN we did not write from our mock: the vendor's
API in front of a real Varnish (`tests.varnish_cdn`). Its conforming edge CONFORMS on the
edge statements, observed, with no failure and no warning, though it answers as a real
cache does (Via, X-Varnish, an Age in whole seconds, no X-Cache, purges landing a little
late); each VCL defect fails on its own statement only. One varnishd runs every edge side
by side, one listening socket each, so the thirteen runs take the time of one."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from contract.conform.outcome import Status
from contract.conform.runner import EdgeOptions, RunOptions, VariantReport, run
from contract.conform.target import Target
from tests.servers import free_port
from tests.test_conform_edge import EDGE_STATEMENTS
from tests.varnish_cdn import DEFECTS, Cdn, running
from tests.vendor import serve

pytestmark = [pytest.mark.xdist_group("varnish"), pytest.mark.long]

SCALE = 0.01  # the documented durations (a purge's 10 minutes: 6 s) times this
BROKEN = {"wildcard_purged": {"S12"}, "purge_only_invalidates": {"S13"},
          "invalidation_purges": {"S14"}, "no_if_modified_since": {"S15"},
          "error_cached_an_hour": {"S15"}, "error_instead_of_stale": {"S15"},
          "host_header_ignored": {"S27"}, "ttl_rules_ignored": {"S28"},
          "restrictions_ignored": {"S29"}, "origin_rules_ignored": {"S26"},
          "age_hidden": set()}
WARNED = {"age_hidden": {"S30"}}  # an INTERPRETATION row it does not meet: a warning
EDGES = {"conforming": "", **{defect: defect for defect in DEFECTS}}


def edge_run(cdn: Cdn, name: str) -> VariantReport:
    """`conform --checks edge` of 2016-08 against one edge of the CDN, the suite's origin
    listening on a port of its own, which the CDN reaches for the services' port 80."""
    edge = cdn.edges[name]
    origin = free_port()
    edge.origin_ports[80] = origin
    with serve(edge.vendor) as base:
        options = RunOptions(["2016-08"], groups=("edge",), edge=EdgeOptions(
            url=edge.url, origin_listen=("127.0.0.1", origin), origin_url=("127.0.0.1", 80)))
        (report,) = run(Target(base, observer=edge.vendor.jobs, time_scale=SCALE), options)
    return report


@pytest.fixture(scope="module")
def cdn():
    with running(EDGES, SCALE) as cdn:
        yield cdn
    assert cdn.error is None, cdn.error


@pytest.fixture(scope="module")
def reports(cdn, shared_reference):
    with ThreadPoolExecutor(len(EDGES)) as pool:
        found = dict(zip(EDGES, pool.map(lambda name: edge_run(cdn, name), EDGES),
                         strict=True))
    assert cdn.error is None, cdn.error
    return found


def not_passed(report: VariantReport) -> list[tuple[str, str, str]]:
    """The edge statements' outcomes that are not a pass (the API's are not checked)."""
    return [(o.statement, o.status, o.message) for v in report.verdicts for o in v.outcomes
            if o.status != Status.PASS and v.id in EDGE_STATEMENTS]


def test_the_varnish_cdn_conforms_on_every_edge_statement(reports):
    report = reports["conforming"]
    assert report.verdict() == ("CONFORMS", []), not_passed(report)
    assert not not_passed(report)  # no failure, no warning, nothing left unobserved
    assert {v.id: v.status for v in report.verdicts if v.id in EDGE_STATEMENTS} == \
        dict.fromkeys(EDGE_STATEMENTS, Status.PASS)


def test_each_vcl_defect_fails_on_its_own_statement_only(reports):
    assert set(BROKEN) == set(DEFECTS)
    for defect, statements in BROKEN.items():
        assert {v.id for v in reports[defect].failed} == statements, \
            (defect, not_passed(reports[defect]))
        assert {v.id for v in reports[defect].verdicts if v.status == Status.WARNING
                and v.id in EDGE_STATEMENTS} == WARNED.get(defect, set()), \
            (defect, not_passed(reports[defect]))
        # each failure quotes what the edge served (a wait that ran out, its last answer)
        failures = [o for v in reports[defect].failed for o in v.outcomes
                    if o.status == Status.FAIL]
        assert all(o.exchange is not None for o in failures), (defect, failures)


def test_the_edge_answers_as_a_real_cache_does(cdn, reports):
    """What the judges passed on is Varnish's own answer: Via and X-Varnish, no X-Cache."""
    edge = cdn.edges["conforming"]
    answer = httpx.get(edge.url + "/", headers={"Host": "nobody.conform.example"})
    assert answer.status_code == 404
    assert "X-Varnish" in answer.headers and "X-Cache" not in answer.headers
    assert cdn.loads > len(EDGES)  # the VCL followed the services the runs deployed
