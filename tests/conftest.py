"""Shared paths for the tests. The end-to-end tests need ../shared beside the checkout (or
$CDN_CONTRACT_SHARED); without it they fail with a message saying so, never skip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from contract.spec.variants import notes_path, reference_dir

FIXTURES = Path(__file__).parent / "fixtures"
MINI_WADL = FIXTURES / "wadl" / "mini.wadl"


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    reference = reference_dir()
    assert reference.is_dir() and notes_path().is_file(), (
        f"the reference material is missing: expected {reference} and {notes_path()} "
        "(put ../shared beside the checkout or set CDN_CONTRACT_SHARED)")
    return reference


# `make test` runs the suite on four workers (pytest-xdist, `--dist loadgroup`). A module whose
# module-scoped fixture is costly (a debootstrapped image, a built wheel, a browser, a
# PostgreSQL server) stays on one worker, so that fixture is made once.
# The docs' blocks run in order, as a reader pastes them (one installs the client the next
# imports, one writes the report the next reads): each page's blocks share one worker, and
# the pages spread over the workers (no page uses what another made).
ONE_WORKER = {"test_image", "test_install", "test_browser", "test_replicas",
              "test_store_contract"}
DOC_BLOCK = "tests/test_docs.py::test_block_runs_as_written["


# Tests marked `long` (15 s or more on a worker) are handed out early, and the run ends on
# the short ones. Collected in file order, the oracle's two (57 s in turn) came last and one
# worker ran them alone for 36 s. xdist hands out the groups first (largest first: its
# --loadscope-reorder), then the tests of no group in this order: the long ones first. A
# module's tests stay together only if the mark is the module's (pytestmark) or none has it:
# a module-scoped fixture of a module with one long test is made twice, on one worker too.
LONG = "long"


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups and the order
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.nodeid.partition("::")[0].rpartition("/")[2].removesuffix(".py")
        if module in ONE_WORKER:
            item.add_marker(pytest.mark.xdist_group(module))
        elif item.nodeid.startswith(DOC_BLOCK):  # [docs/conform.md:151]: the page's group
            page = item.nodeid.removeprefix(DOC_BLOCK).rpartition(":")[0]
            item.add_marker(pytest.mark.xdist_group(f"docs {page}"))
    items.sort(key=lambda item: item.get_closest_marker(LONG) is None)  # stable: file order


# Every top-level `httpx.get()` and every `httpx.Client()` of a test loads the CA bundle again
# (25 ms of CPU), though the tests speak plain HTTP on loopback: the suite made thousands (a
# third of test_hostile's and test_mock's CPU). One context, made once, serves them all (an
# SSLContext is safe to share between clients). Where httpx moves the function, nothing is
# changed (the tests only take longer).
_TLS = httpx.create_ssl_context()
_TRANSPORTS = getattr(httpx, "_transports", None)
_MADE_TLS = getattr(getattr(_TRANSPORTS, "default", None), "create_ssl_context", None)


def _one_tls_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
    if verify is True and cert is None and trust_env:
        return _TLS
    assert _MADE_TLS is not None
    return _MADE_TLS(verify=verify, cert=cert, trust_env=trust_env)


if _MADE_TLS is not None:
    _TRANSPORTS.default.create_ssl_context = _one_tls_context
