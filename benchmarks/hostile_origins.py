"""Issue 45's proxy and edge rows at full size: origins and upstreams that send an endless
header or cut their answers short, against fresh servers on loopback. Prints what the other
tenant's API reads took meanwhile, the peak RSS of the server attacked (the issue's bound:
300 MB) and what the attacking requests got; asserts nothing.

    .venv/bin/python benchmarks/hostile_origins.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from origin import MIB, Origin
from soak import AUTH, deployed, peak_rss, servers


def tenant_reads(api: int, deadline: float) -> list[float]:
    """Another tenant's list reads, one after another until `deadline`: seconds each."""
    took: list[float] = []
    with httpx.Client(base_url=f"http://127.0.0.1:{api}", headers=AUTH, timeout=60) as client:
        while time.monotonic() < deadline:
            started = time.monotonic()
            client.get("/v1.0/other-tenant/services").raise_for_status()
            took.append(time.monotonic() - started)
    return took


def fetches(url: str, deadline: float, **headers: str) -> list[tuple[int, float]]:
    """The attacking request again and again until `deadline`: (status, seconds) each."""
    got = []
    while time.monotonic() < deadline:
        started = time.monotonic()
        status = httpx.get(url, headers=headers, timeout=60).status_code
        got.append((status, time.monotonic() - started))
    return got


def summary(got: list[tuple[int, float]]) -> str:
    statuses = sorted({status for status, _ in got})
    return (f"{len(got)} answers {statuses}, median "
            f"{statistics.median(s for _, s in got):.2f} s each")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each attack")
    seconds = parser.parse_args().seconds
    origin = Origin()
    with servers(origin) as at, ThreadPoolExecutor(4) as pool:
        httpx.post(f"http://127.0.0.1:{at['api']}/v1.0/other-tenant/services", headers=AUTH,
                   json={"name": "quiet", "flavor_id": "cdn",
                         "domains": [{"domain": "www.quiet.test"}],
                         "origins": [{"origin": "127.0.0.1", "port": 80}]})
        quiet = tenant_reads(at["api"], time.monotonic() + 2)
        domain = deployed(at["api"])
        edge = f"http://127.0.0.1:{at['edge']}/endless"
        attacked: list[list[tuple[int, float]]] = []
        reads: list[float] = []

        def attack(deadline: float) -> None:
            runs = [pool.submit(fetches, edge, deadline, Host=domain) for _ in range(3)]
            reads.extend(tenant_reads(at["api"], deadline))
            attacked.extend(run.result() for run in runs)
        before, peak = peak_rss(at["mock_pid"], seconds, attack)
        print(f"edge: 3 clients fetching an endless origin header for {seconds} s: "
              f"{summary([a for run in attacked for a in run])}")
        print(f"  the other tenant's API reads: median {statistics.median(quiet) * 1000:.1f} "
              f"ms unattacked, {statistics.median(reads) * 1000:.1f} ms attacked (max "
              f"{max(reads) * 1000:.0f} ms, {len(reads)} reads); mock RSS {before:.0f} -> "
              f"peak {peak:.0f} MB")
        proxied: list[tuple[int, float]] = []
        before, peak = peak_rss(at["proxy_pid"], seconds, lambda deadline: proxied.extend(
            fetches(f"http://127.0.0.1:{at['proxy']}/endless", deadline)))
        print(f"proxy: an endless upstream header for {seconds} s: {summary(proxied)}; "
              f"RSS {before:.0f} -> peak {peak:.0f} MB")
        ends = []
        for _ in range(3):
            with httpx.stream("GET", f"http://127.0.0.1:{at['proxy']}/cut",
                              timeout=60) as response:
                try:
                    ends.append(f"whole 200 of {len(response.read()) // MIB} MiB")
                except httpx.RemoteProtocolError:
                    ends.append("aborted")
        print(f"proxy: 64 MiB declared, the upstream closes after 16 MiB: {ends}")
    origin.shutdown()


if __name__ == "__main__":
    main()
