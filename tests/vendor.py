"""A vendor's implementation of the Rackspace CDN API v1.0, written from the docs alone.

It shares no code with our mock, our spec or our validators: the standard library's HTTP
server, and the rules as the reference pages and the WADL's parameter tables state them. It
is what a third party could ship, so the conformance suite is proven against a server that
did not learn from it. `Behaviour` switches on what the docs allow but our mock does not do
(a slow deploy, an asynchronous delete, refusing root domains, ...): under every switch
the suite must still find it conforming.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

MAX_URI = 320  # limits page: longer request URIs get 414
MAX_BODY = 8 * 1024  # limits page: larger bodies get 413
PAGE = 20  # limits page: services per page, and the maximum `limit`
PURGES_PER_MINUTE = 20  # Purge a cached asset (2016-08)
MAX_TTL = 365 * 24 * 3600
FLAVOR = {"id": "cdn", "providers": [{"provider": "akamai", "links": [
    {"href": "http://www.akamai.com", "rel": "provider_url"}]}],
    "links": [{"href": "https://cdn.vendor.example/v1.0/flavors/cdn", "rel": "self"}]}


@dataclass(frozen=True)
class Behaviour:
    """What the docs allow and a vendor may choose. Durations are the real ones, multiplied
    by `time_scale` (so a test can run a 90 s deploy in 0.9 s)."""

    time_scale: float = 0.01
    deploy_seconds: float = 5.0
    delete_seconds: float = 0.0  # > 0: DELETE leaves the service `delete_in_progress`
    refuse_root_domains: bool = False  # "example.com is a root domain; add a subdomain"
    refuse_taken_domains: bool = False  # a domain another live service holds (S37)
    refuse_purge_before_deployed: bool = False  # 400 while the service is not deployed
    ignore_purge_body: bool = False  # a purge with a body is served as if it had none
    retry_after_date: bool = False  # Retry-After as an HTTP-date instead of seconds
    calendar_minute: bool = False  # the 20 purges are counted per calendar minute (S11 allows
    # both readings), not per minute from the first one
    log_delivery_required: bool = False  # a create without it refused, as the parameter table
    # marks it (S38 reads it optional: a warning, not a failure)
    accept_wildcard_purge: bool = False  # a purge (hard=true) with a * taken (202), its url
    # read as one file's by the edge (S12 allows it; refusing it is S21's interpretation)
    tokens: frozenset[str] = frozenset()  # empty: any non-empty token is valid
    required_header: tuple[str, str] | None = None  # a gateway's key: 401 without it
    defects: frozenset[str] = frozenset()  # realistic vendor defects (DEFECTS), for proofs
    # The upstream open-source server's ways (issue 32); a finding only where a statement
    # says otherwise (its error body breaks S16):
    plain_errors: bool = False  # error bodies are {"message": "text"}
    uuid_markers: bool = False  # a `marker` that is not a UUID: 400
    name_limit: int = 0  # > 0: a longer `name` gets 400 "name is too long", judged before
    # the body's size (a body over 8 KB padded in `name` shows the name rule, not S19's)
    deployed_after_delete: float = 0.0  # a deleted service still reads `deployed` this long
    # (the status lags the accepted DELETE), then delete_in_progress for delete_seconds
    no_cached_report: bool = False  # the cached-asset report answers 405, for any service
    patch_only_when_settled: bool = False  # PATCH refused (400) while an update or the
    # deploy is in progress
    jobs_lag: float = 0.0  # a purge's job shows in the vendor's record this long after its
    # 202 (a queue between the API and the job log); the purge is carried out all the same
    undeployed_after_invalidation: float = 0.0  # > 0: an accepted invalidation (hard=false)
    # leaves the service update_in_progress this long, and a purge on it meanwhile gets 400
    # "Service ... is not deployed." (the upstream server's background purge, issue 48)
    refused_domain_suffix: str = ""  # a certificate for a domain ending so gets 400 "must be
    # a valid non-root domain" (the upstream server looks up a real DNS SOA, issue 48)


SWITCHES = ("refuse_root_domains", "refuse_taken_domains", "refuse_purge_before_deployed",
            "ignore_purge_body", "retry_after_date", "calendar_minute",
            "log_delivery_required", "accept_wildcard_purge", "plain_errors", "uuid_markers",
            "no_cached_report", "patch_only_when_settled")  # Behaviour's flags

DURATIONS = ("deploy_seconds", "delete_seconds", "deployed_after_delete",
             "jobs_lag", "undeployed_after_invalidation")  # in contract seconds

DEFECTS = {  # what a vendor could ship and the docs forbid, each with the statement it breaks
    "status_active": "a deployed service reports status `active` (S34)",
    "never_deploys": "a new service stays create_in_progress for good (S34)",
    "retry_after_ms": "the 429's Retry-After is in milliseconds (S35)",
    "retry_after_missing": "the 429 carries no Retry-After (S24, an INTERPRETATION: a "
                           "warning; not S35, about a Retry-After present)",
    "error_500_on_bad_hard": "a `hard` that is not a boolean gets a 500 (S17, S36)",
    "tenancy_ignored_on_get": "GET answers another project's service (S18)",
    "limit_per_service": "the 20 purges a minute are counted per service, not per project "
                         "(S11)",
    "short_window": "the rate-limit window lasts 30 s, not the minute (S11)",
    "limit_queued": "the purge past the limit is held until a new window begins, then taken "
                    "(a limiter that queues, as nginx's limit_req without nodelay), not "
                    "refused (S11)",
    "deleted_still_readable": "a deleted service still answers GET, as deployed: its "
                              "deletion never completes (S34)",
    "deleted_still_listed": "a deleted service is still listed (S34)",
    "marker_repeated": "the page after `marker` starts with the marker's service (S33)",
    "page_overflow": "a page holds `limit` + 1 services (S33)",
    "patch_any_op": "PATCH takes any `op`: copy, move, test, and unknown ones are ignored "
                    "(the spec's add/remove/replace)",
    "error_500_on_bad_limit": "a `limit` that is not a number gets a 500 (S36)",
    "uri_limit_ignored": "a request URI over 320 characters is served, not refused with 414 "
                         "(S19)",
    "purge_without_url_taken": "a purge (hard=true) with neither `url` nor all=true is taken, "
                               "as a purge of everything (S22, an INTERPRETATION: a warning)",
    "all_with_url_taken": "all=true together with a `url` is taken, the url ignored (S25)",
    "service_without_links": "a service is read without its `links` (S39)",
    "location_without_project": "the create's Location has no project (as the docs' samples "
                                "show) and a GET of it is a 404 (S40, an INTERPRETATION: a "
                                "warning)",
    "purge_dropped": "a purge is answered 202 but never queued: no job, nothing purged (S1)",
    "purge_200": "a purge is answered 200 OK, not 202 Accepted (S2)",
    "purge_location_of_request": "the purge's Location is the request's own URL (.../assets?"
                                 "url=...), not the service's (S3, a SHOULD)",
    "purge_body": "the purge's 202 carries a JSON body describing the job (S4)",
    "hard_default_2015": "a purge without `hard` is an invalidation: the 2015-08 default "
                         "(false) served under 2016-08 (S7b)",
    "token_only_when_sent": "X-Auth-Token is checked only when the header is sent: a request "
                            "without it is served (S10)",
    "non_ascii_url_taken": "a purge url with non-ASCII characters is taken (S23, an "
                           "INTERPRETATION: a warning)",
}
CERTIFICATE_DEFECTS = {  # the same, for the SSL certificates (2016-08): proven on their check
    "certificate_flavor_unchecked": "a flavor_id of 2 characters is taken (S41)",
    "certificate_custom_taken": "cert_type `custom` is taken, though \"not yet implemented\" "
                                "(S42)",
    "certificate_replaced": "a second certificate for a domain replaces the first (S43)",
    "certificate_delete_body": "the delete answers with a body (S44)",
    "certificate_unknown_delete_202": "the delete of a domain with no certificate is a 202 "
                                      "(S45)",
    "certificate_body_project": "the certificate is filed under the body's project_id (S46)",
}


class Refusal(Exception):
    """A request the server answers with an error status and the documented body."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass
