"""The host names a service answers for at the edge: its domains and their access hosts.

Both are one namespace, held by one service at a time (S37, S30): the store keeps every name
of every service under a unique key, so the check is the database's constraint (exact
across replicas, no read-then-write) and the edge finds a service by an indexed lookup.
Names are compared as DNS compares them: without case, without the trailing dot of a fully
qualified name, and Unicode labels as their IDNA (punycode) form, so `WWW.Example.COM.`,
`www.example.com` and `www.example.com.cdn.mock.invalid` cannot be told apart from the
names they spell.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import idna

ACCESS_SUFFIX = ".cdn.mock.invalid"
# The most changed host names a store remembers for the edge; past it (no edge asks, or
# a burst of writes) it says "any may have changed" and the edge re-reads what it needs.
CHANGED_HOSTS = 4096


def access_host(domain: str) -> str:
    """The host of a domain's `access_url` link: the mock's edge answers for it too (S30)."""
    return f"{domain}{ACCESS_SUFFIX}"


def host_key(name: str) -> str:
    """`name` as DNS compares it: lower case, no trailing dot, Unicode labels in IDNA form
    (a name IDNA refuses is compared by its case-folded text)."""
    if not name.isascii():
        try:
            name = idna.encode(name, uts46=True, transitional=False).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            name = name.casefold()
    return name.removesuffix(".").lower()


def service_hosts(domains: Iterable[dict[str, Any]]) -> list[str]:
    """Every key a service with these `domains` holds: each domain and its access host."""
    keys = dict.fromkeys(host_key(str(d.get("domain", ""))) for d in domains)
    return list(dict.fromkeys([*keys, *(access_host(key) for key in keys)]))
