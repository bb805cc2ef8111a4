"""An independent CDN from real parts: the vendor's API (`tests.vendor`, written from the
docs) in front of Varnish (Debian's `varnish` 7, which `make test` installs when missing).

Nothing here comes from our mock's edge. The API takes services and purges as the vendor
does; a thread turns the services it has deployed, and the purge jobs it has accepted, into
VCL (`tests/fixtures/cdn.vcl.j2`, written from the docs and Varnish's own) and loads it into
one varnishd through `varnishadm` (vcl.load, vcl.use). A service reads `deployed` only once
the VCL that serves it is in use, as a real CDN reports a deploy once its edges have it.

What the VCL does, from the docs: routes by `Host` (the service's domains and its
access_url host; another host gets 404), fetches from the origin whose `rules` match the
path with the `Host` its `hostheadertype` asks for, caches for the ttl of the matching
`caching` entry, refuses what `restrictions` refuse (403), caches a 404 for 10 s, and serves
the stale copy when the origin answers 5xx or cannot be reached (grace). When a purge job
is due, the thread sends it to the edge's control socket, one PURGE request per file: a
purge (`hard=true`) removes the one file it names (`purge.hard`), an invalidation marks what
it covers expired and keeps it (`purge.soft`, keep > 0), so that the next request
revalidates with `If-Modified-Since`. An invalidation's `*` covers anything, subdirectories
too: the files it covers are those the edge has fetched (varnishncsa's log of backend
requests), as a real CDN knows its cache.

Each edge of the CDN is one listening socket of the same varnishd, with at most one defect
(`DEFECTS`, switches the VCL reads), so that one process runs a conforming edge and every
broken one side by side. Durations (deploys, purge delays, ttls) are the documented ones
times `time_scale`, and jobs land a little after the documented delay (`LATE`), as a real
CDN's do.
"""

from __future__ import annotations

import contextlib
import fnmatch
import ipaddress
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jinja2

from tests.servers import free_port, wait_for_port
from tests.vendor import Behaviour, Service, Vendor

TEMPLATE = Path(__file__).parent / "fixtures" / "cdn.vcl.j2"
DEFECTS = {  # each a VCL switch: what an edge could ship and the docs forbid
    "wildcard_purged": "a purge (hard=true) whose url has a * removes every file the * "
                       "matches (S12)",
    "purge_only_invalidates": "a purge marks the file expired and keeps it, to be "
                              "revalidated (S13)",
    "invalidation_purges": "an invalidation removes what it covers, as a purge (S14)",
    "no_if_modified_since": "a revalidation asks the origin without If-Modified-Since (S15)",
    "error_cached_an_hour": "a 404 of the origin is cached for an hour, not 10 s (S15)",
    "error_instead_of_stale": "the origin's 5xx is served instead of the stale copy (S15)",
    "host_header_ignored": "the origin always gets the requested domain as Host (S27)",
    "ttl_rules_ignored": "every asset is cached for a day, whatever `caching` says (S28)",
    "restrictions_ignored": "every request is served, whatever `restrictions` say (S29)",
    "origin_rules_ignored": "every path is fetched from the first origin, whatever its "
                            "`rules` match (S26)",
    "age_hidden": "the edge's answers carry no Age: nothing tells the cache state (S30)",
}
ERROR_TTL = 10  # seconds a 404 is cached (S15)
HOUR, DAY = 3600, 86400
LATE = 0.2  # a job lands this fraction of its documented delay after it is due
COMPILER = ("-O2", "-O0")  # the VCL's C is compiled unoptimised: it is small, loads are many


def varnishd() -> str:
    """The varnishd binary (Debian puts it in /usr/sbin, which a user's PATH may lack)."""
    found = shutil.which("varnishd") or "/usr/sbin/varnishd"
    if not Path(found).is_file():
        raise AssertionError("Varnish is not installed: `make test` installs Debian's "
                             "varnish package (apt-get install varnish)")
    return found


class CdnVendor(Vendor):
    """The vendor's API as one edge of the CDN sees it: a service is deployed once the VCL
    that routes to it is in use."""

    def __init__(self, cdn: Cdn, behaviour: Behaviour):
        super().__init__(behaviour)
        self.cdn = cdn

    def status(self, service: Service, now: float) -> str | None:
        status = super().status(service, now)
        if status == "deployed" and (service.id, service.updated) not in self.cdn.serving:
            return "update_in_progress" if service.updated is not None else \
                "create_in_progress"
        return status

    def due(self, now: float) -> list[tuple[Service, dict[str, Any]]]:
        """The services its clock has deployed, each with how the API shows it (links)."""
        return [(service, self._view(service, now, "")) for service in self.services.values()
                if Vendor.status(self, service, now) == "deployed"]


