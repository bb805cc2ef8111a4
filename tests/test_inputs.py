"""Every file argument of every command is read only as a regular file of bounded size
(contract/inputs.py): `derive --overlay /dev/zero` and `diff /dev/zero x` read 4.9 GB in
3 s and hung on a FIFO (issue 33, item 18). The commands run for real, in a subprocess
whose address space is capped (the old code's reading of /dev/zero dies there, not here)
and whose time is bounded (its open of a FIFO never returns)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from contract.errors import InputError
from contract.inputs import read_bytes
from contract.spec.variants import PROJECT_ROOT

COMMANDS = [
    ("derive", "--variant", "2016-08", "--wadl", "{bad}", "--check"),
    ("derive", "--variant", "2016-08", "--overlay", "{bad}", "--check"),
    ("diff", "{bad}", "2016-08"),
    ("diff", "2016-08", "{bad}"),
    ("validate", "{bad}"),
    ("validate", "{bad}.har"),
    ("validate", "{request}", "{bad}.json"),
    ("conform", "--base-url", "http://127.0.0.1:9", "--service-body", "{bad}"),
]


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory, shared_reference: Path) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("inputs")
    fifo = folder / "pipe"
    for suffix in ("", ".har", ".json"):
        os.mkfifo(f"{fifo}{suffix}")
        os.symlink("/dev/zero", folder / f"zero{suffix}")
    request = folder / "request.txt"
    request.write_text("GET /v1.0/1/ping HTTP/1.1\nX-Auth-Token: t\n\n")
    return {"fifo": fifo, "zero": folder / "zero", "request": request}


# every command run in one process (a process each costs a second or two): its exit code
# and what it wrote to stderr, as JSON lines
RUN_ALL = """
import contextlib, io, json, sys
from contract.cli import main
for args in json.loads(sys.argv[1]):
    sys.argv, err = ["cdn-contract", *args], io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            main()
            code = 0
        except SystemExit as done:
            code = done.code
    print(json.dumps([code, err.getvalue().strip()]), flush=True)
"""


def test_a_file_argument_that_is_not_a_regular_file_is_refused(places):
    cases = [(command, bad) for bad in ("zero", "fifo") for command in COMMANDS]
    runs = [[arg.replace("{bad}", str(places[bad])).replace("{request}", str(places["request"]))
             for arg in command] for command, bad in cases]
    done = subprocess.run([sys.executable, "-c", RUN_ALL, json.dumps(runs)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60, preexec_fn=_capped)
    got = [tuple(json.loads(line)) for line in done.stdout.splitlines()]
    wanted = []
    for (command, _), args in zip(cases, runs, strict=True):
        named = args[next(i for i, arg in enumerate(command) if "{bad}" in arg)]
        wanted.append((2, f"error: {named}: not a regular file: {_what(command)} is read "
                          "from a file"))
    assert got == wanted, done.stderr[-2000:]


def _what(command: tuple[str, ...]) -> str:
    if "--wadl" in command:
        return "a WADL"
    if "--overlay" in command:
        return "an overlay"
    if command[0] == "diff":
        return "an OpenAPI document"
    if command[0] == "conform":
        return "a service body"
    last = command[-1]
    return "a HAR file" if last.endswith(".har") else "a body" if last.endswith(".json") \
        else "a recorded message"


def test_a_file_past_the_size_bound_is_refused(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b" " * 2048)
    with pytest.raises(InputError, match="2048 bytes: over the 1024 an overlay may have"):
        read_bytes(big, "an overlay", 1024)


# issue 46, item 5: each was a traceback (the last after the whole run)
UNWRITABLE = [
    (("derive", "--variant", "2016-08", "--out", "/proc/nope"),
     "error: /proc/nope: cannot be made: /proc is not writable"),
    (("trace", "--out", "/proc/nope"), "error: /proc/nope: cannot be made: /proc is not "),
    (("generate", "client", "--variant", "2016-08", "--out", "/proc/nope"),
     "error: /proc/nope: cannot be made: /proc is not writable"),
    (("conform", "--base-url", "http://127.0.0.1:9", "--json", "/proc/x.json"),
     "error: Invalid value for --json: '/proc/x.json' cannot be written: /proc is not "
     "writable"),
]


def test_an_output_that_cannot_be_written_is_one_line_and_exit_2():
    """The conform case sends nothing: its target (port 9) would fail the preflight with
    another message, after trying to connect."""
    runs = [list(command) for command, _ in UNWRITABLE]
    done = subprocess.run([sys.executable, "-c", RUN_ALL, json.dumps(runs)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)
    got = [tuple(json.loads(line)) for line in done.stdout.splitlines()]
    assert len(got) == len(UNWRITABLE), done.stderr[-2000:]
    for (code, message), (command, start) in zip(got, UNWRITABLE, strict=True):
        assert code == 2 and message.startswith(start) and "\n" not in message, \
            (command, message)


def test_a_list_in_the_config_file_for_a_one_value_option_names_its_line(tmp_path):
    (tmp_path / "cdn-contract.toml").write_text("[mock]\nquiet = true\nport = [1, 2]\n")
    done = subprocess.run([sys.executable, "-m", "contract", "mock"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr.strip()) == (
        2, f"error: {tmp_path / 'cdn-contract.toml'}:3: port = [1, 2]: one value is "
           "expected, not a list")
