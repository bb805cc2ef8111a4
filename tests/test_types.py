"""The package and the generated stub servers type-check like hand-written code
(`mypy --strict`, with the stub packages of the `test` extra)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from contract.spec.variants import PROJECT_ROOT


@pytest.mark.long
def test_contract_and_generated_servers_pass_mypy_strict():
    run = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                          "contract", "generated/server"],
                         capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("Success: no issues found")
