"""The implementation under test, as the checks talk to it."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from contract.conform.origin import Origin
from contract.conform.outcome import curl
from contract.errors import InputError

# observer(project_id, service_id) -> the purge jobs the target recorded, each with `hard`
Observer = Callable[[str, str], list[dict[str, Any]]]
SERVICE_BODY = {"name": "conformance-check", "domains": [{"domain": "conformance.example"}],
                "origins": [{"origin": "origin.conformance.example", "rules": []}],
                "log_delivery": {"enabled": False}, "flavor_id": "cdn"}


OURS = "\x00our token"  # marker: send the token the user gave


@dataclass
class Exchange:
    response: httpx.Response
    curl: str

    @property
    def status(self) -> int:
        return self.response.status_code


@dataclass
class Target:
    base_url: str
    token: str = "conformance-token"
    token_known: bool = False  # the user told us a valid token: an invalid one can be probed
    project_id: str | None = None  # fixed project of a real account; else one per check
    observer: Observer | None = None
    timeout: float = 10.0
    client: httpx.Client = field(init=False)
    introspection: bool = field(init=False, default=False)
    token_header: str = field(init=False, default="")  # the contract's, set by the Context
    time_scale: float = field(init=False, default=1.0)
    edge_url: str | None = field(init=False, default=None)  # where our mock's edge listens

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.client = httpx.Client(timeout=self.timeout)

    def preflight(self) -> None:
        """Bad targets are bad input: unreachable, or not speaking HTTP → InputError."""
        try:
            self.client.get(self.base_url + "/")
        except httpx.HTTPError as error:
            raise InputError(f"--base-url {self.base_url}: no HTTP answer "
                             f"({type(error).__name__}: {error})") from None
        try:
            health = self.client.get(self.base_url + "/__mock__/health")
            if health.status_code == 200 and "variant" in health.json():
                self.introspection = True
                self.time_scale = float(health.json().get("time_scale", 1.0))
                self.edge_url = health.json().get("edge")
        except (httpx.HTTPError, ValueError):
            pass

    def project(self) -> str:
        return self.project_id or f"conform-{uuid.uuid4().hex[:12]}"

    def send(self, method: str, path: str, *, token: str | None = OURS,
             headers: dict[str, str] | None = None, **kwargs: Any) -> Exchange:
        """A request with our token, another one (`token="..."`) or none (`token=None`)."""
        sent = dict(headers or {})
        if token is not None:
            sent[self.token_header] = self.token if token is OURS else token
        request = self.client.build_request(method, self.base_url + path, headers=sent,
                                            **kwargs)
        return Exchange(self.client.send(request), curl(request))

    def create_service(self, project: str) -> str | None:
        """A new service's id, or None when the target would not create one."""
        created = self.send("POST", f"/v1.0/{project}/services", json=SERVICE_BODY)
        location = created.response.headers.get("Location", "")
        return location.rstrip("/").rsplit("/", 1)[-1] if created.status == 202 and location \
            else None

    def jobs(self, project: str, service_id: str) -> list[dict[str, Any]] | None:
        """The target's record of purge jobs, through /__mock__/jobs or the observer."""
        if self.observer is not None:
            return list(self.observer(project, service_id))
        if self.introspection:
            answer = self.client.get(self.base_url + "/__mock__/jobs",
                                     params={"service_id": service_id})
            return list(answer.json()["jobs"])
        return None


def load_observer(spec: str) -> Observer:
    """`package.module:function` → the callable, or InputError naming what is wrong."""
    module_name, _, name = spec.partition(":")
    if not module_name or not name:
        raise InputError(f"--observer {spec!r}: expected module:function")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise InputError(f"--observer {spec!r}: cannot import {module_name} ({error})") \
            from None
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
    timeout: float = 10.0
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        self.client = httpx.Client(timeout=self.timeout)

    def get(self, path: str, host: str, headers: dict[str, str] | None = None) -> Exchange:
        """GET `path` from the edge, for the domain `host`."""
        request = self.client.build_request("GET", self.url + path,
                                            headers={"Host": host, **(headers or {})})
        return Exchange(self.client.send(request), curl(request))

    def origin_member(self, **extra: Any) -> dict[str, Any]:
        """One entry of a service's `origins`, naming the suite's origin."""
        return {"origin": self.origin_host, "port": self.origin_port,
                "ssl": self.origin_ssl, **extra}
