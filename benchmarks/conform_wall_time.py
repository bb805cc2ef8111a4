"""Wall time of the conformance run against the mock, each variant against a mock of its
own, beside a plain `schemathesis run` with the same budget (cases per operation) and the
project's schemathesis.toml, in the same session.

    .venv/bin/python benchmarks/conform_wall_time.py [--max-examples 15]

Each run is the one the README shows: the mock takes the token `t` only, conform runs the
API checks with the rate limit (`--checks api --rate-limit-check`) and its verdict is
CONFORMS; schemathesis fuzzes with every check and finds nothing. A run that does not end
that way (exit code not 0) is printed as such and no ratio is drawn from it: a run that
stopped early is no figure. Prints seconds and the ratio; asserts nothing. Target: the
conformance runs take at most 60 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
VARIANTS = ("2015-08", "2016-08")
STARTS_WITHIN = 60.0  # seconds a mock may take to listen on a loaded machine


def timed(command: list[str], cwd: Path = ROOT) -> tuple[float, int]:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - started, result.returncode


@contextlib.contextmanager
def mock(variant: str) -> Iterator[str]:
    """A fresh mock of `variant` (a fresh rate-limit window) that takes the token `t`, on a
    free port: its URL read from its start line (a fixed port taken by another server, or
    a mock slower than a fixed wait, made runs that did not pass, for no fault of theirs)."""
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen([sys.executable, "-m", "contract", "mock", "--quiet",
                                    "--variant", variant, "--port", "0", "--no-edge",
                                    "--time-scale", "0.01", "--tokens", "t"], cwd=ROOT,
                                   stderr=log)  # its start line, then its coverage
        try:
            yield _started(process, log)
        finally:
            process.terminate()
            process.wait(timeout=10)


def _started(process: subprocess.Popen[bytes], log: IO[str]) -> str:
    deadline = time.monotonic() + STARTS_WITHIN
    while time.monotonic() < deadline and process.poll() is None:
        log.seek(0)
        if found := re.search(r"http://127\.0\.0\.1:\d+", log.read()):
            return found.group(0)
        time.sleep(0.1)
    log.seek(0)
    raise SystemExit(f"the mock did not start: {log.read()[-500:]}")


def conform(variant: str, base: str, examples: int) -> tuple[float, int]:
    return timed([sys.executable, "-m", "contract", "conform", "--base-url", base,
                  "--variant", variant, "--token", "t", "--checks", "api",
                  "--rate-limit-check", "--max-examples", str(examples), "--quiet"])


def schemathesis(variant: str, base: str, examples: int) -> tuple[float, int]:
    """From a temporary folder (its cache stays out of the checkout), with our config."""
    return timed([str(BIN / "schemathesis"), "--config-file",
                  str(ROOT / "schemathesis.toml"), "--no-color", "run",
                  str(ROOT / "spec" / f"cdn-{variant}.openapi.yaml"), "--url", base,
                  "-H", "X-Auth-Token: t", "--checks", "all", "-n", str(examples),
                  "--phases", "fuzzing"], cwd=Path(tempfile.gettempdir()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-examples", type=int, default=15)
    args = parser.parse_args()
    totals = {"cdn-contract conform": 0.0, "schemathesis run": 0.0}
    failed = []
    print(f"budget: {args.max_examples} cases per operation and mode")
    for variant in VARIANTS:
        for name, command in (("cdn-contract conform", conform),
                              ("schemathesis run", schemathesis)):
            with mock(variant) as base:
                seconds, code = command(variant, base, args.max_examples)
            verdict = "passed" if code == 0 else f"exit {code}: not a figure"
            print(f"{name + ' ' + variant:<36}{seconds:>8.1f} s   {verdict}")
            totals[name] += seconds
            if code:
                failed.append(f"{name} {variant}")
    if failed:
        print(f"no ratio: {', '.join(failed)} did not pass")
        return
    ours, plain = totals["cdn-contract conform"], totals["schemathesis run"]
    print(f"both variants: conform {ours:.1f} s, schemathesis {plain:.1f} s; ratio (ours / "
          f"plain schemathesis): {ours / plain:.2f}; target: ours <= 60 s: "
          f"{'met' if ours <= 60 else 'not met'}")


if __name__ == "__main__":
    main()
