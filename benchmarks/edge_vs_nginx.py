"""The mock's CDN edge beside nginx's `proxy_cache`, both serving cache hits of the same
asset from the same origin, under the same wrk load.

nginx (one worker, Debian package `nginx-light`) runs two servers: the origin (a static
folder) and a caching proxy in front of it. The mock's edge serves a service whose origin is
that same nginx origin (`--origin-port 80=...`). After a warm-up, every request is a cache
hit on both; wrk measures each in turns, several rounds. Prints every round, the medians and
the ratios (target: the edge's req/s >= 50% of nginx's, p99 within 2x); asserts nothing.

    .venv/bin/python benchmarks/edge_vs_nginx.py [--seconds 8] [--rounds 3]
        [--connections 32] [--size 4096]

Needs `wrk` and `nginx` (Debian packages `wrk`, `nginx-light`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from peers import ROOT, in_turns, medians, need_wrk, ratios, stop, wait

ORIGIN, NGINX, MOCK, EDGE = 18951, 18952, 18953, 18954
DOMAIN = "bench.example"
HOST_LUA = f'wrk.headers["Host"] = "{DOMAIN}"\n'
NGINX_CONF = """worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    proxy_cache_path {root}/cache keys_zone=edge:10m;
    server {{ listen 127.0.0.1:{origin}; root {root}/site; }}
    server {{
        listen 127.0.0.1:{proxy};
        location / {{
            proxy_pass http://127.0.0.1:{origin};
            proxy_cache edge;
            proxy_cache_valid 200 1h;
            add_header X-Cache $upstream_cache_status;
        }}
    }}
}}
"""


def start_nginx(root: Path, size: int) -> subprocess.Popen[bytes]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise SystemExit("nginx is not installed: apt-get install nginx-light")
    (root / "site" / "images").mkdir(parents=True)
    (root / "site" / "images" / "logo.png").write_bytes(os.urandom(size))
    (root / "cache").mkdir()
    for path in (root, root / "site", root / "site" / "images"):
        path.chmod(0o755)  # nginx's workers run as another user: they read the site...
    (root / "site" / "images" / "logo.png").chmod(0o644)
    (root / "cache").chmod(0o777)  # ...and write the cache
    (root / "nginx.conf").write_text(NGINX_CONF.format(root=root, origin=ORIGIN, proxy=NGINX))
    return subprocess.Popen([nginx, "-c", str(root / "nginx.conf"), "-g", "daemon off;"])


def edge_service(base: str) -> None:
    """A deployed service for DOMAIN whose origin is nginx's origin server."""
    created = httpx.post(f"{base}/v1.0/bench/services", headers={"X-Auth-Token": "t"}, json={
        "name": "bench", "domains": [{"domain": DOMAIN}], "origins": [{"origin": "127.0.0.1"}],
        "caching": [{"name": "default", "ttl": 31536000}],
        "log_delivery": {"enabled": False}, "flavor_id": "cdn"})
    location = created.headers["Location"]
    deadline = time.monotonic() + 30
    while httpx.get(location.replace("/v1.0/services", "/v1.0/bench/services"),
                    headers={"X-Auth-Token": "t"}).json()["status"] != "deployed":
        if time.monotonic() > deadline:
            raise SystemExit("the benchmark's service never reached `deployed`")
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=8, help="length of one measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per server")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--size", type=int, default=4096, help="bytes of the cached asset")
    args = parser.parse_args()
    need_wrk()
    with tempfile.TemporaryDirectory() as folder:
        servers = [start_nginx(Path(folder), args.size), subprocess.Popen(
            [sys.executable, "-m", "contract", "mock", "--quiet", "--no-rate-limit",
             "--time-scale", "0.01", "--port", str(MOCK), "--edge-port", str(EDGE),
             "--origin-port", f"80={ORIGIN}"], cwd=ROOT)]
        try:
            wait(f"http://127.0.0.1:{MOCK}/__mock__/health")
            wait(f"http://127.0.0.1:{ORIGIN}/images/logo.png")
            edge_service(f"http://127.0.0.1:{MOCK}")
            targets = {"cdn-contract mock edge": f"http://127.0.0.1:{EDGE}/images/logo.png",
                       "nginx proxy_cache": f"http://127.0.0.1:{NGINX}/images/logo.png"}
            for name, url in targets.items():  # fill both caches; then every request hits
                for _ in range(2):
                    answer = httpx.get(url, headers={"Host": DOMAIN})
                print(f"{name}: {answer.status_code}, {len(answer.content)} bytes, "
                      f"X-Cache {answer.headers.get('x-cache')}")
                if answer.status_code != 200 or answer.headers.get("x-cache") != "HIT":
                    raise SystemExit(f"{name} does not serve the asset from its cache")
            print(f"cache hits of one {args.size}-byte asset, wrk -t2 -c{args.connections} "
                  f"-d{args.seconds}s, {args.rounds} rounds in turns")
            results = in_turns(targets, args.seconds, args.rounds, args.connections, HOST_LUA)
            medians(results)
            ratios(results, "cdn-contract mock edge", "nginx proxy_cache", 0.5, p99_target=2)
        finally:
            stop(servers)


if __name__ == "__main__":
    main()