class Service:
    id: str
    project: str
    body: dict[str, Any]
    created: float
    deleted: float | None = None  # when the delete was accepted
    updated: float | None = None
    jobs: list[dict[str, Any]] = field(default_factory=list)
    busy_until: float = 0.0  # out of `deployed` after an invalidation until then


class Vendor:
    """The server's state and rules; `serve()` puts it on a loopback port."""

    def __init__(self, behaviour: Behaviour | None = None):
        self.behaviour = behaviour or Behaviour()
        self.services: dict[str, Service] = {}
        self.certificates: dict[tuple[str, str], dict[str, Any]] = {}  # (project, domain)
        self.windows: dict[str, tuple[float, int]] = {}  # project → (window start, count)
        self.lock = threading.Lock()
        self.dead = False  # a crashed server: every connection closes without an answer
        self.projects: set[str] = set()  # every project a request named

    # -- the lifecycle, read from the clock ------------------------------------------------
    def status(self, service: Service, now: float) -> str | None:
        """The service's status now, or None once it is gone."""
        scale = self.behaviour.time_scale
        if service.deleted is not None and \
                "deleted_still_readable" not in self.behaviour.defects:
            lag = self.behaviour.deployed_after_delete * scale
            return "deployed" if now < service.deleted + lag else "delete_in_progress" \
                if now < service.deleted + lag + self.behaviour.delete_seconds * scale \
                else None
        if "never_deploys" in self.behaviour.defects:
            return "create_in_progress"
        if now < service.busy_until:
            return "update_in_progress"
        since = service.updated if service.updated is not None else service.created
        return "deployed" if now >= since + self.behaviour.deploy_seconds * scale else \
            ("update_in_progress" if service.updated is not None else "create_in_progress")

    def live(self, project: str, service_id: str) -> Service:
        service = self.services.get(service_id)
        if service is None or service.project != project or \
                self.status(service, time.time()) is None:
            raise Refusal(404, f"service {service_id} was not found")
        return service

    def jobs(self, project: str, service_id: str) -> list[dict[str, Any]]:
        """The purge jobs of a service recorded by now, for the suite's `--observer`."""
        shown = time.time() - self.behaviour.jobs_lag * self.behaviour.time_scale
        with self.lock:
            service = self.services.get(service_id)
            return [job for job in service.jobs if job["accepted_at"] <= shown] \
                if service and service.project == project else []

    def _jobs(self, service_id: str) -> list[dict[str, Any]]:
        service = self.services.get(service_id)
        return list(service.jobs) if service else []

    def count_all(self) -> int:
        """Services that exist, in any project (deleted ones until their deletion ends)."""
        now = time.time()
        with self.lock:
            return sum(self.status(s, now) is not None for s in self.services.values())

    # -- requests ---------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes,
               base: str) -> tuple[int, dict[str, str], bytes]:
        try:
            with self.lock:
                status, extra, payload = self._route(method, target, headers, body, base)
        except Refusal as refusal:
            status, extra = refusal.status, refusal.headers
            payload = {"message": refusal.message} if self.behaviour.plain_errors else \
                {"message": {"errors": [{"message": refusal.message}]}}
        except Exception as error:  # what a web framework does with a bug: a bare 500
            return 500, {"Content-Type": "text/plain"}, \
                f"Internal Server Error ({type(error).__name__})".encode()
        if payload is None:
            return status, extra, b""
        return status, {"Content-Type": "application/json", **extra}, \
            json.dumps(payload).encode()

    def _route(self, method: str, target: str, headers: dict[str, str], body: bytes,
               base: str) -> tuple[int, dict[str, str], Any]:
        if len(target) > MAX_URI and "uri_limit_ignored" not in self.behaviour.defects:
            raise Refusal(414, f"the request URI is longer than {MAX_URI} characters")
        if self.behaviour.required_header is not None:
            name, value = self.behaviour.required_header
            if headers.get(name.lower(), "").strip() != value:
                raise Refusal(401, f"the {name} header is missing or wrong")
        split = urlsplit(target)
        if split.path.startswith("/vendor/jobs/"):  # the vendor's own admin read
            return 200, {}, self._jobs(split.path.rsplit("/", 1)[-1])
        if "x-auth-token" in headers or "token_only_when_sent" not in self.behaviour.defects:
            self._check_token(headers.get("x-auth-token", "").strip())
        if self.behaviour.name_limit:
            self._check_name(body)
        if len(body) > MAX_BODY:
            raise Refusal(413, f"the request body is larger than {MAX_BODY} bytes")
        segments = split.path.split("/")
        if len(segments) < 3 or segments[0] or segments[1] != "v1.0":
            raise Refusal(404, "no such resource")
        try:
            rest = [unquote(s, errors="strict") for s in segments[2:]]
        except UnicodeDecodeError:
            raise Refusal(400, "the path is not UTF-8 once percent-decoded") from None
        if "x-project-id" in headers:
            project = headers["x-project-id"].strip()
        else:
            project, rest = rest[0], rest[1:]
        if not project:
            raise Refusal(400, "the project id is empty")
        self.projects.add(project)
        query = _query(split.query)
        route = (method, *("{id}" if i == 1 and len(rest) > 1 else part
                           for i, part in enumerate(rest)))
        if route in (("GET", ""), ("GET",)):
            return 200, {}, {"resources": {"rel/services": {"href-template":
                                                            "/services{?marker,limit}"}}}
        if route == ("GET", "ping"):
            return 204, {}, None
        if route == ("GET", "flavors"):
            return 200, {}, {"flavors": [FLAVOR]}
        if route == ("GET", "flavors", "{id}"):
            if rest[1] != FLAVOR["id"]:
                raise Refusal(404, f"flavor {rest[1]} was not found")
            return 200, {}, FLAVOR
        if route == ("GET", "services"):
            return self._list(project, query, base)
        if route == ("POST", "services"):
            return self._create(project, _json(headers, body), base)
        if route == ("POST", "ssl_certificate"):
            return self._certify(project, _json(headers, body))
        if len(rest) == 2 and route[:2] == ("DELETE", "ssl_certificate"):
            return self._uncertify(project, rest[1], body)
        if len(rest) >= 2 and rest[0] == "services":
            service_id = rest[1]
            if not _is_uuid(service_id):
                raise Refusal(404, f"service {service_id} was not found")
            operation = (method, *rest[2:])
            handlers = {("GET",): self._get, ("PATCH",): self._patch,
                        ("DELETE",): self._delete, ("GET", "assets"): self._cached,
                        ("DELETE", "assets"): self._purge, ("GET", "analytics"): self._analytics}
            if operation in handlers:
                return handlers[operation](project, service_id, query, headers, body, base)
        raise Refusal(404, "no such resource")

    def _check_token(self, token: str) -> None:
        if not token or (self.behaviour.tokens and token not in self.behaviour.tokens):
            raise Refusal(401, "a valid X-Auth-Token is required")

    def _check_name(self, body: bytes) -> None:
        """The name limit, before anything else is asked of the body."""
        try:
            name = json.loads(body).get("name") if body else None
        except (ValueError, AttributeError, RecursionError):
            return
        if isinstance(name, str) and len(name) > self.behaviour.name_limit:
            raise Refusal(400, "name is too long")

    def _list(self, project: str, query: dict[str, str], base: str
              ) -> tuple[int, dict[str, str], Any]:
        limit = PAGE
        if "limit" in query:
            if "error_500_on_bad_limit" in self.behaviour.defects:
                int(query["limit"])  # a ValueError: the 500 of an unhandled exception
            if not re.fullmatch(r"[0-9]{1,4}", query["limit"]) or \
                    not 1 <= int(query["limit"]) <= PAGE:
                raise Refusal(400, f"limit must be an integer from 1 to {PAGE}")
            limit = int(query["limit"])
        marker = query.get("marker")
        if marker is not None and not marker:
            raise Refusal(400, "marker must not be empty")
        if marker is not None and self.behaviour.uuid_markers and not _is_uuid(marker):
            raise Refusal(400, "Marker must be a valid UUID")
        now = time.time()
        listed = "deleted_still_listed" in self.behaviour.defects
        mine = sorted((s for s in self.services.values() if s.project == project and
                       (listed or self.status(s, now) is not None)), key=lambda s: s.id)
        repeat = "marker_repeated" in self.behaviour.defects
        after = [s for s in mine if marker is None or s.id > marker or
                 (repeat and s.id == marker)]
        page = after[:limit + ("page_overflow" in self.behaviour.defects)]
        links = []
        if len(after) > len(page):
            links.append({"rel": "next", "href": f"{base}/v1.0/{quote(project, safe='')}/services?"
                          f"marker={page[-1].id}&limit={limit}"})
        return 200, {}, {"services": [self._view(s, now, base) for s in page], "links": links}

    def _view(self, service: Service, now: float, base: str) -> dict[str, Any]:
        domain = service.body["domains"][0]["domain"]
        status = self.status(service, now) or "deployed"  # a deleted one a defect still lists
        if status == "deployed" and "status_active" in self.behaviour.defects:
            status = "active"
        view = {"id": service.id, "project_id": service.project, **service.body,
                "status": status, "errors": [],
                "links": [{"rel": "self", "href": _url(base, service.project, service.id)},
                          {"rel": "access_url", "href": f"{domain}.cdn.vendor.example"}]}
        if "service_without_links" in self.behaviour.defects:
            del view["links"]
        return view

    def _create(self, project: str, body: Any, base: str) -> tuple[int, dict[str, str], Any]:
        if self.behaviour.log_delivery_required and isinstance(body, dict) \
                and "log_delivery" not in body:
            raise Refusal(400, "log_delivery is required")
        service_body = _service_body(body)
        self._check_domains(service_body, None)
        service = Service(str(uuid.uuid4()), project, service_body, time.time())
        self.services[service.id] = service
        if "location_without_project" in self.behaviour.defects:
            return 202, {"Location": f"{base}/v1.0/services/{service.id}"}, None
        return 202, {"Location": _url(base, project, service.id)}, None

    def _check_domains(self, body: dict[str, Any], owner: str | None) -> None:
        names = [d["domain"].lower() for d in body["domains"]]
        for name in names:
            if self.behaviour.refuse_root_domains and name.count(".") < 2:
                raise Refusal(400, f"{name} is a root domain; please add a subdomain "
                              "(e.g. www.)")
        if self.behaviour.refuse_taken_domains:
            now = time.time()
            for other in self.services.values():
                if other.id == owner or self.status(other, now) is None:
                    continue
                taken = {d["domain"].lower() for d in other.body["domains"]} & set(names)
                if taken:
                    raise Refusal(400, f"the domain {sorted(taken)[0]} is already taken")

    def _get(self, project: str, service_id: str, query: dict[str, str],
             headers: dict[str, str], body: bytes, base: str) -> tuple[int, dict[str, str], Any]:
        service = self.services.get(service_id)
        if "tenancy_ignored_on_get" not in self.behaviour.defects or service is None:
            service = self.live(project, service_id)
        return 200, {}, self._view(service, time.time(), base)

    def _patch(self, project: str, service_id: str, query: dict[str, str],
               headers: dict[str, str], body: bytes, base: str
               ) -> tuple[int, dict[str, str], Any]:
        operations = _json(headers, body, patch=True)
        service = self.live(project, service_id)
        if self.behaviour.patch_only_when_settled and \
                self.status(service, time.time()) not in ("deployed", "failed"):
            raise Refusal(400, "the service is neither deployed nor failed")
        if not isinstance(operations, list):
            raise Refusal(400, "the body must be a JSON Patch: a list of operations")
        document = json.loads(json.dumps(service.body))
        for operation in operations:
            document = _apply(document, operation, "patch_any_op" in self.behaviour.defects)
        changed = _service_body(document)
        self._check_domains(changed, service.id)
        service.body, service.updated = changed, time.time()
        return 202, {"Location": _url(base, project, service.id)}, None

    def _delete(self, project: str, service_id: str, *_: Any
                ) -> tuple[int, dict[str, str], Any]:
        service = self.live(project, service_id)
        if service.deleted is not None:
            raise Refusal(404, f"service {service_id} is being deleted")
        service.deleted = time.time()
        kept = {"deleted_still_readable", "deleted_still_listed"} & self.behaviour.defects
        if self.behaviour.delete_seconds <= 0 and self.behaviour.deployed_after_delete <= 0 \
                and not kept:
            del self.services[service_id]
        return 202, {}, None

    def _cached(self, project: str, service_id: str, query: dict[str, str], *_: Any
                ) -> tuple[int, dict[str, str], Any]:
        if self.behaviour.no_cached_report:
            raise Refusal(405, "Method Not Allowed", {"Allow": "DELETE"})
        url = query.get("url")
        if not url:
            raise Refusal(400, "url is required")
        self.live(project, service_id)
        return 200, {}, {"url": url, "cached": False}

    def _analytics(self, project: str, service_id: str, query: dict[str, str], *_: Any
                   ) -> tuple[int, dict[str, str], Any]:
        if "url" in query and not query["url"]:
            raise Refusal(400, "url must not be empty")
        service = self.live(project, service_id)
        return 200, {}, {"purges": sum(j["hard"] for j in service.jobs),
                         "invalidations": sum(not j["hard"] for j in service.jobs)}

    def _purge(self, project: str, service_id: str, query: dict[str, str],
               headers: dict[str, str], body: bytes, base: str
               ) -> tuple[int, dict[str, str], Any]:
        defects = self.behaviour.defects
        default = "false" if "hard_default_2015" in defects else "true"
        hard = {"true": True, "false": False}.get(query.get("hard", default))
        if hard is None:
            raise Refusal(500 if "error_500_on_bad_hard" in defects else 400,
                          f"hard must be true or false, not {query['hard']!r}")
        every = query.get("all", "false").lower()
        if every not in ("true", "false"):
            raise Refusal(400, "all must be true or false")
        url = query.get("url")
        if url is not None:
            if not url or not url.startswith("/") or \
                    not (url.isascii() or "non_ascii_url_taken" in defects):
                raise Refusal(400, "url must be a relative URL in ASCII, starting with /")
            if every == "true" and "all_with_url_taken" not in defects:
                raise Refusal(400, "all=true cannot be combined with url")
            if hard and "*" in url and not self.behaviour.accept_wildcard_purge:
                raise Refusal(400, "a purge (hard=true) removes one file: wildcards are "
                              "only for invalidations (hard=false)")
        elif hard and every != "true" and \
                "purge_without_url_taken" not in defects:
            raise Refusal(400, "a purge (hard=true) needs the url of one file, or all=true")
        if body and not self.behaviour.ignore_purge_body:
            raise Refusal(400, "This operation does not accept a request body")
        service = self.live(project, service_id)
        now = time.time()
        if self.behaviour.refuse_purge_before_deployed and \
                self.status(service, now) != "deployed":
            raise Refusal(400, "the service is not deployed yet: purge it once it is")
        if now < service.busy_until:
            raise Refusal(400, f"Service {service.id} is not deployed.")
        key = service.id if "limit_per_service" in defects else project
        window = (30 if "short_window" in defects else 60) * \
            self.behaviour.time_scale
        opened = now - now % window if self.behaviour.calendar_minute else now
        start, used = self.windows.get(key, (opened, 0))
        if now - start >= window:
            start, used = opened, 0
        if used >= PURGES_PER_MINUTE and "limit_queued" in defects:
            time.sleep(start + window - now + 0.01)  # held (the lock too), then taken
            now = time.time()
            start, used = now - now % window if self.behaviour.calendar_minute else now, 0
        if used >= PURGES_PER_MINUTE:
            wait = max(1, math.ceil(start + window - now))
            retry = email.utils.formatdate(now + wait, usegmt=True) \
                if self.behaviour.retry_after_date else str(wait * 1000) \
                if "retry_after_ms" in defects else str(wait)
            raise Refusal(429, "more than 20 purges in a minute: wait up to one minute",
                          {} if "retry_after_missing" in defects else
                          {"Retry-After": retry})
        self.windows[key] = (start, used + 1)
        takes = (600 if hard else 60) * self.behaviour.time_scale
        if every == "true":
            url = None  # every asset, whatever url says
        job = {"hard": hard, "url": url or "/*", "accepted_at": now, "done_at": now + takes}
        if "purge_dropped" not in defects:
            service.jobs.append(job)
        if not hard:
            service.busy_until = now + self.behaviour.undeployed_after_invalidation * \
                self.behaviour.time_scale
        location = _url(base, project, service.id)
        if "purge_location_of_request" in defects:
            location += "/assets?" + urlencode(query)
        return (200 if "purge_200" in defects else 202), {"Location": location}, \
            {"job": {**job, "status": "queued"}} if "purge_body" in defects else None


    # -- SSL certificates, as the two pages of 2016-08 describe them -----------------------
    def _certify(self, project: str, body: Any) -> tuple[int, dict[str, str], Any]:
        """Create an SSL certificate: four required strings, `san` only ("`custom` is not
        yet implemented"), one per domain; the request's project owns it."""
        _object(body, "body")
        for name in ("cert_type", "domain_name", "project_id"):
            _string(body, name, 1, None, "", required=True)
        _string(body, "flavor_id", 3 - ("certificate_flavor_unchecked" in
                                        self.behaviour.defects), 256, "", required=True)
        suffix = self.behaviour.refused_domain_suffix
        if suffix and body["domain_name"].lower().endswith(suffix):
            raise Refusal(400, f"{body['domain_name']} must be a valid non-root domain")
        if body["cert_type"] not in ("san", "custom"):
            raise Refusal(400, "cert_type must be san or custom")
        defects = self.behaviour.defects
        if body["cert_type"] == "custom" and "certificate_custom_taken" not in defects:
            raise Refusal(400, "cert_type custom is not yet implemented")
        owner = body["project_id"] if "certificate_body_project" in defects else project
        key = (owner, body["domain_name"].lower())
        if key in self.certificates and "certificate_replaced" not in defects:
            raise Refusal(400, f"{body['domain_name']} already has a certificate")
        self.certificates[key] = dict(body)
        return 202, {}, None

    def _uncertify(self, project: str, domain: str, body: bytes
                   ) -> tuple[int, dict[str, str], Any]:
        """Delete an SSL certificate ("This operation does not accept a request body")."""
        if body:
            raise Refusal(400, "This operation does not accept a request body")
        removed = self.certificates.pop((project, domain.lower()), None)
        if removed is None and "certificate_unknown_delete_202" not in self.behaviour.defects:
            raise Refusal(404, f"{domain} has no certificate")
        if "certificate_delete_body" in self.behaviour.defects:
            return 202, {}, {"domain_name": domain, "status": "delete_in_progress"}
        return 202, {}, None


