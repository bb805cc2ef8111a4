"""Shared paths for the tests. The end-to-end tests need ../shared beside the checkout (or
$CDN_CONTRACT_SHARED); without it they fail with a message saying so, never skip."""

from __future__ import annotations

from pathlib import Path

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


# `make test` runs the suite on two workers (pytest-xdist, `--dist loadgroup`). A module whose
# module-scoped fixture is costly (a debootstrapped image, a built wheel, a browser, a
# PostgreSQL server) stays on one worker, so that fixture is made once.
# The docs' blocks (README.md, then docs/*.md) run in order, as a reader pastes them (one
# installs the client the next imports), so they too share one worker.
ONE_WORKER = {"test_image", "test_install", "test_browser", "test_replicas",
              "test_store_contract", "test_docs"}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.nodeid.partition("::")[0].rpartition("/")[2].removesuffix(".py")
        if module in ONE_WORKER:
            item.add_marker(pytest.mark.xdist_group(module))
