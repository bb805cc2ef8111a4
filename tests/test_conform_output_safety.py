"""What `conform` writes cannot be injected and does not leak (issue 45, rows 3, 8, 9, 13,
16): a hostile target answering control bytes, ANSI/OSC sequences and forged lines, and
echoing the gateway key it was sent, gets every report well-formed (JUnit read by an XML
parser), nothing raw on the terminal, the key nowhere, and the README's one-letter token
`t` masking nothing but itself; a curl line replays its bytes through bash; a run stopped
by SIGTERM or by a bug of ours writes every report and exits 2; the HAR is streamed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from contract.conform.outcome import curl, masked
from tests import broken
from tests.servers import run_upstream

KEY = "gw-K3y-of-the-gateway"  # a -H value: a secret, though no option says so
# What a hostile target answers to every request it refuses: a screen clear, a colour, a
# window title and a hyperlink (OSC), backspaces, a NUL, a forged line, a CSI in C1
# (0x9b, UTF-8), a right-to-left override.
HOSTILE = (b"\x1b[2J\x1b[31mred\x1b]0;pwned\x07\x1b]8;;http://127.0.0.22/\x07link\x1b]8;;"
           b"\x07\x08\x08\x00\r\nFORGED    pass   line\n\xc2\x9b31m\xe2\x80\xae!")
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
OVERMASKED = re.compile(r"\w\*\*\*|\*\*\*\w")  # `applica***ion`, `h***p`


def hostile(scope: dict[str, Any], status: int, headers: list, body: bytes
            ) -> tuple[int, list, bytes]:
    """The mock's refusals, each replaced by the hostile text with the gateway key and the
    token it was sent echoed back; a C1 control in its Content-Type."""
    if status < 400:
        return status, headers, body
    sent = dict(scope["headers"])
    echoed = b" key=" + sent.get(b"x-gateway-key", b"") + b" token=" + \
        sent.get(b"x-auth-token", b"")
    return status, [(b"content-type", b"text/plain; x=\x9b1m"),
                    (b"x-echo", sent.get(b"x-gateway-key", b""))], HOSTILE + echoed


REPORTS = ("json", "junit", "html", "har")


def arguments(base: str, folder: Path, *options: str, reports: tuple[str, ...] = REPORTS
              ) -> list[str]:
    """`conform`'s options for a short run with the README's token `t`, a gateway key, and
    the `reports` asked for, written in `folder`."""
    return ["conform", "--base-url", base, "--token", "t", "-H", f"X-Gateway-Key: {KEY}",
            "--checks", "api", "--time-scale", "0.01", "--max-examples", "1", "--seed", "1",
            "--workers", "1", *(f"--{kind}={folder / ('r.' + kind)}" for kind in reports),
            *options]


def conform(base: str, folder: Path, *options: str, **popen: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "contract", *arguments(base, folder,
                                                                           *options)],
                            **{"stdout": subprocess.PIPE, "stderr": subprocess.PIPE,
                               "text": True, **popen})


def read_reports(folder: Path) -> dict[str, str]:
    """Every report, each parsed as its format (an exception if one is malformed)."""
    texts = {kind: (folder / f"r.{kind}").read_text(encoding="utf-8")
             for kind in ("json", "junit", "html", "har")}
    json.loads(texts["json"])
    ElementTree.fromstring(texts["junit"])
    json.loads(texts["har"])
    return texts


def test_a_hostile_target_injects_nothing_and_no_report_leaks_a_header(shared_reference,
                                                                     tmp_path):
    with run_upstream(broken.Broken(outbound=hostile)) as port:
        process = conform(f"http://127.0.0.1:{port}", tmp_path)
        stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 1, stderr[-2000:]
    texts = read_reports(tmp_path)  # JUnit parsed by an XML parser: well-formed
    shown = {"stdout": stdout, "stderr": stderr, **texts}
    clean = {name: "" for name in shown}
    assert {name: "".join(RAW.findall(text)) for name, text in shown.items()} == clean
    assert {name: text.count(KEY) for name, text in shown.items()} == dict.fromkeys(shown, 0)
    assert {name: " ".join(OVERMASKED.findall(text)[:3]) for name, text in shown.items()
            } == clean
    assert "application/json" in texts["har"] and "http://127.0.0.1" in stdout
    assert "\\x1b[2J\\x1b[31mred" in stdout  # quoted, as visible escapes
    assert not any(line.lstrip().startswith("FORGED") for line in stdout.splitlines())
    # The HAR keeps the body as it came (a JSON escape is no loss), but the key masked.
    entries = json.loads(texts["har"])["log"]["entries"]
    bodies = [e["response"]["content"].get("text", "") for e in entries]
    assert any("\x1b[2J\x1b[31mred" in body and "key=***" in body for body in bodies)
    sent = {(h["name"], h["value"]) for e in entries for h in e["request"]["headers"]
            if h["name"].lower() in ("x-gateway-key", "x-auth-token")}
    assert sent == {("x-gateway-key", "***"), ("x-auth-token", "***"), ("x-auth-token", ""),
                    ("x-auth-token", "***-not-valid")}  # the probes' empty and invalid ones


def test_masking_hides_whole_values_never_parts_of_words():
    secrets = {"t": "***", KEY: "***"}
    assert masked("application/json http://h/ don't", secrets) == \
        "application/json http://h/ don't"
    assert masked(f'x-auth-token: t; ?k=t&q={KEY} "t" \'t\' t-not-valid', secrets) == \
        '''x-auth-token: ***; ?k=***&q=*** "***" '***' ***-not-valid'''
    assert masked("a%2Fb+c", {"a/b c": "***"}) == "***"  # as a URL writes it


def test_every_header_value_is_a_secret_but_those_shown(monkeypatch):
    """-H values are masked like the token; --show-header names one that may be shown
    (case-insensitive), $CDN_CONTRACT_HEADERS included."""
    from contract.cli.conform import configure, conform

    monkeypatch.setenv("CDN_CONTRACT_HEADERS", "X-Env-Key: from-the-environment")
    arguments = ["--base-url", "http://x", "-H", f"X-Gateway-Key: {KEY}", "-H",
                 "X-Tenant: 110011", "--show-header", "x-tenant", "--token", "t"]
    with conform.make_context("conform", arguments) as made:
        secrets = configure(made.params).target.identity.secrets()
    assert secrets == {KEY: "***", "from-the-environment": "***", "t": "***"}


def _replayed(line: str) -> list[bytes]:
    """The arguments bash gives `curl` when it runs the line (curl itself not run)."""
    script = "curl() { printf '%s\\0' \"$@\"; }\n" + line
    done = subprocess.run(["bash", "-c", script], capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.split(b"\0")[:-1]


def test_a_curl_line_holds_no_control_byte_and_replays_the_same_bytes(tmp_path):
    body = '{"name": "\x1b[31m\x7fred\u202e\x9b", "q": "it\'s"}'.encode()
    request = httpx.Request("POST", "http://127.0.0.1:1/v1.0/p/services?k=t", content=body,
                            headers={"X-Auth-Token": "t", "X-Gateway-Key": KEY})
    line = curl(request, {"t": "***", KEY: "***"})
    assert not RAW.search(line) and "\n" not in line and KEY not in line, line
    arguments = _replayed(line)
    assert arguments[arguments.index(b"--data-binary") + 1] == body
    assert arguments[-1] == b"http://127.0.0.1:1/v1.0/p/services?k=***"
    assert b"x-gateway-key: ***" in arguments
    with_nul = httpx.Request("POST", "http://127.0.0.1:1/", content=b"a\x00b")
    assert "--data-binary @" in curl(with_nul, {}, tmp_path)  # no argument can hold a NUL


def _reports_of_a_stopped_run(folder: Path) -> dict[str, Any]:
    texts = read_reports(folder)
    data = json.loads(texts["json"])
    junit = ElementTree.fromstring(texts["junit"])
    assert junit.find(".//testcase/error") is not None and junit.get("errors") == "1"
    assert "STOPPED during" in texts["html"]
    return {"stopped": data["stopped"], "variants": data["variants"],
            "har": json.loads(texts["har"])["log"]["entries"]}


def test_sigterm_mid_run_writes_every_report_and_exits_2(shared_reference, tmp_path):
    with run_upstream(broken.Broken()) as port:
        process = conform(f"http://127.0.0.1:{port}", tmp_path, bufsize=1)
        assert process.stderr is not None
        for line in process.stderr:  # a check is done: the run is midway
            if "observation(s)" in line:
                break
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 2, stdout[-2000:] + stderr[-2000:]
    assert "error: terminated (SIGTERM)" in stderr and "Traceback" not in stderr
    found = _reports_of_a_stopped_run(tmp_path)
    assert found["stopped"]["why"] == "terminated (SIGTERM)"
    assert found["stopped"]["where"].startswith("variant 2016-08: checks")
    (variant,) = found["variants"]  # what the checks observed before the stop is reported
    assert any("the run stopped" in note for note in variant["notes"]), variant["notes"]
    assert sum(s["status"] != "not observable" for s in variant["statements"]) > 0
    assert len(found["har"]) >= 4  # the preflight's reads at least, the file ended


def test_a_bug_of_ours_is_one_line_a_saved_traceback_and_every_report(shared_reference,
                                                                     tmp_path):
    """A bug in the preflight (simulated: a helper that divides by zero) stops the run:
    one line naming the file the traceback went to, every report, exit 2 (it was 1, with
    a traceback and no report)."""
    bug = ("import sys, contract.conform.preflight as p; p._introspect = lambda _: 1 / 0; "
           "sys.argv[0] = 'cdn-contract'; from contract.cli import main; main()")
    with run_upstream(broken.Broken()) as port:
        command = [sys.executable, "-c", bug, *arguments(f"http://127.0.0.1:{port}", tmp_path)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    named = re.search(r"traceback saved to (\S+)$", errors[0])
    assert named, errors
    saved = Path(named[1])
    assert "ZeroDivisionError" in saved.read_text() and KEY not in saved.read_text()
    saved.unlink()
    found = _reports_of_a_stopped_run(tmp_path)
    assert "internal error" in found["stopped"]["why"]
    assert found["stopped"]["where"] == "" and found["variants"] == []  # the preflight


def _peak_rss_mb(process: subprocess.Popen[str]) -> float:
    """The peak resident memory of a child once it ended, in MB (ru_maxrss is in KiB)."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024


