"""The CLI as a user runs it: a real subprocess, exit codes, messages, files."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from contract.spec.variants import PROJECT_ROOT, SPEC_DIR, VARIANTS, shared_dir


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "contract", *args], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_help_describes_the_commands():
    result = cli("--help")
    assert result.returncode == 0 and "derive" in result.stdout
    derive = cli("derive", "--help")
    assert "--check" in derive.stdout and "--variant" in derive.stdout


def test_check_reports_a_stale_file_with_exit_1(shared_reference, tmp_path):
    """`derive --out` writes what spec/ holds (test_derive_e2e holds spec/ to the renderer
    byte for byte), and `--check` names a file that differs."""
    assert cli("derive", "--out", str(tmp_path)).returncode == 0
    assert snapshot(tmp_path) == {k: v for k, v in snapshot(SPEC_DIR).items()
                                  if k.startswith("cdn-")}
    stale = tmp_path / VARIANTS["2016-08"].spec_name
    stale.write_text(stale.read_text().replace("default: true", "default: false"))
    result = cli("derive", "--check", "--out", str(tmp_path))
    assert result.returncode == 1
    assert f"stale: {stale}" in result.stderr


@pytest.mark.parametrize(("body", "needle"), [
    ('<application xmlns="http://wadl.dev.java.net/2009/02"><resources>\n</application>',
     ":3: malformed XML: mismatched tag"),
    ('<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<application/>',
     "external entity declaration 'x' refused"),
    ('<application xmlns="http://wadl.dev.java.net/2009/02"><resources base="/">\n'
     '<resource path="a"><method href="#missing"/></resource></resources></application>',
     ":3: unknown method reference '#missing'"),
])
def test_bad_wadl_is_one_line_exit_2_and_nothing_written(shared_reference, tmp_path, body,
                                                          needle):
    wadl = tmp_path / "bad.wadl"
    wadl.write_text('<?xml version="1.0"?>\n' + body)
    out = tmp_path / "out"
    out.mkdir()
    (out / "cdn-2016-08.openapi.yaml").write_text("previous content\n")
    result = cli("derive", "--variant", "2016-08", "--wadl", str(wadl), "--out", str(out))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {wadl}") and needle in result.stderr
    assert snapshot(out) == {"cdn-2016-08.openapi.yaml": b"previous content\n"}


def test_overlay_target_matching_nothing_is_bad_input(shared_reference, tmp_path):
    overlay = tmp_path / "o.yaml"
    overlay.write_text("overlay: 1.0.0\ninfo: {title: t, version: '1'}\nactions:\n"
                       "  - target: $.paths['/nope'].get\n    update: {x-a: 1}\n")
    result = cli("derive", "--variant", "2016-08", "--overlay", str(overlay), "--out",
                 str(tmp_path / "out"))
    assert result.returncode == 2
    assert f"error: {overlay}:4: target" in result.stderr
    assert not (tmp_path / "out").exists()


def test_wadl_override_needs_a_single_variant(tmp_path):
    result = cli("derive", "--wadl", str(tmp_path / "x.wadl"))
    assert result.returncode == 2
    assert "need a single --variant" in result.stderr


def test_newcomer_trips_get_messages_that_say_what_to_do(shared_reference, tmp_path):
    import os

    env = {**os.environ, "CDN_CONTRACT_SHARED": str(tmp_path / "nowhere")}
    missing = subprocess.run([sys.executable, "-m", "contract", "derive"], cwd=PROJECT_ROOT,
                             capture_output=True, text=True, timeout=120, env=env)
    assert missing.returncode == 2 and "CDN_CONTRACT_SHARED" in missing.stderr
    elsewhere = cli("derive", "--check", "--out", str(tmp_path))
    assert elsewhere.returncode == 1
    assert f"run `cdn-contract derive --out {tmp_path}`" in elsewhere.stderr
    assert "make spec" not in elsewhere.stderr
    har = tmp_path / "bad.har"
    har.write_text('{"log": {"entries": [{"request": {"url": "http://x/"}}]}}')
    malformed = cli("validate", str(har))
    assert malformed.returncode == 2
    assert "HAR entry 0: `request.method` is missing" in malformed.stderr


def test_mock_help_suggests_a_prefer_that_works(shared_reference):
    assert "Prefer: code=401" in cli("mock", "--help").stdout


def test_options_come_from_a_config_file_and_the_environment_flags_winning(tmp_path):
    """`diff` exits 1 on breaking changes by default; a cdn-contract.toml (or pyproject's
    [tool.cdn-contract]) says otherwise; an environment variable wins over the file, a flag
    over both; a file that is not TOML is one line with exit 2."""
    import os

    def diff(*flags: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "contract", "diff", "2015-08", "2016-08",
                               *flags], cwd=tmp_path, capture_output=True, text=True,
                              timeout=60, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT),
                                               **env})
    assert diff().returncode == 1
    (tmp_path / "pyproject.toml").write_text('[tool.cdn-contract.diff]\nfail-on = "none"\n')
    assert diff().returncode == 0
    (tmp_path / "cdn-contract.toml").write_text('[diff]\nfail-on = "breaking"\n')
    assert diff().returncode == 1  # cdn-contract.toml wins over pyproject.toml
    assert diff(CDN_CONTRACT_DIFF_FAIL_ON="none").returncode == 0
    assert diff("--fail-on", "breaking", CDN_CONTRACT_DIFF_FAIL_ON="none").returncode == 1
    (tmp_path / "cdn-contract.toml").write_text("[diff\n")
    broken = diff()
    assert broken.returncode == 2 and "cdn-contract.toml:1: not TOML" in broken.stderr


def run_in(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The CLI run from `folder` (where it looks for its config files)."""
    import os

    clean = {k: v for k, v in os.environ.items() if not k.startswith("CDN_CONTRACT_")}
    return subprocess.run([sys.executable, "-m", "contract", *args], cwd=folder,
                          capture_output=True, text=True, timeout=60,
                          env={**clean, "CDN_CONTRACT_SHARED": str(shared_dir()), **env})


