"""Edge probes: what purges, invalidations and service settings do to what a CDN serves.

Each probe creates its own service in front of the suite's origin (`conform.origin`), waits
for it to be deployed, requests assets through the edge with the service's domain as `Host`,
changes or breaks the origin on purpose, purges or invalidates through the API, and records
what the edge served and what the origin was asked. Like every probe, it judges nothing.

Every path a probe uses starts with a prefix of its own, so that the origin's log tells the
probes apart. Waits are bounded by the documented durations times the declared time scale,
and end as soon as the effect shows.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from contract.conform.origin import Asked
from contract.conform.probes import Context, Record, Unobservable
from contract.conform.target import Answer, EdgeTarget

NO_EDGE = ("needs the CDN's edge: --edge-url, and --origin-listen for the origin the suite "
           "runs behind it (our mock's edge is found by itself)")
SLACK = 1.0  # seconds allowed past a documented duration, for clocks and networks
DAY = 86400  # the default TTL of the probes' services: nothing expires unless told to
SHORT_TTL = 60  # seconds: the caching entry whose expiry the caching probe waits for
CUSTOM_HOST = "images.origin.conform.example"  # the Host the rule-matched origin sends
PARTNER = "partner.conform.example"  # the only referrer the restrictions probe allows


@dataclass
class Site:
    """A deployed service of this run on the edge under test, with paths of its own."""

    ctx: Context
    edge: EdgeTarget
    project: str
    service: str
    domain: str
    prefix: str

    def path(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def get(self, name: str, headers: dict[str, str] | None = None) -> Answer:
        return self.edge.get(self.path(name), self.domain, headers)

    def publish(self, name: str, body: bytes) -> None:
        self.edge.origin.put(self.path(name), body)

    def asked(self, name: str) -> list[Asked]:
        return self.edge.origin.asked(self.path(name))

    def purge(self, name: str, hard: str) -> Answer:
        return self.ctx.purge(self.project, self.service, url=self.path(name), hard=hard)

    def wait_for(self, name: str, body: bytes, seconds: float
                 ) -> tuple[float | None, Answer | None]:
        """Ask the edge for `name` until it serves `body`, for at most the documented
        `seconds` (times the time scale) and half as much again plus SLACK: how long it
        took, or None, and the last answer (what a failure quotes: what it still served)."""
        scaled = seconds * self.edge.time_scale
        started = time.monotonic()
        deadline = started + 1.5 * scaled + SLACK
        answer = None
        while time.monotonic() < deadline:
            answer = self.get(name)
            if answer.response.content == body:
                return time.monotonic() - started, answer
            time.sleep(max(0.005, scaled / 50))
        return None, answer

    def until_asked(self, name: str, count: int) -> None:
        """Give the origin SLACK seconds to be asked for `name` more than `count` times: an
        edge may answer with what it holds and fetch anew in the background (Varnish's
        grace), so the request that shows the object expired can come just after."""
        deadline = time.monotonic() + SLACK
        while len(self.asked(name)) <= count and time.monotonic() < deadline:
            time.sleep(0.02)

    def sleep(self, seconds: float) -> None:
        """Let `seconds` of the contract's time pass, and a little more."""
        time.sleep(seconds * self.edge.time_scale * 1.2 + 0.05)


def new_token() -> str:
    """What makes a probe's domain and paths its own."""
    return uuid.uuid4().hex[:10]


def open_site(ctx: Context, label: str, token: str, **members: Any) -> Site:
    """A new deployed service with the suite's origin (or `members`' settings), its paths
    marked with `token`; Unobservable says why none could be had."""
    if ctx.edge is None:
        raise Unobservable(NO_EDGE)
    body, domain = ctx.target.service_body(label, **{
        "origins": [ctx.edge.origin_member()], "caching": [{"name": "default", "ttl": DAY}],
        **members})
    project = ctx.target.project()
    service = ctx.create(project, body)
    ctx.deployed(project, service)
    return Site(ctx, ctx.edge, project, service, domain, f"/{token}")


def on_a_site(label: str, members: Callable[[str, EdgeTarget], dict[str, Any]] | None = None
              ) -> Callable[[Callable[[Record, Site], None]], Callable[[Context], Record]]:
    """A probe on a site of its own: `members(prefix, edge)` are the service's settings
    beyond the defaults; when no site can be had, the record says why."""
    def wrap(probe: Callable[[Record, Site], None]) -> Callable[[Context], Record]:
        def run(ctx: Context) -> Record:
            if ctx.edge is None:
                raise Unobservable(NO_EDGE)
            token = new_token()
            extra = members(f"/{token}", ctx.edge) if members else {}
            site = open_site(ctx, label, token, **extra)
            record = Record(seen={"time_scale": ctx.edge.time_scale})
            probe(record, site)
            return record
        run.__doc__, run.__name__ = probe.__doc__, probe.__name__
        return run
    return wrap


