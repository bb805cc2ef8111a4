"""Services: create, list (marker/limit), get, update with JSON Patch, delete."""

from __future__ import annotations

import copy
import ipaddress
import math
import re
import uuid
from typing import Any

import jsonpatch

from contract.checks.defaults import fill_defaults
from contract.checks.messages import Outgoing, empty_response, error_response, json_response
from contract.checks.params import Problem
from contract.mock.behaviours import DELETE_SECONDS, SLOW_DEPLOY, two_label
from contract.mock.edge.rules import costly_rule
from contract.mock.runtime import Call
from contract.mock.state.hosts import access_host, service_hosts
from contract.mock.state.store import DomainHeld

FLAVOR = "cdn"  # the docs' sample flavor, the only one the mock offers
_EDITABLE = ("name", "domains", "origins", "caching", "restrictions", "flavor_id",
             "log_delivery")


def create(call: Call) -> Outgoing:
    body = call.params.body
    refused = _freely_refused(call, body, creating=True) or _refused(body)
    if refused:
        return error_response(400, refused)
    now = call.runtime.clock()
    service_id = str(uuid.uuid4())
    document = _deploying(call, {"id": service_id, **_normalised(call, body),
                                 "_behave": call.runtime.behaviours.for_service(service_id)},
                          "create_in_progress", now)
    try:
        call.store.add_service(call.project_id, document, now,
                               service_hosts(document["domains"]))
    except DomainHeld as held:
        return _held(call, held)
    return _accepted(call, document)


def list_page(call: Call) -> Outgoing:
    # its bounds: the generated check; no limit named: a page as large as one may be
    limit = call.params.query.get("limit", call.runtime.facts.contract.page_size)
    marker = call.params.query.get("marker")
    page = call.store.services(call.project_id, marker, limit)
    links = []
    if len(page) == limit or (page and "next-on-every-page" in call.behaves):
        links.append({"rel": "next", "href": call.url(
            f"/v1.0/{call.project_id}/services?marker={page[-1]['id']}&limit={limit}")})
    return json_response(200, {"links": links,
                               "services": [_public(call, doc) for doc in page]})


def get(call: Call) -> Outgoing:
    document = find(call) or call.runtime.behaviours.being_deleted(
        call.project_id, call.params.path["service_id"], call.runtime.clock())
    if document is None:
        return missing(call)
    return json_response(200, _public(call, document))


def patch(call: Call) -> Outgoing:
    document = find(call)
    if document is None:
        return missing(call)
    busy = not_deployed(call, document)
    if busy is not None:
        return busy
    current = {key: document[key] for key in _EDITABLE if key in document}
    for operation in call.params.body:
        field = str(operation.get("path", "")).split("/")[1:2]
        if not field or field[0] not in _EDITABLE:
            return error_response(400, f"patch path {operation.get('path')!r} is not an "
                                  f"editable member (editable: {', '.join(_EDITABLE)})")
    try:
        updated = jsonpatch.apply_patch(current, call.params.body)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as error:
        return error_response(400, f"the patch cannot be applied: {error}")
    problems: list[Problem] = []
    check = call.runtime.facts.body_checks.get(call.runtime.service_operation)
    if check is not None:
        check(updated, problems)
    reasons: list[str | None] = [problem.text() for problem in problems] or [
        _freely_refused(call, updated) or _refused(updated)]
    if any(reasons):
        return error_response(400, *(f"the patched service is not valid: {reason}"
                                     for reason in reasons if reason))
    document = _deploying(call, {**document, **_normalised(call, updated)}, "update_in_progress",
                          call.runtime.clock())
    try:
        call.store.replace_service(call.project_id, document,
                                   service_hosts(document.get("domains") or []))
    except DomainHeld as held:
        return _held(call, held, "the patched service is not valid: ")
    return _accepted(call, document)


def delete(call: Call) -> Outgoing:
    # its draw, read only when a delete may be asynchronous (--behave async-delete)
    document = find(call) if "async-delete" in call.runtime.behaviours.offered else None
    if not call.store.delete_service(call.project_id, call.params.path["service_id"]):
        return missing(call)
    if document is not None and "async-delete" in document.get("_behave", ()):
        now = call.runtime.clock()  # gone from the store; shown while the delete lasts
        call.runtime.behaviours.deleted(call.project_id, {
            **document, "_ready_at": math.inf, "_busy": "delete_in_progress"},
            now, now + call.runtime.seconds(DELETE_SECONDS))
    return empty_response(202)


def find(call: Call) -> dict[str, Any] | None:
    return call.store.service(call.project_id, call.params.path["service_id"])


def not_deployed(call: Call, document: dict[str, Any]) -> Outgoing | None:
    """`busy-until-deployed` (S34, as the upstream implementation does): the 400 refusing a
    purge or an update of a service drawn so while its deploy is under way (a `failed` one
    is taken: an update is how a client deploys it again)."""
    if "busy-until-deployed" not in document.get("_behave", ()) or \
            _status(call, document) in ("deployed", "failed"):
        return None
    return error_response(400, f"Service {document['id']} is not deployed.")


def missing(call: Call) -> Outgoing:
    """404 for an unknown service and for another project's alike (S18): no leak."""
    return error_response(404, f"service {call.params.path['service_id']} not found in "
                          f"project {call.project_id} (S18)")


def _deploying(call: Call, document: dict[str, Any], busy: str, now: float
               ) -> dict[str, Any]:
    """The document with its deployment under way: `busy` is its status until it is ready
    (or `failed`, when an update's deploy fails: --behave deploy-fails)."""
    chosen = document.get("_behave", ())
    slow = SLOW_DEPLOY if "slow-deploy" in chosen else 1.0
    ready_at = now + call.runtime.seconds(call.runtime.settings.deploy_seconds * slow)
    fails = busy == "update_in_progress" and "deploy-fails" in chosen and \
        not document.get("_fails", False)  # every other update: the next one deploys
    return {**document, "_ready_at": ready_at, "_busy": busy, "_fails": fails}


