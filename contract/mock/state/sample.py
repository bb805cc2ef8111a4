"""The docs' sample service, held by a fresh mock (`--no-sample` leaves it out): the pages'
request examples (`GET /v1.0/110011/services/96737ae3-...`, the purge of
`/images/logo.png`) and Swagger UI's "Try it out", which sends the spec's examples, get the
documented answers rather than a 404. Its members are those of the docs' getService sample;
its project, 110011, is one no conformance probe uses, and the samples' token is accepted
for that project alone."""

from __future__ import annotations

import copy
from typing import Any

from contract.mock.state.hosts import service_hosts
from contract.mock.state.store import DomainHeld, Store, StoreFailure

PROJECT = "110011"
SERVICE_ID = "96737ae3-cfc1-4c72-be88-5d0e7cc9a3f0"
TOKEN = "0f6e9f63600142f0a970911583522217"  # the X-Auth-Token of every request sample

_MEMBERS: dict[str, Any] = {
    "id": SERVICE_ID,
    "name": "mywebsite.com",
    "domains": [{"domain": "blog.mywebsite.com", "protocol": "http"}],
    "origins": [{"origin": "mywebsite.com", "port": 80, "ssl": False, "rules": []}],
    "caching": [
        {"name": "default", "ttl": 3600},
        {"name": "home", "ttl": 17200, "rules": [{"name": "index", "request_url": "/index.htm"}]},
        {"name": "images", "ttl": 12800, "rules": [{"name": "images", "request_url": "*.png"}]},
    ],
    "restrictions": [{"name": "website only",
                      "rules": [{"name": "mywebsite.com", "referrer": "www.mywebsite.com"}]}],
    "flavor_id": "cdn",
    "log_delivery": {"enabled": True},
}


def document() -> dict[str, Any]:
    """The stored form: the sample's members, deployed since the epoch, no drawn freedom."""
    return {**copy.deepcopy(_MEMBERS), "_behave": [], "_ready_at": 0.0,
            "_busy": "create_in_progress", "_fails": False}


def seed(store: Store, now: float) -> None:
    """Add the sample service unless the store holds it (a replica sharing the database
    started first, or a file kept from an earlier run); a user's service holding its domain
    wins, and the sample is left out."""
    if store.service(PROJECT, SERVICE_ID) is not None:
        return
    held = document()
    try:
        store.add_service(PROJECT, held, now, service_hosts(held["domains"]))
        store.commit()
    except (DomainHeld, StoreFailure):  # another replica seeded it at the same moment
        return