def padded(scope: dict[str, Any], status: int, headers: list, body: bytes
           ) -> tuple[int, list, bytes]:
    """Every JSON answer followed by 256 KiB of spaces: the same JSON, much traffic."""
    return status, headers, body + b" " * 262144 if body[:1] in (b"{", b"[") else body


@pytest.mark.long
def test_the_har_is_streamed_not_held(shared_reference, tmp_path):
    """A run whose answers are large: with --har the peak RSS grows by far less than the
    traffic written (it grew by several times the traffic: 1.7 GB in the issue)."""
    peaks = {}
    with run_upstream(broken.Broken(outbound=padded)) as port:
        for name, reports in (("with", ("har",)), ("without", ())):
            folder = tmp_path / name
            folder.mkdir()
            process = subprocess.Popen([sys.executable, "-m", "contract", *arguments(
                f"http://127.0.0.1:{port}", folder, reports=reports)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            peaks[name] = _peak_rss_mb(process)
            assert process.returncode in (0, 1), (name, process.returncode)
    traffic = (tmp_path / "with" / "r.har").stat().st_size / 2**20
    assert traffic > 40, traffic
    assert peaks["with"] - peaks["without"] < traffic / 2, (peaks, traffic)


def test_the_har_takes_exchanges_from_threads_at_once(tmp_path):
    """A run's scenario waits in a thread beside its checks: both add to the HAR at once,
    and the file stays one valid document holding every exchange (it held bytes of
    neither when two writes interleaved)."""
    from contract.recorded.har import HarWriter

    path = tmp_path / "run.har"
    writer = HarWriter.open(path, "test", "0")
    answer = httpx.Response(200, content=b'{"x": "' + b"y" * 5000 + b'"}',
                            request=httpx.Request("GET", "http://127.0.0.1:1/"))
    threads = [threading.Thread(target=lambda: [writer.add(answer) for _ in range(100)])
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    assert len(json.loads(path.read_text(encoding="utf-8"))["log"]["entries"]) == 800
