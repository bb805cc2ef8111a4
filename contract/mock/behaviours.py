"""The freedoms the docs leave a server, as choices the mock can make (`mock --behave`).

Our mock is one point inside what the docs allow; real servers sit at other points (the
upstream implementation deletes asynchronously, answers `Location` with the project, counts
the rate limit per calendar minute, ...). Each `Freedom` here is one such point: its name,
the statement that allows it, what the mock then does, and what decides it (`scope`: once
per process, per service at its create, or per request). A client tested against each of
them, and against `random` draws of them, is tested against the envelope, not one point.

`Behaviours` is what the handlers ask ("does this request / service behave so?"); the
handlers keep their own logic and only branch where a freedom changes the answer.
"""

from __future__ import annotations

import email.utils
import functools
import json
import math
import random
import secrets
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from contract.checks.messages import Outgoing
from contract.errors import InputError
from contract.model import RateLimit

Scope = Literal["process", "service", "request"]
RANDOM = "random"
RANDOM_WARNINGS = "random+warnings"  # random, drawing the behaviours conform warns of too
DELETE_SECONDS = 30.0  # how long an asynchronous delete lasts (times --time-scale)
SLOW_DEPLOY = 4.0  # a slow deploy takes this many times the mock's own deploy time
SERVICES_SHOWN = 100  # the most recent per-service draws /__mock__/health lists
BOOLEANS = ("hard",)  # the purge's boolean query parameters, for case-sensitive-booleans


Query = list[tuple[str, str]]


@dataclass(frozen=True)
class PurgeAdmission:
    """How the freedoms a request draws change a purge's admission (`MockApp.admit` applies
    it, naming none of them): the statements whose problems are waived (a problem is waived
    when its statements are one of these), a stricter check of the query (the reason to
    refuse it, or None), and whether a request body is served as if absent."""

    waives: frozenset[tuple[str, ...]] = frozenset()
    refuse: tuple[Callable[[Query], str | None], ...] = ()
    body_ignored: bool = False

    def __or__(self, other: PurgeAdmission) -> PurgeAdmission:
        return PurgeAdmission(self.waives | other.waives, self.refuse + other.refuse,
                              self.body_ignored or other.body_ignored)

    def refusal(self, query: Query) -> str | None:
        """The first stricter check's reason to refuse `query`, if one refuses it."""
        for check in self.refuse:
            reason = check(query)
            if reason:
                return reason
        return None


AS_DOCUMENTED = PurgeAdmission()  # a purge admitted as the contract says


@dataclass(frozen=True)
class Freedom:
    """One documented freedom. `group`: the names of one group exclude each other (one
    Retry-After form at a time); `rate_limited`: it shows only on a 429 of the rate limit;
    `purge`: how it changes a purge's admission (none: it changes what the handlers do)."""

    name: str
    statement: str
    does: str
    scope: Scope
    group: str = ""
    rate_limited: bool = False
    purge: PurgeAdmission = AS_DOCUMENTED

    @property
    def warns(self) -> bool:
        """Whether conform reports a server taking it with a warning (its statement is an
        INTERPRETATION it does not meet): `random` leaves it out unless asked."""
        return "a warning" in self.statement