def routing(ctx: Context) -> Record:
    """S26, S27, S30: an unknown host; one asset twice through the domain and once through
    the access_url host; a service with two origins told apart by the Host they send."""
    record = Record()
    site = open_site(ctx, "routing", new_token())
    site.publish("asset.txt", b"routed")
    record.exchanges["unknown host"] = site.edge.get(
        site.path("asset.txt"), f"unknown-{new_token()}.conform.example")
    record.exchanges["first"] = site.get("asset.txt")
    record.exchanges["second"] = site.get("asset.txt")
    record.seen["domain"] = site.domain
    record.seen["single origin"] = site.asked("asset.txt")
    links = ctx.send("GET", f"/v1.0/{site.project}/services/{site.service}")
    access = [link["href"] for link in links.response.json().get("links", [])
              if link.get("rel") == "access_url"] if links.status == 200 else []
    if access:
        host = urlsplit(access[0]).hostname or access[0]
        record.exchanges["access_url host"] = site.edge.get(site.path("asset.txt"), host)
    edge, token = site.edge, new_token()
    multi = open_site(ctx, "origins", token, origins=[
        edge.origin_member(hostheadertype="custom", hostheadervalue=CUSTOM_HOST,
                           rules=[{"name": "images", "request_url": f"/{token}/images/.*"}]),
        edge.origin_member(hostheadertype="origin",
                           rules=[{"name": "everything", "request_url": "/.*"}])])
    for name in ("images/logo.png", "pages/index.html"):
        multi.publish(name, name.encode())
        record.exchanges[f"two origins: {name}"] = multi.get(name)
        record.seen[f"two origins: {name}"] = multi.asked(name)
    record.seen["origin host"] = edge.origin_host
    return record


def _caching(prefix: str, edge: EdgeTarget) -> dict[str, Any]:
    return {"caching": [
        {"name": "short", "ttl": SHORT_TTL,
         "rules": [{"name": "short", "request_url": f"{prefix}/short/.*"}]},
        {"name": "default", "ttl": DAY,  # S31: with two entries, each has rules
         "rules": [{"name": "everything", "request_url": "/.*"}]}]}


@on_a_site("caching", _caching)
def caching(record: Record, site: Site) -> None:
    """S28: an asset under a short-TTL rule and one under `default`, each asked twice, then
    again once the short TTL has passed."""
    for name in ("short/a.txt", "long/b.txt"):
        site.publish(name, b"cached")
        record.exchanges[f"{name} first"] = site.get(name)
        record.exchanges[f"{name} again"] = site.get(name)
        record.seen[f"{name} asked while fresh"] = len(site.asked(name))
    site.sleep(SHORT_TTL)
    for name in ("short/a.txt", "long/b.txt"):
        record.exchanges[f"{name} later"] = site.get(name)
        record.seen[f"{name} asked later"] = len(site.asked(name))
    record.seen["short ttl"] = SHORT_TTL


def _restrictions(prefix: str, edge: EdgeTarget) -> dict[str, Any]:
    return {"restrictions": [
        {"name": "partners", "access": "whitelist",
         "rules": [{"name": "partner", "referrer": PARTNER}]},
        {"name": "no-private", "access": "blacklist",
         "rules": [{"name": "private", "request_url": f"{prefix}/private/*"}]}]}


@on_a_site("restrictions", _restrictions)
def restrictions(record: Record, site: Site) -> None:
    """S29: a whitelist of one referrer and a blacklisted directory."""
    partner = {"Referer": f"http://{PARTNER}/page.html"}
    for name in ("open.txt", "private/secret.txt"):
        site.publish(name, b"content")
    record.exchanges["no referrer"] = site.get("open.txt")
    record.exchanges["the partner's referrer"] = site.get("open.txt", partner)
    record.exchanges["the partner's referrer, blacklisted path"] = site.get(
        "private/secret.txt", partner)


