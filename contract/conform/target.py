"""The implementation under test, as the checks talk to it."""

from __future__ import annotations

import collections
import importlib
import importlib.util
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from contract.conform.gate import Bounds, Breach, Gate, bounded_client, exchange
from contract.conform.origin import Origin
from contract.conform.outcome import MASK, curl, gist
from contract.conform.secrets import secrets_of
from contract.errors import InputError
from contract.inputs import read_text
from contract.spec.variants import generated_server
from contract.textsafe import one_line

# observer(project_id, service_id) -> the purge jobs the target recorded, each with `hard`
Observer = Callable[[str, str], list[dict[str, Any]]]
SUFFIX = "conform.example"  # RFC 2606 reserves .example: no real domain is ever claimed
# The services the suite creates: a template whose placeholders are filled per create (a real
# CDN refuses a two-label domain, and a domain another service holds: S37).
TEMPLATE = {"name": "{name}", "domains": [{"domain": "{domain}"}],
            "origins": [{"origin": "{origin}", "rules": []}],
            "log_delivery": {"enabled": False}, "flavor_id": "{flavor_id}"}
BODY_SHOWN = 300  # bytes of a response body quoted in a message
JOBS_SETTLE_SECONDS = 5.0  # how long an accepted purge's job may take to show (real time)
JOBS_READ_EVERY = 0.1


def placeholders(unique: str, flavor_id: str) -> dict[str, str]:
    """What each placeholder of a service template stands for, for one create."""
    return {"{unique}": unique, "{domain}": f"{unique}.{SUFFIX}",
            "{origin}": f"origin-{unique}.{SUFFIX}", "{name}": f"conform-{unique}",
            "{flavor_id}": flavor_id}