def _accepted(call: Call, document: dict[str, Any]) -> Outgoing:
    return empty_response(202, [("Location", call.url(location(call, document["id"])))])


def location(call: Call, service_id: str) -> str:
    """Where an accepted request's service is: as the docs' samples show it (S3), or with
    the project in it (--behave location-with-project)."""
    if "location-with-project" in call.behaves:
        return f"/v1.0/{call.project_id}/services/{service_id}"
    return f"/v1.0/services/{service_id}"


def _freely_refused(call: Call, body: dict[str, Any], creating: bool = False) -> str | None:
    """What a server may refuse besides the contract's rules (--behave)."""
    if creating and "log-delivery-required" in call.behaves and "log_delivery" not in body:
        return "log_delivery is required (the parameter table marks it required, S38)"
    if "two-label-domains-refused" in call.behaves:
        return two_label(str(d.get("domain", "")) for d in body.get("domains") or []
                         if isinstance(d, dict))
    return None


def _refused(body: dict[str, Any]) -> str | None:
    """The documented 400 reasons the schema cannot express."""
    if body.get("flavor_id") != FLAVOR:
        return f"flavor_id {body.get('flavor_id')!r} does not exist (available: {FLAVOR!r})"
    if not body.get("domains"):
        return "domains must not be empty"
    if not body.get("origins"):
        return "origins must not be empty"
    for origin in body["origins"]:
        if origin.get("port", 80) not in (80, 443):
            return f"origin port {origin.get('port')!r} is not 80 or 443"
        # the spec's patterns say the same; these also refuse a value ending in a newline
        # (a pattern's `$`, read the Python way, lets one through)
        if not is_host(str(origin.get("origin", ""))):
            return f"origin {origin.get('origin')!r} is not a host name or an IP address"
        if "hostheadervalue" in origin and not is_host(str(origin["hostheadervalue"]),
                                                       port=True):
            return (f"hostheadervalue {origin['hostheadervalue']!r} is not a host name or "
                    "address (with an optional port)")
    for restriction in body.get("restrictions") or []:
        if not restriction.get("name"):
            return "a restriction has no name"
    return costly_rule(body)


_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def is_host(text: str, port: bool = False) -> bool:
    """A DNS name or an IP address (with `port`, optionally followed by `:PORT`): what an
    origin or a Host header may be. Nothing else reaches the edge's requests to origins: a
    CR or LF would split the request, a `/`, `#` or `:` would move it to another port."""
    if port and text.startswith("["):  # [IPv6] or [IPv6]:PORT
        inside, closed, rest = text[1:].partition("]")
        return bool(closed) and ":" in inside and is_host(inside) and \
            (not rest or (rest[0] == ":" and _is_port(rest[1:])))
    if port and ":" in text:
        text, _, number = text.partition(":")
        if not _is_port(number):
            return False
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        pass
    labels = text.removesuffix(".").split(".")
    return 0 < len(text) <= 253 and all(_LABEL.fullmatch(label) for label in labels)


def _is_port(text: str) -> bool:
    return text.isdigit() and 0 < int(text) < 65536


def _held(call: Call, held: DomainHeld, context: str = "") -> Outgoing:
    """S37: a host name another live service holds, in any project (the edge routes by
    Host, so a second owner could take over the first one's traffic). Domains and access
    hosts are one namespace, compared as DNS compares names (`state.hosts`): the message
    names the holder's domain as it spelt it."""
    owner = call.store.served(held.host)
    named = next((str(d.get("domain")) for d in (owner[1].get("domains") or [] if owner else [])
                  if held.host in service_hosts([d])), held.host)
    return error_response(400, f"{context}domain {named!r} belongs to another service; a "
                          "domain and its access host belong to one service at a time (S37)")


def _normalised(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """The stored service: documented members only, the spec's defaults filled in (a
    domain's protocol, an origin's port and ssl, `log_delivery` off: S38), and absent lists
    read as empty."""
    document = {key: copy.deepcopy(body[key]) for key in _EDITABLE if key in body}
    fill_defaults(document, call.runtime.facts.body_defaults.get(
        call.runtime.service_operation, ()))
    for origin in document.get("origins", []):
        origin.setdefault("rules", [])
    document.setdefault("caching", [])
    document.setdefault("restrictions", [])
    return document


def _public(call: Call, document: dict[str, Any]) -> dict[str, Any]:
    """A service as the API shows it, its status derived from the clock."""
    status = _status(call, document)
    public = {key: value for key, value in document.items() if not key.startswith("_")}
    service_id = document["id"]
    links = [{"href": call.url(f"/v1.0/{call.project_id}/services/{service_id}"), "rel": "self"},
             {"href": call.url(f"/v1.0/{call.project_id}/flavors/{document['flavor_id']}"),
              "rel": "flavor"}]
    links += [{"href": access_host(domain["domain"]), "rel": "access_url"}
              for domain in document.get("domains", [])]
    public.update({"project_id": call.project_id,
                   "status": status,
                   "errors": [{"message": "the deploy failed (--behave deploy-fails); update "
                               "the service to deploy it again"}] if status == "failed" else [],
                   "links": links})
    return public


def _status(call: Call, document: dict[str, Any]) -> str:
    """The service's status now: its busy one until its deploy's time, then the outcome."""
    if call.runtime.clock() < document["_ready_at"]:
        return str(document["_busy"])
    return "failed" if document.get("_fails", False) else "deployed"
