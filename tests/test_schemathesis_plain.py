"""Plain schemathesis, run as a user would from the project root, finds no failure in our
mock for either variant: every rule the mock enforces is in the spec or in
schemathesis.toml, and the spec's links take the stateful phase to real services. With
`--checks all` this is also the mock's fuzz test: no generated request, positive or
negative, gets a 5xx, an undocumented status or media type, or a body off its schema.

The plain-schemathesis block of docs/conform.md is the same run for 2016-08 (tests/test_docs.py
runs it and holds it to the same counts, with as many examples); this one is 2015-08's,
which the docs do not show."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig

from contract.spec.variants import PROJECT_ROOT, SPEC_DIR, VARIANTS
from tests.servers import run_mock

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


@pytest.mark.long
def test_plain_schemathesis_reports_no_failure_for_2015_08(shared_reference):
    variant = "2015-08"
    with run_mock(variant, "--tokens", "t") as base_url:
        run = subprocess.run(
            [str(SCHEMATHESIS), "run", str(SPEC_DIR / VARIANTS[variant].spec_name),
             "--url", base_url, "-H", "X-Auth-Token: t", "--checks", "all",
             "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", "10",
             "--seed", "7", "--no-color"],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    report = run.stdout + run.stderr
    assert "Configuration:    " + str(PROJECT_ROOT / "schemathesis.toml") in report
    assert run.returncode == 0, report[-4000:]
    assert re.search(r"\d+ generated, \d+ passed", report), report[-2000:]
    covered = re.search(r"API Links:\s+(\d+) covered", report)
    # ours: 6 from createService; S37 lets the docs' example domain be created once only,
    # so a run may not follow every one of them to a live service
    assert covered and int(covered.group(1)) >= 5, report[-2000:]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_no_stateful_read_of_the_purged_path_is_judged_a_use_after_free(variant):
    """A purge (DELETE .../assets) deletes no resource (S1), so schemathesis.toml must keep
    every read under its path from being judged by `use_after_free` in the stateful phase,
    with `--checks all` (which outranks a per-operation check setting) as docs/conform.md runs
    it, while the purge itself stays in the scenarios."""
    config = SchemathesisConfig.from_path(str(PROJECT_ROOT / "schemathesis.toml"))
    schema = schemathesis.openapi.from_path(str(SPEC_DIR / VARIANTS[variant].spec_name),
                                            config=config)
    schema.config.checks.update(included_check_names=["all"])  # what `--checks all` sets
    operations = [result.ok() for result in schema.get_all_operations()]
    (purge,) = [op for op in operations if op.definition.raw["operationId"] ==
                "deleteCachedAsset"]
    judged = [op.label for op in operations if op.method.lower() == "get"
              and op.path.startswith(purge.path)
              and schema.config.phases_for(operation=op).stateful.enabled
              and schema.config.checks_config_for(operation=op,
                                                  phase="stateful").use_after_free.enabled]
    assert schema.config.phases_for(operation=purge).stateful.enabled
    assert judged == []
