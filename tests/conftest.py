"""Shared paths for the tests. The end-to-end tests need ../shared beside the checkout (or
$CDN_CONTRACT_SHARED); without it they fail with a message saying so, never skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract.variants import notes_path, reference_dir

FIXTURES = Path(__file__).parent / "fixtures"
MINI_WADL = FIXTURES / "wadl" / "mini.wadl"


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    reference = reference_dir()
    assert reference.is_dir() and notes_path().is_file(), (
        f"the reference material is missing: expected {reference} and {notes_path()} "
        "(put ../shared beside the checkout or set CDN_CONTRACT_SHARED)")
    return reference