def fill(template: Any, values: dict[str, str]) -> Any:
    """The template with each placeholder in its strings replaced (other text untouched)."""
    if isinstance(template, dict):
        return {key: fill(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(value, values) for value in template]
    if isinstance(template, str):
        for placeholder, value in values.items():
            template = template.replace(placeholder, value)
    return template


SERVICE_BODY = fill(TEMPLATE, placeholders("www", "cdn"))  # one fixed body, for the tests


OURS = "\x00our token"  # marker: send the token the user gave


@dataclass
class Answer:
    """What the target answered to one request of ours, and the curl line that asks again
    (a report quotes both; recorded traffic is `contract.recorded.Exchange`)."""

    response: httpx.Response
    curl: str

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def accepted(self) -> bool:
        """Whether the target took the request (a 2xx). Only S2 asks for exactly 202:
        every other statement is judged on acceptance, so one wrong status fails one
        statement."""
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The response body as JSON, or None when it is not JSON."""
        try:
            return self.response.json()
        except ValueError:
            return None

    def gist(self) -> str:
        """The status and the body's shape: what a cause names of an answer."""
        return gist(self.response)

    def describe(self) -> str:
        """`METHOD URL answered STATUS: body…`: what a reader needs to see why a step
        failed, without rerunning it (on one line, whatever the body holds)."""
        request = self.response.request
        # one line: a server's HTML error page printed 50 lines into a one-line message;
        # a control character or escape sequence it holds shown as its escape
        text = one_line(" ".join(self.response.content[:BODY_SHOWN].decode(
            "utf-8", "replace").split()))
        cut = " …" if len(self.response.content) > BODY_SHOWN else ""
        return (f"{request.method} {request.url} answered {self.status}"
                + (f": {text}{cut}" if text else " with no body"))


@dataclass
class Identity:
    """Who the suite is at the target: a real account has one project and one token; a
    second tenant (S18) needs a second pair. Without a project, each check uses a new one."""

    token: str = "conformance-token"
    token_known: bool = False  # the user told us a valid token: an invalid one can be probed
    project_id: str | None = None
    other_project_id: str | None = None
    other_token: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # sent on every request
    # the environment variable each token came from ("token", "other_token" → its name)
    variables: dict[str, str] = field(default_factory=dict)
    shown_headers: tuple[str, ...] = ()  # headers whose values reports may show

    def secrets(self) -> dict[str, str]:
        """What reports show for each secret: the environment variable that held it, else
        MASK (a value given as an option is never shown). Every header value is a secret
        (a gateway key) but those of `shown_headers`."""
        found = secrets_of(self.headers.items(), self.shown_headers)
        for value, name in ((self.token if self.token_known else None, "token"),
                            (self.other_token, "other_token")):
            if value:
                found[value] = f"${self.variables[name]}" if name in self.variables else MASK
        return found


@dataclass
class Fixtures:
    """What the services the suite creates look like: a template with placeholders (the
    default, or `--service-body`), the flavor, how long a deploy may take."""

    template: Any = field(default_factory=lambda: TEMPLATE)
    flavor_id: str | None = None  # None: the first of GET /flavors
    certificate_domains: tuple[str, ...] = ()  # empty: the template's (certificate_probes)
    deploy_timeout: float = 1200.0  # seconds of contract time (times the time scale)
    keep_services: bool = False


@dataclass
class Target:
    base_url: str
    identity: Identity = field(default_factory=Identity)
    fixtures: Fixtures = field(default_factory=Fixtures)
    observer: Observer | None = None
    bounds: Bounds = field(default_factory=Bounds)
    time_scale: float | None = None  # the user's; else what our mock reports; else 1
    gate: Gate = field(init=False)  # every request to the target passes it
    introspection: bool = field(init=False, default=False)
    token_header: str = field(init=False, default="")  # the contract's, set by the Context
    edge_url: str | None = field(init=False, default=None)  # where our mock's edge listens
    any_token: bool = field(init=False, default=False)  # our mock, started without --tokens
    trust_edge: bool = False  # an edge the target names on another host may be probed
    run_id: str = field(init=False, default_factory=lambda: uuid.uuid4().hex[:8])
    created: list[tuple[str, str]] = field(init=False, default_factory=list)
    # schemathesis' creates (project as its path segment, service), deleted at once
    created_by_fuzz: list[tuple[str, str]] = field(init=False, default_factory=list)
    gone: list[tuple[str, str]] = field(init=False, default_factory=list)  # seen 404 at the end
    left: list[str] = field(init=False, default_factory=list)  # the others, each with why
    still: list[tuple[str, str, str]] = field(init=False, default_factory=list)  # and why
    # a wait for deploys ran out: no later one waits (one deploy timeout for the whole run)
    deploy_wait_over: bool = field(init=False, default=False)
    _serial: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.gate = Gate(self.base_url, self.bounds, self.identity.headers)

    @property
    def client(self) -> httpx.Client:
        """The gate's client (the run records what it receives)."""
        return self.gate.client

    @property
    def created_count(self) -> int:
        """Every service the run created: the suite's own and schemathesis'."""
        return len(self.created) + len(self.created_by_fuzz)

    @property
    def removed(self) -> int:
        """The services this run created that were seen gone (404) at its end."""
        return len(self.gone)

    @property
    def scale(self) -> float:
        return self.time_scale or 1.0

    def project(self) -> str:
        return self.identity.project_id or f"conform-{uuid.uuid4().hex[:12]}"

    def send(self, method: str, path: str, *, token: str | None = OURS,
             headers: dict[str, str] | None = None, **kwargs: Any) -> Answer:
        """A request with our token, another one (`token="..."`) or none (`token=None`),
        and the user's headers, through the gate. `path` follows the base URL; a URL the
        target wrote is sent whole once `follow` resolved it."""
        sent = dict(headers or {})
        if token is not None:
            sent[self.token_header] = self.identity.token if token is OURS else token
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        request = self.client.build_request(method, url, headers=sent, **kwargs)
        return Answer(self.gate.send(request), curl(request, self.identity.secrets()))

    def follow(self, written: str, answer: Answer) -> str:
        """A URL the target wrote in `answer` (a Location, a link), resolved against the
        request it answered; Breach when it leaves the base URL's origin."""
        return self.gate.resolve(written, answer.response.request.url)

    def service_body(self, label: str = "conformance", **members: Any) -> tuple[dict[str, Any],
                                                                               str]:
        """A create body of its own (the template with unique domain, origin and name) and
        its domain. `members` replace the template's, for the edge checks' settings."""
        self._serial += 1
        values = placeholders(f"{label}-{self.run_id}-{self._serial}",
                              self.fixtures.flavor_id or "cdn")
        return {**fill(self.fixtures.template, values), **members}, values["{domain}"]

    def create_service(self, project: str, body: dict[str, Any]) -> tuple[str | None, Answer]:
        """The new service's id (None when the target created none) and the exchange. Every
        service created is remembered, to be removed at the end of the run."""
        created = self.send("POST", f"/v1.0/{project}/services", json=body)
        return self.remember(project, created), created

    def remember(self, project: str, created: Answer) -> str | None:
        """The id of the service a createService exchange created (remembered, to be removed
        at the end of the run), or None when it created none."""
        service = created_id(created.status, created.response.headers.get("Location"))
        if service is not None:
            self.created.append((project, service))
        return service

    def remove_created(self, progress: Callable[[str], None]) -> list[str]:
        """DELETE every service this run created, then read each until it answers 404,
        all within one --deploy-timeout: `gone` holds those seen gone (an accepted DELETE
        is not a removal: a deletion may take minutes). What is still there, each with why
        (also kept in `left`, and in `still` as project, service and why)."""
        pending = []
        for project, service in [*self.created, *self.created_by_fuzz]:
            try:
                answer = self.send("DELETE", f"/v1.0/{project}/services/{service}")
            except Breach as error:
                self._leave(project, service, str(error))
                continue
            except httpx.HTTPError as error:
                self._leave(project, service, type(error).__name__)
                continue
            if answer.status in (200, 202, 204, 404):  # 404: gone already, or being deleted
                pending.append((project, service))
            else:
                self._leave(project, service, answer.describe())
        limit = self.fixtures.deploy_timeout * self.scale
        for seen in poll(self.send, pending, lambda a: a.status == 404, limit,
                         "be deleted", progress, self.scale):
            if seen.last.status == 404:
                self.gone.append((seen.project, seen.service))
            else:
                self._leave(seen.project, seen.service, "deletion accepted, still present "
                            f"after {seen.reads[-1][0]:.0f} s ({seen.history()})")
        if self.created_count:
            progress(f"removed {self.removed} of the {self.created_count} services this run "
                     "created")
        return self.left

    def _leave(self, project: str, service: str, why: str) -> None:
        self.still.append((project, service, why))
        self.left.append(f"{service} (project {project}): {why}")

    def account(self) -> Account:
        """What the run left behind, for the reports: every service it created, those seen
        gone, and those still there (all of them with --keep-services), each of the last
        with a curl line that deletes it."""
        kept = self.fixtures.keep_services
        still = [(p, s, "kept (--keep-services)") for p, s in
                 [*self.created, *self.created_by_fuzz]] if kept else self.still
        return Account([*self.created, *self.created_by_fuzz], list(self.gone),
                       [Left(p, s, why, self.delete_line(p, s)) for p, s, why in still], kept)

    def delete_line(self, project: str, service: str) -> str:
        """The curl line that deletes one service, with the run's token and headers (the
        token shown as the reports show it)."""
        request = self.client.build_request(
            "DELETE", f"{self.base_url}/v1.0/{project}/services/{service}",
            headers={self.token_header or "X-Auth-Token": self.identity.token})
        return curl(request, self.identity.secrets())

    def jobs(self, project: str, service_id: str, *, awaited: Answer | None = None
             ) -> list[dict[str, Any]] | None:
        """The target's record of purge jobs, through /__mock__/jobs or the observer (None
        when neither). After an accepted purge (`awaited`), read again until a job shows,
        for up to JOBS_SETTLE_SECONDS: a target may record its jobs a moment after its 202
        (a queue, a replica), and reading once would blame S1 for the lag."""
        settle = time.monotonic() + JOBS_SETTLE_SECONDS
        while True:
            jobs = self._jobs(project, service_id)
            if jobs or jobs is None or awaited is None or not awaited.accepted or \
                    time.monotonic() >= settle:
                return jobs
            time.sleep(JOBS_READ_EVERY)

    def _jobs(self, project: str, service_id: str) -> list[dict[str, Any]] | None:
        if self.observer is not None:
            return list(self.observer(project, service_id))
        if self.introspection:
            body = self.send("GET", "/__mock__/jobs", params={"service_id": service_id}).json()
            jobs = body.get("jobs") if isinstance(body, dict) else None
            if isinstance(jobs, list):  # else the target's jobs cannot be read: not observed
                return [job for job in jobs if isinstance(job, dict)]
        return None


@dataclass(frozen=True)
class Left:
    """A service the run created and did not see gone, why, and the command that deletes
    it."""

    project: str
    service: str
    why: str
    delete: str


@dataclass(frozen=True)
class Account:
    """The services a run created (project, id), those seen gone (a 404 after the DELETE),
    and those left (still present, or kept with --keep-services)."""

    created: list[tuple[str, str]] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)
    left: list[Left] = field(default_factory=list)
    kept: bool = False

    def line(self) -> str:
        """`services: 21 created, 21 removed`, as the terminal says it."""
        return f"services: {len(self.created)} created, " + (
            "kept (--keep-services)" if self.kept else f"{len(self.removed)} removed"
            + (f", {len(self.left)} left" if self.left else ""))

    def as_json(self) -> dict[str, Any]:
        return {"created": [{"project": p, "id": s} for p, s in self.created],
                "removed": [{"project": p, "id": s} for p, s in self.removed],
                "left": [{"project": x.project, "id": x.service, "why": x.why,
                          "delete": x.delete} for x in self.left],
                "kept": self.kept}


