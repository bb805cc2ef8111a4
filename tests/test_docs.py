"""The docs are run: every ```sh and ```python block of README.md, then of each docs/*.md
page (in the order of the site's nav), in order, as a reader would paste it, against a real mock on
loopback, so that no example can rot; every relative link must reach its file and anchor,
docs/cli.md must be what the commands' help says, and `mkdocs build --strict` must pass.

Each block runs in a scratch folder that sees the project's .venv (its bin/ first on PATH,
as in an activated environment: `cdn-contract`, `pytest`), spec/, generated/,
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
import yaml

from contract.spec.variants import PROJECT_ROOT, shared_dir
from tests.postgres import Server, postgres
from tests.servers import free_port, run_mock

README = PROJECT_ROOT / "README.md"


def nav_order() -> list[Path]:
    """docs/*.md in the order of the site's nav (as a reader goes through it: a page may
    use what an earlier one installed), then any page the nav does not list."""
    def files(entries: object) -> list[str]:
        if isinstance(entries, str):
            return [entries]
        if isinstance(entries, dict):
            return [f for value in entries.values() for f in files(value)]
        if isinstance(entries, list):
            return [f for entry in entries for f in files(entry)]
        return []

    config = yaml.safe_load((PROJECT_ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    listed = [PROJECT_ROOT / "docs" / name for name in files(config["nav"])]
    return listed + sorted(set((PROJECT_ROOT / "docs").glob("*.md")) - set(listed))


PAGES = [README, *nav_order()]
README_LINES = 200  # a README a newcomer reads on one or two screens; the rest is the site
PORTS = (8080, 8081, 18080)  # the ports the examples use: each becomes a free one
FENCE = re.compile(r"(?:<!-- doctest: (?P<note>[^>]*) -->\n)?```(?P<lang>sh|python)\n"
                   r"(?P<code>.*?)```", re.S)
SEEN = (".venv", "spec", "generated", "schemathesis.toml", "Makefile", "pyproject.toml",
        "tests")  # tests/vendor.py: the docs' target that is not our mock


@dataclass(frozen=True)
class Block:
    page: Path
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


    @property
    def name(self) -> str:
        return f"{self.page.relative_to(PROJECT_ROOT)}:{self.line}"


def blocks(pages: list[Path] = PAGES) -> list[Block]:
    found = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        found += [Block(page, text.count("\n", 0, m.start("code")), m["lang"], m["code"],
                        m["note"] or "") for m in FENCE.finditer(text)]
    return found


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scratch = tmp_path_factory.mktemp("docs")
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
    env = {**os.environ, "CDN_CONTRACT_SHARED": str(shared_dir().resolve()),
           "PATH": f"{folder / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}  # activated
    if block.lang == "python":
        return subprocess.run([sys.executable, "-c", code], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=300)
    if block.note.startswith("dry-run"):
        code = code.replace("make ", "make -n ")
    script = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + code
    return subprocess.run(["bash", "-c", script], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("block", blocks(), ids=lambda b: b.name)
def test_block_runs_as_written(block, folder, shared_reference, request):
    db = request.getfixturevalue("pg").database(
        re.sub(r"\W", "_", f"{block.page.stem}{block.line}")) \
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
    fences = sum(page.read_text(encoding="utf-8").count(f"```{lang}\n")
                 for page in PAGES for lang in ("sh", "python"))
    assert fences == len(found)
    assert [b.page for b in blocks([README])][:1] == [README]  # the two commands come first
    assert blocks([README])[0].code.startswith("make run")


def test_the_readme_is_short():
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= README_LINES, f"README.md has {lines} lines: move detail to docs/"


LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)\)")


def prose(page: Path) -> str:
    """A page without its code: fenced blocks and inline code hold no links or headings."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return re.sub(r"`[^`\n]*`", lambda m: m.group(0).replace("[", "").replace("#", ""), text)


def anchors(page: Path) -> set[str]:
    """The ids of a page's headings as MkDocs' toc and GitHub make them (lower case, no
    punctuation but - and _, spaces as -)."""
    return {re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
            for title in re.findall(r"^#+ (.+)$", prose(page), re.M)}


def broken_links(page: Path) -> list[str]:
    """The relative links of a page whose file or anchor does not exist."""
    found = []
    for target in LINK.findall(prose(page)):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:: not ours to check
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            found.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            found.append(f"{target}: no heading #{anchor} in {linked.name}")
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_every_relative_link_reaches_its_file_and_anchor(page):
    assert broken_links(page) == []


def test_the_link_check_sees_a_broken_link(tmp_path):
    (tmp_path / "there.md").write_text("# Some Title\n")
    page = tmp_path / "page.md"
    page.write_text("[a](there.md) [b](there.md#some-title) [c](gone.md) [d](there.md#nope) "
                    "[e](https://example.com/x) `[f](g.md)`\n```\n[h](i.md)\n```\n")
    assert broken_links(page) == ["gone.md: no such file",
                                  "there.md#nope: no heading #nope in there.md"]


def test_the_command_line_reference_is_what_the_commands_say():
    """docs/cli.md is generated from the click commands (`cdn-contract trace`): an option
    added, renamed or reworded without `make docs` fails here."""
    # in a process of its own: click keeps a command's help option once asked for it, and
    # a test that invoked a command alone (without the group's `-h`) would leave `--help`
    reference = subprocess.run(
        [sys.executable, "-c", "from contract.cli.reference import cli_reference; "
         "print(cli_reference(), end='')"], capture_output=True, text=True, check=True,
        cwd=PROJECT_ROOT).stdout
    assert (PROJECT_ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == reference, \
        "docs/cli.md is stale: run `make docs`"
    assert "--rate-limit-check" in reference and "--no-sample" in reference


def test_the_site_builds_strict(tmp_path):
    """`make docs`' build: every nav entry has its page, every link and anchor resolves."""
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(tmp_path / "site")], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "conform" / "index.html").is_file()