FREEDOMS = (
    Freedom("async-delete", "S34", "DELETE answers 202 and the service stays "
            "`delete_in_progress` (GET shows it) for 30 s times --time-scale; then it is "
            "gone (404, S18)", "service"),
    Freedom("slow-deploy", "S34", "a create or an update takes four times as long to deploy "
            "(120 s times --time-scale)", "service"),
    Freedom("deploy-fails", "S34", "an update's deploy ends `failed`, the reason in "
            "`errors`; the next update deploys again (and the one after fails)", "service"),
    Freedom("location-with-project", "S3, S40", "Location names the project: "
            "<base>/v1.0/{project_id}/services/{service_id}", "request"),
    Freedom("case-sensitive-booleans", "S6, S17", "only `true` and `false` are booleans: "
            "`hard=True` is refused with 400 (the mock's own point reads any case, as the "
            "upstream implementation does)", "request",
            purge=PurgeAdmission(refuse=(lambda query: not_lower_case(query, BOOLEANS),))),
    Freedom("calendar-minute", "S11", "the 20 purges a minute are counted per calendar "
            "minute (the window opens on the minute), not from the first purge", "process",
            rate_limited=True),
    Freedom("retry-after-date", "S35", "a 429's Retry-After is an HTTP-date", "request",
            group="retry-after", rate_limited=True),
    Freedom("retry-after-60", "S35", "a 429's Retry-After is always the whole minute "
            "(60 s times --time-scale), not the time left", "request", group="retry-after",
            rate_limited=True),
    Freedom("retry-after-absent", "S24 (INTERPRETATION: a warning)", "a 429 carries no "
            "Retry-After", "request", group="retry-after", rate_limited=True),
    Freedom("purge-body-ignored", "S32 (INTERPRETATION: a warning)", "a purge sent with a "
            "request body is served as if it had none", "request",
            purge=PurgeAdmission(body_ignored=True)),
    Freedom("two-label-domains-refused", "S36 (the docs set no rule on a domain's labels)",
            "a create or update naming a two-label domain (example.com) is refused with 400, "
            "as the upstream implementation does", "request"),
    Freedom("next-on-every-page", "S33", "every non-empty list page has a `next` link, the "
            "last one too (following it gives an empty page)", "request"),
    Freedom("log-delivery-required", "S38 (INTERPRETATION: a warning)", "a create without "
            "`log_delivery` is refused with 400, as the parameter table marks it required",
            "request"),
    Freedom("bare-purge-accepted", "S22 (INTERPRETATION: a warning)", "a purge "
            "(hard=true) without `url` is accepted (202) and purges everything, as the "
            "upstream implementation does (S22's other reading)", "request",
            purge=PurgeAdmission(waives=frozenset({("S22",)}))),
    Freedom("busy-until-deployed", "S34", "purges and updates of a service whose deploy is "
            "under way (not yet `deployed` or `failed`) are refused with 400 and the "
            "upstream's message \"Service <id> is not deployed.\"", "service"),
    Freedom("error-extra-members", "S16", "error bodies carry members besides the documented "
            "ones (a `code` per error, a `request_id`)", "request"),
)
BY_NAME = {freedom.name: freedom for freedom in FREEDOMS}
DRAWS = (RANDOM, RANDOM_WARNINGS)  # the --behave values that draw, each given alone


@functools.lru_cache(maxsize=256)
def purge_admission(drawn: frozenset[str]) -> PurgeAdmission:
    """How the freedoms `drawn` change a purge's admission, together. Cached (and bounded:
    `random` may draw any combination over a long run): a fixed set is one frozenset for
    every request."""
    return functools.reduce(PurgeAdmission.__or__, (BY_NAME[name].purge for name in drawn
                                                    if name in BY_NAME), AS_DOCUMENTED)


def choose(text: Iterable[str]) -> tuple[str, ...]:
    """The names `--behave` gives (comma-separated, repeatable), checked: unknown names,
    two of one group, or `random` with other names are refused, naming the problem."""
    names = [n.strip() for group in text for n in group.split(",") if n.strip()]
    unknown = [n for n in names if n not in BY_NAME and n not in DRAWS]
    if unknown:
        raise InputError(f"--behave: {', '.join(unknown)} is not a behaviour (known: "
                         f"{', '.join(DRAWS)}, {', '.join(BY_NAME)}; see --list-behaviours)")
    drawing = [n for n in names if n in DRAWS]
    if drawing and len(set(names)) > 1:
        raise InputError(f"--behave {drawing[0]} draws every behaviour itself: give it alone")
    groups: dict[str, list[str]] = {}
    for name in dict.fromkeys(names):
        if name in BY_NAME and BY_NAME[name].group:
            groups.setdefault(BY_NAME[name].group, []).append(name)
    for group, chosen in groups.items():
        if len(chosen) > 1:
            raise InputError(f"--behave: {' and '.join(chosen)} conflict (one {group} form "
                             "at a time)")
    return tuple(dict.fromkeys(names))


