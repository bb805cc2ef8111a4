"""The suite's own set-up holds: `make test` runs on several workers with `--dist loadgroup`, and
the modules in `conftest.ONE_WORKER` (costly module fixtures) and each docs page's blocks
(one installing what the next imports) rely on their tests staying on one worker. pytest 9 with
pytest-xdist 3.8 silently dropped the groups, and the docs' blocks then failed by turns."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from contract.spec.variants import PROJECT_ROOT
from tests.conftest import LONG, pytest_collection_modifyitems
from tests.servers import free_port, run_cli_server

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


class _Item:
    """What conftest's hook reads of a collected test: its id and its markers."""

    def __init__(self, nodeid: str, *marks: str) -> None:
        self.nodeid, self.marks = nodeid, [getattr(pytest.mark, name).mark for name in marks]

    def add_marker(self, marker: pytest.MarkDecorator) -> None:
        self.marks.append(marker.mark)

    def get_closest_marker(self, name: str) -> pytest.Mark | None:
        return next((mark for mark in self.marks if mark.name == name), None)


def test_long_tests_are_handed_out_first_and_the_rest_keep_their_order() -> None:
    """The oracle's tests, collected last, left one worker running them alone for 36 s."""
    items = [_Item("tests/test_a.py::test_one"), _Item("tests/test_image.py::test_built", LONG),
             _Item("tests/test_b.py::test_two"), _Item("tests/test_oracle.py::test_x", LONG),
             _Item("tests/test_c.py::test_three")]
    pytest_collection_modifyitems(items)  # type: ignore[arg-type]
    assert [item.nodeid.split("::")[0][11:] for item in items] == [
        "image.py", "oracle.py", "a.py", "b.py", "c.py"]
    group = items[0].get_closest_marker("xdist_group")  # the grouping still comes first
    assert group is not None and group.args == ("test_image",)


def test_the_long_tests_are_marked() -> None:
    """Each test that ran 15 s or more on a worker carries the mark (a module's mark covers
    its tests): the oracle's, the behaviours' conform runs, the image and the wheel."""
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", LONG,
                           "-p", "no:cacheprovider", "tests/test_validation_oracle.py",
                           "tests/test_behaviours.py", "tests/test_image.py",
                           "tests/test_install.py"], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=120)
    chosen = {line.split("[")[0] for line in done.stdout.splitlines() if "::" in line}
    assert {"tests/test_validation_oracle.py::test_compiled_validator_agrees_with_openapi_core",
            "tests/test_behaviours.py::test_conform_finds_the_mock_conforming_under_each_"
            "behaviour_and_random_seeds", "tests/test_image.py::test_the_image_is_configured_"
            "for_users", "tests/test_install.py::test_every_command_runs_from_the_installed_"
            "wheel_alone"} <= chosen, done.stdout + done.stderr


def test_a_server_that_could_not_bind_its_port_is_named_not_someone_elses_answers() -> None:
    """A fresh-clone run beside another run of the suite (the same worker names, so the same
    ports) failed on a refusal: its mock could not bind, the port answered for the other
    run's server, which then stopped. The test that ran such a server now says so."""
    port = free_port()
    with socket.socket() as other:  # the other run's server, on the port first
        other.bind(("127.0.0.1", port))
        other.listen()
        with pytest.raises(RuntimeError, match=rf"exited \(2\).*cannot listen on .*{port}"), \
                run_cli_server("mock", "--quiet", port=port) as process:
            process.wait(timeout=30)
