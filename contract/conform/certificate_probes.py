"""The SSL-certificate probe (2016-08, S41-S46): sends, judges nothing.

One domain of its own per run (by default a domain of the service template, as the
services' are; `--certificate-domain` names the user's, for a target that checks its DNS), a
certificate created, refused twice (a second one for the domain; `custom`), deleted, deleted
again, created again and deleted; bodies the page's table refuses; a delete by another
tenant; a certificate whose body names another project. Every certificate it makes it
deletes again (one a server should have refused included).
"""

from __future__ import annotations

from typing import Any

from contract.conform.probes import Context, Record
from contract.conform.target import OURS, Target

# the certificates besides the first, each on a domain of its own: a flavor_id too short,
# cert_type `custom`, a body naming another project; a fourth is never certified
OTHERS = ("short", "c", "elsewhere", "never")


def domains(target: Target) -> dict[str, str]:
    """The domain of each certificate the probe asks for: the first given with
    --certificate-domain, else the service template's first domain (filled as for a
    create); the others the next given, else subdomains of the first."""
    given = target.fixtures.certificate_domains
    if given:
        first = given[0]
    else:
        body, first = target.service_body("cert")
        listed = body.get("domains") if isinstance(body, dict) else None
        if isinstance(listed, list) and listed and isinstance(listed[0], dict) and \
                isinstance(listed[0].get("domain"), str):
            first = listed[0]["domain"]
    found = {"": first}
    for n, label in enumerate(OTHERS, start=1):
        found[label] = given[n] if n < len(given) else f"{label}.{first}"
    return found


def certificates(ctx: Context) -> Record:
    record = Record()
    target = ctx.target
    project = target.project()
    named = domains(target)
    domain = named[""]
    record.seen.update(domain=domain, project=project, domains=set(named.values()))
    body = {"cert_type": "san", "domain_name": domain,
            "flavor_id": target.fixtures.flavor_id or "cdn", "project_id": project}
    path = f"/v1.0/{project}/ssl_certificate"

    def send(label: str, method: str, where: str, **options: Any) -> None:
        record.exchanges[label] = ctx.send(method, where, **options)

    send("create", "POST", path, json=body)
    send("create without flavor_id", "POST", path,
         json={k: v for k, v in body.items() if k != "flavor_id"})
    send("create with a flavor_id of 2 characters", "POST", path,
         json={**body, "flavor_id": "cd", "domain_name": named["short"]})
    send("the same domain again", "POST", path, json={**body, "domain_name": domain.upper()})
    send("custom", "POST", path,
         json={**body, "cert_type": "custom", "domain_name": named["c"]})
    identity = target.identity
    if identity.project_id is None or identity.other_project_id is not None:
        other = identity.other_project_id or target.project()
        send("a delete by another project", "DELETE", f"/v1.0/{other}/ssl_certificate/{domain}",
             token=identity.other_token or OURS)
    send("delete", "DELETE", f"{path}/{domain}")
    send("delete again", "DELETE", f"{path}/{domain}")
    send("a domain never certified", "DELETE", f"{path}/{named['never']}")
    send("create after the delete", "POST", path, json=body)
    send("delete after the new create", "DELETE", f"{path}/{domain}")
    elsewhere = named["elsewhere"]
    send("create naming another project in the body", "POST", path,
         json={**body, "domain_name": elsewhere, "project_id": f"not-{project}"})
    send("its delete in the request's project", "DELETE", f"{path}/{elsewhere}")
    for label, refused in (("create with a flavor_id of 2 characters", named["short"]),
                           ("custom", named["c"])):
        if record.exchanges[label].accepted:  # taken: not left behind
            ctx.send("DELETE", f"{path}/{refused}")
    return record