def listing() -> str:
    """What `--list-behaviours` prints: each name, the statement allowing it, what it does."""
    lines = []
    for freedom in FREEDOMS:
        excludes = f"; excludes the other {freedom.group}-* names" if freedom.group else ""
        drawn = f"drawn per {freedom.scope} by {RANDOM_WARNINGS} only (conform warns)" \
            if freedom.warns else f"drawn per {freedom.scope} by random"
        lines.append(f"{freedom.name}\n    allowed by {freedom.statement}; {drawn}"
                     f"{excludes}\n    {freedom.does}")
    lines.append(f"{RANDOM}\n    with --seed N: each process, service (at its create) and "
                 "request draws from the above that conform reports without a warning, "
                 "reproducibly; the mock logs each draw and /__mock__/health shows the seed "
                 "and what was drawn")
    lines.append(f"{RANDOM_WARNINGS}\n    as random, drawing those conform warns of too")
    return "\n".join(lines)


class Behaviours:
    """The freedoms one mock process takes: a fixed set, or `random` draws from a seed."""

    def __init__(self, names: tuple[str, ...], seed: int | None, rate_limited: bool,
                 quiet: bool = True):
        self.random = len(names) == 1 and names[0] in DRAWS
        self.chosen = names
        self.quiet = quiet  # else each random draw is logged to standard error
        offered = [f for f in FREEDOMS if (rate_limited or not f.rate_limited)
                   and (names != (RANDOM,) or not f.warns)]
        unusable = [n for n in names if n in BY_NAME and BY_NAME[n].rate_limited
                    and not rate_limited]
        if unusable:
            raise InputError(f"--behave {', '.join(unusable)}: there is no purge rate limit "
                             "to show it (the variant documents none, or --no-rate-limit)")
        self.offered = tuple(f.name for f in offered) if self.random else names
        self.seed = (seed if seed is not None else secrets.randbelow(2**31)) \
            if self.random else seed
        self._requests = 0
        self._services = 0
        self.drawn: OrderedDict[str, tuple[str, ...]] = OrderedDict()  # service id → draw
        self.process = self._draw("process", "start")
        # a fixed set draws the same every time: each request takes this one, drawn once
        self._every_request = None if self.random else \
            self.process | self._draw("request", "")
        # services being deleted, in the order their deletes end (each lasts as long)
        self.deleting: OrderedDict[tuple[str, str], tuple[float, dict[str, Any]]] = \
            OrderedDict()

    def __bool__(self) -> bool:
        return bool(self.offered)

    def _draw(self, scope: Scope, key: str) -> frozenset[str]:
        """The names of `scope` in play for one draw: all of them for a fixed set; under
        `random`, each with even odds (at most one of a group), from `seed` and `key`."""
        names = [n for n in self.offered if BY_NAME[n].scope == scope]
        if not self.random:
            return frozenset(names)
        chance = random.Random(f"{self.seed}:{scope}:{key}")
        drawn: set[str] = set()
        groups: dict[str, list[str]] = {}
        for name in names:
            group = BY_NAME[name].group
            if group:
                groups.setdefault(group, []).append(name)
            elif chance.random() < 0.5:
                drawn.add(name)
        for members in groups.values():
            pick = chance.randrange(len(members) + 1)  # or none: the mock's own form
            if pick < len(members):
                drawn.add(members[pick])
        return frozenset(drawn)

    def for_request(self, what: str) -> frozenset[str]:
        """The draw of a request (`what`: its method and path), with the process's (the
        caller asks only when some are `offered`)."""
        if self._every_request is not None:
            return self._every_request
        self._requests += 1
        drawn = self.process | self._draw("request", str(self._requests))
        self._log(f"{what} (request {self._requests})", drawn)
        return drawn

    def for_service(self, service_id: str) -> tuple[str, ...]:
        """A new service's draw, kept with it (its lifecycle follows it) and in `drawn`."""
        if not self.offered:
            return ()
        self._services += 1
        drawn = tuple(sorted(self._draw("service", str(self._services))))
        self._log(f"service {service_id} (service {self._services})", drawn)
        if self.random:
            self.drawn[service_id] = drawn
            while len(self.drawn) > SERVICES_SHOWN:
                self.drawn.popitem(last=False)
        return drawn

    def _log(self, what: str, drawn: Iterable[str]) -> None:
        if self.random and not self.quiet:
            print(f"behave: {what} drew {', '.join(sorted(drawn)) or 'nothing'}",
                  file=sys.stderr, flush=True)

    def describe(self) -> dict[str, Any]:
        """What /__mock__/health says, so a failing client test can be replayed."""
        return {"random": self.random, "seed": self.seed if self.random else None,
                "names": list(self.offered), "process": sorted(self.process),
                "services": dict(self.drawn)}

    def summary(self) -> str:
        """The start-up line's part."""
        if self.random:
            return f"behave {self.chosen[0]}, seed {self.seed}" + (
                f" (drew {', '.join(sorted(self.process))} for the process)"
                if self.process else "")
        return f"behave {', '.join(self.offered)}"

    # -- an asynchronous delete: gone from the store, still shown while it lasts ---------------
    def deleted(self, project: str, document: dict[str, Any], now: float, until: float
                ) -> None:
        """A service whose delete lasts until `until` (kept in this process only)."""
        self._forget(now)
        key = (project, document["id"])
        self.deleting[key] = (until, document)
        self.deleting.move_to_end(key)  # the last to end

    def being_deleted(self, project: str, service_id: str, now: float
                      ) -> dict[str, Any] | None:
        """The service, if its asynchronous delete is still under way."""
        self._forget(now)
        found = self.deleting.get((project, service_id))
        return found[1] if found and found[0] > now else None

    def _forget(self, now: float) -> None:
        """Drop the deletes that ended: the oldest first, up to the first still under way
        (every delete lasts as long, so the rest end later), never a scan of them all."""
        while self.deleting:
            key, (until, _) = next(iter(self.deleting.items()))
            if until > now:
                break
            del self.deleting[key]

    def reset(self) -> None:
        self.deleting.clear()
        self.drawn.clear()