def _url(base: str, project: str, service_id: str) -> str:
    return f"{base}/v1.0/{quote(project, safe='')}/services/{service_id}"


def _query(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    try:
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise Refusal(400, "the query string is not valid UTF-8") from None
    for name, value in pairs:
        found.setdefault(name, value)
    return found


def _is_uuid(text: str) -> bool:
    return re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                        text) is not None


def _json(headers: dict[str, str], body: bytes, patch: bool = False) -> Any:
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    allowed = ("application/json", "application/json-patch+json") if patch \
        else ("application/json",)
    if media not in allowed:
        raise Refusal(400, f"the body must be {' or '.join(allowed)}")
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise Refusal(400, "the body is not valid JSON") from None


# -- the service body, as the create service page's parameter table states it -------------
def _service_body(body: Any) -> dict[str, Any]:
    """The body of a create (or a patched service), checked; `log_delivery` defaults."""
    _object(body, "body")
    _string(body, "name", 3, 256, "", required=True)
    _string(body, "flavor_id", 3, 256, "", required=True)
    domains = _list(body, "domains", "", required=True, low=1, high=10)
    for n, domain in enumerate(domains):
        where = f"domains[{n}]"
        _object(domain, where)
        _string(domain, "domain", 3, 253, where, required=True)
        _string(domain, "protocol", 0, None, where)
        if "certificate" in domain:
            _object(domain["certificate"], f"{where}.certificate")
    origins = _list(body, "origins", "", required=True, low=1)
    for n, origin in enumerate(origins):
        where = f"origins[{n}]"
        _object(origin, where)
        _string(origin, "origin", 3, 253, where, required=True)
        if "port" in origin and (type(origin["port"]) is not int or
                                 origin["port"] not in (80, 443)):
            raise Refusal(400, f"{where}.port must be 80 or 443")
        if "ssl" in origin and type(origin["ssl"]) is not bool:
            raise Refusal(400, f"{where}.ssl must be a boolean")
        _string(origin, "hostheadertype", 0, None, where)
        _rules(origin, where, len(origins) > 1, needs_url=True)
    caching = _list(body, "caching", "", required=False)
    for n, entry in enumerate(caching):
        where = f"caching[{n}]"
        _object(entry, where)
        _string(entry, "name", 1, 256, where, required=True)
        ttl = entry.get("ttl")
        if type(ttl) is not int or not 0 <= ttl <= MAX_TTL:
            raise Refusal(400, f"{where}.ttl must be an integer from 0 to {MAX_TTL}")
        _rules(entry, where, len(caching) > 1, needs_url=True)
    for n, restriction in enumerate(_list(body, "restrictions", "", required=False)):
        where = f"restrictions[{n}]"
        _object(restriction, where)
        _string(restriction, "name", 1, 256, where, required=True)
        for m, rule in enumerate(_list(restriction, "rules", where, required=False)):
            _object(rule, f"{where}.rules[{m}]")
            _string(rule, "name", 1, 256, f"{where}.rules[{m}]", required=True)
            _string(rule, "referrer", 3, 1024, f"{where}.rules[{m}]")
    log = body.setdefault("log_delivery", {"enabled": False})
    _object(log, "log_delivery")
    if type(log.get("enabled")) is not bool:
        raise Refusal(400, "log_delivery.enabled must be a boolean")
    return dict(body)


