"""The README is run: every ```sh and ```python block, in order, as a reader would paste it,
against a real mock on loopback, so that no example can rot.

Each block runs in a scratch folder that sees the project's .venv, spec/, generated/,
schemathesis.toml and Makefile; `8080` (and 8081, 18080) in a block becomes a free port,
and a fresh 2016-08 mock that accepts the token `t` listens on the first unless the block
starts its own. A block may carry an annotation in the comment line just before it:
A PostgreSQL URL in a block becomes a new database of a throwaway server (`tests.postgres`).
`<!-- doctest: exit N (why) -->` (the exit code it is meant to have), `prints "..."` (text
its output must hold), `matches "..."` (a regular expression it must match: for a count
that varies from run to run) or `<!-- doctest: dry-run (why) -->` (make only shows what it
would do: for the commands CI runs itself). Plain ``` fences are diagrams and usage summaries,
not commands.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from contract.spec.variants import PROJECT_ROOT, shared_dir
from tests.postgres import Server, postgres
from tests.servers import free_port, run_mock

README = PROJECT_ROOT / "README.md"
PORTS = (8080, 8081, 18080)  # the ports the README's examples use: each becomes a free one
FENCE = re.compile(r"(?:<!-- doctest: (?P<note>[^>]*) -->\n)?```(?P<lang>sh|python)\n"
                   r"(?P<code>.*?)```", re.S)
SEEN = (".venv", "spec", "generated", "schemathesis.toml", "Makefile", "pyproject.toml",
        "tests")  # tests/vendor.py: the README's target that is not our mock


@dataclass(frozen=True)
class Block:
    line: int
    lang: str
    code: str
    note: str

    @property
    def exit_code(self) -> int:
        found = re.match(r"exit (\d+)", self.note)
        return int(found.group(1)) if found else 0

    @property
    def prints(self) -> list[str]:
        """What the annotation says the block prints: `prints "..."`, any number of times."""
        return re.findall(r'prints "([^"]*)"', self.note)

    @property
    def matches(self) -> list[str]:
        """The regular expressions the annotation says the output matches: `matches "..."`."""
        return re.findall(r'matches "([^"]*)"', self.note)


def blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    return [Block(text.count("\n", 0, m.start("code")), m["lang"], m["code"], m["note"] or "")
            for m in FENCE.finditer(text)]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scratch = tmp_path_factory.mktemp("readme")
    for name in SEEN:
        (scratch / name).symlink_to(PROJECT_ROOT / name)
    return scratch


@pytest.fixture(scope="module")
def pg() -> Iterator[Server]:
    with postgres() as server:
        yield server


def run(block: Block, folder: Path, port: int, db: str | None = None
        ) -> subprocess.CompletedProcess[str]:
    code = block.code
    if db is not None:
        code = re.sub(r"postgresql://\S+", db, code)
    for documented, actual in zip(PORTS, (port, free_port(), free_port()), strict=True):
        code = re.sub(rf"\b{documented}\b", str(actual), code)
    env = {**os.environ, "CDN_CONTRACT_SHARED": str(shared_dir().resolve())}
    if block.lang == "python":
        return subprocess.run([sys.executable, "-c", code], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=300)
    if block.note.startswith("dry-run"):
        code = code.replace("make ", "make -n ")
    script = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + code
    return subprocess.run(["bash", "-c", script], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("block", blocks(), ids=lambda b: f"README.md:{b.line}")
def test_readme_block_runs_as_written(block, folder, shared_reference, request):
    db = request.getfixturevalue("pg").database(f"readme{block.line}") \
        if "postgresql://" in block.code else None
    if "cdn-contract mock" in block.code:  # it starts its own
        result = run(block, folder, free_port(), db)
    else:
        with run_mock("2016-08", "--time-scale", "0.01", "--tokens", "t") as base:
            result = run(block, folder, int(base.rsplit(":", 1)[1]))
    print(result.stdout, result.stderr, sep="\n")  # shown whole when the block fails
    assert result.returncode == block.exit_code, (block.code, result.stdout[-3000:],
                                                  result.stderr[-3000:])
    assert "Traceback" not in result.stderr, result.stderr
    for expected in block.prints:
        assert expected in result.stdout, (expected, result.stdout[-3000:])
    for pattern in block.matches:
        assert re.search(pattern, result.stdout), (pattern, result.stdout[-3000:])


def test_every_command_block_is_found():
    """The harness sees the blocks it must: a change of fence or annotation cannot hide one."""
    found = blocks()
    assert sum(b.lang == "sh" for b in found) >= 6 and sum(b.lang == "python" for b in found) >= 2
    text = README.read_text(encoding="utf-8")
    assert text.count("```sh") + text.count("```python") == len(found)