def retry_after(drawn: frozenset[str], wait: float, window: float, now: float
                ) -> list[tuple[str, str]]:
    """The 429's Retry-After header, in the form drawn (the mock's own: whole seconds)."""
    if "retry-after-absent" in drawn:
        return []
    if "retry-after-60" in drawn:
        wait = window
    seconds = max(1, math.ceil(wait))
    if "retry-after-date" in drawn:
        return [("Retry-After", email.utils.formatdate(math.ceil(now) + seconds,
                                                       usegmt=True))]
    return [("Retry-After", str(seconds))]


class CalendarMinute:
    """`calendar-minute`: the purges a window admits are counted from the start of the
    calendar window (the minute times --time-scale), not from the first one. Kept in this
    process (replicas on one database each count their own)."""

    def __init__(self, limit: RateLimit, time_scale: float):
        self.limit = limit
        self.requests, self.window = limit.requests, limit.period_seconds * time_scale
        self._counts: dict[str, tuple[float, int]] = {}

    def admit(self, key: str, now: float) -> float | None:
        opened = now - now % self.window
        start, used = self._counts.get(key, (opened, 0))
        if start != opened:
            start, used = opened, 0
        if used >= self.requests:
            return start + self.window - now
        self._counts[key] = (start, used + 1)
        return None

    def reset(self) -> None:
        self._counts.clear()


def two_label(domains: Iterable[str]) -> str | None:
    """`two-label-domains-refused`: the reason to refuse the first two-label domain."""
    for domain in domains:
        if len(domain.removesuffix(".").split(".")) <= 2:
            return f"domain {domain!r} is a root domain; add a subdomain (e.g. www.{domain})"
    return None


def not_lower_case(query: list[tuple[str, str]], names: Iterable[str]) -> str | None:
    """`case-sensitive-booleans`: the reason to refuse a boolean not written `true` or
    `false` (`hard=True`), if one is."""
    wanted = set(names)
    for key, value in query:
        if key in wanted and value not in ("true", "false") and \
                value.lower() in ("true", "false"):
            return (f"query parameter `{key}`: {value!r} is not a boolean: write true or "
                    "false (S6, S17)")
    return None


def extra_members(response: Outgoing) -> Outgoing:
    """`error-extra-members`: the documented error body (S16) with members it does not show:
    a `code` in each error, a `request_id` beside `message`."""
    try:
        body = json.loads(response.body)
    except ValueError:
        return response
    errors = body.get("message", {}).get("errors") if isinstance(body, dict) and \
        isinstance(body.get("message"), dict) else None
    if not isinstance(errors, list):
        return response
    body["message"]["errors"] = [{**e, "code": response.status} if isinstance(e, dict) else e
                                 for e in errors]
    body["request_id"] = secrets.token_hex(8)
    return Outgoing(response.status, response.headers,
                    json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
