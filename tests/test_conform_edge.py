"""The edge checks of `conform` (S13-S15, S26-S30) against the mock's CDN edge, which
passes them, and against broken edges, each of which fails on its own statement only."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from contract.conform import edge_probes
from contract.conform.outcome import Status
from contract.conform.runner import EdgeOptions, RunOptions, VariantReport, run
from contract.conform.target import Target
from tests.broken_edges import DEFECTS
from tests.servers import free_port, run_mock

EDGE_STATEMENTS = {"S12", "S13", "S14", "S15", "S26", "S27", "S28", "S29", "S30"}
BROKEN = {"stale_never_revalidated": {"S14"}, "purge_never_lands": {"S13"},
          "wildcard_ignored": {"S14"}, "error_cached_forever": {"S15"},
          "error_never_cached_far": {"S15"},
          "restriction_ignored": {"S29"}, "ttl_ignored": {"S28"}, "wildcard_purged": {"S12"}}


def edge_run(variant: str, defect: str | None = None) -> VariantReport:
    """The edge checks of `variant` against a mock of that variant (with `defect`), its
    origin mapped from port 80 to where the suite's origin listens."""
    origin = free_port()
    module = ("tests.broken_edges", defect) if defect else ("contract",)
    with run_mock(variant, "--time-scale", "0.01", "--no-rate-limit", "--origin-port",
                  f"80={origin}", module=module) as base:
        options = RunOptions([variant], groups=("edge",), edge=EdgeOptions(
            origin_listen=("127.0.0.1", origin), origin_url=("127.0.0.1", 80)))
        (report,) = run(Target(base), options)
    return report


def edge_verdicts(report: VariantReport) -> dict[str, Status]:
    return {v.id: v.status for v in report.verdicts if v.id in EDGE_STATEMENTS}


def test_the_mock_edge_passes_every_edge_check_of_both_variants(shared_reference):
    with ThreadPoolExecutor(2) as pool:
        new, old = pool.map(edge_run, ("2016-08", "2015-08"))
    assert edge_verdicts(new) == dict.fromkeys(EDGE_STATEMENTS, Status.PASS), \
        [(v.id, v.outcomes) for v in new.verdicts if v.status != Status.PASS]
    # S13-S15 are the 2016-08 page's; S12 and the edge's settings (S26-S30) hold in both
    assert edge_verdicts(old) == dict.fromkeys(EDGE_STATEMENTS - {"S13", "S14", "S15"},
                                               Status.PASS)


def test_each_broken_edge_fails_on_its_own_statement(shared_reference):
    assert set(BROKEN) == set(DEFECTS)
    with ThreadPoolExecutor(len(BROKEN)) as pool:
        reports = dict(zip(BROKEN, pool.map(lambda d: edge_run("2016-08", d), BROKEN),
                           strict=True))
    for defect, statements in BROKEN.items():
        failed = {v.id for v in reports[defect].failed}
        assert failed == statements, (defect, [
            (o.statement, o.message) for v in reports[defect].verdicts for o in v.outcomes
            if o.status != Status.PASS])
        # every failure quotes an answer; a purge that never lands, what the edge still
        # served when the wait ran out (it quoted nothing before)
        failures = [o for v in reports[defect].failed for o in v.outcomes
                    if o.status == Status.FAIL]
        assert failures and all(o.exchange is not None for o in failures), (defect, failures)
    (never,) = [o for o in reports["purge_never_lands"].failed[0].outcomes
                if "had not taken effect" in o.message]
    assert never.exchange.content == b"before", never.exchange


def test_without_an_origin_the_edge_statements_say_how_to_observe_them(shared_reference):
    with run_mock("2016-08", "--time-scale", "0.01") as base:
        result = subprocess.run(
            [sys.executable, "-m", "contract", "conform", "--base-url", base, "--checks",
             "edge", "--quiet"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "S14   MUST            n/o" in result.stdout
    assert "MUST S14 not observed: needs the CDN's edge: --edge-url, and --origin-listen" \
        in result.stdout


def test_a_cached_404_asked_for_after_its_time_is_not_observable_not_failed(
        shared_reference, monkeypatch):
    """S15's cached 404 lasts 0.1 s at time scale 0.01. The runner stalls (as a loaded
    machine does) between its two requests for gone.txt, past that time: the edge rightly
    asks the origin again, and S15 says it could not see the cache, instead of failing."""
    asked: list[str] = []
    get = edge_probes.Site.get

    def stalled(site: edge_probes.Site, name: str, *args: Any) -> Any:
        asked.append(name)
        if asked.count("gone.txt") == 3:  # cached, asked after the invalidation, again
            time.sleep(0.3)
        return get(site, name, *args)

    monkeypatch.setattr(edge_probes.Site, "get", stalled)
    report = edge_run("2016-08")
    s15 = [o for v in report.verdicts if v.id == "S15" for o in v.outcomes]
    assert [o for o in s15 if o.status == Status.FAIL] == [], s15
    (unseen,) = [o for o in s15 if o.status == Status.NOT_OBSERVABLE]
    assert unseen.cause.startswith("S15: the cached 404 was asked for too late"), unseen
