"""The stateful scenario: a service's life with purges, as a client would live it."""

from __future__ import annotations

from collections.abc import Iterator

from contract.conform.outcome import Outcome, Status
from contract.conform.probes import Context


def lifecycle(ctx: Context) -> Iterator[Outcome]:
    """create → deployed → purge → invalidate a wildcard → delete → purge again is 404."""
    name = "scenario: create, deploy, purge, invalidate, delete"

    def step(statement: str, ok: bool, message: str, curl: str) -> Outcome:
        return Outcome(statement, Status.PASS if ok else Status.FAIL, message, name, curl)

    fresh = ctx.fresh()
    if fresh is None:
        yield Outcome("S2", Status.NOT_OBSERVABLE, "the target did not create a service", name)
        return
    project, service = fresh
    deployed, answer = ctx.deployed(project, service)
    if not deployed:
        status = answer.response.json().get("status") if answer.status == 200 else None
        yield step("S2", False, f"the new service never reached `deployed` (last: {status})",
                   answer.curl)
        return
    purged = ctx.purge(project, service, url="/index.html", hard="true")
    yield step("S2", purged.status == 202, f"purge of a deployed service: {purged.status}",
               purged.curl)
    invalidated = ctx.purge(project, service, url="/images/*", hard="false")
    yield step("S14", invalidated.status == 202, f"wildcard invalidation: "
               f"{invalidated.status}", invalidated.curl)
    deleted = ctx.send("DELETE", f"/v1.0/{project}/services/{service}")
    yield step("S18", deleted.status == 202, f"delete the service: {deleted.status}",
               deleted.curl)
    again = ctx.purge(project, service, url="/index.html", hard="true")
    yield step("S18", again.status == 404, f"purge after delete: {again.status} (expected "
               "404)", again.curl)
