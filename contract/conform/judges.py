"""Judges: pure functions from what a probe recorded to outcomes, one per statement seen.

A judge sends nothing and reads no spec: what it expects comes from `Expect` (the contract's
typed facts and the statements of the variant). A statement a record cannot show is
reported `not observable`, never passed. INTERPRETATION rows become warnings in the runner.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from contract.conform.outcome import SPEC, Outcome, Status, steady
from contract.conform.probes import OWN, REFUSE, Record, listed_ids, next_link
from contract.conform.target import JOBS_SETTLE_SECONDS, Answer
from contract.formats import CANONICAL_UUID
from contract.model import Contract, RateLimit


@dataclass(frozen=True)
class Expect:
    """What the implementation is held to: one variant's contract and statements."""

    contract: Contract
    statements: frozenset[str]


def outcome(statement: str, ok: bool, message: str, exchange: Answer | None = None,
            cause: str = "") -> Outcome:
    """A pass or a failure shown by `exchange`; its cause is `cause` (what was asked and
    expected: `S19 uri: expected 414`) with what came (status and body shape)."""
    return Outcome(statement, Status.PASS if ok else Status.FAIL, message,
                   curl=exchange.curl if exchange else "",
                   exchange=exchange.response if exchange else None,
                   cause=_cause(cause or statement, exchange))


def unobservable(statement: str, why: str, exchange: Answer | None = None,
                 cause: str = "") -> Outcome:
    """Why `statement` could not be judged; its cause, `cause` or else `why` itself (the
    report gives one row to the statements of one cause: a bare `not observable` would
    give one reason to them all)."""
    return Outcome(statement, Status.NOT_OBSERVABLE, why,
                   curl=exchange.curl if exchange else "",
                   exchange=exchange.response if exchange else None,
                   cause=_cause(cause or f"{statement} not observable: {steady(why)}",
                                exchange))


def _cause(what: str, exchange: Answer | None) -> str:
    return f"{what}, got {exchange.gist()}" if exchange is not None else what


def purge_is_accepted(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S9: the service id is a UUID; S1: the purge is served and, where the target's jobs
    can be seen, queues one; S2: with 202; S3: its Location names the service; S4: the 202
    has no body; S32: one sent is refused."""
    project, service = record.seen["project"], record.seen["service"]
    canonical = bool(CANONICAL_UUID.fullmatch(service))
    yield outcome("S9", canonical, f"service id {service!r} from the Location of "
                  f"createService {'is' if canonical else 'is not'} a UUID")
    done = record.exchanges["purge"]
    yield _purged(done, record.seen["jobs"])
    yield outcome("S2", done.status == 202, f"a valid purge answered {done.status} "
                  "(expected 202)", done)
    if done.status != 202:
        for statement in ("S3", "S4"):  # about the 202 only
            yield unobservable(statement, f"the valid purge answered {done.status}, not 202 "
                               "(S2): no 202 to judge", done, f"{statement}: no 202")
    else:
        location = done.response.headers.get("Location")
        expected = re.compile(rf"^https?://[^/]+(/.*)?/v1\.0/({re.escape(project)}/)?"
                              rf"services/{re.escape(service)}$")
        yield outcome("S3", bool(location and expected.match(location)),
                      ("the 202 has no Location" if location is None else
                       f"Location is {location!r}") + f" (expected <base>/v1.0/services/"
                      f"{service})", done)
        yield outcome("S4", done.response.content == b"", f"the 202 carries "
                      f"{len(done.response.content)} body bytes (expected none)", done)
    with_body = record.exchanges["purge with a body"]
    yield outcome("S32", 400 <= with_body.status < 500, f"a purge with a request body "
                  f"answered {with_body.status} (our interpretation: 400; a server that "
                  "ignores the body is not wrong)", with_body)


def _purged(done: Answer, jobs: list[dict[str, Any]] | None) -> Outcome:
    """S1 on the valid purge: served (not 404 or 405); once accepted, a job recorded for
    it when the target's jobs can be seen (an accepted purge that queues nothing purges
    nothing)."""
    if jobs is None or not done.accepted:
        return outcome("S1", done.status not in (404, 405), f"DELETE .../assets answered "
                       f"{done.status}", done)
    return outcome("S1", bool(jobs), f"a valid purge answered {done.status} and the target "
                   f"recorded {len(jobs)} job(s) for the service within "
                   f"{JOBS_SETTLE_SECONDS:.0f} s (expected one for it)", done,
                   "S1 purge: expected a job recorded")


def both_modes_accepted(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S6: both values of `hard` are served; S5: `url` is optional; S14: an invalidation
    takes a wildcard (where the variant says so). A refusal about the service's state is
    none of theirs (`taken`)."""
    for hard in ("true", "false"):
        done = record.exchanges[f"hard={hard}"]
        yield taken("S6", done, f"hard={hard} answered {done.status}")
    everything = record.exchanges["invalidate everything"]
    yield taken("S5", everything, f"an invalidation without url answered {everything.status} "
                "(url is optional)")
    if "S14" in expect.statements and expect.contract.purge.invalidation.wildcards:
        wildcard = record.exchanges["invalidate a wildcard"]
        yield taken("S14", wildcard, f"an invalidation of /images/* answered "
                    f"{wildcard.status} (wildcards are allowed)")


