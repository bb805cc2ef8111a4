"""SSL certificates (2016-08): create one per domain of a project, delete it.

The generated check has judged the body (every member present, `cert_type` one of the two
names, `flavor_id`'s bounds: S41); what it cannot say is here: `custom` is not implemented
yet (S42), a domain holds one certificate per project (S43, kept by the store), and the
certificate is the request's project's, whatever the body's `project_id` (S46). A delete of
a domain with no certificate in the project is a 404, another project's alike (S45).
"""

from __future__ import annotations

from contract.checks.messages import Outgoing, empty_response, error_response
from contract.mock.api.services import FLAVOR
from contract.mock.runtime import Call

NOT_IMPLEMENTED = ("custom",)  # "However, `custom` is not yet implemented." (S42)
_KEPT = ("cert_type", "domain_name", "flavor_id", "project_id")


def create(call: Call) -> Outgoing:
    """202 and no body (S41) for a `san` certificate of a domain the project holds none
    for, kept under the request's project (S46); `custom` (S42), a flavor the mock does not
    offer, and a second certificate for the domain (S43) are 400s."""
    body = call.params.body
    if body["cert_type"] in NOT_IMPLEMENTED:
        return error_response(400, f"cert_type {body['cert_type']!r} is not yet implemented "
                              "(available: 'san')")
    if body["flavor_id"] != FLAVOR:
        return error_response(400, f"flavor_id {body['flavor_id']!r} does not exist "
                              f"(available: {FLAVOR!r})")
    document = {key: body[key] for key in _KEPT}
    if not call.store.add_certificate(call.project_id, key(body["domain_name"]), document,
                                      call.runtime.clock()):
        return error_response(400, f"domain {body['domain_name']!r} already has an SSL "
                              f"certificate in project {call.project_id}: one per domain "
                              "(delete it first)")
    return empty_response(202)


def delete(call: Call) -> Outgoing:
    """202 and no body (S44); 404 for a domain with no certificate in the project (S45)."""
    domain = call.params.path["domain_name"]
    if not call.store.delete_certificate(call.project_id, key(domain)):
        return error_response(404, f"domain {domain!r} has no SSL certificate in project "
                              f"{call.project_id}")
    return empty_response(202)


def key(domain: str) -> str:
    """A domain as certificates are keyed: DNS names are case-insensitive (S43)."""
    return domain.lower()