@dataclass
class Seen:
    """What reading one service again and again showed: each read's answer, with the
    seconds since the wait began."""

    project: str
    service: str
    reads: list[tuple[float, Answer]] = field(default_factory=list)

    @property
    def last(self) -> Answer:
        return self.reads[-1][1]

    def history(self) -> str:
        """The statuses over time, a run of equal ones said once: `create_in_progress from
        0 to 60 s (13 reads)`; a read that is not a service's says its HTTP status."""
        runs: list[tuple[str, float, float, int]] = []
        for at, answer in self.reads:
            what = service_status(answer) or f"HTTP {answer.status}"
            if runs and runs[-1][0] == what:
                runs[-1] = (what, runs[-1][1], at, runs[-1][3] + 1)
            else:
                runs.append((what, at, at, 1))
        return ", then ".join(f"{what} at {start:.1f} s" if count == 1 else
                              f"{what} from {start:.1f} to {end:.1f} s ({count} reads)"
                              for what, start, end, count in runs)


def poll(send: Callable[..., Answer], services: list[tuple[str, str]],
         until: Callable[[Answer], bool], limit: float, what: str,
         progress: Callable[[str], None], scale: float = 1.0) -> list[Seen]:
    """GET each service until `until` holds for its answer or `limit` seconds pass: one
    wait for them all, however many (a target whose services never get there is judged in
    one timeout, not one per service). A service is given up on only after a read that
    began past the limit (a round of many slow reads may outlast a short limit: its first
    reads then came before the service could be ready). Progress every 30 s (four times in
    a shorter wait) says how long is left of it."""
    started = told = time.monotonic()
    seen = {key: Seen(*key) for key in services}
    waiting = list(seen)
    pause = min(5.0, max(0.05, 10 * scale))
    while waiting:
        late = time.monotonic() - started > limit  # this round is the last
        for key in list(waiting):
            answer = send("GET", f"/v1.0/{key[0]}/services/{key[1]}")
            seen[key].reads.append((time.monotonic() - started, answer))
            if until(answer):
                waiting.remove(key)
        now = time.monotonic()
        if not waiting or late:
            break
        if now - told > min(30.0, limit / 4):
            told = now
            statuses = collections.Counter(service_status(seen[key].last) or
                                           f"HTTP {seen[key].last.status}" for key in waiting)
            progress(f"  waiting for {len(waiting)} service(s) to {what} ("
                     + ", ".join(f"{n} {s}" for s, n in statuses.items())
                     + f"): {limit - (now - started):.0f} s left of {limit:.0f}")
        time.sleep(pause)
    return list(seen.values())