def _rules(owner: dict[str, Any], where: str, required: bool, needs_url: bool) -> None:
    if required and "rules" not in owner:
        raise Refusal(400, f"{where}.rules is required when there is more than one entry")
    for m, rule in enumerate(_list(owner, "rules", where, required=False)):
        _object(rule, f"{where}.rules[{m}]")
        _string(rule, "name", 1, 256, f"{where}.rules[{m}]", required=True)
        _string(rule, "request_url", 1, 1024, f"{where}.rules[{m}]", required=needs_url)


def _object(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise Refusal(400, f"{where} must be an object")


def _list(owner: dict[str, Any], name: str, where: str, required: bool, low: int = 0,
          high: int | None = None) -> list[Any]:
    if name not in owner:
        if required:
            raise Refusal(400, f"{where}.{name} is required".lstrip("."))
        return []
    value = owner[name]
    if not isinstance(value, list) or len(value) < low or (high is not None and
                                                            len(value) > high):
        raise Refusal(400, f"{where}.{name} must be a list of {low} to {high or 'any'} items"
                      .lstrip("."))
    return value


def _string(owner: dict[str, Any], name: str, low: int, high: int | None, where: str,
            required: bool = False) -> None:
    if name not in owner:
        if required:
            raise Refusal(400, f"{where}.{name} is required".lstrip("."))
        return
    value = owner[name]
    if not isinstance(value, str) or len(value) < low or (high is not None and
                                                           len(value) > high):
        raise Refusal(400, f"{where}.{name} must be a string of {low} to {high or 'any'} "
                      "characters".lstrip("."))


def _apply(document: dict[str, Any], operation: Any, any_op: bool = False
           ) -> dict[str, Any]:
    """One JSON Patch operation (add, remove, replace; RFC 6902) on the service body."""
    if not isinstance(operation, dict) or operation.get("op") not in ("add", "remove",
                                                                      "replace"):
        if isinstance(operation, dict) and any_op:
            return document  # an op it does not know, taken as done
        raise Refusal(400, "each operation needs op: add, remove or replace")
    path = operation.get("path")
    if not isinstance(path, str) or not path.startswith("/") or \
            ("value" not in operation and operation["op"] != "remove"):
        raise Refusal(400, "each operation needs a path (a JSON pointer) and a value")
    keys = [k.replace("~1", "/").replace("~0", "~") for k in path[1:].split("/")]
    parent: Any = document
    for key in keys[:-1]:
        parent = _step(parent, key)
    last = keys[-1]
    if isinstance(parent, list):
        index = len(parent) if last == "-" and operation["op"] == "add" else _index(parent,
                                                                                     last)
        if operation["op"] == "add":
            parent.insert(index, operation["value"])
        elif index >= len(parent):
            raise Refusal(400, f"{path} does not exist")
        elif operation["op"] == "remove":
            del parent[index]
        else:
            parent[index] = operation["value"]
    elif isinstance(parent, dict):
        if operation["op"] != "add" and last not in parent:
            raise Refusal(400, f"{path} does not exist")
        if operation["op"] == "remove":
            del parent[last]
        else:
            parent[last] = operation["value"]
    else:
        raise Refusal(400, f"{path} does not exist")
    return document


def _step(node: Any, key: str) -> Any:
    if isinstance(node, dict) and key in node:
        return node[key]
    if isinstance(node, list):
        index = _index(node, key)
        if index < len(node):
            return node[index]
    raise Refusal(400, f"/{key} does not exist")


def _index(items: list[Any], key: str) -> int:
    if not re.fullmatch(r"0|[1-9][0-9]{0,5}", key) or int(key) > len(items):
        raise Refusal(400, f"{key!r} is not an index of the list")
    return int(key)


# -- HTTP ------------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # the head and the body go in two writes
    vendor: Vendor

    def _serve(self) -> None:
        if self.vendor.dead:
            self.close_connection = True
            return
        length = self.headers.get("Content-Length")
        if length is not None and not length.isdigit():
            self.send_error(400)
            return
        size = int(length or 0)
        body = self.rfile.read(min(size, MAX_BODY + 1)) if size else b""
        if size > MAX_BODY:  # the rest is read and dropped, so that closing sends no reset
            self.rfile.read(min(size - len(body), 1024 * 1024))
            self.close_connection = True
        headers = {k.lower(): v for k, v in self.headers.items()}
        host = self.headers.get("Host", f"{self.server.server_address[0]}:"
                                f"{self.server.server_address[1]}")
        status, extra, payload = self.vendor.handle(self.command, self.path, headers, body,
                                                    f"http://{host}")
        self.send_response(status)
        if self.close_connection:
            self.send_header("Connection", "close")
        for name, value in extra.items():
            self.send_header(name, value)
        if status != 204:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(vendor: Vendor) -> Iterator[str]:
    """The vendor's server on a free loopback port; yields its base URL."""
    handler = type("Handler", (_Handler,), {"vendor": vendor})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    # shutdown() waits for the loop's next poll: 50 ms, not the default 0.5 s, per test
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    """`python -m tests.vendor --port N [switches]`: the vendor's server, until stopped."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--time-scale", type=float, default=0.01)
    parser.add_argument("--require-header", metavar="'NAME: VALUE'")
    parser.add_argument("--tokens", default="", help="the valid tokens, comma-separated "
                        "(default: any)")
    for name in SWITCHES:
        parser.add_argument("--" + name.replace("_", "-"), action="store_true")
    for name in DURATIONS:
        parser.add_argument("--" + name.replace("_", "-"), type=float,
                            default=getattr(Behaviour(), name))
    parser.add_argument("--name-limit", type=int, default=0)
    parser.add_argument("--refused-domain-suffix", default="")
    parser.add_argument("--defect", action="append", default=[],
                        choices=sorted(DEFECTS | CERTIFICATE_DEFECTS))
    args = parser.parse_args()
    required = None
    if args.require_header:
        name, _, value = args.require_header.partition(":")
        required = (name.strip(), value.strip())
    tokens = frozenset(t for t in args.tokens.split(",") if t)
    behaviour = Behaviour(time_scale=args.time_scale, required_header=required, tokens=tokens,
                          name_limit=args.name_limit, defects=frozenset(args.defect),
                          refused_domain_suffix=args.refused_domain_suffix,
                          **{name: getattr(args, name) for name in SWITCHES + DURATIONS})
    handler = type("Handler", (_Handler,), {"vendor": Vendor(behaviour)})
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
