"""pytest entry point: `pytest --cdn-base-url URL --pyargs contract.conform.test_contract`.

Registered as a pytest11 plugin, so the options exist wherever cdn-contract is installed.
The suite runs once per session (fixture `cdn_conformance`); `contract.conform.test_contract`
turns each statement into one test, so a CI sees which statement failed by name.
"""

from __future__ import annotations

import pytest

from contract.conform.fuzz import FuzzSettings
from contract.conform.runner import RunOptions, VariantReport, run
from contract.conform.target import Identity, Target


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cdn-contract", "Rackspace CDN API conformance")
    group.addoption("--cdn-base-url", help="Implementation under test.")
    group.addoption("--cdn-variant", default="2016-08", choices=["2015-08", "2016-08"])
    group.addoption("--cdn-token", help="A valid X-Auth-Token.")
    group.addoption("--cdn-max-examples", type=int, default=15)
    group.addoption("--cdn-rate-limit-check", action="store_true")


@pytest.fixture(scope="session")
def cdn_conformance(pytestconfig: pytest.Config) -> VariantReport:
    """The conformance report of --cdn-base-url (the suite runs once per session)."""
    base_url = pytestconfig.getoption("cdn_base_url")
    if not base_url:
        pytest.skip("no --cdn-base-url given: nothing to check")
    token = pytestconfig.getoption("cdn_token")
    target = Target(base_url, Identity(token or "conformance-token", bool(token)))
    options = RunOptions([pytestconfig.getoption("cdn_variant")],
                         FuzzSettings(pytestconfig.getoption("cdn_max_examples")),
                         pytestconfig.getoption("cdn_rate_limit_check"))
    (report,) = run(target, options)
    return report
