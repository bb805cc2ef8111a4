"""The suite's own set-up holds: `make test` runs on several workers with `--dist loadgroup`, and
the modules in `conftest.ONE_WORKER` (costly module fixtures) and each docs page's blocks
(one installing what the next imports) rely on their tests staying on one worker. pytest 9 with
pytest-xdist 3.8 silently dropped the groups, and the docs' blocks then failed by turns."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

GROUPED = '''
import pytest

pytestmark = pytest.mark.xdist_group("together")


@pytest.mark.parametrize("i", range(8))
def test_one(i):
    pass
'''


def test_a_group_runs_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    # xdist alone: the other plugins (ours loads the whole conform stack) are not in question
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p",
                           "xdist.plugin", "-n", "2", "--dist", "loadgroup", "-v",
                           "test_grouped.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    workers = {line.split()[0] for line in done.stdout.splitlines() if "PASSED" in line}
    assert len(workers) == 1 and done.stdout.count("PASSED") == 8, done.stdout
