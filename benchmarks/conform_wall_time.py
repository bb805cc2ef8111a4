"""Wall time of the default conformance run against the mock, both variants, beside a plain
`schemathesis run` with the same budget (cases per operation), in the same session.

    .venv/bin/python benchmarks/conform_wall_time.py [--max-examples 15]

Prints seconds and the ratio; asserts nothing. Target: the conformance run takes at most
60 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def timed(command: list[str], cwd: Path = ROOT) -> tuple[float, int]:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - started, result.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-examples", type=int, default=15)
    args = parser.parse_args()
    port = 18951
    mock = subprocess.Popen([sys.executable, "-m", "contract", "mock", "--quiet", "--port",
                             str(port), "--time-scale", "0.01"], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        time.sleep(2)
        rows = []
        ours, code = timed([sys.executable, "-m", "contract", "conform", "--base-url", base,
                            "--variant", "all", "--max-examples", str(args.max_examples),
                            "--quiet"])
        rows.append(("cdn-contract conform --variant all", ours, code))
        plain = 0.0
        for variant in ("2015-08", "2016-08"):
            seconds, code = timed([str(BIN / "schemathesis"), "run",
                                   str(ROOT / "spec" / f"cdn-{variant}.openapi.yaml"),
                                   "--url", base, "-H", "X-Auth-Token: t", "-n",
                                   str(args.max_examples), "--phases", "fuzzing"],
                                  cwd=Path(tempfile.gettempdir()))  # its cache stays out
            plain += seconds
        rows.append(("schemathesis run (both specs)", plain, code))
        print(f"budget: {args.max_examples} cases per operation and mode")
        for name, seconds, code in rows:
            print(f"{name:<40}{seconds:>8.1f} s   exit {code}")
        print(f"ratio (ours / plain schemathesis): {ours / plain:.2f}; target: ours <= 60 s")
    finally:
        mock.terminate()
        mock.wait(timeout=10)


if __name__ == "__main__":
    main()