@dataclass
class Edge:
    """One edge: a listening socket of varnishd and its control socket (where the CDN
    sends purges), the API that configures it, its defect, and where the origins its
    services name really listen (port 80 → a test's origin)."""

    socket: str
    port: int
    control: str
    control_port: int
    defect: str
    vendor: CdnVendor
    origin_ports: dict[int, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Varnish:
    """A varnishd of its own: working folder, loopback sockets, admin port and secret."""

    def __init__(self, folder: Path, sockets: dict[str, int]):
        self.folder, self.sockets = folder, sockets
        self.admin_port = free_port()
        self.secret = folder / "secret"
        self.loaded = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log: subprocess.Popen[str] | None = None  # varnishncsa: the backend requests

    def start(self, vcl: str) -> None:
        self.secret.write_bytes(secrets.token_hex(16).encode())
        first = self._write(vcl)
        listen = [arg for name, port in self.sockets.items()
                  for arg in ("-a", f"{name}=127.0.0.1:{port}")]
        self.process = subprocess.Popen(
            [varnishd(), "-F", "-n", str(self.folder / "work"), *listen,
             "-T", f"127.0.0.1:{self.admin_port}", "-S", str(self.secret), "-f", str(first),
             "-s", "malloc,32m", "-p", "vcl_cooldown=1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            for port in (self.admin_port, *self.sockets.values()):
                wait_for_port(port, 60)
        except TimeoutError:
            raise AssertionError(f"varnishd did not start: {self.stop()}") from None
        compiler = self.admin("param.show", "cc_command").split("Value is:", 1)[1]
        compiler = compiler.split("\n", 1)[0].removesuffix("(default)").strip()
        # varnishadm joins its arguments into one CLI line: a value with spaces is quoted
        self.admin("param.set", "cc_command", f'"{compiler.replace(*COMPILER)}"')
        self.log = subprocess.Popen(
            ["varnishncsa", "-n", str(self.folder / "work"), "-b", "-F",
             "%{x-cdn-service}i %U"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True)

    def fetched(self) -> Iterator[tuple[str, str]]:
        """(service id, path) of each request the edge sends an origin, as it is sent."""
        assert self.log is not None and self.log.stdout is not None
        for line in self.log.stdout:
            service, _, path = line.strip().partition(" ")
            yield service, path

    def admin(self, *command: str) -> str:
        """One command through varnishadm; its output, or AssertionError with it."""
        done = subprocess.run(["varnishadm", "-T", f"127.0.0.1:{self.admin_port}", "-S",
                               str(self.secret), *command], capture_output=True, text=True,
                              timeout=60)
        if done.returncode != 0:
            raise AssertionError(f"varnishadm {' '.join(command)}: {done.stdout}"
                                 f"{done.stderr}")
        return done.stdout

    def _write(self, vcl: str) -> Path:
        self.loaded += 1
        path = self.folder / f"cdn{self.loaded}.vcl"
        path.write_text(vcl, encoding="utf-8")
        path.chmod(0o644)
        return path

    def load(self, vcl: str) -> None:
        """Compile `vcl`, make it the active VCL, discard the one before."""
        path = self._write(vcl)
        name = path.stem
        self.admin("vcl.load", name, str(path))
        self.admin("vcl.use", name)
        for line in self.admin("vcl.list").splitlines():
            fields = line.split()
            if fields and fields[0] == "available" and fields[-1] != name:
                with contextlib.suppress(AssertionError):  # still busy: discarded later
                    self.admin("vcl.discard", fields[-1])

    def stop(self) -> str:
        """Stop varnishd; what it said on stderr."""
        if self.log is not None:
            self.log.terminate()
            self.log.wait(timeout=20)
            self.log = None
        if self.process is None:
            return ""
        self.process.terminate()
        try:
            _, err = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        self.process = None
        return err.decode(errors="replace")


class Cdn:
    """The CDN: one varnishd, one API per edge, and the thread that keeps the VCL in step
    with what the APIs have deployed and accepted."""

    def __init__(self, folder: Path, defects: dict[str, str], time_scale: float):
        self.time_scale = time_scale
        self.edges = {name: Edge(f"e{n}", free_port(), f"c{n}", free_port(), defect,
                                 CdnVendor(self, Behaviour(time_scale=time_scale,
                                                           accept_wildcard_purge=True)))
                      for n, (name, defect) in enumerate(defects.items())}
        self.varnish = Varnish(folder, {
            name: port for edge in self.edges.values()
            for name, port in ((edge.socket, edge.port), (edge.control, edge.control_port))})
        self.fetched: dict[str, set[str]] = {}  # service id → paths the edge has fetched
        self._fetched_lock = threading.Lock()
        self.landed: set[tuple[str, int]] = set()  # (service id, job number) sent
        self.template = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATE.parent), autoescape=False,
            undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
            keep_trailing_newline=True).get_template(TEMPLATE.name)
        self.serving: frozenset[tuple[str, float | None]] = frozenset()
        self.loads = 0
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sync, daemon=True, name="varnish-cdn")
        self._client = httpx.Client(timeout=10)

    def start(self) -> None:
        self.varnish.start(self.vcl(self.config(time.time())))
        for job in (self._track, self._purge):
            threading.Thread(target=job, daemon=True, name=f"varnish-cdn{job.__name__}").start()
        self._thread.start()

    def _track(self) -> None:
        for service, path in self.varnish.fetched():
            with self._fetched_lock:
                self.fetched.setdefault(service, set()).add(path)

    def stop(self) -> str:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self._client.close()
        return self.varnish.stop()

    def config(self, now: float) -> dict[str, Any]:
        """What the VCL is rendered from: every edge with the services its API has
        deployed (routing, origins, caching, restrictions, purge jobs), and the backends
        and ACLs they need. A plain value: an unchanged one needs no new VCL."""
        backends: dict[tuple[str, int], str] = {}
        acls: dict[str, str] = {}
        edges = []
        for edge in self.edges.values():
            with edge.vendor.lock:
                due = edge.vendor.due(now)
            services = [_service(edge, service, view, backends, acls, self.time_scale)
                        for service, view in sorted(due, key=lambda item: item[0].id)]
            edges.append({"socket": edge.socket, "control": edge.control,
                          "defect": edge.defect, "services": services})
        return {"edges": edges,
                "acls": [{"name": name, **(_network(cidr) or {})} for cidr, name in acls.items()],
                "backends": [{"name": name, "host": host, "port": port}
                             for (host, port), name in backends.items()]}

    def vcl(self, config: dict[str, Any]) -> str:
        scale = self.time_scale
        return self.template.render(**config, scale=scale, error_ttl=_duration(
            ERROR_TTL * scale), hour=_duration(HOUR * scale), day=_duration(DAY * scale))

    def _sync(self) -> None:
        """Keep the VCL in step with what the APIs have deployed."""
        last: dict[str, Any] | None = None
        while not self._stop.wait(0.02):
            config = self.config(time.time())
            if config == last:
                continue
            try:
                self.varnish.load(self.vcl(config))
            except AssertionError as error:
                self.error = str(error)
                return
            self.loads += 1
            last = config
            self.serving = frozenset((service["id"], service["updated"])
                                     for edge in config["edges"]
                                     for service in edge["services"])

    def _purge(self) -> None:
        """Land the APIs' purge jobs as they fall due (on a thread of its own: a VCL
        compiling does not hold them up)."""
        while not self._stop.wait(0.01):
            try:
                for edge in self.edges.values():
                    self._land(edge, time.time())
            except httpx.HTTPError as error:
                self.error = f"a purge request to varnishd: {type(error).__name__}: {error}"
                return

    def _land(self, edge: Edge, now: float) -> None:
        """Send the edge the purge jobs of its API that are due (a little late: LATE), one
        PURGE per file: the one a purge names (and, marked `wildcard-purge`, those its `*`
        would match), each file an invalidation covers."""
        with edge.vendor.lock:
            due = [(service.id, n, job) for service in edge.vendor.services.values()
                   for n, job in enumerate(service.jobs) if (service.id, n) not in
                   self.landed and now >= job["done_at"] + LATE * (job["done_at"] -
                                                                    job["accepted_at"])]
        for service, n, job in due:
            self.landed.add((service, n))
            url, hard = job["url"], job["hard"]
            with self._fetched_lock:
                fetched = sorted(self.fetched.get(service, ()))
            matched = [path for path in fetched if "*" in url and
                       fnmatch.fnmatchcase(path, url)]
            sends = [(url, "purge")] + [(path, "wildcard-purge") for path in matched] \
                if hard and url != "/*" else [(path, "purge" if hard else "invalidate")
                                              for path in matched or [url]]
            for path, mode in sends:
                self._client.request("PURGE", f"http://127.0.0.1:{edge.control_port}{path}",
                                     headers={"x-cdn-purge-service": service,
                                              "x-cdn-purge-mode": mode})


def _service(edge: Edge, service: Service, view: dict[str, Any],
             backends: dict[tuple[str, int], str], acls: dict[str, str],
             scale: float) -> dict[str, Any]:
    """One deployed service as the VCL template takes it."""
    body = service.body
    hosts = [d["domain"].lower() for d in body["domains"]] + [
        link["href"].lower() for link in view["links"] if link["rel"] == "access_url"]
    origins = []
    # the first origin whose rules match the path; else the first without rules (a single
    # origin without rules serves every path)
    ruled = [o for o in body["origins"] if o.get("rules")]
    fallback = [o for o in body["origins"] if not o.get("rules")][:1]
    for origin in ruled + fallback:
        address = _address(origin["origin"])
        port = edge.origin_ports.get(origin.get("port", 80), origin.get("port", 80))
        backend = "nowhere" if address is None else \
            backends.setdefault((address, port), f"origin{len(backends)}")
        kind = origin.get("hostheadertype", "domain")
        host = origin["origin"] if kind == "origin" else \
            origin.get("hostheadervalue") if kind == "custom" else None
        rules = [rule["request_url"] for rule in origin.get("rules") or []]
        origins.append({"condition": _any(rules) if rules else "true", "backend": backend,
                        "host": _literal(host) if host else None})
    caching = []
    entries = body.get("caching") or []
    for entry in sorted(entries, key=lambda e: e["name"] == "default"):
        rules = [rule["request_url"] for rule in entry.get("rules") or []]
        condition = "true" if entry["name"] == "default" else _any(rules)
        caching.append({"condition": condition, "ttl": _duration(entry["ttl"] * scale)})
    restrictions = []
    for restriction in body.get("restrictions") or []:
        rules = [_restriction_rule(rule, acls) for rule in restriction.get("rules") or []]
        if rules:
            restrictions.append({"name": _literal(restriction["name"]), "rules": rules,
                                 "access": restriction.get("access", "whitelist")})
    return {"id": service.id, "updated": service.updated, "hosts": [_literal(h) for h in hosts],
            "origins": origins, "caching": caching, "restrictions": restrictions}


def _restriction_rule(rule: dict[str, Any], acls: dict[str, str]) -> str:
    """A restriction rule as a VCL condition: every member it has must match."""
    if "geography" in rule:
        return "false"  # no geography is known on loopback: such a rule matches nothing
    parts = [f'req.url ~ {{"{_glob(rule.get("request_url", "/*"))}"}}']
    if "referrer" in rule:
        parts.append(f"req.http.x-cdn-referrer == \"{_literal(rule['referrer'].lower())}\"")
    if "client_ip" in rule:
        if _network(rule["client_ip"]) is None:
            return "false"
        parts.append(f"client.ip ~ {acls.setdefault(rule['client_ip'], f'acl{len(acls)}')}")
    return " && ".join(parts)


def _any(patterns: list[str]) -> str:
    """`request_url` rules (PCRE, matched from the start of the path) as a VCL condition;
    a pattern Python's re cannot read, or a VCL string cannot hold, matches nothing."""
    usable = []
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error:
            continue
        if '"}' not in pattern:
            usable.append(f'bereq.url ~ {{"^(?:{pattern})"}}')
    return " || ".join(usable) or "false"


def _glob(url: str) -> str:
    """A url with `*` (anything, `/` included) as an anchored regex."""
    return "^" + ".*".join(re.escape(part) for part in url.split("*")) + "$"


def _literal(text: str) -> str:
    """Text inside a VCL "string" (which has no escapes): what it cannot hold is dropped."""
    return re.sub(r'["\x00-\x1f\x7f]', "", text)


def _duration(seconds: float) -> str:
    return f"{seconds:.3f}s"


def _address(host: str) -> str | None:
    """The IP address an origin's host names, or None when it resolves to none."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        return socket.gethostbyname(host)
    except OSError:
        return None


def _network(cidr: str) -> dict[str, Any] | None:
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None
    return {"address": str(network.network_address), "bits": network.prefixlen}


@contextlib.contextmanager
def running(defects: dict[str, str], time_scale: float) -> Iterator[Cdn]:
    """A CDN with one edge per name in `defects` (its defect, or "" for none), in a
    temporary folder, stopped and removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="cdn-contract-varnish-"))
    folder.chmod(0o755)  # varnishd's workers run as their own user when started as root
    cdn = Cdn(folder, defects, time_scale)
    try:
        cdn.start()
        yield cdn
    finally:
        cdn.stop()
        shutil.rmtree(folder, ignore_errors=True)
