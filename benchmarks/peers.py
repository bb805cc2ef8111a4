"""What the benchmarks share: finding and starting the peers (Prism, WireMock, wrk), waiting
for servers, running wrk in rounds and reporting medians and ratios. Measurements, never
assertions."""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from contract.conform.target import SERVICE_BODY

ROOT = Path(__file__).resolve().parent.parent
PURGE_LUA = """wrk.method = "DELETE"
wrk.headers["X-Auth-Token"] = "0f6e9f63600142f0a970911583522217"
"""
Figures = dict[str, float]
# A purge load test's mock: no rate limit, and jobs that complete in 0.6 s (a purge's 10
# minutes, scaled), so `--max-jobs` prunes finished ones; it never drops an unfinished job
# (past the bound with none finished, a purge is refused with 503).
LOAD_ARGS = ("--no-rate-limit", "--time-scale", "0.001")


def find_prism() -> str | None:
    """Prism 5 on PATH, in $PRISM, or installed by npm in ./node_modules or /tmp/prism."""
    candidates = [os.environ.get("PRISM"), shutil.which("prism"),
                  str(ROOT / "node_modules/.bin/prism"), "/tmp/prism/node_modules/.bin/prism"]
    return next((c for c in candidates if c and Path(c).exists()), None)


def find_wiremock() -> str | None:
    """WireMock 3's standalone jar: $WIREMOCK_JAR, or the one npm's `wiremock` package ships
    (`npm install wiremock@3`) in ./node_modules or /tmp/wiremock/node_modules."""
    found = [os.environ.get("WIREMOCK_JAR"), *sorted(
        str(jar) for folder in (ROOT / "node_modules", Path("/tmp/wiremock/node_modules"))
        for jar in folder.glob("wiremock/build/wiremock-standalone-3*.jar"))]
    return next((jar for jar in found if jar and Path(jar).exists()), None)


# The purge as a WireMock user stubs it: any project, any service, 202 with a Location.
WIREMOCK_PURGE = {"request": {"method": "DELETE",
                              "urlPathPattern": "/v1\\.0/[^/]+/services/[^/]+/assets"},
                  "response": {"status": 202,
                               "headers": {"Location": "http://127.0.0.1/v1.0/services/x"}}}


def start_wiremock(jar: str, port: int, folder: Path) -> subprocess.Popen[bytes]:
    """WireMock on `port` with the purge's static stub in `folder`/mappings (its request
    journal off, as a load test needs: it grows with every request otherwise)."""
    (folder / "mappings").mkdir(parents=True, exist_ok=True)
    (folder / "mappings" / "purge.json").write_text(json.dumps(WIREMOCK_PURGE))
    return subprocess.Popen(["java", "-jar", jar, "--port", str(port), "--bind-address",
                             "127.0.0.1", "--root-dir", str(folder), "--disable-banner",
                             "--no-request-journal"], stdout=subprocess.DEVNULL)


def need_wrk() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")


def stop(servers: list[subprocess.Popen[Any]]) -> None:
    """Terminate the servers a benchmark started, and wait for each."""
    for server in servers:
        server.terminate()
        server.wait(timeout=10)


def wait(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answered at {url} after {timeout:.0f} s")


def purge_url(base: str, project: str = "110011") -> str:
    """A purge of a new service of the mock at `base`: the URL wrk hammers."""
    created = httpx.post(f"{base}/v1.0/{project}/services", headers={"X-Auth-Token": "t"},
                         json={**SERVICE_BODY,
                               "domains": [{"domain": f"{uuid.uuid4()}.test"}]})
    service = created.headers["Location"].rsplit("/", 1)[-1]
    return f"{base}/v1.0/{project}/services/{service}/assets?url=/images/logo.png"


def wrk_command(url: str, seconds: int, connections: int, script: str, threads: int = 2
                ) -> list[str]:
    return ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s",
            script, url]


def wrk(url: str, seconds: int, connections: int, lua: str = PURGE_LUA) -> Figures:
    """requests/s, p50 and p99 in ms, and the count of non-2xx answers."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    try:
        out = subprocess.run(wrk_command(url, seconds, connections, script.name),
                             capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)
    return wrk_figures(out, url)


def wrk_figures(out: str, url: str) -> Figures:
    """What one wrk run printed, as figures."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rps is None:
        raise SystemExit(f"wrk printed no rate for {url}:\n{out}")
    figures = {"rps": float(rps.group(1))}
    for label in ("50", "99"):
        found = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out)
        assert found is not None, out
        value, unit = found.groups()
        figures[f"p{label}"] = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    statuses = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    figures["non_2xx"] = float(statuses.group(1)) if statuses else 0.0
    return figures


def in_turns(targets: dict[str, str], seconds: int, rounds: int, connections: int,
             lua: str = PURGE_LUA, out: Callable[[str], None] = print
             ) -> dict[str, list[Figures]]:
    """Each target measured once per round, in turns, after a warm-up; a row per run."""
    for url in targets.values():
        wrk(url, 2, connections, lua)  # warm-up (Node's JIT, our caches, pools)
    out(f"{'server':<24}{'round':>6}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    results: dict[str, list[Figures]] = {name: [] for name in targets}
    for number in range(1, rounds + 1):
        for name, url in targets.items():
            r = wrk(url, seconds, connections, lua)
            results[name].append(r)
            out(f"{name:<24}{number:>6}{r['rps']:>10.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}"
                f"{r['non_2xx']:>10.0f}")
    return results


def medians(results: dict[str, list[Figures]], out: Callable[[str], None] = print
            ) -> dict[str, Figures]:
    found = {name: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
             for name, runs in results.items()}
    for name, m in found.items():
        out(f"{name:<24}{'median':>6}{m['rps']:>10.0f}{m['p50']:>10.2f}{m['p99']:>10.2f}"
            f"{m['non_2xx']:>10.0f}")
    return found


def ratios(results: dict[str, list[Figures]], ours: str, theirs: str, target: float,
           out: Callable[[str], None] = print, p99_target: float = 1) -> None:
    """The ratio of the medians (req/s, p99), the spread per round, and the targets."""
    m = medians({name: results[name] for name in (ours, theirs)}, out=lambda _: None)
    each = [a["rps"] / b["rps"] for a, b in zip(results[ours], results[theirs], strict=True)]
    rate = m[ours]["rps"] / m[theirs]["rps"]
    out(f"ratio req/s ({ours} / {theirs}, medians): {rate:.1f}x (per round {min(each):.1f}x "
        f"to {max(each):.1f}x; target >= {target:g}x: {'met' if rate >= target else 'NOT met'})")
    p99 = m[ours]["p99"] / m[theirs]["p99"]
    out(f"ratio p99 ({ours} / {theirs}, medians): {p99:.2f} (target <= {p99_target:g}: "
        f"{'met' if p99 <= p99_target else 'NOT met'})")
