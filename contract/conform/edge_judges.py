"""Edge judges: pure functions from what an edge probe recorded to outcomes (S13-S15,
S26-S30). They read the edge's answers and the origin's log, never the network."""

from __future__ import annotations

from collections.abc import Iterator

from contract.conform.edge_probes import CUSTOM_HOST
from contract.conform.judges import Expect, outcome, unobservable
from contract.conform.origin import Asked
from contract.conform.outcome import Outcome, Status
from contract.conform.probes import Record
from contract.conform.target import Answer


def _host(value: str) -> str:
    """A Host header without its port."""
    return value if value.startswith("[") else value.rsplit(":", 1)[0]


def _served(exchange: Answer) -> str:
    """How an edge answer reads in a message: status, body, cache headers."""
    headers = exchange.response.headers
    return (f"{exchange.status} {exchange.response.content[:40]!r} (X-Cache "
            f"{headers.get('X-Cache', '-')}, Age {headers.get('Age', '-')})")


def _landed(statement: str, what: str, record: Record) -> Outcome:
    took, wanted = record.seen["took"], record.seen["wanted"]
    scaled = wanted * record.seen["time_scale"]
    if took is None:  # quoting what the edge still served when the wait ran out
        return outcome(statement, False, f"the {what} had not taken effect "
                       f"{1.5 * scaled:.1f} s after its 202 (documented: about {scaled:.1f} s)",
                       record.seen["waited"], f"{statement} the {what} never landed")
    return outcome(statement, True, f"the {what} took effect {took:.2f} s after its 202 "
                   f"(documented: about {scaled:.1f} s)")