def service_status(answer: Answer) -> str | None:
    """The `status` of a service a GET answered, or None."""
    body = answer.json()
    found = body.get("status") if answer.status == 200 and isinstance(body, dict) else None
    return found if isinstance(found, str) else None


def created_id(status: int, location: str | None) -> str | None:
    """The id of the service a createService answer created: the last segment of its
    Location on a 202 (the docs' example omits the project segment), else None."""
    return location.rstrip("/").rsplit("/", 1)[-1] if status == 202 and location else None


def load_template(path: Path, variants: list[str]) -> Any:
    """A `--service-body` template, checked: JSON, an object, and once its placeholders
    are filled, a valid create body under every variant asked for; else InputError naming
    the file (and line, or the member that is wrong)."""
    try:
        template = json.loads(read_text(path, "a service body"))
    except json.JSONDecodeError as error:
        raise InputError(f"not JSON: {error.msg}", path, error.lineno) from None
    if not isinstance(template, dict):
        raise InputError("a service body is a JSON object", path)
    sample = fill(template, placeholders("sample", "cdn"))
    for variant in variants:  # the compiled check the mock and `validate` refuse bodies with
        problems: list[Any] = []
        generated_server(variant, "checks").check_create_service_body(sample, problems)
        if problems:
            raise InputError(f"not a valid create body under {variant}: "
                             + "; ".join(problem.text() for problem in problems), path)
    return template