def refused(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Exit 2, one line on standard error saying why, nothing on standard output."""
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    assert all(needle in done.stderr for needle in needles) and not done.stdout, done.stderr


def test_a_bad_configured_value_is_blamed_on_its_source_not_on_a_flag(tmp_path):
    refused(run_in(tmp_path, "mock", CDN_CONTRACT_MOCK_PORT="abc"),
            "environment variable CDN_CONTRACT_MOCK_PORT='abc'")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n'
                                             '[tool.cdn-contract.mock]\nport = "abc"\n')
    refused(run_in(tmp_path, "mock"), f"{tmp_path / 'pyproject.toml'}:5: port: ")
    (tmp_path / "pyproject.toml").unlink()
    (tmp_path / "cdn-contract.toml").write_text('[diff]\nfail-on = "none"\n\n[mock]\n'
                                                'prot = 9999\n')
    refused(run_in(tmp_path, "diff", "2015-08", "2016-08"),
            f"{tmp_path / 'cdn-contract.toml'}:5: unknown option 'prot' for mock "
            "(did you mean 'port'?)")
    (tmp_path / "cdn-contract.toml").write_text('[generate.client]\nvarient = "2016-08"\n')
    refused(run_in(tmp_path, "diff", "2015-08", "2016-08"),
            "cdn-contract.toml:2: unknown option 'varient' for generate client (did you mean "
            "'variant'?)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdn-contract.toml"]


@pytest.mark.parametrize(("flags", "why"), [
    (["--no-edge", "--edge-port", "9999"], "the edge is off"),
    (["--origin-port", "8080=18080"], "port 80 or 443 only"),
    (["--tokens", ""], "an empty token"),
    (["--tokens", "=p1"], "an empty token"),
    (["--tokens", "t="], "no project after '='"),
    (["--latency-ms", "99999999999999999999"], "--latency-ms"),
    (["--time-scale", "1e308"], "--time-scale"),
    (["--job-retention", "inf"], "--job-retention"),
    (["--idle-timeout", "1e309"], "--idle-timeout"),
])
def test_clashing_or_unbounded_mock_options_are_refused(tmp_path, flags, why):
    refused(run_in(tmp_path, "mock", "--port", "0", "--db", str(tmp_path / "state.db"),
                   *flags), why)
    assert not list(tmp_path.iterdir())


def test_diff_of_an_unknown_variant_names_the_known_ones(tmp_path):
    refused(run_in(tmp_path, "diff", "2017-01", "2016-08"),
            "2017-01: no such file", "known: 2015-08, 2016-08")


def test_proxy_log_under_a_regular_file_is_bad_input(tmp_path):
    (tmp_path / "garbage.bin").write_bytes(b"\0")
    refused(run_in(tmp_path, "proxy", "--upstream", "http://127.0.0.1:9", "--port", "0",
                   "--log", "garbage.bin/x.log"), "garbage.bin/x.log: --log: cannot append")
    assert [p.name for p in tmp_path.iterdir()] == ["garbage.bin"]


def test_make_proof_ends_with_the_verdict_of_each_variant(shared_reference):
    """`make run` ends with `make proof`: a variant's mock on a free port, judged by
    `conform --checks api`, its verdict, the mock stopped (one variant here, few examples)."""
    done = subprocess.run(["make", "-s", "--old-file", ".venv/.installed-stamp", "proof",
                           "PROOF_VARIANTS=2015-08", "PROOF_EXAMPLES=2"],  # .venv as it is
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    started, *said = done.stdout.splitlines()  # the account of services, then the verdict
    services, verdict = sorted(said, key=lambda line: not line.startswith("services: "))
    port = re.fullmatch(r"mock 2015-08 on http://127\.0\.0\.1:(\d+); cdn-contract conform "
                        r"--base-url \S+ --variant 2015-08 --checks api", started)
    assert port and verdict == "2015-08: CONFORMS on the API statements; edge checks not run", \
        done.stdout
    assert re.fullmatch(r"services: (\d+) created, \1 removed", services), services
    with socket.socket() as probe:  # the mock was stopped
        assert probe.connect_ex(("127.0.0.1", int(port.group(1)))) != 0


# issue 46, item 7: the smaller confusions of a first hour, each one line that says what to do

def test_every_option_has_help_and_every_command_an_example():
    import click

    from contract.cli import cli as group

    def commands(command: click.Command, path: tuple[str, ...]):
        if isinstance(command, click.Group):
            for name, child in command.commands.items():
                yield from commands(child, (*path, name))
        else:
            yield path, command

    found = list(commands(group, ()))
    assert len(found) >= 9
    for path, command in found:
        assert "Example" in (command.help or ""), path
        assert [p.name for p in command.params if isinstance(p, click.Option)
                and not p.help and p.name != "help"] == [], path


def test_a_misspelt_environment_variable_is_named_with_the_nearest(tmp_path):
    import os

    env = {**os.environ, "CDN_CONTRACT_MOCK_PROT": "9999"}
    typo = subprocess.run([sys.executable, "-m", "contract", "mock", "--port", "0"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env)
    assert (typo.returncode, typo.stderr.strip()) == (
        2, "error: environment variable CDN_CONTRACT_MOCK_PROT: mock has no option 'prot' "
           "(did you mean CDN_CONTRACT_MOCK_PORT?)")
    env = {**os.environ, "CDN_CONTRACT_GENERATE_CLIENT_QUIET": "1", "CDN_CONTRACT_TOKEN": "x"}
    fine = subprocess.run([sys.executable, "-m", "contract", "diff", "2016-08", "2016-08"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env)
    assert fine.returncode == 0, fine.stderr


def test_a_database_url_the_mock_cannot_use_is_named_as_such():
    result = cli("mock", "--port", "0", "--db", "mysql://user:pw@db/cdn")
    assert (result.returncode, result.stderr.strip()) == (
        2, "error: --db mysql://user:***@db/cdn: mysql:// is not a database the mock keeps its "
           "state in (a SQLite file, :memory:, or postgresql://USER@HOST:PORT/DB)")


def test_a_base_url_ending_in_the_version_is_refused_before_anything_is_sent():
    with socket.socket() as listening:  # a target that would see any request sent
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        listening.settimeout(0)
        port = listening.getsockname()[1]
        result = cli("conform", "--base-url", f"http://127.0.0.1:{port}/v1.0/")
        with pytest.raises(BlockingIOError):
            listening.accept()
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: Invalid value for --base-url: 'http://127.0.0.1:{port}/v1.0/' ends in /v1.0, "
        f"which the suite adds to every path: drop it (--base-url http://127.0.0.1:{port})")
FAKE_CDN_CONTRACT = r"""#!/bin/sh
# `mock`: says where it listens on stderr (a port of its own), as the real one does, and
# notes which file its stderr is; `conform`: says which base URL it was given.
if [ "$1" = mock ]; then
  n=$(($(cat "$DIR/count" 2>/dev/null || echo 0) + 1)); echo $n > "$DIR/count"
  readlink /proc/$$/fd/2 >> "$DIR/logs"
  echo "listening on http://127.0.0.1:2500$n" >&2
  exec sleep 30
fi
echo "$5: CONFORMS against $3"  # conform --base-url URL --variant V ...
"""


def test_make_proof_gives_each_mock_a_log_of_its_own(tmp_path):
    """Issue 48 item 7: the two variants' mocks shared one log file, so the second's
    conform could read the first one's URL (seen once: Connection refused on the other
    mock's port). Each mock writes a log of its own, and each conform gets its own mock's
    URL (a stand-in cdn-contract: the recipe is what is tested)."""
    fake = tmp_path / "bin" / "cdn-contract"
    fake.parent.mkdir()
    fake.write_text(FAKE_CDN_CONTRACT)
    fake.chmod(0o755)
    done = subprocess.run(["make", "-s", "--old-file", ".venv/.installed-stamp", "proof",
                           f"BIN={fake.parent}", "PROOF_VARIANTS=2015-08 2016-08"],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "DIR": str(tmp_path)})
    assert done.returncode == 0, done.stdout + done.stderr
    logs = (tmp_path / "logs").read_text().split()
    assert len(logs) == 2 and logs[0] != logs[1], logs
    assert [line for line in done.stdout.splitlines() if "CONFORMS" in line] == [
        "2015-08: CONFORMS against http://127.0.0.1:25001",
        "2016-08: CONFORMS against http://127.0.0.1:25002"], done.stdout
    assert not any(Path(log).exists() for log in logs)  # removed once read


FAKE_APT_GET = """#!/bin/sh
# a stand-in apt-get that holds the lock the real one takes: a second at once fails
mkdir "$DIR/apt-lock" 2>/dev/null || { echo "apt-get: could not get lock" >&2; exit 100; }
echo "$@" >> "$DIR/apt-runs"
sleep 0.2
rmdir "$DIR/apt-lock"
"""


def test_make_test_runs_one_apt_get_at_a_time_even_under_make_j(tmp_path):
    """apt takes one lock at a time: `make -j4 test` (or MAKEFLAGS=-j in CI) handed the
    jobserver to the sub-make of the distribution's packages, which ran chromium's,
    postgresql's, varnish's and buildah's installs at once (all but one failed on the lock).
    Nothing installed here: .venv's stamps are there, the tools missing from PATH, and a
    stand-in apt-get that fails if another is running."""
    fakes = tmp_path / "bin"
    fakes.mkdir()
    for tool in ("make", "touch", "sleep", "mkdir", "rmdir"):
        (fakes / tool).symlink_to(f"/usr/bin/{tool}")
    for name, text in (("apt-get", FAKE_APT_GET), ("ruff", "#!/bin/sh\n"),
                       ("python", "#!/bin/sh\n")):
        (fakes / name).write_text(text)
        (fakes / name).chmod(0o755)
    (tmp_path / "pyproject.toml").touch()
    (tmp_path / "Makefile").write_bytes((PROJECT_ROOT / "Makefile").read_bytes())
    venv = tmp_path / ".venv"
    (venv / "ecosystem").mkdir(parents=True)
    made = subprocess.run(["make", "-p", "-q", "ECOSYSTEM"], cwd=tmp_path,  # its stamp's name
                          capture_output=True, text=True, timeout=60)
    ecosystem = re.search(r"^ECOSYSTEM := (\S+)", made.stdout, re.M)
    assert ecosystem, made.stdout[-2000:]
    for stamp in (".installed-stamp", ecosystem.group(1).removeprefix(".venv/")):
        (venv / stamp).touch()
    done = subprocess.run(["make", "-j4", "test", f"BIN={fakes}"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": str(fakes), "DIR": str(tmp_path)})
    assert done.returncode == 0, done.stdout + done.stderr
    runs = (tmp_path / "apt-runs").read_text().splitlines()
    assert sum(run.startswith("install") for run in runs) >= 2, runs  # chromium's, buildah's


# The mock's options whose default is not the settings' on purpose: the CLI starts the edge
# (any free port) and holds the docs' sample service; a MockSettings made in code has neither.
CLI_OWN_DEFAULTS = {"edge_port": (0, None), "sample": (True, False)}


def test_the_mock_commands_defaults_are_the_settings_defaults():
    """`mock --help` shows its defaults, and MockSettings (what code, the tests among it, makes
    a mock with) states them again: the edge cache's bound was changed in both by hand. Each
    option named as a setting (or a server limit) has the setting's default."""
    import dataclasses

    from contract.cli.mock import mock
    from contract.http.serving import ServerLimits
    from contract.mock.settings import MockSettings

    stated = {f.name: f.default for cls in (MockSettings, ServerLimits)
              for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
    compared = {p.name: (p.default, stated[p.name]) for p in mock.params
                if p.name in stated and isinstance(p.default, (int, float, str))}  # set ones
    assert {name for name, (cli, kept) in compared.items() if cli != kept} == \
        set(CLI_OWN_DEFAULTS), compared
    assert {name: compared[name] for name in CLI_OWN_DEFAULTS} == CLI_OWN_DEFAULTS
    assert {"edge_cache_bytes", "journal", "max_jobs", "idle_timeout"} <= set(compared)