def routing(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S30: an unknown host is 404, the domain and the access_url host are served, with Age
    and X-Cache. S26: one origin without rules serves every path; with two, the one whose
    rule matches. S27: the Host sent to the origin follows hostheadertype."""
    unknown = record.exchanges["unknown host"]
    yield outcome("S30", unknown.status == 404, f"a host no service owns got "
                  f"{unknown.status} (expected 404)", unknown)
    first, second = record.exchanges["first"], record.exchanges["second"]
    yield outcome("S30", first.status == 200 and first.response.content == b"routed",
                  f"the service's domain got {_served(first)}", first)
    # RFC 9111 has every cache send Age; X-Cache is a habit of some (our mock's), not told
    # by the docs: it may add to the message, it decides nothing
    told = "Age" in second.response.headers
    yield outcome("S30", told, f"the second request got {_served(second)}: " + (
        "its Age tells the cache state" if told else "no Age tells the cache state"), second)
    if (access := record.exchanges.get("access_url host")) is not None:
        yield outcome("S30", access.status == 200, f"the access_url host got "
                      f"{_served(access)}", access)
    single: list[Asked] = record.seen["single origin"]
    yield outcome("S26", bool(single), f"a single origin without rules was asked "
                  f"{len(single)} time(s) for an asset (expected: it serves every path)", first)
    if single:
        domain = record.seen["domain"]
        yield outcome("S27", _host(single[0].host) == domain, f"hostheadertype omitted: "
                      f"the origin got Host {single[0].host!r} (expected the domain "
                      f"{domain!r})", first)
    # Both origins are the suite's: the Host each is sent (S27) tells which one served
    hosts = {"images/logo.png": (CUSTOM_HOST, "custom"),
             "pages/index.html": (record.seen["origin host"], "origin")}
    for name, (wanted, kind) in hosts.items():
        answer, asked = record.exchanges[f"two origins: {name}"], \
            record.seen[f"two origins: {name}"]
        sent = _host(asked[0].host) if asked else None
        other = next(host for other, (host, _) in hosts.items() if other != name)
        if asked and sent not in (wanted, other):
            yield unobservable("S26", f"{name}: the origin got Host {sent!r}, which names "
                               "neither origin (S27): which one served it cannot be told")
        else:
            yield outcome("S26", sent == wanted, f"{name} was fetched from the origin "
                          f"sending Host {sent!r} (expected the one whose rule matches: "
                          f"{wanted!r})", answer)
        if asked and sent != other:  # the other origin's Host: S26's failure, not S27's
            yield outcome("S27", sent == wanted, f"hostheadertype {kind}: the origin got "
                          f"Host {sent!r} (expected {wanted!r})", answer)


def caching(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S28: within its TTL an asset is served from the cache; past its rule's TTL it is
    asked of the origin again, while one under `default`'s longer TTL is not."""
    ttl = record.seen["short ttl"]
    for name, rule in (("short/a.txt", f"a rule of {ttl} s"), ("long/b.txt", "`default`")):
        again = record.exchanges[f"{name} again"]
        fresh = record.seen[f"{name} asked while fresh"]
        yield outcome("S28", fresh == 1 and again.status == 200, f"{name} ({rule}) asked "
                      f"twice: the origin saw {fresh} request(s) (expected 1), the second "
                      f"got {_served(again)}", again)
    later = record.seen["short/a.txt asked later"]
    yield outcome("S28", later == 2, f"past its {ttl} s TTL, short/a.txt had been asked of "
                  f"the origin {later} time(s) in all (expected 2)",
                  record.exchanges["short/a.txt later"])
    kept = record.seen["long/b.txt asked later"]
    yield outcome("S28", kept == 1, f"long/b.txt, under `default`, had been asked "
                  f"{kept} time(s) in all (expected 1: still cached)",
                  record.exchanges["long/b.txt later"])


def restrictions(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S29: a whitelist refuses what none of its rules match, a blacklist what one does;
    a refusal is 403."""
    for label, wanted in (("no referrer", 403), ("the partner's referrer", 200),
                          ("the partner's referrer, blacklisted path", 403)):
        answer = record.exchanges[label]
        yield outcome("S29", answer.status == wanted, f"a request with {label} got "
                      f"{answer.status} (expected {wanted})", answer)


def purge(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S13: a purge lands in about the documented time; the file is then fetched anew
    (not revalidated) and no other file is touched."""
    cached, done = record.exchanges["cached"], record.exchanges["purge"]
    if done.status != 202 or cached.response.content != b"before":
        yield outcome("S13", False, f"the purge could not be watched: the file was served "
                      f"{_served(cached)} before it and the purge answered {done.status}", done)
        return
    yield _landed("S13", "purge", record)
    if record.seen["took"] is not None:
        last = record.seen["asked"][-1]
        yield outcome("S13", not last.if_modified_since, "after the purge the origin was "
                      + (f"asked with If-Modified-Since {last.if_modified_since!r} (expected "
                         "a fresh fetch: the file is removed)" if last.if_modified_since
                         else "asked for the file anew"), done)
    sibling = record.exchanges["sibling"]
    yield outcome("S13", sibling.response.content == b"before", f"another file, changed at "
                  f"the origin but not purged, got {_served(sibling)} (expected the cached "
                  "b'before')", sibling)
    if record.seen["took"] is not None:  # the purges sent before this one have landed too
        wildcard, wild = record.exchanges["wildcard purge"], record.exchanges["wild"]
        yield outcome("S12", wild.response.content == b"before", f"a purge (hard=true) of "
                      f"wil* answered {wildcard.status}; wild.txt, which the * matches, then "
                      f"got {_served(wild)} (expected the cached b'before': a purge removes "
                      "one named file)", wildcard)
    else:
        yield unobservable("S12", "the purge never landed (S13): when a wildcard purge "
                           "would have landed is not known")


def invalidation(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S14: a wildcard invalidation lands in about the documented time and covers the
    subdirectories of its directory, not another directory."""
    done = record.exchanges["invalidation"]
    if done.status != 202:
        yield outcome("S14", False, f"the invalidation of images/* answered {done.status}",
                      done)
        return
    yield _landed("S14", "invalidation of images/*", record)
    sub, other = record.exchanges["images/sub/b.png"], record.exchanges["other/c.png"]
    yield outcome("S14", sub.response.content == b"after", f"images/sub/b.png, under the "
                  f"wildcard, got {_served(sub)} (expected the origin's new b'after')", sub)
    yield outcome("S14", other.response.content == b"before", f"other/c.png, outside it, "
                  f"got {_served(other)} (expected the cached b'before')", other)
    if record.seen["took"] is not None:
        yield _kept("S14", "images/down.png", record)


def _kept(statement: str, name: str, record: Record) -> Outcome:
    """An invalidation marks a file stale, it does not remove it (that is a purge, S13):
    once it has landed, the file whose origin fails is revalidated with If-Modified-Since
    (the edge kept its date) or served stale (the edge kept its copy); one or the other
    shows it was kept, neither that it was removed."""
    answer, first = record.exchanges[name], next(iter(record.seen[name]), None)
    ims = first is not None and bool(first.if_modified_since)
    stale = answer.status == 200 and answer.response.content == b"before"
    return outcome(statement, ims or stale, f"{name}, invalidated, its origin answering 503: "
                   "the edge asked " + ("with" if ims else "without") + " If-Modified-Since "
                   f"and served {_served(answer)} (expected the file kept: a revalidation "
                   "or the stale b'before', not a removal as by a purge)", answer)


def revalidation(record: Record, expect: Expect) -> Iterator[Outcome]:
    """S15: after an invalidation the edge asks with If-Modified-Since; the origin's 200
    gives the new object, a 304 keeps the old one (renewed), a 404 is cached for the
    documented time, a 5xx leaves the stale object served."""
    if record.seen["took"] is None:
        yield _landed("S15", "invalidation", record)
        return
    if _kept("S15", "down.txt", record).status != Status.PASS:  # S14's failure
        yield unobservable("S15", "the invalidations removed the files, as purges do "
                           "(down.txt, its origin failing, was neither revalidated nor "
                           "served stale; S14): how the edge revalidates could not be seen")
        return
    for name in ("new.txt", "same.txt", "down.txt", "gone.txt"):
        first = next(iter(record.seen[name]), None)  # asked after the invalidation
        yield outcome("S15", first is not None and bool(first.if_modified_since), (
            f"{name}: after the invalidation the edge asked the origin "
            + ("with" if first.if_modified_since else "without") + " If-Modified-Since "
            f"(answered {first.status})" if first is not None else
            f"{name}: after the invalidation the origin was never asked") +
            " (expected a revalidation)",
            record.exchanges.get(name) or record.exchanges["invalidate new.txt"])
    same, again = record.exchanges["same.txt"], record.exchanges["same.txt again"]
    renewed = len(record.seen["same.txt"])
    yield outcome("S15", same.response.content == b"before" and renewed == 1 and
                  again.status == 200, f"after a 304 the edge served {_served(same)}, then "
                  f"{_served(again)}, asking the origin {renewed} time(s) (expected the "
                  "stale object, renewed: once)", same)
    down = record.exchanges["down.txt"]
    yield outcome("S15", down.status == 200 and down.response.content == b"before",
                  f"the origin answering 503, the edge served {_served(down)} (expected the "
                  "stale b'before')", down)
    gone, cached = record.exchanges["gone.txt"], record.exchanges["gone.txt again"]
    asked = record.seen["gone.txt asked while cached"]
    ttl = record.seen["error ttl"]
    took, kept = record.seen["gone.txt twice"], record.seen["error ttl scaled"]
    if gone.status == cached.status == 404 and asked > 1 and took >= kept:
        yield unobservable("S15", f"the edge asked the origin for gone.txt again {took:.3f} "
                           f"s after the first time, more than the {kept:g} s an error is "
                           "cached at this time scale: whether the second came from the cache "
                           "cannot be seen (a target run at a larger time scale gives it room)",
                           cached,
                           "S15: the cached 404 was asked for too late")
    else:
        yield outcome("S15", gone.status == 404 and cached.status == 404 and asked == 1,
                      f"the origin answering 404, the edge served {gone.status} then "
                      f"{cached.status}, asking the origin {asked} time(s) (expected 404 "
                      "twice, the second from the cache: once)", cached)
    later = record.exchanges["gone.txt later"]
    total = len(record.seen["gone.txt"])
    yield outcome("S15", total == asked + 1, f"{ttl} s later the edge had asked the origin "
                  f"for gone.txt {total} time(s) since the invalidation (expected "
                  f"{asked + 1}: an error is cached for {ttl} s, not longer)", later)