def load_observer(spec: str) -> Observer:
    """`package.module:function` (a module of the working directory too) or
    `path/to/file.py:function` → the callable, or InputError naming what is wrong."""
    module_name, _, name = spec.rpartition(":")
    if not module_name or not name:
        raise InputError(f"--observer {spec!r}: expected module:function or "
                         "path/to/file.py:function")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_file():
                raise InputError(f"--observer {spec!r}: {path} is not a file")
            loader = importlib.util.spec_from_file_location(path.stem, path)
            if loader is None or loader.loader is None:
                raise InputError(f"--observer {spec!r}: cannot load {path}")
            module = importlib.util.module_from_spec(loader)
            loader.loader.exec_module(module)
        else:
            if "" not in sys.path and os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_name)
    except InputError:
        raise
    except Exception as error:  # the user's code: any failure to import is bad input
        raise InputError(f"--observer {spec!r}: cannot import {module_name} "
                         f"({type(error).__name__}: {error})") from None
    observer = getattr(module, name, None)
    if not callable(observer):
        raise InputError(f"--observer {spec!r}: {module_name} has no callable {name}")
    return observer  # type: ignore[no-any-return]


@dataclass
class EdgeTarget:
    """The CDN edge under test, and the origin the suite put behind it.

    `origin_host` and `origin_port` are what the services the checks create name as their
    origin: the address the CDN reaches the suite's origin at (`--origin-url`), which may
    differ from where it listens (a port mapping, a tunnel)."""

    url: str
    origin: Origin
    origin_host: str
    origin_port: int
    time_scale: float  # the documented durations are waited for times this
    origin_ssl: bool = False  # the CDN reaches the origin over HTTPS
    bounds: Bounds = field(default_factory=Bounds)
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        self.client = bounded_client(self.bounds)  # no credentials: none go to the edge

    def get(self, path: str, host: str, headers: dict[str, str] | None = None) -> Answer:
        """GET `path` from the edge, for the domain `host`, within the bounds."""
        request = self.client.build_request("GET", self.url + path,
                                            headers={"Host": host, **(headers or {})})
        return Answer(exchange(self.client, request, self.bounds), curl(request, {}))

    def origin_member(self, **extra: Any) -> dict[str, Any]:
        """One entry of a service's `origins`, naming the suite's origin."""
        return {"origin": self.origin_host, "port": self.origin_port,
                "ssl": self.origin_ssl, **extra}