STATE = re.compile(r"not\s+(yet\s+)?deployed|in[ _]progress|not\s+ready", re.IGNORECASE)


def about_state(answer: Answer) -> bool:
    """Whether a refusal is about the service's state (`Service ... is not deployed.`,
    `update in progress`), not about the request: a 4xx other than those of tenancy, the
    token and the rate limit, whose body says so."""
    return 400 <= answer.status < 500 and answer.status not in (401, 403, 404, 429) and \
        STATE.search(answer.response.text) is not None


def taken(statement: str, answer: Answer, message: str) -> Outcome:
    """`statement` holds when the target took the request; a refusal about the service's
    state says nothing of the statement's parameter: not observable, the answer quoted,
    pointing to S34 (the lifecycle's statement)."""
    if about_state(answer):
        return unobservable(statement, f"the service was not deployed: {answer.describe()} "
                            "(a refusal about the service's state, not about this request; "
                            "see S34)", answer, f"{statement} not observable: the service was "
                            "not deployed")
    return outcome(statement, answer.accepted, message, answer)


def default_of_hard(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S7a/S7b: a purge without `hard` is applied with the variant's default; S13: a purge
    job completes after the documented time (times the target's scale), or says why no job
    could be timed (a statement with no outcome is not observable with no reason given)."""
    judged = list(_applied_default(record, expect))
    yield from judged
    if "S13" in expect.statements and all(o.statement != "S13" for o in judged):
        first = judged[0]
        why = first.message if first.status == Status.NOT_OBSERVABLE else \
            "the job it recorded is not a purge (hard=true) with its done_at"
        jobs = record.seen["jobs"]
        yield unobservable("S13", f"no purge job to time: {why}",
                           None if jobs is None else record.exchanges["purge"],
                           "S13: no purge job to time")


def _applied_default(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S7a/S7b on the job the purge without `hard` left; S13 on its time, when it is a
    purge job with its done_at."""
    statement = "S7b" if "S7b" in expect.statements else "S7a"
    purge = expect.contract.purge
    done, jobs = record.exchanges["purge"], record.seen["jobs"]
    if jobs is None:
        yield unobservable(statement, "the target has no /__mock__/jobs and no --observer "
                           "was given: the hard it applied cannot be seen over HTTP")
        return
    if not done.accepted:
        yield unobservable(statement, f"the purge without hard answered {done.status}: "
                           "nothing was applied", done, f"{statement}: purge refused")
        return
    if not jobs:  # nothing applied: S1 fails a purge that queues nothing
        yield unobservable(statement, f"a purge without hard answered {done.status} but "
                           "the target recorded no job: the hard it applied cannot be seen "
                           "(S1)", done, f"{statement}: no job recorded")
        return
    applied = jobs[-1].get("hard")
    yield outcome(statement, applied is purge.hard_default, f"a purge without hard was "
                  f"applied with hard={applied} (the {expect.contract.variant} docs say "
                  f"{purge.hard_default})", done)
    if "S13" in expect.statements and "done_at" in jobs[-1] and applied is True:
        took = jobs[-1]["done_at"] - jobs[-1]["accepted_at"]
        wanted = purge.purge.completes_after_seconds * record.seen["time_scale"]
        yield outcome("S13", abs(took - wanted) <= max(1.0, 0.1 * wanted), f"the purge job "
                      f"completes {took:.1f} s after the 202 (documented: about "
                      f"{wanted:.0f} s)", done)


def project_in_header(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S8: the project may come in the alternative header instead of the path."""
    done = record.exchanges["header form"]
    yield taken("S8", done, f"the X-Project-Id form answered {done.status} (expected it to "
                "be accepted, like the URI form)")


def token_required(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S10: a request without a valid token gets 401."""
    header = expect.contract.token_header
    for label, exchange in record.exchanges.items():
        yield outcome("S10", exchange.status == 401, f"a {label.replace('token', header)} "
                      f"answered {exchange.status} (expected 401)", exchange)


def purge_rules(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S21-S23, S25: the 400s our interpretations give (S12 itself, that a wildcard purge
    removes nothing, is seen at the edge)."""
    wildcard = record.exchanges["wildcard purge"]
    yield outcome("S21", wildcard.status == 400, f"hard=true with a wildcard answered "
                  f"{wildcard.status} (our interpretation: 400)", wildcard)
    for statement, label, what in (
            ("S22", "purge without url", "hard=true without url"),
            ("S23", "non-ASCII url", "a non-ASCII url"),
            ("S25", "all with url", "all=true with url")):
        answer = record.exchanges[label]
        yield outcome(statement, answer.status == 400, f"{what} answered {answer.status} "
                      "(expected 400)", answer)


def hard_must_be_boolean(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S17: a `hard` that is not a boolean gets 400."""
    for label, answer in record.exchanges.items():
        yield outcome("S17", answer.status == 400, f"{label} answered {answer.status} "
                      "(expected 400)", answer)


def unknown_service_is_404(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S18: an unknown service, or another project's, gets 404. Another project's request
    served is a failure; refused otherwise than with 404, it fails only when the same
    request on our own service was accepted (else the refusal is not about tenancy: not
    observable, with that answer)."""
    for label, answer in record.exchanges.items():
        if label.startswith(OWN):
            continue
        own = record.exchanges.get(OWN + label.removesuffix(" of another project's service"))
        if own is not None and answer.status != 404 and not answer.accepted and \
                not own.accepted:
            yield unobservable("S18", f"{label} answered {answer.status}, and {OWN}"
                               f"{own.describe()}: the refusal is not about tenancy", own,
                               f"S18 {label}: refused on our own service too")
            continue
        yield outcome("S18", answer.status == 404, f"{label} answered {answer.status} "
                      "(expected 404)", answer, f"S18 {label}: expected 404")
    if record.seen.get("no other tenant"):
        yield unobservable("S18", "another project's service: with --project-id, a second "
                           "tenant needs --other-project-id (and --other-token)")


def request_limits(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S19: 414 past the URI limit, 413 past the body limit, 400 past `limit`'s maximum;
    each judged only when its control, the same request at the limit, was accepted."""
    limits, maximum = expect.contract.limits, expect.contract.page_limit.maximum
    for control, over, what, expected, most in (
            ("URI at the limit", "long URI", f"a {limits.max_uri_length + 1}-character URI",
             414, limits.max_uri_length),
            ("body at the limit", "large body", f"a {limits.max_body_bytes + 1}-byte body",
             413, limits.max_body_bytes),
            ("limit at the maximum", "limit over the maximum", f"limit={(maximum or 0) + 1}",
             400, maximum)):
        if over not in record.exchanges:
            continue
        within, answer = record.exchanges[control], record.exchanges[over]
        key = f"S19 {over}: expected {expected}"
        if not within.accepted:
            yield unobservable("S19", f"{what} cannot show the limit: the same request at it "
                               f"({control}) was refused, so another rule is at work: "
                               f"{within.describe()}", within, f"S19 {control}: refused")
            continue
        yield outcome("S19", answer.status == expected, f"{what} answered {answer.status} "
                      f"(expected {expected}: at most {most}; the same request at the limit "
                      f"answered {within.status})", answer, key)


def json_is_served(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S20: JSON is served to a client that asks for it."""
    answer = record.exchanges["listing"]
    media = answer.response.headers.get("Content-Type", "")
    yield outcome("S20", answer.status == 200 and media.startswith("application/json"),
                  f"Accept: application/json got {answer.status} {media!r}", answer)


def rate_limit(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S11: the purges of one project past the documented rate, whichever of its services
    they name, get the documented status, and the refusal lasts the minute; S24: it carries
    Retry-After; S35: a valid one, asking for at most the window. Under a variant that
    documents no limit, a 429 is a status that variant does not document."""
    limit = expect.contract.rate_limits.get(expect.contract.purge.operation)
    answers = list(record.exchanges.values())
    if limit is None:
        refused = [a for a in answers if a.status == 429]
        if refused:
            yield outcome(SPEC, False, f"{len(refused)} of {len(answers)} purges in a row "
                          f"answered 429, a status the {expect.contract.variant} docs do not "
                          "document for this operation (they state no rate limit)", refused[0])
        yield from _retry_after(refused[:1], None, expect)
        return
    if "S11" not in expect.statements:
        return
    last = answers[-1]
    burst = _burst_outcome(record, limit, answers)
    yield burst
    if burst.status == Status.PASS:  # a failed burst: how long its refusal lasts says nothing
        yield _late_outcome(record, limit)
    yield from _retry_after([last] if last.status == limit.exceeded_status else [], limit,
                            expect)


def _burst_outcome(record: Record, limit: RateLimit, answers: list[Answer]) -> Outcome:
    """S11 on the burst: exactly the limit taken, the next refused; a burst that was all
    taken but did not fit in the minute is no verdict (a new window may have begun within
    it), unless the purge past the limit was held by the server until the minute ended."""
    taken, last = sum(a.accepted for a in answers), answers[-1]
    minute, attempts = record.seen["minute"], record.seen["attempts"]
    overran = taken > limit.requests and record.seen["burst"] >= minute
    if overran and record.seen["held"]:
        n, sent, took = record.seen["held for"]
        return outcome("S11", False, f"purge {n} of the burst, past the limit of "
                       f"{limit.requests}, was sent {sent:.2f} s into the minute and answered "
                       f"{last.status} {took:.2f} s later, after the minute ended, in each of "
                       f"{attempts} attempts: held until a new window, not refused (expected "
                       f"{limit.exceeded_status} at once)", last)
    if overran:
        return unobservable("S11", f"{len(answers)} purges in a row took "
                            f"{record.seen['burst']:.2f} s, more than the minute ({minute:g} s "
                            f"at this time scale), in each of {attempts} attempts: a new "
                            "window may have begun within the burst (a target run at a larger "
                            "time scale gives it room)", last,
                            "S11: the burst took longer than the minute")
    return outcome("S11", taken == limit.requests and last.status == limit.exceeded_status,
                   f"{len(answers)} purges in a row over two services of one project: "
                   f"{taken} accepted, the last answered {last.status} (expected "
                   f"{limit.requests} and {limit.exceeded_status}: the limit counts the "
                   "project)", last)


def _late_outcome(record: Record, limit: RateLimit) -> Outcome:
    """S11 on the purge half a minute after the refusal: still refused. Answered with the
    acceptance after the minute ended, it says nothing (the window may have begun anew)."""
    late, minute = record.seen["late purge"], record.seen["minute"]
    if not record.seen["late"] and late.status != limit.exceeded_status:
        return unobservable("S11", f"the purge half a minute after the refused one was "
                            f"answered {late.status} more than a minute ({minute:g} s at this "
                            "time scale) after the burst began: whether the refusal lasts the "
                            "minute cannot be seen", late,
                            "S11: the late purge was answered after the minute")
    return outcome("S11", late.status == limit.exceeded_status, f"a purge half a minute "
                   f"after the refused one answered {late.status} (expected "
                   f"{limit.exceeded_status}: the refusal lasts the minute)", late)


def _retry_after(refused: list[Answer], limit: RateLimit | None, expect: Expect
                 ) -> Iterator[Outcome]:
    """S24 and S35 about the first refusal; without one, why they cannot be judged (they
    were left with no outcome: a row with no reason)."""
    if "S24" not in expect.statements:
        return
    judged = ("S24", "S35") if "S35" in expect.statements else ("S24",)
    if not refused:
        for statement in judged:
            yield unobservable(statement, "no purge of the burst was refused: there is no "
                               "429 to read a Retry-After from", cause="no 429 came")
        return
    last = refused[0]
    retry = last.response.headers.get("Retry-After")
    if retry is None:
        yield outcome("S24", False, f"the {last.status} has no Retry-After", last)
        if "S35" in judged:
            yield unobservable("S35", f"the {last.status} has no Retry-After: its form cannot "
                               "be judged", last, "S35: no Retry-After")
        return
    yield outcome("S24", True, f"the {last.status} carries Retry-After {retry!r}", last)
    if "S35" in expect.statements and limit is not None:
        wait = retry_after_seconds(retry, last.response.headers.get("Date"))
        yield outcome("S35", wait is not None and 0 <= wait <= limit.period_seconds + 1,
                      f"Retry-After {retry!r} " + ("is neither delay-seconds nor an "
                                                   "HTTP-date" if wait is None else
                                                   f"asks for {wait:.0f} s") +
                      f" (at most {limit.period_seconds:.0f} s)", last)


def list_pages(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S33: the list's wrapper, at most `limit` per page, every service exactly once over
    the pages, a `next` link with the next marker while more remain, an empty page past
    the end, `limit` below 1 refused, and the flavors' wrapper."""
    limit, created = record.seen["limit"], record.seen["created"]
    pages = [(label, e) for label, e in record.exchanges.items() if label.startswith("page ")]
    walked: list[str] = []
    for label, page in pages:
        ids = listed_ids(page)
        links = page.json().get("links") if isinstance(page.json(), dict) else None
        if ids is None or not isinstance(links, list):
            yield outcome("S33", False, f"{label} is not a services page (expected 200 with "
                          "{\"services\": [...], \"links\": [...]}): " + page.describe(), page)
            return
        if len(ids) > limit:
            yield outcome("S33", False, f"{label} holds {len(ids)} services with limit="
                          f"{limit}", page)
        following = next_link(page)
        if following is not None and ids and \
                dict(parse_qsl(urlsplit(following).query)).get("marker") != ids[-1]:
            yield outcome("S33", False, f"the next link of {label} is {following!r}: its "
                          f"marker is not the page's last id {ids[-1]}", page)
        walked += ids
    if record.seen.get("cut"):
        yield unobservable("S33", f"the project holds more than {record.seen['cut']} pages: "
                           "the walk stopped before its end")
        return
    repeated = sorted({i for i in walked if walked.count(i) > 1})
    missing = [i for i in created if i not in walked]
    last = pages[-1][1]
    yield outcome("S33", not repeated and not missing, f"{len(pages)} pages with limit="
                  f"{limit}: " + (f"{', '.join(repeated)} listed more than once" if repeated
                                  else f"{len(missing)} of the {len(created)} services created "
                                  "never listed (no next link while more remained)" if missing
                                  else f"each of the {len(created)} services created listed "
                                  "once"), last)
    if (past := record.exchanges.get("past the end")) is not None:
        yield outcome("S33", listed_ids(past) == [], f"a marker at the last service answered "
                      f"{past.status} with {listed_ids(past)} (expected an empty list)", past)
    zero = record.exchanges["limit=0"]
    yield outcome("S33", zero.status == 400, f"limit=0 answered {zero.status} (expected 400: "
                  "limit is 1 to 20)", zero)
    flavors = record.exchanges["flavors"]
    body = flavors.json()
    wrapped = isinstance(body, dict) and isinstance(body.get("flavors"), list)
    yield outcome("S33", flavors.status == 200 and wrapped, f"GET /flavors answered "
                  f"{flavors.status} {'with' if wrapped else 'without'} the "
                  "{\"flavors\": [...]} wrapper", flavors)


def patch_rules(record: Record, expect: Expect) -> Iterator[Outcome]:
    """The spec's JSON Patch: only `add`, `remove` and `replace`, on paths that name a
    member (RFC 6902: a `replace` of nothing fails); S34: an update is accepted, shows
    `update_in_progress` while it lasts, and its change shows once deployed again."""
    for label, answer in record.exchanges.items():
        if label.startswith(REFUSE) and answer.accepted:
            yield outcome(SPEC, False, f"patchService: a JSON Patch with "
                          f"{label.removeprefix(REFUSE)} answered {answer.status}: the spec "
                          "allows add, remove and replace, on a member that exists (expected "
                          "400)", answer)
    update = record.exchanges["update"]
    yield outcome("S34", update.status == 202, f"an update (replace /name) answered "
                  f"{update.status} (expected 202)", update)
    after = record.exchanges.get("after the update")
    if after is not None:
        body = after.json() if after.status == 200 else None
        shown = body.get("name") if isinstance(body, dict) else None
        yield outcome("S34", shown == record.seen["name"], f"once the update was done the "
                      f"service's name is {shown!r} (expected {record.seen['name']!r})", after)


def hostile_inputs(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S36: none of the hostile values got a 5xx, or a connection closed without an answer
    (each 5xx of the run is also listed by `no_server_errors`, with its curl line)."""
    answers = list(record.exchanges.values())
    failed = [a for a in answers if a.status >= 500]
    dropped = record.seen.get("dropped", [])
    for line, replay in dropped:  # no answer came: the curl line that asks again
        yield Outcome("S36", Status.FAIL, line, curl=replay,
                      cause="S36 hostile input: the connection closed without an answer")
    yield outcome("S36", not failed, f"{len(answers) + len(dropped)} requests with hostile "
                  "values in every parameter, body and parsed header: " + (
                      f"{len(failed)} got a 5xx, e.g. {failed[0].describe()}" if failed
                      else "none got a 5xx"), failed[0] if failed else None)


def domain_taken(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S37 (our interpretation): a domain another live service holds is refused with a 400
    that names it."""
    answer, domain = record.exchanges["the same domain, another service"], record.seen["domain"]
    named = domain.lower() in answer.response.text.lower()
    yield outcome("S37", answer.status == 400 and named, f"a second service claiming "
                  f"{domain} answered {answer.status}" + (" naming the domain" if named else
                                                           "") + " (expected 400 naming it)",
                  answer)


def log_delivery_optional(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S38 (our interpretation): a create without `log_delivery` is accepted, and the service
    shows it off (or not at all)."""
    answer = record.exchanges["create without log_delivery"]
    yield outcome("S38", answer.accepted, f"a create without log_delivery answered "
                  f"{answer.status} (expected it accepted)", answer)
    shown = record.exchanges.get("the service created")
    if shown is not None and shown.status == 200 and isinstance(shown.json(), dict):
        value = shown.json().get("log_delivery")
        yield outcome("S38", value is None or value == {"enabled": False},
                      f"the service created without it shows log_delivery {value!r} (expected "
                      "{'enabled': False} or nothing)", shown)


def retry_after_seconds(value: str, date: str | None) -> float | None:
    """A Retry-After value (RFC 9110: delay-seconds or an HTTP-date, the latter measured
    from the response's Date, else from now) in seconds; None when it is neither."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
        since = email.utils.parsedate_to_datetime(date) if date else None
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    start = since.timestamp() if since is not None and since.tzinfo else time.time()
    return when.timestamp() - start


def error_bodies(exchanges: Iterable[Answer]) -> Iterator[Outcome]:
    """S16: every 4xx the run received is JSON with the documented error body."""
    for exchange in exchanges:
        if not 400 <= exchange.status < 500:
            continue
        try:
            body = exchange.response.json()
            messages = [e["message"] for e in body["message"]["errors"]]
            ok = bool(messages) and all(isinstance(m, str) for m in messages) and \
                exchange.response.headers.get("Content-Type", "").startswith(
                    "application/json")
        except (ValueError, KeyError, TypeError):
            ok = False
        yield outcome("S16", ok, f"the {exchange.status} " + ("carries" if ok else "lacks")
                      + " the documented error body", exchange,
                      "S16 error body: expected application/json {message: {errors: "
                      "[{message: str}]}}")


def no_server_errors(exchanges: list[Answer], cases: int) -> Iterator[Outcome]:
    """S36: no request of the run, however odd, got a 5xx (schemathesis' own 5xx findings
    are grouped under S36 by the runner)."""
    failed = [e for e in exchanges if e.status >= 500]
    for exchange in failed:
        yield outcome("S36", False, f"the target failed: {exchange.describe()}", exchange)
    if not failed and exchanges:
        yield outcome("S36", True, f"no 5xx among the {len(exchanges)} requests of the checks"
                      + (f" and the {cases} generated cases" if cases else ""))


def location_readable(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S40 (our interpretation): the create's Location reads back with the same token."""
    answer = record.exchanges["Location read back"]
    body = answer.json()
    shown = isinstance(body, dict) and body.get("id") == record.seen["service"]
    yield outcome("S40", answer.status == 200 and shown, f"a GET of the create's Location "
                  f"{record.seen['location']} with the same token answered {answer.status} "
                  "(expected 200 with the new service)", answer)


def responses_hold_members(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S39: each body holds the members every docs sample of it shows (the contract's
    `members`: the body's, and each listed item's)."""
    members = expect.contract.members
    for operation, answer in record.exchanges.items():
        body = answer.json()
        if answer.status != 200 or not isinstance(body, dict) or operation not in members:
            yield outcome("S39", False, f"{operation} answered {answer.status} (expected 200 "
                          "with a JSON object)", answer)
            continue
        missing = [name for name in members[operation] if name not in body]
        for key, required in members.items():
            owner, _, member = key.partition("/")
            items = body.get(member) if owner == operation and member else None
            for index, item in enumerate(items if isinstance(items, list) else ()):
                missing += [f"{member}/{index}/{name}" for name in required
                            if not isinstance(item, dict) or name not in item]
        yield outcome("S39", not missing, f"the {operation} body lacks "
                      f"{', '.join(missing[:8])}" + (" …" if len(missing) > 8 else "")
                      if missing else f"the {operation} body holds what the docs show", answer)