@on_a_site("purge")
def purge(record: Record, site: Site) -> None:
    """S13: two cached files change at the origin; one is purged. When the purge lands the
    edge fetches it anew (no If-Modified-Since); the other is still served from cache.
    S12: a purge whose url is a wildcard matching a third cached file, sent first, removes
    nothing (accepted or refused): that file is still served from cache."""
    for name in ("file.txt", "sibling.txt", "wild.txt"):
        site.publish(name, b"before")
        site.get(name)
        site.publish(name, b"after")
    record.exchanges["cached"] = site.get("file.txt")
    record.exchanges["wildcard purge"] = site.purge("wil*", "true")
    record.exchanges["purge"] = site.purge("file.txt", "true")
    wanted = site.ctx.contract.purge.purge.completes_after_seconds
    record.seen["wanted"] = wanted
    record.seen["took"], record.seen["waited"] = site.wait_for("file.txt", b"after", wanted)
    record.seen["asked"] = site.asked("file.txt")
    record.exchanges["sibling"] = site.get("sibling.txt")
    record.exchanges["wild"] = site.get("wild.txt")


@on_a_site("invalidation")
def invalidation(record: Record, site: Site) -> None:
    """S14: four cached files change at the origin, one of them to a 503; a wildcard
    invalidation of one directory lands, covering its subdirectory and not the other
    directory, and keeping the failing file (revalidated or served stale, not removed)."""
    names = ("images/a.png", "images/sub/b.png", "other/c.png", "images/down.png")
    for name in names:
        site.publish(name, b"before")
        site.get(name)
        site.publish(name, b"after")
    site.edge.origin.force(site.path("images/down.png"), 503)
    before = len(site.asked("images/down.png"))
    record.exchanges["invalidation"] = site.purge("images/*", "false")
    wanted = site.ctx.contract.purge.invalidation.completes_after_seconds
    record.seen["wanted"] = wanted
    record.seen["took"], record.seen["waited"] = site.wait_for(names[0], b"after", wanted)
    if record.seen["took"] is not None:  # an edge lands an invalidation file by file
        site.wait_for(names[1], b"after", wanted)
    for name in names[1:]:
        record.exchanges[name] = site.get(name)
    record.seen["images/down.png"] = site.asked("images/down.png")[before:]


@on_a_site("revalidation")
def revalidation(record: Record, site: Site) -> None:
    """S15: four cached files, each invalidated after the origin changed it, left it alone,
    removed it or broke; then what the edge serves and asks for each, and the cached 404
    once its time has passed."""
    for name in ("gone.txt", "down.txt", "same.txt", "new.txt"):
        site.publish(name, b"before")
        site.get(name)
    site.edge.origin.force(site.path("gone.txt"), 404)
    site.edge.origin.force(site.path("down.txt"), 503)
    site.publish("new.txt", b"after")
    names = ("gone.txt", "down.txt", "same.txt", "new.txt")  # new.txt lands last
    before = {name: len(site.asked(name)) for name in names}
    for name in names:
        record.exchanges[f"invalidate {name}"] = site.purge(name, "false")
    wanted = site.ctx.contract.purge.invalidation.completes_after_seconds
    record.seen["wanted"] = wanted
    record.seen["took"], record.seen["waited"] = site.wait_for("new.txt", b"after", wanted)
    for name in ("same.txt", "down.txt"):
        record.exchanges[name] = site.get(name)
    record.exchanges["same.txt again"] = site.get("same.txt")
    # the cached 404 asked for again at once: an edge keeps it for error_ttl (0.1 s at time
    # scale 0.01), which a loaded machine may let pass between the two requests
    record.exchanges["gone.txt"] = site.get("gone.txt")
    record.exchanges["gone.txt again"] = site.get("gone.txt")
    asks = site.asked("gone.txt")[before["gone.txt"]:]
    # how long after the origin was first asked it was asked again: a copy of the 404
    # the edge stored is good for error_ttl from then at least
    record.seen["gone.txt twice"] = asks[-1].at - asks[-2].at if len(asks) > 1 else 0.0
    record.seen["gone.txt asked while cached"] = len(site.asked("gone.txt")) - \
        before["gone.txt"]
    error_ttl = site.ctx.contract.purge.invalidation.error_ttl_seconds or 0
    record.seen["error ttl scaled"] = error_ttl * site.edge.time_scale
    site.sleep(error_ttl)
    asked_before = len(site.asked("gone.txt"))
    record.exchanges["gone.txt later"] = site.get("gone.txt")
    site.until_asked("gone.txt", asked_before)
    record.seen["error ttl"] = error_ttl
    for name in names:  # what the origin was asked since the invalidations
        record.seen[name] = site.asked(name)[before[name]:]
